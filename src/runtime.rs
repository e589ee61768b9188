//! The one event loop: sleep in poll() until a signal or the core's next deadline, then
//! drain signals, reap every child, expire deadlines, and carry out what the core asks.
//!
//! One thread, no sleeps, no periodic tick. Nothing here decides policy; nothing here may
//! panic or give up on an error about one process (upkeep is PID 1).

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::os::{self, platform, reap, signals, spawn};
use crate::supervisor::{Action, Event, Level, MainOptions, Proc, Supervisor};

pub struct RunSpec {
    pub main_argv: Vec<OsString>,
    pub main: MainOptions,
    pub parent_death_signal: Option<i32>,
}

/// Runs until the core says to exit; returns the exit status.
pub fn run(spec: RunSpec) -> i32 {
    platform::close_inherited_on_exec();
    // Handlers first: as PID 1, a signal with no handler is simply dropped by the kernel.
    let mut delivery = match signals::install() {
        Ok(d) => d,
        Err(e) => {
            log::error!("cannot install signal handlers: {e}");
            return 1;
        }
    };
    if let Some(Err(e)) = spec
        .parent_death_signal
        .map(platform::set_parent_death_signal)
    {
        log::warn!("cannot set the parent-death signal: {e}");
    }
    if let Err(e) = platform::become_subreaper() {
        log::warn!("not PID 1 and cannot become a subreaper ({e}): orphans will not be reaped");
    }

    let mut sup = Supervisor::new(spec.main, Instant::now());
    loop {
        while let Some(action) = sup.poll_action() {
            match action {
                Action::Spawn(proc) => {
                    let event = spawn_proc(proc, &spec.main_argv);
                    sup.handle_event(Instant::now(), event);
                }
                Action::Kill { pid, sig, group } => {
                    if let Err(e) = os::send_signal(pid, sig, group) {
                        log::warn!("cannot signal pid {pid}: {e}");
                    }
                }
                Action::Log(level, text) => match level {
                    Level::Warn => log::warn!("{text}"),
                    Level::Info => log::info!("{text}"),
                    Level::Debug => log::debug!("{text}"),
                },
                Action::Exit(status) => return status,
            }
        }

        let timeout = sup.poll_timeout().map_or(PollTimeout::NONE, |t| {
            ceil_ms(t.saturating_duration_since(Instant::now()))
        });
        let mut fds = [PollFd::new(delivery.get_read().as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => log::error!("poll failed: {e}"),
        }

        let now = Instant::now();
        // Drain first, then act: a signal that arrives while we act wakes the next poll.
        for sig in delivery.pending() {
            if sig != libc::SIGCHLD {
                sup.handle_event(now, Event::Signal(sig));
            }
        }
        // Reap on every wake-up: SIGCHLDs coalesce, and one may have arrived before the handler.
        for (pid, exit) in reap::reap_all() {
            sup.handle_event(now, Event::Exited { pid, exit });
        }
        sup.handle_timeout(now);
    }
}

fn spawn_proc(proc: Proc, main_argv: &[OsString]) -> Event {
    let spec = match proc {
        Proc::Main => {
            let mut spec =
                spawn::SpawnSpec::new(main_argv.to_vec(), spawn::Grouping::ForegroundGroup);
            spec.stdin_null = false;
            spec
        }
    };
    match spawn::spawn(spec) {
        Ok(pid) => Event::Spawned { proc, pid },
        Err(e) => Event::SpawnFailed {
            proc,
            status: spawn::exec_failure_status(&e),
            reason: spawn::exec_failure_reason(&e),
        },
    }
}

/// A poll timeout that never undershoots: a deadline 0.4 ms away must not become 0 ms and spin.
fn ceil_ms(d: Duration) -> PollTimeout {
    let ms = d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        assert_eq!(ceil_ms(Duration::from_micros(400)), PollTimeout::from(1u16));
        assert_eq!(ceil_ms(Duration::ZERO), PollTimeout::ZERO);
        assert_eq!(ceil_ms(Duration::from_millis(5)), PollTimeout::from(5u16));
        assert_eq!(ceil_ms(Duration::from_secs(10_000_000)), PollTimeout::MAX);
    }
}
