//! What an operator asks of the core through the control socket: status, start, stop,
//! restart, signal, reload, shutdown. Still pure: typed answers and actions, no system calls.
//!
//! Every request that names several things checks all of them first: an unknown name or a
//! service in the wrong state changes nothing.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::checks::HealthState;
use super::service::{self, ServiceRun};
use super::watch::{self, Step, WatchRun};
use super::{Action, Core, Level, Out, ServiceId, WatchId};
use crate::config::{Config, ServiceType};
use crate::types::{Exit, signame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Main,
    /// A long-running service.
    Service,
    Oneshot,
    Scheduled,
    Watch,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Main,
        Kind::Service,
        Kind::Oneshot,
        Kind::Scheduled,
        Kind::Watch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Service => "service",
            Kind::Oneshot => "oneshot",
            Kind::Scheduled => "scheduled",
            Kind::Watch => "watch",
        }
    }

    /// A service of any kind (upkeep starts it and holds its pid).
    pub fn is_service(self) -> bool {
        matches!(self, Kind::Service | Kind::Oneshot | Kind::Scheduled)
    }

    pub fn parse(word: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// The state `upkeep status` shows, for services, watches and COMMAND alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Services: waiting for those it comes `after`.
    Waiting,
    /// Services and COMMAND: being started; watches: the start command runs.
    Starting,
    Running,
    /// A diagnostic runs (before a service's restart, before a watch's start).
    Diagnosing,
    /// A dead service's leftovers are being stopped.
    Cleaning,
    Backoff,
    Stopping,
    /// Stopped on request: stays down until started.
    Stopped,
    /// Down though its policy wants it running: a problem.
    Down,
    /// Down as its policy says (exited with a success code under on-failure or never), or
    /// in a shutdown; a oneshot that ran to success.
    Done,
    /// A scheduled service between runs.
    Scheduled,
    Failed,
    /// COMMAND has exited.
    Exited,
    /// Watches: not scanned, on request.
    Paused,
    /// Watches: not scanned yet.
    Unknown,
    /// Watches: not found by the last scan.
    Missing,
}

impl Status {
    pub const ALL: [Status; 16] = [
        Status::Waiting,
        Status::Starting,
        Status::Running,
        Status::Diagnosing,
        Status::Cleaning,
        Status::Backoff,
        Status::Stopping,
        Status::Stopped,
        Status::Down,
        Status::Done,
        Status::Scheduled,
        Status::Failed,
        Status::Exited,
        Status::Paused,
        Status::Unknown,
        Status::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Diagnosing => "diagnosing",
            Status::Cleaning => "cleaning",
            Status::Backoff => "backoff",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Down => "down",
            Status::Done => "done",
            Status::Scheduled => "scheduled",
            Status::Failed => "failed",
            Status::Exited => "exited",
            Status::Paused => "paused",
            Status::Unknown => "unknown",
            Status::Missing => "missing",
        }
    }

    pub fn parse(word: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// False when it should run and does not: what a liveness probe asks.
    pub fn healthy(self) -> bool {
        matches!(
            self,
            Status::Running
                | Status::Stopped
                | Status::Done
                | Status::Scheduled
                | Status::Paused
                | Status::Unknown
        )
    }

    /// What `upkeep stop` waits to see.
    pub fn is_stopped(self) -> bool {
        matches!(self, Status::Stopped | Status::Paused)
    }

    /// What `upkeep start` and `restart` wait to see (a watch counts once resumed; a job
    /// once running, done, or back on its schedule).
    pub fn is_up(self) -> bool {
        matches!(
            self,
            Status::Running | Status::Unknown | Status::Done | Status::Scheduled
        )
    }
}

/// One line of `upkeep status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    pub pid: Option<i32>,
    pub uptime: Option<Duration>,
    pub restarts: u32,
    pub last_exit: Option<Exit>,
    /// Services: can be used (started, and its `ready` check passed).
    pub ready: bool,
    pub health: HealthState,
    /// What a waiting service waits for, or what the service said of itself (`STATUS=`).
    pub note: Option<String>,
    /// A scheduled service's next run (unix seconds, UTC).
    pub next_run: Option<i64>,
    /// A job whose last run failed.
    pub run_failed: bool,
    /// Services with `memory_max` only: the last sampled RSS of its group (None until
    /// sampled, or while it does not run).
    pub rss_bytes: Option<Option<u64>>,
}

