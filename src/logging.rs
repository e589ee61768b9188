//! Log lines: `2026-11-23T19:40:00.123Z upkeep: message`, one per event, on stderr.

use log::LevelFilter;

/// `UPKEEP_LOG` (error|warn|info|debug|trace) sets the base level, default info; each `-v`
/// raises it one step and each `-q` lowers it.
pub fn init(verbosity: i32) {
    let base = std::env::var("UPKEEP_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
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
    let level = levels.get(index).copied().unwrap_or(LevelFilter::Info);
    env_logger::Builder::new()
        .filter_level(level)
        .format(|buf, record| {
            use std::io::Write;
            writeln!(buf, "{} upkeep: {}", buf.timestamp_millis(), record.args())
        })
        .target(env_logger::Target::Stderr)
        .init();
}
