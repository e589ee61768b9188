//! upkeep: a small static init and supervisor. See README.md and upkeep(8).
//! Dispatch only: arguments -> one short function per mode -> exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use upkeep::logging::say;
use upkeep::{cli, config, control, core, logging, runtime};

fn main() -> ExitCode {
    let status = match cli::parse(std::env::args_os().skip(1)) {
        Ok(cli::Cli::Help) => {
            let _ = std::io::stdout().write_all(cli::USAGE.as_bytes());
            0
        }
        Ok(cli::Cli::Version) => {
            let _ = writeln!(std::io::stdout(), "{}", cli::VERSION);
            0
        }
        Ok(cli::Cli::Check { config }) => check(config),
        Ok(cli::Cli::Scan { config }) => scan(config),
        Ok(cli::Cli::Import { path }) => import(&path),
        Ok(cli::Cli::Client(args)) => control::client::run(&args),
        Ok(cli::Cli::Run(args)) => run(args),
        Err(e) => {
            say(&format!("upkeep: {e}\n{}", cli::USAGE));
            2
        }
    };
    ExitCode::from(status.clamp(0, 255) as u8)
}

/// The config at `path`, or its errors printed and None.
fn load(path: &std::path::Path) -> Option<config::Config> {
    config::load(path)
        .map_err(|errors| errors.iter().for_each(|e| say(&e.to_string())))
        .ok()
}

/// `upkeep check`: every error, exit 2; or a one-line summary, exit 0.
fn check(config: Option<PathBuf>) -> i32 {
    let path = config.unwrap_or_else(config::default_path);
    let Some(c) = load(&path) else {
        return 2;
    };
    let _ = writeln!(
        std::io::stdout(),
        "{}: ok ({} services, {} watches, {} files)",
        path.display(),
        c.services.len(),
        c.watches.len(),
        c.files
    );
    if let Some((worst, chain)) = config::worst_stop(&c.services) {
        let shown = upkeep::types::fmt_duration(worst);
        let _ = writeln!(
            std::io::stdout(),
            "worst-case stop: {shown} ({})",
            chain.join(", then ")
        );
        let grace = config::stop_grace_from_env()
            .ok()
            .flatten()
            .or(c.settings.stop_grace);
        let warning = match grace {
            Some(g) if worst > g => Some(format!(
                "it passes stop_grace ({}): what still runs then is killed",
                upkeep::types::fmt_duration(g)
            )),
            None if worst > std::time::Duration::from_secs(10) => Some(
                "it passes the 10 s docker stop and podman stop wait; as PID 1 upkeep's stop_grace of 9s kills what still runs then (set stop_grace to your engine's grace minus a second)".to_string(),
            ),
            _ => None,
        };
        if let Some(w) = warning {
            say(&format!(
                "upkeep: warning: the worst-case stop takes {shown}: {w}"
            ));
        }
    }
    0
}

/// `upkeep import PATH`: the config on stdout, whole or not at all; the summary on stderr.
fn import(path: &std::path::Path) -> i32 {
    match upkeep::import::import(path) {
        Ok(done) => {
            if std::io::stdout().write_all(done.toml.as_bytes()).is_err() {
                return 2;
            }
            say(&format!(
                "upkeep import: {} services, {} oneshots, {} settings not imported",
                done.services, done.oneshots, done.not_imported
            ));
            0
        }
        Err(f) => {
            say(&format!("upkeep import: {}", f.message));
            f.code
        }
    }
}

/// `upkeep scan`: one pass over the watches, through the same core and loop as the
/// resident upkeep; on stdout, for cron's mail, and only when something happened.
fn scan(config: Option<PathBuf>) -> i32 {
    let Some(config) = load(&config.unwrap_or_else(config::default_path)) else {
        return 2;
    };
    logging::init(
        0,
        config.settings.log_level,
        Some(&config::LogTarget::Stdout),
        logging::Style::of(&config.settings),
    );
    runtime::run(runtime::RunSpec {
        mode: core::Mode::ScanOnce,
        config,
        main: None,
        parent_death_signal: None,
        socket: None,
        verbosity: 0,
        stop_grace_override: None,
    })
}

/// `upkeep [OPTIONS] [-- COMMAND]`: supervise the config and/or COMMAND.
fn run(args: cli::RunArgs) -> i32 {
    // Socket activation's descriptors are 3 and up: taken (and out of the environment, no
    // service is to see them) before upkeep opens a descriptor of its own.
    let listen = upkeep::os::activation::take();
    // With a COMMAND the default config is used only if it exists (tini mode needs none).
    let config_path = match (&args.config, args.command.is_empty()) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(config::default_path()),
        (None, false) => Some(config::default_path()).filter(|p| p.exists()),
    };
    let config = match &config_path {
        Some(path) => match load(path) {
            Some(c) => Some(c),
            None => {
                // The usage text is for a wrong command line only: a config that is there
                // but wrong gets its errors and one line naming it.
                if path.exists() {
                    say(&format!(
                        "upkeep: {} is invalid; not starting",
                        path.display()
                    ));
                } else if args.command.is_empty() && args.config.is_none() {
                    say(&format!(
                        "upkeep: give -c FILE or -- COMMAND\n{}",
                        cli::USAGE
                    ));
                }
                return 2;
            }
        },
        None => None,
    };
    logging::init(
        args.verbosity,
        config.as_ref().and_then(|c| c.settings.log_level),
        config.as_ref().map(|c| &c.settings.log),
        config
            .as_ref()
            .map(|c| logging::Style::of(&c.settings))
            .unwrap_or_default(),
    );
    let listen = listen.unwrap_or_else(|why| {
        log::warn!("{why}");
        None
    });
    let main = args.command.first().map(|first| core::MainOptions {
        name: first.to_string_lossy().into_owned(),
        argv: args.command.clone(),
        // tini's variables, set to anything: -g; TINI_SUBREAPER needs nothing (upkeep always
        // is a subreaper when not PID 1); TINI_VERBOSITY is read by `logging`. dumb-init's
        // -c or DUMB_INIT_SETSID=0 (single child) undo -g.
        signal_group: (args.signal_group || std::env::var_os("TINI_KILL_PROCESS_GROUP").is_some())
            && !args.single_child
            && std::env::var_os("DUMB_INIT_SETSID").is_none_or(|v| v != "0"),
        rewrite: args.rewrite.clone(),
        success_codes: args.success_codes.clone(),
        warn_on_reap: args.warn_on_reap,
        listen,
    });
    let mode = if config.is_some() {
        core::Mode::Supervise
    } else {
        core::Mode::Single
    };
    let stop_grace_override = match config::stop_grace_from_env() {
        Ok(grace) => grace,
        Err(e) => {
            say(&format!("upkeep: {e}"));
            return 2;
        }
    };
    runtime::run(runtime::RunSpec {
        mode,
        config: config.unwrap_or_else(config::Config::empty),
        main,
        parent_death_signal: args.parent_death_signal,
        socket: args.socket.clone(),
        verbosity: args.verbosity,
        stop_grace_override,
    })
}
