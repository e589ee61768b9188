//! upkeep: a small static init and supervisor. See README.md and DESIGN.md.
//! Thin: arguments -> config -> logger -> runtime -> exit code.

mod accounts;
mod childlog;
mod cli;
mod config;
mod control;
mod logging;
mod os;
mod runtime;
mod scan;
mod signame;
mod supervisor;
mod watch;

use std::io::Write;
use std::process::ExitCode;

/// Writes to stderr without the panic `eprintln!` has on a broken pipe (upkeep may be PID 1).
pub(crate) fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn print_errors(errors: &[config::ConfigError]) {
    for e in errors {
        say(&e.to_string());
    }
}

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os().skip(1)) {
        Ok(cli) => cli,
        Err(e) => {
            say(&format!("upkeep: {e}\n{}", cli::USAGE));
            return ExitCode::from(2);
        }
    };
    let args = match cli {
        cli::Cli::Help => {
            let _ = std::io::stdout().write_all(cli::USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        cli::Cli::Version => {
            let _ = writeln!(std::io::stdout(), "upkeep {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        cli::Cli::Check { config } => {
            let path = config.unwrap_or_else(config::default_path);
            return match config::load(&path) {
                Ok(c) => {
                    let _ = writeln!(
                        std::io::stdout(),
                        "{}: ok ({} services, {} watches)",
                        path.display(),
                        c.services.len(),
                        c.watches.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    print_errors(&errors);
                    ExitCode::from(2)
                }
            };
        }
        cli::Cli::Scan { config } => {
            let path = config.unwrap_or_else(config::default_path);
            let config = match config::load(&path) {
                Ok(c) => c,
                Err(errors) => {
                    print_errors(&errors);
                    return ExitCode::from(2);
                }
            };
            // On stdout, for cron's mail; and only when something happened.
            logging::init(
                0,
                config.settings.log_level,
                Some(&config::LogTarget::Stdout),
            );
            return ExitCode::from(scan::run_once(&config).clamp(0, 255) as u8);
        }
        cli::Cli::Client(args) => {
            return ExitCode::from(control::client::run(&args).clamp(0, 255) as u8);
        }
        cli::Cli::Run(args) => args,
    };

    // With a COMMAND the default config is used only if it exists (tini mode needs none).
    let config_path = match (&args.config, args.command.is_empty()) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(config::default_path()),
        (None, false) => Some(config::default_path()).filter(|p| p.exists()),
    };
    let config = match &config_path {
        Some(path) => match config::load(path) {
            Ok(c) => Some(c),
            Err(errors) => {
                print_errors(&errors);
                if args.command.is_empty() && args.config.is_none() {
                    say(&format!(
                        "upkeep: give -c FILE or -- COMMAND\n{}",
                        cli::USAGE
                    ));
                }
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    logging::init(
        args.verbosity,
        config.as_ref().and_then(|c| c.settings.log_level),
        config.as_ref().map(|c| &c.settings.log),
    );
    let main = args.command.first().cloned().map(|first| {
        (
            args.command.clone(),
            supervisor::MainOptions {
                name: first.to_string_lossy().into_owned(),
                signal_group: args.signal_group,
                success_codes: args.success_codes.clone(),
                warn_on_reap: args.warn_on_reap,
                debug: log::log_enabled!(log::Level::Debug),
            },
        )
    });
    let supervising = config.is_some();
    let status = runtime::run(runtime::RunSpec {
        config: config.unwrap_or_else(config::Config::empty),
        main,
        supervising,
        parent_death_signal: args.parent_death_signal,
        socket: args.socket.clone(),
        verbosity: args.verbosity,
    });
    ExitCode::from(status.clamp(0, 255) as u8)
}
