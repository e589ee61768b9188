//! FreeBSD: procctl(2) for the reaper role and the parent-death signal. A jail has no PID 1
//! of its own, so without PROC_REAP_ACQUIRE the orphans of a jail's daemons go to the host's
//! init. Written against the libc crate's FreeBSD items; it cannot be compiled on Linux.

use std::io;

fn procctl_self(cmd: libc::c_int, data: *mut libc::c_void) -> io::Result<()> {
    // SAFETY: P_PID with our own pid; `data` is what `cmd` expects (checked by each caller).
    let rc = unsafe { libc::procctl(libc::P_PID, libc::getpid() as libc::id_t, cmd, data) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn become_subreaper() -> io::Result<()> {
    // PROC_REAP_ACQUIRE takes no argument: NULL.
    match procctl_self(libc::PROC_REAP_ACQUIRE, std::ptr::null_mut()) {
        // EBUSY: we already are the reaper (e.g. a re-exec).
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(()),
        other => other,
    }
}

pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    let mut signum: libc::c_int = sig;
    // PROC_PDEATHSIG_CTL takes a pointer to an int holding the signal.
    procctl_self(
        libc::PROC_PDEATHSIG_CTL,
        (&mut signum as *mut libc::c_int).cast(),
    )
}

pub fn cloexec_from(_first: u32) -> io::Result<()> {
    // close_range(CLOSE_RANGE_CLOEXEC) is recent on FreeBSD: let the caller walk the table.
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

pub fn reset_signal_raw(_sig: i32) {
    // Only THR (32) is refused, by libthr's sigaction, and libthr installs its own handler
    // for it in every program that links it: nothing an inherited SIG_IGN could spoil.
}

pub fn peer_uid(socket: std::os::fd::BorrowedFd<'_>) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let mut uid: libc::uid_t = 0;
    let mut gid: libc::gid_t = 0;
    // SAFETY: getpeereid(2) on a connected socket, with two valid out-pointers.
    if unsafe { libc::getpeereid(socket.as_raw_fd(), &mut uid, &mut gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}

pub fn reopen_nonblocking(_fd: i32) -> io::Result<std::os::fd::OwnedFd> {
    // FreeBSD's /dev/fd/N duplicates the descriptor (one shared description) unless fdescfs
    // is mounted with nodup: stderr is written as it is there.
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}
