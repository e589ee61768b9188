//! The TOML config: parsed with spans (toml_edit, the parser under the `toml` crate), checked
//! key by key, and turned into a validated `Config`. Every error is collected, not just the
//! first, each as `FILE:LINE:COL: message`. No I/O but reading the file and the accounts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{ImDocument, Item, TableLike, Value};

pub mod accounts;
mod checks;
mod graph;
mod units;

pub use checks::{Check, Health, Ready, ReadyWay};
pub use graph::start_order;
use graph::{check_after, find_cycle};
pub use units::{parse_duration, parse_size};

use crate::types::{Credentials, shell, signame};
use accounts::Accounts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    Always,
    OnFailure,
    Never,
}

impl Restart {
    pub const ALL: [Restart; 3] = [Restart::Always, Restart::OnFailure, Restart::Never];

    /// The config's word for it, as the log repeats it.
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "never",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Stderr,
    Stdout,
    File(PathBuf),
    Syslog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub scan_interval: Duration,
    pub control_socket: Option<PathBuf>,
    pub log_level: Option<log::LevelFilter>,
    pub log: LogTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// argv; a string command becomes `/bin/sh -c STRING`.
    pub command: Vec<String>,
    pub restart: Restart,
    pub restart_delay: Duration,
    pub restart_delay_max: Duration,
    pub stable_after: Duration,
    pub give_up_after: u32,
    pub critical: bool,
    pub diagnose: Option<String>,
    pub diagnose_timeout: Duration,
    pub stop_signal: i32,
    pub stop_timeout: Duration,
    pub credentials: Option<Credentials>,
    pub directory: Option<PathBuf>,
    /// `env` of the config, then HOME/USER/LOGNAME when `user` is set.
    pub env: Vec<(String, String)>,
    pub after: Vec<String>,
    /// Where its stdout and stderr go.
    pub output: Output,
    /// `output = FILE` only: rotate before a write would take the file past this many bytes.
    pub output_max_size: u64,
    /// `output = FILE` only: how many rotated files (FILE.1 ...) are kept.
    pub output_keep: u32,
    /// Bytes of recent output kept in memory (`upkeep logs`, death lines).
    pub output_tail: usize,
    /// When it can be used; None: as soon as it is started.
    pub ready: Option<Ready>,
    pub health: Option<Health>,
}

/// A service's `output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Each line into upkeep's log, labelled with the service's name.
    Log,
    /// upkeep's own stdout and stderr, untouched.
    Inherit,
    Null,
    /// A file of its own, every line timestamped, rotated by size.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub name: String,
    pub process: String,
    pub start: Vec<String>,
    pub diagnose: Option<String>,
    pub interval: Option<Duration>,
    /// A start command still running after this is killed (with its process group) and
    /// counted as failed, so that a hanging one cannot block its watch for ever.
    pub start_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    pub settings: Settings,
    pub services: Vec<Service>,
    pub watches: Vec<Watch>,
}

impl Config {
    /// An empty config, for single-command mode.
    pub fn empty() -> Config {
        Config {
            path: PathBuf::new(),
            settings: Settings {
                scan_interval: Duration::from_secs(30),
                control_socket: None,
                log_level: None,
                log: LogTarget::Stderr,
            },
            services: Vec::new(),
            watches: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// The default config path: `$UPKEEP_CONFIG`, else the platform's.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("UPKEEP_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if cfg!(target_os = "freebsd") {
        PathBuf::from("/usr/local/etc/upkeep.toml")
    } else {
        PathBuf::from("/etc/upkeep.toml")
    }
}

/// Just `[supervisor] control_socket`, from a config that may have other errors: a client
/// must find the socket even while the config is being fixed (to reload it).
pub fn control_socket_setting(path: &Path) -> Option<PathBuf> {
    let text = read_config(path).ok()?;
    match ImDocument::parse(text.clone()) {
        Ok(doc) => doc
            .get("supervisor")?
            .get("control_socket")?
            .as_str()
            .map(PathBuf::from),
        // A syntax error elsewhere: the key's own line is still readable.
        Err(_) => text.lines().find_map(|line| {
            let value = line.trim().strip_prefix("control_socket")?.trim_start();
            let quoted = value.strip_prefix('=')?.trim().strip_prefix('"')?;
            quoted.split('"').next().map(PathBuf::from)
        }),
    }
}

/// A config larger than this is refused: it would be parsed in the loop (a reload), and a
/// config of 1,000 services is about 100 KB.
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;

pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let file = path.display().to_string();
    match read_config(path) {
        Ok(text) => parse(path, &text, &Accounts::load()),
        Err(message) => Err(vec![ConfigError {
            file,
            line: 1,
            col: 1,
            message,
        }]),
    }
}

