//! The control socket: a Unix stream socket, one JSON request line in, JSON reply lines out.
//!
//! Protocol version 1 (documented in README.md and upkeep(8)):
//!
//! ```text
//! -> {"v":1,"cmd":"status","names":["web"]}
//! <- {"v":1,"ok":true,"healthy":true,"services":[{"name":"web","kind":"service",...}]}
//! -> {"v":1,"cmd":"signal","signal":"HUP","names":["web"]}
//! <- {"v":1,"ok":false,"error":"web is not running (backoff)"}
//! ```
//!
//! `cmd` is one of status, start, stop, restart, signal, reload, shutdown, logs, wait
//! (`"until":"ready|healthy|done|down"`, `"timeout_ms":N`: answers once every name is
//! there, or with an error at the timeout or once one never can be). Every reply
//! has `v` and `ok`, and `error` when `ok` is false. stop, start and restart answer once the
//! services have settled; shutdown answers at once, then sends `{"done":true,...}` just
//! before upkeep exits; logs answers `{"lines":[...]}` and, with `"follow":true`, one
//! `{"line":...,"stderr":...}` per new line until the client hangs up. One request per
//! connection.

pub mod client;
pub mod http;
pub mod metrics;
pub mod server;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::core::{Condition, StatusRow};
use crate::schedule::civil::rfc3339;
use crate::types::signame;

pub const PROTOCOL_VERSION: u64 = 1;

/// Requests larger than this are refused: a request is a few names.
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Status,
    Start,
    Stop,
    Restart,
    Signal,
    Reload,
    Shutdown,
    Logs,
    Wait,
}

impl Command {
    pub const ALL: [Command; 9] = [
        Command::Status,
        Command::Start,
        Command::Stop,
        Command::Restart,
        Command::Signal,
        Command::Reload,
        Command::Shutdown,
        Command::Logs,
        Command::Wait,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Start => "start",
            Command::Stop => "stop",
            Command::Restart => "restart",
            Command::Signal => "signal",
            Command::Reload => "reload",
            Command::Shutdown => "shutdown",
            Command::Logs => "logs",
            Command::Wait => "wait",
        }
    }

    pub fn parse(word: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.as_str() == word)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub cmd: Command,
    pub names: Vec<String>,
    /// `signal` only: the signal number.
    pub signal: Option<i32>,
    /// `logs` only: how many recent lines, and whether to follow new ones.
    pub lines: Option<usize>,
    pub follow: bool,
    /// `wait` only: the condition, and how long to wait for it (none: for ever).
    pub until: Option<Condition>,
    pub timeout_ms: Option<u64>,
}

impl Request {
    pub fn to_line(&self) -> String {
        let mut obj = json!({
            "v": PROTOCOL_VERSION,
            "cmd": self.cmd.as_str(),
            "names": self.names,
        });
        if let Some(map) = obj.as_object_mut() {
            if let Some(sig) = self.signal {
                map.insert("signal".into(), json!(signame::name(sig)));
            }
            if let Some(n) = self.lines {
                map.insert("lines".into(), json!(n));
            }
            if self.follow {
                map.insert("follow".into(), json!(true));
            }
            if let Some(c) = self.until {
                map.insert("until".into(), json!(c.as_str()));
            }
            if let Some(ms) = self.timeout_ms {
                map.insert("timeout_ms".into(), json!(ms));
            }
        }
        let mut line = obj.to_string();
        line.push('\n');
        line
    }

