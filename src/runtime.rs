//! The one event loop: sleep in poll() until a signal, a diagnostic's output or the core's
//! next deadline, then drain signals, reap every child, expire deadlines, and carry out what
//! the core asks.
//!
//! One thread, no sleeps, no periodic tick. Nothing here decides policy; nothing here may
//! panic or give up on an error about one process (upkeep is PID 1).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::config::Config;
use crate::os::{self, platform, reap, signals, spawn};
use crate::supervisor::{Action, Event, Level, MainOptions, Options, Proc, Supervisor};

pub struct RunSpec {
    pub config: Config,
    /// COMMAND and its options, if one was given.
    pub main: Option<(Vec<OsString>, MainOptions)>,
    /// True when a config file is supervised (TERM means an ordered stop).
    pub supervising: bool,
    pub parent_death_signal: Option<i32>,
}

/// A diagnostic's output pipe, read line by line into the log.
struct Diagnostic {
    service: String,
    pipe: std::fs::File,
    partial: Vec<u8>,
}

impl Diagnostic {
    /// Reads what is there without blocking; logs complete lines. Returns false at EOF.
    fn drain(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match self.pipe.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.partial.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                    while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.partial.drain(..=end).collect();
                        self.log_line(&line);
                    }
                    // A line longer than this is logged in pieces rather than held forever.
                    if self.partial.len() > 64 * 1024 {
                        let line = std::mem::take(&mut self.partial);
                        self.log_line(&line);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }

    fn log_line(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        log::info!(
            "{} diagnose: {}",
            self.service,
            text.trim_end_matches(['\n', '\r'])
        );
    }

    fn finish(mut self) {
        self.drain();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.log_line(&line);
        }
    }
}

/// Runs until the core says to exit; returns the exit status.
pub fn run(spec: RunSpec) -> i32 {
    platform::close_inherited_on_exec();
    // Handlers first: as PID 1, a signal with no handler is simply dropped by the kernel.
    let mut delivery = match signals::install() {
        Ok(d) => d,
        Err(e) => {
            log::error!("cannot install signal handlers: {e}");
            return 1;
        }
    };
    if let Some(Err(e)) = spec
        .parent_death_signal
        .map(platform::set_parent_death_signal)
    {
        log::warn!("cannot set the parent-death signal: {e}");
    }
    if let Err(e) = platform::become_subreaper() {
        log::warn!("not PID 1 and cannot become a subreaper ({e}): orphans will not be reaped");
    }
    if !spec.config.watches.is_empty() {
        log::warn!("[watch] sections are not supported yet: they are ignored");
    }

    let debug = log::log_enabled!(log::Level::Debug);
    let (main_argv, main_opts) = match spec.main {
        Some((argv, opts)) => (argv, Some(opts)),
        None => (Vec::new(), None),
    };
    let mut sup = Supervisor::new(
        Options {
            main: main_opts,
            supervising: spec.supervising,
            services: spec.config.services.clone(),
            final_sweep: spec.supervising && std::process::id() == 1,
            debug,
        },
        Instant::now(),
    );
    let mut diagnostics: HashMap<i32, Diagnostic> = HashMap::new();
    loop {
        while let Some(action) = sup.poll_action() {
            let now = Instant::now();
            match action {
                Action::Spawn { proc, env } => {
                    let event = spawn_proc(proc, env, &main_argv, &spec.config, &mut diagnostics);
                    sup.handle_event(now, event);
                }
                Action::Kill { pid, sig, group } => {
                    if let Err(e) = os::send_signal(pid, sig, group) {
                        log::warn!("cannot signal pid {pid}: {e}");
                    }
                }
                Action::ProbeGroup { svc, pgid } => {
                    let alive = os::group_exists(pgid);
                    sup.handle_event(now, Event::GroupProbed { svc, alive });
                }
                Action::KillAll(sig) => {
                    if std::process::id() == 1 {
                        // SAFETY: kill(-1) as PID 1 signals every other process of the namespace.
                        unsafe { libc::kill(-1, sig) };
                    }
                    feed_reaped(&mut sup, &mut diagnostics, Instant::now());
                }
                Action::Log(level, text) => match level {
                    Level::Warn => log::warn!("{text}"),
                    Level::Info => log::info!("{text}"),
                    Level::Debug => log::debug!("{text}"),
                },
                Action::Exit(status) => return status,
            }
        }

        let timeout = sup.poll_timeout().map_or(PollTimeout::NONE, |t| {
            ceil_ms(t.saturating_duration_since(Instant::now()))
        });
        let diag_pids: Vec<i32> = diagnostics.keys().copied().collect();
        let ready: Vec<i32> = {
            let mut fds = vec![PollFd::new(delivery.get_read().as_fd(), PollFlags::POLLIN)];
            for pid in &diag_pids {
                if let Some(d) = diagnostics.get(pid) {
                    fds.push(PollFd::new(d.pipe.as_fd(), PollFlags::POLLIN));
                }
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => log::error!("poll failed: {e}"),
            }
            fds.iter()
                .skip(1)
                .zip(&diag_pids)
                .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
                .map(|(_, pid)| *pid)
                .collect()
        };
        for pid in ready {
            // At EOF every writer is gone; the exit itself comes through the reaper.
            if diagnostics.get_mut(&pid).is_some_and(|d| !d.drain())
                && let Some(d) = diagnostics.remove(&pid)
            {
                d.finish();
            }
        }

        let now = Instant::now();
        // Drain first, then act: a signal that arrives while we act wakes the next poll.
        for sig in delivery.pending() {
            if sig != libc::SIGCHLD {
                sup.handle_event(now, Event::Signal(sig));
            }
        }
        // Reap on every wake-up: SIGCHLDs coalesce, and one may have arrived before the handler.
        feed_reaped(&mut sup, &mut diagnostics, now);
        sup.handle_timeout(now);
    }
}

