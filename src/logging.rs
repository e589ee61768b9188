//! Log lines: `2026-11-23T19:40:00.123Z upkeep: message`, one per event, and a service's
//! output as `2026-11-23T19:40:00.123Z web: line` (`web[stderr]: ...`), on stderr, in the
//! config's log file, or to syslog.
//!
//! Nothing written here may hold up the loop: a stderr that is a pipe or a terminal is
//! written through a second, non-blocking open file description of it (the services keep
//! the blocking one they share), a socket with MSG_DONTWAIT; what cannot be written now waits
//! in a bounded `Outbox`, flushed when poll() says the destination takes more.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::LevelFilter;

use crate::config::{LogFormat, LogStreams, LogTarget};
use crate::core::output::{Outbox, escape_into, escape_line};
use crate::os::platform;

/// Writes a line to stderr without the panic `eprintln!` has on a broken pipe (upkeep may be
/// PID 1): for what is said before the logger exists, and by the one-shot subcommands.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Level: `UPKEEP_LOG` (error|warn|info|debug|trace), else tini's `TINI_VERBOSITY` (0 off,
/// 1 errors, 2 warnings, 3 info, 4 debug, 5 trace: tini's own scale), else the config's
/// `log_level`, else info; each `-v` raises it one step and each `-q` lowers it.
fn level(verbosity: i32, configured: Option<LevelFilter>) -> LevelFilter {
    let levels = [
        LevelFilter::Off,
        LevelFilter::Error,
        LevelFilter::Warn,
        LevelFilter::Info,
        LevelFilter::Debug,
        LevelFilter::Trace,
    ];
    let tini = || {
        let n = std::env::var("TINI_VERBOSITY")
            .ok()?
            .trim()
            .parse::<usize>()
            .ok()?;
        levels.get(n.min(levels.len() - 1)).copied()
    };
    let base = std::env::var("UPKEEP_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .or_else(tini)
        .or(configured)
        .unwrap_or(LevelFilter::Info);
    let index = (base as i32 + verbosity).clamp(0, levels.len() as i32 - 1) as usize;
    levels.get(index).copied().unwrap_or(LevelFilter::Info)
}

/// A reload's new `log_level`, applied live.
pub fn set_level(verbosity: i32, configured: Option<LevelFilter>) {
    log::set_max_level(level(verbosity, configured));
}

/// How lines look and where a service's stdout lines go: the config's `log_format`,
/// `log_timestamps` and `log_streams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub format: LogFormat,
    pub timestamps: bool,
    pub streams: LogStreams,
}

impl Style {
    /// The config's choice.
    pub fn of(settings: &crate::config::Settings) -> Style {
        Style {
            format: settings.log_format,
            timestamps: settings.log_timestamps,
            streams: settings.log_streams,
        }
    }
}

impl Default for Style {
    fn default() -> Style {
        Style {
            format: LogFormat::Text,
            timestamps: true,
            streams: LogStreams::Split,
        }
    }
}

pub fn init(
    verbosity: i32,
    configured: Option<LevelFilter>,
    target: Option<&LogTarget>,
    style: Style,
) {
    let mut problem = None;
    let mut syslog_awaited = None;
    let dest = match target {
        Some(LogTarget::File(path)) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => Dest::Fd {
                fd: OwnedFd::from(file),
                socket: false,
            },
            Err(e) => {
                problem = Some(format!("cannot open log file {}: {e}", path.display()));
                stderr_dest()
            }
        },
        Some(LogTarget::Stdout) => match platform::dup_cloexec(std::io::stdout()) {
            Ok(fd) => Dest::Fd { fd, socket: false },
            Err(_) => stderr_dest(),
        },
        Some(LogTarget::Syslog) => {
            if let Some(dest) = open_syslog() {
                dest
            } else {
                problem = Some(format!(
                    "no syslog socket at {SYSLOG_SOCKET} yet; logging to stderr until there is"
                ));
                syslog_awaited = Some(Instant::now());
                stderr_dest()
            }
        }
        Some(LogTarget::Stderr) | None => stderr_dest(),
    };
    // Split streams: with the log on stderr, services' stdout lines go to upkeep's stdout,
    // as `docker logs` and Kubernetes keep the two apart.
    let on_stderr = matches!(target, Some(LogTarget::Stderr) | None);
    let stdout = (on_stderr && style.streams == LogStreams::Split)
        .then(|| output_dest(1))
        .flatten()
        .map(Channel::new);
    *DROP_STYLE.lock().unwrap_or_else(|p| p.into_inner()) = style;
    if let Ok(mut sink) = SINK.lock() {
        *sink = Some(Sink {
            main: Channel::new(dest),
            stdout,
            style,
            line: Vec::with_capacity(256),
            syslog_awaited,
        });
    }
    // The logger passes everything; log's max level filters, so a reload can change it.
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level(verbosity, configured));
    }
    if let Some(p) = problem {
        log::warn!("{p}");
    }
}