impl StatusRow {
    /// A row with nothing but a name, a kind and a state: what tests build on.
    #[cfg(test)]
    pub fn bare(name: &str, kind: Kind, status: Status) -> StatusRow {
        StatusRow {
            name: name.into(),
            kind,
            status,
            pid: None,
            uptime: None,
            restarts: 0,
            last_exit: None,
            ready: false,
            health: HealthState::Unchecked,
            note: None,
            next_run: None,
            run_failed: false,
            rss_bytes: None,
        }
    }

    /// What `upkeep status` exits 3 for when false: should run and does not, is not ready
    /// yet, or is unhealthy.
    pub fn healthy(&self) -> bool {
        self.status.healthy() && self.health != HealthState::Unhealthy && !self.run_failed
    }
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// One line per change ("web: changed; restarting it").
    pub changes: Vec<String>,
    /// `[supervisor]` keys that only a restart of upkeep applies.
    pub restart_needed: Vec<&'static str>,
    /// The new `log_level`, when it changed: the runtime applies it at once and answers
    /// with `Event::DebugLogging`, before any other event can be handled.
    pub log_level: Option<Option<log::LevelFilter>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Service(ServiceId),
    Watch(WatchId),
    Main,
}

impl Core {
    /// Rows for `names`, or for everything when `names` is empty.
    pub fn status(&self, now: Instant, names: &[String]) -> Result<Vec<StatusRow>, String> {
        let targets = if names.is_empty() {
            let main = self.main.as_ref().map(|_| Target::Main);
            let services = self.listed.iter().map(|id| Target::Service(*id));
            let watches = self.watches.keys().map(|id| Target::Watch(*id));
            main.into_iter().chain(services).chain(watches).collect()
        } else {
            self.resolve(names)?
        };
        Ok(targets
            .into_iter()
            .filter_map(|t| self.row(now, t))
            .collect())
    }

    /// Brings services up (clearing a stop or a failed state, skipping any backoff) and
    /// resumes paused watches.
    pub fn start(&mut self, now: Instant, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("start", names)?;
        self.apply(
            now,
            &targets,
            service::Input::Start("start"),
            watch::Input::Resume,
        );
        Ok(())
    }

    /// Takes services down and keeps them down until `start`; pauses watches.
    pub fn stop(&mut self, now: Instant, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("stop", names)?;
        self.apply(now, &targets, service::Input::Stop, watch::Input::Pause);
        Ok(())
    }

    /// Stops each running service and starts it again at once; starts the others.
    pub fn restart(&mut self, now: Instant, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("restart", names)?;
        if let Some(w) = targets.iter().find_map(|t| match t {
            Target::Watch(w) => self.watches.get(w),
            _ => None,
        }) {
            return Err(format!(
                "{} is a watch: upkeep did not start it, so it cannot restart it",
                w.cfg.name
            ));
        }
        self.apply(now, &targets, service::Input::Restart, watch::Input::Resume);
        Ok(())
    }

    /// Sends `sig` to the main process of each service; all must be running.
    pub fn signal_services(&mut self, sig: i32, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("signal", names)?;
        let mut pids = Vec::new();
        for t in &targets {
            match t {
                Target::Service(id) => {
                    let Some(s) = self.services.get(id) else {
                        continue;
                    };
                    match s.process() {
                        Some((pid, _)) => pids.push((s.cfg.name.clone(), pid)),
                        None => {
                            let state = s.status(self.shutting_down()).as_str();
                            return Err(format!("{} is not running ({state})", s.cfg.name));
                        }
                    }
                }
                Target::Watch(w) => {
                    let name = self.watches.get(w).map_or("?", |r| r.cfg.name.as_str());
                    return Err(format!("{name} is a watch: upkeep does not hold its pid"));
                }
                Target::Main => {}
            }
        }
        for (name, pid) in pids {
            self.log(
                Level::Info,
                format!(
                    "{name}: sending {} to pid {pid} (request)",
                    signame::name(sig)
                ),
            );
            self.actions.push_back(Action::Kill {
                pid,
                sig,
                group: false,
            });
        }
        Ok(())
    }

    /// An ordered stop of everything, as on SIGTERM.
    pub fn shutdown(&mut self, now: Instant) {
        if !self.shutting_down() {
            self.log(
                Level::Info,
                "shutdown requested: stopping everything".into(),
            );
        }
        self.begin_shutdown(now, None, None);
        self.settle(now);
    }

