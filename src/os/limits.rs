//! `limits`, `umask`, `nice` and `oom_score_adj`, set in a child between fork and exec.
//! Everything is converted before the fork (`Prepared`), so that the child only makes
//! system calls.

use std::io;

use crate::types::{LIMIT_NAMES, Limit, Tuning};

// glibc numbers resources with an enum of its own; musl and FreeBSD with an int.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type Resource = libc::c_int;

/// The kernel's number for a limit of `types::LIMIT_NAMES`.
fn resource(name: &str) -> Option<Resource> {
    let &(_, _, n) = LIMIT_NAMES.iter().find(|(known, ..)| *known == name)?;
    Resource::try_from(n).ok()
}

fn rlim(n: u64) -> libc::rlim_t {
    if n == u64::MAX {
        libc::RLIM_INFINITY
    } else {
        libc::rlim_t::try_from(n).unwrap_or(libc::RLIM_INFINITY)
    }
}

/// A `Tuning` in the form the child applies without allocating.
pub struct Prepared {
    limits: Vec<(Resource, libc::rlimit)>,
    umask: Option<libc::mode_t>,
    nice: Option<i32>,
    /// oom_score_adj as the decimal text written to /proc/self/oom_score_adj.
    oom: Option<([u8; 8], usize)>,
}

pub fn prepare(t: &Tuning) -> Prepared {
    let limits = t
        .limits
        .iter()
        .filter_map(|l| {
            let limit = libc::rlimit {
                rlim_cur: rlim(l.soft),
                rlim_max: rlim(l.hard),
            };
            Some((resource(l.name)?, limit))
        })
        .collect();
    let oom = t.oom_score_adj.map(decimal);
    Prepared {
        limits,
        umask: t.umask.map(|m| m as libc::mode_t),
        nice: t.nice,
        oom,
    }
}

/// `n` (-1000..1000) in decimal, as the kernel reads it.
fn decimal(n: i32) -> ([u8; 8], usize) {
    let mut buf = [0u8; 8];
    let mut len = 0;
    let mut digits = [0u8; 8];
    let mut count = 0;
    let mut rest = n.unsigned_abs();
    loop {
        if let Some(d) = digits.get_mut(count) {
            *d = b'0' + (rest % 10) as u8;
        }
        count += 1;
        rest /= 10;
        if rest == 0 || count == digits.len() {
            break;
        }
    }
    if n < 0 {
        buf[0] = b'-';
        len = 1;
    }
    for k in (0..count).rev() {
        if let (Some(b), Some(d)) = (buf.get_mut(len), digits.get(k)) {
            *b = *d;
            len += 1;
        }
    }
    (buf, len)
}

/// In the child, before exec (and before credentials are dropped, so that a privileged
/// upkeep may raise hard limits and lower nice). Async-signal-safe.
///
/// # Safety
/// Only between fork and exec, or in a single-threaded process.
pub unsafe fn apply(p: &Prepared) -> io::Result<()> {
    // SAFETY: plain system calls on values prepared before the fork.
    unsafe {
        for (res, limit) in &p.limits {
            if libc::setrlimit(*res, limit) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(mask) = p.umask {
            libc::umask(mask);
        }
        if let Some(n) = p.nice
            && libc::setpriority(libc::PRIO_PROCESS as _, 0, n) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if let Some((buf, len)) = &p.oom {
            let path = c"/proc/self/oom_score_adj";
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let wrote = libc::write(fd, buf.as_ptr().cast(), *len);
            libc::close(fd);
            if wrote < 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// After a failed spawn: the limit over upkeep's own hard limit, when there is one (checked
/// only after a failure, so the restart path pays nothing for it). A refused nice or
/// oom_score_adj keeps the kernel's words ("permission denied").
pub fn explain(t: &Tuning, err: &io::Error) -> Option<String> {
    if !matches!(
        err.raw_os_error(),
        Some(libc::EPERM | libc::EACCES | libc::EINVAL)
    ) {
        return None;
    }
    let shown = |n: u64| {
        if n == u64::MAX {
            "unlimited".to_string()
        } else {
            n.to_string()
        }
    };
    for Limit { name, hard, .. } in &t.limits {
        let mut now = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let Some(res) = resource(name) else { continue };
        // SAFETY: valid out-pointer.
        if unsafe { libc::getrlimit(res, &mut now) } != 0 {
            continue;
        }
        if rlim(*hard) > now.rlim_max || (*hard == u64::MAX && now.rlim_max != libc::RLIM_INFINITY)
        {
            // rlim_t is u64 on Linux, i64 on FreeBSD.
            #[allow(clippy::useless_conversion)]
            let have = match now.rlim_max {
                libc::RLIM_INFINITY => u64::MAX,
                n => u64::try_from(n).unwrap_or(u64::MAX),
            };
            let have = shown(have);
            return Some(format!(
                "limits.{name} {} is over upkeep's hard limit {have}",
                shown(*hard)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn oom_score_adj_in_decimal() {
        for n in [0, 7, -1000, 1000, 500, -5] {
            let (buf, len) = super::decimal(n);
            assert_eq!(std::str::from_utf8(&buf[..len]).unwrap(), n.to_string());
        }
    }
}
