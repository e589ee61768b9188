//! The client subcommands: `upkeep status|start|stop|restart|signal|reload|shutdown|logs|wait`.
//!
//! Exit status: 0 done (for `shutdown`, also when no upkeep listens: nothing to stop); 1
//! upkeep refused or could not be reached; 2 usage error, or a reload of an invalid config;
//! 3 `status` found something that should run and does not (LSB's "not running", so
//! `upkeep status` works as a liveness or health probe).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{Command, Request, socket_path};
use crate::core::Condition;
use crate::core::{Kind, Status};
use crate::logging::say;
use crate::types::{fmt_duration, signame};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientArgs {
    pub request: Request,
    pub json: bool,
    /// `logs -t`: each line's time.
    pub timestamps: bool,
    pub config: Option<PathBuf>,
    pub socket: Option<PathBuf>,
}

pub const EXIT_FAILED: i32 = 1;
/// `upkeep logs` without `-n`.
pub const DEFAULT_LOG_LINES: usize = 50;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_UNHEALTHY: i32 = 3;

/// Parses the words after a client subcommand's name.
pub fn parse(cmd: Command, args: impl Iterator<Item = OsString>) -> Result<ClientArgs, String> {
    let verb = cmd.as_str();
    let mut names = Vec::new();
    let mut json = false;
    let mut timestamps = false;
    let mut lines = None;
    let mut follow = false;
    let mut until = None;
    let mut timeout_ms = None;
    let mut config = None;
    let mut socket = None;
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" if cmd == Command::Status => json = true,
            "-f" | "--follow" if cmd == Command::Logs => follow = true,
            "-t" | "--timestamps" if cmd == Command::Logs => timestamps = true,
            "-n" | "--lines" if cmd == Command::Logs => {
                let n = args.next().ok_or("-n needs a number of lines")?;
                lines = Some(
                    n.parse()
                        .map_err(|_| format!("logs: -n {n:?}: not a number of lines"))?,
                );
            }
            "--ready" | "--healthy" | "--done" | "--down" if cmd == Command::Wait => {
                if until.is_some() {
                    return Err("wait: give one of --ready, --healthy, --done, --down".into());
                }
                until = Condition::parse(&arg[2..]);
            }
            "--timeout" if cmd == Command::Wait => {
                let text = args.next().ok_or("--timeout needs a duration (60s, 2m)")?;
                timeout_ms = Some(wait_timeout(&text)?);
            }
            a if cmd == Command::Wait && a.starts_with("--timeout=") => {
                timeout_ms = Some(wait_timeout(&a["--timeout=".len()..])?);
            }
            "-c" | "--config" => config = Some(args.next().ok_or("-c needs a file")?.into()),
            "--socket" => socket = Some(args.next().ok_or("--socket needs a path")?.into()),
            a if a.starts_with("--config=") => config = Some(a["--config=".len()..].into()),
            a if a.starts_with("--socket=") => socket = Some(a["--socket=".len()..].into()),
            "--" => names.extend(args.by_ref()),
            a if a.starts_with('-')
                && a.len() > 1
                && !(cmd == Command::Signal && names.is_empty()) =>
            {
                return Err(format!("{verb}: unknown option {a}"));
            }
            _ => names.push(arg),
        }
    }
    let mut signal = None;
    if cmd == Command::Signal {
        if names.is_empty() {
            return Err("signal: usage: upkeep signal SIGNAL NAME...".into());
        }
        let word = names.remove(0);
        let word = word.strip_prefix('-').unwrap_or(&word).to_string();
        signal =
            Some(signame::parse(&word).ok_or_else(|| format!("signal: unknown signal {word:?}"))?);
    }
    match cmd {
        Command::Start | Command::Stop | Command::Restart | Command::Signal | Command::Wait
            if names.is_empty() =>
        {
            return Err(format!("{verb}: name at least one service"));
        }
        Command::Reload | Command::Shutdown if !names.is_empty() => {
            return Err(format!("{verb} takes no names"));
        }
        _ => {}
    }
    Ok(ClientArgs {
        request: Request {
            cmd,
            names,
            signal,
            lines: if cmd == Command::Logs {
                Some(lines.unwrap_or(DEFAULT_LOG_LINES))
            } else {
                None
            },
            follow,
            until: (cmd == Command::Wait).then(|| until.unwrap_or(Condition::Ready)),
            timeout_ms,
        },
        json,
        timestamps,
        config,
        socket,
    })
}