    /// Parses one request line, checking everything a client can get wrong.
    pub fn parse(line: &[u8]) -> Result<Request, String> {
        let value: Value =
            serde_json::from_slice(line).map_err(|e| format!("not a JSON request: {e}"))?;
        let obj = value
            .as_object()
            .ok_or("a request is a JSON object: {\"v\":1,\"cmd\":...}")?;
        match obj.get("v").and_then(Value::as_u64) {
            Some(PROTOCOL_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "protocol version {v} is not supported (this upkeep speaks {PROTOCOL_VERSION})"
                ));
            }
            None => return Err("missing \"v\" (protocol version, 1)".into()),
        }
        let word = obj
            .get("cmd")
            .and_then(Value::as_str)
            .ok_or("missing \"cmd\"")?;
        let cmd = Command::parse(word).ok_or_else(|| {
            let known: Vec<&str> = Command::ALL.iter().map(|c| c.as_str()).collect();
            format!("unknown cmd {word:?} (one of {})", known.join(", "))
        })?;
        let names = match obj.get("names") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
                .ok_or("\"names\" must be a list of strings")?,
            Some(_) => return Err("\"names\" must be a list of strings".into()),
        };
        let signal = match (cmd, obj.get("signal")) {
            (Command::Signal, Some(Value::String(s))) => {
                Some(signame::parse(s).ok_or_else(|| format!("unknown signal {s:?}"))?)
            }
            (Command::Signal, Some(Value::Number(n))) => Some(
                n.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|n| (1..=signame::max_signal()).contains(n))
                    .ok_or_else(|| format!("unknown signal {n}"))?,
            ),
            (Command::Signal, _) => return Err("signal: missing \"signal\"".into()),
            _ => None,
        };
        let lines = match obj.get("lines") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or("\"lines\" must be a whole number")?,
            ),
        };
        let follow = match obj.get("follow") {
            None | Some(Value::Null) => false,
            Some(v) => v.as_bool().ok_or("\"follow\" must be true or false")?,
        };
        let until =
            match (cmd, obj.get("until")) {
                (Command::Wait, None | Some(Value::Null)) => Some(Condition::Ready),
                (Command::Wait, Some(v)) => Some(v.as_str().and_then(Condition::parse).ok_or(
                    "\"until\" must be one of \"ready\", \"healthy\", \"done\", \"down\"",
                )?),
                _ => None,
            };
        let timeout_ms = match obj.get("timeout_ms") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or("\"timeout_ms\" must be a whole number")?),
        };
        if cmd == Command::Wait && names.is_empty() {
            return Err("wait: name at least one service".into());
        }
        Ok(Request {
            cmd,
            names,
            signal,
            lines,
            follow,
            until,
            timeout_ms,
        })
    }
}

/// `{"v":1,"ok":true}` plus `fields`, as one line.
pub fn ok_line(fields: Value) -> String {
    let mut obj = json!({"v": PROTOCOL_VERSION, "ok": true});
    if let (Some(map), Value::Object(extra)) = (obj.as_object_mut(), fields) {
        map.extend(extra);
    }
    let mut line = obj.to_string();
    line.push('\n');
    line
}

pub fn error_line(error: &str, details: &[String]) -> String {
    let mut obj = json!({"v": PROTOCOL_VERSION, "ok": false, "error": error});
    if let (false, Some(map)) = (details.is_empty(), obj.as_object_mut()) {
        map.insert("errors".into(), json!(details));
    }
    let mut line = obj.to_string();
    line.push('\n');
    line
}

