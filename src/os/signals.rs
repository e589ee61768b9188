//! Signal delivery into the event loop, signal names, and the clean slate children start from.
//!
//! Signals reach the loop through signal-hook's self-pipe (`SignalDelivery`), whose read end is
//! polled with everything else: no handler does more than write one byte, and the signal mask
//! of upkeep stays empty, so nothing has to be undone in children but the dispositions.

use std::io;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

/// The signals upkeep catches: every one it may be asked to forward, plus CHLD.
///
/// Left out, as tini does: the synchronous faults (FPE, ILL, SEGV, BUS, ABRT, TRAP, SYS), which
/// signal-hook refuses or which mean upkeep itself is broken; TTIN/TTOU, ignored so that a log
/// write to a terminal upkeep no longer owns cannot stop it; and PIPE, which std ignores so that
/// a closed stderr turns into an error, not into a signal forwarded to the command.
pub fn handled() -> Vec<i32> {
    let mut sigs = vec![
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGTERM,
        libc::SIGCHLD,
        libc::SIGCONT,
        libc::SIGTSTP,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGWINCH,
        libc::SIGIO,
    ];
    #[cfg(target_os = "linux")]
    {
        sigs.push(libc::SIGPWR);
        sigs.push(libc::SIGSTKFLT);
        sigs.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    }
    #[cfg(target_os = "freebsd")]
    {
        sigs.push(libc::SIGINFO);
        sigs.push(libc::SIGTHR);
        sigs.push(libc::SIGLIBRT);
    }
    sigs
}

/// Installs handlers for `caught` (`handled()`, or less) and returns the delivery whose read
/// end the loop polls.
pub fn install(caught: &[i32]) -> io::Result<SignalDelivery<UnixStream, SignalOnly>> {
    // Both ends of a socketpair are close-on-exec from creation, so no child inherits them.
    let (read, write) = UnixStream::pair()?;
    let delivery = SignalDelivery::with_pipe(read, write, SignalOnly, caught.iter().copied())?;
    // upkeep may have been started with signals blocked (tini's sigconf test does this): a
    // blocked SIGCHLD would never wake the loop.
    unblock_all()?;
    settle_dispositions(caught);
    Ok(delivery)
}

/// After the handlers: TTIN/TTOU ignored (a log line to a terminal upkeep no longer owns
/// must not stop it), and the ignored set that children reset computed once.
fn settle_dispositions(caught: &[i32]) {
    // SAFETY: setting SIG_IGN is async-signal-safe and touches no Rust state.
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
    }
    let _ = IGNORED.set(find_ignored(caught));
}

/// The single-command fast path's installation: `handler` for every signal of `caught`,
/// with SA_RESTART so that a blocking wait goes on after it, TTIN/TTOU ignored. The mask is
/// the caller's to manage.
pub fn install_raw(caught: &[i32], handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    for &sig in caught {
        // SAFETY: a plain sigaction with a handler that makes only async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigfillset(&mut action.sa_mask);
            if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    settle_dispositions(caught);
    Ok(())
}

/// Blocks `sigs` (or, with `block` false, unblocks them).
pub fn set_blocked(sigs: &[i32], block: bool) -> io::Result<()> {
    let mut set = empty_set();
    for &sig in sigs {
        // SAFETY: set is initialised; sigaddset only flips a bit.
        unsafe { libc::sigaddset(&mut set, sig) };
    }
    set_mask(
        if block {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        },
        &set,
    )
}

/// Empties the signal mask (upkeep may have been started with signals blocked).
pub fn unblock_all() -> io::Result<()> {
    set_mask(libc::SIG_SETMASK, &empty_set())
}

static IGNORED: OnceLock<Vec<i32>> = OnceLock::new();

/// The signals ignored in upkeep: SIG_IGN survives execve (handlers do not), so these are the
/// only dispositions a child has to reset. Computed once by `install`, before any spawn.
pub fn ignored() -> &'static [i32] {
    IGNORED.get().map(Vec::as_slice).unwrap_or(&[])
}

fn find_ignored(handled: &[i32]) -> Vec<i32> {
    (1..=crate::types::signame::max_signal())
        .filter(|&sig| {
            // Signals upkeep catches have a handler, which exec resets anyway.
            if sig == libc::SIGKILL || sig == libc::SIGSTOP || handled.contains(&sig) {
                return false;
            }
            // SAFETY: a query only (null new action); the out-struct is plain data.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
            // libc will not even report on the numbers it reserves (glibc's 32 and 33): reset
            // those in children anyway, since an ignored one would be inherited.
            rc != 0 || old.sa_sigaction == libc::SIG_IGN
        })
        .collect()
}

/// Runs in a forked child before exec: the ignored dispositions back to default and an empty
/// mask (std resets neither, but for PIPE).
///
/// Only async-signal-safe calls: this runs between fork and exec.
pub fn reset_for_child(ignored: &[i32]) -> io::Result<()> {
    for &sig in ignored {
        // SAFETY: signal(2) is async-signal-safe.
        if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
            // glibc refuses the numbers it keeps for itself (32, 33), yet an ignored one is
            // inherited all the same: ask the kernel directly.
            super::platform::reset_signal_raw(sig);
        }
    }
    set_mask(libc::SIG_SETMASK, &empty_set())
}

/// Blocks every signal; returns the mask to restore. Spawning happens inside such a window so
/// that no handler of upkeep's runs in a child between fork and the reset above.
pub fn block_all() -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; sigfillset initialises it.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sigfillset(&mut all) };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(old)
}

pub fn restore_mask(old: &libc::sigset_t) -> io::Result<()> {
    set_mask(libc::SIG_SETMASK, old)
}

fn empty_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the plain-data set.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sigemptyset(&mut set) };
    set
}

fn set_mask(how: i32, set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: valid pointer; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(how, set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}
