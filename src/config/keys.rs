//! Every key of `[supervisor]`, `[service.NAME]` and `[watch.NAME]`, each written once: its
//! name, its default, and how it is read. The tables are the source of unknown-key
//! detection and of the defaults (a table's defaults are read by the same readers from a
//! TOML text made of them), and the tests check that the README and the man page show the
//! same defaults.

use std::path::PathBuf;
use std::time::Duration;

use toml_edit::{ImDocument, Item};

use super::accounts::Accounts;
use super::checks::{parse_health, parse_ready};
use super::expand::{merge_env, parse_env_file};
use super::fields::{Checker, Fields, span_of, table_span};
use super::limits::{read_limits, read_ranged, read_umask};
use super::{
    AfterList, ConfigError, LogFormat, LogStreams, LogTarget, Output, Restart, Service,
    ServiceType, Settings, Watch,
};
use crate::schedule::{Cron, Schedule, Spec, Zone, zone::zoneinfo_dir};

/// One key of a table of type `T`.
pub struct Key<T: 'static> {
    pub name: &'static str,
    /// Its default as TOML text, as the docs show it; None: no default (optional, or
    /// required).
    pub default: Option<&'static str>,
    /// Reads the key (present in the table) into the draft; reports its own errors.
    read: fn(&mut Fields, &'static str, &mut T),
}

