//! One service's state machine. Every transition is in `handle`, one match over (state,
//! input); the data a state needs lives in its variant.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::admin::Status;
use super::checks::{Checks, Health, Verdict};
use super::output::{LineSplitter, Tail};
use super::{Action, Level, Out, Owner, ServiceId, spacing};
use crate::config::{Output, Restart, Service};
use crate::types::{Exit, Grouping, Sink, SpawnPlan, Stdio, fmt_duration, shell, signame};

/// What follows once a dead service's diagnostic and leftovers are dealt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    Restart,
    /// Start again at once, no spacing: a requested restart.
    Start,
    Down,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Not started yet: waiting for the services it comes `after`.
    Waiting,
    /// Spawn asked for, answer pending.
    Starting,
    Running {
        pid: i32,
        since: Instant,
    },
    /// The pre-restart diagnostic runs (pid None until spawned); `pgid` is the dead
    /// service's group, cleaned up next.
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
    /// Not ready in time, or unhealthy: its diagnostic runs (pid None until spawned) while
    /// it still does, then it is stopped and `then` follows.
    Failing {
        pid: i32,
        since: Instant,
        diagnose: Option<i32>,
        kill_at: Instant,
        then: Then,
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

/// What upkeep has heard of a service's output.
#[derive(Debug, Clone)]
pub(crate) struct Heard {
    /// Its stdout's and stderr's partial lines.
    lines: [LineSplitter; 2],
    tail: Tail,
}

impl Heard {
    fn new(cap: usize) -> Heard {
        Heard {
            lines: Default::default(),
            tail: Tail::new(cap),
        }
    }
}

fn splitter(lines: &mut [LineSplitter; 2], stderr: bool) -> &mut LineSplitter {
    let [stdout_lines, stderr_lines] = lines;
    if stderr { stderr_lines } else { stdout_lines }
}

/// What a service tells the router, past its actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A critical service stopped for good on its own: upkeep stops everything.
    CriticalStopped { status: i32 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// The services it comes `after` are up: start.
    Start,
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
    DiagnoseExited(Exit),
    GroupProbed(bool),
    /// A process that was no one's was reaped: perhaps the last of a group being cleaned.
    StrangerReaped,
    /// A deadline of this service's has passed.
    Timeout,
    /// upkeep began stopping everything: no more waits, backoffs or diagnostics.
    Shutdown,
    /// In the shutdown, everything started after this service is down: stop it.
    StopForShutdown,
    /// A second TERM: SIGKILL now.
    KillNow,
    /// `upkeep stop`: down, and kept down until started.
    Hold,
    /// `upkeep start` (the word is for the log line).
    Release(&'a str),
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
    /// The service said it is ready, or how it is (`STATUS=`).
    Notified {
        ready: bool,
        status: Option<&'a str>,
    },
    /// A reload changed only its `ready` or `health`: new checks from now on.
    Rechecked,
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceRun {
    id: ServiceId,
    pub cfg: Service,
    state: State,
    last_start: Option<Instant>,
    quick_deaths: u32,
    restarts: u32,
    last_exit: Option<Exit>,
    /// Stopped on request: stays down until started.
    held: bool,
    retired: bool,
    /// Its output's partial lines and recent lines: allocated when it first writes, so a
    /// thousand quiet services cost next to nothing.
    output: Option<Box<Heard>>,
    /// The current run's readiness and health checks.
    checks: Checks,
    /// Ready at least once: a service that comes after it, or COMMAND, may start.
    ever_ready: bool,
}

impl ServiceRun {
    pub fn new(id: ServiceId, cfg: Service, held: bool) -> ServiceRun {
        ServiceRun {
            id,
            cfg,
            state: if held { State::Down } else { State::Waiting },
            last_start: None,
            quick_deaths: 0,
            restarts: 0,
            last_exit: None,
            held,
            retired: false,
            output: None,
            checks: Checks::default(),
            ever_ready: false,
        }
    }

    /// Every transition of a service.
    pub fn handle(
        &mut self,
        now: Instant,
        input: Input,
        shutting_down: bool,
        out: &mut Out,
    ) -> Option<Notice> {
        use Input as I;
        use State as S;
        let name = self.cfg.name.clone();
        match (self.state, input) {
            (S::Waiting, I::Start) => self.spawn(out),
            (S::Starting, I::Spawned(pid)) => {
                out.log(Level::Info, format!("{name} started, pid {pid}"));
                self.last_start = Some(now);
                self.state = S::Running { pid, since: now };
                // Stopped or retired while its start was under way.
                if self.held || self.retired {
                    self.stop_running(now, Then::Down, out);
                } else {
                    self.checks.start(now, self.id, &self.cfg, out);
                    self.ever_ready |= self.checks.is_ready();
                }
            }
            (S::Starting, I::SpawnFailed { status, reason }) => {
                // A start that fails counts as a quick death: same spacing, same give-up.
                self.last_start = Some(now);
                self.quick_deaths += 1;
                self.last_exit = Some(Exit::Code(status));
                let then = self.decide(Some(Exit::Code(status)), shutting_down);
                let cmd = self.cfg.command.first().cloned().unwrap_or_default();
                let what = format!("{name}: cannot start {cmd}: {reason}");
                self.log_end(now, what, then, shutting_down, None, out);
                return self.after_cleaning(now, then, shutting_down, out);
            }
            (S::Running { pid: p, since }, I::Exited { pid, exit }) if p == pid => {
                self.died(now, pid, since, exit, shutting_down, out);
            }
            (
                S::Stopping {
                    pid: p,
                    since,
                    kill_at,
                    then,
                },
                I::Exited { pid, exit },
            ) if p == pid => {
                let uptime = now.saturating_duration_since(since);
                self.flush_output(out);
                out.log(
                    Level::Info,
                    format!("{name} stopped: {exit} after {}", fmt_duration(uptime)),
                );
                self.last_exit = Some(exit);
                // The stop signal went to the whole group already.
                self.state = S::Cleaning {
                    pgid: pid,
                    signalled: true,
                    kill_at,
                    then,
                };
                out.probe(Owner::Service(self.id), pid);
            }
            (
                S::Diagnosing {
                    pid: None,
                    pgid,
                    kill_at,
                },
                I::DiagnoseSpawned(pid),
            ) => {
                self.state = S::Diagnosing {
                    pid: Some(pid),
                    pgid,
                    kill_at,
                };
            }
            (
                S::Failing {
                    pid,
                    since,
                    diagnose: None,
                    kill_at,
                    then,
                },
                I::DiagnoseSpawned(d),
            ) => {
                self.state = S::Failing {
                    pid,
                    since,
                    diagnose: Some(d),
                    kill_at,
                    then,
                };
            }
            (
                S::Failing {
                    pid, since, then, ..
                },
                I::DiagnoseExited(_) | I::DiagnoseFailed(_),
            ) => {
                if let I::DiagnoseFailed(reason) = input {
                    out.log(
                        Level::Warn,
                        format!("{name} diagnose: cannot run: {reason}"),
                    );
                }
                self.state = S::Running { pid, since };
                self.stop_running(now, then, out);
            }
            (
                S::Failing {
                    pid,
                    since,
                    diagnose,
                    kill_at,
                    then,
                },
                I::Timeout,
            ) if kill_at <= now => {
                let limit = fmt_duration(self.cfg.diagnose_timeout);
                let text = format!("{name} diagnose still running after {limit}; killed it");
                out.kill_overdue(diagnose, Level::Info, text);
                self.state = S::Running { pid, since };
                self.stop_running(now, then, out);
            }
            (
                S::Failing {
                    pid: p,
                    since,
                    diagnose,
                    then,
                    ..
                },
                I::Exited { pid, exit },
            ) if p == pid => {
                if let Some(d) = diagnose {
                    out.kill(d, libc::SIGKILL, true);
                }
                self.flush_output(out);
                self.last_exit = Some(exit);
                let uptime = fmt_duration(now.saturating_duration_since(since));
                out.log(Level::Info, format!("{name} {exit} after {uptime}"));
                self.start_cleaning(pid, then, out);
            }
            (
                S::Failing {
                    pid,
                    since,
                    diagnose,
                    ..
                },
                I::KillNow,
            ) => {
                if let Some(d) = diagnose {
                    out.kill(d, libc::SIGKILL, true);
                }
                self.kill_now(pid, since, Then::Down, out);
            }
            (S::Failing { .. }, I::Shutdown) => self.take_down(now, Then::Down, out),
            // Its diagnostic was cut short (shutdown, stop) before its pid was known.
            (_, I::DiagnoseSpawned(pid)) => out.kill(pid, libc::SIGKILL, true),
            (S::Diagnosing { pgid, .. }, I::DiagnoseFailed(reason)) => {
                out.log(
                    Level::Warn,
                    format!("{name} diagnose: cannot run: {reason}"),
                );
                self.start_cleaning(pgid, Then::Restart, out);
            }
            (
                S::Diagnosing {
                    pid: Some(_), pgid, ..
                },
                I::DiagnoseExited(exit),
            ) => {
                if exit != Exit::Code(0) {
                    out.log(Level::Info, format!("{name} diagnose {exit}"));
                }
                let then = if shutting_down {
                    Then::Down
                } else {
                    Then::Restart
                };
                self.start_cleaning(pgid, then, out);
            }
            // A diagnostic killed by a shutdown or a stop: its cleanup has begun already.
            (_, I::DiagnoseExited(_) | I::DiagnoseFailed(_)) => {}
            (
                S::Cleaning {
                    pgid,
                    signalled,
                    kill_at,
                    then,
                },
                I::GroupProbed(alive),
            ) => {
                if !alive {
                    return self.after_cleaning(now, then, shutting_down, out);
                }
                if !signalled {
                    let sig = self.cfg.stop_signal;
                    out.log(
                        Level::Info,
                        format!(
                            "{name}: leftover processes in its group; sending {}",
                            signame::name(sig)
                        ),
                    );
                    out.kill(pgid, sig, true);
                }
                // Even after a SIGKILL, leftovers get a deadline: one stuck in the kernel, or
                // a zombie someone else must reap, must not hold upkeep for ever.
                self.state = S::Cleaning {
                    pgid,
                    signalled: true,
                    kill_at: kill_at.or(Some(now + self.cfg.stop_timeout)),
                    then,
                };
            }
            // A late answer: the group was dealt with another way (a second TERM).
            (_, I::GroupProbed(_)) => {}
            (S::Cleaning { pgid, .. }, I::StrangerReaped) => {
                out.probe(Owner::Service(self.id), pgid);
            }
            (_, I::StrangerReaped) => {}
            (S::Backoff { until }, I::Timeout) if until <= now => self.spawn(out),
            (S::Diagnosing { pid, pgid, kill_at }, I::Timeout) if kill_at <= now => {
                let limit = fmt_duration(self.cfg.diagnose_timeout);
                let text = format!("{name} diagnose still running after {limit}; killed it");
                out.kill_overdue(pid, Level::Info, text);
                self.start_cleaning(pgid, Then::Restart, out);
            }
            (
                S::Cleaning {
                    pgid,
                    kill_at: Some(at),
                    then,
                    ..
                },
                I::Timeout,
            ) if at <= now => {
                let text =
                    format!("{name}: leftover processes did not stop; killing its process group");
                out.kill_overdue(Some(pgid), Level::Info, text);
                // SIGKILL cannot be caught: carry on without waiting for the reaping.
                return self.after_cleaning(now, then, shutting_down, out);
            }
            (
                S::Stopping {
                    pid,
                    since,
                    kill_at: Some(at),
                    then,
                },
                I::Timeout,
            ) if at <= now => {
                let limit = fmt_duration(self.cfg.stop_timeout);
                out.log(
                    Level::Info,
                    format!("{name} did not stop within {limit}; killing its process group"),
                );
                self.kill_now(pid, since, then, out);
            }
            (S::Running { pid, since }, I::Timeout) => {
                let verdict = self.checks.due(now, self.id, &self.cfg, out);
                self.verdict(now, pid, since, verdict, out);
            }
            (_, I::Timeout) => {}
            (S::Running { .. }, I::CheckSpawned(pid)) if self.checks.spawned(pid) => {}
            // A check cut short before its pid was known, or one of an earlier run.
            (_, I::CheckSpawned(pid)) => out.kill(pid, libc::SIGKILL, true),
            (S::Running { pid, since }, I::CheckDone { pid: check, result }) => {
                let result = result.map_err(str::to_string);
                let verdict = self.checks.command_done(now, check, result, &self.cfg, out);
                self.verdict(now, pid, since, verdict, out);
            }
            (S::Running { pid, since }, I::Checked { seq, result }) => {
                let result = result.map_err(str::to_string);
                let verdict = self.checks.net_done(now, seq, result, &self.cfg, out);
                self.verdict(now, pid, since, verdict, out);
            }
            // The answer to a try cut short: the run it checked has ended.
            (_, I::CheckDone { .. } | I::Checked { .. }) => {}
            (S::Running { pid, since }, I::Notified { ready, status }) => {
                let text = status.map(str::to_string);
                let verdict = self.checks.notified(now, ready, text, &self.cfg);
                self.verdict(now, pid, since, verdict, out);
            }
            (_, I::Notified { .. }) => {}
            (S::Running { .. }, I::Rechecked) => {
                self.checks.reconfigure(now, self.id, &self.cfg, out);
                self.ever_ready |= self.checks.is_ready();
            }
            (_, I::Rechecked) => {}
            (S::Waiting | S::Backoff { .. }, I::Shutdown) => self.state = S::Down,
            (S::Running { .. }, I::Shutdown) => self.checks.stop(self.id, out),
            (S::Diagnosing { .. }, I::Shutdown) => self.take_down(now, Then::Down, out),
            (_, I::Shutdown) => {}
            (S::Running { .. }, I::StopForShutdown) => self.stop_running(now, Then::Down, out),
            (_, I::StopForShutdown) => {}
            (S::Running { pid, since } | S::Stopping { pid, since, .. }, I::KillNow) => {
                self.kill_now(pid, since, Then::Down, out);
            }
            (S::Cleaning { pgid, .. }, I::KillNow) => {
                out.kill(pgid, libc::SIGKILL, true);
                self.state = S::Down;
            }
            (_, I::KillNow) => {}
            (_, I::Hold) => {
                if !self.held {
                    self.held = true;
                    out.log(Level::Info, format!("{name}: stop requested"));
                }
                self.take_down(now, Then::Down, out);
            }
            (S::Running { .. }, I::Restart) => {
                out.log(Level::Info, format!("{name}: restart requested"));
                self.held = false;
                self.stop_running(now, Then::Start, out);
            }
            (_, I::Restart) => self.release("restart", out),
            (_, I::Release(verb)) => self.release(verb, out),
            (_, I::Retire) => {
                self.retired = true;
                self.take_down(now, Then::Down, out);
            }
            (state, input) => out.bug(format!("service {name}: {input:?} while {state:?}")),
        }
        None
    }

    // ---- transitions' pieces ----

    fn spawn(&mut self, out: &mut Out) {
        self.state = State::Starting;
        let cfg = &self.cfg;
        let mut plan = SpawnPlan::new(
            cfg.command.iter().map(OsString::from).collect(),
            Grouping::Session,
        );
        plan.env = cfg.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        plan.directory.clone_from(&cfg.directory);
        plan.credentials.clone_from(&cfg.credentials);
        let sink = match &cfg.output {
            Output::Inherit => None,
            Output::Null => {
                plan.stdio = Stdio::Null;
                None
            }
            Output::Log => Some(Sink::Log),
            Output::File(path) => Some(Sink::File {
                path: path.clone(),
                max_size: cfg.output_max_size,
                keep: cfg.output_keep,
                owner: cfg.credentials.as_ref().map(|c| (c.uid, c.gid)),
            }),
        };
        if let Some(sink) = sink {
            plan.stdio = Stdio::Service {
                id: self.id,
                name: cfg.name.clone(),
                sink,
            };
        }
        if let Some(crate::config::ReadyWay::Notify(n)) = cfg.ready.as_ref().map(|r| &r.way) {
            plan.notify = Some(*n);
        }
        // A death message quotes this run's output, not an earlier one's.
        if let Some(heard) = &mut self.output {
            heard.tail.new_run();
        }
        out.spawn(Owner::Service(self.id), plan);
    }

    /// Bytes read from its stdout or stderr: whole lines to `line` and to the tail.
    pub fn output(&mut self, stderr: bool, bytes: &[u8], line: &mut dyn FnMut(&str, bool, &[u8])) {
        let cap = self.cfg.output_tail;
        let heard = self.output.get_or_insert_with(|| Box::new(Heard::new(cap)));
        let Heard { lines, tail } = &mut **heard;
        let name = &self.cfg.name;
        splitter(lines, stderr).feed(bytes, |l| {
            tail.record(stderr, l);
            line(name, stderr, l);
        });
    }

    /// The main process is gone: a last line without a newline is a line now.
    fn flush_output(&mut self, out: &mut Out) {
        let Some(heard) = &mut self.output else {
            return;
        };
        let Heard { lines, tail } = &mut **heard;
        for stderr in [false, true] {
            let id = self.id;
            splitter(lines, stderr).flush(|l| {
                tail.record(stderr, l);
                out.actions.push_back(Action::ServiceLine {
                    id,
                    stderr,
                    line: l.to_vec(),
                });
            });
        }
    }

    /// Its last `n` lines of output, oldest first.
    pub fn recent_output(&self, n: usize) -> Vec<Vec<u8>> {
        self.output
            .as_ref()
            .map(|h| h.tail.lines(n))
            .unwrap_or_default()
    }

    fn died(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        exit: Exit,
        shutting_down: bool,
        out: &mut Out,
    ) {
        let uptime = now.saturating_duration_since(since);
        self.checks.stop(self.id, out);
        self.flush_output(out);
        self.last_exit = Some(exit);
        if uptime >= self.cfg.stable_after {
            self.quick_deaths = 0;
        } else {
            self.quick_deaths += 1;
        }
        let then = self.decide(Some(exit), shutting_down);
        let what = format!("{} {exit} after {}", self.cfg.name, fmt_duration(uptime));
        let last = self
            .output
            .as_ref()
            .and_then(|h| h.tail.last_line())
            .map(|l| format!("; last output: \"{l}\""));
        self.log_end(now, what, then, shutting_down, last.as_deref(), out);
        let Some(script) = self
            .cfg
            .diagnose
            .as_deref()
            .filter(|_| then == Then::Restart)
        else {
            return self.start_cleaning(pid, then, out);
        };
        let ending = match exit {
            Exit::Code(c) => ("UPKEEP_EXIT_CODE", c.to_string()),
            Exit::Signal(n) => ("UPKEEP_EXIT_SIGNAL", signame::name(n)),
        };
        let plan = self.diagnose_plan(script, pid, uptime, ending);
        self.state = State::Diagnosing {
            pid: None,
            pgid: pid,
            kill_at: now + self.cfg.diagnose_timeout,
        };
        out.spawn(Owner::Diagnose(self.id), plan);
    }

    /// The diagnostic's spawn: what it is told of the service in its environment, and the
    /// service's recent output in a file.
    fn diagnose_plan(
        &self,
        script: &str,
        pid: i32,
        uptime: std::time::Duration,
        why: (&str, String),
    ) -> SpawnPlan {
        let env = [
            ("UPKEEP_SERVICE", self.cfg.name.clone()),
            ("UPKEEP_PID", pid.to_string()),
            ("UPKEEP_UPTIME_MS", uptime.as_millis().to_string()),
            ("UPKEEP_RESTARTS", self.restarts.to_string()),
            why,
        ];
        let argv = shell(script).into_iter().map(OsString::from).collect();
        let mut plan = SpawnPlan::new(argv, Grouping::Session);
        plan.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        plan.directory.clone_from(&self.cfg.directory);
        plan.stdio = Stdio::Logged(format!("{} diagnose", self.cfg.name));
        plan.output_tail = Some(
            self.output
                .as_ref()
                .map(|h| h.tail.bytes())
                .unwrap_or_default(),
        );
        plan
    }

    /// What a check's verdict leads to.
    fn verdict(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        verdict: Option<Verdict>,
        out: &mut Out,
    ) {
        let name = &self.cfg.name;
        match verdict {
            None => {}
            Some(Verdict::Ready) => {
                self.ever_ready = true;
                let after = fmt_duration(now.saturating_duration_since(since));
                out.log(Level::Info, format!("{name} ready after {after}"));
            }
            Some(Verdict::NotReady(why)) => {
                let what = format!("{name} {why}");
                self.fail_run(now, pid, since, what, ("UPKEEP_NOT_READY", why), out);
            }
            Some(Verdict::Unhealthy(why)) => {
                let what = format!("{name} unhealthy: {why}");
                self.fail_run(now, pid, since, what, ("UPKEEP_UNHEALTHY", why), out);
            }
        }
    }

    /// A run that is not ready in time, or unhealthy, ends like a quick death: the line that
    /// says so, the diagnostic while it still runs, then a stop and the usual spacing.
    fn fail_run(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        what: String,
        why: (&'static str, String),
        out: &mut Out,
    ) {
        self.checks.stop(self.id, out);
        self.quick_deaths += 1;
        // Checks stop in a shutdown, so a failed run is never one of its moments.
        let then = self.decide(None, false);
        // The spacing counts from the end of the stop, not yet known.
        let next = self.what_next(then, false, None);
        out.log(Level::Warn, format!("{what}; stopping it, then {next}"));
        let diagnose = self.cfg.diagnose.clone().filter(|_| then == Then::Restart);
        let Some(script) = diagnose else {
            return self.stop_running(now, then, out);
        };
        let uptime = now.saturating_duration_since(since);
        let plan = self.diagnose_plan(&script, pid, uptime, why);
        self.state = State::Failing {
            pid,
            since,
            diagnose: None,
            kill_at: now + self.cfg.diagnose_timeout,
            then,
        };
        out.spawn(Owner::Diagnose(self.id), plan);
    }

    /// What the end of a run leads to, by policy; counts the restart when there is one.
    /// `exit`: how it died, or None for a run that failed its checks (a failure to
    /// `on-failure`).
    fn decide(&mut self, exit: Option<Exit>, shutting_down: bool) -> Then {
        let wanted = match self.cfg.restart {
            Restart::Always => true,
            Restart::OnFailure => exit != Some(Exit::Code(0)),
            Restart::Never => false,
        };
        if shutting_down || !wanted {
            return Then::Down;
        }
        if self.cfg.give_up_after > 0 && self.quick_deaths >= self.cfg.give_up_after {
            return Then::Fail;
        }
        self.restarts += 1;
        Then::Restart
    }

    /// What comes next, in the words of the log; `restart_in`: the spacing, when known.
    fn what_next(&self, then: Then, shutting_down: bool, restart_in: Option<Duration>) -> String {
        match (then, restart_in) {
            (Then::Restart, Some(wait)) => format!(
                "restarting in {} (restart {})",
                fmt_duration(wait),
                self.restarts
            ),
            (Then::Restart, None) => format!("restarting it (restart {})", self.restarts),
            (Then::Start, _) => "restarting it (request)".to_string(),
            (Then::Down, _) if shutting_down => "not restarting: shutting down".to_string(),
            (Then::Down, _) => {
                format!("not restarting (restart = {})", self.cfg.restart.as_str())
            }
            (Then::Fail, _) => format!(
                "giving up after {} quick deaths in a row; state failed",
                self.quick_deaths
            ),
        }
    }

    /// The one line that says how a run ended and what comes next.
    fn log_end(
        &self,
        now: Instant,
        what: String,
        then: Then,
        shutting_down: bool,
        last_output: Option<&str>,
        out: &mut Out,
    ) {
        let wait = self.next_start(now).saturating_duration_since(now);
        let next = self.what_next(then, shutting_down, Some(wait));
        let level = if then == Then::Fail {
            Level::Warn
        } else {
            Level::Info
        };
        out.log(
            level,
            format!("{what}; {next}{}", last_output.unwrap_or("")),
        );
    }

    fn start_cleaning(&mut self, pgid: i32, then: Then, out: &mut Out) {
        self.state = State::Cleaning {
            pgid,
            signalled: false,
            kill_at: None,
            then,
        };
        out.probe(Owner::Service(self.id), pgid);
    }

    fn after_cleaning(
        &mut self,
        now: Instant,
        then: Then,
        shutting_down: bool,
        out: &mut Out,
    ) -> Option<Notice> {
        let kept_down = self.held || self.retired;
        let then = match then {
            Then::Restart | Then::Start if shutting_down || kept_down => Then::Down,
            then => then,
        };
        match then {
            Then::Start => self.spawn(out),
            Then::Restart => {
                let next = self.next_start(now);
                if next <= now {
                    self.spawn(out);
                } else {
                    self.state = State::Backoff { until: next };
                }
            }
            Then::Down | Then::Fail => {
                self.state = if then == Then::Fail {
                    State::Failed
                } else {
                    State::Down
                };
                if self.cfg.critical && !shutting_down && !kept_down {
                    let status = self.last_exit.map_or(0, Exit::status) & 0xff;
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

    /// When the next start may come: `restart_delay` after the previous start, doubled for
    /// each consecutive quick death beyond the first, capped at `restart_delay_max`.
    fn next_start(&self, now: Instant) -> Instant {
        let gap = spacing(
            self.cfg.restart_delay,
            self.cfg.restart_delay_max,
            self.quick_deaths,
        );
        self.last_start.map_or(now, |t| t + gap)
    }

    /// Sends the running service its stop signal (to the whole group), SIGKILL at the
    /// timeout; once it is gone, `then`.
    fn stop_running(&mut self, now: Instant, then: Then, out: &mut Out) {
        let State::Running { pid, since } = self.state else {
            return;
        };
        self.checks.stop(self.id, out);
        let sig = self.cfg.stop_signal;
        out.log(
            Level::Info,
            format!(
                "{} stopping (pid {pid}, {})",
                self.cfg.name,
                signame::name(sig)
            ),
        );
        out.kill(pid, sig, true);
        self.state = State::Stopping {
            pid,
            since,
            kill_at: Some(now + self.cfg.stop_timeout),
            then,
        };
    }

    /// SIGKILL to the service's whole group; it stays Stopping until its death is reaped.
    fn kill_now(&mut self, pid: i32, since: Instant, then: Then, out: &mut Out) {
        self.checks.stop(self.id, out);
        out.kill(pid, libc::SIGKILL, true);
        self.state = State::Stopping {
            pid,
            since,
            kill_at: None,
            then,
        };
    }

    /// Whatever the service is doing, brings it down; `then` once it is gone.
    fn take_down(&mut self, now: Instant, then: Then, out: &mut Out) {
        match &mut self.state {
            State::Running { .. } => self.stop_running(now, then, out),
            State::Failing {
                pid,
                since,
                diagnose,
                ..
            } => {
                let (pid, since) = (*pid, *since);
                if let Some(d) = *diagnose {
                    out.kill(d, libc::SIGKILL, true);
                }
                self.state = State::Running { pid, since };
                self.stop_running(now, then, out);
            }
            State::Stopping { then: t, .. } | State::Cleaning { then: t, .. } => *t = then,
            State::Diagnosing { pid, pgid, .. } => {
                let pgid = *pgid;
                if let Some(pid) = *pid {
                    out.kill(pid, libc::SIGKILL, true);
                }
                self.start_cleaning(pgid, then, out);
            }
            State::Waiting | State::Backoff { .. } => self.state = State::Down,
            // Starting: `Spawned` stops it as soon as its pid is known.
            State::Starting | State::Down | State::Failed => {}
        }
    }

    /// Start on request: no spacing, counters and the held mark cleared.
    fn release(&mut self, verb: &str, out: &mut Out) {
        let was_held = self.held;
        self.held = false;
        self.quick_deaths = 0;
        match &mut self.state {
            State::Down | State::Failed | State::Backoff { .. } => {
                out.log(Level::Info, format!("{}: {verb} requested", self.cfg.name));
                self.spawn(out);
            }
            State::Stopping { then, .. }
            | State::Cleaning { then, .. }
            | State::Failing { then, .. } => *then = Then::Start,
            // Running, starting, waiting for its `after`, or diagnosing before a restart.
            State::Waiting | State::Starting | State::Running { .. } | State::Diagnosing { .. } => {
                if was_held {
                    out.log(Level::Info, format!("{}: {verb} requested", self.cfg.name));
                }
            }
        }
    }

    // ---- what the router and status read ----

    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Backoff { until } => Some(until),
            State::Diagnosing { kill_at, .. } | State::Failing { kill_at, .. } => Some(kill_at),
            State::Running { .. } => self.checks.deadline(),
            State::Cleaning { kill_at, .. } | State::Stopping { kill_at, .. } => kill_at,
            _ => None,
        }
    }

    /// A deadline has passed, or a check may go out early to share this wake-up.
    pub fn is_due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|t| t <= now)
            || (self.is_running() && self.checks.try_due(now, &self.cfg))
    }

    pub fn is_waiting(&self) -> bool {
        self.state == State::Waiting
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Running, and ready.
    pub fn is_ready(&self) -> bool {
        self.is_running() && self.checks.is_ready()
    }

    /// What a service that comes `after` it (or COMMAND) waits for: ready now, or ready once
    /// and finished as its policy says (a one-shot job), or stopped on request.
    pub fn lets_others_start(&self) -> bool {
        self.is_ready() || self.held || (self.ever_ready && self.state == State::Down)
    }

    /// Down or failed for good without ever having been ready: whatever waits for it would
    /// wait for ever.
    pub fn gave_up_unready(&self) -> bool {
        !self.held
            && !self.retired
            && (self.state == State::Failed || (self.state == State::Down && !self.ever_ready))
    }

    pub fn health(&self) -> Health {
        self.checks.health(&self.cfg, self.is_running())
    }

    /// What `status` notes of it: its own words (`STATUS=`), else why it is not ready or
    /// not healthy.
    pub fn note(&self) -> Option<String> {
        match self.checks.status_text() {
            Some(text) => Some(text.to_string()),
            None => self.checks.trouble(&self.cfg),
        }
    }

    pub fn is_cleaning(&self) -> bool {
        matches!(self.state, State::Cleaning { .. })
    }

    pub fn is_down(&self) -> bool {
        matches!(self.state, State::Down | State::Failed)
    }

    pub fn is_retired(&self) -> bool {
        self.retired
    }

    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Not between two states: what a waiting `start`, `stop` or `restart` waits for.
    pub fn is_settled(&self) -> bool {
        match self.state {
            // Started but not ready yet is still on its way (`upkeep start` answers once the
            // service can be used, or its ready timeout has failed the start).
            State::Running { .. } => self.checks.is_ready(),
            State::Backoff { .. } | State::Down | State::Failed | State::Waiting => true,
            _ => false,
        }
    }

    /// Nothing runs and nothing is under way: a reload may swap its definition in place.
    pub fn is_idle(&self) -> bool {
        matches!(
            self.state,
            State::Down | State::Failed | State::Waiting | State::Backoff { .. }
        )
    }

    /// The main process and since when it runs, while there is one.
    pub fn process(&self) -> Option<(i32, Instant)> {
        match self.state {
            State::Running { pid, since }
            | State::Stopping { pid, since, .. }
            | State::Failing { pid, since, .. } => Some((pid, since)),
            _ => None,
        }
    }

    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    pub fn last_exit(&self) -> Option<Exit> {
        self.last_exit
    }

    pub fn status(&self, shutting_down: bool) -> Status {
        match self.state {
            State::Waiting => Status::Waiting,
            State::Starting => Status::Starting,
            State::Running { .. } if !self.checks.is_ready() => Status::Starting,
            State::Running { .. } => Status::Running,
            State::Diagnosing { .. } | State::Failing { .. } => Status::Diagnosing,
            State::Cleaning { .. } => Status::Cleaning,
            State::Backoff { .. } => Status::Backoff,
            State::Stopping { .. } => Status::Stopping,
            State::Down if self.held => Status::Stopped,
            State::Down => {
                // Down is fine when its policy says it is done, or in a shutdown.
                let finished = matches!(
                    (self.cfg.restart, self.last_exit),
                    (_, None) | (Restart::Never | Restart::OnFailure, Some(Exit::Code(0)))
                );
                if finished || shutting_down {
                    Status::Done
                } else {
                    Status::Down
                }
            }
            State::Failed => Status::Failed,
        }
    }

    #[cfg(test)]
    pub fn checks(&self) -> &Checks {
        &self.checks
    }

    #[cfg(test)]
    pub fn state(&self) -> State {
        self.state
    }
}
