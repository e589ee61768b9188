//! The pure core: what upkeep decides, given what happened.
//!
//! Events go in (`handle_event`, `handle_timeout`, the requests of `admin`), actions come
//! out (`poll_action`), and `poll_timeout` names the next deadline. No system calls and no
//! clock reads happen here: the runtime passes `now` in, so every rule is a fast unit test
//! with simulated time.
//!
//! This file is the router: it owns one state machine per service (`service`), per watch
//! (`watch`) and for COMMAND (`main_cmd`), addressed by ids that are never reused within a
//! run, a pid -> owner map for the reaper, and the `Lifecycle` of upkeep as a whole. Every
//! action carries all the runtime needs to carry it out, so the runtime never reads the
//! core back.

/// The `Out` of a `Core`: a macro, not a method, so that it borrows only the two fields and
/// the machines (other fields) can be borrowed beside it.
macro_rules! out {
    ($core:ident) => {
        Out {
            actions: &mut $core.actions,
            debug: $core.debug,
            owners: &$core.owners,
            abandoned: &mut $core.abandoned,
            wall: $core.wall,
        }
    };
}

mod admin;
mod checks;
mod events;
mod logs;
pub mod main_cmd;
pub mod output;
mod route;
mod service;
pub mod syslog;
#[cfg(test)]
mod tests;
mod wait;
mod watch;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::time::{Duration, Instant};

use crate::config::{self, Settings};
pub use crate::types::ServiceId;
use crate::types::{SpawnPlan, fmt_duration};

pub use admin::{Kind, Status, StatusRow};
pub use checks::HealthState;
pub use events::{Action, Event, EventFields};
pub use logs::{LogLine, Logs};
use main_cmd::MainCmd;
use route::{Routed, ServiceIndex};
use service::ServiceRun;
pub use wait::{Condition, Verdict, verdict};
use watch::WatchRun;

/// A watch's id, likewise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchId(u32);

/// Who a child process (or a spawn request, or a group probe) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// COMMAND given after `--`.
    Main,
    /// A service's main process.
    Service(ServiceId),
    /// A service's diagnostic command.
    Diagnose(ServiceId),
    /// A watch's diagnostic or start command.
    Watch(WatchId),
    /// A service's readiness or health check command.
    Check(ServiceId),
    /// A service's `on_failure` command.
    Alert(ServiceId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warn,
    Info,
    Debug,
}

/// COMMAND and tini's flags for it.
#[derive(Debug, Clone, Default)]
pub struct MainOptions {
    /// Display name of COMMAND for log lines.
    pub name: String,
    pub argv: Vec<OsString>,
    /// `-g`: signals go to COMMAND's process group.
    pub signal_group: bool,
    /// `-e`: these exit codes of COMMAND count as 0.
    pub success_codes: Vec<i32>,
    /// `-w`: warn when reaping a zombie that is not COMMAND.
    pub warn_on_reap: bool,
    /// Socket activation: the descriptors COMMAND gets.
    pub listen: Option<crate::types::ListenFds>,
    /// dumb-init's `-r S:R`: S is forwarded as R; R = 0 drops it.
    pub rewrite: Vec<(i32, i32)>,
}

impl MainOptions {
    /// COMMAND's spawn: its own foreground process group, upkeep's stdin, and the
    /// activation's descriptors if any.
    pub fn plan(&self) -> SpawnPlan {
        let mut plan = SpawnPlan::new(self.argv.clone(), crate::types::Grouping::ForegroundGroup);
        plan.stdin_null = false;
        plan.listen.clone_from(&self.listen);
        plan
    }

    /// The signal COMMAND gets for `sig` (None: dropped).
    pub fn rewritten(&self, sig: i32) -> Option<i32> {
        match self.rewrite.iter().rev().find(|(s, _)| *s == sig) {
            Some(&(_, 0)) => None,
            Some(&(_, r)) => Some(r),
            None => Some(sig),
        }
    }
}

