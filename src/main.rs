//! upkeep: a small static init and supervisor. See README.md and DESIGN.md.

mod cli;
mod logging;
mod os;
mod runtime;
mod signame;
mod supervisor;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os().skip(1)) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("upkeep: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let args = match cli {
        cli::Cli::Help => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        cli::Cli::Version => {
            println!("upkeep {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        cli::Cli::Run(args) => args,
    };
    logging::init(args.verbosity);
    if args.command.is_empty() {
        eprintln!("upkeep: nothing to run: give -- COMMAND\n{}", cli::USAGE);
        return ExitCode::from(2);
    }
    let name = args
        .command
        .first()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    let status = runtime::run(runtime::RunSpec {
        main_argv: args.command,
        main: supervisor::MainOptions {
            name,
            signal_group: args.signal_group,
            success_codes: args.success_codes,
            warn_on_reap: args.warn_on_reap,
            debug: log::log_enabled!(log::Level::Debug),
        },
        parent_death_signal: args.parent_death_signal,
    });
    ExitCode::from(status.clamp(0, 255) as u8)
}
