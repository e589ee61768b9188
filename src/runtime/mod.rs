//! The one event loop: sleep in poll() until a signal, a child's output, a control client or
//! the core's next deadline; then drain signals, reap every child, expire deadlines, and
//! carry out what the core asks, feeding each result back as an event.
//!
//! One thread, no sleeps, no periodic tick. Nothing here decides policy; nothing here may
//! panic or give up on an error about one process (upkeep is PID 1).

mod checks;
mod childlog;
mod config_state;
mod outputs;
mod single;
mod syslog;
mod upward;

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::{Value, json};

use crate::config::{self, Config};
use crate::control::http::{self, Http, Page};
use crate::control::metrics;
use crate::control::server::{BindError, Server, Wait};
use crate::control::{self, Command, Request, error_line, ok_line, status_line};
use crate::core::{
    Action, Condition, Core, Event, Level, MainOptions, Mode, Options, Owner, Verdict,
};
use crate::os::{self, platform, proctable, reap, signals};
use crate::types::SpawnPlan;
use checks::{Checkers, Watched};
use config_state::ConfigState;
use outputs::{Outputs, Pipe};

pub struct RunSpec {
    pub mode: Mode,
    pub config: Config,
    /// COMMAND and its options, if one was given.
    pub main: Option<MainOptions>,
    pub parent_death_signal: Option<i32>,
    /// `--socket PATH`.
    pub socket: Option<PathBuf>,
    /// Net `-v` minus `-q`, kept for a reload's `log_level`.
    pub verbosity: i32,
    /// `UPKEEP_STOP_GRACE`.
    pub stop_grace_override: Option<Duration>,
}

/// What the control socket's requests need beyond the core.
struct Control {
    server: Option<Server>,
    /// The manager that started upkeep, told of readiness and the stop (with a config).
    upwards: Option<upward::Upwards>,
    /// `[supervisor] http`: the read-only endpoint.
    http: Option<Http>,
    /// `[supervisor] syslog_listen`: the socket daemons log to.
    syslog: Option<syslog::Listener>,
    /// upkeep's own log goes to syslog(3) (`log = "syslog"`, as started: it takes a
    /// restart to change).
    log_to_syslog: bool,
    /// Processes reaped since start-up (`upkeep_reaped_total`).
    reaped: u64,
    /// The config file, for reloads, and whether it is still valid on disk; None in
    /// single-command mode.
    config: Option<ConfigState>,
    verbosity: i32,
}

/// How long an exiting upkeep waits for a slow log reader to take the last lines.
const EXIT_LOG_GRACE: Duration = Duration::from_millis(200);

/// What woke poll(): one token per polled descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Signals,
    Server,
    Http,
    Output(Pipe),
    /// Some of the services' pipes have input: ask the set which.
    ServicePipes,
    /// The log's destination takes more again.
    Log,
    /// Syslog messages wait.
    Syslog,
    /// A network check's socket, or a service's notification channel.
    Check(Watched),
}