/// An upkeep line that is an event of a service's: json and logfmt add its fields.
pub fn event(level: log::Level, text: &str, fields: &crate::core::EventFields) {
    if level <= log::max_level() {
        with_sink(|sink| sink.event_line(level, text, fields));
    }
}

/// One line of a service's output, from its stdout or its stderr, to the log's destination;
/// queued: `flush` writes what a read brought, in as few writes as the destination allows.
pub fn service_line(name: &str, stderr: bool, line: &[u8]) {
    with_sink(|sink| sink.service_line(name, stderr, line));
}

/// A duplicate of the descriptor to poll for POLLOUT, while lines wait that it would not
/// take (rare: a stalled reader).
pub fn blocked_fd() -> Option<OwnedFd> {
    let mut fd = None;
    with_sink(|sink| {
        let blocked = std::iter::once(&sink.main)
            .chain(sink.stdout.as_ref())
            .find(|c| c.would_block);
        if let Some(Dest::Fd { fd: f, .. }) = blocked.map(|c| &c.dest) {
            fd = platform::dup_cloexec(f).ok();
        }
    });
    fd
}

/// At exit: what still waits gets up to `limit` to be taken.
pub fn flush_before_exit(limit: std::time::Duration) {
    let give_up = std::time::Instant::now() + limit;
    while let Some(fd) = blocked_fd() {
        let left = give_up.saturating_duration_since(std::time::Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if ms == 0 {
            return;
        }
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLOUT,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
        flush();
    }
}

/// Lines of each source dropped since start-up (a destination that could not keep up).
pub fn dropped_lines() -> Vec<(String, u64)> {
    let mut total = Vec::new();
    with_sink(|sink| {
        for channel in std::iter::once(&sink.main).chain(sink.stdout.as_ref()) {
            for (source, n) in &channel.outbox.total {
                match total.iter_mut().find(|(s, _)| s == source) {
                    Some((_, t)) => *t += n,
                    None => total.push((source.clone(), *n)),
                }
            }
        }
    });
    total
}

/// Writes what waits, as far as the destination takes it without blocking.
pub fn flush() {
    with_sink(Sink::flush);
}

/// Where syslogd listens; syslog(3) connects there.
#[cfg(target_os = "freebsd")]
pub const SYSLOG_SOCKET: &str = "/var/run/log";
#[cfg(not(target_os = "freebsd"))]
pub const SYSLOG_SOCKET: &str = "/dev/log";

static IDENT: &std::ffi::CStr = c"upkeep";

static SINK: Mutex<Option<Sink>> = Mutex::new(None);
static LOGGER: Logger = Logger;

fn with_sink(f: impl FnOnce(&mut Sink)) {
    // One thread: the lock is never contended; a poisoned one still holds a usable sink.
    let mut guard = SINK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(sink) = guard.as_mut() {
        f(sink);
    }
}

enum Dest {
    /// A descriptor of upkeep's own: non-blocking when it is a pipe or a terminal; a
    /// socket is written with MSG_DONTWAIT.
    Fd { fd: OwnedFd, socket: bool },
    /// syslog(3), facility daemon: upkeep's lines tagged `upkeep`, a service's with its
    /// name (`tag` keeps the tag syslog(3) points to).
    Syslog { tag: Option<CString> },
}

/// syslog(3) as the destination, when syslogd's socket is there.
fn open_syslog() -> Option<Dest> {
    if !std::path::Path::new(SYSLOG_SOCKET).exists() {
        return None;
    }
    // SAFETY: openlog keeps the pointer: IDENT is 'static. The socket it opens (at once:
    // NDELAY) is close-on-exec.
    unsafe {
        libc::openlog(
            IDENT.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY,
            libc::LOG_DAEMON,
        )
    };
    Some(Dest::Syslog { tag: None })
}

/// How often a log waiting for syslogd looks for its socket again.
const SYSLOG_RETRY: Duration = Duration::from_secs(1);

/// stderr as the log's destination, without letting a stalled reader stall upkeep.
fn stderr_dest() -> Dest {
    output_dest(2).unwrap_or(Dest::Syslog { tag: None })
}

/// Descriptor 1 or 2 as a destination: a non-blocking description of it when it is a pipe
/// or a terminal, else a duplicate written as it is; None if it is not open.
fn output_dest(which: i32) -> Option<Dest> {
    match platform::nonblocking_output(which) {
        Ok((fd, socket)) => Some(Dest::Fd { fd, socket }),
        Err(_) => {
            // SAFETY: 1 and 2 are borrowed only for the dup; an unopened one fails it.
            let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(which) };
            let fd = platform::dup_cloexec(borrowed).ok()?;
            Some(Dest::Fd { fd, socket: false })
        }
    }
}

