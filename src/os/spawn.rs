//! Starting children: std `Command` plus a `pre_exec` that gives them a clean slate.
//!
//! std builds argv and envp before forking, allocates nothing in the child and reports exec
//! failures over a close-on-exec pipe; the `Child` handle is dropped at once because the
//! reaper (`waitpid(-1)`) owns every pid.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::signals;
use crate::types::{Grouping, SpawnPlan};

/// The descriptors a child gets as stdout and stderr; None: upkeep's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChildFds<'a> {
    pub stdout: Option<BorrowedFd<'a>>,
    pub stderr: Option<BorrowedFd<'a>>,
    /// A descriptor the child gets as this number (a notification pipe's write end; never
    /// already that number).
    pub notify: Option<(BorrowedFd<'a>, i32)>,
}

/// Forks and execs `spec` with `output` as its stdout and stderr; returns the child's pid.
/// Exec failures come back as the child's errno; a missing `directory` is named.
pub fn spawn(spec: &SpawnPlan, output: ChildFds) -> io::Result<i32> {
    let explained = |e: io::Error| {
        let tuning = spec.tuning.as_deref();
        match tuning.and_then(|t| super::limits::explain(t, &e)) {
            Some(why) => io::Error::new(e.kind(), why),
            None => e,
        }
    };
    spawn_in_directory(spec, output)
        .map_err(explained)
        .map_err(|e| match &spec.directory {
            // Checked only after a failure: the restart path pays nothing for it.
            Some(dir) if !dir.is_dir() => {
                let reason = match std::fs::metadata(dir) {
                    Ok(_) => "not a directory".to_string(),
                    Err(e) => exec_failure_reason(&e),
                };
                io::Error::new(e.kind(), format!("directory {}: {reason}", dir.display()))
            }
            // A container whose /dev is empty: the stdin's open failed, not the exec.
            _ if spec.stdin_null
                && e.raw_os_error() == Some(libc::ENOENT)
                && !std::path::Path::new("/dev/null").exists() =>
            {
                io::Error::new(e.kind(), "no /dev/null for its stdin")
            }
            _ => e,
        })
}

fn spawn_in_directory(spec: &SpawnPlan, output: ChildFds) -> io::Result<i32> {
    // posix_spawn (vfork-based in glibc) is several times cheaper than a fork of upkeep when
    // it can do the job: no credentials to switch, no terminal to hand over, and no limits,
    // umask, nice or oom_score_adj (posix_spawn has no attribute for them; setting them on
    // the pid afterwards would race with the exec, and umask cannot be set from outside).
    #[cfg(target_os = "linux")]
    if spec.credentials.is_none()
        && spec.listen.is_none()
        && spec.tuning.is_none()
        && !(spec.grouping == Grouping::ForegroundGroup && stdin_is_tty())
    {
        return posix::spawn(spec, output);
    }
    let pid = spawn_forked(spec, output)?;
    if let Some(listen) = &spec.listen {
        // COMMAND has them now: upkeep's copies would keep the sockets open for ever.
        for fd in 3..3 + listen.count {
            // SAFETY: these descriptors were passed to upkeep for COMMAND and nothing
            // else of upkeep's uses them.
            unsafe { libc::close(fd) };
        }
    }
    Ok(pid)
}

/// What the child of a socket-activated COMMAND sets before exec: the variables, made
/// before the fork so that the child only copies them in.
struct Activation {
    count: i32,
    fds: std::ffi::CString,
    names: Option<std::ffi::CString>,
}

impl Activation {
    fn of(spec: &SpawnPlan) -> Option<Activation> {
        use std::os::unix::ffi::OsStrExt;
        let listen = spec.listen.as_ref()?;
        Some(Activation {
            count: listen.count,
            fds: std::ffi::CString::new(listen.count.to_string()).ok()?,
            names: listen
                .names
                .as_ref()
                .and_then(|n| std::ffi::CString::new(n.as_bytes()).ok()),
        })
    }