/// Runs until the core says to exit; returns the exit status.
pub fn run(spec: RunSpec) -> i32 {
    platform::close_inherited_on_exec();
    let scan_once = spec.mode == Mode::ScanOnce;
    // Handlers first: as PID 1, a signal with no handler is simply dropped by the kernel.
    // `upkeep scan` catches only CHLD, so that TERM still ends it.
    let caught = if scan_once {
        vec![libc::SIGCHLD]
    } else {
        signals::handled()
    };
    if single::applies(
        spec.mode == Mode::Single,
        spec.socket.is_some(),
        spec.main.as_ref(),
    ) && let Some(main) = &spec.main
    {
        return single::run(main, || take_roles(&spec));
    }
    let mut delivery = match signals::install(&caught) {
        Ok(d) => d,
        Err(e) => {
            log::error!("cannot install signal handlers: {e}");
            return 1;
        }
    };
    take_roles(&spec);
    let mut ctl = match control(&spec) {
        Ok(ctl) => ctl,
        Err(status) => return status,
    };
    enough_open_files(spec.config.services.len());
    let supervising = spec.mode == Mode::Supervise;
    if supervising {
        ctl.upwards = upward::Upwards::from_environment(Instant::now());
    }
    let mut core = Core::new(
        Options {
            mode: spec.mode,
            main: spec.main,
            config: spec.config,
            final_sweep: supervising && std::process::id() == 1,
            debug: log::log_enabled!(log::Level::Debug),
            wall_ms: wall_ms(),
            stop_grace_override: spec.stop_grace_override,
        },
        Instant::now(),
    );
    let mut outputs = Outputs::default();
    let mut checkers = Checkers::default();
    // Pipes poll() found readable, read once this wake-up's actions are out: a restart is
    // not held up by a flood of output.
    let mut readable: Vec<Pipe> = Vec::new();
    let mut trimmed = false;
    loop {
        if let Some(status) = drain_actions(&mut core, &mut ctl, &mut outputs, &mut checkers) {
            return status;
        }
        if !trimmed {
            // The start-up burst (a spawn plan per service, config text) is over.
            platform::release_free_memory();
            trimmed = true;
        }
        for pipe in readable.drain(..) {
            outputs.readable(pipe, &mut core);
        }
        answer_settled(&core, &mut ctl, Instant::now());
        if let Some(up) = &mut ctl.upwards {
            up.tell(&core, Instant::now());
        }
        answer_waits(&core, &mut ctl, Instant::now());
        serve_followers(&mut ctl, &mut outputs, wall_ms());
        let (woken, server_ready, http_ready) = wait(&delivery, &core, &ctl, &outputs, &checkers);
        core.set_wall_clock(Instant::now(), wall_ms());
        if let Some(server) = &mut ctl.server {
            let now = Instant::now();
            server.expire(now);
            for (id, request) in server.handle_ready(&server_ready, now) {
                handle_request(&mut core, &mut ctl, id, request, now);
            }
        }
        serve_http(&core, &mut ctl, &http_ready);
        for token in woken {
            match token {
                Token::Output(pipe) => readable.push(pipe),
                Token::ServicePipes => readable.extend(outputs.ready_in_set()),
                Token::Log => crate::logging::flush(),
                Token::Syslog => {
                    if let Some(listener) = &mut ctl.syslog {
                        listener.readable(&mut core, &mut outputs);
                    }
                }
                Token::Check(what) => {
                    for event in checkers.woken(what) {
                        core.handle_event(Instant::now(), event);
                    }
                }
                Token::Signals | Token::Server | Token::Http => {}
            }
        }
        let now = Instant::now();
        // Drain first, then act: a signal that arrives while we act wakes the next poll.
        for sig in delivery.pending() {
            if sig != libc::SIGCHLD {
                core.handle_event(now, Event::Signal(sig));
            }
        }
        // Reap on every wake-up: SIGCHLDs coalesce, and one may have arrived before the handler.
        ctl.reaped += feed_reaped(&mut core, &mut outputs, now);
        core.handle_timeout(now);
    }
}

