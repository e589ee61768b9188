//! The pure core: what upkeep decides, given what happened.
//!
//! Events go in (`handle_event`, `handle_timeout`), actions come out (`poll_action`), and
//! `poll_timeout` names the next deadline. No system calls and no clock reads happen here: the
//! runtime passes `now` in, so every rule is a fast unit test with simulated time.

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use crate::signame;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warn,
    #[allow(dead_code)] // services, next
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Spawn(Proc),
    /// Send `sig` to `pid`, or to its process group.
    Kill {
        pid: i32,
        sig: i32,
        group: bool,
    },
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MainState {
    Starting,
    Running { pid: i32 },
    Ended,
}

pub struct Supervisor {
    main_opts: MainOptions,
    main: MainState,
    actions: VecDeque<Action>,
}

impl Supervisor {
    pub fn new(main_opts: MainOptions, _now: Instant) -> Self {
        let mut actions = VecDeque::new();
        actions.push_back(Action::Spawn(Proc::Main));
        Supervisor {
            main_opts,
            main: MainState::Starting,
            actions,
        }
    }

    pub fn handle_event(&mut self, _now: Instant, event: Event) {
        match event {
            Event::Spawned {
                proc: Proc::Main,
                pid,
            } => {
                self.log(
                    Level::Debug,
                    format!("{} started, pid {pid}", self.main_opts.name),
                );
                self.main = MainState::Running { pid };
            }
            Event::SpawnFailed {
                proc: Proc::Main,
                status,
                reason,
            } => {
                self.log(Level::Warn, format!("{}: {reason}", self.main_opts.name));
                self.main = MainState::Ended;
                self.actions.push_back(Action::Exit(status));
            }
            Event::Exited { pid, exit } => self.handle_exit(pid, exit),
            Event::Signal(sig) => self.forward(sig),
        }
    }

    /// Expires deadlines; extra calls are harmless.
    pub fn handle_timeout(&mut self, _now: Instant) {}

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_exit(&mut self, pid: i32, exit: Exit) {
        match self.main {
            MainState::Running { pid: main } if main == pid => {
                self.main = MainState::Ended;
                let status = match exit.status() {
                    s if self.main_opts.success_codes.contains(&s) => 0,
                    // Exit statuses are 8 bits (128+N stays below 256 for real signals).
                    s => s & 0xff,
                };
                self.log(
                    Level::Debug,
                    format!("{} (pid {pid}) {exit}", self.main_opts.name),
                );
                self.actions.push_back(Action::Exit(status));
            }
            _ => {
                let level = if self.main_opts.warn_on_reap {
                    Level::Warn
                } else if self.main_opts.debug {
                    Level::Debug
                } else {
                    return;
                };
                self.log(level, format!("reaped zombie pid {pid} ({exit})"));
            }
        }
    }

    fn forward(&mut self, sig: i32) {
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

    fn log(&mut self, level: Level, text: String) {
        if level == Level::Debug && !self.main_opts.debug {
            return;
        }
        self.actions.push_back(Action::Log(level, text));
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

    fn started(opts: MainOptions) -> (Supervisor, Instant) {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(opts, t0);
        assert_eq!(drain(&mut sup), vec![Action::Spawn(Proc::Main)]);
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
        let mut sup = Supervisor::new(opts(), t0);
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

    #[test]
    fn no_deadline_while_idle() {
        let (sup, _) = started(opts());
        assert_eq!(sup.poll_timeout(), None);
    }
}
