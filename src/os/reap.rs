//! Reaping: `waitpid(-1, WNOHANG)` until nothing is left, on every wake-up.
//!
//! One SIGCHLD can stand for many exits, and as PID 1 or a subreaper upkeep also inherits
//! orphans it never started, so the loop collects every zombie, not just known ones.

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::types::Exit;

/// Every child that has ended since the last call, with how it ended, and whether upkeep
/// has no children left at all (ECHILD).
pub fn reap_all() -> (Vec<(i32, Exit)>, bool) {
    let mut reaped = Vec::new();
    let mut none_left = false;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => reaped.push((pid.as_raw(), Exit::Code(code))),
            Ok(WaitStatus::Signaled(pid, sig, _)) => {
                reaped.push((pid.as_raw(), Exit::Signal(sig as i32)))
            }
            Ok(WaitStatus::StillAlive) => break,
            Err(Errno::ECHILD) => {
                none_left = true;
                break;
            }
            // Stopped/continued reports are not asked for; skip them if they come.
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                log::error!("waitpid failed: {e}");
                break;
            }
        }
    }
    (reaped, none_left)
}
