//! `limits`, `umask`, `nice` and `oom_score_adj`, set in a child between fork and exec.
//! Everything is converted before the fork (`Prepared`), so that the child only makes
//! system calls.

use std::io;

use crate::types::{Limit, Tuning};

#[cfg(target_os = "linux")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_os = "linux"))]
type Resource = libc::c_int;

/// The kernel's number for a limit of `types::LIMIT_NAMES`.
fn resource(name: &str) -> Option<Resource> {
    #[cfg(target_os = "linux")]
    let r = match name {
        "locks" => libc::RLIMIT_LOCKS,
        "msgqueue" => libc::RLIMIT_MSGQUEUE,
        "nice" => libc::RLIMIT_NICE,
        "rtprio" => libc::RLIMIT_RTPRIO,
        "rttime" => libc::RLIMIT_RTTIME,
        "sigpending" => libc::RLIMIT_SIGPENDING,
        _ => return common(name),
    };
    #[cfg(not(target_os = "linux"))]
    let r = match name {
        "kqueues" => libc::RLIMIT_KQUEUES,
        "npts" => libc::RLIMIT_NPTS,
        "sbsize" => libc::RLIMIT_SBSIZE,
        "swap" => libc::RLIMIT_SWAP,
        "umtxp" => libc::RLIMIT_UMTXP,
        _ => return common(name),
    };
    Some(r)
}

fn common(name: &str) -> Option<Resource> {
    Some(match name {
        "as" => libc::RLIMIT_AS,
        "core" => libc::RLIMIT_CORE,
        "cpu" => libc::RLIMIT_CPU,
        "data" => libc::RLIMIT_DATA,
        "fsize" => libc::RLIMIT_FSIZE,
        "memlock" => libc::RLIMIT_MEMLOCK,
        "nofile" => libc::RLIMIT_NOFILE,
        "nproc" => libc::RLIMIT_NPROC,
        "rss" => libc::RLIMIT_RSS,
        "stack" => libc::RLIMIT_STACK,
        _ => return None,
    })
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
    let oom = t.oom_score_adj.map(|n| {
        let mut buf = [0u8; 8];
        let text = n.to_string();
        let len = text.len().min(buf.len());
        buf[..len].copy_from_slice(&text.as_bytes()[..len]);
        (buf, len)
    });
    Prepared {
        limits,
        umask: t.umask.map(|m| m as libc::mode_t),
        nice: t.nice,
        oom,
    }
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

/// After a failed spawn: the setting that upkeep could not apply, when one can be named
/// (checked only after a failure, so the restart path pays nothing for it).
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
    if let Some(n) = t.nice.filter(|n| *n < 0) {
        return Some(format!("nice {n}: not permitted (needs privilege)"));
    }
    if let Some(n) = t.oom_score_adj {
        return Some(format!("oom_score_adj {n}: {err}"));
    }
    None
}