/// The wall clock in unix milliseconds (0 before 1970: a clock that broken has no ticks to
/// keep anyway).
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Once signals are caught: the parent-death signal asked for, and the subreaper role (not for
/// `upkeep scan`, which leaves the daemons it starts to init, as the cron job it replaces did).
fn take_roles(spec: &RunSpec) {
    if let Some(Err(e)) = spec
        .parent_death_signal
        .map(platform::set_parent_death_signal)
    {
        log::warn!("cannot set the parent-death signal: {e}");
    }
    if spec.mode != Mode::ScanOnce
        && let Err(e) = platform::become_subreaper()
    {
        log::warn!("not PID 1 and cannot become a subreaper ({e}): orphans will not be reaped");
    }
}

/// The control socket: it serves a config's services; in tini mode only when asked for.
/// Err: the exit status (another upkeep serves that socket).
fn control(spec: &RunSpec) -> Result<Control, i32> {
    let supervising = spec.mode == Mode::Supervise;
    let mut ctl = Control {
        server: None,
        upwards: None,
        http: None,
        syslog: None,
        log_to_syslog: spec.config.settings.log == config::LogTarget::Syslog,
        reaped: 0,
        config: supervising.then(|| ConfigState::new(&spec.config.path, &spec.config.sources)),
        verbosity: spec.verbosity,
    };
    // Before the control socket: once a client gets an answer, daemons can log.
    if supervising && let Some(path) = &spec.config.settings.syslog_listen {
        ctl.syslog = syslog::Listener::bind(path, ctl.log_to_syslog);
    }
    if supervising || (spec.socket.is_some() && spec.mode != Mode::ScanOnce) {
        let path = control::socket_path(
            spec.socket.as_deref(),
            spec.config.settings.control_socket.as_deref(),
        );
        match Server::bind(&path) {
            Ok(server) => {
                log::debug!("control socket {}", path.display());
                ctl.server = Some(server);
            }
            Err(BindError::InUse(message)) => {
                log::error!("{message}");
                return Err(2);
            }
            Err(BindError::Other(message)) => {
                log::warn!("{message}; running without a control socket");
            }
        }
    }
    if let (true, Some(addr)) = (supervising, spec.config.settings.http) {
        match Http::bind(addr) {
            Ok(http) => ctl.http = Some(http),
            Err(e) => {
                // The port, not the address: formatting a SocketAddr costs 3 KiB of binary.
                let port = addr.port();
                log::error!("[supervisor] http: cannot listen on port {port}: {e}");
                return Err(2);
            }
        }
    }
    Ok(ctl)
}

/// Answers what the HTTP endpoint's clients asked, from the core's status rows.
fn serve_http(core: &Core, ctl: &mut Control, ready: &[bool]) {
    let Some(http) = &mut ctl.http else {
        return;
    };
    let now = Instant::now();
    http.expire(now);
    let asked = http.handle_ready(ready, now);
    if asked.is_empty() {
        return;
    }
    let rows = core.status(now, &[]).unwrap_or_default();
    // Only the pages that show it look at the config's files: probes come often.
    let shows_config = asked
        .iter()
        .any(|(_, page, _)| matches!(page, Page::Metrics | Page::Status));
    let config_error = if shows_config {
        ctl.config.as_mut().and_then(ConfigState::error)
    } else {
        None
    };
    for (id, page, head) in asked {
        let text = "text/plain; charset=utf-8";
        let (code, content_type, body) = match page {
            Page::Metrics => {
                let dropped = crate::logging::dropped_lines();
                let counters = metrics::Counters {
                    dropped: &dropped,
                    reaped: ctl.reaped,
                    wall_now: wall_ms().div_euclid(1000),
                    config_valid: ctl.config.is_some().then_some(config_error.is_none()),
                };
                let body = metrics::exposition(&rows, &counters);
                (200, "text/plain; version=0.0.4; charset=utf-8", body)
            }
            Page::Healthz | Page::Readyz => {
                let (fine, body) = if page == Page::Healthz {
                    metrics::healthz(&rows)
                } else {
                    metrics::readyz(&rows)
                };
                (if fine { 200 } else { 503 }, text, body)
            }
            Page::Status => (
                200,
                "application/json",
                status_line(&rows, config_error.as_deref()),
            ),
        };
        http.answer(id, http::response(code, content_type, &body, head));
    }
}

/// Carries out every action the core has; the exit status once it says to exit.
fn drain_actions(
    core: &mut Core,
    ctl: &mut Control,
    outputs: &mut Outputs,
    checkers: &mut Checkers,
) -> Option<i32> {
    while let Some(action) = core.poll_action() {
        if let Some(status) = carry_out(action, core, ctl, outputs, checkers) {
            if let Some(server) = &mut ctl.server {
                server.exiting(&ok_line(json!({"done": true, "exit_status": status})));
            }
            crate::logging::flush_before_exit(EXIT_LOG_GRACE);
            return Some(status);
        }
    }
    None
}

/// `upkeep logs`' answer: each line with its service and the time it was read.
fn logs_reply(logs: &crate::core::Logs) -> String {
    let lines: Vec<Value> = logs
        .lines
        .iter()
        .map(|l| log_line_json(&l.name, l.unix_ms, &l.text, None))
        .collect();
    ok_line(json!({ "names": logs.names, "lines": lines, "notes": logs.notes }))
}

/// One line as `upkeep logs` sends it (`stderr` known for a followed line only).
fn log_line_json(name: &str, unix_ms: i64, text: &[u8], stderr: Option<bool>) -> Value {
    let mut line = json!({
        "name": name,
        "time_ms": unix_ms,
        "line": String::from_utf8_lossy(text),
    });
    if let (Some(stderr), Some(obj)) = (stderr, line.as_object_mut()) {
        obj.insert("stderr".into(), Value::Bool(stderr));
    }
    line
}

/// `upkeep logs -f`: the lines read since last time to their followers; then who follows.
fn serve_followers(ctl: &mut Control, outputs: &mut Outputs, unix_ms: i64) {
    let Some(server) = &mut ctl.server else {
        return;
    };
    for (name, stderr, line) in outputs.take_followed() {
        let mut json = log_line_json(&name, unix_ms, &line, Some(stderr)).to_string();
        json.push('\n');
        server.follow_line(&name, &json);
    }
    outputs.follow(server.followed());
}

/// Sleeps in poll() until a signal, a pipe, a client, the log's destination or the next
/// deadline; returns what woke it, and the server's descriptors' readiness in its order.
fn wait(
    delivery: &signals::Delivery,
    core: &Core,
    ctl: &Control,
    outputs: &Outputs,
    checkers: &Checkers,
) -> (Vec<Token>, Vec<bool>, Vec<bool>) {
    let deadline = [
        core.poll_timeout(),
        ctl.server.as_ref().and_then(Server::deadline),
        ctl.upwards.as_ref().and_then(upward::Upwards::deadline),
        ctl.http.as_ref().and_then(Http::deadline),
    ]
    .into_iter()
    .flatten()
    .min();
    let timeout = deadline.map_or(PollTimeout::NONE, |t| {
        ceil_ms(t.saturating_duration_since(Instant::now()))
    });
    let mut fds = vec![PollFd::new(delivery.fd(), PollFlags::POLLIN)];
    let mut tokens = vec![Token::Signals];
    if let Some(server) = &ctl.server {
        for (fd, flags) in server.poll_fds() {
            fds.push(PollFd::new(fd, flags));
            tokens.push(Token::Server);
        }
    }
    if let Some(http) = &ctl.http {
        for (fd, flags) in http.poll_fds() {
            fds.push(PollFd::new(fd, flags));
            tokens.push(Token::Http);
        }
    }
    for (fd, pipe) in outputs.pipes() {
        fds.push(PollFd::new(fd, PollFlags::POLLIN));
        tokens.push(Token::Output(pipe));
    }
    if let Some(fd) = outputs.set_fd() {
        fds.push(PollFd::new(fd, PollFlags::POLLIN));
        tokens.push(Token::ServicePipes);
    }
    for (fd, flags, what) in checkers.poll_fds() {
        fds.push(PollFd::new(fd, flags));
        tokens.push(Token::Check(what));
    }
    if let Some(listener) = &ctl.syslog {
        fds.push(PollFd::new(listener.fd(), PollFlags::POLLIN));
        tokens.push(Token::Syslog);
    }
    let log_fd = crate::logging::blocked_fd();
    if let Some(fd) = &log_fd {
        fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLOUT));
        tokens.push(Token::Log);
    }
    match poll(&mut fds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(e) => log::error!("poll failed: {e}"),
    }
    let woke = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
    let ready_of = |token: Token| {
        fds.iter()
            .zip(&tokens)
            .filter(|(_, t)| **t == token)
            .map(|(fd, _)| woke(fd))
            .collect()
    };
    let server_ready = ready_of(Token::Server);
    let http_ready = ready_of(Token::Http);
    let woken = fds
        .iter()
        .zip(tokens)
        .filter(|(fd, _)| woke(fd))
        .map(|(_, t)| t)
        .collect();
    (woken, server_ready, http_ready)
}

