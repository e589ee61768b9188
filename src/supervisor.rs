//! The pure core: what upkeep decides, given what happened.
//!
//! Events go in (`handle_event`, `handle_timeout`), actions come out (`poll_action`), and
//! `poll_timeout` names the next deadline. No system calls and no clock reads happen here: the
//! runtime passes `now` in, so every rule is a fast unit test with simulated time.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::config::{Restart, Service, Watch};
use crate::signame;
use crate::watch::{self, ProcInfo};

mod admin;

#[cfg(test)]
pub use admin::Kind;
pub use admin::StatusRow;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell's convention: the exit code, or 128+N for death by signal N.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(n) => 128 + n,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited with status {c}"),
            Exit::Signal(n) => write!(f, "killed by signal {}", signame::name(*n)),
        }
    }
}

/// A process upkeep starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// COMMAND given after `--`.
    Main,
    /// The service with this index in the config.
    Service(usize),
    /// The diagnostic command of that service.
    Diagnose(usize),
    /// The diagnostic command of the watch with this index.
    WatchDiagnose(usize),
    /// The start command of that watch.
    WatchStart(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warn,
    Info,
    Debug,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Spawned {
        proc: Proc,
        pid: i32,
    },
    /// Fork or exec failed; `status` is the shell's code for it (126/127), `reason` the words.
    SpawnFailed {
        proc: Proc,
        status: i32,
        reason: String,
    },
    /// A child was reaped: known or a stranger (an orphan reparented to upkeep).
    Exited {
        pid: i32,
        exit: Exit,
    },
    /// A signal other than CHLD reached upkeep.
    Signal(i32),
    /// The answer to `Action::ProbeGroup`: whether any process is left in the group.
    GroupProbed {
        svc: usize,
        alive: bool,
    },
    /// waitpid reported that upkeep has no children left.
    NoChildren,
    /// The answer to `Action::Scan`: the process table, upkeep itself left out.
    ProcessTable(Vec<ProcInfo>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start `proc`, with `env` added to its environment.
    Spawn {
        proc: Proc,
        env: Vec<(String, String)>,
    },
    /// Send `sig` to `pid`, or to its process group.
    Kill {
        pid: i32,
        sig: i32,
        group: bool,
    },
    /// Is anything left in process group `pgid`? Answer with `Event::GroupProbed`.
    ProbeGroup {
        svc: usize,
        pgid: i32,
    },
    /// Signal every process upkeep may signal (`kill(-1)`): PID 1's last sweep only.
    KillAll(i32),
    /// Read the process table; answer with `Event::ProcessTable`.
    Scan,
    Log(Level, String),
    /// Leave the loop and exit with this status.
    Exit(i32),
}

/// The single-command settings (tini's flags).
#[derive(Debug, Clone, Default)]
pub struct MainOptions {
    /// Display name of COMMAND for log lines.
    pub name: String,
    /// `-g`: signals go to COMMAND's process group.
    pub signal_group: bool,
    /// `-e`: these exit codes of COMMAND count as 0.
    pub success_codes: Vec<i32>,
    /// `-w`: warn when reaping a zombie that is not COMMAND.
    pub warn_on_reap: bool,
    /// Whether debug lines are wanted at all: reaping 10,000 orphans should not format
    /// 10,000 lines nobody reads.
    pub debug: bool,
}

/// Everything the core is told at start.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// COMMAND, if one was given.
    pub main: Option<MainOptions>,
    /// True when a config is supervised: TERM/INT then mean "stop everything in order" and
    /// COMMAND's exit stops the services; without one, upkeep is tini.
    pub supervising: bool,
    pub services: Vec<Service>,
    pub watches: Vec<Watch>,
    /// How often watches without an `interval` of their own are checked.
    pub scan_interval: Duration,
    /// PID 1 only: after the services are down, TERM then KILL whatever else is left.
    pub final_sweep: bool,
    pub debug: bool,
}

/// How long PID 1's last sweep waits between TERM and KILL.
pub const SWEEP_GRACE: Duration = Duration::from_secs(2);

/// A watch's diagnostic is killed after this long, and its start command runs anyway.
pub const WATCH_DIAGNOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest spacing between two start commands of a watch that stays missing.
pub const WATCH_SPACING_MAX: Duration = Duration::from_secs(3600);

/// The spacing rule of services and watches alike: `base` for the first quick death (or
/// miss), doubled for each further one in a row, capped at `max`.
pub fn spacing(base: Duration, max: Duration, in_a_row: u32) -> Duration {
    let doublings = in_a_row.saturating_sub(1).min(31);
    base.checked_mul(1u32 << doublings)
        .unwrap_or(max)
        .min(max.max(base))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MainState {
    Absent,
    NotStarted,
    Starting,
    Running { pid: i32 },
    Ended,
}

/// What follows once a dead service's diagnostic and leftovers are dealt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Restart,
    /// Start again at once, no spacing: a requested restart.
    Start,
    Down,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started yet: waiting for the services it comes `after`.
    Waiting,
    /// Spawn asked for, answer pending.
    Starting,
    Running {
        pid: i32,
        since: Instant,
    },
    /// The pre-restart diagnostic runs (pid None until spawned).
    Diagnosing {
        pid: Option<i32>,
        pgid: i32,
        kill_at: Instant,
    },
    /// What is left of the dead service's process group is being stopped.
    Cleaning {
        pgid: i32,
        signalled: bool,
        kill_at: Option<Instant>,
        then: Then,
    },
    Backoff {
        until: Instant,
    },
    /// Asked to stop: `stop_signal` sent; SIGKILL to the group at `kill_at`.
    Stopping {
        pid: i32,
        since: Instant,
        kill_at: Option<Instant>,
        then: Then,
    },
    /// Stopped for good: exited under its restart policy, or stopped.
    Down,
    /// Gave up after `give_up_after` quick deaths.
    Failed,
}

#[derive(Debug, Clone)]
struct Svc {
    cfg: Service,
    state: State,
    last_start: Option<Instant>,
    quick_deaths: u32,
    restarts: u32,
    last_exit: Option<Exit>,
    /// Stopped on request: stays down until started.
    held: bool,
    /// Removed or replaced by a reload: stops, then is dropped.
    retired: bool,
}

/// What a watch is doing between two scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchPhase {
    Idle,
    Diagnosing { pid: Option<i32>, kill_at: Instant },
    Starting { pid: Option<i32> },
}

#[derive(Debug, Clone)]
struct WatchRun {
    cfg: Watch,
    interval: Duration,
    next_scan: Instant,
    phase: WatchPhase,
    /// Start commands run since it was last seen running.
    starts: u32,
    last_start: Option<Instant>,
    /// What the last scan found; None before the first.
    seen: Option<bool>,
    /// Stopped on request (monit's "unmonitor"): not scanned until started.
    paused: bool,
    /// The wait before the next start was logged: once per start, not once per scan.
    told_waiting: bool,
}