/// What kind of run this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// tini: COMMAND only; every signal is forwarded.
    #[default]
    Single,
    /// A config is supervised: TERM/INT mean an ordered stop, HUP a reload, and COMMAND's
    /// exit stops the services.
    Supervise,
    /// `upkeep scan`: one pass over the watches at once, then exit (1 if a start failed).
    ScanOnce,
}

/// Everything the core is told at start.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub main: Option<MainOptions>,
    pub config: config::Config,
    /// PID 1 only: after the services are down, TERM then KILL whatever else is left.
    pub final_sweep: bool,
    pub debug: bool,
    /// The wall clock (unix milliseconds) at the `now` the core starts with.
    pub wall_ms: i64,
    /// `UPKEEP_STOP_GRACE`: wins over the config's `stop_grace`.
    pub stop_grace_override: Option<Duration>,
}

/// The stop's grace when nothing sets one and upkeep is PID 1 with a config: `docker stop`
/// and `podman stop` SIGKILL the container 10 s after their TERM.
pub const PID1_STOP_GRACE: Duration = Duration::from_secs(9);

/// The wall clock, as the runtime last read it beside the monotonic one: what schedules
/// are reckoned in. Instants map to wall time through it, so a wall clock set back or
/// forward moves the ticks with it at the next wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wall {
    pub at: Instant,
    pub unix_ms: i64,
}

impl Wall {
    /// Unix seconds at `now`.
    pub fn unix_at(&self, now: Instant) -> i64 {
        let ms = if now >= self.at {
            self.unix_ms + now.duration_since(self.at).as_millis() as i64
        } else {
            self.unix_ms - self.at.duration_since(now).as_millis() as i64
        };
        ms.div_euclid(1000)
    }

    /// The instant at which the wall clock shows unix second `t` (now, for a past `t`).
    pub fn instant_of(&self, t: i64) -> Instant {
        let ahead = t.saturating_mul(1000).saturating_sub(self.unix_ms);
        self.at + Duration::from_millis(u64::try_from(ahead).unwrap_or(0))
    }
}

/// How long PID 1's last sweep waits between TERM and KILL.
pub const SWEEP_GRACE: Duration = Duration::from_secs(2);

/// The spacing rule of services and watches alike: `base` for the first quick death (or
/// miss), doubled for each further one in a row, capped at `max`.
pub fn spacing(base: Duration, max: Duration, in_a_row: u32) -> Duration {
    let doublings = in_a_row.saturating_sub(1).min(31);
    base.checked_mul(1u32 << doublings)
        .unwrap_or(max)
        .min(max.max(base))
}

/// upkeep as a whole: running, then stopping everything, then (PID 1) sweeping strays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Running,
    /// Everything is being stopped; `status` is what upkeep will exit with.
    Stopping {
        status: i32,
    },
    /// PID 1's last sweep: TERM sent to all (then KILL once `until` passes, if `killing`
    /// is still false), exit when no child is left or the grace has passed.
    Sweeping {
        status: i32,
        killing: bool,
        until: Instant,
    },
    Exited,
}

/// Where the machines put their actions, and the log's gate for debug lines.
pub(crate) struct Out<'a> {
    pub(crate) actions: &'a mut VecDeque<Action>,
    debug: bool,
    owners: &'a HashMap<i32, Owner>,
    /// Children whose machines have let them go: their exits are expected and owed to no
    /// one.
    abandoned: &'a mut HashSet<i32>,
    /// The wall clock, for schedules.
    pub(crate) wall: Wall,
}