/// The file's text: opened without blocking (a FIFO put in its place must not hang
/// upkeep), and only if it is a regular file of a sane size.
fn read_config(path: &Path) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot read the config: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the config: {e}"))?;
    if !meta.is_file() {
        return Err("cannot read the config: not a regular file".into());
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "the config is {} bytes; the limit is {MAX_CONFIG_BYTES}",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.by_ref()
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the config: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "cannot read the config: it is not UTF-8".to_string())
}

const SUPERVISOR_KEYS: &[&str] = &["scan_interval", "control_socket", "log_level", "log"];
const SERVICE_KEYS: &[&str] = &[
    "command",
    "restart",
    "restart_delay",
    "restart_delay_max",
    "stable_after",
    "give_up_after",
    "critical",
    "diagnose",
    "diagnose_timeout",
    "stop_signal",
    "stop_timeout",
    "user",
    "group",
    "directory",
    "env",
    "after",
    "output",
    "output_max_size",
    "output_keep",
    "output_tail",
    "ready",
    "health",
];
const WATCH_KEYS: &[&str] = &["process", "start", "diagnose", "interval", "start_timeout"];

/// Collects errors with positions while the document is walked.
pub(crate) struct Checker<'a> {
    file: String,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    pub(crate) fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let offset = span.map_or(0, |s| s.start).min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            col,
            message: message.into(),
        });
    }

    /// Reports every key of `table` not in `known`, with a hint when one is close.
    fn unknown_keys(&mut self, table: &dyn TableLike, known: &[&str], what: &str) {
        for (key, _) in table.iter() {
            if known.contains(&key) {
                continue;
            }
            let span = table.get_key_value(key).and_then(|(k, _)| k.span());
            let hint = closest(key, known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            self.error(span, format!("unknown key `{key}` in {what}{hint}"));
        }
    }
}

fn span_of(item: &Item) -> Option<Range<usize>> {
    item.span()
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a datetime",
        Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

/// Typed getters over one table; each reports its own errors and returns None on them.
struct Fields<'t, 'c, 'a> {
    table: &'t dyn TableLike,
    checker: &'c mut Checker<'a>,
    what: String,
    /// The sub-table's name and a dot ("ready."), or nothing.
    prefix: &'static str,
}

impl<'t> Fields<'t, '_, '_> {
    /// How messages name `key`: "service `db` `ready.tcp`".
    fn name(&self, key: &str) -> String {
        format!("{} `{}{key}`", self.what, self.prefix)
    }