impl WatchRun {
    fn new(cfg: Watch, scan_interval: Duration, now: Instant) -> WatchRun {
        let interval = cfg.interval.unwrap_or(scan_interval);
        WatchRun {
            cfg,
            interval,
            // The first scan comes one interval after start-up.
            next_scan: now + interval,
            phase: WatchPhase::Idle,
            starts: 0,
            last_start: None,
            seen: None,
            paused: false,
            told_waiting: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sweep {
    NotYet,
    Terminating { until: Instant },
    Killing { until: Instant },
}

pub struct Supervisor {
    opts: Options,
    main_opts: MainOptions,
    main: MainState,
    services: Vec<Svc>,
    start_order: Vec<usize>,
    watches: Vec<WatchRun>,
    /// A Scan was asked for and its answer has not come yet.
    scan_pending: bool,
    shutting_down: bool,
    exit_status: i32,
    sweep: Sweep,
    exited: bool,
    actions: VecDeque<Action>,
}

impl Supervisor {
    pub fn new(mut opts: Options, now: Instant) -> Self {
        let main_opts = opts.main.clone().unwrap_or_default();
        let main = if opts.main.is_some() {
            MainState::NotStarted
        } else {
            MainState::Absent
        };
        let start_order = crate::config::start_order(&opts.services);
        // Moved, not copied: with 1,000 services the config is most of upkeep's memory.
        let services = std::mem::take(&mut opts.services)
            .into_iter()
            .map(Svc::new)
            .collect();
        let scan_interval = opts.scan_interval;
        let watches = std::mem::take(&mut opts.watches)
            .into_iter()
            .map(|cfg| WatchRun::new(cfg, scan_interval, now))
            .collect();
        let mut sup = Supervisor {
            watches,
            scan_pending: false,
            opts,
            main_opts,
            main,
            services,
            start_order,
            shutting_down: false,
            exit_status: 0,
            sweep: Sweep::NotYet,
            exited: false,
            actions: VecDeque::new(),
        };
        sup.start_ready();
        sup.check_done(now);
        sup
    }

    pub fn handle_event(&mut self, now: Instant, event: Event) {
        if self.exited {
            return;
        }
        match event {
            Event::Spawned { proc, pid } => self.spawned(now, proc, pid),
            Event::SpawnFailed {
                proc,
                status,
                reason,
            } => self.spawn_failed(now, proc, status, reason),
            Event::Exited { pid, exit } => self.exited(now, pid, exit),
            Event::Signal(sig) => self.signal(now, sig),
            Event::GroupProbed { svc, alive } => self.group_probed(now, svc, alive),
            Event::NoChildren => {
                if matches!(
                    self.sweep,
                    Sweep::Terminating { .. } | Sweep::Killing { .. }
                ) {
                    self.finish();
                }
            }
            Event::ProcessTable(procs) => self.process_table(now, &procs),
        }
        self.start_ready();
        self.check_done(now);
    }

    /// Expires deadlines; extra calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.exited {
            return;
        }
        for i in 0..self.services.len() {
            let Some(state) = self.services.get(i).map(|s| s.state) else {
                continue;
            };
            match state {
                State::Backoff { until } if until <= now => self.spawn_service(i),
                State::Diagnosing { pid, pgid, kill_at } if kill_at <= now => {
                    let timeout = self
                        .svc(i)
                        .map(|s| s.cfg.diagnose_timeout)
                        .unwrap_or_default();
                    if let Some(pid) = pid {
                        self.kill(pid, libc::SIGKILL, true);
                    }
                    self.log(
                        Level::Info,
                        format!(
                            "{} diagnose still running after {}; killed it",
                            self.name(i),
                            fmt_duration(timeout)
                        ),
                    );
                    self.start_cleaning(now, i, pgid, Then::Restart);
                }
                State::Cleaning {
                    pgid,
                    kill_at: Some(at),
                    then,
                    ..
                } if at <= now => {
                    self.log(
                        Level::Info,
                        format!(
                            "{}: leftover processes did not stop; killing its process group",
                            self.name(i)
                        ),
                    );
                    self.kill(pgid, libc::SIGKILL, true);
                    // SIGKILL cannot be caught: carry on without waiting for the reaping.
                    self.after_cleaning(now, i, then);
                }
                State::Stopping {
                    pid,
                    since,
                    kill_at: Some(at),
                    then,
                } if at <= now => {
                    let timeout = self.svc(i).map(|s| s.cfg.stop_timeout).unwrap_or_default();
                    self.log(
                        Level::Info,
                        format!(
                            "{} did not stop within {}; killing its process group",
                            self.name(i),
                            fmt_duration(timeout)
                        ),
                    );
                    self.kill_service(i, pid, since, then);
                }
                _ => {}
            }
        }
        for w in 0..self.watches.len() {
            if let Some(WatchPhase::Diagnosing { pid, kill_at }) = self.watch_phase(w)
                && kill_at <= now
            {
                if let Some(pid) = pid {
                    self.kill(pid, libc::SIGKILL, true);
                }
                let name = self.watch_name(w);
                self.log(
                    Level::Info,
                    format!(
                        "{name} diagnose still running after {}; killed it",
                        fmt_duration(WATCH_DIAGNOSE_TIMEOUT)
                    ),
                );
                self.spawn_watch(w, Proc::WatchStart(w));
            }
        }
        if !self.shutting_down
            && !self.scan_pending
            && self.watches.iter().any(|w| w.next_scan <= now && !w.paused)
        {
            self.scan_pending = true;
            self.actions.push_back(Action::Scan);
        }
        match self.sweep {
            Sweep::Terminating { until } if until <= now => {
                self.actions.push_back(Action::KillAll(libc::SIGKILL));
                self.sweep = Sweep::Killing {
                    until: now + SWEEP_GRACE,
                };
            }
            Sweep::Killing { until } if until <= now => self.finish(),
            _ => {}
        }
        self.start_ready();
        self.check_done(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.exited {
            return None;
        }
        let services = self.services.iter().filter_map(|s| match s.state {
            State::Backoff { until } => Some(until),
            State::Diagnosing { kill_at, .. } => Some(kill_at),
            State::Cleaning { kill_at, .. } => kill_at,
            State::Stopping { kill_at, .. } => kill_at,
            _ => None,
        });
        let sweep = match self.sweep {
            Sweep::Terminating { until } | Sweep::Killing { until } => Some(until),
            Sweep::NotYet => None,
        };
        let scans_wanted = !self.shutting_down && !self.scan_pending;
        let watches = self.watches.iter().flat_map(|w| {
            let diag = match w.phase {
                WatchPhase::Diagnosing { kill_at, .. } => Some(kill_at),
                _ => None,
            };
            (scans_wanted && !w.paused)
                .then_some(w.next_scan)
                .into_iter()
                .chain(diag)
        });
        services.chain(sweep).chain(watches).min()
    }

    // ---- events ----

    fn spawned(&mut self, now: Instant, proc: Proc, pid: i32) {
        match proc {
            Proc::Main => {
                self.log(
                    Level::Debug,
                    format!("{} started, pid {pid}", self.main_opts.name),
                );
                self.main = MainState::Running { pid };
            }
            Proc::Service(i) => {
                if self.svc(i).map(|s| s.state) != Some(State::Starting) {
                    return;
                }
                self.log(Level::Info, format!("{} started, pid {pid}", self.name(i)));
                if let Some(s) = self.services.get_mut(i) {
                    s.last_start = Some(now);
                    s.state = State::Running { pid, since: now };
                }
                // Stopped or retired while its start was under way.
                if self.svc(i).is_some_and(|s| s.held || s.retired) {
                    self.stop_running(now, i, pid, now, Then::Down);
                }
            }
            Proc::WatchDiagnose(w) | Proc::WatchStart(w) => {
                let phase = match (proc, self.watch_phase(w)) {
                    (Proc::WatchDiagnose(_), Some(WatchPhase::Diagnosing { kill_at, .. })) => {
                        WatchPhase::Diagnosing {
                            pid: Some(pid),
                            kill_at,
                        }
                    }
                    _ => WatchPhase::Starting { pid: Some(pid) },
                };
                self.set_watch_phase(w, phase);
            }
            Proc::Diagnose(i) => {
                if let Some(State::Diagnosing { pgid, kill_at, .. }) = self.svc(i).map(|s| s.state)
                {
                    self.set_state(
                        i,
                        State::Diagnosing {
                            pid: Some(pid),
                            pgid,
                            kill_at,
                        },
                    );
                    if self.shutting_down {
                        self.kill(pid, libc::SIGKILL, true);
                    }
                }
            }
        }
    }

    fn spawn_failed(&mut self, now: Instant, proc: Proc, status: i32, reason: String) {
        match proc {
            Proc::Main => {
                self.log(Level::Warn, format!("{}: {reason}", self.main_opts.name));
                self.main = MainState::Ended;
                self.exit_status = status;
                self.begin_shutdown(now, None);
            }
            Proc::Service(i) => {
                if self.svc(i).map(|s| s.state) != Some(State::Starting) {
                    return;
                }
                // A start that fails counts as a quick death: same spacing, same give-up.
                let cmd = self
                    .svc(i)
                    .and_then(|s| s.cfg.command.first().cloned())
                    .unwrap_or_default();
                if let Some(s) = self.services.get_mut(i) {
                    s.last_start = Some(now);
                    s.quick_deaths += 1;
                    s.last_exit = Some(Exit::Code(status));
                }
                let then = self.decide(i, Exit::Code(status));
                let what = format!("{}: cannot start {cmd}: {reason}", self.name(i));
                self.log_end(now, i, what, then);
                self.after_cleaning(now, i, then);
            }
            Proc::WatchDiagnose(w) => {
                let name = self.watch_name(w);
                self.log(
                    Level::Warn,
                    format!("{name} diagnose: cannot run: {reason}"),
                );
                self.spawn_watch(w, Proc::WatchStart(w));
            }
            Proc::WatchStart(w) => {
                let name = self.watch_name(w);
                self.log(
                    Level::Warn,
                    format!("{name} start command cannot run: {reason}"),
                );
                self.set_watch_phase(w, WatchPhase::Idle);
            }
            Proc::Diagnose(i) => {
                self.log(
                    Level::Warn,
                    format!("{} diagnose: cannot run: {reason}", self.name(i)),
                );
                if let Some(State::Diagnosing { pgid, .. }) = self.svc(i).map(|s| s.state) {
                    self.start_cleaning(now, i, pgid, Then::Restart);
                }
            }
        }
    }

    fn exited(&mut self, now: Instant, pid: i32, exit: Exit) {
        if self.main == (MainState::Running { pid }) {
            self.main = MainState::Ended;
            let status = match exit.status() {
                s if self.main_opts.success_codes.contains(&s) => 0,
                // Exit statuses are 8 bits (128+N stays below 256 for real signals).
                s => s & 0xff,
            };
            self.exit_status = status;
            let level = if self.opts.supervising {
                Level::Info
            } else {
                Level::Debug
            };
            self.log(level, format!("{} (pid {pid}) {exit}", self.main_opts.name));
            self.begin_shutdown(now, None);
            return;
        }
        for i in 0..self.services.len() {
            match self.svc(i).map(|s| s.state) {
                Some(State::Running { pid: p, since }) if p == pid => {
                    return self.service_died(now, i, pid, since, exit);
                }
                Some(State::Stopping {
                    pid: p,
                    since,
                    kill_at,
                    then,
                }) if p == pid => {
                    let uptime = now.saturating_duration_since(since);
                    self.log(
                        Level::Info,
                        format!(
                            "{} stopped: {exit} after {}",
                            self.name(i),
                            fmt_duration(uptime)
                        ),
                    );
                    if let Some(s) = self.services.get_mut(i) {
                        s.last_exit = Some(exit);
                    }
                    // The stop signal went to the whole group already.
                    self.set_state(
                        i,
                        State::Cleaning {
                            pgid: pid,
                            signalled: true,
                            kill_at,
                            then,
                        },
                    );
                    self.probe(i, pid);
                    return;
                }
                Some(State::Diagnosing {
                    pid: Some(p), pgid, ..
                }) if p == pid => {
                    if exit != Exit::Code(0) {
                        self.log(Level::Info, format!("{} diagnose {exit}", self.name(i)));
                    }
                    let then = if self.shutting_down {
                        Then::Down
                    } else {
                        Then::Restart
                    };
                    return self.start_cleaning(now, i, pgid, then);
                }
                _ => {}
            }
        }
        for w in 0..self.watches.len() {
            match self.watch_phase(w) {
                Some(WatchPhase::Diagnosing { pid: Some(p), .. }) if p == pid => {
                    if exit != Exit::Code(0) {
                        let name = self.watch_name(w);
                        self.log(Level::Info, format!("{name} diagnose {exit}"));
                    }
                    self.spawn_watch(w, Proc::WatchStart(w));
                    return;
                }
                Some(WatchPhase::Starting { pid: Some(p) }) if p == pid => {
                    let name = self.watch_name(w);
                    if exit == Exit::Code(0) {
                        self.log(Level::Debug, format!("{name} start command done"));
                    } else {
                        self.log(Level::Warn, format!("{name} start command {exit}"));
                    }
                    self.set_watch_phase(w, WatchPhase::Idle);
                    return;
                }
                _ => {}
            }
        }
        // A stranger: an orphan reparented to upkeep, or a leftover of a service's group.
        let level = if self.main_opts.warn_on_reap {
            Level::Warn
        } else {
            Level::Debug
        };
        if level == Level::Warn || self.opts.debug || self.main_opts.debug {
            self.log(level, format!("reaped zombie pid {pid} ({exit})"));
        }
        for i in 0..self.services.len() {
            if let Some(State::Cleaning { pgid, .. }) = self.svc(i).map(|s| s.state) {
                self.probe(i, pgid);
            }
        }
    }

    fn service_died(&mut self, now: Instant, i: usize, pid: i32, since: Instant, exit: Exit) {
        let uptime = now.saturating_duration_since(since);
        let Some(s) = self.services.get_mut(i) else {
            return;
        };
        s.last_exit = Some(exit);
        if uptime >= s.cfg.stable_after {
            s.quick_deaths = 0;
        } else {
            s.quick_deaths += 1;
        }
        let then = self.decide(i, exit);
        let what = format!("{} {exit} after {}", self.name(i), fmt_duration(uptime));
        self.log_end(now, i, what, then);
        let diagnose = self.svc(i).and_then(|s| s.cfg.diagnose.clone());
        if then == Then::Restart && diagnose.is_some() {
            let timeout = self
                .svc(i)
                .map(|s| s.cfg.diagnose_timeout)
                .unwrap_or_default();
            let restarts = self.svc(i).map_or(0, |s| s.restarts);
            let mut env = vec![
                ("UPKEEP_SERVICE".to_string(), self.name(i)),
                ("UPKEEP_PID".to_string(), pid.to_string()),
                (
                    "UPKEEP_UPTIME_MS".to_string(),
                    uptime.as_millis().to_string(),
                ),
                ("UPKEEP_RESTARTS".to_string(), restarts.to_string()),
            ];
            env.push(match exit {
                Exit::Code(c) => ("UPKEEP_EXIT_CODE".to_string(), c.to_string()),
                Exit::Signal(n) => ("UPKEEP_EXIT_SIGNAL".to_string(), signame::name(n)),
            });
            self.set_state(
                i,
                State::Diagnosing {
                    pid: None,
                    pgid: pid,
                    kill_at: now + timeout,
                },
            );
            self.actions.push_back(Action::Spawn {
                proc: Proc::Diagnose(i),
                env,
            });
        } else {
            self.start_cleaning(now, i, pid, then);
        }
    }

    /// What a death leads to, by policy; counts the restart when there is one.
    fn decide(&mut self, i: usize, exit: Exit) -> Then {
        let shutting_down = self.shutting_down;
        let Some(s) = self.services.get_mut(i) else {
            return Then::Down;
        };
        if shutting_down {
            return Then::Down;
        }
        let wanted = match s.cfg.restart {
            Restart::Always => true,
            Restart::OnFailure => exit != Exit::Code(0),
            Restart::Never => false,
        };
        if !wanted {
            return Then::Down;
        }
        if s.cfg.give_up_after > 0 && s.quick_deaths >= s.cfg.give_up_after {
            return Then::Fail;
        }
        s.restarts += 1;
        Then::Restart
    }

    /// The one line that says how a run ended and what comes next.
    fn log_end(&mut self, now: Instant, i: usize, what: String, then: Then) {
        let Some(s) = self.svc(i) else {
            return;
        };
        let next = match then {
            Then::Restart => format!(
                "restarting in {} (restart {})",
                fmt_duration(self.next_start(i, now).saturating_duration_since(now)),
                s.restarts
            ),
            Then::Start => "restarting it (request)".to_string(),
            Then::Down if self.shutting_down => "not restarting: shutting down".to_string(),
            Then::Down => format!(
                "not restarting (restart = {})",
                match s.cfg.restart {
                    Restart::Always => "always",
                    Restart::OnFailure => "on-failure",
                    Restart::Never => "never",
                }
            ),
            Then::Fail => format!(
                "giving up after {} quick deaths in a row; state failed",
                s.quick_deaths
            ),
        };
        let level = if then == Then::Fail {
            Level::Warn
        } else {
            Level::Info
        };
        self.log(level, format!("{what}; {next}"));
    }

    fn group_probed(&mut self, now: Instant, i: usize, alive: bool) {
        let Some(State::Cleaning {
            pgid,
            signalled,
            kill_at,
            then,
        }) = self.svc(i).map(|s| s.state)
        else {
            return;
        };
        if !alive {
            return self.after_cleaning(now, i, then);
        }
        if !signalled {
            let (sig, timeout) = self.stop_policy(i);
            self.log(
                Level::Info,
                format!(
                    "{}: leftover processes in its group; sending {}",
                    self.name(i),
                    signame::name(sig)
                ),
            );
            self.kill(pgid, sig, true);
            self.set_state(
                i,
                State::Cleaning {
                    pgid,
                    signalled: true,
                    kill_at: kill_at.or(Some(now + timeout)),
                    then,
                },
            );
        }
    }

    fn signal(&mut self, now: Instant, sig: i32) {
        let stop = sig == libc::SIGTERM || sig == libc::SIGINT;
        if self.opts.supervising && stop {
            if self.shutting_down {
                self.log(
                    Level::Info,
                    format!("second {}: killing everything now", signame::name(sig)),
                );
                self.kill_everything();
            } else {
                self.log(
                    Level::Info,
                    format!("{}: stopping everything", signame::name(sig)),
                );
                self.begin_shutdown(now, Some(sig));
            }
            return;
        }
        match self.main {
            MainState::Running { pid } => self.actions.push_back(Action::Kill {
                pid,
                sig,
                group: self.main_opts.signal_group,
            }),
            _ => self.log(
                Level::Debug,
                format!(
                    "signal {} with no command to forward it to",
                    signame::name(sig)
                ),
            ),
        }
    }

    // ---- transitions ----

    fn start_cleaning(&mut self, now: Instant, i: usize, pgid: i32, then: Then) {
        self.set_state(
            i,
            State::Cleaning {
                pgid,
                signalled: false,
                kill_at: None,
                then,
            },
        );
        self.probe(i, pgid);
        let _ = now;
    }

    fn after_cleaning(&mut self, now: Instant, i: usize, then: Then) {
        let kept_down = self.svc(i).is_some_and(|s| s.held || s.retired);
        let then = match then {
            Then::Restart | Then::Start if self.shutting_down || kept_down => Then::Down,
            then => then,
        };
        match then {
            Then::Start => self.spawn_service(i),
            Then::Restart => {
                let next = self.next_start(i, now);
                if next <= now {
                    self.spawn_service(i);
                } else {
                    self.set_state(i, State::Backoff { until: next });
                }
            }
            Then::Down => self.stopped_for_good(now, i, State::Down),
            Then::Fail => self.stopped_for_good(now, i, State::Failed),
        }
    }

    fn stopped_for_good(&mut self, now: Instant, i: usize, state: State) {
        self.set_state(i, state);
        let Some(s) = self.svc(i) else {
            return;
        };
        if s.cfg.critical && !self.shutting_down && !s.held && !s.retired {
            let status = s.last_exit.map_or(0, Exit::status) & 0xff;
            self.log(
                Level::Warn,
                format!(
                    "{} is critical and stopped for good; stopping everything (exit status {status})",
                    self.name(i)
                ),
            );
            if self.main == MainState::Absent {
                self.exit_status = status;
            }
            self.begin_shutdown(now, None);
        }
    }

    /// When the next start may come: `restart_delay` after the previous start, doubled for
    /// each consecutive quick death beyond the first, capped at `restart_delay_max`.
    fn next_start(&self, i: usize, now: Instant) -> Instant {
        let Some(s) = self.svc(i) else {
            return now;
        };
        let gap = spacing(s.cfg.restart_delay, s.cfg.restart_delay_max, s.quick_deaths);
        s.last_start.map_or(now, |t| t + gap)
    }

    fn spawn_service(&mut self, i: usize) {
        self.set_state(i, State::Starting);
        self.actions.push_back(Action::Spawn {
            proc: Proc::Service(i),
            env: Vec::new(),
        });
    }

    /// Starts every waiting service whose `after` services have been started, then COMMAND
    /// once no service is waiting.
    fn start_ready(&mut self) {
        if self.shutting_down {
            return;
        }
        for k in 0..self.start_order.len() {
            let Some(&i) = self.start_order.get(k) else {
                continue;
            };
            if self.svc(i).map(|s| s.state) != Some(State::Waiting) {
                continue;
            }
            let ready = self.svc(i).is_some_and(|s| {
                let deps_started = s.cfg.after.iter().all(|dep| {
                    self.services
                        .iter()
                        .find(|d| d.cfg.name == *dep && !d.retired)
                        .is_none_or(|d| d.state != State::Waiting)
                });
                // A changed service starts once the old definition's run is gone.
                let predecessor_gone = self.services.iter().all(|d| {
                    !d.retired
                        || d.cfg.name != s.cfg.name
                        || matches!(d.state, State::Down | State::Failed)
                });
                deps_started && predecessor_gone && !s.retired
            });
            if ready {
                self.spawn_service(i);
            }
        }
        if self.main == MainState::NotStarted
            && self.services.iter().all(|s| s.state != State::Waiting)
        {
            self.main = MainState::Starting;
            self.actions.push_back(Action::Spawn {
                proc: Proc::Main,
                env: Vec::new(),
            });
        }
    }

    fn begin_shutdown(&mut self, now: Instant, sig: Option<i32>) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        if let MainState::Running { pid } = self.main {
            self.kill(
                pid,
                sig.unwrap_or(libc::SIGTERM),
                self.main_opts.signal_group,
            );
        }
        if self.main == MainState::NotStarted {
            self.main = MainState::Ended;
        }
        for i in 0..self.services.len() {
            match self.svc(i).map(|s| s.state) {
                Some(State::Waiting | State::Backoff { .. }) => self.set_state(i, State::Down),
                Some(State::Diagnosing { pid, pgid, .. }) => {
                    if let Some(pid) = pid {
                        self.kill(pid, libc::SIGKILL, true);
                    }
                    self.start_cleaning(now, i, pgid, Then::Down);
                }
                _ => {}
            }
        }
        for w in 0..self.watches.len() {
            if let Some(
                WatchPhase::Diagnosing { pid: Some(pid), .. }
                | WatchPhase::Starting { pid: Some(pid) },
            ) = self.watch_phase(w)
            {
                self.kill(pid, libc::SIGTERM, true);
            }
            self.set_watch_phase(w, WatchPhase::Idle);
        }
        self.stop_ready(now);
    }

    /// In a shutdown, stops each running service once everything started after it is down.
    fn stop_ready(&mut self, now: Instant) {
        if !self.shutting_down {
            return;
        }
        for i in 0..self.services.len() {
            let Some(State::Running { pid, since }) = self.svc(i).map(|s| s.state) else {
                continue;
            };
            let name = self.name(i);
            let dependents_down = self.services.iter().all(|d| {
                !d.cfg.after.contains(&name) || matches!(d.state, State::Down | State::Failed)
            });
            if !dependents_down {
                continue;
            }
            self.stop_running(now, i, pid, since, Then::Down);
        }
    }

    /// Sends a running service its stop signal (to the whole group), SIGKILL at the timeout;
    /// once it is gone, `then`.
    fn stop_running(&mut self, now: Instant, i: usize, pid: i32, since: Instant, then: Then) {
        let (sig, timeout) = self.stop_policy(i);
        self.log(
            Level::Info,
            format!(
                "{} stopping (pid {pid}, {})",
                self.name(i),
                signame::name(sig)
            ),
        );
        self.kill(pid, sig, true);
        self.set_state(
            i,
            State::Stopping {
                pid,
                since,
                kill_at: Some(now + timeout),
                then,
            },
        );
    }

    /// SIGKILL to the service's whole group; it stays Stopping until its death is reaped.
    fn kill_service(&mut self, i: usize, pid: i32, since: Instant, then: Then) {
        self.kill(pid, libc::SIGKILL, true);
        self.set_state(
            i,
            State::Stopping {
                pid,
                since,
                kill_at: None,
                then,
            },
        );
    }

    fn kill_everything(&mut self) {
        if let MainState::Running { pid } = self.main {
            self.kill(pid, libc::SIGKILL, true);
        }
        for i in 0..self.services.len() {
            match self.svc(i).map(|s| s.state) {
                Some(State::Running { pid, since } | State::Stopping { pid, since, .. }) => {
                    self.kill_service(i, pid, since, Then::Down);
                }
                Some(State::Cleaning { pgid, .. }) => {
                    self.kill(pgid, libc::SIGKILL, true);
                    self.set_state(i, State::Down);
                }
                _ => {}
            }
        }
    }

    /// Once shutting down and nothing is left: PID 1's sweep, then exit.
    fn check_done(&mut self, now: Instant) {
        if !self.shutting_down || self.exited {
            return;
        }
        self.stop_ready(now);
        let main_done = matches!(self.main, MainState::Absent | MainState::Ended);
        let services_done = self
            .services
            .iter()
            .all(|s| matches!(s.state, State::Down | State::Failed));
        if !(main_done && services_done) {
            return;
        }
        if self.opts.final_sweep && self.sweep == Sweep::NotYet {
            self.actions.push_back(Action::KillAll(libc::SIGTERM));
            self.sweep = Sweep::Terminating {
                until: now + SWEEP_GRACE,
            };
            return;
        }
        if self.sweep == Sweep::NotYet {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if self.exited {
            return;
        }
        self.exited = true;
        if self.opts.supervising {
            self.log(
                Level::Info,
                format!("exiting with status {}", self.exit_status),
            );
        }
        self.actions.push_back(Action::Exit(self.exit_status));
    }

    // ---- watches ----

    /// Every pid upkeep forked and still holds: these never count as a watched daemon.
    fn own_pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        if let MainState::Running { pid } = self.main {
            pids.push(pid);
        }
        for s in &self.services {
            match s.state {
                State::Running { pid, .. } | State::Stopping { pid, .. } => pids.push(pid),
                State::Diagnosing { pid: Some(pid), .. } => pids.push(pid),
                _ => {}
            }
        }
        for w in &self.watches {
            match w.phase {
                WatchPhase::Diagnosing { pid: Some(pid), .. }
                | WatchPhase::Starting { pid: Some(pid) } => pids.push(pid),
                _ => {}
            }
        }
        pids
    }

    /// One scan serves every watch that is due.
    fn process_table(&mut self, now: Instant, procs: &[ProcInfo]) {
        self.scan_pending = false;
        if self.shutting_down {
            return;
        }
        let mut own = self.own_pids();
        own.sort_unstable();
        for w in 0..self.watches.len() {
            let Some(run) = self.watches.get(w) else {
                continue;
            };
            if run.next_scan > now || run.paused {
                continue;
            }
            let running = watch::is_running(&run.cfg.process, procs, |pid| {
                own.binary_search(&pid).is_ok()
            });
            let (name, interval, phase, starts, last_start) = (
                run.cfg.name.clone(),
                run.interval,
                run.phase,
                run.starts,
                run.last_start,
            );
            if let Some(r) = self.watches.get_mut(w) {
                r.next_scan = now + interval;
                r.seen = Some(running);
            }
            if running {
                if starts > 0 {
                    self.log(Level::Info, format!("{name} is running again (watch)"));
                }
                self.set_watch_starts(w, 0, None);
                continue;
            }
            if phase != WatchPhase::Idle {
                self.log(
                    Level::Info,
                    format!(
                        "{name} not running; its start command is still running, not starting another (watch)"
                    ),
                );
                continue;
            }
            // Still missing after our starts: space them like a service's quick deaths.
            let allowed = last_start.map_or(now, |t| {
                t + spacing(interval, WATCH_SPACING_MAX.max(interval), starts)
            });
            if allowed > now {
                if self.watches.get(w).is_some_and(|r| r.told_waiting) {
                    continue;
                }
                if let Some(r) = self.watches.get_mut(w) {
                    r.told_waiting = true;
                }
                self.log(
                    Level::Info,
                    format!(
                        "{name} still not running after {starts} starts; next start in {} (watch)",
                        fmt_duration(allowed.saturating_duration_since(now))
                    ),
                );
                continue;
            }
            let text = if starts == 0 {
                format!("{name} not running; starting it (watch)")
            } else {
                format!("{name} still not running after {starts} starts; starting it again (watch)")
            };
            self.log(Level::Info, text);
            self.set_watch_starts(w, starts + 1, Some(now));
            if let Some(r) = self.watches.get_mut(w) {
                r.told_waiting = false;
            }
            let diagnose = self
                .watches
                .get(w)
                .is_some_and(|r| r.cfg.diagnose.is_some());
            if diagnose {
                self.set_watch_phase(
                    w,
                    WatchPhase::Diagnosing {
                        pid: None,
                        kill_at: now + WATCH_DIAGNOSE_TIMEOUT,
                    },
                );
                self.spawn_watch(w, Proc::WatchDiagnose(w));
            } else {
                self.spawn_watch(w, Proc::WatchStart(w));
            }
        }
    }

    fn spawn_watch(&mut self, w: usize, proc: Proc) {
        let Some(run) = self.watches.get(w) else {
            return;
        };
        let env = vec![
            ("UPKEEP_WATCH".to_string(), run.cfg.name.clone()),
            ("UPKEEP_PROCESS".to_string(), run.cfg.process.clone()),
        ];
        if matches!(proc, Proc::WatchStart(_)) {
            self.set_watch_phase(w, WatchPhase::Starting { pid: None });
        }
        self.actions.push_back(Action::Spawn { proc, env });
    }

    fn watch_phase(&self, w: usize) -> Option<WatchPhase> {
        self.watches.get(w).map(|r| r.phase)
    }

    fn set_watch_phase(&mut self, w: usize, phase: WatchPhase) {
        if let Some(r) = self.watches.get_mut(w) {
            r.phase = phase;
        }
    }

    fn set_watch_starts(&mut self, w: usize, starts: u32, last_start: Option<Instant>) {
        if let Some(r) = self.watches.get_mut(w) {
            r.starts = starts;
            r.last_start = last_start;
        }
    }

    fn watch_name(&self, w: usize) -> String {
        self.watches
            .get(w)
            .map(|r| r.cfg.name.clone())
            .unwrap_or_default()
    }

    // ---- helpers ----

    /// The service's `stop_signal` and `stop_timeout`.
    fn stop_policy(&self, i: usize) -> (i32, Duration) {
        self.svc(i)
            .map(|s| (s.cfg.stop_signal, s.cfg.stop_timeout))
            .unwrap_or((libc::SIGTERM, Duration::ZERO))
    }

    /// The config of service `i`, for the runtime to spawn it.
    pub fn service_config(&self, i: usize) -> Option<&Service> {
        self.services.get(i).map(|s| &s.cfg)
    }

    /// The config of watch `w`.
    pub fn watch_config(&self, w: usize) -> Option<&Watch> {
        self.watches.get(w).map(|r| &r.cfg)
    }

    /// The live (not retired) service called `name`.
    fn service_named(&self, name: &str) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.cfg.name == name && !s.retired)
    }

    fn svc(&self, i: usize) -> Option<&Svc> {
        self.services.get(i)
    }

    fn name(&self, i: usize) -> String {
        self.svc(i).map(|s| s.cfg.name.clone()).unwrap_or_default()
    }

    fn set_state(&mut self, i: usize, state: State) {
        if let Some(s) = self.services.get_mut(i) {
            s.state = state;
        }
    }

    fn probe(&mut self, svc: usize, pgid: i32) {
        self.actions.push_back(Action::ProbeGroup { svc, pgid });
    }

    fn kill(&mut self, pid: i32, sig: i32, group: bool) {
        self.actions.push_back(Action::Kill { pid, sig, group });
    }

    fn log(&mut self, level: Level, text: String) {
        if level == Level::Debug && !(self.opts.debug || self.main_opts.debug) {
            return;
        }
        self.actions.push_back(Action::Log(level, text));
    }
}