/// Carries out one action, feeding its result back; returns the status when it is the exit.
fn carry_out(
    action: Action,
    core: &mut Core,
    ctl: &mut Control,
    outputs: &mut Outputs,
    checkers: &mut Checkers,
) -> Option<i32> {
    let now = Instant::now();
    match action {
        Action::Spawn { owner, mut plan } => {
            let event = match spawn_service(owner, &mut plan, outputs, checkers) {
                Ok(pid) => Event::Spawned { owner, pid },
                Err((status, reason)) => Event::SpawnFailed {
                    owner,
                    status,
                    reason,
                },
            };
            core.handle_event(now, event);
        }
        Action::Check { id, seq, probe } => {
            if let Some(event) = checkers.start(id, seq, &probe) {
                core.handle_event(now, event);
            }
        }
        Action::CancelCheck(id) => checkers.cancel(id),
        Action::Kill { pid, sig, group } => {
            if let Err(e) = os::send_signal(pid, sig, group) {
                log::warn!("cannot signal pid {pid}: {e}");
            }
        }
        Action::Scan => {
            let me = std::process::id() as i32;
            let event = match proctable::list_processes() {
                Ok(mut procs) => {
                    procs.retain(|p| p.pid != me);
                    Event::ProcessTable(procs)
                }
                Err(e) => Event::ScanFailed(e.to_string()),
            };
            core.handle_event(Instant::now(), event);
        }
        Action::SampleMemory(mut groups) => match proctable::group_rss(&mut groups) {
            Ok(()) => core.handle_event(Instant::now(), Event::MemorySampled(groups)),
            Err(e) => log::warn!("cannot read the process table for memory_max: {e}"),
        },
        Action::ProbeGroup { owner, pgid } => {
            let alive = os::group_exists(pgid);
            core.handle_event(now, Event::GroupProbed { owner, alive });
        }
        Action::KillAll(sig) => {
            os::signal_all(sig);
            ctl.reaped += feed_reaped(core, outputs, Instant::now());
        }
        Action::Reload => {
            reload(core, ctl, now);
        }
        Action::ServiceLine { id, stderr, line } => outputs.service_line(id, stderr, &line),
        Action::ReleaseOutput(id) => {
            outputs.release(id);
            checkers.release(id);
        }
        Action::ReopenOutputs => outputs.reopen_files(),
        Action::Log(level, text) => match level {
            Level::Warn => log::warn!("{text}"),
            Level::Info => log::info!("{text}"),
            Level::Debug => log::debug!("{text}"),
        },
        Action::LogEvent(level, text, fields) => {
            let level = match level {
                Level::Warn => log::Level::Warn,
                Level::Info => log::Level::Info,
                Level::Debug => log::Level::Debug,
            };
            crate::logging::event(level, &text, &fields);
        }
        Action::Exit(status) => return Some(status),
    }
    None
}

