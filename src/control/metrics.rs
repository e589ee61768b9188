//! The answers of the HTTP endpoint, made from status rows: Prometheus' text exposition
//! format (version 0.0.4), the probes' plain text, written by hand (no crate: a few lines).

use std::fmt::Write;

use crate::core::{HealthState, Kind, Status, StatusRow};

/// What the rows do not hold.
pub struct Counters<'a> {
    /// Lines of output dropped per service (a log destination that could not keep up).
    pub dropped: &'a [(String, u64)],
    /// Processes upkeep has reaped since start-up.
    pub reaped: u64,
    /// The wall clock now, unix seconds.
    pub wall_now: i64,
    /// Whether the config files on disk are valid (None: no config file).
    pub config_valid: Option<bool>,
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
pub fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample: `name{label="value"[,extra]} value`.
fn sample(out: &mut String, name: &str, label: (&str, &str), extra: Option<(&str, &str)>, v: i64) {
    let _ = write!(out, "{name}{{{}=\"", label.0);
    escape_label(label.1, out);
    if let Some((k, val)) = extra {
        let _ = write!(out, "\",{k}=\"");
        escape_label(val, out);
    }
    let _ = writeln!(out, "\"}} {v}");
}

/// The states a service (or COMMAND) can be in; the rest are watches'.
fn service_states() -> impl Iterator<Item = Status> {
    Status::ALL
        .into_iter()
        .filter(|s| !matches!(s, Status::Paused | Status::Unknown | Status::Missing))
}

/// A per-service family: name, type, help, and its value from a row and the wall clock.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&StatusRow, i64) -> Option<i64>,
);

/// `GET /metrics`.
pub fn exposition(rows: &[StatusRow], counters: &Counters) -> String {
    let services: Vec<&StatusRow> = rows.iter().filter(|r| r.kind != Kind::Watch).collect();
    let mut out = String::with_capacity(256 + services.len() * 1400);
    let per_service: [Family; 6] = [
        (
            "upkeep_service_up",
            "gauge",
            "1 when the service runs.",
            |r, _| Some(i64::from(r.status == Status::Running)),
        ),
        (
            "upkeep_service_ready",
            "gauge",
            "1 when the service is ready.",
            |r, _| Some(i64::from(r.ready)),
        ),
        (
            "upkeep_service_healthy",
            "gauge",
            "1 when upkeep status counts the service as healthy.",
            |r, _| Some(i64::from(r.healthy())),
        ),
        (
            "upkeep_service_restarts_total",
            "counter",
            "Restarts of the service by upkeep.",
            |r, _| Some(i64::from(r.restarts)),
        ),
        (
            "upkeep_service_start_time_seconds",
            "gauge",
            "When the running process started, unix seconds.",
            |r, now| r.uptime.map(|u| now - u.as_secs() as i64),
        ),
        (
            "upkeep_service_last_exit_code",
            "gauge",
            "The last exit status (128+N: killed by signal N).",
            |r, _| r.last_exit.map(|e| i64::from(e.status())),
        ),
    ];
    for (name, kind, help, value) in per_service {
        family(&mut out, name, kind, help);
        for r in &services {
            if let Some(v) = value(r, counters.wall_now) {
                sample(&mut out, name, ("service", &r.name), None, v);
            }
        }
    }
    let name = "upkeep_service_state";
    family(
        &mut out,
        name,
        "gauge",
        "1 for the state the service is in.",
    );
    for r in &services {
        for s in service_states() {
            let v = i64::from(r.status == s);
            sample(
                &mut out,
                name,
                ("service", &r.name),
                Some(("state", s.as_str())),
                v,
            );
        }
    }
    let name = "upkeep_output_dropped_lines_total";
    let help = "Lines of the service's output dropped because the log could not keep up.";
    family(&mut out, name, "counter", help);
    for r in &services {
        let n = counters.dropped.iter().find(|(s, _)| *s == r.name);
        let n = n.map_or(0, |(_, n)| *n);
        sample(&mut out, name, ("service", &r.name), None, n as i64);
    }
    let name = "upkeep_watch_starts_total";
    family(
        &mut out,
        name,
        "counter",
        "Starts of the watched process by upkeep.",
    );
    for r in rows.iter().filter(|r| r.kind == Kind::Watch) {
        sample(
            &mut out,
            name,
            ("watch", &r.name),
            None,
            i64::from(r.restarts),
        );
    }
    family(
        &mut out,
        "upkeep_reaped_total",
        "counter",
        "Processes reaped by upkeep.",
    );
    let _ = writeln!(out, "upkeep_reaped_total {}", counters.reaped);
    if let Some(valid) = counters.config_valid {
        let name = "upkeep_config_valid";
        family(
            &mut out,
            name,
            "gauge",
            "1 while the config on disk loads; 0 after a refused reload or a breaking edit.",
        );
        let _ = writeln!(out, "{name} {}", i64::from(valid));
    }
    let name = "upkeep_build_info";
    family(&mut out, name, "gauge", "upkeep's version; always 1.");
    let version = env!("CARGO_PKG_VERSION");
    sample(&mut out, name, ("version", version), None, 1);
    out
}

