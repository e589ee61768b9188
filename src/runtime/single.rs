//! tini's job with nothing else to do: COMMAND and no config, no control socket, no debug
//! log. Then only signals and children can wake upkeep, and the general loop's poll(), self-
//! pipe and per-wake-up bookkeeping are pure cost: this loop blocks in `waitpid(-1)` (one
//! system call per reaped child; tini makes three) and a signal handler forwards each signal
//! to COMMAND with `kill` (async-signal-safe). What it decides (which signals, exit status,
//! `-w` warnings) is what the core decides for tini mode; `tests/single_command.rs` runs
//! tini's own tests against it.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::core::MainOptions;
use crate::core::main_cmd::{exit_status, reaped_zombie};
use crate::os::{signals, spawn};
use crate::types::Exit;

/// COMMAND's pid for the handler (0 until spawned), and whether its group gets the signals.
static TARGET: AtomicI32 = AtomicI32::new(0);
static TO_GROUP: AtomicBool = AtomicBool::new(false);
/// dumb-init's `-r`: what each signal is forwarded as (-1: itself, 0: dropped).
static REWRITE: [AtomicI32; 65] = [const { AtomicI32::new(-1) }; 65];

extern "C" fn forward(sig: libc::c_int) {
    let errno = Errno::last_raw();
    let pid = TARGET.load(Ordering::Relaxed);
    let sig = match REWRITE.get(sig as usize).map(|r| r.load(Ordering::Relaxed)) {
        Some(0) => return Errno::set_raw(errno),
        Some(r) if r > 0 => r,
        _ => sig,
    };
    if pid > 0 {
        let target = if TO_GROUP.load(Ordering::Relaxed) {
            -pid
        } else {
            pid
        };
        // SAFETY: kill(2) is async-signal-safe; the target is COMMAND (or its group), never 0
        // or -1.
        unsafe { libc::kill(target, sig) };
    }
    Errno::set_raw(errno);
}

/// Whether this run can take the fast path.
pub fn applies(single: bool, socket: bool, main: Option<&MainOptions>) -> bool {
    single && !socket && main.is_some() && !log::log_enabled!(log::Level::Debug)
}

/// Runs COMMAND as tini does; returns upkeep's exit status. `take_roles` runs once the
/// handlers are in place, before COMMAND starts (the parent-death signal, the subreaper).
pub fn run(main: &MainOptions, take_roles: impl FnOnce()) -> i32 {
    for (sig, to) in &main.rewrite {
        if let Some(slot) = REWRITE.get(*sig as usize) {
            slot.store(*to, Ordering::Relaxed);
        }
    }
    let forwarded: Vec<i32> = signals::handled()
        .into_iter()
        .filter(|&s| s != libc::SIGCHLD)
        .collect();
    // Blocked until COMMAND's pid is known: a signal that comes first is forwarded then, not
    // lost. The child's own mask is set empty by the spawn.
    let ready = signals::unblock_all()
        .and_then(|()| signals::set_blocked(&forwarded, true))
        .and_then(|()| signals::install_raw(&forwarded, forward));
    if let Err(e) = ready {
        log::error!("cannot install signal handlers: {e}");
        return 1;
    }
    take_roles();
    let pid = match spawn::spawn(&main.plan(), spawn::ChildFds::default()) {
        Ok(pid) => pid,
        Err(e) => {
            log::warn!("{}: {}", main.name, spawn::exec_failure_reason(&e));
            return spawn::exec_failure_status(&e);
        }
    };
    TO_GROUP.store(main.signal_group, Ordering::Relaxed);
    TARGET.store(pid, Ordering::Relaxed);
    if let Err(e) = signals::set_blocked(&forwarded, false) {
        log::error!("cannot unblock signals: {e}");
    }
    let status = loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(status) => {
                if let Some((p, exit)) = reaped(status)
                    && let Some(status) = ended(main, pid, p, exit)
                {
                    break status;
                }
            }
            Err(Errno::EINTR) => {}
            // COMMAND cannot be gone unseen; if the kernel says so, there is nothing to wait for.
            Err(e) => {
                log::error!("waitpid failed: {e}");
                break 1;
            }
        }
    };
    TARGET.store(0, Ordering::Relaxed);
    // Zombies that are ready now are reaped on the way out, as the general loop does.
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        match reaped(status) {
            Some((p, exit)) => drop(ended(main, pid, p, exit)),
            None => break,
        }
    }
    crate::logging::flush_before_exit(std::time::Duration::from_millis(200));
    status
}

/// A child ended: COMMAND's end is upkeep's exit status; any other is an orphan reaped.
fn ended(main: &MainOptions, command: i32, pid: i32, exit: Exit) -> Option<i32> {
    if pid == command {
        return Some(exit_status(exit, &main.success_codes));
    }
    if main.warn_on_reap {
        log::warn!("{}", reaped_zombie(pid, exit));
    }
    None
}

/// A child's end, from what waitpid said (None: nothing ended).
fn reaped(status: WaitStatus) -> Option<(i32, Exit)> {
    match status {
        WaitStatus::Exited(p, code) => Some((p.as_raw(), Exit::Code(code))),
        WaitStatus::Signaled(p, sig, _) => Some((p.as_raw(), Exit::Signal(sig as i32))),
        _ => None,
    }
}
