//! The process table, read once per scan: Linux /proc, FreeBSD sysctl kern.proc.
//!
//! One interface (`list_processes`), two small cfg-gated implementations. A process that
//! vanishes while it is read is skipped silently: that is what a process table does.

use crate::types::ProcInfo;

/// Every process, as much as matching by name needs; an error when the table cannot be
/// read at all (no /proc, a sysctl refused): then nothing can be said missing.
#[cfg(target_os = "linux")]
pub fn list_processes() -> std::io::Result<Vec<ProcInfo>> {
    let mut out = Vec::new();
    each_stat(&mut |pid, buf| {
        let Some((comm, state, ppid)) = parse_stat(buf) else {
            return;
        };
        let zombie = state == 'Z';
        // A zombie has no argv; nor do kernel threads (empty cmdline).
        let argv0 = if zombie { None } else { read_argv0(pid, buf) };
        out.push(ProcInfo {
            pid,
            ppid,
            argv0: argv0.filter(|a| *a != comm),
            comm,
            // comm already is a `#!` script's name.
            script: None,
            zombie,
        });
    })?;
    Ok(out)
}

/// Calls `each` with every process's pid and /proc/PID/stat (in a buffer it may reuse).
/// `dyn` and not inlined: one copy of the walk for both of its users.
#[cfg(target_os = "linux")]
#[inline(never)]
fn each_stat(each: &mut dyn FnMut(i32, &mut Vec<u8>)) -> std::io::Result<()> {
    use std::io::Read;

    let mut buf = Vec::with_capacity(1024);
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        buf.clear();
        let stat = std::fs::File::open(format!("/proc/{pid}/stat"))
            .and_then(|mut f| f.read_to_end(&mut buf));
        if stat.is_ok() {
            each(pid, &mut buf);
        } // else gone since readdir
    }
    Ok(())
}

/// Adds to each `(_, pgid, rss)` of `groups` the resident memory (bytes) of process group
/// `pgid`, in one pass over the process table. The groups are searched in a line: a
/// comparison per service and process, less than the read of the process's stat.
#[cfg(target_os = "linux")]
pub fn group_rss<T>(groups: &mut [(T, i32, u64)]) -> std::io::Result<()> {
    // SAFETY: sysconf only reads a constant.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    each_stat(&mut |_, buf| {
        if let Some((pgrp, pages)) = parse_stat_memory(buf)
            && let Some(group) = groups.iter_mut().find(|g| g.1 == pgrp)
        {
            group.2 += pages * page;
        }
    })
}

/// pgrp (field 5) and rss in pages (field 24) from /proc/PID/stat.
#[cfg(any(target_os = "linux", test))]
fn parse_stat_memory(stat: &[u8]) -> Option<(i32, u64)> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    // Single spaces between fields, after the one that follows comm.
    let mut fields = rest.split(' ');
    let pgrp = fields.nth(3)?.parse().ok()?;
    let rss = fields.nth(18)?.parse().ok()?;
    Some((pgrp, rss))
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
    basename(cmdline.split(|&b| b == 0).next()?)
}

fn basename(word: &[u8]) -> Option<String> {
    let base = word.rsplit(|&b| b == b'/').next().unwrap_or(word);
    if base.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(base).into_owned())
}

/// What kern.proc.args handed back that can be read: `len` bytes, or on ENOMEM (an argv
/// longer than the buffer, of which the kernel copied what fits) the words it holds whole.
/// None when not even argv[0] is whole, or on any other error.
#[cfg(any(target_os = "freebsd", test))]
fn args_answer(buf: &[u8], len: usize, error: Option<i32>) -> Option<&[u8]> {
    let got = buf.get(..len.min(buf.len()))?;
    match error {
        None => Some(got),
        Some(libc::ENOMEM) => {
            let end = got.iter().rposition(|&b| b == 0)?;
            got.get(..=end)
        }
        Some(_) => None,
    }
}

/// The basename of the script that an interpreter (argv[0]: a shell, perl, python, ruby,
/// node, php, lua or tcl, maybe versioned) runs: its first argument that is not an option,
/// or the one after `--`. None for `-c` (a command string, not a script).
#[cfg(any(target_os = "freebsd", test))]
fn script_basename(args: &[u8]) -> Option<String> {
    const INTERPRETERS: &[&str] = &[
        "sh", "bash", "dash", "ksh", "mksh", "zsh", "csh", "tcsh", "perl", "python", "pypy",
        "ruby", "node", "php", "lua", "luajit", "tclsh", "wish",
    ];
    let mut words = args.split(|&b| b == 0);
    let interpreter = basename(words.next()?)?;
    let unversioned = interpreter.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if !INTERPRETERS.contains(&unversioned) {
        return None;
    }
    while let Some(word) = words.next() {
        match word {
            b"-c" => return None,
            b"--" => return basename(words.next()?),
            [b'-', ..] => continue,
            _ => return basename(word),
        }
    }
    None
}

