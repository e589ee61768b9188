//! The TOML config: parsed with spans (toml_edit, the parser under the `toml` crate), checked
//! key by key, and turned into a validated `Config`. Every error is collected, not just the
//! first, each as `FILE:LINE:COL: message`. No I/O but reading the file and the accounts.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{ImDocument, Item};

pub mod accounts;
mod checks;
pub mod expand;
mod fields;
mod files;
mod graph;
pub(crate) mod include;
pub mod keys;
mod limits;
pub(crate) mod units;

pub use checks::{Check, Health, Ready, ReadyWay};
pub use graph::{start_order, worst_stop};
pub use units::{parse_duration, parse_size};

use crate::schedule::Schedule;
use crate::types::Credentials;
use crate::types::Exit;
use accounts::Accounts;
use expand::{Vars, process_vars};
use fields::{Checker, span_of};
use files::{Gathered, document, include_place};
use keys::parse_settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    #[default]
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
    /// How often the RSS of services with `memory_max` is sampled.
    pub memory_interval: Duration,
    pub control_socket: Option<PathBuf>,
    /// The read-only HTTP endpoint (`/metrics`, `/healthz`, ...); off when None.
    pub http: Option<std::net::SocketAddr>,
    pub log_level: Option<log::LevelFilter>,
    pub log: LogTarget,
    /// `syslog_listen`: the datagram socket whose messages become log lines; off when None.
    pub syslog_listen: Option<PathBuf>,
    /// Patterns of files with more services and watches.
    pub include: Vec<String>,
    /// From `env_file`: every service's environment, under its own.
    pub env: Vec<(String, String)>,
    /// The whole ordered stop ends within this (SIGKILL for what is left).
    pub stop_grace: Option<Duration>,
    /// How log lines are written, whatever their destination (syslog aside).
    pub log_format: LogFormat,
    pub log_timestamps: bool,
    /// Services' stdout lines on upkeep's stdout (split), or everything on stderr.
    pub log_streams: LogStreams,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
    Logfmt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogStreams {
    #[default]
    Split,
    Stderr,
}

/// `type`: runs for good, or runs to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceType {
    #[default]
    Longrun,
    Oneshot,
}

/// A service's definition; `Default` is a blank one (`keys::default_service` has the
/// defaults).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// When it can be used; None: as soon as it is started. Boxed, as `health`: most
    /// services have neither, and a thousand of them should not pay for both inline.
    pub ready: Option<Box<Ready>>,
    pub health: Option<Box<Health>>,
    pub kind: ServiceType,
    /// Exits with these codes are successes.
    pub success_exit_codes: Vec<i32>,
    /// Jobs: a run still going after this is stopped and counts as a failure.
    pub run_timeout: Option<std::time::Duration>,
    /// Runs at each tick of this, not at start.
    pub schedule: Option<Box<Schedule>>,
    /// false: defined, but down until `upkeep start`.
    pub enabled: bool,
    /// With `ready.notify = "systemd"`: WATCHDOG=1 must come at least this often once ready.
    pub watchdog: Option<Duration>,
    /// `limits`, `umask`, `nice`, `oom_score_adj`: set in the child before exec.
    pub tuning: Option<Box<crate::types::Tuning>>,
    /// The RSS of its process group above which it is unhealthy.
    pub memory_max: Option<u64>,
    /// A shell command run when it gives up, turns unhealthy or a job's run fails.
    pub on_failure: Option<String>,
}

impl Service {
    /// An exit that counts as a success.
    pub fn succeeded(&self, exit: Exit) -> bool {
        matches!(exit, Exit::Code(c) if self.success_exit_codes.contains(&c))
    }

    /// Runs to completion (a oneshot, or a scheduled service) rather than for good.
    pub fn is_job(&self) -> bool {
        self.kind == ServiceType::Oneshot || self.schedule.is_some()
    }
}

/// A service's `output`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// Each line into upkeep's log, labelled with the service's name.
    #[default]
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
    /// A diagnose still running after this is killed, and the start command runs.
    pub diagnose_timeout: Duration,
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
    /// How many files were read: the main one and those it includes.
    pub files: usize,
    /// Every file and include directory the load read (`load` fills it): an edit of any
    /// of them may make the config on disk another.
    pub sources: Vec<PathBuf>,
}

