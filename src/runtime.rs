//! The one event loop: sleep in poll() until a signal, a diagnostic's output or the core's
//! next deadline, then drain signals, reap every child, expire deadlines, and carry out what
//! the core asks.
//!
//! One thread, no sleeps, no periodic tick. Nothing here decides policy; nothing here may
//! panic or give up on an error about one process (upkeep is PID 1).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::childlog::{self, ChildOutput};
use crate::config::Config;
use crate::os::{self, platform, proctable, reap, signals, spawn};
use crate::supervisor::{Action, Event, Level, MainOptions, Options, Proc, Supervisor};

pub struct RunSpec {
    pub config: Config,
    /// COMMAND and its options, if one was given.
    pub main: Option<(Vec<OsString>, MainOptions)>,
    /// True when a config file is supervised (TERM means an ordered stop).
    pub supervising: bool,
    pub parent_death_signal: Option<i32>,
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

    let debug = log::log_enabled!(log::Level::Debug);
    let (main_argv, main_opts) = match spec.main {
        Some((argv, opts)) => (argv, Some(opts)),
        None => (Vec::new(), None),
    };
    let mut sup = Supervisor::new(
        Options {
            main: main_opts,
            supervising: spec.supervising,
            services: spec.config.services,
            watches: spec.config.watches,
            scan_interval: spec.config.settings.scan_interval,
            final_sweep: spec.supervising && std::process::id() == 1,
            debug,
        },
        Instant::now(),
    );
    platform::release_free_memory();
    let mut diagnostics: HashMap<i32, ChildOutput> = HashMap::new();
    loop {
        while let Some(action) = sup.poll_action() {
            let now = Instant::now();
            match action {
                Action::Spawn { proc, env } => {
                    let event = spawn_proc(proc, env, &main_argv, &sup, &mut diagnostics);
                    sup.handle_event(now, event);
                }
                Action::Kill { pid, sig, group } => {
                    if let Err(e) = os::send_signal(pid, sig, group) {
                        log::warn!("cannot signal pid {pid}: {e}");
                    }
                }
                Action::Scan => {
                    let me = std::process::id() as i32;
                    let mut procs = proctable::list_processes();
                    procs.retain(|p| p.pid != me);
                    sup.handle_event(Instant::now(), Event::ProcessTable(procs));
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
                    fds.push(PollFd::new(d.fd(), PollFlags::POLLIN));
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

fn feed_reaped(sup: &mut Supervisor, diagnostics: &mut HashMap<i32, ChildOutput>, now: Instant) {
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
    sup: &Supervisor,
    diagnostics: &mut HashMap<i32, ChildOutput>,
) -> Event {
    let mut output_reader = None;
    let spec = match proc {
        Proc::Main => {
            let mut spec =
                spawn::SpawnSpec::new(main_argv.to_vec(), spawn::Grouping::ForegroundGroup);
            spec.stdin_null = false;
            Ok(spec)
        }
        Proc::Service(i) => match sup.service_config(i) {
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
        Proc::Diagnose(i) => match sup.service_config(i) {
            Some(svc) => {
                let script = svc.diagnose.clone().unwrap_or_default();
                let argv = vec!["/bin/sh".into(), "-c".into(), script];
                let label = format!("{} diagnose", svc.name);
                logged_spec(argv, env, svc.directory.clone(), label, &mut output_reader)
            }
            None => Err("no such service".to_string()),
        },
        Proc::WatchDiagnose(w) | Proc::WatchStart(w) => match sup.watch_config(w) {
            Some(watch) => {
                let (argv, what) = match proc {
                    Proc::WatchDiagnose(_) => {
                        let script = watch.diagnose.clone().unwrap_or_default();
                        (vec!["/bin/sh".into(), "-c".into(), script], "diagnose")
                    }
                    _ => (watch.start.clone(), "start"),
                };
                let label = format!("{} {what}", watch.name);
                logged_spec(argv, env, None, label, &mut output_reader)
            }
            None => Err("no such watch".to_string()),
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
            if let Some((label, read)) = output_reader {
                diagnostics.insert(pid, ChildOutput::new(label, read));
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

/// A spec whose output goes, line by line, into the log under `label`.
fn logged_spec(
    argv: Vec<String>,
    env: Vec<(String, String)>,
    directory: Option<std::path::PathBuf>,
    label: String,
    output_reader: &mut Option<(String, OwnedFd)>,
) -> Result<spawn::SpawnSpec, String> {
    let argv = argv.into_iter().map(OsString::from).collect();
    let mut spec = spawn::SpawnSpec::new(argv, spawn::Grouping::Session);
    spec.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    spec.directory = directory;
    let (read, write) = childlog::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
    spec.output = Some(write);
    *output_reader = Some((label, read));
    Ok(spec)
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
