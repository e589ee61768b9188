//! Everything that talks to the kernel. Thin: policy lives in `core`; this depends on
//! `types` only.

pub mod activation;
pub mod limits;
pub mod notify;
pub mod platform;
pub mod proctable;
pub mod readiness;
pub mod reap;
pub mod signals;
pub mod spawn;

/// Sends `sig` to a process, or to its whole process group. A target that is already gone
/// (ESRCH) is normal: it died and awaits reaping, or its group emptied.
pub fn send_signal(pid: i32, sig: i32, group: bool) -> std::io::Result<()> {
    let target = if group { -pid } else { pid };
    if pid <= 0 {
        // Never let a stray 0 or -1 turn into "every process".
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: kill(2) with a checked positive pid (or its negated group).
    if unsafe { libc::kill(target, sig) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(err);
    }
    Ok(())
}

/// Whether any process is left in process group `pgid` (EPERM: there is one, not ours).
pub fn group_exists(pgid: i32) -> bool {
    if pgid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence.
    if unsafe { libc::kill(-pgid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Signals every process upkeep may signal (`kill(-1)`): PID 1's last sweep. Refused
/// anywhere but as PID 1, where it would reach the host's processes.
pub fn signal_all(sig: i32) {
    if std::process::id() == 1 {
        // SAFETY: kill(-1) as PID 1 signals every other process of the namespace.
        unsafe { libc::kill(-1, sig) };
    }
}
