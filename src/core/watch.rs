//! One watch's state machine (a daemon upkeep did not start, found by name), and the name
//! matching it scans the process table with. Every transition is in `handle`.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::{Level, Out, Owner, WatchId, spacing};
use crate::config::Watch;
use crate::types::{Exit, Grouping, ProcInfo, SpawnPlan, Stdio, fmt_duration, shell};

/// The longest spacing between two start commands of a watch that stays missing.
pub const SPACING_MAX: Duration = Duration::from_secs(3600);

/// How many bytes of a name the kernel keeps as `comm`.
pub const COMM_MAX: usize = if cfg!(target_os = "freebsd") { 19 } else { 15 };

/// The name as the kernel keeps it in `comm`: cut to `COMM_MAX` bytes (on a char boundary).
fn as_comm(name: &str) -> &str {
    if name.len() <= COMM_MAX {
        return name;
    }
    let mut end = COMM_MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or(name)
}

/// Whether `p` is a live process called `name`: its comm (after the kernel's truncation),
/// the basename of its argv[0] or of the script it interprets equals it. Zombies never count.
pub fn matches(name: &str, p: &ProcInfo) -> bool {
    !p.zombie
        && (p.comm == as_comm(name)
            || p.argv0.as_deref() == Some(name)
            || p.script.as_deref() == Some(name))
}

/// Whether any process but the excluded ones (upkeep and what it forked) is called `name`.
pub fn is_running(name: &str, procs: &[ProcInfo], excluded: impl Fn(i32) -> bool) -> bool {
    procs.iter().any(|p| !excluded(p.pid) && matches(name, p))
}

/// What a watch is doing between two scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Idle,
    Diagnosing { pid: Option<i32>, kill_at: Instant },
    Starting { pid: Option<i32>, kill_at: Instant },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// The scan that was due found it (or not).
    Scanned {
        running: bool,
    },
    /// The scan that was due could not read the table: try again an interval later.
    ScanFailed,
    Spawned(i32),
    SpawnFailed(&'a str),
    Exited {
        pid: i32,
        exit: Exit,
    },
    Timeout,
    /// `upkeep stop` (monit's "unmonitor"): not scanned until started.
    Pause,
    /// `upkeep start`: scanned again at once.
    Resume,
    Shutdown,
}

#[derive(Debug, Clone)]
pub(crate) struct WatchRun {
    id: WatchId,
    pub cfg: Watch,
    pub interval: Duration,
    next_scan: Instant,
    step: Step,
    /// Start commands run since it was last seen running.
    starts: u32,
    last_start: Option<Instant>,
    /// What the last scan found; None before the first.
    seen: Option<bool>,
    paused: bool,
    /// The wait before the next start was logged: once per start, not once per scan.
    told_waiting: bool,
    /// `upkeep scan`: scanned at once, start commands bounded, the outcome remembered.
    scan_once: bool,
    start_failed: bool,
}

impl WatchRun {
    pub fn new(
        id: WatchId,
        cfg: Watch,
        scan_interval: Duration,
        now: Instant,
        scan_once: bool,
    ) -> WatchRun {
        let interval = cfg.interval.unwrap_or(scan_interval);
        WatchRun {
            id,
            cfg,
            interval,
            // The first scan comes one interval after start-up (`upkeep scan`: at once).
            next_scan: if scan_once { now } else { now + interval },
            step: Step::Idle,
            starts: 0,
            last_start: None,
            seen: None,
            paused: false,
            told_waiting: false,
            scan_once,
            start_failed: false,
        }
    }