    fn item(&self, key: &str) -> Option<&'t Item> {
        let table: &'t dyn TableLike = self.table;
        table.get(key).filter(|i| !i.is_none())
    }

    fn wrong(&mut self, key: &str, want: &str) {
        let item = self.item(key).cloned().unwrap_or(Item::None);
        let got = type_name(&item);
        self.checker.error(
            span_of(&item),
            format!("{}: expected {want}, found {got}", self.name(key)),
        );
    }

    /// The value at `key` converted by `get`, or an "expected `want`" error.
    fn typed<T>(&mut self, key: &str, want: &str, get: impl Fn(&Item) -> Option<T>) -> Option<T> {
        let value = get(self.item(key)?);
        if value.is_none() {
            self.wrong(key, want);
        }
        value
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.typed(key, "a string", |i| i.as_str().map(str::to_string))
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        self.typed(key, "true or false", Item::as_bool)
    }

    fn count(&mut self, key: &str) -> Option<u32> {
        self.typed(key, "a whole number >= 0", |i| {
            i.as_integer().and_then(|n| u32::try_from(n).ok())
        })
    }

    fn duration(&mut self, key: &str) -> Option<Duration> {
        let want = "a duration (\"100ms\", \"10s\", \"5m\", \"1h\" or seconds)";
        self.measure(key, want, "duration", parse_duration)
            .map(|(whole, parsed)| whole.map_or(parsed, Duration::from_secs))
    }

    fn size(&mut self, key: &str) -> Option<u64> {
        self.measure(
            key,
            "a size (\"32KiB\", \"10MB\" or bytes)",
            "size",
            parse_size,
        )
        .map(|(whole, parsed)| whole.unwrap_or(parsed))
    }

    /// A quantity written as a whole number (returned as such) or as a string with a unit
    /// (returned parsed by `parse`); errors reported with their position.
    fn measure<T: Default>(
        &mut self,
        key: &str,
        want: &str,
        noun: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<(Option<u64>, T)> {
        let item = self.item(key)?;
        let span = span_of(item);
        let parsed = match item {
            Item::Value(Value::Integer(n)) => u64::try_from(*n.value())
                .map(|n| (Some(n), T::default()))
                .map_err(|_| format!("a {noun} cannot be negative")),
            Item::Value(Value::String(s)) => parse(s.value()).map(|v| (None, v)),
            _ => {
                self.wrong(key, want);
                return None;
            }
        };
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.checker.error(span, format!("{}: {e}", self.name(key)));
                None
            }
        }
    }

    fn signal(&mut self, key: &str) -> Option<i32> {
        let item = self.item(key)?;
        let span = span_of(item);
        let text = match item {
            Item::Value(Value::String(s)) => s.value().clone(),
            Item::Value(Value::Integer(n)) => n.value().to_string(),
            _ => {
                self.wrong(key, "a signal name such as \"TERM\"");
                return None;
            }
        };
        let sig = signame::parse(&text);
        if sig.is_none() {
            self.checker
                .error(span, format!("{}: unknown signal {text:?}", self.name(key)));
        }
        sig
    }

    /// A command: an argv array (exec'd directly) or a string (run by /bin/sh -c).
    fn command(&mut self, key: &str) -> Option<Vec<String>> {
        let item = self.item(key)?;
        let span = span_of(item);
        let argv = match item {
            Item::Value(Value::String(s)) => {
                if s.value().trim().is_empty() {
                    None
                } else {
                    Some(shell(s.value()))
                }
            }
            Item::Value(Value::Array(a)) => {
                let words: Option<Vec<String>> =
                    a.iter().map(|v| v.as_str().map(str::to_string)).collect();
                match words {
                    None => {
                        self.checker.error(
                            span,
                            format!(
                                "{}: every word of the command must be a string",
                                self.name(key)
                            ),
                        );
                        return None;
                    }
                    Some(w) if w.first().is_none_or(|p| p.is_empty()) => None,
                    Some(w) => Some(w),
                }
            }
            _ => {
                self.wrong(
                    key,
                    "a command (an array of strings, or a string for /bin/sh -c)",
                );
                return None;
            }
        };
        if argv.is_none() {
            self.checker
                .error(span, format!("{}: the command is empty", self.name(key)));
        }
        argv
    }

    fn strings(&mut self, key: &str) -> Option<Vec<(String, Option<Range<usize>>)>> {
        let item = self.item(key)?;
        let arr = match item.as_array() {
            Some(a) => a,
            None => {
                self.wrong(key, "an array of strings");
                return None;
            }
        };
        let mut out = Vec::new();
        for v in arr.iter() {
            match v.as_str() {
                Some(s) => out.push((s.to_string(), v.span())),
                None => {
                    self.checker
                        .error(v.span(), format!("{}: expected a string", self.name(key)));
                }
            }
        }
        Some(out)
    }

    fn string_map(&mut self, key: &str) -> Option<Vec<(String, String)>> {
        let item = self.item(key)?;
        let Some(table) = item.as_table_like() else {
            self.wrong(key, "a table of strings, e.g. { MODE = \"prod\" }");
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in table.iter() {
            let value = match v {
                Item::Value(Value::String(s)) => s.value().clone(),
                Item::Value(Value::Integer(n)) => n.value().to_string(),
                Item::Value(Value::Boolean(b)) => b.value().to_string(),
                _ => {
                    self.checker.error(
                        span_of(v),
                        format!(
                            "{}: expected a string, found {}",
                            self.name(&format!("{key}.{k}")),
                            type_name(v)
                        ),
                    );
                    continue;
                }
            };
            out.push((k.to_string(), value));
        }
        Some(out)
    }
}