/// "0.012s", "3.2s", "2m05s", "1h02m": short and exact enough for a log line.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 3600.0 {
        let m = d.as_secs() / 60;
        format!("{}h{:02}m", m / 60, m % 60)
    } else if secs >= 60.0 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else if secs >= 1.0 || d.is_zero() {
        let text = format!("{secs:.1}");
        format!("{}s", text.trim_end_matches(".0"))
    } else {
        let text = format!("{secs:.3}");
        format!("{}s", text.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(sup: &mut Supervisor) -> Vec<Action> {
        std::iter::from_fn(|| sup.poll_action()).collect()
    }

    fn opts() -> MainOptions {
        MainOptions {
            name: "app".into(),
            debug: true,
            ..Default::default()
        }
    }

    fn single(main: MainOptions) -> Options {
        Options {
            main: Some(main),
            ..Default::default()
        }
    }

    const SPAWN_MAIN: Action = Action::Spawn {
        proc: Proc::Main,
        env: Vec::new(),
    };

    fn started(opts: MainOptions) -> (Supervisor, Instant) {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(single(opts), t0);
        assert_eq!(drain(&mut sup), vec![SPAWN_MAIN]);
        sup.handle_event(
            t0,
            Event::Spawned {
                proc: Proc::Main,
                pid: 10,
            },
        );
        drain(&mut sup);
        (sup, t0)
    }

    fn exit_of(actions: &[Action]) -> Option<i32> {
        actions.iter().find_map(|a| match a {
            Action::Exit(c) => Some(*c),
            _ => None,
        })
    }

    #[test]
    fn exits_with_the_commands_code_or_128_plus_signal() {
        for (exit, want) in [
            (Exit::Code(0), 0),
            (Exit::Code(42), 42),
            (Exit::Code(255), 255),
            (Exit::Signal(15), 143),
            (Exit::Signal(9), 137),
        ] {
            let (mut sup, t0) = started(opts());
            sup.handle_event(t0, Event::Exited { pid: 10, exit });
            assert_eq!(exit_of(&drain(&mut sup)), Some(want), "{exit:?}");
        }
    }

    #[test]
    fn success_codes_map_to_zero() {
        let (mut sup, t0) = started(MainOptions {
            success_codes: vec![143, 3],
            ..opts()
        });
        sup.handle_event(
            t0,
            Event::Exited {
                pid: 10,
                exit: Exit::Signal(15),
            },
        );
        assert_eq!(exit_of(&drain(&mut sup)), Some(0));
    }

    #[test]
    fn strangers_are_reaped_without_exiting() {
        let (mut sup, t0) = started(opts());
        sup.handle_event(
            t0,
            Event::Exited {
                pid: 99,
                exit: Exit::Code(0),
            },
        );
        let actions = drain(&mut sup);
        assert_eq!(exit_of(&actions), None);
        assert!(matches!(&actions[..], [Action::Log(Level::Debug, _)]));
    }

    #[test]
    fn without_debug_strangers_are_reaped_silently() {
        let (mut sup, t0) = started(MainOptions {
            debug: false,
            ..opts()
        });
        sup.handle_event(
            t0,
            Event::Exited {
                pid: 99,
                exit: Exit::Code(0),
            },
        );
        assert_eq!(drain(&mut sup), vec![]);
    }

    #[test]
    fn warn_on_reap_raises_the_level() {
        let (mut sup, t0) = started(MainOptions {
            warn_on_reap: true,
            ..opts()
        });
        sup.handle_event(
            t0,
            Event::Exited {
                pid: 99,
                exit: Exit::Code(0),
            },
        );
        assert!(matches!(&drain(&mut sup)[..], [Action::Log(Level::Warn, t)] if t.contains("99")));
    }

    #[test]
    fn signals_are_forwarded_to_the_command_or_its_group() {
        let (mut sup, t0) = started(opts());
        sup.handle_event(t0, Event::Signal(10));
        assert_eq!(
            drain(&mut sup),
            vec![Action::Kill {
                pid: 10,
                sig: 10,
                group: false
            }]
        );
        let (mut sup, t0) = started(MainOptions {
            signal_group: true,
            ..opts()
        });
        sup.handle_event(t0, Event::Signal(15));
        assert_eq!(
            drain(&mut sup),
            vec![Action::Kill {
                pid: 10,
                sig: 15,
                group: true
            }]
        );
    }

    #[test]
    fn spawn_failure_exits_with_its_status() {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(single(opts()), t0);
        drain(&mut sup);
        sup.handle_event(
            t0,
            Event::SpawnFailed {
                proc: Proc::Main,
                status: 127,
                reason: "not found".into(),
            },
        );
        let actions = drain(&mut sup);
        assert_eq!(exit_of(&actions), Some(127));
        assert!(actions.contains(&Action::Log(Level::Warn, "app: not found".into())));
    }

    // ---- services ----

    fn svc(name: &str) -> Service {
        crate::config::parse(
            std::path::Path::new("t"),
            &format!("[service.{name}]\ncommand = [\"x\"]\n"),
            &crate::accounts::Accounts::default(),
        )
        .unwrap()
        .services
        .remove(0)
    }

    struct Sim {
        sup: Supervisor,
        now: Instant,
        next_pid: i32,
        log: Vec<String>,
    }

    impl Sim {
        fn new(services: Vec<Service>) -> Sim {
            let now = Instant::now();
            let sup = Supervisor::new(
                Options {
                    supervising: true,
                    services,
                    ..Default::default()
                },
                now,
            );
            let mut sim = Sim {
                sup,
                now,
                next_pid: 100,
                log: Vec::new(),
            };
            sim.run();
            sim
        }

        /// Carries out actions as the runtime would: spawns succeed, groups are empty.
        fn run(&mut self) -> Vec<Action> {
            let mut done = Vec::new();
            while let Some(a) = self.sup.poll_action() {
                match &a {
                    Action::Spawn { proc, .. } => {
                        self.next_pid += 1;
                        let ev = Event::Spawned {
                            proc: *proc,
                            pid: self.next_pid,
                        };
                        self.sup.handle_event(self.now, ev);
                    }
                    Action::ProbeGroup { svc, .. } => {
                        let ev = Event::GroupProbed {
                            svc: *svc,
                            alive: false,
                        };
                        self.sup.handle_event(self.now, ev)
                    }
                    Action::Log(_, t) => self.log.push(t.clone()),
                    _ => {}
                }
                done.push(a);
            }
            done
        }

        fn pid_of(&self, i: usize) -> i32 {
            match self.sup.services[i].state {
                State::Running { pid, .. } | State::Stopping { pid, .. } => pid,
                other => panic!("not running: {other:?}"),
            }
        }

        fn advance(&mut self, d: Duration) -> Vec<Action> {
            self.now += d;
            self.sup.handle_timeout(self.now);
            self.run()
        }

        fn kill(&mut self, i: usize, exit: Exit) -> Vec<Action> {
            let pid = self.pid_of(i);
            self.sup.handle_event(self.now, Event::Exited { pid, exit });
            self.run()
        }

        /// Jumps to each next deadline until service `i` runs again; returns the wait.
        fn until_running(&mut self, i: usize) -> Duration {
            let t0 = self.now;
            for _ in 0..100 {
                if matches!(self.sup.services[i].state, State::Running { .. }) {
                    return self.now - t0;
                }
                let next = self.sup.poll_timeout().expect("a deadline");
                assert!(next >= self.now, "deadline in the past");
                self.now = next;
                self.sup.handle_timeout(self.now);
                self.run();
                // No busy loop: after a timeout, the next deadline is later than now.
                if let Some(t) = self.sup.poll_timeout() {
                    assert!(t > self.now, "poll_timeout not after now");
                }
            }
            panic!("never restarted");
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn crash_loop_spacing_doubles_and_resets_after_a_stable_run() {
        let mut sim = Sim::new(vec![svc("web")]);
        let mut starts = vec![Duration::ZERO];
        let t0 = sim.now;
        for _ in 0..5 {
            sim.kill(0, Exit::Code(1));
            sim.until_running(0);
            starts.push(sim.now - t0);
        }
        let want = [0, 100, 300, 700, 1500, 3100].map(ms);
        assert_eq!(starts, want);
        // A run longer than stable_after resets the spacing: back at once.
        sim.advance(Duration::from_secs(11));
        sim.kill(0, Exit::Signal(9));
        assert_eq!(sim.until_running(0), Duration::ZERO);
        assert!(
            sim.log
                .iter()
                .any(|l| l
                    .contains("web killed by signal KILL after 11s; restarting in 0s (restart 6)")),
            "{:#?}",
            sim.log
        );
    }

    #[test]
    fn spacing_is_capped() {
        let mut s = svc("web");
        s.restart_delay_max = ms(250);
        let mut sim = Sim::new(vec![s]);
        for _ in 0..4 {
            sim.kill(0, Exit::Code(1));
            sim.until_running(0);
        }
        sim.kill(0, Exit::Code(1));
        assert_eq!(sim.until_running(0), ms(250));
    }

    #[test]
    fn gives_up_after_n_quick_deaths() {
        let mut s = svc("web");
        s.give_up_after = 2;
        let mut sim = Sim::new(vec![s]);
        sim.kill(0, Exit::Code(1));
        sim.until_running(0);
        sim.kill(0, Exit::Code(1));
        assert_eq!(sim.sup.services[0].state, State::Failed);
        assert_eq!(sim.sup.poll_timeout(), None);
        assert!(
            sim.log
                .last()
                .unwrap()
                .contains("giving up after 2 quick deaths")
        );
    }

    #[test]
    fn restart_policies() {
        let mut never = svc("a");
        never.restart = Restart::Never;
        let mut on_failure = svc("b");
        on_failure.restart = Restart::OnFailure;
        let mut sim = Sim::new(vec![never, on_failure]);
        sim.kill(0, Exit::Code(1));
        assert_eq!(sim.sup.services[0].state, State::Down);
        sim.kill(1, Exit::Code(0));
        assert_eq!(sim.sup.services[1].state, State::Down);
        let mut on_failure = svc("b");
        on_failure.restart = Restart::OnFailure;
        let mut sim = Sim::new(vec![on_failure]);
        sim.kill(0, Exit::Signal(15));
        sim.until_running(0);
    }

    #[test]
    fn diagnose_runs_first_with_its_environment_then_the_restart() {
        let mut s = svc("web");
        s.diagnose = Some("ps".into());
        let mut sim = Sim::new(vec![s]);
        let pid = sim.pid_of(0);
        sim.now += ms(1500);
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid,
                exit: Exit::Signal(9),
            },
        );
        let a = sim.sup.poll_action(); // the death line
        assert!(matches!(a, Some(Action::Log(..))));
        let Some(Action::Spawn {
            proc: Proc::Diagnose(0),
            env,
        }) = sim.sup.poll_action()
        else {
            panic!("no diagnose");
        };
        for (k, v) in [
            ("UPKEEP_SERVICE", "web"),
            ("UPKEEP_PID", &pid.to_string()[..]),
            ("UPKEEP_EXIT_SIGNAL", "KILL"),
            ("UPKEEP_UPTIME_MS", "1500"),
            ("UPKEEP_RESTARTS", "1"),
        ] {
            assert!(
                env.contains(&(k.to_string(), v.to_string())),
                "{k} in {env:?}"
            );
        }
        sim.sup.handle_event(
            sim.now,
            Event::Spawned {
                proc: Proc::Diagnose(0),
                pid: 555,
            },
        );
        sim.run();
        assert!(matches!(
            sim.sup.services[0].state,
            State::Diagnosing { .. }
        ));
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: 555,
                exit: Exit::Code(0),
            },
        );
        sim.run();
        assert!(matches!(sim.sup.services[0].state, State::Running { .. }));
    }

    #[test]
    fn diagnose_overrun_is_killed_and_the_restart_goes_on() {
        let mut s = svc("web");
        s.diagnose = Some("sleep 100".into());
        s.diagnose_timeout = ms(500);
        let mut sim = Sim::new(vec![s]);
        sim.kill(0, Exit::Code(1));
        let State::Diagnosing {
            pid: Some(diag), ..
        } = sim.sup.services[0].state
        else {
            panic!("{:?}", sim.sup.services[0].state);
        };
        let acts = sim.advance(ms(500));
        assert!(acts.contains(&Action::Kill {
            pid: diag,
            sig: libc::SIGKILL,
            group: true
        }));
        assert!(matches!(sim.sup.services[0].state, State::Running { .. }));
    }

    #[test]
    fn leftovers_get_the_stop_signal_then_sigkill() {
        let mut s = svc("web");
        s.stop_timeout = ms(300);
        let mut sim = Sim::new(vec![s]);
        let pid = sim.pid_of(0);
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid,
                exit: Exit::Signal(9),
            },
        );
        let acts: Vec<Action> = std::iter::from_fn(|| sim.sup.poll_action()).collect();
        assert!(acts.contains(&Action::ProbeGroup { svc: 0, pgid: pid }));
        sim.sup.handle_event(
            sim.now,
            Event::GroupProbed {
                svc: 0,
                alive: true,
            },
        );
        let acts = sim.run();
        assert!(acts.contains(&Action::Kill {
            pid,
            sig: libc::SIGTERM,
            group: true
        }));
        assert!(
            matches!(sim.sup.services[0].state, State::Cleaning { .. }),
            "no restart while leftovers live"
        );
        let acts = sim.advance(ms(300));
        assert!(acts.contains(&Action::Kill {
            pid,
            sig: libc::SIGKILL,
            group: true
        }));
        assert!(matches!(sim.sup.services[0].state, State::Running { .. }));
    }

    #[test]
    fn spawn_failure_is_a_quick_death() {
        let mut sim = Sim::new(vec![svc("web")]);
        sim.kill(0, Exit::Code(1));
        sim.now += ms(100);
        sim.sup.handle_timeout(sim.now);
        assert!(matches!(
            sim.sup.poll_action(),
            Some(Action::Spawn {
                proc: Proc::Service(0),
                ..
            })
        ));
        sim.sup.handle_event(
            sim.now,
            Event::SpawnFailed {
                proc: Proc::Service(0),
                status: 127,
                reason: "not found".into(),
            },
        );
        sim.run();
        assert_eq!(
            sim.sup.services[0].state,
            State::Backoff {
                until: sim.now + ms(200)
            }
        );
        assert!(
            sim.log
                .iter()
                .any(|l| l.contains("web: cannot start x: not found; restarting in 0.2s")),
            "{:#?}",
            sim.log
        );
    }

    #[test]
    fn stop_during_backoff_and_stop_wins_over_a_death() {
        let mut sim = Sim::new(vec![svc("a"), svc("b")]);
        sim.kill(0, Exit::Code(1));
        let pid_b = sim.pid_of(1);
        // One wake-up: TERM first, then b's death. Nothing restarts.
        sim.sup.handle_event(sim.now, Event::Signal(libc::SIGTERM));
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: pid_b,
                exit: Exit::Signal(15),
            },
        );
        let acts = sim.run();
        assert!(
            !acts.iter().any(|a| matches!(a, Action::Spawn { .. })),
            "{acts:?}"
        );
        assert_eq!(acts.last(), Some(&Action::Exit(0)));
    }

    #[test]
    fn shutdown_in_reverse_after_order_with_sigkill_for_the_stubborn() {
        let db = svc("db");
        let mut web = svc("web");
        web.after = vec!["db".into()];
        web.stop_timeout = ms(1000);
        let mut sim = Sim::new(vec![db, web]);
        let (db_pid, web_pid) = (sim.pid_of(0), sim.pid_of(1));
        sim.sup.handle_event(sim.now, Event::Signal(libc::SIGTERM));
        let acts = sim.run();
        let kills: Vec<i32> = acts
            .iter()
            .filter_map(|a| match a {
                Action::Kill { pid, .. } => Some(*pid),
                _ => None,
            })
            .collect();
        assert_eq!(kills, vec![web_pid], "db must wait for web");
        let acts = sim.advance(ms(1000));
        assert!(acts.contains(&Action::Kill {
            pid: web_pid,
            sig: libc::SIGKILL,
            group: true
        }));
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: web_pid,
                exit: Exit::Signal(9),
            },
        );
        let acts = sim.run();
        assert!(acts.contains(&Action::Kill {
            pid: db_pid,
            sig: libc::SIGTERM,
            group: true
        }));
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: db_pid,
                exit: Exit::Signal(15),
            },
        );
        assert_eq!(sim.run().last(), Some(&Action::Exit(0)));
    }

    #[test]
    fn second_term_kills_at_once() {
        let mut sim = Sim::new(vec![svc("a")]);
        let pid = sim.pid_of(0);
        sim.sup.handle_event(sim.now, Event::Signal(libc::SIGTERM));
        sim.run();
        sim.sup.handle_event(sim.now, Event::Signal(libc::SIGINT));
        assert!(sim.run().contains(&Action::Kill {
            pid,
            sig: libc::SIGKILL,
            group: true
        }));
    }

    #[test]
    fn critical_service_stopping_for_good_ends_upkeep_with_its_code() {
        let mut crit = svc("crit");
        crit.critical = true;
        crit.restart = Restart::Never;
        let mut sim = Sim::new(vec![crit, svc("other")]);
        let other = sim.pid_of(1);
        let acts = sim.kill(0, Exit::Code(7));
        assert!(acts.contains(&Action::Kill {
            pid: other,
            sig: libc::SIGTERM,
            group: true
        }));
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: other,
                exit: Exit::Signal(15),
            },
        );
        assert_eq!(sim.run().last(), Some(&Action::Exit(7)));
    }

    #[test]
    fn main_command_exit_stops_services_and_sets_the_status() {
        let now = Instant::now();
        let mut sup = Supervisor::new(
            Options {
                main: Some(opts()),
                supervising: true,
                services: vec![svc("db")],
                ..Default::default()
            },
            now,
        );
        let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
        // The services first, then COMMAND (the runtime spawns them in this order).
        assert_eq!(
            acts,
            vec![
                Action::Spawn {
                    proc: Proc::Service(0),
                    env: vec![]
                },
                SPAWN_MAIN
            ]
        );
        sup.handle_event(
            now,
            Event::Spawned {
                proc: Proc::Service(0),
                pid: 5,
            },
        );
        sup.handle_event(
            now,
            Event::Spawned {
                proc: Proc::Main,
                pid: 6,
            },
        );
        sup.handle_event(
            now,
            Event::Exited {
                pid: 6,
                exit: Exit::Code(3),
            },
        );
        let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
        assert!(acts.contains(&Action::Kill {
            pid: 5,
            sig: libc::SIGTERM,
            group: true
        }));
        sup.handle_event(
            now,
            Event::Exited {
                pid: 5,
                exit: Exit::Signal(15),
            },
        );
        sup.handle_event(
            now,
            Event::GroupProbed {
                svc: 0,
                alive: false,
            },
        );
        let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
        assert_eq!(acts.last(), Some(&Action::Exit(3)));
    }

    #[test]
    fn pid1_sweeps_strays_before_exiting() {
        let now = Instant::now();
        let mut sup = Supervisor::new(
            Options {
                supervising: true,
                final_sweep: true,
                ..Default::default()
            },
            now,
        );
        sup.handle_event(now, Event::Signal(libc::SIGTERM));
        let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
        assert!(acts.contains(&Action::KillAll(libc::SIGTERM)));
        sup.handle_timeout(now + SWEEP_GRACE);
        assert_eq!(sup.poll_action(), Some(Action::KillAll(libc::SIGKILL)));
        sup.handle_event(now + SWEEP_GRACE, Event::NoChildren);
        assert_eq!(
            sup.poll_action().map(|a| matches!(a, Action::Log(..))),
            Some(true)
        );
        assert_eq!(sup.poll_action(), Some(Action::Exit(0)));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(ms(0)), "0s");
        assert_eq!(fmt_duration(ms(100)), "0.1s");
        assert_eq!(fmt_duration(ms(12)), "0.012s");
        assert_eq!(fmt_duration(ms(3200)), "3.2s");
        assert_eq!(fmt_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(fmt_duration(Duration::from_secs(7300)), "2h01m");
    }

    // ---- watches ----

    fn watch_cfg(start: &str, diagnose: Option<&str>) -> Watch {
        Watch {
            name: "apache".into(),
            process: "httpd".into(),
            start: vec!["/bin/sh".into(), "-c".into(), start.into()],
            diagnose: diagnose.map(str::to_string),
            interval: Some(ms(1000)),
        }
    }

    fn proc_named(pid: i32, comm: &str) -> ProcInfo {
        ProcInfo {
            pid,
            ppid: 1,
            comm: comm.into(),
            argv0: None,
            zombie: false,
        }
    }

    fn watcher(w: Watch) -> (Supervisor, Instant) {
        let t0 = Instant::now();
        let sup = Supervisor::new(
            Options {
                supervising: true,
                watches: vec![w],
                scan_interval: Duration::from_secs(30),
                ..Default::default()
            },
            t0,
        );
        (sup, t0)
    }

    fn actions(sup: &mut Supervisor) -> Vec<Action> {
        std::iter::from_fn(|| sup.poll_action()).collect()
    }

    #[test]
    fn first_scan_comes_one_interval_after_start_up_and_serves_all() {
        let (mut sup, t0) = watcher(watch_cfg("x", None));
        assert_eq!(sup.poll_timeout(), Some(t0 + ms(1000)));
        sup.handle_timeout(t0 + ms(999));
        assert_eq!(actions(&mut sup), vec![]);
        sup.handle_timeout(t0 + ms(1000));
        assert_eq!(actions(&mut sup), vec![Action::Scan]);
        // No second Scan while the first is unanswered, and no deadline in the past.
        sup.handle_timeout(t0 + ms(1000));
        assert_eq!(actions(&mut sup), vec![]);
        assert_eq!(sup.poll_timeout(), None);
        sup.handle_event(
            t0 + ms(1000),
            Event::ProcessTable(vec![proc_named(5, "httpd")]),
        );
        assert_eq!(actions(&mut sup), vec![]);
        assert_eq!(sup.poll_timeout(), Some(t0 + ms(2000)));
    }

    #[test]
    fn a_missing_daemon_is_diagnosed_then_started_once_at_a_time() {
        let (mut sup, t0) = watcher(watch_cfg("apachectl start", Some("ps")));
        let t1 = t0 + ms(1000);
        sup.handle_timeout(t1);
        actions(&mut sup);
        sup.handle_event(t1, Event::ProcessTable(vec![proc_named(5, "bash")]));
        let acts = actions(&mut sup);
        assert!(acts.contains(&Action::Log(
            Level::Info,
            "apache not running; starting it (watch)".into()
        )));
        let env = vec![
            ("UPKEEP_WATCH".to_string(), "apache".to_string()),
            ("UPKEEP_PROCESS".to_string(), "httpd".to_string()),
        ];
        assert!(acts.contains(&Action::Spawn {
            proc: Proc::WatchDiagnose(0),
            env: env.clone()
        }));
        sup.handle_event(
            t1,
            Event::Spawned {
                proc: Proc::WatchDiagnose(0),
                pid: 50,
            },
        );
        sup.handle_event(
            t1,
            Event::Exited {
                pid: 50,
                exit: Exit::Code(0),
            },
        );
        assert_eq!(
            actions(&mut sup),
            vec![Action::Spawn {
                proc: Proc::WatchStart(0),
                env
            }]
        );
        sup.handle_event(
            t1,
            Event::Spawned {
                proc: Proc::WatchStart(0),
                pid: 51,
            },
        );
        // Next scan: still missing, the start command still runs: no second one.
        let t2 = t0 + ms(2000);
        sup.handle_timeout(t2);
        actions(&mut sup);
        // The start command itself is called httpd: upkeep's own children never count.
        sup.handle_event(t2, Event::ProcessTable(vec![proc_named(51, "httpd")]));
        let acts = actions(&mut sup);
        assert!(
            !acts.iter().any(|a| matches!(a, Action::Spawn { .. })),
            "{acts:?}"
        );
        assert!(format!("{acts:?}").contains("not starting another"));
        sup.handle_event(
            t2,
            Event::Exited {
                pid: 51,
                exit: Exit::Code(3),
            },
        );
        assert!(
            format!("{:?}", actions(&mut sup))
                .contains("apache start command exited with status 3")
        );
    }

    #[test]
    fn a_daemon_that_stays_missing_gets_spaced_starts() {
        let (mut sup, t0) = watcher(watch_cfg("false", None));
        let mut starts = Vec::new();
        let mut waiting_lines = 0;
        for k in 1..=20u64 {
            let t = t0 + ms(1000 * k);
            sup.handle_timeout(t);
            actions(&mut sup);
            sup.handle_event(t, Event::ProcessTable(vec![]));
            for a in actions(&mut sup) {
                if matches!(&a, Action::Log(_, text) if text.contains("next start in")) {
                    waiting_lines += 1;
                }
                if let Action::Spawn {
                    proc: Proc::WatchStart(0),
                    ..
                } = a
                {
                    starts.push(k);
                    sup.handle_event(
                        t,
                        Event::Spawned {
                            proc: Proc::WatchStart(0),
                            pid: 60 + k as i32,
                        },
                    );
                    sup.handle_event(
                        t,
                        Event::Exited {
                            pid: 60 + k as i32,
                            exit: Exit::Code(1),
                        },
                    );
                    actions(&mut sup);
                }
            }
            if let Some(next) = sup.poll_timeout() {
                assert!(next > t);
            }
        }
        // Scans every second; starts at 1, 2, 4, 8, 16 s: the spacing doubles.
        assert_eq!(starts, vec![1, 2, 4, 8, 16]);
        // The wait is told once after each start that has one, not at every scan.
        assert_eq!(waiting_lines, 4);
        // Found running again: the spacing resets.
        let t = t0 + ms(21_000);
        sup.handle_timeout(t);
        actions(&mut sup);
        sup.handle_event(t, Event::ProcessTable(vec![proc_named(9, "httpd")]));
        assert!(format!("{:?}", actions(&mut sup)).contains("apache is running again"));
    }

    #[test]
    fn spacing_rule() {
        assert_eq!(spacing(ms(100), ms(30_000), 0), ms(100));
        assert_eq!(spacing(ms(100), ms(30_000), 1), ms(100));
        assert_eq!(spacing(ms(100), ms(30_000), 4), ms(800));
        assert_eq!(spacing(ms(100), ms(250), 10), ms(250));
        assert_eq!(spacing(ms(100), ms(30_000), 1000), ms(30_000));
    }

    #[test]
    fn no_deadline_while_idle() {
        let (sup, _) = started(opts());
        assert_eq!(sup.poll_timeout(), None);
    }

    // ---- requests (control socket) ----

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn row<'a>(rows: &'a [StatusRow], name: &str) -> &'a StatusRow {
        rows.iter().find(|r| r.name == name).expect("row")
    }

    impl Sim {
        fn status(&self) -> Vec<StatusRow> {
            self.sup.status(self.now, &[]).unwrap()
        }

        fn pid_named(&self, name: &str) -> Option<i32> {
            row(&self.status(), name).pid
        }

        /// The runtime's view of a stop signal arriving: the service dies of it.
        fn die(&mut self, name: &str, exit: Exit) {
            let pid = self.pid_named(name).expect("a pid");
            self.sup.handle_event(self.now, Event::Exited { pid, exit });
            self.run();
        }
    }

    #[test]
    fn stop_keeps_a_service_down_until_start() {
        let mut sim = Sim::new(vec![svc("web"), svc("db")]);
        let web = sim.pid_named("web").unwrap();
        sim.sup.stop(sim.now, &names(&["web"])).unwrap();
        let acts = sim.run();
        assert!(acts.contains(&Action::Kill {
            pid: web,
            sig: libc::SIGTERM,
            group: true
        }));
        assert!(!sim.sup.settled(&names(&["web"])));
        sim.die("web", Exit::Signal(libc::SIGTERM));
        assert!(sim.sup.settled(&names(&["web"])));
        let rows = sim.status();
        assert_eq!(row(&rows, "web").state, "stopped");
        assert!(row(&rows, "web").healthy, "a requested stop is not a fault");
        assert_eq!(row(&rows, "db").state, "running");
        // Time passes: no restart.
        sim.advance(Duration::from_secs(3600));
        assert_eq!(row(&sim.status(), "web").state, "stopped");
        sim.sup.start(sim.now, &names(&["web"])).unwrap();
        sim.run();
        let again = sim.pid_named("web").unwrap();
        assert_ne!(again, web);
        assert_eq!(row(&sim.status(), "web").state, "running");
    }

    #[test]
    fn restart_is_immediate_and_start_clears_failed() {
        let mut flaky = svc("flaky");
        flaky.give_up_after = 1;
        let mut sim = Sim::new(vec![svc("web"), flaky]);
        let web = sim.pid_named("web").unwrap();
        sim.sup.restart(sim.now, &names(&["web"])).unwrap();
        sim.run();
        sim.die("web", Exit::Signal(libc::SIGTERM));
        let new = sim.pid_named("web").unwrap();
        assert_ne!(new, web);
        assert!(sim.sup.settled(&names(&["web"])));
        sim.die("flaky", Exit::Code(1));
        let rows = sim.status();
        assert_eq!(row(&rows, "flaky").state, "failed");
        assert!(!row(&rows, "flaky").healthy);
        assert_eq!(row(&rows, "flaky").last_exit, Some(Exit::Code(1)));
        sim.sup.start(sim.now, &names(&["flaky"])).unwrap();
        sim.run();
        assert_eq!(row(&sim.status(), "flaky").state, "running");
    }

    #[test]
    fn stopping_a_critical_service_does_not_stop_everything() {
        let mut db = svc("db");
        db.critical = true;
        let mut sim = Sim::new(vec![db, svc("web")]);
        sim.sup.stop(sim.now, &names(&["db"])).unwrap();
        sim.run();
        sim.die("db", Exit::Signal(libc::SIGTERM));
        assert!(!sim.sup.is_shutting_down());
        assert_eq!(row(&sim.status(), "web").state, "running");
    }

    #[test]
    fn bad_requests_change_nothing() {
        let mut sim = Sim::new(vec![svc("web"), svc("db")]);
        sim.sup.stop(sim.now, &names(&["db"])).unwrap();
        sim.run();
        sim.die("db", Exit::Signal(libc::SIGTERM));
        let before = sim.status();
        let err = sim
            .sup
            .stop(sim.now, &names(&["web", "wbe2x"]))
            .unwrap_err();
        assert!(err.contains("wbe2x"), "{err}");
        assert!(
            sim.sup
                .stop(sim.now, &names(&["web", "weeb"]))
                .unwrap_err()
                .contains("did you mean \"web\"")
        );
        assert!(sim.sup.start(sim.now, &[]).is_err());
        // db is down: signalling both refuses, and web gets nothing either.
        let err = sim
            .sup
            .signal_services(libc::SIGHUP, &names(&["web", "db"]))
            .unwrap_err();
        assert!(err.contains("db is not running (stopped)"), "{err}");
        assert!(sim.run().is_empty());
        assert_eq!(sim.status(), before);
        assert!(sim.sup.status(sim.now, &names(&["nope"])).is_err());
    }

    #[test]
    fn signal_goes_to_the_services_process() {
        let mut sim = Sim::new(vec![svc("web")]);
        let web = sim.pid_named("web").unwrap();
        sim.sup
            .signal_services(libc::SIGHUP, &names(&["web"]))
            .unwrap();
        let acts = sim.run();
        assert!(acts.contains(&Action::Kill {
            pid: web,
            sig: libc::SIGHUP,
            group: false
        }));
    }

    /// keep as it was, change with a new command, drop gone, new added.
    fn new_config() -> Vec<Service> {
        let mut changed = svc("change");
        changed.command = vec!["y".into()];
        vec![svc("keep"), changed, svc("new")]
    }

    #[test]
    fn reload_touches_only_what_changed() {
        let mut sim = Sim::new(vec![svc("keep"), svc("change"), svc("drop")]);
        let keep = sim.pid_named("keep").unwrap();
        let change = sim.pid_named("change").unwrap();
        let drop = sim.pid_named("drop").unwrap();
        let summary = sim
            .sup
            .reload(sim.now, new_config(), Vec::new(), ms(1000))
            .unwrap();
        assert_eq!(
            summary,
            names(&[
                "change: changed; restarting it",
                "new: added",
                "drop: removed"
            ])
        );
        let acts = sim.run();
        assert!(acts.contains(&Action::Kill {
            pid: change,
            sig: libc::SIGTERM,
            group: true
        }));
        assert!(acts.contains(&Action::Kill {
            pid: drop,
            sig: libc::SIGTERM,
            group: true
        }));
        let rows = sim.status();
        let listed: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(listed, ["keep", "change", "new"]);
        assert_eq!(row(&rows, "keep").pid, Some(keep));
        assert_eq!(row(&rows, "new").state, "running");
        // The new definition waits for the old run to be gone.
        assert_eq!(row(&rows, "change").state, "waiting");
        assert!(!sim.sup.settled(&names(&["change"])));
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: change,
                exit: Exit::Signal(15),
            },
        );
        sim.run();
        let started = sim.pid_named("change").unwrap();
        assert_ne!(started, change);
        assert_eq!(sim.sup.service_config(1).unwrap().command, ["y"]);
        sim.sup.handle_event(
            sim.now,
            Event::Exited {
                pid: drop,
                exit: Exit::Signal(15),
            },
        );
        sim.run();
        // A second reload with the same config changes nothing and forgets the retired.
        let summary = sim
            .sup
            .reload(sim.now, new_config(), Vec::new(), ms(1000))
            .unwrap();
        assert!(summary.is_empty());
        assert!(sim.run().iter().all(|a| matches!(a, Action::Log(..))));
        assert_eq!(sim.sup.services.len(), 3);
    }

    #[test]
    fn reload_of_watches_keeps_their_state() {
        let (mut sup, t0) = watcher(watch_cfg("true", None));
        sup.stop(t0, &names(&["apache"])).unwrap();
        actions(&mut sup);
        let mut other = watch_cfg("true", None);
        other.name = "other".into();
        let summary = sup
            .reload(
                t0,
                Vec::new(),
                vec![watch_cfg("true", None), other],
                ms(1000),
            )
            .unwrap();
        assert_eq!(summary, names(&["other: added (watch)"]));
        let rows = sup.status(t0, &[]).unwrap();
        assert_eq!(row(&rows, "apache").state, "paused");
        assert_eq!(row(&rows, "other").state, "unknown");
        assert_eq!(row(&rows, "other").kind, Kind::Watch);
    }

    #[test]
    fn shutdown_request_stops_in_order_and_exits_zero() {
        let mut db = svc("db");
        db.critical = true;
        let mut web = svc("web");
        web.after = vec!["db".into()];
        let mut sim = Sim::new(vec![db, web]);
        sim.sup.shutdown(sim.now);
        sim.run();
        assert!(sim.sup.start(sim.now, &names(&["web"])).is_err());
        assert_eq!(row(&sim.status(), "db").state, "running");
        sim.die("web", Exit::Signal(15));
        sim.die("db", Exit::Signal(15));
        assert!(
            sim.log.iter().any(|l| l == "exiting with status 0"),
            "{:?}",
            sim.log
        );
    }
}