/// The status reply: rows, and whether everything that should run does (and the config
/// on disk is valid: `config_error` says why not). Written out directly, not through a
/// `Value` tree: at 1,000 services this is most of a status request's cost inside upkeep.
pub fn status_line(rows: &[StatusRow], config_error: Option<&str>) -> String {
    use std::fmt::Write;
    let healthy = config_error.is_none() && rows.iter().all(StatusRow::healthy);
    let mut line = String::with_capacity(64 + rows.len() * 160);
    let _ = write!(
        line,
        "{{\"v\":{PROTOCOL_VERSION},\"ok\":true,\"healthy\":{healthy},"
    );
    if let Some(error) = config_error {
        let _ = write!(line, "\"config_error\":{},", Value::from(error));
    }
    line.push_str("\"services\":[");
    for (k, row) in rows.iter().enumerate() {
        if k > 0 {
            line.push(',');
        }
        let quoted = |text: &str| Value::from(text).to_string();
        let or_null = |v: Option<String>| v.unwrap_or_else(|| "null".into());
        let _ = write!(
            line,
            "{{\"name\":{},\"kind\":\"{}\",\"state\":\"{}\",\"pid\":{},\"uptime_ms\":{},\
             \"restarts\":{},\"last_exit\":{},\"healthy\":{},\"ready\":{},\"health\":\"{}\",\
             \"note\":{},\"next_run\":{}}}",
            quoted(&row.name),
            row.kind.as_str(),
            row.status.as_str(),
            or_null(row.pid.map(|p| p.to_string())),
            or_null(row.uptime.map(|d| d.as_millis().to_string())),
            row.restarts,
            or_null(row.last_exit.map(|e| quoted(&e.short()))),
            row.healthy(),
            row.ready,
            row.health.as_str(),
            or_null(row.note.as_deref().map(quoted)),
            or_null(row.next_run.map(|t| quoted(&rfc3339(t)))),
        );
        if let Some(rss) = row.rss_bytes {
            // Inside the object: in place of its closing brace.
            line.pop();
            let _ = write!(
                line,
                ",\"rss_bytes\":{}}}",
                or_null(rss.map(|n| n.to_string()))
            );
        }
    }
    line.push_str("]}\n");
    line
}

/// The platform's default socket path.
pub fn default_socket() -> PathBuf {
    if cfg!(target_os = "freebsd") {
        PathBuf::from("/var/run/upkeep.sock")
    } else {
        PathBuf::from("/run/upkeep.sock")
    }
}