/// `--timeout`'s duration, in milliseconds.
fn wait_timeout(text: &str) -> Result<u64, String> {
    let d = crate::config::units::parse_duration(text)
        .map_err(|e| format!("wait: --timeout {text:?}: {e}"))?;
    Ok(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why no answer came.
struct Unanswered {
    text: String,
    /// Nothing listens on the socket (none there, or a stale one): no upkeep runs.
    nobody: bool,
}

impl From<String> for Unanswered {
    fn from(text: String) -> Unanswered {
        Unanswered {
            text,
            nobody: false,
        }
    }
}

/// Talks to the running upkeep; returns the exit status.
pub fn run(args: &ClientArgs) -> i32 {
    let cmd = args.request.cmd;
    let (first, reply, lines) = match ask(args) {
        Ok(answer) => answer,
        // What a shutdown asks for is already so, and a stop command must succeed for
        // jail(8) to remove the jail.
        Err(Unanswered { text, nobody: true }) if cmd == Command::Shutdown => {
            out(&format!("upkeep: nothing to stop ({text})"));
            return 0;
        }
        Err(Unanswered { text, .. }) => {
            err(&text);
            return EXIT_FAILED;
        }
    };
    if reply["ok"] != Value::Bool(true) {
        let text = reply["error"].as_str().unwrap_or("request refused");
        err(text);
        if let Some(errors) = reply["errors"].as_array() {
            for e in errors.iter().filter_map(Value::as_str) {
                say(e);
            }
        }
        return if cmd == Command::Reload && reply["errors"].is_array() {
            EXIT_USAGE
        } else {
            EXIT_FAILED
        };
    }
    match cmd {
        Command::Status => {
            out(&if args.json {
                first
            } else {
                status_table(&reply)
            });
            if let (false, Some(error)) = (args.json, reply["config_error"].as_str()) {
                out(&format!("config: {error}"));
            }
            if reply["healthy"] == Value::Bool(true) {
                0
            } else {
                EXIT_UNHEALTHY
            }
        }
        Command::Start | Command::Stop | Command::Restart => settled(cmd, &reply),
        Command::Wait => {
            for row in reply["services"].as_array().into_iter().flatten() {
                let name = row["name"].as_str().unwrap_or("?");
                out(&format!("{name}: {}", row["state"].as_str().unwrap_or("?")));
            }
            0
        }
        Command::Signal => {
            out(reply["message"].as_str().unwrap_or("sent"));
            0
        }
        Command::Reload => {
            reloaded(&reply);
            0
        }
        Command::Logs => {
            print_logs(
                &reply,
                lines,
                args.timestamps,
                args.request.names.len() == 1,
            );
            0
        }
        Command::Shutdown => {
            out("upkeep: shutting down");
            for line in lines.map_while(Result::ok) {
                let done: Value = serde_json::from_str(&line).unwrap_or_default();
                if done["done"] == Value::Bool(true) {
                    let status = done["exit_status"].as_i64().unwrap_or(0);
                    out(&format!("upkeep: stopped (exit status {status})"));
                    return 0;
                }
            }
            // The connection closed: upkeep is gone, which is what was asked.
            out("upkeep: stopped");
            0
        }
    }
}

type Lines = std::io::Lines<BufReader<UnixStream>>;

/// `upkeep logs`: the recent lines, then (`-f`) the new ones until upkeep goes away or
/// Ctrl-C. Unless one service is named, lines are prefixed `NAME | ` as `docker compose
/// logs` does; `-t` puts the time each line was read before its text. Notes (why a service
/// shows nothing) go to stderr.
fn print_logs(reply: &Value, lines: Lines, timestamps: bool, one_named: bool) {
    let names: Vec<&str> = reply["names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let width = (!one_named).then(|| names.iter().map(|n| n.len()).max().unwrap_or(0));
    let show = |line: &Value| {
        let mut text = String::new();
        if let Some(width) = width {
            let name = line["name"].as_str().unwrap_or("?");
            text.push_str(&format!("{name:<width$} | "));
        }
        if timestamps {
            let ms = line["time_ms"].as_i64().unwrap_or(0);
            text.push_str(&crate::schedule::civil::rfc3339_ms(ms));
            text.push(' ');
        }
        text.push_str(line["line"].as_str().unwrap_or(""));
        out(&text);
    };
    reply["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .for_each(show);
    for note in reply["notes"].as_array().into_iter().flatten() {
        say(note.as_str().unwrap_or(""));
    }
    for line in lines.map_while(Result::ok) {
        show(&serde_json::from_str(&line).unwrap_or_default());
    }
}

/// Connects, sends the request, reads the first reply line: (that line, parsed, the rest).
fn ask(args: &ClientArgs) -> Result<(String, Value, Lines), Unanswered> {
    let configured = crate::config::control_socket_setting(
        &args
            .config
            .clone()
            .unwrap_or_else(crate::config::default_path),
    );
    let path = socket_path(args.socket.as_deref(), configured.as_deref());
    let cmd = args.request.cmd;
    let mut stream = UnixStream::connect(&path).map_err(|e| {
        let (hint, nobody) = match e.kind() {
            std::io::ErrorKind::NotFound => (
                " (is upkeep running? --socket, $UPKEEP_SOCKET or control_socket name another)",
                true,
            ),
            std::io::ErrorKind::ConnectionRefused => {
                (" (a stale socket: upkeep is not running)", true)
            }
            std::io::ErrorKind::PermissionDenied => (" (run as root or as upkeep's user)", false),
            _ => ("", false),
        };
        Unanswered {
            text: format!("cannot connect to {}: {e}{hint}", path.display()),
            nobody,
        }
    })?;
    // Quick requests get a bound; stop/start/restart wait for stop timeouts, shutdown for
    // the whole ordered stop, logs -f for ever.
    let quick = matches!(cmd, Command::Status | Command::Signal | Command::Reload)
        || (cmd == Command::Logs && !args.request.follow);
    if quick {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    }
    if cmd == Command::Shutdown {
        // As PID 1, upkeep's last sweep sends TERM to every process in the container, this
        // client included: it must live to report that the shutdown finished.
        // SAFETY: setting a disposition to SIG_IGN.
        unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    }
    // A refusal ("busy", "permission denied") may come before the request is read, and
    // the connection close with it: read what upkeep said before reporting a failed send.
    let sent = stream.write_all(args.request.to_line().as_bytes());
    let mut lines = BufReader::with_capacity(1 << 16, stream).lines();
    let first = match (lines.next(), sent) {
        (Some(Ok(line)), _) => line,
        (_, Err(e)) => {
            return Err(format!("cannot send the request to {}: {e}", path.display()).into());
        }
        (Some(Err(e)), Ok(())) => return Err(format!("no answer from upkeep: {e}").into()),
        (None, Ok(())) => {
            return Err(String::from("upkeep closed the connection without an answer").into());
        }
    };
    let reply = serde_json::from_str(&first)
        .map_err(|e| format!("upkeep's answer is not JSON ({e}): {first}"))?;
    Ok((first, reply, lines))
}

/// start/stop/restart: each service's state once settled; 1 when one did not get there.
fn settled(cmd: Command, reply: &Value) -> i32 {
    let mut status = 0;
    for row in reply["services"].as_array().into_iter().flatten() {
        let state = row["state"].as_str().unwrap_or("?");
        let mut line = format!("{}: {state}", row["name"].as_str().unwrap_or("?"));
        if let Some(pid) = row["pid"].as_i64() {
            line.push_str(&format!(" (pid {pid})"));
        }
        let watch = row["kind"].as_str().and_then(Kind::parse) == Some(Kind::Watch);
        if watch {
            line.push_str(" (watch)");
        }
        let reached = Status::parse(state).is_some_and(|s| {
            if cmd == Command::Stop {
                s.is_stopped()
            } else {
                // A resumed watch is up whatever its last scan found.
                s.is_up() || watch
            }
        });
        if !reached {
            status = EXIT_FAILED;
        }
        out(&line);
    }
    status
}

/// reload: one line per change, and what waits for a restart of upkeep.
fn reloaded(reply: &Value) {
    let changes = reply["changes"].as_array().cloned().unwrap_or_default();
    if changes.is_empty() {
        out("reloaded: nothing changed");
    }
    for c in changes.iter().filter_map(Value::as_str) {
        out(&format!("reloaded: {c}"));
    }
    for s in reply["restart_needed"].as_array().into_iter().flatten() {
        if let Some(s) = s.as_str() {
            out(&format!("not applied until upkeep restarts: {s}"));
        }
    }
}

/// The text form of a status reply: a header and one aligned row per entry.
pub fn status_table(reply: &Value) -> String {
    let mut rows = vec![
        [
            "NAME",
            "KIND",
            "STATE",
            "HEALTH",
            "PID",
            "UPTIME",
            "RESTARTS",
            "LAST EXIT",
            "NOTE",
        ]
        .map(String::from),
    ];
    for r in reply["services"].as_array().into_iter().flatten() {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
        let number = |v: &Value| v.as_i64().map_or("-".to_string(), |n| n.to_string());
        rows.push([
            text(&r["name"]),
            text(&r["kind"]),
            text(&r["state"]),
            text(&r["health"]),
            number(&r["pid"]),
            r["uptime_ms"]
                .as_u64()
                .map_or("-".into(), |ms| fmt_duration(Duration::from_millis(ms))),
            number(&r["restarts"]),
            text(&r["last_exit"]),
            r["note"].as_str().unwrap_or("").to_string(),
        ]);
    }
    let mut widths = [0usize; 9];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut table = String::with_capacity(rows.len() * widths.iter().sum::<usize>() * 2);
    for row in &rows {
        let start = table.len();
        for (cell, w) in row.iter().zip(widths) {
            table.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count()) + 2;
            table.extend(std::iter::repeat_n(' ', pad));
        }
        let end = table.get(start..).map_or(0, |l| l.trim_end().len());
        table.truncate(start + end);
        table.push('\n');
    }
    table.truncate(table.trim_end().len());
    table
}

fn out(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn err(text: &str) {
    say(&format!("upkeep: {text}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(cmd: Command, args: &[&str]) -> Result<ClientArgs, String> {
        parse(cmd, args.iter().map(OsString::from))
    }

    #[test]
    fn client_arguments() {
        let a = p(Command::Status, &["web", "--json", "--socket", "/s", "db"]).unwrap();
        assert_eq!(a.request.names, ["web", "db"]);
        assert!(a.json);
        assert_eq!(a.socket, Some(PathBuf::from("/s")));
        let a = p(Command::Signal, &["-HUP", "web", "-c", "/x.toml"]).unwrap();
        assert_eq!(a.request.signal, Some(libc::SIGHUP));
        assert_eq!(a.config, Some(PathBuf::from("/x.toml")));
        assert_eq!(
            p(Command::Signal, &["STOP", "web"]).unwrap().request.signal,
            Some(libc::SIGSTOP)
        );
        assert!(p(Command::Signal, &["NOPE", "web"]).is_err());
        assert!(p(Command::Signal, &["HUP"]).is_err());
        assert!(p(Command::Stop, &[]).is_err());
        assert!(p(Command::Reload, &["web"]).is_err());
        assert!(p(Command::Stop, &["--json", "web"]).is_err());
        let all = p(Command::Logs, &["-t", "-f"]).unwrap();
        assert!(all.request.names.is_empty() && all.timestamps && all.request.follow);
        assert_eq!(all.request.lines, Some(DEFAULT_LOG_LINES));
        assert!(!p(Command::Logs, &["web", "db"]).unwrap().timestamps);
        assert!(p(Command::Status, &["-t"]).is_err());
    }

    #[test]
    fn table_is_aligned() {
        let reply: Value = serde_json::from_str(
            r#"{"services":[{"name":"web","kind":"service","state":"running","pid":42,
            "uptime_ms":3200,"restarts":1,"last_exit":"status 1","health":"healthy"},
            {"name":"apache","kind":"watch","state":"unknown","pid":null,"uptime_ms":null,
            "restarts":0,"last_exit":null,"health":"-"},
            {"name":"api","kind":"service","state":"waiting","pid":null,"uptime_ms":null,
            "restarts":0,"last_exit":null,"health":"-","note":"waiting for web"}]}"#,
        )
        .unwrap();
        let table = status_table(&reply);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0], "NAME    KIND     STATE    HEALTH   PID  UPTIME  RESTARTS  LAST EXIT  NOTE",
            "{table}"
        );
        assert_eq!(
            lines[1], "web     service  running  healthy  42   3.2s    1         status 1",
            "{table}"
        );
        assert_eq!(
            lines[2], "apache  watch    unknown  -        -    -       0         -",
            "{table}"
        );
        assert_eq!(
            lines[3],
            "api     service  waiting  -        -    -       0         -          waiting for web",
            "{table}"
        );
    }
}