/// `GET /healthz`: (all well, body): `ok`, or a line per service that is not. An invalid
/// config on disk is not its business: a liveness probe failing for it would restart the
/// container onto the very file it cannot load (`upkeep_config_valid` and `status` say it).
pub fn healthz(rows: &[StatusRow]) -> (bool, String) {
    probe(rows, StatusRow::healthy, |r| {
        if r.health == HealthState::Unhealthy {
            "unhealthy".to_string()
        } else {
            r.status.as_str().to_string()
        }
    })
}

/// `GET /readyz`: every service ready (a oneshot: done; scheduled services and watches do
/// not count).
pub fn readyz(rows: &[StatusRow]) -> (bool, String) {
    let counts = |r: &StatusRow| !matches!(r.kind, Kind::Watch | Kind::Scheduled);
    probe(
        rows,
        |r| !counts(r) || r.ready,
        |r| format!("{}, not ready", r.status.as_str()),
    )
}

fn probe(
    rows: &[StatusRow],
    fine: impl Fn(&StatusRow) -> bool,
    what: impl Fn(&StatusRow) -> String,
) -> (bool, String) {
    let mut body = String::new();
    for r in rows.iter().filter(|r| !fine(r)) {
        let _ = write!(body, "{}: {}", r.name, what(r));
        if let Some(note) = &r.note {
            let _ = write!(body, ": {note}");
        }
        body.push('\n');
    }
    if body.is_empty() {
        (true, "ok\n".into())
    } else {
        (false, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Exit;
    use std::time::Duration;

    fn row(name: &str, kind: Kind, status: Status) -> StatusRow {
        StatusRow::bare(name, kind, status)
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape_label("a\\b\"c\nd é", &mut out);
        assert_eq!(out, "a\\\\b\\\"c\\nd é");
    }

    #[test]
    fn every_family_has_help_and_type_and_samples_are_labelled() {
        let mut web = row("we\"b\n", Kind::Service, Status::Running);
        web.uptime = Some(Duration::from_secs(10));
        web.restarts = 3;
        web.ready = true;
        web.last_exit = Some(Exit::Signal(9));
        let mut apache = row("apache", Kind::Watch, Status::Running);
        apache.restarts = 2;
        let dropped = [("we\"b\n".to_string(), 7)];
        let text = exposition(
            &[web, apache],
            &Counters {
                dropped: &dropped,
                reaped: 5,
                wall_now: 1000,
                config_valid: Some(false),
            },
        );
        for want in [
            "upkeep_service_up{service=\"we\\\"b\\n\"} 1\n",
            "upkeep_service_restarts_total{service=\"we\\\"b\\n\"} 3\n",
            "upkeep_service_start_time_seconds{service=\"we\\\"b\\n\"} 990\n",
            "upkeep_service_last_exit_code{service=\"we\\\"b\\n\"} 137\n",
            "upkeep_service_state{service=\"we\\\"b\\n\",state=\"running\"} 1\n",
            "upkeep_service_state{service=\"we\\\"b\\n\",state=\"backoff\"} 0\n",
            "upkeep_output_dropped_lines_total{service=\"we\\\"b\\n\"} 7\n",
            "upkeep_watch_starts_total{watch=\"apache\"} 2\n",
            "upkeep_reaped_total 5\n",
            "upkeep_config_valid 0\n",
            "upkeep_build_info{version=\"",
        ] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
        let mut helped = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
                helped += 1;
            } else if !line.starts_with("# TYPE ") {
                // A sample: name, optional labels, one space, a number.
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "{line}");
                assert!(line.starts_with("upkeep_"), "{line}");
            }
        }
        assert_eq!(helped, 12);
    }

    #[test]
    fn probes_name_who_is_not_there() {
        let mut web = row("web", Kind::Service, Status::Running);
        web.ready = true;
        web.health = HealthState::Unhealthy;
        web.note = Some("HTTP 503".into());
        let db = row("db", Kind::Service, Status::Starting);
        let cron = row("cron", Kind::Scheduled, Status::Scheduled);
        assert_eq!(
            healthz(&[web.clone(), db.clone()]),
            (false, "web: unhealthy: HTTP 503\ndb: starting\n".into())
        );
        assert_eq!(
            readyz(&[web.clone(), db]),
            (false, "db: starting, not ready\n".into())
        );
        assert_eq!(readyz(&[web, cron.clone()]), (true, "ok\n".into()));
        assert_eq!(healthz(&[cron]), (true, "ok\n".into()));
    }
}
