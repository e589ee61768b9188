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

use crate::config::LogTarget;
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

pub fn init(verbosity: i32, configured: Option<LevelFilter>, target: Option<&LogTarget>) {
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
    if let Ok(mut sink) = SINK.lock() {
        *sink = Some(Sink {
            dest,
            outbox: Outbox::default(),
            line: Vec::with_capacity(256),
            would_block: false,
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
        if let (true, Dest::Fd { fd: f, .. }) = (sink.would_block, &sink.dest) {
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
    with_sink(|sink| total = sink.outbox.total.clone());
    total
}

/// Writes what waits, as far as the destination takes it without blocking.
pub fn flush() {
    with_sink(Sink::flush);
}

/// Where syslogd listens; syslog(3) connects there.
#[cfg(target_os = "freebsd")]
const SYSLOG_SOCKET: &str = "/var/run/log";
#[cfg(not(target_os = "freebsd"))]
const SYSLOG_SOCKET: &str = "/dev/log";

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
    match platform::nonblocking_stderr() {
        Ok((fd, socket)) => Dest::Fd { fd, socket },
        // Nothing better: a duplicate of fd 2, written as it is.
        Err(_) => match platform::dup_cloexec(std::io::stderr()) {
            Ok(fd) => Dest::Fd { fd, socket: false },
            Err(_) => Dest::Syslog { tag: None },
        },
    }
}

struct Sink {
    dest: Dest,
    outbox: Outbox,
    /// The line being formatted, kept to reuse its allocation.
    line: Vec<u8>,
    /// The last write stopped at EAGAIN: poll for POLLOUT. (A file that fails, full or
    /// broken, is simply tried again at the next line: poll would always call it ready.)
    would_block: bool,
    /// `log = "syslog"` with no syslogd yet (a jail's init starts before it): when to look
    /// for its socket again.
    syslog_awaited: Option<Instant>,
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
        let left = self.outbox.pending().len();
        self.syslog_awaited = None;
        self.dest = dest;
        let total = std::mem::take(&mut self.outbox.total);
        self.outbox = Outbox::default();
        self.outbox.total = total;
        self.would_block = false;
        let mut text = format!("syslog socket at {SYSLOG_SOCKET} is there: logging to syslog");
        if left > 0 {
            text.push_str(&format!(
                " ({left} bytes stderr would not take were dropped)"
            ));
        }
        self.upkeep_line(log::Level::Info, &format_args!("{text}"));
    }

    fn upkeep_line(&mut self, level: log::Level, args: &std::fmt::Arguments) {
        self.retry_syslog();
        if let Dest::Syslog { tag } = &mut self.dest {
            let text = args.to_string();
            syslog(tag, None, level_priority(level), text.as_bytes());
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        stamp(&mut line);
        let _ = write!(line, " upkeep: {args}");
        line.push(b'\n');
        self.queue("upkeep", &line);
        self.line = line;
    }

    fn service_line(&mut self, name: &str, stderr: bool, text: &[u8]) {
        self.retry_syslog();
        if let Dest::Syslog { tag } = &mut self.dest {
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
        stamp(&mut line);
        line.push(b' ');
        line.extend_from_slice(name.as_bytes());
        line.extend_from_slice(if stderr { b"[stderr]: " } else { b": " });
        escape_into(&mut line, text);
        line.push(b'\n');
        // Written by the caller's `flush`, once per read rather than once per line.
        self.outbox.push(name, &line, drop_notice);
        self.line = line;
    }

    fn queue(&mut self, source: &str, line: &[u8]) {
        self.outbox.push(source, line, drop_notice);
        self.flush();
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

/// "2026-11-23T19:40:00.123Z upkeep: dropped 12 lines of web\n"
fn drop_notice(source: &str, n: u64) -> Vec<u8> {
    let mut line = Vec::with_capacity(80);
    stamp(&mut line);
    let _ = writeln!(line, " upkeep: dropped {n} lines of {source}");
    line
}

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

/// Appends the RFC 3339 UTC time with milliseconds: `2026-11-23T19:40:00.123Z`. Formatted
/// once per millisecond: a burst of lines shares it.
pub fn stamp(out: &mut Vec<u8>) {
    static LAST: Mutex<(u128, [u8; 24])> = Mutex::new((u128::MAX, [0; 24]));
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ms = since.as_millis();
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.0 != ms {
        let secs = since.as_secs();
        let (year, month, day) = crate::schedule::civil::civil_from_days((secs / 86_400) as i64);
        let rest = secs % 86_400;
        let mut text = Vec::with_capacity(24);
        let _ = write!(
            text,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60,
            since.subsec_millis()
        );
        if let Ok(fixed) = <[u8; 24]>::try_from(text.as_slice()) {
            *last = (ms, fixed);
        } else {
            // A year past 9999: not cached.
            out.extend_from_slice(&text);
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
}
