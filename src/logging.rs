//! Log lines: `2026-11-23T19:40:00.123Z upkeep: message`, one per event, on stderr or in
//! the config's log file.

use std::io::Write;

use log::LevelFilter;

use crate::config::LogTarget;

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
    let level = level(verbosity, configured);
    let mut builder = env_logger::Builder::new();
    // The logger passes everything; log's max level filters, so a reload can change it.
    builder
        .filter_level(LevelFilter::Trace)
        .format(|buf, record| {
            writeln!(buf, "{} upkeep: {}", buf.timestamp_millis(), record.args())
        });
    let mut problem = None;
    match target {
        Some(LogTarget::File(path)) => {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(file) => {
                    builder.target(env_logger::Target::Pipe(Box::new(file)));
                }
                Err(e) => problem = Some(format!("cannot open log file {}: {e}", path.display())),
            }
        }
        Some(LogTarget::Stdout) => {
            builder.target(env_logger::Target::Stdout);
        }
        Some(LogTarget::Syslog) => {
            if std::path::Path::new(SYSLOG_SOCKET).exists() {
                // SAFETY: openlog keeps the pointer: IDENT is 'static. The socket it opens
                // (at once: NDELAY) is close-on-exec.
                unsafe {
                    libc::openlog(
                        IDENT.as_ptr(),
                        libc::LOG_PID | libc::LOG_NDELAY,
                        libc::LOG_DAEMON,
                    )
                };
                if log::set_logger(&Syslog).is_ok() {
                    log::set_max_level(level);
                    return;
                }
            }
            problem = Some(format!(
                "no syslog socket at {SYSLOG_SOCKET}; logging to stderr"
            ));
        }
        _ => {}
    }
    builder.init();
    log::set_max_level(level);
    if let Some(p) = problem {
        log::warn!("{p}");
    }
}

/// Where syslogd listens; syslog(3) connects there.
#[cfg(target_os = "freebsd")]
const SYSLOG_SOCKET: &str = "/var/run/log";
#[cfg(not(target_os = "freebsd"))]
const SYSLOG_SOCKET: &str = "/dev/log";

static IDENT: &std::ffi::CStr = c"upkeep";

/// `log = "syslog"`: each line goes to syslog(3), facility daemon, with its level; syslogd
/// adds the time and the host. For a jail's init, which has no console.
struct Syslog;

impl log::Log for Syslog {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let priority = match record.level() {
            log::Level::Error => libc::LOG_ERR,
            log::Level::Warn => libc::LOG_WARNING,
            log::Level::Info => libc::LOG_INFO,
            log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
        };
        let text = record.args().to_string().replace('\0', " ");
        if let Ok(text) = std::ffi::CString::new(text) {
            // SAFETY: a constant "%s" format and a NUL-terminated string.
            unsafe { libc::syslog(priority | libc::LOG_DAEMON, c"%s".as_ptr(), text.as_ptr()) };
        }
    }

    fn flush(&self) {}
}
