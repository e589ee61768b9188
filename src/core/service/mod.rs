//! One service's state machine, in four parts that each have one home:
//! - the **goal** (`Goal`): up, held down on request, retired by a reload, or shutting down;
//!   set by requests, read when a run ends;
//! - the **process** (`Process`): waiting, spawning, running, stopping, dead, cleaning its
//!   group, backing off, down or failed; owns the pid and the group clean-up;
//! - an optional **diagnostic** (`Diagnostic`), run beside a live process (a failed check:
//!   the stop follows) or a dead one (its group is cleaned up after);
//! - the **policy** (`policy::Policy`): quick deaths, restarts, next start, give-up.
//!
//! `handle` sends each input to the handler of its concern (the checks' in checked.rs, the
//! ticks and run_timeout of jobs in job.rs); each handler matches every
//! state it can meet explicitly, so a new input or state forces a decision everywhere.
//! `after_gone` is the one place that decides what follows a run.

mod alert;
mod checked;
mod ends;
mod job;
mod plans;
mod policy;
mod read;

use std::time::{Duration, Instant};

use super::checks::Checks;
use super::output::Heard;
use super::{EventFields, Level, Out, Owner, ServiceId};
use crate::config::Service;
use crate::types::{Exit, fmt_duration, signame};
use job::Tick;
pub(crate) use policy::Next;
use policy::Policy;

/// What the service should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Goal {
    Up,
    /// Stopped on request: stays down until started.
    Held,
    /// Removed or replaced by a reload: stops, then is dropped.
    Retired,
    /// upkeep is stopping everything.
    ShuttingDown,
}

/// The service's main process and its process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    /// Not started yet: waiting for the services it comes `after`.
    Waiting,
    /// Spawn asked for, answer pending.
    Spawning,
    Running {
        pid: i32,
        since: Instant,
    },
    /// Its stop signal went to the group; SIGKILL at `kill_at` (None: sent already).
    Stopping {
        pid: i32,
        since: Instant,
        kill_at: Option<Instant>,
    },
    /// Dead, its group left as it was while the diagnostic looks at it.
    Dead {
        pgid: i32,
    },
    /// What is left of the dead service's group is being stopped.
    Cleaning {
        pgid: i32,
        signalled: bool,
        kill_at: Option<Instant>,
    },
    Backoff {
        until: Instant,
    },
    /// Stopped for good: exited under its restart policy, or stopped.
    Down,
    /// Gave up after `give_up_after` quick deaths; or a oneshot that failed for good.
    Failed,
    /// A scheduled service between runs: its next tick is in `ServiceRun::ticks`.
    Scheduled,
}

/// The diagnostic command under way (pid None until spawned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    pub pid: Option<i32>,
    pub kill_at: Instant,
}