impl Out<'_> {
    pub(crate) fn log(&mut self, level: Level, text: String) {
        if level == Level::Debug && !self.debug {
            return;
        }
        self.actions.push_back(Action::Log(level, text));
    }

    /// A log line that is an event too.
    pub(crate) fn event(&mut self, level: Level, text: String, fields: EventFields) {
        if level == Level::Debug && !self.debug {
            return;
        }
        self.actions
            .push_back(Action::LogEvent(level, text, Box::new(fields)));
    }

    /// Something the state machines say cannot happen did: logged, never defaulted.
    pub(crate) fn bug(&mut self, text: String) {
        self.log(Level::Warn, format!("bug: {text} (please report)"));
    }

    pub(crate) fn kill(&mut self, pid: i32, sig: i32, group: bool) {
        self.actions.push_back(Action::Kill { pid, sig, group });
    }

    pub(crate) fn probe(&mut self, owner: Owner, pgid: i32) {
        self.actions.push_back(Action::ProbeGroup { owner, pgid });
    }

    /// A child its machine no longer waits for: `sig` to its group, and its exit, when
    /// reaped, goes to no machine.
    pub(crate) fn abandon(&mut self, pid: i32, sig: i32) {
        self.kill(pid, sig, true);
        if self.owners.contains_key(&pid) {
            self.abandoned.insert(pid);
        }
    }

    /// A child that outran its time: SIGKILL to its group (if its pid is known yet), and
    /// the line that says so.
    pub(crate) fn kill_overdue(&mut self, pid: Option<i32>, level: Level, text: String) {
        if let Some(pid) = pid {
            self.abandon(pid, libc::SIGKILL);
        }
        self.log(level, text);
    }

    pub(crate) fn spawn(&mut self, owner: Owner, plan: SpawnPlan) {
        self.actions.push_back(Action::Spawn {
            owner,
            plan: Box::new(plan),
        });
    }
}

pub struct Core {
    mode: Mode,
    final_sweep: bool,
    debug: bool,
    settings: Settings,
    main: Option<MainCmd>,
    services: BTreeMap<ServiceId, Box<ServiceRun>>,
    /// The live services in config order: what `status` lists.
    listed: Vec<ServiceId>,
    /// The live services in `after` order.
    start_order: Vec<ServiceId>,
    /// Names and `after` edges, so that no event scans every service; rebuilt at load and
    /// reload.
    index: ServiceIndex,
    /// In a shutdown, the services that may have become free to stop (`stop_ready`).
    stop_candidates: Vec<ServiceId>,
    watches: BTreeMap<WatchId, WatchRun>,
    next_id: u32,
    /// Every child upkeep started and has not reaped yet.
    owners: HashMap<i32, Owner>,
    /// Those of `owners` whose machines have let them go (killed at a timeout, cut short).
    abandoned: HashSet<i32>,
    /// Every exit routed to a machine, with the owner it went to: what the property tests
    /// check against the spawns they answered.
    #[cfg(test)]
    pub(crate) routed_exits: Vec<(i32, Owner)>,
    /// A Scan was asked for and its answer has not come yet.
    scan_pending: bool,
    /// The next sampling of memory, while any service has `memory_max`.
    memory_at: Instant,
    lifecycle: Lifecycle,
    stop_grace_override: Option<Duration>,
    /// When the stop of everything must be over (stop_grace), and whether its SIGKILL went.
    grace_end: Option<Instant>,
    grace_spent: bool,
    actions: VecDeque<Action>,
    wall: Wall,
}

impl Core {
    pub fn new(opts: Options, now: Instant) -> Core {
        let config::Config {
            settings,
            services,
            watches,
            ..
        } = opts.config;
        let mut core = Core {
            mode: opts.mode,
            final_sweep: opts.final_sweep,
            debug: opts.debug,
            main: opts.main.map(MainCmd::new),
            services: BTreeMap::new(),
            listed: Vec::new(),
            start_order: Vec::new(),
            index: ServiceIndex::default(),
            stop_candidates: Vec::new(),
            watches: BTreeMap::new(),
            next_id: 0,
            owners: HashMap::new(),
            abandoned: HashSet::new(),
            #[cfg(test)]
            routed_exits: Vec::new(),
            scan_pending: false,
            memory_at: now + settings.memory_interval,
            lifecycle: Lifecycle::Running,
            stop_grace_override: opts.stop_grace_override,
            grace_end: None,
            grace_spent: false,
            actions: VecDeque::new(),
            wall: Wall {
                at: now,
                unix_ms: opts.wall_ms,
            },
            settings,
        };
        // Moved, not copied: with 1,000 services the config is most of upkeep's memory.
        for cfg in services {
            let id = core.add_service(cfg, false);
            core.listed.push(id);
        }
        core.order_services();
        let scan_once = core.mode == Mode::ScanOnce;
        for cfg in watches {
            let id = WatchId(core.fresh_id());
            let run = WatchRun::new(id, cfg, core.settings.scan_interval, now, scan_once);
            core.watches.insert(id, run);
        }
        core.settle(now);
        core
    }

