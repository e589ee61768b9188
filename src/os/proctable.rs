//! The process table, read once per scan: Linux /proc, FreeBSD sysctl kern.proc.
//!
//! One interface (`list_processes`), two small cfg-gated implementations. A process that
//! vanishes while it is read is skipped silently: that is what a process table does.

use crate::types::ProcInfo;

/// Every process, as much as matching by name needs; an error when the table cannot be
/// read at all (no /proc, a sysctl refused): then nothing can be said missing.
#[cfg(target_os = "linux")]
pub fn list_processes() -> std::io::Result<Vec<ProcInfo>> {
    use std::io::Read;

    let mut out = Vec::new();
    let dir = std::fs::read_dir("/proc")?;
    let mut buf = Vec::with_capacity(1024);
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        buf.clear();
        let stat = std::fs::File::open(format!("/proc/{pid}/stat"))
            .and_then(|mut f| f.read_to_end(&mut buf));
        if stat.is_err() {
            continue; // gone since readdir
        }
        let Some((comm, state, ppid)) = parse_stat(&buf) else {
            continue;
        };
        let zombie = state == 'Z';
        // A zombie has no argv; nor do kernel threads (empty cmdline).
        let argv0 = if zombie {
            None
        } else {
            read_argv0(pid, &mut buf)
        };
        out.push(ProcInfo {
            pid,
            ppid,
            argv0: argv0.filter(|a| *a != comm),
            comm,
            zombie,
        });
    }
    Ok(out)
}

/// comm, state and ppid from /proc/PID/stat: comm may hold spaces and parentheses, so it
/// runs from the first '(' to the *last* ')'.
#[cfg(any(target_os = "linux", test))]
fn parse_stat(stat: &[u8]) -> Option<(String, char, i32)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = String::from_utf8_lossy(stat.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

#[cfg(target_os = "linux")]
fn read_argv0(pid: i32, buf: &mut Vec<u8>) -> Option<String> {
    use std::io::Read;
    buf.clear();
    buf.resize(4096, 0);
    let n = std::fs::File::open(format!("/proc/{pid}/cmdline"))
        .and_then(|mut f| f.read(buf))
        .ok()?;
    argv0_basename(buf.get(..n)?)
}

/// The basename of the first NUL-terminated word.
fn argv0_basename(cmdline: &[u8]) -> Option<String> {
    let first = cmdline.split(|&b| b == 0).next()?;
    if first.is_empty() {
        return None;
    }
    let base = first.rsplit(|&b| b == b'/').next().unwrap_or(first);
    Some(String::from_utf8_lossy(base).into_owned())
}

/// Every process of this jail (or of the host), from sysctl kern.proc.proc; an error when
/// the table cannot be read, or comes in records of a size this build does not know.
#[cfg(target_os = "freebsd")]
pub fn list_processes() -> std::io::Result<Vec<ProcInfo>> {
    // kern.proc.proc: one kinfo_proc per process (threads folded), only this jail's
    // processes inside a jail. Sized again when the table grew between the two calls.
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PROC];
    let size = std::mem::size_of::<libc::kinfo_proc>();
    for _ in 0..3 {
        let mut len: libc::size_t = 0;
        // SAFETY: a size query: null buffer, valid length pointer.
        let rc = unsafe {
            libc::sysctl(
                mib.as_ptr(),
                3,
                std::ptr::null_mut(),
                &mut len,
                std::ptr::null(),
                0,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let count = len / size + 16;
        let mut procs: Vec<libc::kinfo_proc> = Vec::with_capacity(count);
        let mut bytes = count * size;
        // SAFETY: the buffer holds `count` kinfo_proc; the kernel writes at most `bytes`.
        let rc = unsafe {
            libc::sysctl(
                mib.as_ptr(),
                3,
                procs.as_mut_ptr().cast(),
                &mut bytes,
                std::ptr::null(),
                0,
            )
        };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENOMEM) {
                continue; // grew meanwhile: ask again
            }
            return Err(err);
        }
        // SAFETY: the kernel filled `bytes` bytes of whole records.
        unsafe { procs.set_len(bytes / size) };
        let mut out = Vec::with_capacity(procs.len());
        for p in &procs {
            // A kernel of another ABI hands back records of another size.
            if p.ki_structsize as usize != size {
                return Err(std::io::Error::other(format!(
                    "kern.proc.proc records are {} bytes; this build expects {size}",
                    p.ki_structsize
                )));
            }
            let comm = c_chars(&p.ki_comm);
            out.push(ProcInfo {
                pid: p.ki_pid,
                ppid: p.ki_ppid,
                argv0: freebsd_argv0(p.ki_pid).filter(|a| *a != comm),
                comm,
                zombie: p.ki_stat == libc::SZOMB,
            });
        }
        return Ok(out);
    }
    Err(std::io::Error::from_raw_os_error(libc::ENOMEM))
}

#[cfg(target_os = "freebsd")]
fn c_chars(chars: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(target_os = "freebsd")]
fn freebsd_argv0(pid: i32) -> Option<String> {
    // kern.proc.args.PID: the NUL-separated argv.
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_ARGS, pid];
    let mut buf = [0u8; 4096];
    let mut len: libc::size_t = buf.len();
    // SAFETY: valid buffer and length; a vanished process gives ESRCH, handled as None.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            4,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    argv0_basename(buf.get(..len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parentheses_in_comm() {
        let stat = b"42 (my (odd) name) S 7 42 42 0 -1 4194560 100 0 0 0";
        assert_eq!(parse_stat(stat), Some(("my (odd) name".into(), 'S', 7)));
        assert_eq!(parse_stat(b"9 (z) Z 1 9"), Some(("z".into(), 'Z', 1)));
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[test]
    fn argv0_is_the_basename_of_the_first_word() {
        assert_eq!(
            argv0_basename(b"/usr/sbin/httpd\0-k\0start\0"),
            Some("httpd".into())
        );
        assert_eq!(
            argv0_basename(b"nginx: master process\0"),
            Some("nginx: master process".into())
        );
        assert_eq!(argv0_basename(b""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn lists_this_process() {
        let me = std::process::id() as i32;
        let procs = list_processes().unwrap();
        let mine = procs
            .iter()
            .find(|p| p.pid == me)
            .expect("self in the table");
        assert!(!mine.zombie);
        assert!(procs.len() > 1);
    }
}