/// The socket upkeep serves and clients use: `--socket`, else `$UPKEEP_SOCKET`, else the
/// config's `control_socket`, else the default.
pub fn socket_path(flag: Option<&Path>, configured: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("UPKEEP_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    configured.map_or_else(default_socket, Path::to_path_buf)
}

/// How long a client may take to send its request, and a reply to drain.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Kind, Status};
    use crate::types::Exit;

    #[test]
    fn requests_round_trip() {
        let req = Request {
            cmd: Command::Signal,
            names: vec!["web".into()],
            signal: Some(libc::SIGHUP),
            lines: None,
            follow: false,
            until: None,
            timeout_ms: None,
        };
        assert_eq!(Request::parse(req.to_line().as_bytes()), Ok(req));
        let status = Request::parse(br#"{"v":1,"cmd":"status"}"#).unwrap();
        assert_eq!(status.cmd, Command::Status);
        assert!(status.names.is_empty());
        let logs = Request {
            cmd: Command::Logs,
            names: vec!["web".into()],
            signal: None,
            lines: Some(10),
            follow: true,
            until: None,
            timeout_ms: None,
        };
        assert_eq!(Request::parse(logs.to_line().as_bytes()), Ok(logs));
        let wait = Request {
            cmd: Command::Wait,
            names: vec!["db".into()],
            signal: None,
            lines: None,
            follow: false,
            until: Some(Condition::Done),
            timeout_ms: Some(1500),
        };
        assert_eq!(Request::parse(wait.to_line().as_bytes()), Ok(wait));
        let bare = Request::parse(br#"{"v":1,"cmd":"wait","names":["db"]}"#).unwrap();
        assert_eq!(bare.until, Some(Condition::Ready));
        assert!(Request::parse(br#"{"v":1,"cmd":"wait","names":["a"],"until":"up"}"#).is_err());
        assert!(Request::parse(br#"{"v":1,"cmd":"wait","names":[]}"#).is_err());
        // No names: every service's, merged.
        assert!(Request::parse(br#"{"v":1,"cmd":"logs","names":[]}"#).is_ok());
        assert!(Request::parse(br#"{"v":1,"cmd":"logs","names":["a"],"lines":-1}"#).is_err());
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let err = |b: &[u8]| Request::parse(b).unwrap_err();
        assert!(err(b"\x00\xff garbage").contains("not a JSON request"));
        assert!(err(b"[1]").contains("JSON object"));
        assert!(err(br#"{"cmd":"status"}"#).contains("missing \"v\""));
        assert!(err(br#"{"v":2,"cmd":"status"}"#).contains("version 2"));
        assert!(err(br#"{"v":1,"cmd":"explode"}"#).contains("unknown cmd"));
        assert!(err(br#"{"v":1,"cmd":"stop","names":[1]}"#).contains("list of strings"));
        assert!(err(br#"{"v":1,"cmd":"signal","names":["a"]}"#).contains("missing"));
        assert!(err(br#"{"v":1,"cmd":"signal","signal":"NOPE"}"#).contains("unknown signal"));
        assert!(err(br#"{"v":1,"cmd":"signal","signal":9999}"#).contains("unknown signal"));
    }

    #[test]
    fn replies_are_versioned_lines() {
        let line = error_line("bad", &["a:1:1: x".into()]);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["ok"], false);
        assert_eq!(v["errors"][0], "a:1:1: x");
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let v: Value = serde_json::from_str(&ok_line(json!({"message": "hi"}))).unwrap();
        assert_eq!(
            (v["ok"].clone(), v["message"].clone()),
            (json!(true), json!("hi"))
        );
    }

    /// The reference encoding a status row must match.
    fn row_json(row: &StatusRow) -> Value {
        let mut v = json!({
            "name": row.name,
            "kind": row.kind.as_str(),
            "state": row.status.as_str(),
            "pid": row.pid,
            "uptime_ms": row.uptime.map(|d| d.as_millis() as u64),
            "restarts": row.restarts,
            "last_exit": row.last_exit.map(Exit::short),
            "healthy": row.healthy(),
            "ready": row.ready,
            "health": row.health.as_str(),
            "note": row.note,
            "next_run": row.next_run.map(crate::schedule::civil::rfc3339),
        });
        if let Some(rss) = row.rss_bytes {
            v["rss_bytes"] = json!(rss);
        }
        v
    }

    #[test]
    fn status_line_is_the_rows_as_json() {
        use crate::core::{HealthState, StatusRow};
        let rows = vec![
            StatusRow {
                name: "we\"b".into(),
                kind: Kind::Service,
                status: Status::Running,
                pid: Some(42),
                uptime: Some(Duration::from_millis(3200)),
                restarts: 2,
                last_exit: Some(Exit::Signal(9)),
                ready: true,
                health: HealthState::Healthy,
                note: Some("serving \"all\"".into()),
                next_run: Some(1_796_529_600),
                run_failed: false,
                rss_bytes: Some(Some(4096)),
            },
            StatusRow::bare("apache", Kind::Watch, Status::Missing),
        ];
        let v: Value = serde_json::from_str(&status_line(&rows, None)).unwrap();
        let want = json!({"v": 1, "ok": true, "healthy": false,
            "services": rows.iter().map(row_json).collect::<Vec<_>>()});
        assert_eq!(v, want);
        assert_eq!(v["services"][0]["last_exit"], "signal KILL");
        let fine = [StatusRow::bare("web", Kind::Service, Status::Running)];
        let v: Value = serde_json::from_str(&status_line(&fine, Some("x is invalid"))).unwrap();
        assert_eq!(
            (&v["healthy"], &v["config_error"]),
            (&json!(false), &json!("x is invalid"))
        );
    }

    #[test]
    fn socket_path_order() {
        let flag = PathBuf::from("/flag.sock");
        let conf = PathBuf::from("/conf.sock");
        assert_eq!(socket_path(Some(&flag), Some(&conf)), flag);
        // $UPKEEP_SOCKET is left to the integration tests: the environment is process-wide.
        if std::env::var_os("UPKEEP_SOCKET").is_none() {
            assert_eq!(socket_path(None, Some(&conf)), conf);
            assert_eq!(socket_path(None, None), default_socket());
        }
    }
}