    pub fn handle_event(&mut self, now: Instant, event: Event) {
        if self.lifecycle == Lifecycle::Exited {
            return;
        }
        match event {
            Event::Spawned { owner, pid } => {
                self.owners.insert(pid, owner);
                self.route(now, owner, Routed::Spawned(pid));
            }
            Event::SpawnFailed {
                owner,
                status,
                reason,
            } => self.route(now, owner, Routed::SpawnFailed(status, &reason)),
            Event::Exited { pid, exit } => match self.owners.remove(&pid) {
                Some(owner) if self.abandoned.remove(&pid) => {
                    let text = format!("reaped pid {pid} ({owner:?}, let go): {exit}");
                    self.log(Level::Debug, text);
                }
                Some(owner) => {
                    #[cfg(test)]
                    self.routed_exits.push((pid, owner));
                    self.route(now, owner, Routed::Exited(pid, exit));
                }
                None => self.stranger_reaped(now, pid, exit),
            },
            Event::Signal(sig) => self.signal(now, sig),
            Event::GroupProbed { owner, alive } => {
                self.route(now, owner, Routed::GroupProbed(alive))
            }
            Event::NoChildren => {
                if let Lifecycle::Sweeping { status, .. } = self.lifecycle {
                    self.finish(status);
                }
            }
            Event::ProcessTable(procs) => self.process_table(now, Some(&procs)),
            Event::ScanFailed(why) => {
                self.log(
                    Level::Warn,
                    format!("cannot read the process table ({why}); no watch acts on this scan"),
                );
                self.process_table(now, None);
            }
            Event::MemorySampled(groups) => {
                for (id, pid, rss) in groups {
                    self.feed_service(now, id, service::Input::Memory { pid, rss });
                }
            }
            Event::DebugLogging(on) => self.debug = on,
            Event::Checked { id, seq, result } => {
                let result = result.as_ref().map(|_| ()).map_err(String::as_str);
                self.feed_service(now, id, service::Input::Checked { seq, result });
            }
            Event::Notified {
                id,
                ready,
                status,
                alive,
            } => {
                let status = status.as_deref();
                let input = service::Input::Notified {
                    ready,
                    status,
                    alive,
                };
                self.feed_service(now, id, input);
            }
        }
        self.settle(now);
    }