const fn key<T>(
    name: &'static str,
    default: Option<&'static str>,
    read: fn(&mut Fields, &'static str, &mut T),
) -> Key<T> {
    Key {
        name,
        default,
        read,
    }
}

/// Overwrites `slot` with a value that was read; one that was not leaves it as it was.
fn set<V>(slot: &mut V, read: Option<V>) {
    if let Some(v) = read {
        *slot = v;
    }
}

/// The names of a table's keys, for unknown-key detection.
pub fn names<T>(keys: &[Key<T>]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}

/// Reads every key of `keys` present in `f`'s table into `draft`.
fn read_all<T>(keys: &'static [Key<T>], f: &mut Fields, draft: &mut T) {
    for k in keys {
        if f.item(k.name).is_some() {
            (k.read)(f, k.name, draft);
        }
    }
}

/// `draft` with the defaults of `keys` read into it, by the readers of the keys.
fn with_defaults<T>(keys: &'static [Key<T>], what: &str, mut draft: T) -> T {
    let text: String = keys
        .iter()
        .filter_map(|k| k.default.map(|d| format!("{} = {d}\n", k.name)))
        .collect();
    let mut checker = Checker::new("defaults", &text);
    // The text is ours: a parse error cannot happen, and `defaults_read_cleanly` tests it.
    if let Ok(doc) = ImDocument::parse(text.clone()) {
        let mut f = Fields::new(doc.as_table(), &mut checker, what.into(), "");
        read_all(keys, &mut f, &mut draft);
    }
    debug_assert!(checker.errors.is_empty(), "{:?}", checker.errors);
    draft
}

// ---- [supervisor] ----

pub static SUPERVISOR_KEYS: &[Key<Settings>] = &[
    key("scan_interval", Some("\"30s\""), |f, k, s| {
        if let Some(d) = f.positive_duration(k) {
            s.scan_interval = d;
        }
    }),
    key("memory_interval", Some("\"5s\""), |f, k, s| {
        if let Some(d) = f.positive_duration(k) {
            s.memory_interval = d;
        }
    }),
    key("control_socket", None, |f, k, s| {
        s.control_socket = f.string(k).map(PathBuf::from);
    }),
    key("http", None, |f, k, s| {
        let Some(text) = f.string(k) else { return };
        match text.parse::<std::net::SocketAddr>() {
            Ok(addr) => s.http = Some(addr),
            Err(_) => f.invalid(
                k,
                format!("{text:?} is not ADDR:PORT (\"127.0.0.1:9100\", \"[::1]:9100\")"),
            ),
        }
    }),
    key("log_level", None, |f, k, s| {
        let Some(level) = f.string(k) else { return };
        match level.parse::<log::LevelFilter>() {
            Ok(l) => s.log_level = Some(l),
            Err(_) => f.invalid(
                k,
                format!("{level:?} is not one of error, warn, info, debug, trace"),
            ),
        }
    }),
    key("include", None, |f, k, s| {
        if let Some(patterns) = f.one_or_many(k) {
            s.include = patterns.into_iter().map(|(p, _)| p).collect();
        }
    }),
    key("env_file", None, |f, k, s| s.env = read_env_files(f, k)),
    key("log", Some("\"stderr\""), |f, k, s| {
        if let Some(target) = f.string(k) {
            s.log = match target.as_str() {
                "stderr" => LogTarget::Stderr,
                "stdout" => LogTarget::Stdout,
                "syslog" => LogTarget::Syslog,
                path => LogTarget::File(PathBuf::from(path)),
            };
        }
    }),
    // After `log`: the loop it would make with syslog is an error of this key's.
    key("syslog_listen", None, |f, k, s| {
        let Some(text) = f.string(k) else { return };
        let path = PathBuf::from(text);
        if s.log == LogTarget::Syslog && path == std::path::Path::new(crate::logging::SYSLOG_SOCKET)
        {
            return f.invalid(
                k,
                format!(
                    "{:?} is where log = \"syslog\" writes: upkeep would read its own lines back (a loop)",
                    path.display().to_string()
                ),
            );
        }
        // "": off, as when left out.
        s.syslog_listen = Some(path).filter(|p| !p.as_os_str().is_empty());
    }),
    // No default here: 9s when upkeep is PID 1, none otherwise (`core::stop_grace`).
    key("stop_grace", None, |f, k, s| {
        s.stop_grace = f.positive_duration(k)
    }),
    key("log_format", Some("\"text\""), |f, k, s| {
        let Some(word) = f.string(k) else { return };
        s.log_format = match word.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            "logfmt" => LogFormat::Logfmt,
            _ => return f.invalid(k, format!("{word:?} is not one of text, json, logfmt")),
        };
    }),
    key("log_timestamps", Some("true"), |f, k, s| {
        set(&mut s.log_timestamps, f.boolean(k));
    }),
    key("log_streams", Some("\"split\""), |f, k, s| {
        let Some(word) = f.string(k) else { return };
        s.log_streams = match word.as_str() {
            "split" => LogStreams::Split,
            "stderr" => LogStreams::Stderr,
            _ => return f.invalid(k, format!("{word:?} is not one of split, stderr")),
        };
    }),
];

/// The settings when there is no `[supervisor]` table, or a key is left out.
pub fn default_settings() -> Settings {
    let blank = Settings {
        scan_interval: Duration::ZERO,
        memory_interval: Duration::ZERO,
        control_socket: None,
        http: None,
        syslog_listen: None,
        log_level: None,
        log: LogTarget::Stderr,
        include: Vec::new(),
        env: Vec::new(),
        stop_grace: None,
        log_format: LogFormat::Text,
        log_timestamps: false,
        log_streams: LogStreams::Split,
    };
    with_defaults(SUPERVISOR_KEYS, "[supervisor]", blank)
}

pub(super) fn parse_settings(item: Option<&Item>, checker: &mut Checker) -> Settings {
    let mut settings = default_settings();
    let Some(item) = item else {
        return settings;
    };
    let Some(table) = item.as_table_like() else {
        checker.error(span_of(item), "`supervisor` must be a table: [supervisor]");
        return settings;
    };
    checker.unknown_keys(table, &names(SUPERVISOR_KEYS), "[supervisor]");
    let mut f = Fields::new(table, checker, "[supervisor]".into(), "");
    read_all(SUPERVISOR_KEYS, &mut f, &mut settings);
    settings
}

// ---- [service.NAME] ----

