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

use std::path::PathBuf;

use serde_json::json;

use crate::childlog::{self, ChildOutput};
use crate::config::{self, Config, Settings};
use crate::control::server::{BindError, Server, Wait};
use crate::control::{self, Command, Request, error_line, ok_line, status_line};
use crate::os::{self, platform, proctable, reap, signals, spawn};
use crate::supervisor::{Action, Event, Level, MainOptions, Options, Proc, Supervisor};

pub struct RunSpec {
    pub config: Config,
    /// COMMAND and its options, if one was given.
    pub main: Option<(Vec<OsString>, MainOptions)>,
    /// True when a config file is supervised (TERM means an ordered stop).
    pub supervising: bool,
    pub parent_death_signal: Option<i32>,
    /// `--socket PATH`.
    pub socket: Option<PathBuf>,
    /// Net `-v` minus `-q`, kept for a reload's `log_level`.
    pub verbosity: i32,
}

/// What the control socket's requests need beyond the core.
struct Control {
    server: Option<Server>,
    /// The config file, for reloads; None in single-command mode.
    config_path: Option<PathBuf>,
    /// The settings in force.
    settings: Settings,
    verbosity: i32,
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

    let config_path = spec.supervising.then(|| spec.config.path.clone());
    // The socket serves a config's services; in tini mode only when asked for.
    let server = if spec.supervising || spec.socket.is_some() {
        let path = control::socket_path(
            spec.socket.as_deref(),
            spec.config.settings.control_socket.as_deref(),
        );
        match Server::bind(&path) {
            Ok(server) => {
                log::debug!("control socket {}", path.display());
                Some(server)
            }
            Err(BindError::InUse(message)) => {
                log::error!("{message}");
                return 2;
            }
            Err(BindError::Other(message)) => {
                log::warn!("{message}; running without a control socket");
                None
            }
        }
    } else {
        None
    };
    let mut ctl = Control {
        server,
        config_path,
        settings: spec.config.settings.clone(),
        verbosity: spec.verbosity,
    };

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
                Action::Exit(status) => {
                    if let Some(server) = &mut ctl.server {
                        server.exiting(&ok_line(json!({"done": true, "exit_status": status})));
                    }
                    return status;
                }
            }
        }
        answer_settled(&sup, &mut ctl, Instant::now());

        let deadline = [
            sup.poll_timeout(),
            ctl.server.as_ref().and_then(Server::deadline),
        ]
        .into_iter()
        .flatten()
        .min();
        let timeout = deadline.map_or(PollTimeout::NONE, |t| {
            ceil_ms(t.saturating_duration_since(Instant::now()))
        });
        let diag_pids: Vec<i32> = diagnostics.keys().copied().collect();
        let (ready, server_ready): (Vec<i32>, Vec<bool>) = {
            let mut fds = vec![PollFd::new(delivery.get_read().as_fd(), PollFlags::POLLIN)];
            let server_fds = ctl
                .server
                .as_ref()
                .map(Server::poll_fds)
                .unwrap_or_default();
            let served = server_fds.len();
            fds.extend(server_fds.into_iter().map(|(fd, f)| PollFd::new(fd, f)));
            for pid in &diag_pids {
                if let Some(d) = diagnostics.get(pid) {
                    fds.push(PollFd::new(d.fd(), PollFlags::POLLIN));
                }
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => log::error!("poll failed: {e}"),
            }
            let woke = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
            let server_ready = fds.iter().skip(1).take(served).map(woke).collect();
            let ready = fds
                .iter()
                .skip(1 + served)
                .zip(&diag_pids)
                .filter(|(fd, _)| woke(fd))
                .map(|(_, pid)| *pid)
                .collect();
            (ready, server_ready)
        };
        if let Some(server) = &mut ctl.server {
            let now = Instant::now();
            server.expire(now);
            for (id, request) in server.handle_ready(&server_ready, now) {
                handle_request(&mut sup, &mut ctl, id, request, now);
            }
        }
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
            if sig == libc::SIGHUP && ctl.config_path.is_some() {
                let _ = reload(&mut sup, &mut ctl, now);
            } else if sig != libc::SIGCHLD {
                sup.handle_event(now, Event::Signal(sig));
            }
        }
        // Reap on every wake-up: SIGCHLDs coalesce, and one may have arrived before the handler.
        feed_reaped(&mut sup, &mut diagnostics, now);
        sup.handle_timeout(now);
    }
}

