//! Signal delivery into the event loop, signal names, and the clean slate children start from.
//!
//! Signals reach the loop through a descriptor polled with everything else (`Delivery`). On
//! Linux it is a signalfd: the caught signals are blocked and read as data, so a death costs
//! no handler, no write and no sigreturn on the restart path; children start with an empty
//! mask (both spawn paths set it). Elsewhere it is signal-hook's self-pipe, whose handlers do
//! no more than write one byte.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

/// The signals upkeep catches on one OS: every one it may be asked to forward, plus CHLD.
///
/// Plain data, compiled on every target, so that a test on any OS checks each table.
///
/// Left out, as tini does: the synchronous faults (FPE, ILL, SEGV, BUS, ABRT, TRAP, SYS), which
/// signal-hook refuses or which mean upkeep itself is broken; TTIN/TTOU, ignored so that a log
/// write to a terminal upkeep no longer owns cannot stop it; PIPE, which std ignores so that
/// a closed stderr turns into an error, not into a signal forwarded to the command; and the
/// numbers libc keeps for itself (a handler for one is refused, and upkeep would not start).
pub struct Table {
    /// Name (without SIG) and number.
    pub named: &'static [(&'static str, i32)],
    /// The numbers libc reserves: never caught.
    pub reserved: &'static [i32],
}

/// Plus every real-time signal, SIGRTMIN() to SIGRTMAX(): glibc keeps 32 and 33 for itself
/// (musl 34 too, which its SIGRTMIN() leaves out).
pub const LINUX: Table = Table {
    named: &[
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("USR1", 10),
        ("USR2", 12),
        ("ALRM", 14),
        ("TERM", 15),
        ("STKFLT", 16),
        ("CHLD", 17),
        ("CONT", 18),
        ("TSTP", 20),
        ("URG", 23),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("PROF", 27),
        ("WINCH", 28),
        ("IO", 29),
        ("PWR", 30),
    ],
    reserved: &[32, 33],
};

/// Plus every real-time signal, 65 to 126 (`signame::FREEBSD_REALTIME`). No PWR or STKFLT;
/// EMT is no fault on FreeBSD's x86 and arm64. THR (32) and LIBRT (33) are libthr's and
/// librt's: libthr's sigaction refuses THR with EINVAL, and upkeep links libthr.
pub const FREEBSD: Table = Table {
    named: &[
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("EMT", 7),
        ("ALRM", 14),
        ("TERM", 15),
        ("URG", 16),
        ("TSTP", 18),
        ("CONT", 19),
        ("CHLD", 20),
        ("IO", 23),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("PROF", 27),
        ("WINCH", 28),
        ("INFO", 29),
        ("USR1", 30),
        ("USR2", 31),
    ],
    reserved: &[32, 33],
};

#[cfg(target_os = "linux")]
const THIS_OS: &Table = &LINUX;
#[cfg(target_os = "freebsd")]
const THIS_OS: &Table = &FREEBSD;

/// The signals upkeep catches here: this OS's table and its real-time signals.
pub fn handled() -> Vec<i32> {
    let mut sigs: Vec<i32> = THIS_OS.named.iter().map(|&(_, n)| n).collect();
    sigs.extend(crate::types::signame::realtime());
    sigs
}

/// Where the loop reads the signals it caught: `fd` is polled, `pending` drains it.
pub struct Delivery {
    #[cfg(target_os = "linux")]
    fd: nix::sys::signalfd::SignalFd,
    #[cfg(not(target_os = "linux"))]
    hook: signal_hook::iterator::backend::SignalDelivery<
        std::os::unix::net::UnixStream,
        signal_hook::iterator::exfiltrator::SignalOnly,
    >,
}

/// Starts catching `caught` (`handled()`, or less) into a `Delivery`.
#[cfg(target_os = "linux")]
pub fn install(caught: &[i32]) -> io::Result<Delivery> {
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let mut raw = empty_set();
    for &sig in caught {
        // An inherited SIG_IGN would discard the signal before it is ever pending; SIG_DFL
        // never acts on a blocked one.
        // SAFETY: setting SIG_DFL touches no Rust state; the set is initialised and
        // sigaddset only flips a bit (real-time signals have no nix name, hence libc).
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::sigaddset(&mut raw, sig);
        }
    }
    // upkeep may have been started with signals blocked (tini's sigconf test does this):
    // everything but what the signalfd reads is unblocked.
    set_mask(libc::SIG_SETMASK, &raw)?;
    // SAFETY: `raw` was made by sigemptyset and sigaddset.
    let mask = unsafe { nix::sys::signal::SigSet::from_sigset_t_unchecked(raw) };
    let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    settle_dispositions(caught);
    Ok(Delivery { fd })
}

