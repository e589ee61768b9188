//! Log lines: `2026-11-23T19:40:00.123Z upkeep: message`, one per event, on stderr or in
//! the config's log file.

use log::LevelFilter;

use crate::config::LogTarget;

/// Level: `UPKEEP_LOG` (error|warn|info|debug|trace), else the config's `log_level`, else
/// info; each `-v` raises it one step and each `-q` lowers it.
fn level(verbosity: i32, configured: Option<LevelFilter>) -> LevelFilter {
    let base = std::env::var("UPKEEP_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .or(configured)
        .unwrap_or(LevelFilter::Info);
    let levels = [
        LevelFilter::Off,
        LevelFilter::Error,
        LevelFilter::Warn,
        LevelFilter::Info,
        LevelFilter::Debug,
        LevelFilter::Trace,
    ];
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
            use std::io::Write;
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
            problem = Some("log = \"syslog\" is not supported yet; logging to stderr".into())
        }
        _ => {}
    }
    builder.init();
    log::set_max_level(level);
    if let Some(p) = problem {
        log::warn!("{p}");
    }
}