struct Sink {
    /// Where upkeep's own lines go, and services' lines unless split off.
    main: Channel,
    /// Services' stdout lines, with split streams on stderr.
    stdout: Option<Channel>,
    style: Style,
    /// The line being formatted, kept to reuse its allocation.
    line: Vec<u8>,
    /// `log = "syslog"` with no syslogd yet (a jail's init starts before it): when to look
    /// for its socket again.
    syslog_awaited: Option<Instant>,
}

/// A destination and what waits for it.
struct Channel {
    dest: Dest,
    outbox: Outbox,
    /// The last write stopped at EAGAIN: poll for POLLOUT. (A file that fails, full or
    /// broken, is simply tried again at the next line: poll would always call it ready.)
    would_block: bool,
}

impl Channel {
    fn new(dest: Dest) -> Channel {
        Channel {
            dest,
            outbox: Outbox::default(),
            would_block: false,
        }
    }

    fn flush(&mut self) {
        let Dest::Fd { fd, socket } = &self.dest else {
            return;
        };
        self.would_block = false;
        while !self.outbox.is_empty() {
            let pending = self.outbox.pending();
            let written = if *socket {
                nix::sys::socket::send(
                    fd.as_raw_fd(),
                    pending,
                    nix::sys::socket::MsgFlags::MSG_DONTWAIT
                        | nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
                )
            } else {
                nix::unistd::write(fd, pending)
            };
            match written {
                Ok(n) => self.outbox.consumed(n, drop_notice),
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => {
                    self.would_block = true;
                    return;
                }
                // Full disk, closed pipe, ...: keep what fits, try again with the next line.
                Err(_) => return,
            }
        }
    }
}

impl Sink {
    /// Like libc's connectlog(), which tries again at each message: once syslogd's socket
    /// is there, what stderr still holds is written and the log moves to syslog.
    fn retry_syslog(&mut self) {
        let Some(due) = self.syslog_awaited else {
            return;
        };
        let now = Instant::now();
        if now < due {
            return;
        }
        self.syslog_awaited = Some(now + SYSLOG_RETRY);
        let Some(dest) = open_syslog() else {
            return;
        };
        self.flush();
        let left = self.main.outbox.pending().len();
        self.syslog_awaited = None;
        // What was dropped so far stays counted (`/metrics`).
        let total = std::mem::take(&mut self.main.outbox.total);
        self.main = Channel::new(dest);
        self.main.outbox.total = total;
        self.stdout = None;
        let mut text = format!("syslog socket at {SYSLOG_SOCKET} is there: logging to syslog");
        if left > 0 {
            text.push_str(&format!(
                " ({left} bytes stderr would not take were dropped)"
            ));
        }
        self.upkeep_line(log::Level::Info, &format_args!("{text}"));
    }