/// Every process of this jail (or of the host), from sysctl kern.proc.proc; an error when
/// the table cannot be read, or comes in records of a size this build does not know.
#[cfg(target_os = "freebsd")]
pub fn list_processes() -> std::io::Result<Vec<ProcInfo>> {
    let procs = kinfo_procs()?;
    let mut out = Vec::with_capacity(procs.len());
    for p in &procs {
        let comm = c_chars(&p.ki_comm);
        let zombie = p.ki_stat == libc::SZOMB;
        let mut buf = [0u8; 4096];
        // A zombie has no argv.
        let args = if zombie {
            None
        } else {
            freebsd_args(p.ki_pid, &mut buf)
        };
        out.push(ProcInfo {
            pid: p.ki_pid,
            ppid: p.ki_ppid,
            argv0: args.and_then(argv0_basename).filter(|a| *a != comm),
            script: args.and_then(script_basename),
            comm,
            zombie,
        });
    }
    Ok(out)
}

/// Adds to each `(_, pgid, rss)` of `groups` the resident memory (bytes) of process group
/// `pgid`, from one kern.proc.proc read.
#[cfg(target_os = "freebsd")]
pub fn group_rss<T>(groups: &mut [(T, i32, u64)]) -> std::io::Result<()> {
    // SAFETY: sysconf only reads a constant.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    for p in kinfo_procs()? {
        if let Some(group) = groups.iter_mut().find(|g| g.1 == p.ki_pgid) {
            group.2 += u64::try_from(p.ki_rssize).unwrap_or(0) * page;
        }
    }
    Ok(())
}

/// kern.proc.proc: one kinfo_proc per process (threads folded), only this jail's
/// processes inside a jail. Sized again when the table grew between the two calls.
#[cfg(target_os = "freebsd")]
fn kinfo_procs() -> std::io::Result<Vec<libc::kinfo_proc>> {
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
        // A kernel of another ABI hands back records of another size.
        if let Some(p) = procs.iter().find(|p| p.ki_structsize as usize != size) {
            return Err(std::io::Error::other(format!(
                "kern.proc.proc records are {} bytes; this build expects {size}",
                p.ki_structsize
            )));
        }
        return Ok(procs);
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

/// kern.proc.args.PID into `buf`: the NUL-separated argv (or setproctitle's title).
#[cfg(target_os = "freebsd")]
fn freebsd_args(pid: i32, buf: &mut [u8]) -> Option<&[u8]> {
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_ARGS, pid];
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
    let error = (rc != 0).then(|| std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    args_answer(buf, len, error)
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
    fn group_and_rss_from_stat() {
        let stat = b"42 (a (b) c) S 7 40 40 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 99 12345 678 18446744073709551615";
        assert_eq!(parse_stat_memory(stat), Some((40, 678)));
        assert_eq!(parse_stat_memory(b"9 (z) Z 1 9"), None);
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
        assert_eq!(argv0_basename(b"/\0"), None);
    }

    #[test]
    fn a_long_argv_cut_short_keeps_its_whole_words() {
        let buf = *b"/usr/bin/java\0-Xmx";
        // ENOMEM: the kernel filled the buffer; the cut word goes.
        let got = args_answer(&buf, buf.len(), Some(libc::ENOMEM));
        assert_eq!(got, Some(&b"/usr/bin/java\0"[..]));
        assert_eq!(got.and_then(argv0_basename), Some("java".into()));
        // A length past the buffer is not believed.
        assert_eq!(args_answer(&buf, 99, Some(libc::ENOMEM)), got);
        // Not even argv[0] whole: nothing.
        assert_eq!(
            args_answer(b"/usr/local/bin/", 15, Some(libc::ENOMEM)),
            None
        );
        // Success: what the kernel said it wrote; other errors: nothing.
        assert_eq!(args_answer(&buf, 5, None), Some(&b"/usr/"[..]));
        assert_eq!(args_answer(&buf, buf.len(), Some(libc::ESRCH)), None);
    }

    #[test]
    fn an_interpreter_s_process_is_known_by_its_script() {
        let script = |args: &[u8]| script_basename(args);
        assert_eq!(
            script(b"/bin/sh\0/usr/local/sbin/mydaemon\0start\0"),
            Some("mydaemon".into())
        );
        assert_eq!(
            script(b"/bin/sh\0-e\0/usr/local/bin/job\0"),
            Some("job".into())
        );
        assert_eq!(
            script(b"python3.11\0-u\0/srv/app.py\0"),
            Some("app.py".into())
        );
        assert_eq!(
            script(b"/usr/local/bin/perl5.36.0\0-w\0--\0-odd\0"),
            Some("-odd".into())
        );
        assert_eq!(
            script(b"/usr/local/bin/ruby32\0/srv/worker\0"),
            Some("worker".into())
        );
        // A command string is no script; a program that is no interpreter has none.
        assert_eq!(script(b"/bin/sh\0-c\0exec /usr/sbin/httpd\0"), None);
        assert_eq!(script(b"/usr/bin/man\0httpd\0"), None);
        assert_eq!(script(b"/usr/sbin/shd\0/x\0"), None);
        // An interpreter with nothing to run, or a cut buffer.
        assert_eq!(script(b"/bin/sh\0"), None);
        assert_eq!(script(b"/bin/sh\0-i\0"), None);
        assert_eq!(script(b""), None);
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