/// Starts catching `caught` (`handled()`, or less) into a `Delivery`.
#[cfg(not(target_os = "linux"))]
pub fn install(caught: &[i32]) -> io::Result<Delivery> {
    use signal_hook::iterator::backend::SignalDelivery;
    use signal_hook::iterator::exfiltrator::SignalOnly;
    // Both ends of a socketpair are close-on-exec from creation, so no child inherits them.
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    let hook = SignalDelivery::with_pipe(read, write, SignalOnly, caught.iter().copied())?;
    // upkeep may have been started with signals blocked (tini's sigconf test does this): a
    // blocked SIGCHLD would never wake the loop.
    unblock_all()?;
    settle_dispositions(caught);
    Ok(Delivery { hook })
}

impl Delivery {
    /// The descriptor to poll for input.
    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        #[cfg(target_os = "linux")]
        return self.fd.as_fd();
        #[cfg(not(target_os = "linux"))]
        return self.hook.get_read().as_fd();
    }

    /// Every signal caught since the last call (CHLDs may have coalesced into one).
    pub fn pending(&mut self) -> Vec<i32> {
        #[cfg(target_os = "linux")]
        {
            let mut sigs = Vec::new();
            while let Ok(Some(info)) = self.fd.read_signal() {
                if let Ok(sig) = i32::try_from(info.ssi_signo) {
                    sigs.push(sig);
                }
            }
            sigs
        }
        #[cfg(not(target_os = "linux"))]
        self.hook.pending().collect()
    }
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
            // libc will not even report on the numbers it reserves (glibc's 32 and 33,
            // FreeBSD libthr's 32): reset those in children anyway, since an ignored one
            // would be inherited.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::signame;

    /// Never caught on any OS: uncatchable, faults, TTIN/TTOU and PIPE (see `Table`).
    const NEVER: &[&str] = &[
        "KILL", "STOP", "FPE", "ILL", "SEGV", "BUS", "ABRT", "TRAP", "SYS", "TTIN", "TTOU", "PIPE",
    ];

    /// FreeBSD's sys/signal.h, signals 1 to 33 in order, to check its table from any OS.
    const FREEBSD_SIGNAL_H: &str = "HUP INT QUIT ILL TRAP ABRT EMT FPE KILL BUS SEGV SYS PIPE \
        ALRM TERM URG STOP TSTP CONT CHLD TTIN TTOU IO XCPU XFSZ VTALRM PROF WINCH INFO USR1 \
        USR2 THR LIBRT";

    fn names(table: &Table) -> Vec<&'static str> {
        table.named.iter().map(|&(name, _)| name).collect()
    }

    fn check_shape(table: &Table, realtime: std::ops::RangeInclusive<i32>) {
        for &(name, n) in table.named {
            assert!(!NEVER.contains(&name), "{name} is never caught");
            assert!(!table.reserved.contains(&n), "{name} ({n}) is reserved");
            assert_eq!(
                table.named.iter().filter(|&&(_, m)| m == n).count(),
                1,
                "{n} twice"
            );
        }
        for n in table.reserved {
            assert!(!realtime.contains(n), "real-time range holds reserved {n}");
        }
    }

    #[test]
    fn the_freebsd_table_has_freebsd_names_and_numbers_and_nothing_reserved() {
        check_shape(&FREEBSD, signame::FREEBSD_REALTIME);
        let numbered: Vec<_> = FREEBSD_SIGNAL_H.split_whitespace().zip(1..).collect();
        assert_eq!(numbered.last(), Some(&("LIBRT", 33)));
        for &(name, n) in FREEBSD.named {
            assert!(
                numbered.contains(&(name, n)),
                "{name} is not {n} on FreeBSD"
            );
        }
        assert!(!names(&FREEBSD).contains(&"THR") && !names(&FREEBSD).contains(&"LIBRT"));
    }

    #[test]
    fn the_linux_table_keeps_off_libc_s_real_time_signals() {
        check_shape(&LINUX, 34..=64);
    }

    #[test]
    fn both_tables_catch_the_same_signals_but_for_each_os_own() {
        let linux = names(&LINUX);
        let freebsd = names(&FREEBSD);
        let only_linux: Vec<_> = linux.iter().filter(|n| !freebsd.contains(n)).collect();
        let only_freebsd: Vec<_> = freebsd.iter().filter(|n| !linux.contains(n)).collect();
        assert_eq!(only_linux, [&"STKFLT", &"PWR"]);
        assert_eq!(only_freebsd, [&"EMT", &"INFO"]);
    }

    #[test]
    fn this_os_table_agrees_with_libc() {
        for &(name, n) in THIS_OS.named {
            assert_eq!(signame::parse(name), Some(n), "{name}");
            assert_eq!(signame::name(n), name);
        }
        let caught = handled();
        assert!(caught.contains(&libc::SIGCHLD) && caught.contains(&libc::SIGTERM));
        assert!(caught.contains(signame::realtime().end()));
        for n in THIS_OS.reserved {
            assert!(!caught.contains(n), "{n} is libc's");
        }
    }
}