fn feed_reaped(sup: &mut Supervisor, diagnostics: &mut HashMap<i32, Diagnostic>, now: Instant) {
    let (reaped, no_children) = reap::reap_all();
    for (pid, exit) in reaped {
        // A diagnostic's last lines are logged before the core hears it ended.
        if let Some(d) = diagnostics.remove(&pid) {
            d.finish();
        }
        sup.handle_event(now, Event::Exited { pid, exit });
    }
    if no_children {
        sup.handle_event(now, Event::NoChildren);
    }
}

fn spawn_proc(
    proc: Proc,
    env: Vec<(String, String)>,
    main_argv: &[OsString],
    config: &Config,
    diagnostics: &mut HashMap<i32, Diagnostic>,
) -> Event {
    let mut output_reader = None;
    let spec = match proc {
        Proc::Main => {
            let mut spec =
                spawn::SpawnSpec::new(main_argv.to_vec(), spawn::Grouping::ForegroundGroup);
            spec.stdin_null = false;
            Ok(spec)
        }
        Proc::Service(i) => match config.services.get(i) {
            Some(svc) => {
                let argv = svc.command.iter().map(OsString::from).collect();
                let mut spec = spawn::SpawnSpec::new(argv, spawn::Grouping::Session);
                spec.env = svc.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
                spec.directory.clone_from(&svc.directory);
                spec.credentials.clone_from(&svc.credentials);
                Ok(spec)
            }
            None => Err("no such service".to_string()),
        },
        Proc::Diagnose(i) => match config.services.get(i) {
            Some(svc) => {
                let script = svc.diagnose.clone().unwrap_or_default();
                let argv = ["/bin/sh", "-c", &script]
                    .iter()
                    .map(OsString::from)
                    .collect();
                let mut spec = spawn::SpawnSpec::new(argv, spawn::Grouping::Session);
                spec.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
                spec.directory.clone_from(&svc.directory);
                match output_pipe() {
                    Ok((read, write)) => {
                        spec.output = Some(write);
                        output_reader = Some((svc.name.clone(), read));
                        Ok(spec)
                    }
                    Err(e) => Err(format!("cannot make a pipe: {e}")),
                }
            }
            None => Err("no such service".to_string()),
        },
    };
    let result = match spec {
        Ok(spec) => spawn::spawn(spec).map_err(|e| {
            (
                spawn::exec_failure_status(&e),
                spawn::exec_failure_reason(&e),
            )
        }),
        Err(reason) => Err((126, reason)),
    };
    match result {
        Ok(pid) => {
            if let Some((service, read)) = output_reader {
                diagnostics.insert(
                    pid,
                    Diagnostic {
                        service,
                        pipe: std::fs::File::from(read),
                        partial: Vec::new(),
                    },
                );
            }
            Event::Spawned { proc, pid }
        }
        Err((status, reason)) => Event::SpawnFailed {
            proc,
            status,
            reason,
        },
    }
}

/// A pipe for a child's output: both ends close-on-exec (the child gets the write end as
/// its stdout and stderr through dup2), the read end non-blocking.
fn output_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(&read, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((read, write))
}

/// A poll timeout that never undershoots: a deadline 0.4 ms away must not become 0 ms and spin.
fn ceil_ms(d: Duration) -> PollTimeout {
    let ms = d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        assert_eq!(ceil_ms(Duration::from_micros(400)), PollTimeout::from(1u16));
        assert_eq!(ceil_ms(Duration::ZERO), PollTimeout::ZERO);
        assert_eq!(ceil_ms(Duration::from_millis(5)), PollTimeout::from(5u16));
        assert_eq!(ceil_ms(Duration::from_secs(10_000_000)), PollTimeout::MAX);
    }
}
