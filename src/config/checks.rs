//! A service's `ready` and `health` tables: how upkeep learns that it can be used, and that it
//! still works.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use toml_edit::Item;

use super::fields::{Checker, Fields, span_of, type_name};
use crate::types::{NetProbe, Notify};

/// One way of checking a service, as Kubernetes probes have them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Net(NetProbe),
    /// Passes when this exits 0 (run by /bin/sh -c, with the service's env and user).
    Command(String),
}

/// How readiness is learnt: by checking, or by the service saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyWay {
    Check(Check),
    Notify(Notify),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub way: ReadyWay,
    /// Between two tries of a check.
    pub interval: Duration,
    /// Not ready this long after its start: the start failed.
    pub timeout: Duration,
}

impl Ready {
    /// How long one try may take: a try that hangs is a failed try, and the next one
    /// comes on time.
    pub fn try_timeout(&self) -> Duration {
        self.interval.max(Duration::from_secs(1)).min(self.timeout)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub check: Check,
    pub interval: Duration,
    /// One check longer than this is a failure.
    pub timeout: Duration,
    /// Failures in a row that make the service unhealthy.
    pub retries: u32,
    /// Failures within this time of becoming ready do not count.
    pub start_period: Duration,
}

const READY_KEYS: &[&str] = &["tcp", "http", "command", "notify", "interval", "timeout"];
const HEALTH_KEYS: &[&str] = &[
    "tcp",
    "http",
    "command",
    "interval",
    "timeout",
    "retries",
    "start_period",
];

/// The `ready` table of service `name`, if it has one.
pub(crate) fn parse_ready(name: &str, item: Option<&Item>, checker: &mut Checker) -> Option<Ready> {
    let (mut f, span) = sub_table(name, item, "ready.", READY_KEYS, checker)?;
    let notify = f.string("notify").and_then(|word| {
        let parsed = parse_notify(&word);
        if let Err(e) = &parsed {
            let span = f.item("notify").and_then(span_of);
            let what = f.name("notify");
            f.checker.error(span, format!("{what}: {e}"));
        }
        parsed.ok()
    });
    let has_notify = f.item("notify").is_some();
    let check = one_check(&mut f, span, has_notify);
    let interval = positive(&mut f, "interval", Duration::from_millis(200));
    let timeout = positive(&mut f, "timeout", Duration::from_secs(60));
    let way = match (check, notify) {
        (Some(check), None) => ReadyWay::Check(check),
        (None, Some(notify)) => ReadyWay::Notify(notify),
        _ => return None,
    };
    Some(Ready {
        way,
        interval,
        timeout,
    })
}

/// The `health` table of service `name`, if it has one.
pub(crate) fn parse_health(
    name: &str,
    item: Option<&Item>,
    checker: &mut Checker,
) -> Option<Health> {
    let (mut f, span) = sub_table(name, item, "health.", HEALTH_KEYS, checker)?;
    let check = one_check(&mut f, span, false);
    let interval = positive(&mut f, "interval", Duration::from_secs(10));
    let timeout = positive(&mut f, "timeout", Duration::from_secs(5));
    let retries = f.count("retries").unwrap_or(3);
    if retries == 0 {
        let span = f.item("retries").and_then(span_of);
        let what = f.name("retries");
        f.checker.error(span, format!("{what}: must be 1 or more"));
    }
    let start_period = f.duration("start_period").unwrap_or_default();
    Some(Health {
        check: check?,
        interval,
        timeout,
        retries: retries.max(1),
        start_period,
    })
}

type Span = Option<std::ops::Range<usize>>;

/// Typed getters over a service's sub-table (`prefix` is its name and a dot, "ready."),
/// its unknown keys reported.
fn sub_table<'t, 'c, 'a>(
    name: &str,
    item: Option<&'t Item>,
    prefix: &'static str,
    known: &[&str],
    checker: &'c mut Checker<'a>,
) -> Option<(Fields<'t, 'c, 'a>, Span)> {
    let item = item.filter(|i| !i.is_none())?;
    let key = prefix.trim_end_matches('.');
    let what = format!("service `{name}`");
    let Some(table) = item.as_table_like() else {
        let message = format!(
            "{what} `{key}`: expected a table, e.g. {key}.tcp = \"127.0.0.1:5432\", found {}",
            type_name(item)
        );
        checker.error(span_of(item), message);
        return None;
    };
    checker.unknown_keys(table, known, &format!("[service.{name}.{key}]"));
    let span = span_of(item).or_else(|| table.iter().find_map(|(_, v)| span_of(v)));
    let fields = Fields::new(table, checker, what, prefix);
    Some((fields, span))
}