    /// Expires deadlines; extra calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.lifecycle == Lifecycle::Exited {
            return;
        }
        let shutting_down = self.shutting_down();
        let due: Vec<ServiceId> = self
            .services
            .iter()
            .filter(|(_, s)| s.is_due(now, &self.wall))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            // Only a tick looks at it: skipped while a service it comes `after` is not up.
            let waiting_for = self
                .services
                .get(&id)
                .filter(|s| s.cfg.schedule.is_some())
                .and_then(|s| self.unready_dep(s))
                .map(str::to_owned);
            let waiting_for = waiting_for.as_deref();
            self.feed_service(now, id, service::Input::Timeout { waiting_for });
        }
        let mut out = out!(self);
        for run in self.watches.values_mut() {
            if run.command_deadline().is_some_and(|t| t <= now) {
                run.handle(now, watch::Input::Timeout, &mut out);
            }
        }
        if !shutting_down
            && !self.scan_pending
            && self
                .watches
                .values()
                .any(|w| w.scan_at().is_some_and(|t| t <= now))
        {
            self.scan_pending = true;
            self.actions.push_back(Action::Scan);
        }
        if let (Lifecycle::Stopping { .. }, Some(end)) = (self.lifecycle, self.grace_end)
            && end <= now
            && !self.grace_spent
        {
            self.grace_spent = true;
            let grace = self.stop_grace().map(fmt_duration).unwrap_or_default();
            let text = format!("stop_grace ({grace}) is up: killing what is left");
            self.log(Level::Warn, text);
            self.kill_everything(now);
        }
        if self.memory_at <= now {
            self.sample_memory(now);
        }
        if let Lifecycle::Sweeping {
            status,
            killing,
            until,
        } = self.lifecycle
            && until <= now
        {
            if killing {
                self.finish(status);
            } else {
                self.sweep(now, status, libc::SIGKILL);
            }
        }
        self.settle(now);
    }

    /// The stop's grace in effect: `UPKEEP_STOP_GRACE`, the config's, or PID 1's default.
    fn stop_grace(&self) -> Option<Duration> {
        self.stop_grace_override
            .or(self.settings.stop_grace)
            .or(self.final_sweep.then_some(PID1_STOP_GRACE))
    }

    /// PID 1's last sweep: `sig` to every process left, then a wait of `SWEEP_GRACE` (KILL
    /// after TERM, the exit after KILL), cut short by the stop's grace.
    fn sweep(&mut self, now: Instant, status: i32, sig: i32) {
        let left = self
            .grace_end
            .map_or(SWEEP_GRACE, |end| end.saturating_duration_since(now));
        if left.is_zero() {
            self.actions.push_back(Action::KillAll(libc::SIGKILL));
            return self.finish(status);
        }
        self.actions.push_back(Action::KillAll(sig));
        self.lifecycle = Lifecycle::Sweeping {
            status,
            killing: sig == libc::SIGKILL,
            until: now + left.min(SWEEP_GRACE),
        };
    }

    /// The wall clock as the runtime reads it now (unix milliseconds): called at each
    /// wake-up, it costs nothing and wakes nothing.
    pub fn set_wall_clock(&mut self, now: Instant, unix_ms: i64) {
        self.wall = Wall { at: now, unix_ms };
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let scans_wanted = !self.shutting_down() && !self.scan_pending;
        let sweep = match self.lifecycle {
            Lifecycle::Sweeping { until, .. } => Some(until),
            Lifecycle::Stopping { .. } if !self.grace_spent => self.grace_end,
            Lifecycle::Exited => return None,
            _ => None,
        };
        let services = self
            .services
            .values()
            .filter_map(|s| s.deadline(&self.wall));
        let watches = self.watches.values().flat_map(|w| {
            let scan = w.scan_at().filter(|_| scans_wanted);
            w.command_deadline().into_iter().chain(scan)
        });
        let memory = self.wants_memory().then_some(self.memory_at);
        services.chain(watches).chain(sweep).chain(memory).min()
    }

    /// Whether memory is to be sampled at all: a service has `memory_max`, and upkeep is
    /// not stopping.
    fn wants_memory(&self) -> bool {
        !self.shutting_down() && self.services.values().any(|s| s.cfg.memory_max.is_some())
    }

    /// One sampling for every running service with `memory_max`: a single pass over the
    /// process table, whatever their number.
    fn sample_memory(&mut self, now: Instant) {
        self.memory_at = now + self.settings.memory_interval;
        if self.shutting_down() {
            return;
        }
        let groups: Vec<(ServiceId, i32, u64)> = self
            .services
            .iter()
            .filter(|(_, s)| s.cfg.memory_max.is_some())
            .filter_map(|(id, s)| Some((*id, s.running()?.0, 0)))
            .collect();
        if !groups.is_empty() {
            self.actions.push_back(Action::SampleMemory(groups));
        }
    }

    // ---- the lifecycle ----

    fn shutting_down(&self) -> bool {
        self.lifecycle != Lifecycle::Running
    }

    /// After every event: start what may start, stop what may stop, and end the run once
    /// everything is down.
    fn settle(&mut self, now: Instant) {
        match self.lifecycle {
            Lifecycle::Running => {
                self.start_ready(now);
                if self.mode == Mode::ScanOnce && self.watches.values().all(WatchRun::scan_done) {
                    let failed = self.watches.values().any(WatchRun::start_failed);
                    self.begin_shutdown(now, None, Some(i32::from(failed)));
                }
                if self.shutting_down() {
                    self.settle(now);
                }
            }
            Lifecycle::Stopping { status } => {
                self.stop_ready(now);
                let main_done = self.main.as_ref().is_none_or(MainCmd::is_done);
                if !(main_done && self.services.values().all(|s| s.is_down())) {
                    return;
                }
                if self.final_sweep {
                    self.sweep(now, status, libc::SIGTERM);
                } else {
                    self.finish(status);
                }
            }
            Lifecycle::Sweeping { .. } | Lifecycle::Exited => {}
        }
    }

    /// Starts every waiting service whose `after` services are ready, then COMMAND once every
    /// service is; a service that will never be ready ends COMMAND's wait with status 1.
    fn start_ready(&mut self, now: Instant) {
        for k in 0..self.start_order.len() {
            let Some(&id) = self.start_order.get(k) else {
                continue;
            };
            if self.services.get(&id).is_some_and(|s| self.may_start(s)) {
                self.feed_service(now, id, service::Input::MayStart);
            }
        }
        if self.main.as_ref().is_none_or(|m| !m.is_pending()) {
            return;
        }
        let live = || self.services.values().filter(|s| !s.is_retired());
        if let Some(s) = live().find(|s| s.gave_up_unready()) {
            let name = s.cfg.name.clone();
            let state = s.status(false).as_str();
            let main = self.main.as_ref().map_or("", MainCmd::name).to_string();
            self.log(
                Level::Warn,
                format!(
                    "{name} is {state} and was never ready; stopping everything without running {main}"
                ),
            );
            self.begin_shutdown(now, None, Some(1));
            return;
        }
        if live().all(|s| s.lets_others_start())
            && let Some(main) = self.main.as_mut()
        {
            main.start(&mut out!(self));
        }
    }

    fn may_start(&self, s: &ServiceRun) -> bool {
        if !s.is_waiting() || s.is_retired() {
            return false;
        }
        // A changed service starts once the old definition's run is gone.
        self.unready_dep(s).is_none() && !self.index.retiring.contains_key(&s.cfg.name)
    }

    /// The first service `s` comes `after` that would not let it start now.
    fn unready_dep<'s>(&self, s: &'s ServiceRun) -> Option<&'s str> {
        s.cfg.after.iter().map(String::as_str).find(|dep| {
            self.live_named(dep)
                .and_then(|id| self.services.get(&id))
                .is_some_and(|d| !d.lets_others_start())
        })
    }

    /// Enters the stop of everything (or, already in it, updates the exit status).
    fn begin_shutdown(&mut self, now: Instant, sig: Option<i32>, status: Option<i32>) {
        match &mut self.lifecycle {
            Lifecycle::Running => {
                self.lifecycle = Lifecycle::Stopping {
                    status: status.unwrap_or(0),
                };
                if self.mode == Mode::Supervise {
                    self.grace_end = self.stop_grace().map(|g| now + g);
                }
            }
            Lifecycle::Stopping { status: s } => {
                if let Some(status) = status {
                    *s = status;
                }
                return;
            }
            Lifecycle::Sweeping { .. } | Lifecycle::Exited => return,
        }
        let mut out = out!(self);
        if let Some(main) = self.main.as_mut() {
            main.terminate(sig.unwrap_or(libc::SIGTERM), &mut out);
        }
        for run in self.watches.values_mut() {
            run.handle(now, watch::Input::Shutdown, &mut out);
        }
        let ids: Vec<ServiceId> = self.services.keys().copied().collect();
        self.stop_candidates.clone_from(&ids);
        for id in ids {
            self.feed_service(now, id, service::Input::Shutdown);
        }
    }

    /// In a shutdown, stops each running service once everything started after it is down.
    /// Only the candidates are looked at: every service when the shutdown begins, then
    /// those a service that went down came after.
    fn stop_ready(&mut self, now: Instant) {
        let candidates = std::mem::take(&mut self.stop_candidates);
        let ready: Vec<ServiceId> = candidates
            .into_iter()
            .filter(|id| {
                self.services.get(id).is_some_and(|s| {
                    s.is_running()
                        && self
                            .index
                            .dependents(&s.cfg.name)
                            .iter()
                            .filter_map(|d| self.services.get(d))
                            .all(|d| d.is_down())
                })
            })
            .collect();
        for id in ready {
            self.feed_service(now, id, service::Input::StopForShutdown);
        }
    }

    fn kill_everything(&mut self, now: Instant) {
        if let Some(main) = self.main.as_mut() {
            main.kill(&mut out!(self));
        }
        let ids: Vec<ServiceId> = self.services.keys().copied().collect();
        for id in ids {
            self.feed_service(now, id, service::Input::KillNow);
        }
    }

    fn finish(&mut self, status: i32) {
        if self.lifecycle == Lifecycle::Exited {
            return;
        }
        self.lifecycle = Lifecycle::Exited;
        if self.mode == Mode::Supervise {
            self.log(Level::Info, format!("exiting with status {status}"));
        }
        self.actions.push_back(Action::Exit(status));
    }

    // ---- helpers ----

    fn fresh_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// A new service under a new id; `held`: it replaces one stopped on request, and stays
    /// down until started.
    fn add_service(&mut self, cfg: config::Service, held: bool) -> ServiceId {
        let id = ServiceId(self.fresh_id());
        self.services
            .insert(id, Box::new(ServiceRun::new(id, cfg, held)));
        id
    }

    /// Forgets a service that is down for good, and lets its output go.
    fn drop_service(&mut self, id: ServiceId) {
        if let Some(gone) = self.services.remove(&id) {
            // Its on_failure has no one left to time it out.
            if let Some(pid) = gone.alert_pid() {
                out!(self).abandon(pid, libc::SIGKILL);
            }
            self.index.forget_retired(&gone.cfg.name, id);
            self.actions.push_back(Action::ReleaseOutput(id));
        }
    }

    /// Bytes a service wrote to its stdout or stderr; each whole line goes to `line`
    /// (the service's name, whether it is stderr, the line) and into its tail.
    pub fn service_output(
        &mut self,
        id: ServiceId,
        stderr: bool,
        bytes: &[u8],
        line: &mut dyn FnMut(&str, bool, &[u8]),
    ) {
        if let Some(svc) = self.services.get_mut(&id) {
            svc.output(stderr, bytes, self.wall.unix_ms, line);
        }
    }

    /// A syslog message's line, under its tag: into the tail of the service the tag names
    /// (exactly, else but for ASCII case: Debian's cron logs as `CRON`); that service's name.
    pub fn syslog_line(&mut self, tag: &str, stderr: bool, line: &[u8]) -> Option<&str> {
        let live = &self.index.live;
        let id = live.get(tag).or_else(|| {
            live.iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(tag))
                .map(|(_, id)| id)
        })?;
        Some(
            self.services
                .get_mut(id)?
                .heard_line(stderr, line, self.wall.unix_ms),
        )
    }

    /// `start_order` from `listed`, by the config's `after` graph, and the index.
    fn order_services(&mut self) {
        let cfgs: Vec<&config::Service> = self
            .listed
            .iter()
            .filter_map(|id| self.services.get(id))
            .map(|s| &s.cfg)
            .collect();
        let order = config::start_order(&cfgs);
        self.start_order = order
            .into_iter()
            .filter_map(|k| self.listed.get(k).copied())
            .collect();
        self.index = ServiceIndex::build(&self.services, &self.listed);
    }

    /// The live (not retired) service called `name`.
    fn live_named(&self, name: &str) -> Option<ServiceId> {
        self.index.live.get(name).copied()
    }

    fn log(&mut self, level: Level, text: String) {
        out!(self).log(level, text);
    }
}
