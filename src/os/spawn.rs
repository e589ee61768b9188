//! Starting children: std `Command` plus a `pre_exec` that gives them a clean slate.
//!
//! std builds argv and envp before forking, allocates nothing in the child and reports exec
//! failures over a close-on-exec pipe; the `Child` handle is dropped at once because the
//! reaper (`waitpid(-1)`) owns every pid.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::signals;

/// How the child relates to process groups and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Own process group, made the terminal's foreground group when stdin is a terminal (tini):
    /// Ctrl-C and Ctrl-Z reach the command, not upkeep.
    ForegroundGroup,
    /// Own session (so own group, no controlling terminal): signalled as a whole with killpg.
    Session,
}

/// Ids to switch to before exec, resolved beforehand (resolution reads files and allocates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

#[derive(Debug)]
pub struct SpawnSpec {
    pub argv: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub directory: Option<PathBuf>,
    pub credentials: Option<Credentials>,
    pub grouping: Grouping,
    pub stdin_null: bool,
    /// When set, stdout and stderr go to this (the write end of a pipe upkeep reads).
    pub output: Option<std::os::fd::OwnedFd>,
}

impl SpawnSpec {
    pub fn new(argv: Vec<OsString>, grouping: Grouping) -> Self {
        SpawnSpec {
            argv,
            env: Vec::new(),
            directory: None,
            credentials: None,
            grouping,
            stdin_null: true,
            output: None,
        }
    }
}

/// Forks and execs; returns the child's pid. Exec failures come back as the child's errno.
pub fn spawn(spec: SpawnSpec) -> io::Result<i32> {
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
    if let Some(out) = spec.output {
        let err = out.try_clone()?;
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
    }
    let grouping = spec.grouping;
    let ignored = signals::ignored();
    let credentials = spec.credentials;
    // SAFETY: the closure runs between fork and exec in a child of a single-threaded process and
    // makes only async-signal-safe system calls; it allocates nothing and takes no lock
    // (`credentials` was built before the fork and is only read).
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
