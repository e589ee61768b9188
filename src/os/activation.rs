//! Socket activation: systemd, podman and their kin pass listening sockets as descriptors
//! 3 .. 3+N-1 with `LISTEN_FDS=N` and `LISTEN_PID` set to the pid they are meant for. For
//! upkeep they are COMMAND's: taken here at start-up, and out of upkeep's environment so
//! that no service sees them; COMMAND gets them with `LISTEN_PID` set to its own pid.

use std::ffi::OsString;

use crate::types::ListenFds;

/// The most descriptors taken: far more than any activation passes.
const MAX: i32 = 1024;

const VARS: [&str; 3] = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

/// The descriptors passed to upkeep, if any; a `LISTEN_FDS` that does not fit (not a
/// number, another process's `LISTEN_PID`, descriptors not open) is Err, to be said once
/// the log is there, and nothing is passed on. The variables leave upkeep's environment
/// either way. Called first thing, before upkeep opens a descriptor of its own.
pub fn take() -> Result<Option<ListenFds>, String> {
    let Some(count) = std::env::var_os("LISTEN_FDS") else {
        return Ok(None);
    };
    let pid = std::env::var("LISTEN_PID").ok();
    let names = std::env::var_os("LISTEN_FDNAMES");
    for name in VARS {
        // SAFETY: upkeep is single-threaded, and nothing has been spawned yet.
        unsafe { std::env::remove_var(name) };
    }
    let count = count.to_string_lossy().trim().parse::<i32>().ok();
    let ours = pid
        .as_deref()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    checked(count, ours, names)
        .map_err(|why| format!("LISTEN_FDS: {why}; passing no descriptors on"))
}

fn checked(
    count: Option<i32>,
    ours: bool,
    names: Option<OsString>,
) -> Result<Option<ListenFds>, String> {
    let Some(count) = count.filter(|c| (0..=MAX).contains(c)) else {
        return Err("not a number of descriptors".into());
    };
    if !ours {
        return Err("LISTEN_PID is not upkeep's".into());
    }
    if count == 0 {
        return Ok(None);
    }
    for fd in 3..3 + count {
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(format!("descriptor {fd} is not open"));
        }
    }
    Ok(Some(ListenFds { count, names }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_passed_on() {
        assert!(checked(None, true, None).is_err());
        assert!(checked(Some(-1), true, None).is_err());
        assert!(checked(Some(1), false, None).is_err());
        assert_eq!(checked(Some(0), true, None), Ok(None));
        // 0, 1 and 2 are open in a test; 3.. may not be: 1 descriptor from 3 up is checked.
        let open = unsafe { libc::fcntl(3, libc::F_GETFD) } >= 0;
        assert_eq!(checked(Some(1), true, None).is_ok(), open);
        assert!(checked(Some(MAX), true, None).is_err());
    }
}
