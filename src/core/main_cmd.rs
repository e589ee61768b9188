//! The single COMMAND (tini mode, or the main process beside services): started once no
//! service waits, signals forwarded to it, its exit code (through `-e`) upkeep's own.

use super::{Level, MainOptions, Out, Owner};
use crate::types::{Exit, signame};

/// upkeep's exit status for COMMAND's `exit`: 0 for the codes `-e` names, else the shell's
/// convention, 8 bits (128+N for signal N).
pub fn exit_status(exit: Exit, success_codes: &[i32]) -> i32 {
    match exit.status() {
        s if success_codes.contains(&s) => 0,
        s => s & 0xff,
    }
}

/// The line for an orphan reaped (`-w` warns with it; debug logging shows it).
pub fn reaped_zombie(pid: i32, exit: Exit) -> String {
    format!("reaped zombie pid {pid} ({exit})")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotStarted,
    Starting,
    Running { pid: i32 },
    Ended,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    Spawned(i32),
    SpawnFailed(i32, &'a str),
    Exited(i32, Exit),
}

#[derive(Debug, Clone)]
pub(crate) struct MainCmd {
    opts: MainOptions,
    state: State,
}

impl MainCmd {
    pub fn new(opts: MainOptions) -> MainCmd {
        MainCmd {
            opts,
            state: State::NotStarted,
        }
    }

    /// Every transition of COMMAND's process; returns upkeep's exit status once it ended.
    /// `loud`: its exit is worth an info line (beside services), not only a debug one.
    pub fn handle(
        &mut self,
        input: Input,
        loud: bool,
        shutting_down: bool,
        out: &mut Out,
    ) -> Option<i32> {
        let name = &self.opts.name;
        match (self.state, input) {
            (State::Starting, Input::Spawned(pid)) => {
                out.log(Level::Debug, format!("{name} started, pid {pid}"));
                self.state = State::Running { pid };
                // A TERM came while the spawn was under way.
                if shutting_down {
                    out.kill(pid, libc::SIGTERM, self.opts.signal_group);
                }
                None
            }
            (State::Starting, Input::SpawnFailed(status, reason)) => {
                out.log(Level::Warn, format!("{name}: {reason}"));
                self.state = State::Ended;
                Some(status)
            }
            (State::Running { pid: p }, Input::Exited(pid, exit)) if p == pid => {
                self.state = State::Ended;
                let status = exit_status(exit, &self.opts.success_codes);
                let level = if loud { Level::Info } else { Level::Debug };
                out.log(level, format!("{name} (pid {pid}) {exit}"));
                Some(status)
            }
            (state, input) => {
                out.bug(format!("COMMAND {name}: {input:?} while {state:?}"));
                None
            }
        }
    }

    /// Asks for COMMAND's spawn, once.
    pub fn start(&mut self, out: &mut Out) {
        if self.state != State::NotStarted {
            return;
        }
        self.state = State::Starting;
        out.spawn(Owner::Main, self.opts.plan());
    }

    /// A signal to upkeep that goes on to COMMAND.
    pub fn forward(&mut self, sig: i32, out: &mut Out) {
        let Some(sig) = self.opts.rewritten(sig) else {
            return;
        };
        match self.state {
            State::Running { pid } => out.kill(pid, sig, self.opts.signal_group),
            _ => out.log(
                Level::Debug,
                format!(
                    "signal {} with no command to forward it to",
                    signame::name(sig)
                ),
            ),
        }
    }

    /// The shutdown: COMMAND gets `sig`; one not started yet never will be.
    pub fn terminate(&mut self, sig: i32, out: &mut Out) {
        match self.state {
            State::Running { pid } => out.kill(pid, sig, self.opts.signal_group),
            State::NotStarted => self.state = State::Ended,
            State::Starting | State::Ended => {}
        }
    }

    pub fn kill(&mut self, out: &mut Out) {
        if let State::Running { pid } = self.state {
            out.kill(pid, libc::SIGKILL, true);
        }
    }

    /// Not started yet, and it still may be.
    pub fn is_pending(&self) -> bool {
        self.state == State::NotStarted
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Ended
    }

    pub fn warn_on_reap(&self) -> bool {
        self.opts.warn_on_reap
    }

    pub fn name(&self) -> &str {
        &self.opts.name
    }

    pub fn pid(&self) -> Option<i32> {
        match self.state {
            State::Running { pid } => Some(pid),
            _ => None,
        }
    }

    /// For `status`: running, starting or exited.
    pub fn status(&self) -> super::Status {
        match self.state {
            State::Running { .. } => super::Status::Running,
            State::NotStarted | State::Starting => super::Status::Starting,
            State::Ended => super::Status::Exited,
        }
    }
}
