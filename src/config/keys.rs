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
use super::fields::{Checker, Fields, span_of, table_span};
use super::{AfterList, LogTarget, Output, Restart, Service, Settings, Watch};

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
    key("control_socket", None, |f, k, s| {
        s.control_socket = f.string(k).map(PathBuf::from);
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
];

/// The settings when there is no `[supervisor]` table, or a key is left out.
pub fn default_settings() -> Settings {
    let blank = Settings {
        scan_interval: Duration::ZERO,
        control_socket: None,
        log_level: None,
        log: LogTarget::Stderr,
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
        set(&mut d.svc.env, f.string_map(k));
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
    key("ready", None, |f, k, d| {
        d.svc.ready = parse_ready(&d.svc.name, f.item(k), f.checker).map(Box::new);
    }),
    key("health", None, |f, k, d| {
        d.svc.health = parse_health(&d.svc.name, f.item(k), f.checker).map(Box::new);
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
    };
    let mut f = Fields::new(table, checker, what.clone(), "");
    read_all(SERVICE_KEYS, &mut f, &mut d);
    if !d.has_command {
        f.checker
            .error(table_span(item), format!("{what}: `command` is missing"));
    }
    if d.svc.restart_delay_max < d.svc.restart_delay {
        let span = f.item("restart_delay_max").and_then(span_of);
        let why = "`restart_delay_max` is less than `restart_delay`";
        f.checker.error(span, format!("{what}: {why}"));
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
