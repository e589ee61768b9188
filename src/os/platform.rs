//! The few calls that differ between Linux and FreeBSD, behind one interface.

use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

#[cfg(target_os = "freebsd")]
#[path = "freebsd.rs"]
mod imp;
#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod imp;

/// Makes upkeep the reaper of its descendants' orphans; a no-op as PID 1, which already is.
pub fn become_subreaper() -> io::Result<()> {
    if std::process::id() == 1 {
        return Ok(());
    }
    imp::become_subreaper()
}

/// Asks the kernel to send `sig` to upkeep when its parent dies (tini's `-p`).
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    imp::set_parent_death_signal(sig)
}

/// Resets a disposition to default bypassing libc, for the signal numbers libc keeps to itself.
/// Async-signal-safe.
pub fn reset_signal_raw(sig: i32) {
    imp::reset_signal_raw(sig)
}

/// Marks every descriptor upkeep inherited above stderr close-on-exec, so that children get
/// only 0, 1 and 2 (upkeep's own descriptors are close-on-exec from creation).
pub fn close_inherited_on_exec() {
    if imp::cloexec_from(3).is_ok() {
        return;
    }
    // Older kernels: walk the descriptor table up to the soft limit.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.min(1 << 16) as i32
    } else {
        1024
    };
    for fd in 3..max {
        // SAFETY: F_GETFD/F_SETFD on any number is harmless; EBADF for unused ones.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// The user id of the process at the other end of a connected Unix socket.
pub fn peer_uid(socket: std::os::fd::BorrowedFd<'_>) -> io::Result<u32> {
    imp::peer_uid(socket)
}

/// Raises the soft limit on open files to at least `wanted` (as far as the hard limit
/// allows): each service whose output upkeep reads holds four pipe ends. Children inherit
/// the raised limit. Returns the soft limit in force.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, i64 on FreeBSD.
pub fn ensure_open_files(wanted: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let soft = limit.rlim_cur as u64;
    if soft >= wanted {
        return Ok(soft);
    }
    let raised = libc::rlimit {
        rlim_cur: wanted.min(limit.rlim_max as u64) as libc::rlim_t,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: a valid rlimit within the hard limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(raised.rlim_cur as u64)
}

/// Gives freed heap back to the kernel: parsing a large config leaves megabytes that a
/// long-running PID 1 would otherwise keep for ever.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the heap to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A second, non-blocking open file description of stderr when it is a pipe or a terminal
/// (the services share the blocking one), or a duplicate when it is a socket, to be written
/// with MSG_DONTWAIT (the bool). Refused for a regular file, which never blocks and whose
/// offset a second description would not share.
pub fn nonblocking_stderr() -> io::Result<(OwnedFd, bool)> {
    nonblocking_output(2)
}

/// The same for descriptor 1 or 2 (`which`).
pub fn nonblocking_output(which: i32) -> io::Result<(OwnedFd, bool)> {
    // SAFETY: borrowed for these calls only; an unopened descriptor fails fstat.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(which) };
    let mode = nix::sys::stat::fstat(fd).map_err(io::Error::from)?.st_mode & libc::S_IFMT;
    if mode == libc::S_IFSOCK {
        return dup_cloexec(fd).map(|fd| (fd, true));
    }
    if mode != libc::S_IFIFO && mode != libc::S_IFCHR {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    imp::reopen_nonblocking(which).map(|fd| (fd, false))
}

/// A close-on-exec duplicate of `fd`.
pub fn dup_cloexec(fd: impl AsFd) -> io::Result<OwnedFd> {
    let raw =
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3)).map_err(io::Error::from)?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