/// Spawns `plan`, with the notification channel it asks for.
fn spawn_service(
    owner: Owner,
    plan: &mut SpawnPlan,
    outputs: &mut Outputs,
    checkers: &mut Checkers,
) -> Result<i32, (i32, String)> {
    let (Owner::Service(id), Some(notify)) = (owner, plan.notify) else {
        return outputs.spawn(plan, None);
    };
    let prepared = checkers
        .prepare_notify(id, notify, plan.credentials.as_ref())
        .map_err(|e| (126, e))?;
    plan.env
        .extend(prepared.env.iter().map(|(k, v)| (k.into(), v.into())));
    let result = outputs.spawn(plan, prepared.child_fd());
    checkers.spawned(id, prepared, result.is_ok());
    result
}

/// Carries out one control request; replies now, or parks the connection until it can.
fn handle_request(core: &mut Core, ctl: &mut Control, id: u64, req: Request, now: Instant) {
    let names = req.names;
    let reply = match req.cmd {
        Command::Status => match core.status(now, &names) {
            // The config on disk concerns the whole, not one service asked about.
            Ok(rows) if names.is_empty() => {
                let config_error = ctl.config.as_mut().and_then(ConfigState::error);
                status_line(&rows, config_error.as_deref())
            }
            Ok(rows) => status_line(&rows, None),
            Err(e) => error_line(&e, &[]),
        },
        Command::Start | Command::Stop | Command::Restart => {
            let done = match req.cmd {
                Command::Start => core.start(now, &names),
                Command::Stop => core.stop(now, &names),
                _ => core.restart(now, &names),
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
            match core.signal_services(sig, &names) {
                Ok(()) => ok_line(json!({
                    "message": format!("sent {} to {}", crate::types::signame::name(sig), names.join(", "))
                })),
                Err(e) => error_line(&e, &[]),
            }
        }
        Command::Reload => reload(core, ctl, now),
        Command::Logs => match core.logs(&names, req.lines.unwrap_or(usize::MAX)) {
            Ok(logs) => {
                let reply = logs_reply(&logs);
                if req.follow {
                    if let Some(server) = &mut ctl.server {
                        server.park(id, Some(reply), Wait::Follow(names));
                    }
                    return;
                }
                reply
            }
            Err(e) => error_line(&e, &[]),
        },
        Command::Wait => match core.status(now, &names) {
            Ok(_) => {
                if let Some(server) = &mut ctl.server {
                    let until = req.until.unwrap_or(Condition::Ready);
                    let deadline = req
                        .timeout_ms
                        .and_then(|ms| now.checked_add(Duration::from_millis(ms)));
                    let wait = Wait::Condition {
                        names,
                        until,
                        deadline,
                    };
                    server.park(id, None, wait);
                }
                return;
            }
            Err(e) => error_line(&e, &[]),
        },
        Command::Shutdown => {
            core.shutdown(now);
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
fn answer_settled(core: &Core, ctl: &mut Control, now: Instant) {
    let Some(server) = &mut ctl.server else {
        return;
    };
    for (id, names) in server.waiting_for_services() {
        if core.settled(&names) {
            let reply = match core.status(now, &names) {
                Ok(rows) => status_line(&rows, None),
                Err(e) => error_line(&e, &[]),
            };
            server.reply(id, reply, now);
        }
    }
}

/// Answers every `upkeep wait` whose names are all there, or one of which never will be,
/// or whose deadline has passed. Called on every wake-up: the loop wakes for every change.
fn answer_waits(core: &Core, ctl: &mut Control, now: Instant) {
    let Some(server) = &mut ctl.server else {
        return;
    };
    let mut replies = Vec::new();
    for (id, names, until, deadline) in server.waiting_for_conditions() {
        let rows = match core.status(now, names) {
            Ok(rows) => rows,
            // Removed by a reload while waited for.
            Err(e) => {
                replies.push((id, error_line(&e, &[])));
                continue;
            }
        };
        let mut pending = Vec::new();
        let mut hopeless = Vec::new();
        for row in &rows {
            match crate::core::verdict(row, until) {
                Verdict::Met => {}
                Verdict::Pending(what) => pending.push(what),
                Verdict::Hopeless(what) => hopeless.push(what),
            }
        }
        let until = until.as_str();
        if !hopeless.is_empty() {
            let why = format!("{} can never be {until} as things stand", names.join(", "));
            replies.push((id, error_line(&why, &hopeless)));
        } else if pending.is_empty() {
            replies.push((id, status_line(&rows, None)));
        } else if deadline.is_some_and(|t| t <= now) {
            let why = format!("timed out waiting for {} to be {until}", names.join(", "));
            replies.push((id, error_line(&why, &pending)));
        }
    }
    for (id, line) in replies {
        server.reply(id, line, now);
    }
}

/// Re-reads the config (request or SIGHUP). An invalid one changes nothing; a valid one
/// goes to the core, which touches only what changed. Returns the reply line.
fn reload(core: &mut Core, ctl: &mut Control, now: Instant) -> String {
    let Some(state) = &mut ctl.config else {
        return error_line("upkeep runs without a config file: nothing to reload", &[]);
    };
    let path = state.path().to_path_buf();
    log::info!("reloading {}", path.display());
    let new = match config::load_watched(&path) {
        (Ok(c), sources) => {
            state.loaded(&sources);
            c
        }
        (Err(errors), sources) => {
            state.refused(&sources);
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            for e in &errors {
                log::warn!("reload: {e}");
            }
            log::warn!("reload: the config is invalid; nothing changed");
            return error_line("invalid config; nothing changed", &errors);
        }
    };
    enough_open_files(new.services.len());
    let listen = new.settings.syslog_listen.clone();
    let reply = match core.reload(now, new) {
        Ok(report) => {
            rebind_syslog(ctl, listen);
            if let Some(level) = report.log_level {
                crate::logging::set_level(ctl.verbosity, level);
                let debug = log::log_enabled!(log::Level::Debug);
                core.handle_event(now, Event::DebugLogging(debug));
            }
            ok_line(json!({
                "changes": report.changes,
                "restart_needed": report.restart_needed,
            }))
        }
        Err(e) => {
            log::warn!("reload: {e}; nothing changed");
            error_line(&format!("{e}; nothing changed"), &[])
        }
    };
    platform::release_free_memory();
    reply
}

/// A reload's `syslog_listen`: the socket moves (or goes, or comes) when its path changed;
/// one that could not be bound is tried again.
fn rebind_syslog(ctl: &mut Control, listen: Option<PathBuf>) {
    if ctl.syslog.as_ref().map(|l| l.path()) == listen.as_deref() {
        return;
    }
    // The old socket and its file go before the new one is bound.
    ctl.syslog = None;
    let log_to_syslog = ctl.log_to_syslog;
    ctl.syslog = listen
        .as_deref()
        .and_then(|path| syslog::Listener::bind(path, log_to_syslog));
}

/// Four pipe ends per service whose output upkeep reads, plus room for the rest.
fn enough_open_files(services: usize) {
    let wanted = 4 * services as u64 + 256;
    match platform::ensure_open_files(wanted) {
        Ok(n) if n < wanted => log::warn!(
            "the open files limit is {n} (its hard limit); {services} services want about {wanted}"
        ),
        Ok(_) => {}
        Err(e) => log::warn!("cannot raise the open files limit: {e}"),
    }
}

/// Feeds every child reaped now to the core; returns how many.
fn feed_reaped(core: &mut Core, outputs: &mut Outputs, now: Instant) -> u64 {
    let (reaped, no_children) = reap::reap_all();
    let count = reaped.len() as u64;
    for (pid, exit) in reaped {
        // A child's last lines are logged before the core hears it ended.
        outputs.reaped(pid, core);
        core.handle_event(now, Event::Exited { pid, exit });
    }
    if no_children {
        core.handle_event(now, Event::NoChildren);
    }
    count
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