    /// True once none of `names` is between two states (starting, stopping, cleaning up,
    /// diagnosing): the moment a waiting `stop` or `restart` gets its answer.
    pub fn settled(&self, names: &[String]) -> bool {
        names.iter().all(|name| {
            let predecessor_busy = self
                .services
                .values()
                .any(|d| d.is_retired() && d.cfg.name == *name);
            let live = self.live_named(name).and_then(|id| self.services.get(&id));
            !predecessor_busy && live.is_none_or(|s| s.is_settled())
        })
    }

    /// Takes a new, valid config: starts what was added, stops what was removed, restarts
    /// what changed, and leaves the rest running as it is. Applies at any moment: pending
    /// actions name services by ids, which a reload never reuses.
    pub fn reload(&mut self, now: Instant, config: Config) -> Result<ReloadReport, String> {
        if self.shutting_down() {
            return Err("shutting down".into());
        }
        let Config {
            settings,
            services,
            watches,
            ..
        } = config;
        let mut report = ReloadReport::default();
        let listed = std::mem::take(&mut self.listed);
        // By name, and in config order for what is left over (removed).
        let mut old: HashMap<String, ServiceId> = listed
            .iter()
            .filter_map(|id| self.services.get(id).map(|s| (s.cfg.name.clone(), *id)))
            .collect();
        for cfg in services {
            let Some(id) = old.remove(&cfg.name) else {
                report.changes.push(format!("{}: added", cfg.name));
                let id = self.add_service(cfg, false);
                self.listed.push(id);
                continue;
            };
            let Some(svc) = self.services.get_mut(&id) else {
                continue;
            };
            if svc.cfg == cfg {
                self.listed.push(id);
                continue;
            }
            let mut same_but_checks = cfg.clone();
            same_but_checks.ready.clone_from(&svc.cfg.ready);
            same_but_checks.health.clone_from(&svc.cfg.health);
            if svc.cfg == same_but_checks {
                // Only how it is checked changed: no reason to restart it.
                report
                    .changes
                    .push(format!("{}: checks changed; applied in place", cfg.name));
                svc.cfg = cfg;
                self.listed.push(id);
                self.feed_service(now, id, service::Input::Rechecked);
                continue;
            }
            if svc.is_done() && cfg.kind == ServiceType::Oneshot && cfg.schedule.is_none() {
                // A reload never runs a done oneshot again.
                report
                    .changes
                    .push(format!("{}: changed (done; not run again)", cfg.name));
                svc.cfg = cfg;
                self.listed.push(id);
                continue;
            }
            // Stopped on request stays stopped; stopped for `enabled = false` only while
            // it still says so.
            let held = !cfg.enabled || (svc.is_held() && svc.cfg.enabled);
            if held && svc.is_held() && svc.is_down() {
                // Nothing runs and nothing will: take the new definition in place.
                report
                    .changes
                    .push(format!("{}: changed (stays stopped)", cfg.name));
                svc.cfg = cfg;
                self.listed.push(id);
                continue;
            }
            if svc.is_idle() {
                report
                    .changes
                    .push(format!("{}: changed; starting it", cfg.name));
                self.drop_service(id);
            } else {
                report
                    .changes
                    .push(format!("{}: changed; restarting it", cfg.name));
                self.feed_service(now, id, service::Input::Retire);
            }
            let fresh = self.add_service(cfg, held);
            self.listed.push(fresh);
        }
        let gone: HashSet<ServiceId> = old.into_values().collect();
        let removed: Vec<ServiceId> = listed.into_iter().filter(|id| gone.contains(id)).collect();
        for id in removed {
            if let Some(s) = self.services.get(&id) {
                report.changes.push(format!("{}: removed", s.cfg.name));
            }
            self.feed_service(now, id, service::Input::Retire);
        }
        self.order_services();
        self.reload_watches(now, watches, settings.scan_interval, &mut report);

        self.reload_settings(settings, &mut report);
        self.actions.push_back(Action::ReopenOutputs);
        for line in &report.changes {
            self.log(Level::Info, format!("reload: {line}"));
        }
        if report.changes.is_empty() {
            self.log(Level::Info, "reload: nothing changed".into());
        }
        self.settle(now);
        Ok(report)
    }