    /// In the child: the descriptors kept across exec, `LISTEN_PID` its own pid.
    ///
    /// # Safety
    /// Between fork and exec in the child of a single-threaded process: setenv's
    /// allocation cannot meet a lock another thread holds.
    unsafe fn apply(&self) -> io::Result<()> {
        for fd in 3..3 + self.count {
            // SAFETY: clears FD_CLOEXEC on a descriptor checked open at start-up.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let mut digits = [0u8; 12];
        let pid = pid_text(unsafe { libc::getpid() }, &mut digits);
        // SAFETY: NUL-terminated strings that live until exec.
        unsafe {
            libc::setenv(c"LISTEN_PID".as_ptr(), pid.as_ptr().cast(), 1);
            libc::setenv(c"LISTEN_FDS".as_ptr(), self.fds.as_ptr(), 1);
            if let Some(names) = &self.names {
                libc::setenv(c"LISTEN_FDNAMES".as_ptr(), names.as_ptr(), 1);
            }
        }
        Ok(())
    }
}

/// `pid` in decimal, NUL-terminated, in `buf` (zeroed by the caller), without allocating.
fn pid_text(pid: i32, buf: &mut [u8; 12]) -> &[u8] {
    let mut n = pid.unsigned_abs();
    // The last byte stays the NUL.
    let mut at = buf.len() - 1;
    loop {
        at = at.saturating_sub(1);
        if let Some(d) = buf.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

#[cfg(target_os = "linux")]
fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 }
}

/// The general path: std's fork + `pre_exec` + exec.
fn spawn_forked(spec: &SpawnPlan, output: ChildFds) -> io::Result<i32> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args).envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &spec.directory {
        cmd.current_dir(dir);
    }
    cmd.stdin(if spec.stdin_null {
        Stdio::null()
    } else {
        Stdio::inherit()
    });
    if let Some(out) = output.stdout {
        cmd.stdout(Stdio::from(out.try_clone_to_owned()?));
    }
    if let Some(err) = output.stderr {
        cmd.stderr(Stdio::from(err.try_clone_to_owned()?));
    }
    let grouping = spec.grouping;
    let notify = output.notify.map(|(fd, n)| (fd.as_raw_fd(), n));
    let ignored = signals::ignored();
    let credentials = spec.credentials.clone();
    let activation = Activation::of(spec);
    let tuning = spec.tuning.as_deref().map(super::limits::prepare);
    // SAFETY: the closure runs between fork and exec in a child of a single-threaded process and
    // makes only async-signal-safe system calls; it allocates nothing and takes no lock
    // (`credentials` and `tuning` were built before the fork and are only read).
    unsafe {
        cmd.pre_exec(move || {
            match grouping {
                Grouping::ForegroundGroup => {
                    if libc::setpgid(0, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    // TTOU is still ignored here (inherited from upkeep), so a background
                    // process may take the terminal; ENOTTY just means there is none.
                    if libc::isatty(0) == 1 {
                        libc::tcsetpgrp(0, libc::getpgrp());
                    }
                }
                Grouping::Session => {
                    if libc::setsid() < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
            }
            // Before the credentials: raising a hard limit, a negative nice or a lower
            // oom_score_adj need the privilege that setuid gives up.
            if let Some(t) = &tuning {
                super::limits::apply(t)?;
            }
            if let Some(c) = &credentials {
                // Supplementary groups, then gid, then uid: after setuid the others are denied.
                #[cfg(target_os = "linux")]
                let n = c.groups.len();
                #[cfg(not(target_os = "linux"))]
                let n = c.groups.len() as libc::c_int;
                if libc::setgroups(n as _, c.groups.as_ptr()) != 0
                    || libc::setgid(c.gid) != 0
                    || libc::setuid(c.uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some((fd, n)) = notify
                && libc::dup2(fd, n) < 0
            {
                return Err(io::Error::last_os_error());
            }
            if let Some(a) = &activation {
                a.apply()?;
            }
            signals::reset_for_child(ignored)
        });
    }
    // Block every signal across fork so that none of upkeep's handlers runs in the child before
    // it resets them; the child's pre_exec empties the mask it inherits.
    let old = signals::block_all()?;
    let result = cmd.spawn();
    signals::restore_mask(&old)?;
    let child = result?;
    Ok(child.id() as i32)
}

/// The shell's convention for a command that could not be run: 127 not found, 126 otherwise.
pub fn exec_failure_status(err: &io::Error) -> i32 {
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => 127,
        _ => 126,
    }
}

/// "not found", "permission denied", ... as a shell would say it.
pub fn exec_failure_reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOENT) => "not found".to_string(),
        Some(libc::EACCES) => "permission denied".to_string(),
        Some(libc::ENOEXEC) => "exec format error".to_string(),
        _ => {
            let text = err.to_string();
            // std appends " (os error N)": keep the words.
            match text.find(" (os error") {
                Some(i) => text[..i].to_ascii_lowercase(),
                None => text,
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod posix {
    //! posix_spawnp with the same clean slate as the fork path: empty mask, the ignored
    //! signals back to default, own session or process group, stdin /dev/null, output pipe.

    use std::ffi::{CString, OsStr};
    use std::io;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::ptr;
    use std::sync::OnceLock;

    use super::ChildFds;
    use crate::types::{Grouping, SpawnPlan};

    fn cstring(bytes: &[u8]) -> io::Result<CString> {
        CString::new(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in a command"))
    }

    fn check(rc: libc::c_int) -> io::Result<()> {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(rc))
        }
    }

    /// The attribute and file-action objects, destroyed on every path out.
    struct Objects {
        attr: libc::posix_spawnattr_t,
        actions: libc::posix_spawn_file_actions_t,
    }

    impl Drop for Objects {
        fn drop(&mut self) {
            // SAFETY: both were initialised before an `Objects` was built.
            unsafe {
                libc::posix_spawnattr_destroy(&mut self.attr);
                libc::posix_spawn_file_actions_destroy(&mut self.actions);
            }
        }
    }

    /// Sets signal `sig`'s bit in `set` without libc's checks.
    fn add_raw(set: &mut libc::sigset_t, sig: i32) {
        let Ok(bit) = usize::try_from(sig - 1) else {
            return;
        };
        // SAFETY: sigset_t is plain data of at least 8 bytes; the index is checked against
        // its size.
        let words = std::mem::size_of::<libc::sigset_t>() / 8;
        if bit / 64 < words {
            unsafe {
                let base = (set as *mut libc::sigset_t).cast::<u64>();
                *base.add(bit / 64) |= 1u64 << (bit % 64);
            }
        }
    }

    /// upkeep's environment as `KEY=VALUE` strings, read once (an entry with a NUL byte,
    /// which exec could not pass anyway, is left out).
    fn upkeeps_environment() -> &'static [CString] {
        static ENV: OnceLock<Vec<CString>> = OnceLock::new();
        ENV.get_or_init(|| {
            std::env::vars_os()
                .filter_map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()).ok())
                .collect()
        })
    }

    pub fn spawn(spec: &SpawnPlan, output: ChildFds) -> io::Result<i32> {
        let argv: Vec<CString> = spec
            .argv
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<io::Result<_>>()?;
        let Some(program) = argv.first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
        };
        // upkeep's own environment never changes: its entries are made once, and each
        // spawn only adds the plan's own (which win over upkeep's of the same name).
        let own: Vec<CString> = spec
            .env
            .iter()
            .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
            .collect::<io::Result<_>>()?;
        let overridden = |entry: &CString| {
            let name = entry.as_bytes().split(|&b| b == b'=').next().unwrap_or(b"");
            spec.env.iter().any(|(k, _)| k.as_bytes() == name)
        };
        let inherited = upkeeps_environment().iter().filter(|e| !overridden(e));
        let argv_ptrs: Vec<*mut libc::c_char> = argv
            .iter()
            .map(|c| c.as_ptr().cast_mut())
            .chain(std::iter::once(ptr::null_mut()))
            .collect();
        let envp_ptrs: Vec<*mut libc::c_char> = inherited
            .chain(own.iter())
            .map(|c| c.as_ptr().cast_mut())
            .chain(std::iter::once(ptr::null_mut()))
            .collect();
        let dev_null = cstring(b"/dev/null")?;
        let directory = match &spec.directory {
            Some(d) => Some(cstring(OsStr::new(d).as_bytes())?),
            None => None,
        };

        // SAFETY: plain C objects, initialised here and destroyed by `Objects`' Drop; every
        // pointer handed to libc outlives the posix_spawnp call below.
        unsafe {
            let mut objects = Objects {
                attr: std::mem::zeroed(),
                actions: std::mem::zeroed(),
            };
            check(libc::posix_spawnattr_init(&mut objects.attr))?;
            if let Err(e) = check(libc::posix_spawn_file_actions_init(&mut objects.actions)) {
                libc::posix_spawnattr_destroy(&mut objects.attr);
                std::mem::forget(objects);
                return Err(e);
            }
            let attr = &mut objects.attr;
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            let mut defaults: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut defaults);
            // Every signal, not only the ignored ones: glibc's child sets each signal of this
            // set to SIG_DFL with one call, and asks the kernel about every other one first
            // (two calls each), about sixty system calls more on the restart path.
            let max = crate::types::signame::max_signal();
            for sig in (1..=max).filter(|&s| s != libc::SIGKILL && s != libc::SIGSTOP) {
                libc::sigaddset(&mut defaults, sig);
            }
            // glibc's spawn sets its internal signals (32, 33) to SIG_IGN in the child unless
            // they are in this set, and its sigaddset refuses them: set their bits directly
            // (sigset_t is a bit array, bit N-1 for signal N).
            for sig in 32..libc::SIGRTMIN() {
                add_raw(&mut defaults, sig);
            }
            check(libc::posix_spawnattr_setsigmask(attr, &empty))?;
            check(libc::posix_spawnattr_setsigdefault(attr, &defaults))?;
            let group_flag = match spec.grouping {
                Grouping::Session => libc::POSIX_SPAWN_SETSID as libc::c_int,
                Grouping::ForegroundGroup => {
                    check(libc::posix_spawnattr_setpgroup(attr, 0))?;
                    libc::POSIX_SPAWN_SETPGROUP
                }
            };
            let flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF | group_flag;
            check(libc::posix_spawnattr_setflags(attr, flags as libc::c_short))?;
            let actions = &mut objects.actions;
            if spec.stdin_null {
                check(libc::posix_spawn_file_actions_addopen(
                    actions,
                    0,
                    dev_null.as_ptr(),
                    libc::O_RDONLY,
                    0,
                ))?;
            }
            let notify = output.notify.map(|(fd, n)| (Some(fd), n));
            let targets = [(output.stdout, 1), (output.stderr, 2)];
            for (fd, target) in targets.into_iter().chain(notify) {
                if let Some(fd) = fd {
                    check(libc::posix_spawn_file_actions_adddup2(
                        actions,
                        fd.as_raw_fd(),
                        target,
                    ))?;
                }
            }
            if let Some(dir) = &directory {
                check(libc::posix_spawn_file_actions_addchdir_np(
                    actions,
                    dir.as_ptr(),
                ))?;
            }
            let mut pid: libc::pid_t = 0;
            check(libc::posix_spawnp(
                &mut pid,
                program.as_ptr(),
                &objects.actions,
                &objects.attr,
                argv_ptrs.as_ptr(),
                envp_ptrs.as_ptr(),
            ))?;
            Ok(pid)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pids_in_decimal() {
        let mut buf = [0u8; 12];
        assert_eq!(super::pid_text(4242, &mut buf), b"4242\0");
        let mut buf = [0u8; 12];
        assert_eq!(super::pid_text(1, &mut buf), b"1\0");
        let mut buf = [0u8; 12];
        assert_eq!(super::pid_text(i32::MAX, &mut buf), b"2147483647\0");
    }
}