    fn upkeep_line(&mut self, level: log::Level, args: &std::fmt::Arguments) {
        self.own_line(level, &args.to_string(), &[]);
    }

    fn event_line(&mut self, level: log::Level, text: &str, fields: &crate::core::EventFields) {
        use crate::types::Exit;
        let mut extra: Vec<(&str, Field)> = vec![
            ("event", Field::Text(fields.event)),
            ("service", Field::Text(&fields.service)),
        ];
        extra.extend(fields.pid.map(|p| ("pid", Field::Number(i64::from(p)))));
        match fields.exit {
            Some(Exit::Code(c)) => extra.push(("code", Field::Number(i64::from(c)))),
            Some(Exit::Signal(n)) => {
                extra.push(("signal", Field::Owned(crate::types::signame::name(n))));
            }
            None => {}
        }
        let uptime = fields
            .uptime_ms
            .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
        extra.extend(uptime.map(|ms| ("uptime_ms", Field::Number(ms))));
        extra.extend(
            fields
                .restart
                .map(|r| ("restart", Field::Number(i64::from(r)))),
        );
        self.own_line(level, text, &extra);
    }

    fn own_line(&mut self, level: log::Level, text: &str, extra: &[(&str, Field)]) {
        self.retry_syslog();
        if let Dest::Syslog { tag } = &mut self.main.dest {
            syslog(tag, None, level_priority(level), text.as_bytes());
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let word = level_word(level);
        render_with(
            &mut line,
            self.style,
            word,
            "upkeep",
            None,
            text.as_bytes(),
            extra,
        );
        self.main.outbox.push("upkeep", &line, drop_notice);
        self.main.flush();
        self.line = line;
    }

    fn service_line(&mut self, name: &str, stderr: bool, text: &[u8]) {
        self.retry_syslog();
        if let Dest::Syslog { tag } = &mut self.main.dest {
            let priority = if stderr {
                libc::LOG_WARNING
            } else {
                libc::LOG_INFO
            };
            syslog(tag, Some(name), priority, &escape_line(text));
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let level = if stderr { "warn" } else { "info" };
        render(&mut line, self.style, level, name, Some(stderr), text);
        let channel = match &mut self.stdout {
            Some(out) if !stderr => out,
            _ => &mut self.main,
        };
        // Written by the caller's `flush`, once per read rather than once per line.
        channel.outbox.push(name, &line, drop_notice);
        self.line = line;
    }

    fn flush(&mut self) {
        self.main.flush();
        if let Some(out) = &mut self.stdout {
            out.flush();
        }
    }
}

fn level_word(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "error",
        log::Level::Warn => "warn",
        log::Level::Info => "info",
        log::Level::Debug => "debug",
        log::Level::Trace => "trace",
    }
}

/// One log line in `style`: an upkeep line (`stream` None) or a service's (false: stdout,
/// true: stderr). Text: `[TIME ]NAME[[stderr]]: MSG`; json: one object with the keys
/// time, level, name, stream, msg in that order; logfmt: the same as key=value pairs.
/// Control characters are escaped in every format, bytes that are not UTF-8 become U+FFFD
/// in json and logfmt.
pub fn render(
    out: &mut Vec<u8>,
    style: Style,
    level: &str,
    name: &str,
    stream: Option<bool>,
    msg: &[u8],
) {
    render_with(out, style, level, name, stream, msg, &[]);
}

/// A value an event line carries after its msg (json and logfmt only).
pub enum Field<'a> {
    Text(&'a str),
    Owned(String),
    Number(i64),
}

impl Field<'_> {
    /// Its value: a number as it is, text through the format's `string` writer.
    fn write(&self, out: &mut Vec<u8>, string: fn(&mut Vec<u8>, &[u8])) {
        match self {
            Field::Text(t) => string(out, t.as_bytes()),
            Field::Owned(t) => string(out, t.as_bytes()),
            Field::Number(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
}

/// `render`, with an event's fields after the msg in json and logfmt.
pub fn render_with(
    out: &mut Vec<u8>,
    style: Style,
    level: &str,
    name: &str,
    stream: Option<bool>,
    msg: &[u8],
    extra: &[(&str, Field)],
) {
    let stream_word = stream.map(|e| if e { "stderr" } else { "stdout" });
    match style.format {
        LogFormat::Text => {
            if style.timestamps {
                stamp(out);
                out.push(b' ');
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(if stream == Some(true) {
                b"[stderr]: "
            } else {
                b": "
            });
            escape_into(out, msg);
        }
        LogFormat::Json => {
            out.push(b'{');
            if style.timestamps {
                out.extend_from_slice(b"\"time\":\"");
                stamp(out);
                out.extend_from_slice(b"\",");
            }
            out.extend_from_slice(b"\"level\":\"");
            out.extend_from_slice(level.as_bytes());
            out.extend_from_slice(b"\",\"name\":");
            json_string(out, name.as_bytes());
            if let Some(s) = stream_word {
                out.extend_from_slice(b",\"stream\":\"");
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            }
            out.extend_from_slice(b",\"msg\":");
            json_string(out, msg);
            for (key, value) in extra {
                let _ = write!(out, ",\"{key}\":");
                value.write(out, json_string);
            }
            out.push(b'}');
        }
        LogFormat::Logfmt => {
            if style.timestamps {
                out.extend_from_slice(b"time=");
                stamp(out);
                out.push(b' ');
            }
            let _ = write!(out, "level={level} name=");
            logfmt_value(out, name.as_bytes());
            if let Some(s) = stream_word {
                let _ = write!(out, " stream={s}");
            }
            out.extend_from_slice(b" msg=");
            logfmt_value(out, msg);
            for (key, value) in extra {
                let _ = write!(out, " {key}=");
                value.write(out, logfmt_value);
            }
        }
    }
    out.push(b'\n');
}

/// A JSON string: quotes, backslashes and control characters escaped; not UTF-8: U+FFFD.
/// Runs of bytes that need nothing are copied whole (a valid line is not copied twice).
fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let b = text.as_bytes();
    out.push(b'"');
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            c if c < 0x20 || c == 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(b.get(start..i).unwrap_or_default());
        if short.is_empty() {
            let _ = write!(out, "\\u{c:04x}");
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(b.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// A logfmt value: as it is, or quoted when it is empty or holds a space, `"` or `=`;
/// control characters escaped as in the text format, not UTF-8: U+FFFD.
fn logfmt_value(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut escaped = Vec::with_capacity(bytes.len());
    escape_into(&mut escaped, bytes);
    let text = String::from_utf8_lossy(&escaped);
    if !text.is_empty() && !text.contains([' ', '"', '=']) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push(b'\\');
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out.push(b'"');
}

/// "2026-11-23T19:40:00.123Z upkeep: dropped 12 lines of web\n"
fn drop_notice(source: &str, n: u64) -> Vec<u8> {
    let mut line = Vec::with_capacity(80);
    let style = *DROP_STYLE.lock().unwrap_or_else(|p| p.into_inner());
    let text = format!("dropped {n} lines of {source}");
    render(&mut line, style, "warn", "upkeep", None, text.as_bytes());
    line
}

/// The style drop notices are written in: they are made inside the sink, which is locked.
static DROP_STYLE: Mutex<Style> = Mutex::new(Style {
    format: LogFormat::Text,
    timestamps: true,
    streams: LogStreams::Split,
});

fn level_priority(level: log::Level) -> libc::c_int {
    match level {
        log::Level::Error => libc::LOG_ERR,
        log::Level::Warn => libc::LOG_WARNING,
        log::Level::Info => libc::LOG_INFO,
        log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
    }
}

/// One message to syslog(3) under `name`'s tag (upkeep's own when None).
fn syslog(tag: &mut Option<CString>, name: Option<&str>, priority: libc::c_int, text: &[u8]) {
    let wanted = name.and_then(|n| CString::new(n).ok());
    if wanted != *tag {
        *tag = wanted;
        let ident = tag.as_deref().unwrap_or(IDENT);
        // SAFETY: `tag` (or the 'static IDENT) outlives every syslog call until the next
        // openlog, which is the lifetime syslog(3) needs for its ident pointer.
        unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
    }
    let text: Vec<u8> = text
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect();
    if let Ok(text) = CString::new(text) {
        // SAFETY: a constant "%s" format and a NUL-terminated string.
        unsafe { libc::syslog(priority | libc::LOG_DAEMON, c"%s".as_ptr(), text.as_ptr()) };
    }
}

/// The length of a `stamp`.
pub const STAMP_LEN: usize = 24;

/// Appends the RFC 3339 UTC time with milliseconds: `2026-11-23T19:40:00.123Z`. Formatted
/// once per millisecond: a burst of lines shares it.
pub fn stamp(out: &mut Vec<u8>) {
    static LAST: Mutex<(u128, [u8; STAMP_LEN])> = Mutex::new((u128::MAX, [0; STAMP_LEN]));
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ms = since.as_millis();
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.0 != ms {
        let text = crate::schedule::civil::rfc3339_ms(i64::try_from(ms).unwrap_or(i64::MAX));
        if let Ok(fixed) = <[u8; STAMP_LEN]>::try_from(text.as_bytes()) {
            *last = (ms, fixed);
        } else {
            // A year past 9999: not cached.
            out.extend_from_slice(text.as_bytes());
            return;
        }
    }
    out.extend_from_slice(&last.1);
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        with_sink(|sink| sink.upkeep_line(record.level(), record.args()));
    }

    fn flush(&self) {
        flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        use crate::schedule::civil::civil_from_days;
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn stamps_have_the_rfc3339_shape() {
        let mut out = Vec::new();
        stamp(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.len(), "2026-11-23T19:40:00.123Z".len(), "{text}");
        assert!(text.ends_with('Z') && text.as_bytes()[10] == b'T', "{text}");
    }

    #[test]
    fn the_three_formats_render_one_line_each() {
        let style = |format| Style {
            format,
            timestamps: false,
            streams: LogStreams::Split,
        };
        let line = |format, stream, msg: &[u8]| {
            let mut out = Vec::new();
            render(&mut out, style(format), "warn", "web", stream, msg);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            line(LogFormat::Text, Some(true), b"a\x1bb"),
            "web[stderr]: a\\x1bb\n"
        );
        assert_eq!(line(LogFormat::Text, None, b"up"), "web: up\n");
        assert_eq!(
            line(LogFormat::Json, Some(false), b"q\"\\\t\x01\xff"),
            "{\"level\":\"warn\",\"name\":\"web\",\"stream\":\"stdout\",\"msg\":\"q\\\"\\\\\\t\\u0001\u{fffd}\"}\n"
        );
        assert_eq!(
            line(LogFormat::Logfmt, None, b"a=b \"c\""),
            "level=warn name=web msg=\"a=b \\\"c\\\"\"\n"
        );
        assert_eq!(
            line(LogFormat::Logfmt, None, b""),
            "level=warn name=web msg=\"\"\n"
        );
        assert_eq!(
            line(LogFormat::Logfmt, None, b"plain"),
            "level=warn name=web msg=plain\n"
        );
        let mut out = Vec::new();
        let stamped = Style {
            timestamps: true,
            ..style(LogFormat::Json)
        };
        render(&mut out, stamped, "info", "upkeep", None, b"x");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["time"].as_str().map(str::len), Some(STAMP_LEN));
    }
}