    /// Every transition of a watch.
    pub fn handle(&mut self, now: Instant, input: Input, out: &mut Out) {
        let name = self.cfg.name.clone();
        match (self.step, input) {
            (step, Input::Scanned { running }) => {
                self.next_scan = now + self.interval;
                self.seen = Some(running);
                if running {
                    if self.starts > 0 {
                        out.log(Level::Info, format!("{name} is running again (watch)"));
                    }
                    self.starts = 0;
                    self.last_start = None;
                } else if step != Step::Idle {
                    out.log(
                        Level::Info,
                        format!(
                            "{name} not running; its start command is still running, not starting another (watch)"
                        ),
                    );
                } else {
                    self.missing(now, out);
                }
            }
            (_, Input::ScanFailed) => {
                self.next_scan = now + self.interval;
                // `upkeep scan`: done, having said so (the runtime logged why).
                if self.scan_once {
                    self.start_failed = true;
                    self.seen = Some(false);
                }
            }
            (Step::Diagnosing { pid: None, kill_at }, Input::Spawned(pid)) => {
                self.step = Step::Diagnosing {
                    pid: Some(pid),
                    kill_at,
                };
            }
            (Step::Starting { pid: None, kill_at }, Input::Spawned(pid)) => {
                self.step = Step::Starting {
                    pid: Some(pid),
                    kill_at,
                };
            }
            // Cut short by a shutdown before its pid was known.
            (_, Input::Spawned(pid)) => out.abandon(pid, libc::SIGTERM),
            (Step::Diagnosing { .. }, Input::SpawnFailed(reason)) => {
                out.log(
                    Level::Warn,
                    format!("{name} diagnose: cannot run: {reason}"),
                );
                self.run_start(now, out);
            }
            (Step::Starting { .. }, Input::SpawnFailed(reason)) => {
                out.log(
                    Level::Warn,
                    format!("{name} start command cannot run: {reason}"),
                );
                self.start_failed = true;
                self.step = Step::Idle;
            }
            (Step::Diagnosing { pid: Some(p), .. }, Input::Exited { pid, exit }) if p == pid => {
                if exit != Exit::Code(0) {
                    out.log(Level::Info, format!("{name} diagnose {exit}"));
                }
                self.run_start(now, out);
            }
            (Step::Starting { pid: Some(p), .. }, Input::Exited { pid, exit }) if p == pid => {
                if exit == Exit::Code(0) {
                    out.log(Level::Debug, format!("{name} start command done"));
                } else {
                    self.start_failed = true;
                    out.log(Level::Warn, format!("{name} start command {exit}"));
                }
                self.step = Step::Idle;
            }
            // Commands it let go of (killed at a timeout, by a shutdown) are not routed here.
            (step, Input::Exited { pid, exit }) => out.bug(format!(
                "watch {name}: pid {pid} {exit} matches no command of its while {step:?}"
            )),
            // The answer to a spawn cut short by a shutdown.
            (Step::Idle, Input::SpawnFailed(_)) => {}
            (Step::Diagnosing { pid, kill_at }, Input::Timeout) if kill_at <= now => {
                let limit = fmt_duration(self.cfg.diagnose_timeout);
                let text = format!("{name} diagnose still running after {limit}; killed it");
                out.kill_overdue(pid, Level::Info, text);
                self.run_start(now, out);
            }
            (Step::Starting { pid, kill_at }, Input::Timeout) if kill_at <= now => {
                let limit = fmt_duration(self.cfg.start_timeout);
                let text = format!("{name} start command timed out after {limit}; killed");
                out.kill_overdue(pid, Level::Warn, text);
                self.start_failed = true;
                self.step = Step::Idle;
            }
            (_, Input::Timeout) => {}
            (_, Input::Pause) => {
                if !self.paused {
                    self.paused = true;
                    out.log(Level::Info, format!("{name} no longer watched (request)"));
                }
            }
            (_, Input::Resume) => {
                if self.paused {
                    self.paused = false;
                    self.next_scan = now;
                    self.starts = 0;
                    self.last_start = None;
                    out.log(Level::Info, format!("{name} watched again (request)"));
                }
            }
            (Step::Diagnosing { pid, .. } | Step::Starting { pid, .. }, Input::Shutdown) => {
                if let Some(pid) = pid {
                    out.abandon(pid, libc::SIGTERM);
                }
                self.step = Step::Idle;
            }
            (Step::Idle, Input::Shutdown) => {}
        }
    }