impl Config {
    /// An empty config, for single-command mode.
    pub fn empty() -> Config {
        Config {
            path: PathBuf::new(),
            settings: keys::default_settings(),
            services: Vec::new(),
            watches: Vec::new(),
            files: 0,
            sources: Vec::new(),
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

/// `UPKEEP_STOP_GRACE`, which wins over the config's `stop_grace`: None when unset or
/// empty, an error for anything but a duration of more than zero.
pub fn stop_grace_from_env() -> Result<Option<Duration>, String> {
    let Some(text) = std::env::var_os("UPKEEP_STOP_GRACE").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let text = text.to_string_lossy();
    match parse_duration(&text) {
        Ok(d) if d.is_zero() => Err("UPKEEP_STOP_GRACE: must be more than 0".into()),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(format!("UPKEEP_STOP_GRACE: {e}")),
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
    load_watched(path).0
}

/// While `load_watched` runs: the paths it reads. (A static, not a thread-local: upkeep
/// has one thread, and a thread-local with a destructor costs the static binary 3 KB.)
static READ: std::sync::Mutex<Option<Vec<PathBuf>>> = std::sync::Mutex::new(None);

/// A file or directory the load in progress reads.
pub(crate) fn note_read(path: &Path) {
    let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(paths) = read.as_mut()
        && !paths.iter().any(|p| p == path)
    {
        paths.push(path.to_path_buf());
    }
}

/// `load`, and every file and include directory it read, valid or not (`Config::sources`
/// on success): what `status` watches to tell whether the config on disk is still valid.
pub fn load_watched(path: &Path) -> (Result<Config, Vec<ConfigError>>, Vec<PathBuf>) {
    let swap = |to: Option<Vec<PathBuf>>| {
        let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *read, to)
    };
    swap(Some(Vec::new()));
    let loaded = load_unwatched(path);
    let read = swap(None).unwrap_or_default();
    let loaded = loaded.map(|mut config| {
        config.sources.clone_from(&read);
        config
    });
    (loaded, read)
}

fn load_unwatched(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let file = path.display().to_string();
    match read_config(path) {
        Ok(text) => parse_with(path, &text, &Accounts::load(), &process_vars()),
        Err(message) => Err(vec![ConfigError {
            file,
            line: 1,
            col: 1,
            message: format!("cannot read the config: {message}"),
        }]),
    }
}

/// A config or env file's text (errors without the file's name): see `read_bytes`.
pub(crate) fn read_config(path: &Path) -> Result<String, String> {
    String::from_utf8(read_bytes(path)?).map_err(|_| "it is not UTF-8".to_string())
}

/// A file upkeep reads at load (config, include, env file, zoneinfo): opened without
/// blocking (a FIFO put in its place must not hang upkeep), and only if it is a regular
/// file of a sane size.
#[inline(never)] // One copy for every kind of file.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    note_read(path);
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "the file is {} bytes; the limit is {MAX_CONFIG_BYTES}",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.by_ref()
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Parses and validates, with no variables set; `path` is only used in messages.
pub fn parse(path: &Path, text: &str, accounts: &Accounts) -> Result<Config, Vec<ConfigError>> {
    parse_with(path, text, accounts, &Vars::new())
}

/// Parses and validates the main config `text` (read from `path`), `${VAR}` taken from
/// `vars`, and reads the files it includes and the env files it names.
pub fn parse_with(
    path: &Path,
    text: &str,
    accounts: &Accounts,
    vars: &Vars,
) -> Result<Config, Vec<ConfigError>> {
    let mut checker = Checker::with_vars(&path.display().to_string(), text, vars);
    let Some(doc) = document(text, &mut checker) else {
        return Err(checker.errors);
    };
    let root = doc.as_table();
    checker.unknown_keys(root, &["supervisor", "service", "watch"], "the config");

    let settings = parse_settings(root.get("supervisor"), &mut checker);
    let mut defaults = keys::default_service();
    defaults.env.clone_from(&settings.env);
    let mut all = Gathered::default();
    all.tables(root, &defaults, accounts, &mut checker);
    let at = include_place(root, &checker);
    all.errors.append(&mut checker.errors);
    all.includes(path, &settings.include, &at, (vars, &defaults, accounts));
    all.check_graph();
    if !all.errors.is_empty() {
        return Err(all.errors);
    }
    Ok(Config {
        path: path.to_path_buf(),
        settings,
        services: all.services,
        watches: all.watches,
        files: all.files,
        sources: Vec::new(),
    })
}

/// The `[service.NAME]` (or `[watch.NAME]`) tables, in file order, with their names checked.
pub(crate) fn sections<'d>(
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
/// The names a service comes `after`, each with where it was written.
pub(crate) type AfterList = Vec<(String, Option<Range<usize>>)>;
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
mod tests;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_limits;