/// Carries out one control request; replies now, or parks the connection until it can.
fn handle_request(sup: &mut Supervisor, ctl: &mut Control, id: u64, req: Request, now: Instant) {
    let names = req.names;
    let reply = match req.cmd {
        Command::Status => match sup.status(now, &names) {
            Ok(rows) => status_line(&rows),
            Err(e) => error_line(&e, &[]),
        },
        Command::Start | Command::Stop | Command::Restart => {
            let done = match req.cmd {
                Command::Start => sup.start(now, &names),
                Command::Stop => sup.stop(now, &names),
                _ => sup.restart(now, &names),
            };
            match done {
                Ok(()) => {
                    if let Some(server) = &mut ctl.server {
                        server.park(id, None, Wait::Settled(names));
                    }
                    return;
                }
                Err(e) => error_line(&e, &[]),
            }
        }
        Command::Signal => {
            let sig = req.signal.unwrap_or(libc::SIGTERM);
            match sup.signal_services(sig, &names) {
                Ok(()) => ok_line(json!({
                    "message": format!("sent {} to {}", crate::signame::name(sig), names.join(", "))
                })),
                Err(e) => error_line(&e, &[]),
            }
        }
        Command::Reload => reload(sup, ctl, now),
        Command::Shutdown => {
            sup.shutdown(now);
            if let Some(server) = &mut ctl.server {
                let ack = ok_line(json!({"message": "shutting down"}));
                server.park(id, Some(ack), Wait::Exit);
            }
            return;
        }
    };
    if let Some(server) = &mut ctl.server {
        server.reply(id, reply, now);
    }
}

/// Answers every parked stop/start/restart whose services have settled.
fn answer_settled(sup: &Supervisor, ctl: &mut Control, now: Instant) {
    let Some(server) = &mut ctl.server else {
        return;
    };
    for (id, names) in server.waiting_for_services() {
        if sup.settled(&names) {
            let reply = match sup.status(now, &names) {
                Ok(rows) => status_line(&rows),
                Err(e) => error_line(&e, &[]),
            };
            server.reply(id, reply, now);
        }
    }
}

/// Re-reads the config (request or SIGHUP). An invalid one changes nothing; a valid one
/// goes to the core, which touches only what changed. Returns the reply line.
fn reload(sup: &mut Supervisor, ctl: &mut Control, now: Instant) -> String {
    let Some(path) = ctl.config_path.clone() else {
        return error_line("upkeep runs without a config file: nothing to reload", &[]);
    };
    log::info!("reloading {}", path.display());
    let new = match config::load(&path) {
        Ok(c) => c,
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            for e in &errors {
                log::warn!("reload: {e}");
            }
            log::warn!("reload: the config is invalid; nothing changed");
            return error_line("invalid config; nothing changed", &errors);
        }
    };
    let changes = match sup.reload(now, new.services, new.watches, new.settings.scan_interval) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("reload: {e}; nothing changed");
            return error_line(&format!("{e}; nothing changed"), &[]);
        }
    };
    let mut restart_needed = Vec::new();
    if new.settings.control_socket != ctl.settings.control_socket {
        restart_needed.push("control_socket");
    }
    if new.settings.log != ctl.settings.log {
        restart_needed.push("log");
    }
    for key in &restart_needed {
        log::warn!("reload: [supervisor] {key} changed; it takes effect when upkeep restarts");
    }
    if new.settings.log_level != ctl.settings.log_level {
        crate::logging::set_level(ctl.verbosity, new.settings.log_level);
        ctl.settings.log_level = new.settings.log_level;
    }
    ctl.settings.scan_interval = new.settings.scan_interval;
    platform::release_free_memory();
    ok_line(json!({"changes": changes, "restart_needed": restart_needed}))
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