/// A service as its keys are read: the parts that need the whole table (the account, the
/// `after` positions, the sub-tables) wait here until every key is read.
pub struct ServiceDraft {
    svc: Service,
    user: Option<String>,
    group: Option<String>,
    after: AfterList,
    has_command: bool,
    /// `env`, merged over the env files once every key is read.
    env: Vec<(String, String)>,
    env_files: Vec<(String, String)>,
    schedule: Option<Spec>,
    timezone: Option<String>,
}

/// The KEY=VALUE lines of the env files named at `k` (one path or a list), in order; a
/// relative path is relative to the config file's directory.
fn read_env_files(f: &mut Fields, k: &str) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for (path, span) in f.one_or_many(k).unwrap_or_default() {
        let full = f.checker.dir().join(&path);
        let text = match super::read_config(&full) {
            Ok(t) => t,
            Err(e) => {
                let what = f.name(k);
                let why = format!("{what}: cannot read {}: {e}", full.display());
                f.checker.error(span, why);
                continue;
            }
        };
        match parse_env_file(&text) {
            Ok(found) => merge_env(&mut vars, &found),
            Err((line, message)) => f.checker.errors.push(ConfigError {
                file: full.display().to_string(),
                line,
                col: 1,
                message,
            }),
        }
    }
    vars
}