/// Parses and validates; `path` is only used in messages.
pub fn parse(path: &Path, text: &str, accounts: &Accounts) -> Result<Config, Vec<ConfigError>> {
    let mut checker = Checker {
        file: path.display().to_string(),
        text,
        errors: Vec::new(),
    };
    let doc = match ImDocument::parse(text.to_string()) {
        Ok(doc) => doc,
        Err(e) => {
            let message = e.message().trim().to_string();
            checker.error(e.span(), format!("invalid TOML: {message}"));
            return Err(checker.errors);
        }
    };
    let root = doc.as_table();
    checker.unknown_keys(root, &["supervisor", "service", "watch"], "the config");

    let settings = parse_settings(root.get("supervisor"), &mut checker);
    let mut services = Vec::new();
    // `after` of every service, even one with other errors, so that all of them are checked.
    let mut afters: HashMap<String, AfterList> = HashMap::new();
    let mut name_spans: BTreeMap<String, Option<Range<usize>>> = BTreeMap::new();
    for (name, item, name_span) in sections(root, "service", &mut checker) {
        let (svc, after) = parse_service(&name, item, accounts, &mut checker);
        afters.insert(name.clone(), after);
        services.extend(svc);
        name_spans.insert(name, name_span);
    }
    let mut watches = Vec::new();
    for (name, item, name_span) in sections(root, "watch", &mut checker) {
        if name_spans.contains_key(&name) {
            checker.error(
                name_span,
                format!("watch `{name}`: a service has the same name; names must be unique"),
            );
        }
        if let Some(w) = parse_watch(&name, item, &mut checker) {
            watches.push(w);
        }
    }
    check_after(&afters, &name_spans, &mut checker);
    if let Some(cycle) = find_cycle(&services) {
        let first = cycle.first().cloned().unwrap_or_default();
        let span = afters
            .get(&first)
            .and_then(|s| s.first().map(|(_, span)| span.clone()))
            .flatten()
            .or_else(|| name_spans.get(&first).cloned().flatten());
        checker.error(span, format!("`after` has a cycle: {}", cycle.join(" -> ")));
    }

    if !checker.errors.is_empty() {
        return Err(checker.errors);
    }
    Ok(Config {
        path: path.to_path_buf(),
        settings,
        services,
        watches,
    })
}

