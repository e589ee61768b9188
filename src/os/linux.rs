//! Linux: PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, close_range(CLOSE_RANGE_CLOEXEC),
//! SO_PEERCRED.

use std::io;

pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and nothing else.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags (Linux >= 5.11; ENOSYS/EINVAL before).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn reset_signal_raw(sig: i32) {
    // The kernel's struct sigaction on x86_64, aarch64 and most others: handler, flags,
    // restorer, mask. SIG_DFL needs no restorer.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let act = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with a valid struct, no old-action pointer, 8-byte kernel sigset.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &act as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        )
    };
}

pub fn peer_uid(socket: std::os::fd::BorrowedFd<'_>) -> io::Result<u32> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let cred = getsockopt(&socket, PeerCredentials).map_err(io::Error::from)?;
    Ok(cred.uid())
}

/// Opens `/proc/self/fd/N` again: a new open file description of the same pipe or terminal,
/// which can be non-blocking without changing the one the services share.
pub fn reopen_nonblocking(fd: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(format!("/proc/self/fd/{fd}"))?;
    Ok(std::os::fd::OwnedFd::from(file))
}