pub static SERVICE_KEYS: &[Key<ServiceDraft>] = &[
    key("command", None, |f, k, d| {
        d.has_command = true;
        if let Some(argv) = f.command(k) {
            d.svc.command = argv;
        }
    }),
    key("restart", Some("\"always\""), |f, k, d| {
        let Some(word) = f.string(k) else { return };
        match Restart::ALL.into_iter().find(|r| r.as_str() == word) {
            Some(r) => d.svc.restart = r,
            None => {
                let known: Vec<&str> = Restart::ALL.iter().map(|r| r.as_str()).collect();
                f.invalid(k, format!("{word:?} is not one of {}", known.join(", ")));
            }
        }
    }),
    key("restart_delay", Some("\"100ms\""), |f, k, d| {
        set(&mut d.svc.restart_delay, f.duration(k));
    }),
    key("restart_delay_max", Some("\"30s\""), |f, k, d| {
        set(&mut d.svc.restart_delay_max, f.duration(k));
    }),
    key("stable_after", Some("\"10s\""), |f, k, d| {
        set(&mut d.svc.stable_after, f.duration(k));
    }),
    key("give_up_after", Some("0"), |f, k, d| {
        set(&mut d.svc.give_up_after, f.count(k));
    }),
    key("critical", Some("false"), |f, k, d| {
        set(&mut d.svc.critical, f.boolean(k));
    }),
    key("diagnose", None, |f, k, d| {
        d.svc.diagnose = f.string(k).filter(|s| !s.trim().is_empty());
    }),
    key("diagnose_timeout", Some("\"30s\""), |f, k, d| {
        set(&mut d.svc.diagnose_timeout, f.duration(k));
    }),
    key("stop_signal", Some("\"TERM\""), |f, k, d| {
        set(&mut d.svc.stop_signal, f.signal(k));
    }),
    key("stop_timeout", Some("\"10s\""), |f, k, d| {
        set(&mut d.svc.stop_timeout, f.duration(k));
    }),
    key("user", None, |f, k, d| d.user = f.string(k)),
    key("group", None, |f, k, d| d.group = f.string(k)),
    key("directory", None, |f, k, d| {
        d.svc.directory = f.string(k).map(PathBuf::from);
    }),
    key("env", None, |f, k, d| {
        set(&mut d.env, f.string_map(k));
    }),
    key("env_file", None, |f, k, d| {
        d.env_files = read_env_files(f, k)
    }),
    key("type", Some("\"longrun\""), |f, k, d| {
        d.svc.kind = match f.string(k).as_deref() {
            None => return,
            Some("longrun") => ServiceType::Longrun,
            Some("oneshot") => ServiceType::Oneshot,
            Some(other) => return f.invalid(k, format!("{other:?} is not longrun or oneshot")),
        };
    }),
    key("success_exit_codes", Some("[0]"), |f, k, d| {
        let Some(item) = f.item(k) else { return };
        let codes: Option<Vec<i32>> = item.as_array().and_then(|a| {
            a.iter()
                .map(|v| v.as_integer().and_then(|n| i32::try_from(n).ok()))
                .map(|c| c.filter(|c| (0..=255).contains(c)))
                .collect()
        });
        match codes {
            Some(c) => d.svc.success_exit_codes = c,
            None => f.wrong(k, "an array of exit codes (0-255)"),
        }
    }),
    key("run_timeout", None, |f, k, d| {
        d.svc.run_timeout = f.positive_duration(k);
    }),
    key("schedule", None, |f, k, d| {
        let Some(text) = f.string(k) else { return };
        let spec = match text.trim().strip_prefix("@every") {
            Some(rest) => match super::parse_duration(rest.trim()) {
                Ok(every) if !every.is_zero() => Ok(Spec::Every(every)),
                Ok(_) => Err("@every needs a duration more than 0".to_string()),
                Err(e) => Err(format!("@every: {e}")),
            },
            None => Cron::parse(&text).and_then(|c| {
                if c.can_fire() {
                    Ok(Spec::Cron(c))
                } else {
                    Err(format!(
                        "{text:?} can never fire (no such day in any month)"
                    ))
                }
            }),
        };
        match spec {
            Ok(spec) => d.schedule = Some(spec),
            Err(e) => f.invalid(k, e),
        }
    }),
    key("timezone", Some("\"UTC\""), |f, k, d| {
        d.timezone = f.string(k)
    }),
    key("enabled", Some("true"), |f, k, d| {
        set(&mut d.svc.enabled, f.boolean(k));
    }),
    key("after", None, |f, k, d| {
        if let Some(after) = f.strings(k) {
            d.svc.after = after.iter().map(|(n, _)| n.clone()).collect();
            d.after = after;
        }
    }),
    key("output", Some("\"log\""), |f, k, d| {
        d.svc.output = match f.string(k).as_deref() {
            None => return,
            Some("log") => Output::Log,
            Some("inherit") => Output::Inherit,
            Some("null") => Output::Null,
            Some(path) if path.starts_with('/') => Output::File(PathBuf::from(path)),
            Some(other) => {
                let why = "is not log, inherit, null or an absolute file path";
                return f.invalid(k, format!("{other:?} {why}"));
            }
        };
    }),
    key("output_max_size", Some("\"10MB\""), |f, k, d| {
        match f.size(k) {
            Some(0) => f.invalid(k, "must be more than 0".into()),
            Some(n) => d.svc.output_max_size = n,
            None => {}
        }
    }),
    key("output_keep", Some("5"), |f, k, d| {
        set(&mut d.svc.output_keep, f.count(k));
    }),
    key("output_tail", Some("\"32KiB\""), |f, k, d| {
        let n = f.size(k).and_then(|n| usize::try_from(n).ok());
        set(&mut d.svc.output_tail, n);
    }),
    key("watchdog", None, |f, k, d| {
        d.svc.watchdog = f.positive_duration(k);
    }),
    key("ready", None, |f, k, d| {
        d.svc.ready = parse_ready(&d.svc.name, f.item(k), f.checker).map(Box::new);
    }),
    key("health", None, |f, k, d| {
        d.svc.health = parse_health(&d.svc.name, f.item(k), f.checker).map(Box::new);
    }),
    key("limits", None, |f, k, d| {
        read_limits(f, k, &mut d.svc.tuning)
    }),
    key("umask", None, |f, k, d| read_umask(f, k, &mut d.svc.tuning)),
    key("nice", None, |f, k, d| {
        read_ranged(f, k, -20..=19, &mut d.svc.tuning, |t, n| t.nice = Some(n));
    }),
    key("oom_score_adj", None, |f, k, d| {
        if cfg!(target_os = "linux") {
            let put = |t: &mut crate::types::Tuning, n| t.oom_score_adj = Some(n);
            read_ranged(f, k, -1000..=1000, &mut d.svc.tuning, put);
        } else {
            f.invalid(k, "Linux only (FreeBSD has no OOM score)".into());
        }
    }),
    key("memory_max", None, |f, k, d| match f.size(k) {
        Some(0) => f.invalid(k, "must be more than 0".into()),
        n => d.svc.memory_max = n.or(d.svc.memory_max),
    }),
    key("on_failure", None, |f, k, d| {
        d.svc.on_failure = f.string(k).filter(|s| !s.trim().is_empty());
    }),
];

