//! What an operator asks of the core through the control socket: status, start, stop,
//! restart, signal, reload, shutdown. Still pure: answers and actions, no system calls.
//!
//! Every request that names several things checks all of them first: an unknown name or a
//! service in the wrong state changes nothing.

use std::time::{Duration, Instant};

use super::{Exit, Level, MainState, State, Supervisor, Svc, Then, WatchPhase, WatchRun};
use crate::config::{Restart, Service, Watch};
use crate::signame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Main,
    Service,
    Watch,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Service => "service",
            Kind::Watch => "watch",
        }
    }
}

/// One line of `upkeep status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub name: String,
    pub kind: Kind,
    pub state: &'static str,
    pub pid: Option<i32>,
    pub uptime: Option<Duration>,
    pub restarts: u32,
    pub last_exit: Option<Exit>,
    /// False when it should run and does not: what a liveness probe asks.
    pub healthy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Service(usize),
    Watch(usize),
    Main,
}

impl Supervisor {
    /// Rows for `names`, or for everything when `names` is empty.
    pub fn status(&self, now: Instant, names: &[String]) -> Result<Vec<StatusRow>, String> {
        let targets = if names.is_empty() {
            let mut all = Vec::new();
            if self.main != MainState::Absent {
                all.push(Target::Main);
            }
            all.extend(
                (0..self.services.len())
                    .filter(|&i| self.svc(i).is_some_and(|s| !s.retired))
                    .map(Target::Service),
            );
            all.extend((0..self.watches.len()).map(Target::Watch));
            all
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
        for t in targets {
            match t {
                Target::Service(i) => self.start_service(now, i, "start"),
                Target::Watch(w) => {
                    if let Some(r) = self.watches.get_mut(w)
                        && r.paused
                    {
                        r.paused = false;
                        r.next_scan = now;
                        r.starts = 0;
                        r.last_start = None;
                        let name = r.cfg.name.clone();
                        self.log(Level::Info, format!("{name} watched again (request)"));
                    }
                }
                Target::Main => {}
            }
        }
        self.start_ready();
        Ok(())
    }

    /// Takes services down and keeps them down until `start`; pauses watches.
    pub fn stop(&mut self, now: Instant, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("stop", names)?;
        for t in targets {
            match t {
                Target::Service(i) => {
                    let Some(s) = self.services.get_mut(i) else {
                        continue;
                    };
                    if !s.held {
                        s.held = true;
                        let name = s.cfg.name.clone();
                        self.log(Level::Info, format!("{name}: stop requested"));
                    }
                    self.take_down(now, i, Then::Down);
                }
                Target::Watch(w) => {
                    if let Some(r) = self.watches.get_mut(w)
                        && !r.paused
                    {
                        r.paused = true;
                        let name = r.cfg.name.clone();
                        self.log(Level::Info, format!("{name} no longer watched (request)"));
                    }
                }
                Target::Main => {}
            }
        }
        Ok(())
    }

    /// Stops each running service and starts it again at once; starts the others.
    pub fn restart(&mut self, now: Instant, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("restart", names)?;
        if let Some(w) = targets.iter().find_map(|t| match t {
            Target::Watch(w) => Some(*w),
            _ => None,
        }) {
            return Err(format!(
                "{} is a watch: upkeep did not start it, so it cannot restart it",
                self.watch_name(w)
            ));
        }
        for t in targets {
            let Target::Service(i) = t else { continue };
            match self.svc(i).map(|s| s.state) {
                Some(State::Running { pid, since }) => {
                    let name = self.name(i);
                    self.log(Level::Info, format!("{name}: restart requested"));
                    if let Some(s) = self.services.get_mut(i) {
                        s.held = false;
                    }
                    self.stop_running(now, i, pid, since, Then::Start);
                }
                _ => self.start_service(now, i, "restart"),
            }
        }
        self.start_ready();
        Ok(())
    }

    /// Sends `sig` to the main process of each service; all must be running.
    pub fn signal_services(&mut self, sig: i32, names: &[String]) -> Result<(), String> {
        let targets = self.resolve_for("signal", names)?;
        let mut pids = Vec::new();
        for t in &targets {
            let pid = match *t {
                Target::Service(i) => match self.svc(i).map(|s| s.state) {
                    Some(State::Running { pid, .. } | State::Stopping { pid, .. }) => Some(pid),
                    _ => None,
                },
                Target::Watch(w) => {
                    return Err(format!(
                        "{} is a watch: upkeep does not hold its pid",
                        self.watch_name(w)
                    ));
                }
                Target::Main => None,
            };
            match (pid, *t) {
                (Some(pid), Target::Service(i)) => pids.push((i, pid)),
                (_, Target::Service(i)) => {
                    let state = self.svc(i).map_or("unknown", Svc::state_name);
                    return Err(format!("{} is not running ({state})", self.name(i)));
                }
                _ => {}
            }
        }
        for (i, pid) in pids {
            let name = self.name(i);
            self.log(
                Level::Info,
                format!(
                    "{name}: sending {} to pid {pid} (request)",
                    signame::name(sig)
                ),
            );
            self.kill(pid, sig, false);
        }
        Ok(())
    }

    /// An ordered stop of everything, as on SIGTERM.
    pub fn shutdown(&mut self, now: Instant) {
        if !self.shutting_down {
            self.log(
                Level::Info,
                "shutdown requested: stopping everything".into(),
            );
        }
        self.begin_shutdown(now, None);
        self.check_done(now);
    }

    #[cfg(test)]
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// True once none of `names` is between two states (starting, stopping, cleaning up,
    /// diagnosing): the moment a waiting `stop` or `restart` gets its answer.
    pub fn settled(&self, names: &[String]) -> bool {
        names.iter().all(|name| {
            let Some(i) = self.service_named(name) else {
                return true;
            };
            let predecessor_busy = self.services.iter().any(|d| {
                d.retired && d.cfg.name == *name && !matches!(d.state, State::Down | State::Failed)
            });
            !predecessor_busy
                && self.svc(i).is_some_and(|s| {
                    matches!(
                        s.state,
                        State::Running { .. }
                            | State::Backoff { .. }
                            | State::Down
                            | State::Failed
                            | State::Waiting
                    )
                })
        })
    }

    /// Takes a new, valid config: starts what was added, stops what was removed, restarts
    /// what changed, and leaves the rest running as it is. Returns one line per change.
    pub fn reload(
        &mut self,
        now: Instant,
        services: Vec<Service>,
        watches: Vec<Watch>,
        scan_interval: Duration,
    ) -> Result<Vec<String>, String> {
        if self.shutting_down {
            return Err("shutting down".into());
        }
        if !self.actions.is_empty() {
            // Indices are about to move; the runtime always drains first.
            return Err("busy; try again".into());
        }
        // What earlier reloads retired and has stopped by now goes for good.
        self.services
            .retain(|s| !(s.retired && matches!(s.state, State::Down | State::Failed)));
        let mut changes = Vec::new();
        let mut old: Vec<Option<Svc>> = std::mem::take(&mut self.services)
            .into_iter()
            .map(Some)
            .collect();
        let mut next: Vec<Svc> = Vec::with_capacity(services.len());
        let mut retiring: Vec<Svc> = Vec::new();
        for cfg in services {
            let found = old.iter().position(|s| {
                s.as_ref()
                    .is_some_and(|s| s.cfg.name == cfg.name && !s.retired)
            });
            let Some(mut svc) = found.and_then(|j| old.get_mut(j)).and_then(Option::take) else {
                changes.push(format!("{}: added", cfg.name));
                next.push(Svc::new(cfg));
                continue;
            };
            if svc.cfg == cfg {
                next.push(svc);
                continue;
            }
            match svc.state {
                // Nothing runs: take the new definition in place (a held one stays down).
                State::Down | State::Failed if svc.held => {
                    changes.push(format!("{}: changed (stays stopped)", cfg.name));
                    svc.cfg = cfg;
                    next.push(svc);
                }
                State::Down | State::Failed | State::Waiting | State::Backoff { .. } => {
                    changes.push(format!("{}: changed; starting it", cfg.name));
                    let held = svc.held;
                    let mut fresh = Svc::new(cfg);
                    fresh.held = held;
                    fresh.state = if held { State::Down } else { State::Waiting };
                    next.push(fresh);
                }
                _ => {
                    changes.push(format!("{}: changed; restarting it", cfg.name));
                    let held = svc.held;
                    svc.retired = true;
                    retiring.push(svc);
                    let mut fresh = Svc::new(cfg);
                    fresh.held = held;
                    if held {
                        fresh.state = State::Down;
                    }
                    next.push(fresh);
                }
            }
        }
        for mut svc in old.into_iter().flatten() {
            if !svc.retired {
                changes.push(format!("{}: removed", svc.cfg.name));
                svc.retired = true;
            }
            retiring.push(svc);
        }
        let live = next.len();
        next.extend(retiring);
        self.services = next;
        let live_cfgs: Vec<Service> = self
            .services
            .iter()
            .take(live)
            .map(|s| s.cfg.clone())
            .collect();
        self.start_order = crate::config::start_order(&live_cfgs);
        for i in live..self.services.len() {
            self.take_down(now, i, Then::Down);
        }

        self.opts.scan_interval = scan_interval;
        let mut old_watches: Vec<Option<WatchRun>> = std::mem::take(&mut self.watches)
            .into_iter()
            .map(Some)
            .collect();
        for cfg in watches {
            let found = old_watches
                .iter()
                .position(|r| r.as_ref().is_some_and(|r| r.cfg.name == cfg.name));
            match found
                .and_then(|j| old_watches.get_mut(j))
                .and_then(Option::take)
            {
                Some(run) if run.cfg == cfg && run.cfg.interval.is_some() => {
                    self.watches.push(run);
                }
                Some(mut run) => {
                    let interval = cfg.interval.unwrap_or(scan_interval);
                    if run.cfg != cfg {
                        changes.push(format!("{}: changed (watch)", cfg.name));
                    }
                    if run.interval != interval {
                        run.next_scan = now + interval;
                    }
                    run.cfg = cfg;
                    run.interval = interval;
                    self.watches.push(run);
                }
                None => {
                    changes.push(format!("{}: added (watch)", cfg.name));
                    self.watches.push(WatchRun::new(cfg, scan_interval, now));
                }
            }
        }
        for run in old_watches.into_iter().flatten() {
            changes.push(format!("{}: removed (watch)", run.cfg.name));
        }
        for line in &changes {
            self.log(Level::Info, format!("reload: {line}"));
        }
        if changes.is_empty() {
            self.log(Level::Info, "reload: nothing changed".into());
        }
        self.start_ready();
        self.check_done(now);
        Ok(changes)
    }

    // ---- helpers ----

    fn resolve(&self, names: &[String]) -> Result<Vec<Target>, String> {
        let mut targets = Vec::with_capacity(names.len());
        for name in names {
            let target = if let Some(i) = self.service_named(name) {
                Target::Service(i)
            } else if let Some(w) = self.watches.iter().position(|r| r.cfg.name == *name) {
                Target::Watch(w)
            } else if self.main != MainState::Absent && self.main_opts.name == *name {
                Target::Main
            } else {
                let known: Vec<&str> = self
                    .services
                    .iter()
                    .filter(|s| !s.retired)
                    .map(|s| s.cfg.name.as_str())
                    .chain(self.watches.iter().map(|r| r.cfg.name.as_str()))
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
        if self.shutting_down {
            return Err("shutting down".into());
        }
        let targets = self.resolve(names)?;
        if targets.contains(&Target::Main) {
            return Err(format!(
                "{}: the main command is controlled through upkeep's own signals",
                self.main_opts.name
            ));
        }
        Ok(targets)
    }

    /// Start on request: no spacing, counters and held state cleared.
    fn start_service(&mut self, now: Instant, i: usize, verb: &str) {
        let Some(s) = self.services.get_mut(i) else {
            return;
        };
        let was_held = s.held;
        s.held = false;
        s.quick_deaths = 0;
        let name = s.cfg.name.clone();
        match s.state {
            State::Down | State::Failed | State::Backoff { .. } => {
                self.log(Level::Info, format!("{name}: {verb} requested"));
                self.spawn_service(i);
            }
            State::Stopping {
                pid,
                since,
                kill_at,
                ..
            } => {
                self.set_state(
                    i,
                    State::Stopping {
                        pid,
                        since,
                        kill_at,
                        then: Then::Start,
                    },
                );
            }
            State::Cleaning {
                pgid,
                signalled,
                kill_at,
                ..
            } => {
                self.set_state(
                    i,
                    State::Cleaning {
                        pgid,
                        signalled,
                        kill_at,
                        then: Then::Start,
                    },
                );
            }
            // Running, starting, waiting for its `after`, or diagnosing before a restart.
            _ => {
                if was_held {
                    self.log(Level::Info, format!("{name}: {verb} requested"));
                }
            }
        }
        let _ = now;
    }

    /// Whatever service `i` is doing, brings it down; `then` once it is gone.
    fn take_down(&mut self, now: Instant, i: usize, then: Then) {
        match self.svc(i).map(|s| s.state) {
            Some(State::Running { pid, since }) => self.stop_running(now, i, pid, since, then),
            Some(State::Stopping {
                pid,
                since,
                kill_at,
                ..
            }) => {
                self.set_state(
                    i,
                    State::Stopping {
                        pid,
                        since,
                        kill_at,
                        then,
                    },
                );
            }
            Some(State::Cleaning {
                pgid,
                signalled,
                kill_at,
                ..
            }) => {
                self.set_state(
                    i,
                    State::Cleaning {
                        pgid,
                        signalled,
                        kill_at,
                        then,
                    },
                );
            }
            Some(State::Diagnosing { pid, pgid, .. }) => {
                if let Some(pid) = pid {
                    self.kill(pid, libc::SIGKILL, true);
                }
                self.start_cleaning(now, i, pgid, then);
            }
            Some(State::Waiting | State::Backoff { .. }) => self.set_state(i, State::Down),
            // Starting: `spawned` stops it as soon as its pid is known.
            _ => {}
        }
    }

    fn row(&self, now: Instant, target: Target) -> Option<StatusRow> {
        match target {
            Target::Main => {
                let (state, pid) = match self.main {
                    MainState::Running { pid } => ("running", Some(pid)),
                    MainState::NotStarted | MainState::Starting => ("starting", None),
                    MainState::Ended => ("exited", None),
                    MainState::Absent => return None,
                };
                Some(StatusRow {
                    name: self.main_opts.name.clone(),
                    kind: Kind::Main,
                    state,
                    pid,
                    uptime: None,
                    restarts: 0,
                    last_exit: None,
                    healthy: state == "running",
                })
            }
            Target::Service(i) => {
                let s = self.svc(i)?;
                let state = s.state_name();
                let (pid, since) = match s.state {
                    State::Running { pid, since } | State::Stopping { pid, since, .. } => {
                        (Some(pid), Some(since))
                    }
                    _ => (None, None),
                };
                // Down is fine when it was asked for or when its policy says it is done.
                let finished = matches!(
                    (s.cfg.restart, s.last_exit),
                    (_, None) | (Restart::Never | Restart::OnFailure, Some(Exit::Code(0)))
                );
                let healthy = match state {
                    "running" | "stopped" => true,
                    "down" => finished || self.shutting_down,
                    _ => false,
                };
                Some(StatusRow {
                    name: s.cfg.name.clone(),
                    kind: Kind::Service,
                    state,
                    pid,
                    uptime: since.map(|t| now.saturating_duration_since(t)),
                    restarts: s.restarts,
                    last_exit: s.last_exit,
                    healthy,
                })
            }
            Target::Watch(w) => {
                let r = self.watches.get(w)?;
                let state = match (r.paused, r.phase, r.seen) {
                    (true, _, _) => "paused",
                    (_, WatchPhase::Diagnosing { .. }, _) => "diagnosing",
                    (_, WatchPhase::Starting { .. }, _) => "starting",
                    (_, WatchPhase::Idle, None) => "unknown",
                    (_, WatchPhase::Idle, Some(true)) => "running",
                    (_, WatchPhase::Idle, Some(false)) => "missing",
                };
                Some(StatusRow {
                    name: r.cfg.name.clone(),
                    kind: Kind::Watch,
                    state,
                    pid: None,
                    uptime: None,
                    restarts: r.starts,
                    last_exit: None,
                    healthy: matches!(state, "paused" | "unknown" | "running"),
                })
            }
        }
    }
}

impl Svc {
    fn state_name(&self) -> &'static str {
        match self.state {
            State::Waiting => "waiting",
            State::Starting => "starting",
            State::Running { .. } => "running",
            State::Diagnosing { .. } => "diagnosing",
            State::Cleaning { .. } => "cleaning",
            State::Backoff { .. } => "backoff",
            State::Stopping { .. } => "stopping",
            State::Down if self.held => "stopped",
            State::Down => "down",
            State::Failed => "failed",
        }
    }

    pub(super) fn new(cfg: Service) -> Svc {
        Svc {
            cfg,
            state: State::Waiting,
            last_start: None,
            quick_deaths: 0,
            restarts: 0,
            last_exit: None,
            held: false,
            retired: false,
        }
    }
}