    /// `[supervisor]` after a reload: what applies now, what waits for a restart.
    fn reload_settings(&mut self, settings: crate::config::Settings, report: &mut ReloadReport) {
        if settings.control_socket != self.settings.control_socket {
            report.restart_needed.push("control_socket");
        }
        if settings.http != self.settings.http {
            report.restart_needed.push("http");
        }
        if settings.log != self.settings.log {
            report.restart_needed.push("log");
        }
        for key in &report.restart_needed {
            self.log(
                Level::Warn,
                format!("reload: [supervisor] {key} changed; it takes effect when upkeep restarts"),
            );
        }
        if settings.log_level != self.settings.log_level {
            report.log_level = Some(settings.log_level);
        }
        // The runtime moves the socket.
        if settings.syslog_listen != self.settings.syslog_listen {
            let now_at = settings.syslog_listen.as_deref();
            let text = now_at.map_or("off".into(), |p| p.display().to_string());
            report
                .changes
                .push(format!("[supervisor] syslog_listen: {text}"));
        }
        self.settings = settings;
    }

    fn reload_watches(
        &mut self,
        now: Instant,
        watches: Vec<crate::config::Watch>,
        scan_interval: Duration,
        report: &mut ReloadReport,
    ) {
        let mut old = std::mem::take(&mut self.watches);
        for cfg in watches {
            let found = old
                .iter()
                .find(|(_, r)| r.cfg.name == cfg.name)
                .map(|(id, _)| *id);
            match found.and_then(|id| old.remove(&id).map(|run| (id, run))) {
                Some((id, mut run)) => {
                    if run.cfg != cfg {
                        report
                            .changes
                            .push(format!("{}: changed (watch)", cfg.name));
                    }
                    run.reconfigure(cfg, scan_interval, now);
                    self.watches.insert(id, run);
                }
                None => {
                    report.changes.push(format!("{}: added (watch)", cfg.name));
                    let id = WatchId(self.fresh_id());
                    let run = WatchRun::new(id, cfg, scan_interval, now, false);
                    self.watches.insert(id, run);
                }
            }
        }
        for run in old.values() {
            report
                .changes
                .push(format!("{}: removed (watch)", run.cfg.name));
        }
    }

    // ---- helpers ----

    /// Feeds each target its input: services `to_service`, watches `to_watch`.
    fn apply(
        &mut self,
        now: Instant,
        targets: &[Target],
        to_service: service::Input,
        to_watch: watch::Input,
    ) {
        for t in targets {
            match *t {
                Target::Service(id) => self.feed_service(now, id, to_service),
                Target::Watch(w) => {
                    if let Some(run) = self.watches.get_mut(&w) {
                        run.handle(now, to_watch, &mut out!(self));
                    }
                }
                Target::Main => {}
            }
        }
        self.settle(now);
    }

    pub(super) fn resolve(&self, names: &[String]) -> Result<Vec<Target>, String> {
        let mut targets = Vec::with_capacity(names.len());
        for name in names {
            let watch = || {
                self.watches
                    .iter()
                    .find(|(_, r)| r.cfg.name == *name)
                    .map(|(id, _)| Target::Watch(*id))
            };
            let main = || {
                self.main
                    .as_ref()
                    .filter(|m| m.name() == name)
                    .map(|_| Target::Main)
            };
            let target = self
                .live_named(name)
                .map(Target::Service)
                .or_else(watch)
                .or_else(main);
            let Some(target) = target else {
                let known: Vec<&str> = self
                    .listed
                    .iter()
                    .filter_map(|id| self.services.get(id))
                    .map(|s| s.cfg.name.as_str())
                    .chain(self.watches.values().map(|r| r.cfg.name.as_str()))
                    .collect();
                let hint = crate::config::closest(name, &known)
                    .map(|k| format!(" (did you mean {k:?}?)"))
                    .unwrap_or_default();
                return Err(format!("no service or watch named {name:?}{hint}"));
            };
            targets.push(target);
        }
        Ok(targets)
    }

    /// `resolve`, for requests that change things: names required, not during a shutdown,
    /// and never the main command (it is controlled with signals to upkeep).
    fn resolve_for(&self, verb: &str, names: &[String]) -> Result<Vec<Target>, String> {
        if names.is_empty() {
            return Err(format!("{verb}: name at least one service"));
        }
        if self.shutting_down() {
            return Err("shutting down".into());
        }
        let targets = self.resolve(names)?;
        if let (true, Some(main)) = (targets.contains(&Target::Main), &self.main) {
            return Err(format!(
                "{}: the main command is controlled through upkeep's own signals",
                main.name()
            ));
        }
        Ok(targets)
    }