/// Exactly one of `tcp`, `http` and `command` (none at all when `notify` was given).
fn one_check(f: &mut Fields, span: Span, notify: bool) -> Option<Check> {
    let mut found = Vec::new();
    if let Some(text) = f.string("tcp") {
        found.push((
            "tcp",
            parse_host_port(&text).map(NetProbe::Tcp).map(Check::Net),
        ));
    }
    if let Some(text) = f.string("http") {
        found.push(("http", parse_http_url(&text).map(Check::Net)));
    }
    if let Some(text) = f.string("command") {
        let check = if text.trim().is_empty() {
            Err("the command is empty".to_string())
        } else {
            Ok(Check::Command(text))
        };
        found.push(("command", check));
    }
    let ways = found.len() + usize::from(notify);
    if ways != 1 {
        let keys = if f.prefix == "ready." {
            "tcp, http, command or notify"
        } else {
            "tcp, http or command"
        };
        let table = f.prefix.trim_end_matches('.');
        let what = format!("{} `{table}`", f.what);
        let message = if ways == 0 {
            format!("{what}: give one way to check: {keys}")
        } else {
            format!("{what}: give only one of {keys}")
        };
        f.checker.error(span, message);
        return None;
    }
    let (key, check) = found.pop()?;
    match check {
        Ok(check) => Some(check),
        Err(e) => {
            let span = f.item(key).and_then(span_of);
            let what = f.name(key);
            f.checker.error(span, format!("{what}: {e}"));
            None
        }
    }
}

/// A duration that must be more than zero.
fn positive(f: &mut Fields, key: &str, default: Duration) -> Duration {
    f.positive_duration(key).unwrap_or(default)
}

fn parse_notify(word: &str) -> Result<Notify, String> {
    if word == "systemd" {
        return Ok(Notify::Systemd);
    }
    match word.strip_prefix("fd:").map(str::parse::<i32>) {
        Some(Ok(fd)) if (3..=1023).contains(&fd) => Ok(Notify::Fd(fd)),
        Some(_) => Err(format!(
            "{word:?}: the descriptor must be a number from 3 to 1023 (0-2 are stdio)"
        )),
        None => Err(format!("{word:?} is not \"systemd\" or \"fd:N\"")),
    }
}

/// "127.0.0.1:5432", "[::1]:80", "localhost:8080". Names are refused: a DNS look-up would
/// block the one thread that supervises everything.
fn parse_host_port(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("{text:?} is not HOST:PORT"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{text:?}: {port:?} is not a port number"))?;
    match host {
        "localhost" => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        _ => Err(format!(
            "{text:?}: the host must be an IP address or localhost (upkeep does no DNS \
             look-ups, which could block it); for a name, use a command check such as \
             \"nc -z {host} {port}\""
        )),
    }
}

/// "http://127.0.0.1:8080/healthz": plain HTTP only.
fn parse_http_url(text: &str) -> Result<NetProbe, String> {
    let Some(rest) = text.strip_prefix("http://") else {
        let hint = if text.starts_with("https://") {
            " (upkeep has no TLS: check a plain-HTTP port, or use a command check with curl)"
        } else {
            ""
        };
        return Err(format!("{text:?} is not an http:// URL{hint}"));
    };
    let (authority, path) = match rest.find('/') {
        Some(k) => rest.split_at(k),
        None => (rest, "/"),
    };
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{text:?}: the path has spaces or control characters"
        ));
    }
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_string()
    };
    let addr = parse_host_port(&with_port)?;
    Ok(NetProbe::Http {
        addr,
        host: authority.to_string(),
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_host_port("localhost:5432"),
            Ok("127.0.0.1:5432".parse().unwrap())
        );
        assert_eq!(parse_host_port("[::1]:80"), Ok("[::1]:80".parse().unwrap()));
        assert!(
            parse_host_port("db:5432")
                .unwrap_err()
                .contains("nc -z db 5432")
        );
        assert!(parse_host_port("127.0.0.1").is_err());
        assert!(parse_host_port("127.0.0.1:99999").is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:8080/healthz?x=1"),
            Ok(NetProbe::Http {
                addr: "127.0.0.1:8080".parse().unwrap(),
                host: "127.0.0.1:8080".into(),
                path: "/healthz?x=1".into(),
            })
        );
        assert_eq!(
            parse_http_url("http://localhost"),
            Ok(NetProbe::Http {
                addr: "127.0.0.1:80".parse().unwrap(),
                host: "localhost".into(),
                path: "/".into(),
            })
        );
        assert!(parse_http_url("https://x/").unwrap_err().contains("no TLS"));
        assert!(parse_http_url("ftp://x/").is_err());
    }

    #[test]
    fn notify_words() {
        assert_eq!(parse_notify("systemd"), Ok(Notify::Systemd));
        assert_eq!(parse_notify("fd:3"), Ok(Notify::Fd(3)));
        assert!(parse_notify("fd:1").is_err());
        assert!(parse_notify("fd:x").is_err());
        assert!(parse_notify("s6").is_err());
    }
}