    /// Not found: diagnose and start it, unless the spacing of repeated starts says wait.
    fn missing(&mut self, now: Instant, out: &mut Out) {
        let name = &self.cfg.name;
        let starts = self.starts;
        // Still missing after our starts: space them like a service's quick deaths.
        let allowed = self.last_start.map_or(now, |t| {
            t + spacing(self.interval, SPACING_MAX.max(self.interval), starts)
        });
        if allowed > now {
            if !self.told_waiting {
                self.told_waiting = true;
                out.log(
                    Level::Info,
                    format!(
                        "{name} still not running after {starts} starts; next start in {} (watch)",
                        fmt_duration(allowed.saturating_duration_since(now))
                    ),
                );
            }
            return;
        }
        let how = if self.scan_once { "scan" } else { "watch" };
        let text = if starts == 0 {
            format!("{name} not running; starting it ({how})")
        } else {
            format!("{name} still not running after {starts} starts; starting it again ({how})")
        };
        out.log(Level::Info, text);
        self.starts = starts + 1;
        self.last_start = Some(now);
        self.told_waiting = false;
        match self.cfg.diagnose.as_deref() {
            Some(script) => {
                self.step = Step::Diagnosing {
                    pid: None,
                    kill_at: now + self.cfg.diagnose_timeout,
                };
                let argv = shell(script);
                let label = format!("{} diagnose", self.cfg.name);
                out.spawn(Owner::Watch(self.id), self.plan(argv, label));
            }
            None => self.run_start(now, out),
        }
    }

    fn run_start(&mut self, now: Instant, out: &mut Out) {
        self.step = Step::Starting {
            pid: None,
            kill_at: now + self.cfg.start_timeout,
        };
        let label = format!("{} start", self.cfg.name);
        out.spawn(
            Owner::Watch(self.id),
            self.plan(self.cfg.start.clone(), label),
        );
    }

    /// A diagnose or start command: own session, output logged under `label`.
    fn plan(&self, argv: Vec<String>, label: String) -> SpawnPlan {
        let mut plan = SpawnPlan::new(
            argv.into_iter().map(OsString::from).collect(),
            Grouping::Session,
        );
        plan.env = vec![
            ("UPKEEP_WATCH".into(), self.cfg.name.clone().into()),
            ("UPKEEP_PROCESS".into(), self.cfg.process.clone().into()),
        ];
        plan.stdio = Stdio::Logged(label);
        plan
    }

    // ---- what the router and status read ----

    /// When its diagnose or start command is to be killed, if one runs.
    pub fn command_deadline(&self) -> Option<Instant> {
        match self.step {
            Step::Diagnosing { kill_at, .. } => Some(kill_at),
            Step::Starting { kill_at, .. } => Some(kill_at),
            Step::Idle => None,
        }
    }

    /// When it is next due for a scan: never while paused, nor after `upkeep scan`'s one.
    pub fn scan_at(&self) -> Option<Instant> {
        let scanned_once = self.scan_once && self.seen.is_some();
        (!self.paused && !scanned_once).then_some(self.next_scan)
    }

    /// Whether the scan found it, upkeep and its own children (`own`, sorted) left out.
    pub fn is_running_in(&self, procs: &[ProcInfo], own: &[i32]) -> bool {
        is_running(&self.cfg.process, procs, |pid| {
            own.binary_search(&pid).is_ok()
        })
    }

    /// `upkeep scan`: scanned, and its commands (if any) have ended.
    pub fn scan_done(&self) -> bool {
        self.seen.is_some() && self.step == Step::Idle
    }

    pub fn start_failed(&self) -> bool {
        self.start_failed
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn seen(&self) -> Option<bool> {
        self.seen
    }

    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// A reload's new definition; a new interval takes effect from now.
    pub fn reconfigure(&mut self, cfg: Watch, scan_interval: Duration, now: Instant) {
        let interval = cfg.interval.unwrap_or(scan_interval);
        if interval != self.interval {
            self.next_scan = now + interval;
        }
        self.cfg = cfg;
        self.interval = interval;
    }
}