/// The `[service.NAME]` (or `[watch.NAME]`) tables, in file order, with their names checked.
fn sections<'d>(
    root: &'d toml_edit::Table,
    kind: &str,
    checker: &mut Checker,
) -> Vec<(String, &'d Item, Option<Range<usize>>)> {
    let Some(item) = root.get(kind) else {
        return Vec::new();
    };
    let Some(table) = item.as_table_like() else {
        checker.error(
            span_of(item),
            format!("`{kind}` must be a table of tables: [{kind}.NAME]"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, sub) in table.iter() {
        let span = table.get_key_value(name).and_then(|(k, _)| k.span());
        if !valid_name(name) {
            checker.error(
                span.clone(),
                format!("{kind} name {name:?}: use letters, digits, `-`, `_` and `.` only"),
            );
            continue;
        }
        if sub.as_table_like().is_none() {
            checker.error(
                span_of(sub),
                format!("{kind} `{name}` must be a table: [{kind}.{name}]"),
            );
            continue;
        }
        out.push((name.to_string(), sub, span));
    }
    out
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_settings(item: Option<&Item>, checker: &mut Checker) -> Settings {
    let mut settings = Config::empty().settings;
    let Some(item) = item else {
        return settings;
    };
    let Some(table) = item.as_table_like() else {
        checker.error(span_of(item), "`supervisor` must be a table: [supervisor]");
        return settings;
    };
    checker.unknown_keys(table, SUPERVISOR_KEYS, "[supervisor]");
    let mut f = Fields {
        table,
        checker,
        what: "[supervisor]".into(),
        prefix: "",
    };
    if let Some(d) = f.duration("scan_interval") {
        if d.is_zero() {
            let span = f.item("scan_interval").and_then(span_of);
            f.checker
                .error(span, "[supervisor] `scan_interval` must be more than 0");
        } else {
            settings.scan_interval = d;
        }
    }
    settings.control_socket = f.string("control_socket").map(PathBuf::from);
    if let Some(level) = f.string("log_level") {
        match level.parse::<log::LevelFilter>() {
            Ok(l) => settings.log_level = Some(l),
            Err(_) => {
                let span = f.item("log_level").and_then(span_of);
                f.checker.error(
                    span,
                    format!(
                        "[supervisor] `log_level`: {level:?} is not one of error, warn, info, debug, trace"
                    ),
                );
            }
        }
    }
    if let Some(target) = f.string("log") {
        settings.log = match target.as_str() {
            "stderr" => LogTarget::Stderr,
            "stdout" => LogTarget::Stdout,
            "syslog" => LogTarget::Syslog,
            path => LogTarget::File(PathBuf::from(path)),
        };
    }
    settings
}

/// The names a service comes `after`, each with where it was written.
pub(crate) type AfterList = Vec<(String, Option<Range<usize>>)>;

fn parse_service(
    name: &str,
    item: &Item,
    accounts: &Accounts,
    checker: &mut Checker,
) -> (Option<Service>, AfterList) {
    let Some(table) = item.as_table_like() else {
        return (None, Vec::new());
    };
    let what = format!("service `{name}`");
    checker.unknown_keys(table, SERVICE_KEYS, &format!("[service.{name}]"));
    let mut f = Fields {
        table,
        checker,
        what: what.clone(),
        prefix: "",
    };
    let command = f.command("command");
    if f.item("command").is_none() {
        let span = table_span(item);
        f.checker
            .error(span, format!("{what}: `command` is missing"));
    }
    let restart = match f.string("restart") {
        None => Restart::Always,
        Some(word) => match Restart::ALL.into_iter().find(|r| r.as_str() == word) {
            Some(r) => r,
            None => {
                let span = f.item("restart").and_then(span_of);
                let known: Vec<&str> = Restart::ALL.iter().map(|r| r.as_str()).collect();
                f.checker.error(
                    span,
                    format!(
                        "{what} `restart`: {word:?} is not one of {}",
                        known.join(", ")
                    ),
                );
                Restart::Always
            }
        },
    };
    let restart_delay = f
        .duration("restart_delay")
        .unwrap_or(Duration::from_millis(100));
    let restart_delay_max = f
        .duration("restart_delay_max")
        .unwrap_or(Duration::from_secs(30));
    if restart_delay_max < restart_delay {
        let span = f.item("restart_delay_max").and_then(span_of);
        f.checker.error(
            span,
            format!("{what}: `restart_delay_max` is less than `restart_delay`"),
        );
    }
    let stable_after = f
        .duration("stable_after")
        .unwrap_or(Duration::from_secs(10));
    let give_up_after = f.count("give_up_after").unwrap_or(0);
    let critical = f.boolean("critical").unwrap_or(false);
    let diagnose = f.string("diagnose").filter(|d| !d.trim().is_empty());
    let diagnose_timeout = f
        .duration("diagnose_timeout")
        .unwrap_or(Duration::from_secs(30));
    let stop_signal = f.signal("stop_signal").unwrap_or(libc::SIGTERM);
    let stop_timeout = f
        .duration("stop_timeout")
        .unwrap_or(Duration::from_secs(10));
    let user = f.string("user");
    let group = f.string("group");
    let directory = f.string("directory").map(PathBuf::from);
    let mut env = f.string_map("env").unwrap_or_default();
    let after = f.strings("after").unwrap_or_default();
    let output = match f.string("output").as_deref() {
        None | Some("log") => Output::Log,
        Some("inherit") => Output::Inherit,
        Some("null") => Output::Null,
        Some(path) if path.starts_with('/') => Output::File(PathBuf::from(path)),
        Some(other) => {
            let span = f.item("output").and_then(span_of);
            f.checker.error(
                span,
                format!(
                    "{what} `output`: {other:?} is not log, inherit, null or an absolute file path"
                ),
            );
            Output::Log
        }
    };
    let output_max_size = f.size("output_max_size").unwrap_or(10_000_000);
    let output_keep = f.count("output_keep").unwrap_or(5);
    let output_tail = f
        .size("output_tail")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(32 * 1024);
    if output_max_size == 0 {
        let span = f.item("output_max_size").and_then(span_of);
        f.checker.error(
            span,
            format!("{what} `output_max_size`: must be more than 0"),
        );
    }
    let mut credentials = None;
    if user.is_some() || group.is_some() {
        match accounts.run_as(user.as_deref(), group.as_deref()) {
            Ok(run_as) => {
                credentials = Some(run_as.credentials);
                env.extend(run_as.env);
            }
            Err(errors) => {
                for (key, e) in errors {
                    let span = f.item(key).and_then(span_of);
                    f.checker.error(span, format!("{what} `{key}`: {e}"));
                }
            }
        }
    }
    let ready = checks::parse_ready(name, table.get("ready"), f.checker);
    let health = checks::parse_health(name, table.get("health"), f.checker);
    let names = after.iter().map(|(n, _)| n.clone()).collect();
    let service = command.map(|command| Service {
        name: name.to_string(),
        command,
        restart,
        restart_delay,
        restart_delay_max,
        stable_after,
        give_up_after,
        critical,
        diagnose,
        diagnose_timeout,
        stop_signal,
        stop_timeout,
        credentials,
        directory,
        env,
        after: names,
        output,
        output_max_size,
        output_keep,
        output_tail,
        ready,
        health,
    });
    (service, after)
}

fn table_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        _ => item.span(),
    }
}

fn parse_watch(name: &str, item: &Item, checker: &mut Checker) -> Option<Watch> {
    let table = item.as_table_like()?;
    let what = format!("watch `{name}`");
    checker.unknown_keys(table, WATCH_KEYS, &format!("[watch.{name}]"));
    let mut f = Fields {
        table,
        checker,
        what: what.clone(),
        prefix: "",
    };
    let process = f.string("process");
    if f.item("process").is_none() {
        f.checker
            .error(table_span(item), format!("{what}: `process` is missing"));
    } else if process
        .as_deref()
        .is_some_and(|p| p.is_empty() || p.contains('/'))
    {
        let span = f.item("process").and_then(span_of);
        f.checker.error(
            span,
            format!("{what} `process`: give a process name, not a path or nothing"),
        );
    }
    let start = f.command("start");
    if f.item("start").is_none() {
        f.checker
            .error(table_span(item), format!("{what}: `start` is missing"));
    }
    let diagnose = f.string("diagnose").filter(|d| !d.trim().is_empty());
    let interval = f.duration("interval");
    let start_timeout = f
        .duration("start_timeout")
        .unwrap_or(Duration::from_secs(60));
    Some(Watch {
        name: name.to_string(),
        process: process?,
        start: start?,
        diagnose,
        interval,
        start_timeout,
    })
}

pub fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{NetProbe, Notify};

    #[test]
    fn control_socket_is_found_even_in_a_broken_config() {
        let dir = std::env::temp_dir().join(format!("upkeep-cs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("u.toml");
        std::fs::write(&file, "[supervisor]\ncontrol_socket = \"/x/u.sock\"\n").unwrap();
        assert_eq!(
            control_socket_setting(&file),
            Some(PathBuf::from("/x/u.sock"))
        );
        std::fs::write(
            &file,
            "[supervisor]\ncontrol_socket = \"/x/u.sock\" # here\nbogus =\n",
        )
        .unwrap();
        assert_eq!(
            control_socket_setting(&file),
            Some(PathBuf::from("/x/u.sock"))
        );
        std::fs::write(&file, "[service.a]\ncommand = \"x\"\n").unwrap();
        assert_eq!(control_socket_setting(&file), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn accounts() -> Accounts {
        Accounts::parse(
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n",
            "root:x:0:\nnogroup:x:65534:\n",
        )
    }

    fn ok(text: &str) -> Config {
        parse(Path::new("t.toml"), text, &accounts()).unwrap_or_else(|e| {
            panic!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }

    fn errors(text: &str) -> Vec<String> {
        parse(Path::new("t.toml"), text, &accounts())
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn full_service_with_every_key() {
        let c = ok(r#"
[supervisor]
scan_interval = "10s"
control_socket = "/tmp/u.sock"
log_level = "debug"
log = "syslog"

[service.db]
command = ["/bin/sleep", "100"]

[service.web]
command = "exec nginx -g 'daemon off;'"
restart = "on-failure"
restart_delay = "250ms"
restart_delay_max = "1m"
stable_after = 5
give_up_after = 3
critical = true
diagnose = "ps aux"
diagnose_timeout = "2s"
stop_signal = "QUIT"
stop_timeout = "1.5s"
user = "nobody"
group = "nogroup"
directory = "/tmp"
env = { MODE = "prod" }
after = ["db"]
"#);
        assert_eq!(c.settings.scan_interval, Duration::from_secs(10));
        assert_eq!(c.settings.log, LogTarget::Syslog);
        let web = &c.services[1];
        assert_eq!(
            web.command,
            vec!["/bin/sh", "-c", "exec nginx -g 'daemon off;'"]
        );
        assert_eq!(web.restart, Restart::OnFailure);
        assert_eq!(web.restart_delay, Duration::from_millis(250));
        assert_eq!(web.restart_delay_max, Duration::from_secs(60));
        assert_eq!(web.stable_after, Duration::from_secs(5));
        assert_eq!(web.give_up_after, 3);
        assert!(web.critical);
        assert_eq!(web.stop_signal, libc::SIGQUIT);
        assert_eq!(web.stop_timeout, Duration::from_millis(1500));
        assert_eq!(web.credentials.as_ref().map(|c| c.uid), Some(65534));
        assert!(web.env.contains(&("MODE".into(), "prod".into())));
        assert!(web.env.contains(&("USER".into(), "nobody".into())));
        assert_eq!(web.after, vec!["db"]);
        let db = &c.services[0];
        assert_eq!(db.restart, Restart::Always);
        assert_eq!(db.restart_delay, Duration::from_millis(100));
        assert_eq!(db.stop_signal, libc::SIGTERM);
    }

    #[test]
    fn output_keys() {
        let c = ok(
            "[service.a]\ncommand = [\"x\"]\noutput = \"/var/log/a.log\"\n\
             output_max_size = \"1MiB\"\noutput_keep = 2\noutput_tail = 4096\n\
             [service.b]\ncommand = [\"x\"]\n",
        );
        let (a, b) = (&c.services[0], &c.services[1]);
        assert_eq!(a.output, Output::File(PathBuf::from("/var/log/a.log")));
        assert_eq!(
            (a.output_max_size, a.output_keep, a.output_tail),
            (1 << 20, 2, 4096)
        );
        assert_eq!(b.output, Output::Log);
        assert_eq!(
            (b.output_max_size, b.output_keep, b.output_tail),
            (10_000_000, 5, 32 * 1024)
        );
        let e = errors(
            "[service.a]\ncommand = [\"x\"]\noutput = \"relative.log\"\n\
             output_max_size = \"10 parsecs\"\noutput_tail = -1\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].contains("not log, inherit, null or an absolute file path"),
            "{e:?}"
        );
        assert!(e[1].contains("unknown unit"), "{e:?}");
        assert!(e[2].contains("a size cannot be negative"), "{e:?}");
    }

    #[test]
    fn ready_and_health_tables() {
        let c = ok(
            "[service.db]\ncommand = [\"x\"]\nready.tcp = \"127.0.0.1:5432\"\n\
             ready.interval = \"50ms\"\n\
             [service.web]\ncommand = [\"x\"]\nready.notify = \"fd:3\"\n\
             [service.web.health]\nhttp = \"http://localhost:8080/healthz\"\nretries = 2\n\
             start_period = \"1s\"\n\
             [service.plain]\ncommand = [\"x\"]\n",
        );
        let [db, web, plain] = &c.services[..] else {
            panic!("three services")
        };
        let ready = db.ready.as_ref().unwrap();
        assert_eq!(
            ready.way,
            ReadyWay::Check(Check::Net(NetProbe::Tcp("127.0.0.1:5432".parse().unwrap())))
        );
        assert_eq!(
            (ready.interval, ready.timeout),
            (Duration::from_millis(50), Duration::from_secs(60))
        );
        assert_eq!(
            web.ready.as_ref().unwrap().way,
            ReadyWay::Notify(Notify::Fd(3))
        );
        let health = web.health.as_ref().unwrap();
        assert_eq!(
            (health.retries, health.start_period),
            (2, Duration::from_secs(1))
        );
        assert_eq!(
            (health.interval, health.timeout),
            (Duration::from_secs(10), Duration::from_secs(5))
        );
        assert!(plain.ready.is_none() && plain.health.is_none());

        let e = errors(
            "[service.a]\ncommand = [\"x\"]\nready.tcp = \"db:5432\"\n\
             health.tcp = \"127.0.0.1:1\"\nhealth.command = \"true\"\nhealth.retries = 0\n\
             [service.b]\ncommand = [\"x\"]\nready.interval = \"0s\"\nready.bogus = 1\n\
             ready.http = \"https://127.0.0.1/\"\nready.notify = \"fd:2\"\n",
        );
        let all = e.join("\n");
        for want in [
            "`ready.tcp`: \"db:5432\": the host must be an IP address",
            "service `a` `health`: give only one of tcp, http or command",
            "`health.retries`: must be 1 or more",
            "unknown key `bogus` in [service.b.ready]",
            "`ready.interval`: must be more than 0",
            "`ready.notify`: \"fd:2\": the descriptor must be",
            "service `b` `ready`: give only one of tcp, http, command or notify",
        ] {
            assert!(all.contains(want), "{want:?} not in:\n{all}");
        }
        let e = errors("[service.a]\ncommand = [\"x\"]\nready = 5\n");
        assert!(e[0].contains("`ready`: expected a table"), "{e:?}");
        let e = errors("[service.a]\ncommand = [\"x\"]\nhealth.interval = \"1s\"\n");
        assert!(e[0].contains("`health`: give one way to check"), "{e:?}");
    }

    #[test]
    fn every_error_is_reported_with_its_position() {
        let errs = errors(
            r#"[service.a]
command = ["true"]
restrat = "always"
restart_delay = "10 parsecs"
stop_signal = "SIGNOPE"
after = ["b", "zzz"]

[service.b]
command = []
give_up_after = -1
user = "nosuchuser"
"#,
        );
        let want = [
            "t.toml:3:1: unknown key `restrat` in [service.a]; did you mean `restart`?",
            "t.toml:4:17: service `a` `restart_delay`: bad duration \"10 parsecs\"",
            "t.toml:5:15: service `a` `stop_signal`: unknown signal \"SIGNOPE\"",
            "t.toml:6:15: service `a`: `after` names unknown service `zzz`",
            "t.toml:9:11: service `b` `command`: the command is empty",
            "t.toml:10:17: service `b` `give_up_after`: expected a whole number >= 0",
            "t.toml:11:8: service `b` `user`: unknown user \"nosuchuser\"",
        ];
        for w in want {
            assert!(
                errs.iter().any(|e| e.starts_with(w)),
                "missing {w:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), want.len(), "{errs:#?}");
    }

    #[test]
    fn wrong_types_and_syntax_errors() {
        let errs = errors("[service.a]\ncommand = 5\ncritical = \"yes\"\n");
        assert!(errs[0].starts_with("t.toml:2:11: service `a` `command`: expected a command"));
        assert!(errs[1].starts_with(
            "t.toml:3:12: service `a` `critical`: expected true or false, found a string"
        ));
        let errs = errors("[service.a\ncommand = 1");
        assert!(errs[0].starts_with("t.toml:1:"), "{errs:?}");
        assert!(errs[0].contains("invalid TOML"));
        let errs = errors("[servce.a]\ncommand = [\"x\"]\n");
        assert!(errs[0].contains("did you mean `service`?"), "{errs:?}");
    }

    #[test]
    fn cycles_name_their_members() {
        let errs = errors(
            "[service.a]\ncommand=[\"x\"]\nafter=[\"c\"]\n[service.b]\ncommand=[\"x\"]\nafter=[\"a\"]\n[service.c]\ncommand=[\"x\"]\nafter=[\"b\"]\n",
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("`after` has a cycle: a -> c -> b -> a"),
            "{errs:?}"
        );
        let errs = errors("[service.a]\ncommand=[\"x\"]\nafter=[\"a\"]\n");
        assert!(errs[0].contains("`after` itself"), "{errs:?}");
    }

    #[test]
    fn missing_command_and_watch_keys() {
        let errs = errors("[service.a]\nrestart = \"never\"\n[watch.w]\nprocess = \"x\"\n");
        assert!(
            errs.iter()
                .any(|e| e.contains("service `a`: `command` is missing")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("watch `w`: `start` is missing")),
            "{errs:?}"
        );
    }

    #[test]
    fn start_order_follows_after() {
        let c = ok(
            "[service.web]\ncommand=[\"x\"]\nafter=[\"db\"]\n[service.db]\ncommand=[\"x\"]\n[service.log]\ncommand=[\"x\"]\n",
        );
        let refs: Vec<&Service> = c.services.iter().collect();
        let names: Vec<&str> = start_order(&refs)
            .iter()
            .map(|&i| c.services[i].name.as_str())
            .collect();
        assert_eq!(names, vec!["db", "log", "web"]);
    }
}