/// What a service is when its table gives only a command.
pub fn default_service() -> Service {
    let draft = ServiceDraft {
        svc: Service::default(),
        user: None,
        group: None,
        after: Vec::new(),
        has_command: false,
        env: Vec::new(),
        env_files: Vec::new(),
        schedule: None,
        timezone: None,
    };
    with_defaults(SERVICE_KEYS, "service", draft).svc
}

pub(super) fn parse_service(
    name: &str,
    item: &Item,
    defaults: &Service,
    accounts: &Accounts,
    checker: &mut Checker,
) -> (Option<Service>, AfterList) {
    let Some(table) = item.as_table_like() else {
        return (None, Vec::new());
    };
    let what = format!("service `{name}`");
    checker.unknown_keys(table, &names(SERVICE_KEYS), &format!("[service.{name}]"));
    let mut svc = defaults.clone();
    svc.name = name.to_string();
    let mut d = ServiceDraft {
        svc,
        user: None,
        group: None,
        after: Vec::new(),
        has_command: false,
        env: Vec::new(),
        env_files: Vec::new(),
        schedule: None,
        timezone: None,
    };
    let mut f = Fields::new(table, checker, what.clone(), "");
    read_all(SERVICE_KEYS, &mut f, &mut d);
    // The supervisor's env files (in `defaults`), the service's, then its `env`.
    merge_env(&mut d.svc.env, &d.env_files);
    merge_env(&mut d.svc.env, &d.env);
    check_job(&mut f, &mut d, item);
    if !d.has_command {
        f.checker
            .error(table_span(item), format!("{what}: `command` is missing"));
    }
    if d.svc.restart_delay_max < d.svc.restart_delay {
        let span = f.item("restart_delay_max").and_then(span_of);
        let why = "`restart_delay_max` is less than `restart_delay`";
        f.checker.error(span, format!("{what}: {why}"));
    }
    let systemd_notify = matches!(
        d.svc.ready.as_ref().map(|r| &r.way),
        Some(crate::config::ReadyWay::Notify(
            crate::types::Notify::Systemd
        ))
    );
    if d.svc.watchdog.is_some() && !systemd_notify {
        let why = "needs ready.notify = \"systemd\": WATCHDOG=1 comes through its NOTIFY_SOCKET";
        f.invalid("watchdog", why.to_string());
    }
    if d.user.is_some() || d.group.is_some() {
        match accounts.run_as(d.user.as_deref(), d.group.as_deref()) {
            Ok(run_as) => {
                d.svc.credentials = Some(run_as.credentials);
                d.svc.env.extend(run_as.env);
            }
            Err(errors) => {
                for (key, e) in errors {
                    let span = f.item(key).and_then(span_of);
                    f.checker.error(span, format!("{what} `{key}`: {e}"));
                }
            }
        }
    }
    let service = (!d.svc.command.is_empty()).then_some(d.svc);
    (service, d.after)
}