    fn row(&self, now: Instant, target: Target) -> Option<StatusRow> {
        match target {
            Target::Main => {
                let main = self.main.as_ref()?;
                Some(StatusRow {
                    name: main.name().to_string(),
                    kind: Kind::Main,
                    status: main.status(),
                    pid: main.pid(),
                    uptime: None,
                    restarts: 0,
                    last_exit: None,
                    ready: main.pid().is_some(),
                    health: HealthState::Unchecked,
                    note: None,
                    next_run: None,
                    run_failed: false,
                    rss_bytes: None,
                })
            }
            Target::Service(id) => {
                let s = self.services.get(&id)?;
                let process = s.process();
                let kind = match (&s.cfg.schedule, s.cfg.kind) {
                    (Some(_), _) => Kind::Scheduled,
                    (None, crate::config::ServiceType::Oneshot) => Kind::Oneshot,
                    (None, crate::config::ServiceType::Longrun) => Kind::Service,
                };
                Some(StatusRow {
                    name: s.cfg.name.clone(),
                    kind,
                    status: s.status(self.shutting_down()),
                    pid: process.map(|(pid, _)| pid),
                    uptime: process.map(|(_, since)| now.saturating_duration_since(since)),
                    restarts: s.restarts(),
                    last_exit: s.last_exit(),
                    ready: s.is_ready(),
                    health: s.health(),
                    note: self.note(now, s),
                    next_run: s.next_run(now, &self.wall),
                    run_failed: s.run_failed(),
                    rss_bytes: s.cfg.memory_max.map(|_| s.rss()),
                })
            }
            Target::Watch(w) => {
                let r = self.watches.get(&w)?;
                let status = match (r.is_paused(), r.step(), r.seen()) {
                    (true, _, _) => Status::Paused,
                    (_, Step::Diagnosing { .. }, _) => Status::Diagnosing,
                    (_, Step::Starting { .. }, _) => Status::Starting,
                    (_, Step::Idle, None) => Status::Unknown,
                    (_, Step::Idle, Some(true)) => Status::Running,
                    (_, Step::Idle, Some(false)) => Status::Missing,
                };
                Some(StatusRow {
                    name: r.cfg.name.clone(),
                    kind: Kind::Watch,
                    status,
                    pid: None,
                    uptime: None,
                    restarts: r.starts(),
                    last_exit: None,
                    ready: status == Status::Running,
                    health: HealthState::Unchecked,
                    note: None,
                    next_run: None,
                    run_failed: false,
                    rss_bytes: None,
                })
            }
        }
    }

    /// "waiting for db, cache" while it waits; else the service's own STATUS= words, or
    /// why it is not ready or not healthy.
    fn note(&self, now: Instant, s: &ServiceRun) -> Option<String> {
        if s.is_scheduled() {
            return Some(s.next_run_text(now, &self.wall));
        }
        if !s.is_waiting() {
            return s.note();
        }
        let mut failed = Vec::new();
        let mut waits_for = Vec::new();
        for dep in &s.cfg.after {
            let Some(d) = self.live_named(dep).and_then(|id| self.services.get(&id)) else {
                continue;
            };
            if d.lets_others_start() {
                continue;
            }
            // A failed oneshot will not be done unless started again: say so.
            if d.status(false) == Status::Failed {
                failed.push(format!("{dep} failed"));
            } else {
                waits_for.push(dep.as_str());
            }
        }
        if !waits_for.is_empty() {
            failed.push(format!("waiting for {}", waits_for.join(", ")));
        }
        (!failed.is_empty()).then(|| failed.join("; "))
    }

    /// Everything is up: every live service ready (or done, or stopped on request) and
    /// COMMAND, if any, started; not stopping. What `READY=1` upwards waits for.
    pub fn is_up(&self) -> bool {
        !self.shutting_down()
            && self.main.as_ref().is_none_or(|m| !m.is_pending())
            && self
                .services
                .values()
                .filter(|s| !s.is_retired())
                .all(|s| s.lets_others_start())
    }

    /// A short account for `STATUS=` upwards: how many services are ready, or that upkeep
    /// is stopping.
    pub fn summary(&self) -> String {
        if self.shutting_down() {
            return "stopping".into();
        }
        let live = self.services.values().filter(|s| !s.is_retired());
        let (ready, total) = live.fold((0, 0), |(r, t), s| {
            (r + usize::from(s.lets_others_start()), t + 1)
        });
        format!("{ready} of {total} services ready")
    }

    /// The seq of service `id`'s network check under way.
    #[cfg(test)]
    pub fn checks_under_way(&self, id: ServiceId) -> Option<u32> {
        self.services.get(&id)?.checks().net_in_flight()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down()
    }
}
