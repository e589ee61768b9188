//! `upkeep scan`: one watch pass for cron, then exit. Silent when everything runs (cron mails
//! only when something happened); otherwise, per missing daemon, a timestamped line, its
//! diagnose and start commands run and waited for (bounded), their output printed.
//!
//! Not the resident loop: this blocks on its own children, one at a time, and exits.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

use crate::childlog::{self, ChildOutput};
use crate::config::{Config, Watch};
use crate::os::{self, proctable, spawn};
use crate::supervisor::{Exit, WATCH_DIAGNOSE_TIMEOUT};
use crate::watch;

/// How long a start command may run before it is killed and counted as failed.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One pass; returns the exit status: 0 when every start command that ran succeeded.
pub fn run_once(config: &Config) -> i32 {
    let me = std::process::id() as i32;
    let procs = proctable::list_processes();
    let missing: Vec<&Watch> = config
        .watches
        .iter()
        .filter(|w| !watch::is_running(&w.process, &procs, |pid| pid == me))
        .collect();
    if missing.is_empty() {
        return 0;
    }
    // SIGCHLD wakes the wait below; nothing else is caught, so TERM still ends `upkeep scan`.
    let delivery = UnixStream::pair().and_then(|(read, write)| {
        SignalDelivery::with_pipe(read, write, SignalOnly, [libc::SIGCHLD])
    });
    let mut delivery = match delivery {
        Ok(d) => d,
        Err(e) => {
            log::error!("cannot catch SIGCHLD: {e}");
            return 1;
        }
    };
    let mut failed = false;
    for w in missing {
        log::info!("{} not running; starting it (scan)", w.name);
        let env = vec![
            ("UPKEEP_WATCH".to_string(), w.name.clone()),
            ("UPKEEP_PROCESS".to_string(), w.process.clone()),
        ];
        if let Some(script) = &w.diagnose {
            let argv = vec!["/bin/sh".into(), "-c".into(), script.clone()];
            let label = format!("{} diagnose", w.name);
            match run_logged(&mut delivery, argv, &env, label, WATCH_DIAGNOSE_TIMEOUT) {
                Ok(Exit::Code(0)) => {}
                Ok(exit) => log::info!("{} diagnose {exit}", w.name),
                Err(e) => log::warn!("{} diagnose: {e}", w.name),
            }
        }
        let label = format!("{} start", w.name);
        match run_logged(&mut delivery, w.start.clone(), &env, label, START_TIMEOUT) {
            Ok(Exit::Code(0)) => {}
            Ok(exit) => {
                failed = true;
                log::warn!("{} start command {exit}", w.name);
            }
            Err(e) => {
                failed = true;
                log::warn!("{} start command {e}", w.name);
            }
        }
    }
    i32::from(failed)
}

/// Runs `argv` in its own session with its output logged under `label`; waits for it, and
/// kills its process group at `timeout`.
fn run_logged(
    delivery: &mut SignalDelivery<UnixStream, SignalOnly>,
    argv: Vec<String>,
    env: &[(String, String)],
    label: String,
    timeout: Duration,
) -> Result<Exit, String> {
    let (read, write) = childlog::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
    let mut spec = spawn::SpawnSpec::new(
        argv.into_iter().map(OsString::from).collect(),
        spawn::Grouping::Session,
    );
    spec.env = env
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect();
    spec.output = Some(write);
    let pid = spawn::spawn(spec)
        .map_err(|e| format!("cannot run: {}", spawn::exec_failure_reason(&e)))?;
    let mut output = Some(ChildOutput::new(label, read));
    let deadline = Instant::now() + timeout;
    loop {
        // Done when the child has exited, not at EOF: a daemon it started may keep the pipe.
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(finish(output, Exit::Code(code))),
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                return Ok(finish(output, Exit::Signal(sig as i32)));
            }
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("cannot wait: {e}")),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = os::send_signal(pid, libc::SIGKILL, true);
            let _ = waitpid(Pid::from_raw(pid), None);
            finish(output, Exit::Signal(libc::SIGKILL));
            return Err(format!("timed out after {}s; killed", timeout.as_secs()));
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        let ready = {
            let mut fds = vec![PollFd::new(delivery.get_read().as_fd(), PollFlags::POLLIN)];
            if let Some(o) = &output {
                fds.push(PollFd::new(o.fd(), PollFlags::POLLIN));
            }
            let _ = poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            );
            fds.get(1)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        delivery.pending().for_each(drop);
        if ready
            && output.as_mut().is_some_and(|o| !o.drain())
            && let Some(o) = output.take()
        {
            o.finish();
        }
    }
}

fn finish(output: Option<ChildOutput>, exit: Exit) -> Exit {
    if let Some(o) = output {
        o.finish();
    }
    exit
}