/// What oneshots and scheduled services allow, and the schedule in its zone.
fn check_job(f: &mut Fields, d: &mut ServiceDraft, item: &Item) {
    let what = f.what.clone();
    if let Some(spec) = d.schedule.take() {
        let zone = match d.timezone.as_deref() {
            None => Ok(Zone::utc()),
            Some(name) => Zone::load(&zoneinfo_dir(), name, super::read_bytes),
        };
        match zone {
            Ok(zone) => {
                let text = f.item("schedule").and_then(Item::as_str).unwrap_or("");
                d.svc.schedule = Some(Box::new(Schedule {
                    text: text.to_string(),
                    spec,
                    zone,
                }));
            }
            Err(e) => f.invalid("timezone", e),
        }
    } else if f.item("timezone").is_some() {
        f.invalid(
            "timezone",
            "applies to a service with a `schedule` only".into(),
        );
    }
    let job = d.svc.kind == ServiceType::Oneshot || f.item("schedule").is_some();
    if !job {
        if f.item("run_timeout").is_some() {
            let why = "applies to oneshot and scheduled services only";
            f.invalid("run_timeout", why.into());
        }
        return;
    }
    // A job runs to completion: restarting it always, or waiting for it to be ready,
    // means nothing.
    match f.item("restart") {
        None => d.svc.restart = Restart::Never,
        Some(_) if d.svc.restart == Restart::Always => {
            let why = "a oneshot or scheduled service restarts \"never\" or \"on-failure\"";
            f.invalid("restart", why.into());
        }
        Some(_) => {}
    }
    for key in ["ready", "health"] {
        if f.item(key).is_some() {
            let why = format!(
                "{what}: a oneshot or scheduled service is done when it exits; `{key}` does not apply"
            );
            let span = f.item(key).and_then(span_of).or_else(|| table_span(item));
            f.checker.error(span, why);
        }
    }
}

// ---- [watch.NAME] ----

pub static WATCH_KEYS: &[Key<Watch>] = &[
    key("process", None, |f, k, w| {
        let Some(process) = f.string(k) else { return };
        if process.is_empty() || process.contains('/') {
            f.invalid(k, "give a process name, not a path or nothing".into());
        } else {
            w.process = process;
        }
    }),
    key("start", None, |f, k, w| {
        set(&mut w.start, f.command(k));
    }),
    key("diagnose", None, |f, k, w| {
        w.diagnose = f.string(k).filter(|s| !s.trim().is_empty());
    }),
    key("diagnose_timeout", Some("\"30s\""), |f, k, w| {
        set(&mut w.diagnose_timeout, f.duration(k));
    }),
    key("interval", None, |f, k, w| w.interval = f.duration(k)),
    key("start_timeout", Some("\"60s\""), |f, k, w| {
        set(&mut w.start_timeout, f.duration(k));
    }),
];

/// What a watch is when its table gives only `process` and `start`.
pub fn default_watch() -> Watch {
    let blank = Watch {
        name: String::new(),
        process: String::new(),
        start: Vec::new(),
        diagnose: None,
        diagnose_timeout: Duration::ZERO,
        interval: None,
        start_timeout: Duration::ZERO,
    };
    with_defaults(WATCH_KEYS, "watch", blank)
}

pub(super) fn parse_watch(name: &str, item: &Item, checker: &mut Checker) -> Option<Watch> {
    let table = item.as_table_like()?;
    let what = format!("watch `{name}`");
    checker.unknown_keys(table, &names(WATCH_KEYS), &format!("[watch.{name}]"));
    let mut w = default_watch();
    w.name = name.to_string();
    let mut f = Fields::new(table, checker, what.clone(), "");
    read_all(WATCH_KEYS, &mut f, &mut w);
    for required in ["process", "start"] {
        if f.item(required).is_none() {
            f.checker
                .error(table_span(item), format!("{what}: `{required}` is missing"));
        }
    }
    (!w.process.is_empty() && !w.start.is_empty()).then_some(w)
}