/// What a service tells the router, past its actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A critical service stopped for good on its own: upkeep stops everything.
    CriticalStopped { status: i32 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// The services it comes `after` are up: it may start.
    MayStart,
    Spawned(i32),
    SpawnFailed {
        status: i32,
        reason: &'a str,
    },
    Exited {
        pid: i32,
        exit: Exit,
    },
    DiagnoseSpawned(i32),
    DiagnoseFailed(&'a str),
    DiagnoseExited {
        pid: i32,
        exit: Exit,
    },
    GroupProbed(bool),
    /// A process that was no one's was reaped: perhaps the last of a group being cleaned.
    StrangerReaped,
    /// A deadline of this service's has passed. `waiting_for` names a service it comes
    /// `after` that would not let it start now: a tick due then is skipped.
    Timeout {
        waiting_for: Option<&'a str>,
    },
    /// upkeep began stopping everything: no more waits, backoffs or diagnostics.
    Shutdown,
    /// In the shutdown, everything started after this service is down: stop it.
    StopForShutdown,
    /// A second TERM: SIGKILL now.
    KillNow,
    /// `upkeep stop`: down, and kept down until started.
    Stop,
    /// `upkeep start` (the word is for the log line).
    Start(&'a str),
    /// `upkeep restart`.
    Restart,
    /// Removed or replaced by a reload: stop, then be dropped.
    Retire,
    CheckSpawned(i32),
    /// A command check could not be spawned (pid None), or exited.
    CheckDone {
        pid: Option<i32>,
        result: Result<(), &'a str>,
    },
    /// The answer of network check `seq`.
    Checked {
        seq: u32,
        result: Result<(), &'a str>,
    },
    /// The service said it is ready, or how it is (`STATUS=`), or that it is alive.
    Notified {
        ready: bool,
        status: Option<&'a str>,
        alive: bool,
    },
    /// A reload changed only its `ready` or `health`: new checks from now on.
    Rechecked,
    /// The RSS of group `pid` (a sampling for `memory_max`).
    Memory {
        pid: i32,
        rss: u64,
    },
    AlertSpawned(i32),
    AlertFailed(&'a str),
    AlertExited {
        pid: i32,
        exit: Exit,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceRun {
    id: ServiceId,
    pub cfg: Service,
    goal: Goal,
    process: Process,
    diagnostic: Option<Diagnostic>,
    policy: Policy,
    /// Its output's partial lines and recent lines: allocated when it first writes, so a
    /// thousand quiet services cost next to nothing.
    output: Option<Box<Heard>>,
    /// The current run's readiness and health checks.
    checks: Checks,
    /// Ready at least once (a oneshot: done once): a service that comes after it, or
    /// COMMAND, may start.
    ever_ready: bool,
    /// The last run was stopped by upkeep for failing a check (not ready in time,
    /// unhealthy, memory, run_timeout): between runs, `status` says why, not how it died.
    stopped_failing: bool,
    /// A scheduled service's next tick, once its schedule has begun.
    ticks: Option<Tick>,
    /// Its `on_failure` command under way: never two at once.
    alert: Option<Diagnostic>,
    /// The last run's pid and how long it ran, for `on_failure` after it is gone.
    last_run: Option<(i32, std::time::Duration)>,
    /// `memory_max`: the last sampling of this run, and why it was stopped if it went over.
    rss: Option<u64>,
    memory_note: Option<String>,
}

impl ServiceRun {
    pub fn new(id: ServiceId, cfg: Service, held: bool) -> ServiceRun {
        let held = held || !cfg.enabled;
        ServiceRun {
            id,
            cfg,
            goal: if held { Goal::Held } else { Goal::Up },
            process: if held {
                Process::Down
            } else {
                Process::Waiting
            },
            diagnostic: None,
            policy: Policy::default(),
            output: None,
            checks: Checks::default(),
            ever_ready: false,
            stopped_failing: false,
            ticks: None,
            alert: None,
            last_run: None,
            rss: None,
            memory_note: None,
        }
    }

    /// Every input of a service, sent to the handler of its concern.
    pub fn handle(&mut self, now: Instant, input: Input, out: &mut Out) -> Option<Notice> {
        use Input as I;
        match input {
            I::MayStart
            | I::Shutdown
            | I::StopForShutdown
            | I::KillNow
            | I::Stop
            | I::Start(_)
            | I::Restart
            | I::Retire => self.on_request(now, input, out),
            I::Spawned(_)
            | I::SpawnFailed { .. }
            | I::Exited { .. }
            | I::GroupProbed(_)
            | I::StrangerReaped => self.on_process(now, input, out),
            I::DiagnoseSpawned(_) | I::DiagnoseFailed(_) | I::DiagnoseExited { .. } => {
                self.on_diagnostic(now, input, out)
            }
            I::CheckSpawned(_)
            | I::CheckDone { .. }
            | I::Checked { .. }
            | I::Notified { .. }
            | I::Rechecked => {
                self.on_check(now, input, out);
                None
            }
            I::Timeout { waiting_for } => self.on_timeout(now, waiting_for, out),
            I::Memory { pid, rss } => {
                self.on_memory(now, pid, rss, out);
                None
            }
            I::AlertSpawned(_) | I::AlertFailed(_) | I::AlertExited { .. } => {
                self.on_alert(input, out);
                None
            }
        }
    }

    // ---- the handlers, one per concern ----

    /// What the router and the control socket ask for: the goal changes, then the process
    /// is brought in line.
    fn on_request(&mut self, now: Instant, input: Input, out: &mut Out) -> Option<Notice> {
        use Input as I;
        let name = &self.cfg.name;
        match input {
            I::MayStart => match self.process {
                // No run at start-up: the first comes at the first tick.
                Process::Waiting if self.cfg.schedule.is_some() => self.enter_schedule(now, out),
                Process::Waiting => self.spawn(out),
                _ => out.bug(format!(
                    "service {name}: may start while {:?}",
                    self.process
                )),
            },
            I::Shutdown => {
                if self.goal == Goal::Up {
                    self.goal = Goal::ShuttingDown;
                }
                match self.process {
                    Process::Waiting | Process::Backoff { .. } | Process::Scheduled => {
                        self.process = Process::Down
                    }
                    // It stops in the shutdown's order; its checks end now.
                    Process::Running { .. } if self.diagnostic.is_none() => {
                        self.checks.stop(self.id, out)
                    }
                    // A diagnostic is cut short: failing, it is stopped now; dead, its
                    // group is cleaned up.
                    Process::Running { .. } | Process::Dead { .. } => self.take_down(now, out),
                    Process::Spawning
                    | Process::Stopping { .. }
                    | Process::Cleaning { .. }
                    | Process::Down
                    | Process::Failed => {}
                }
            }
            I::StopForShutdown => match self.process {
                Process::Running { .. } => self.stop_running(now, Next::Down, out),
                Process::Waiting
                | Process::Spawning
                | Process::Stopping { .. }
                | Process::Dead { .. }
                | Process::Cleaning { .. }
                | Process::Backoff { .. }
                | Process::Down
                | Process::Failed
                | Process::Scheduled => {}
            },
            I::KillNow => match self.process {
                Process::Running { pid, since } | Process::Stopping { pid, since, .. } => {
                    self.end_diagnostic(out);
                    self.kill_now(pid, since, out);
                }
                Process::Cleaning { pgid, .. } => {
                    out.kill(pgid, libc::SIGKILL, true);
                    self.process = Process::Down;
                }
                // A shutdown took these down already, or has nothing to kill.
                Process::Waiting
                | Process::Spawning
                | Process::Dead { .. }
                | Process::Backoff { .. }
                | Process::Down
                | Process::Failed
                | Process::Scheduled => {}
            },
            I::Stop => {
                self.memory_note = None;
                if self.goal != Goal::Held {
                    self.goal = Goal::Held;
                    out.log(Level::Info, format!("{name}: stop requested"));
                }
                self.take_down(now, out);
            }
            I::Start(verb) => self.start_requested(verb, out),
            I::Restart => match self.process {
                Process::Running { .. } if self.diagnostic.is_none() => {
                    out.log(Level::Info, format!("{name}: restart requested"));
                    self.goal = Goal::Up;
                    self.stop_running(now, Next::StartNow, out);
                }
                _ => self.start_requested("restart", out),
            },
            I::Retire => {
                self.goal = Goal::Retired;
                self.take_down(now, out);
            }
            _ => out.bug(format!("service {name}: {input:?} is not a request")),
        }
        None
    }

    /// News of the main process and its group.
    fn on_process(&mut self, now: Instant, input: Input, out: &mut Out) -> Option<Notice> {
        use Input as I;
        let name = self.cfg.name.clone();
        match (self.process, input) {
            (Process::Spawning, I::Spawned(pid)) => {
                let fields = EventFields {
                    event: "started",
                    service: name.clone(),
                    pid: Some(pid),
                    ..EventFields::default()
                };
                out.event(Level::Info, format!("{name} started, pid {pid}"), fields);
                self.policy.last_start = Some(now);
                self.process = Process::Running { pid, since: now };
                if self.goal == Goal::Up {
                    // A job is ready when it is done, not when it runs.
                    if !self.cfg.is_job() {
                        self.checks.start(now, self.id, &self.cfg, out);
                        self.ever_ready |= self.checks.is_ready();
                    }
                } else {
                    // Stopped or retired while its start was under way.
                    self.stop_running(now, Next::Down, out);
                }
            }
            (Process::Spawning, I::SpawnFailed { status, reason }) => {
                // A start that fails counts as a quick death: same spacing, same give-up.
                self.policy.last_start = Some(now);
                self.policy.quick_deaths += 1;
                self.policy.last_exit = Some(Exit::Code(status));
                self.policy
                    .decide(&self.cfg, Some(Exit::Code(status)), self.goal == Goal::Up);
                let cmd = self.cfg.command.first().cloned().unwrap_or_default();
                let what = format!("{name}: cannot start {cmd}: {reason}");
                self.log_end(now, what, None, None, out);
                return self.after_gone(now, out);
            }
            (Process::Running { pid: p, since }, I::Exited { pid, exit }) if p == pid => {
                self.died(now, pid, since, exit, out);
            }
            (
                Process::Stopping {
                    pid: p,
                    since,
                    kill_at,
                },
                I::Exited { pid, exit },
            ) if p == pid => self.stopped(now, pid, since, kill_at, exit, out),
            (_, I::Exited { pid, exit }) => out.bug(format!(
                "service {name}: pid {pid} {exit} matches no process of its while {:?}",
                self.process
            )),
            (
                Process::Cleaning {
                    pgid,
                    signalled,
                    kill_at,
                },
                I::GroupProbed(alive),
            ) => {
                if !alive {
                    return self.after_gone(now, out);
                }
                if !signalled {
                    let sig = self.cfg.stop_signal;
                    let sig_name = signame::name(sig);
                    out.log(
                        Level::Info,
                        format!("{name}: leftover processes in its group; sending {sig_name}"),
                    );
                    out.kill(pgid, sig, true);
                }
                // Even after a SIGKILL, leftovers get a deadline: one stuck in the kernel, or
                // a zombie someone else must reap, must not hold upkeep for ever.
                self.process = Process::Cleaning {
                    pgid,
                    signalled: true,
                    kill_at: kill_at.or(Some(now + self.cfg.stop_timeout)),
                };
            }
            // A late answer: the group was dealt with another way (a second TERM), or a
            // probe of an earlier run's group.
            (_, I::GroupProbed(_)) => {}
            (Process::Cleaning { pgid, .. }, I::StrangerReaped) => {
                out.probe(Owner::Service(self.id), pgid);
            }
            (_, I::StrangerReaped) => {}
            (state, input) => out.bug(format!("service {name}: {input:?} while {state:?}")),
        }
        None
    }

    /// News of the diagnostic command.
    fn on_diagnostic(&mut self, now: Instant, input: Input, out: &mut Out) -> Option<Notice> {
        use Input as I;
        let name = &self.cfg.name;
        match (self.diagnostic, input) {
            (Some(Diagnostic { pid: None, kill_at }), I::DiagnoseSpawned(pid)) => {
                self.diagnostic = Some(Diagnostic {
                    pid: Some(pid),
                    kill_at,
                });
                None
            }
            // Its diagnostic was cut short (shutdown, stop) before its pid was known.
            (_, I::DiagnoseSpawned(pid)) => {
                out.abandon(pid, libc::SIGKILL);
                None
            }
            (Some(Diagnostic { pid: None, .. }), I::DiagnoseFailed(reason)) => {
                out.log(
                    Level::Warn,
                    format!("{name} diagnose: cannot run: {reason}"),
                );
                self.diagnostic = None;
                self.diagnostic_done(now, out)
            }
            // The answer to a spawn cut short already.
            (_, I::DiagnoseFailed(_)) => None,
            (Some(Diagnostic { pid: Some(d), .. }), I::DiagnoseExited { pid, exit })
                if d == pid =>
            {
                if exit != Exit::Code(0) {
                    out.log(Level::Info, format!("{name} diagnose {exit}"));
                }
                self.diagnostic = None;
                self.diagnostic_done(now, out)
            }
            (diagnostic, I::DiagnoseExited { pid, exit }) => {
                out.bug(format!(
                    "service {name}: diagnose pid {pid} {exit} matches no diagnostic ({diagnostic:?})"
                ));
                None
            }
            (_, input) => {
                out.bug(format!("service {name}: {input:?} is not a diagnostic's"));
                None
            }
        }
    }

    /// A deadline has passed: the diagnostic's, the process's, or a check's.
    fn on_timeout(
        &mut self,
        now: Instant,
        waiting_for: Option<&str>,
        out: &mut Out,
    ) -> Option<Notice> {
        let name = self.cfg.name.clone();
        // First, so that a due tick always moves on, whatever else is under way.
        if self.tick_due(now, &out.wall) {
            self.on_tick(now, waiting_for, out);
        }
        self.alert_overdue(now, out);
        if let Some(d) = self.diagnostic.filter(|d| d.kill_at <= now) {
            let limit = fmt_duration(self.cfg.diagnose_timeout);
            let text = format!("{name} diagnose still running after {limit}; killed it");
            out.kill_overdue(d.pid, Level::Info, text);
            self.diagnostic = None;
            return self.diagnostic_done(now, out);
        }
        if self.diagnostic.is_some() {
            return None;
        }
        match self.process {
            Process::Backoff { until } if until <= now => self.spawn(out),
            Process::Cleaning {
                pgid,
                kill_at: Some(at),
                ..
            } if at <= now => {
                let text =
                    format!("{name}: leftover processes did not stop; killing its process group");
                out.kill_overdue(Some(pgid), Level::Info, text);
                // SIGKILL cannot be caught: carry on without waiting for the reaping.
                return self.after_gone(now, out);
            }
            Process::Stopping {
                pid,
                since,
                kill_at: Some(at),
            } if at <= now => {
                let limit = fmt_duration(self.cfg.stop_timeout);
                out.log(
                    Level::Info,
                    format!("{name} did not stop within {limit}; killing its process group"),
                );
                self.kill_now(pid, since, out);
            }
            Process::Running { pid, since } if self.cfg.is_job() => {
                if self.run_deadline().is_some_and(|t| t <= now) {
                    self.run_overdue(now, pid, since, out);
                }
            }
            Process::Running { pid, since } => {
                let verdict = self.checks.due(now, self.id, &self.cfg, out);
                self.verdict(now, pid, since, verdict, out);
            }
            // Not due yet, or nothing timed (a tick was handled above).
            Process::Waiting
            | Process::Spawning
            | Process::Stopping { .. }
            | Process::Dead { .. }
            | Process::Cleaning { .. }
            | Process::Backoff { .. }
            | Process::Down
            | Process::Failed
            | Process::Scheduled => {}
        }
        None
    }

    // ---- transitions' pieces ----

    fn spawn(&mut self, out: &mut Out) {
        self.stopped_failing = false;
        self.process = Process::Spawning;
        (self.rss, self.memory_note, self.last_run) = (None, None, None);
        // A death message quotes this run's output, not an earlier one's.
        if let Some(heard) = &mut self.output {
            heard.tail.new_run();
        }
        out.spawn(Owner::Service(self.id), self.service_plan());
    }

    /// The diagnostic has ended (or could not run, or was killed): the process goes on
    /// to what it was waiting for.
    fn diagnostic_done(&mut self, now: Instant, out: &mut Out) -> Option<Notice> {
        match self.process {
            // A failing run: its stop follows.
            Process::Running { .. } => self.stop_running(now, self.policy.next, out),
            Process::Dead { pgid } => self.start_cleaning(pgid, out),
            Process::Waiting
            | Process::Spawning
            | Process::Stopping { .. }
            | Process::Cleaning { .. }
            | Process::Backoff { .. }
            | Process::Down
            | Process::Failed
            | Process::Scheduled => out.bug(format!(
                "service {}: a diagnostic ended while {:?}",
                self.cfg.name, self.process
            )),
        }
        None
    }

    /// Kills the diagnostic under way, if any; its exit is not waited for.
    fn end_diagnostic(&mut self, out: &mut Out) {
        if let Some(pid) = self.diagnostic.take().and_then(|d| d.pid) {
            out.abandon(pid, libc::SIGKILL);
        }
    }

    fn start_cleaning(&mut self, pgid: i32, out: &mut Out) {
        self.process = Process::Cleaning {
            pgid,
            signalled: false,
            kill_at: None,
        };
        out.probe(Owner::Service(self.id), pgid);
    }

    /// The one place that decides what follows a run, once its process and group are
    /// gone: the policy's word, unless the goal keeps it down.
    fn after_gone(&mut self, now: Instant, out: &mut Out) -> Option<Notice> {
        let next = match self.policy.next {
            Next::Restart | Next::StartNow | Next::Schedule if self.goal != Goal::Up => Next::Down,
            next => next,
        };
        self.alert_after_run(now, next, out);
        match next {
            Next::Schedule => self.enter_schedule(now, out),
            Next::StartNow => self.spawn(out),
            Next::Restart => {
                let at = self.policy.next_start(&self.cfg, now);
                if at <= now {
                    self.spawn(out);
                } else {
                    self.process = Process::Backoff { until: at };
                }
            }
            Next::Down | Next::Fail => {
                self.process = if next == Next::Fail {
                    Process::Failed
                } else {
                    Process::Down
                };
                if self.cfg.is_job() && self.policy.last_ok == Some(true) {
                    self.ever_ready = true;
                }
                // A job ends well when it is done: only its failure is critical.
                let for_good = !self.cfg.is_job() || next == Next::Fail;
                if self.cfg.critical && self.goal == Goal::Up && for_good {
                    let status = self.policy.last_exit.map_or(0, Exit::status) & 0xff;
                    out.log(
                        Level::Warn,
                        format!(
                            "{} is critical and stopped for good; stopping everything (exit status {status})",
                            self.cfg.name
                        ),
                    );
                    return Some(Notice::CriticalStopped { status });
                }
            }
        }
        None
    }

    /// Sends the running service its stop signal (to the whole group), SIGKILL at the
    /// timeout; once it is gone, `next` unless the goal says otherwise.
    fn stop_running(&mut self, now: Instant, next: Next, out: &mut Out) {
        let Process::Running { pid, since } = self.process else {
            return;
        };
        self.policy.next = next;
        self.checks.stop(self.id, out);
        let sig = self.cfg.stop_signal;
        let fields = EventFields {
            event: "stopping",
            service: self.cfg.name.clone(),
            pid: Some(pid),
            ..EventFields::default()
        };
        let text = format!(
            "{} stopping (pid {pid}, {})",
            self.cfg.name,
            signame::name(sig)
        );
        out.event(Level::Info, text, fields);
        out.kill(pid, sig, true);
        self.process = Process::Stopping {
            pid,
            since,
            kill_at: Some(now + self.cfg.stop_timeout),
        };
    }

    /// SIGKILL to the service's whole group; it stays Stopping until its death is reaped.
    fn kill_now(&mut self, pid: i32, since: Instant, out: &mut Out) {
        self.checks.stop(self.id, out);
        out.kill(pid, libc::SIGKILL, true);
        self.process = Process::Stopping {
            pid,
            since,
            kill_at: None,
        };
    }

    /// Brings the process down, whatever it is doing, now that the goal says so.
    fn take_down(&mut self, now: Instant, out: &mut Out) {
        match self.process {
            Process::Running { .. } => {
                self.end_diagnostic(out);
                self.stop_running(now, Next::Down, out);
            }
            Process::Dead { pgid } => {
                self.end_diagnostic(out);
                self.start_cleaning(pgid, out);
            }
            Process::Waiting | Process::Backoff { .. } | Process::Scheduled => {
                self.process = Process::Down
            }
            // Once gone, `after_gone` reads the goal. Spawning: `Spawned` stops it as soon
            // as its pid is known.
            Process::Stopping { .. }
            | Process::Cleaning { .. }
            | Process::Spawning
            | Process::Down
            | Process::Failed => {}
        }
    }

    /// Start on request: no spacing, counters and the held mark cleared.
    fn start_requested(&mut self, verb: &str, out: &mut Out) {
        let was_held = self.goal == Goal::Held;
        if was_held {
            self.goal = Goal::Up;
        }
        self.policy.quick_deaths = 0;
        if was_held {
            // Ticks passed while it was stopped are not made up: counted afresh.
            self.ticks = None;
        }
        let name = &self.cfg.name;
        match self.process {
            Process::Down | Process::Failed | Process::Backoff { .. } | Process::Scheduled => {
                out.log(Level::Info, format!("{name}: {verb} requested"));
                self.spawn(out);
            }
            Process::Running { .. } if self.diagnostic.is_some() => {
                self.policy.next = Next::StartNow
            }
            Process::Stopping { .. } | Process::Cleaning { .. } => {
                self.policy.next = Next::StartNow
            }
            // Running, starting, waiting for its `after`, or diagnosing before a restart.
            Process::Waiting
            | Process::Spawning
            | Process::Running { .. }
            | Process::Dead { .. } => {
                if was_held {
                    out.log(Level::Info, format!("{name}: {verb} requested"));
                }
            }
        }
    }
}

/// A duration in whole milliseconds, for an event's `uptime_ms`.
fn ms_of(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
