//! Command-line parsing. tini's flags keep tini's meaning so a Dockerfile can switch by
//! changing the path: `-s -g -w -e CODE -p SIGNAL -v`.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::types::signame;

pub const USAGE: &str = "\
usage: upkeep [OPTIONS] [-- COMMAND [ARG...]]   run: supervise the config and/or COMMAND
       upkeep check [-c FILE]                   validate the config, print every error
       upkeep scan [-c FILE]                    one watch pass (for cron), then exit
       upkeep status [NAME...] [--json]         ask the running upkeep (exit 3: not all up)
       upkeep start|stop|restart NAME...        bring up / take down (stays down) / bounce
       upkeep signal SIGNAL NAME...             send a signal to a service's process
       upkeep reload                            re-read the config (same as SIGHUP)
       upkeep shutdown                          stop everything in order, wait for the exit
                                                (exit 0 when none runs: nothing to stop)
       upkeep logs [NAME...] [-n LINES] [-f] [-t]
                                                recent output (all services merged without
                                                a NAME); -f follows it, -t adds times
       upkeep wait NAME... [--ready|--healthy|--done|--down] [--timeout D]
                                                until each is so (exit 1: timeout, never)
       upkeep import FILE|DIR                   a supervisord.conf or an s6-overlay tree
                                                -> upkeep.toml on stdout, summary on stderr
       (client subcommands take -c FILE and --socket PATH after their name)

options:
  -c, --config FILE   config file (default $UPKEEP_CONFIG, else /etc/upkeep.toml)
      --socket PATH   control socket
  -g                  forward signals to COMMAND's process group, not just COMMAND
  -e CODE             treat this exit code of COMMAND as 0 (repeatable)
  -p SIGNAL           signal upkeep receives when its parent dies
  -w                  warn about every reaped zombie that is not COMMAND
  -s                  subreaper (accepted for tini; upkeep always is one when not PID 1)
  -r, --rewrite S:R   dumb-init's: forward signal S to COMMAND as R (R = 0: drop it)
      --single-child  dumb-init's -c: signals to COMMAND only (the default; undoes -g);
                      `-c` before `--` or another option means this too
  -v, -q              more / less logging (repeatable); UPKEEP_LOG=debug|info|warn|error
  -h, --help          this text
      --version       upkeep's version, target and commit
";

/// `upkeep --version`: the version, the target it was built for and the commit (set by
/// build.rs; `unknown` when built outside git).
pub const VERSION: &str = concat!(
    "upkeep ",
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("UPKEEP_TARGET"),
    ", commit ",
    env!("UPKEEP_COMMIT"),
    ")"
);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunArgs {
    pub config: Option<PathBuf>,
    pub socket: Option<PathBuf>,
    /// Net `-v` minus `-q`.
    pub verbosity: i32,
    pub signal_group: bool,
    pub success_codes: Vec<i32>,
    pub parent_death_signal: Option<i32>,
    pub warn_on_reap: bool,
    /// dumb-init's `-r S:R`: (S, R), R = 0 drops S.
    pub rewrite: Vec<(i32, i32)>,
    /// dumb-init's `-c`: signals to COMMAND only, whatever `-g` says.
    pub single_child: bool,
    pub command: Vec<OsString>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run(RunArgs),
    /// `upkeep check [-c FILE]`
    Check {
        config: Option<PathBuf>,
    },
    /// `upkeep scan [-c FILE]`
    Scan {
        config: Option<PathBuf>,
    },
    /// `upkeep import FILE|DIR`
    Import {
        path: PathBuf,
    },
    /// `upkeep status|start|stop|restart|signal|reload|shutdown ...`
    Client(crate::control::client::ClientArgs),
    Help,
    Version,
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    let mut args = args.into_iter().peekable();
    if let Some(cli) = subcommand(&mut args) {
        return cli;
    }
    parse_run(args)
}

/// `check`, `scan`, `import` and the client subcommands, when the first word names one.
fn subcommand<I: Iterator<Item = OsString>>(
    args: &mut std::iter::Peekable<I>,
) -> Option<Result<Cli, String>> {
    let cli = match args.peek().and_then(|a| a.to_str()) {
        Some("check") => {
            args.next();
            parse_config_only(args, "check").map(|config| Cli::Check { config })
        }
        Some("scan") => {
            args.next();
            parse_config_only(args, "scan").map(|config| Cli::Scan { config })
        }
        Some("import") => {
            args.next();
            let words: Vec<OsString> = args.collect();
            match <[OsString; 1]>::try_from(words) {
                Ok([path]) => Ok(Cli::Import { path: path.into() }),
                Err(_) => Err("import takes one FILE or DIR".into()),
            }
        }
        Some(word) => {
            let cmd = crate::control::Command::parse(word)?;
            args.next();
            crate::control::client::parse(cmd, args).map(Cli::Client)
        }
        None => return None,
    };
    Some(cli)
}

/// `upkeep [OPTIONS] [-- COMMAND]`: tini's, dumb-init's and upkeep's own flags.
fn parse_run<I: Iterator<Item = OsString>>(
    mut args: std::iter::Peekable<I>,
) -> Result<Cli, String> {
    let mut run = RunArgs::default();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            // A non-UTF-8 word can only be COMMAND (tini accepts PROGRAM without `--`).
            run.command.push(arg);
            run.command.extend(args);
            break;
        };
        if text == "--" {
            run.command.extend(args);
            if run.command.is_empty() {
                return Err("`--` must be followed by a command".into());
            }
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value = |flag: &str| -> Result<String, String> {
                match inline.clone() {
                    Some(v) => Ok(v),
                    None => args
                        .next()
                        .and_then(|v| v.into_string().ok())
                        .ok_or_else(|| format!("--{flag} needs a value")),
                }
            };
            match name {
                "config" => run.config = Some(value("config")?.into()),
                "socket" => run.socket = Some(value("socket")?.into()),
                "rewrite" => run.rewrite.push(parse_rewrite(&value("rewrite")?)?),
                "single-child" => run.single_child = true,
                "help" => return Ok(Cli::Help),
                "version" => return Ok(Cli::Version),
                _ => return Err(format!("unknown option --{name}")),
            }
            continue;
        }
        if let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) {
            let no_value_next = args
                .peek()
                .and_then(|a| a.to_str())
                .is_none_or(|n| n.starts_with('-'));
            for (i, flag) in cluster.char_indices() {
                // Flags that take a value use the rest of the word, or the next word.
                let mut value = || -> Result<String, String> {
                    let rest = &cluster[i + flag.len_utf8()..];
                    if !rest.is_empty() {
                        return Ok(rest.to_string());
                    }
                    args.next()
                        .and_then(|v| v.into_string().ok())
                        .ok_or_else(|| format!("-{flag} needs a value"))
                };
                match flag {
                    's' => {}
                    'g' => run.signal_group = true,
                    'w' => run.warn_on_reap = true,
                    'v' => run.verbosity += 1,
                    'q' => run.verbosity -= 1,
                    'h' => return Ok(Cli::Help),
                    'c' => {
                        // dumb-init's `-c` (single child) when no FILE follows: `-c --`,
                        // `-c -r 15:3`; upkeep's `-c FILE` otherwise.
                        if cluster.len() == i + 1 && no_value_next {
                            run.single_child = true;
                            continue;
                        }
                        run.config = Some(value()?.into());
                        break;
                    }
                    'r' => {
                        run.rewrite.push(parse_rewrite(&value()?)?);
                        break;
                    }
                    'e' => {
                        let v = value()?;
                        let code = v
                            .parse::<i32>()
                            .ok()
                            .filter(|c| (0..=255).contains(c))
                            .ok_or_else(|| format!("-e needs an exit code 0-255, not {v:?}"))?;
                        run.success_codes.push(code);
                        break;
                    }
                    'p' => {
                        let v = value()?;
                        let sig = signame::parse(&v)
                            .ok_or_else(|| format!("-p: unknown signal {v:?}"))?;
                        run.parent_death_signal = Some(sig);
                        break;
                    }
                    _ => return Err(format!("unknown option -{flag}")),
                }
            }
            continue;
        }
        // The first plain word starts COMMAND, as with tini (`tini -s prog args`).
        run.command.push(arg);
        run.command.extend(args);
        break;
    }
    Ok(Cli::Run(run))
}

/// dumb-init's `S:R`: numbers (as dumb-init takes them) or names; R = 0 drops S.
fn parse_rewrite(text: &str) -> Result<(i32, i32), String> {
    let sig = |s: &str| {
        s.parse::<i32>()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .or_else(|| signame::parse(s))
    };
    let bad = || format!("--rewrite needs SIGNAL:SIGNAL (0 to drop), not {text:?}");
    let (from, to) = text.split_once(':').ok_or_else(bad)?;
    let to = if to.trim() == "0" {
        Some(0)
    } else {
        sig(to.trim())
    };
    Ok((sig(from.trim()).ok_or_else(bad)?, to.ok_or_else(bad)?))
}

/// The arguments of a subcommand that takes only `-c FILE`.
fn parse_config_only(
    args: impl Iterator<Item = OsString>,
    name: &str,
) -> Result<Option<PathBuf>, String> {
    let mut config = None;
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-c" | "--config" => {
                config = Some(args.next().ok_or("-c needs a file")?.into());
            }
            a if a.starts_with("--config=") => {
                config = Some(a.trim_start_matches("--config=").into());
            }
            other => return Err(format!("{name}: unexpected argument {other:?}")),
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Cli, String> {
        parse(args.iter().map(OsString::from))
    }

    fn run(args: &[&str]) -> RunArgs {
        match p(args) {
            Ok(Cli::Run(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tini_flags() {
        let r = run(&[
            "-s", "-g", "-w", "-vv", "-e", "143", "-e3", "-p", "SIGKILL", "--", "a", "-x",
        ]);
        assert!(r.signal_group && r.warn_on_reap);
        assert_eq!(r.verbosity, 2);
        assert_eq!(r.success_codes, vec![143, 3]);
        assert_eq!(r.parent_death_signal, Some(libc::SIGKILL));
        assert_eq!(r.command, vec![OsString::from("a"), OsString::from("-x")]);
    }

    #[test]
    fn clusters_and_long_options() {
        let r = run(&[
            "-sgv",
            "--config=/x.toml",
            "--socket",
            "/s",
            "prog",
            "--",
            "-v",
        ]);
        assert!(r.signal_group);
        assert_eq!(r.verbosity, 1);
        assert_eq!(r.config, Some(PathBuf::from("/x.toml")));
        assert_eq!(r.socket, Some(PathBuf::from("/s")));
        assert_eq!(r.command, ["prog", "--", "-v"].map(OsString::from).to_vec());
    }

    #[test]
    fn dumb_init_flags() {
        let r = run(&[
            "-r",
            "15:3",
            "--rewrite=INT:0",
            "-rHUP:USR1",
            "-c",
            "--",
            "a",
        ]);
        assert_eq!(
            r.rewrite,
            vec![(15, 3), (libc::SIGINT, 0), (libc::SIGHUP, libc::SIGUSR1)]
        );
        assert!(r.single_child && r.config.is_none());
        let r = run(&["-g", "--single-child", "-c", "-v", "a"]);
        assert!(r.single_child && r.config.is_none() && r.verbosity == 1);
        assert_eq!(
            run(&["-c", "/x.toml", "--", "a"]).config,
            Some("/x.toml".into())
        );
        assert_eq!(run(&["-c/x.toml"]).config, Some("/x.toml".into()));
        assert!(p(&["-r", "15", "--", "a"]).is_err());
        assert!(p(&["-r", "99:1", "--", "a"]).is_err());
        assert_eq!(
            p(&["import", "/etc/supervisord.conf"]),
            Ok(Cli::Import {
                path: "/etc/supervisord.conf".into()
            })
        );
        assert!(p(&["import"]).is_err());
    }

    #[test]
    fn check_subcommand() {
        assert_eq!(p(&["check"]), Ok(Cli::Check { config: None }));
        assert_eq!(
            p(&["check", "-c", "/x.toml"]),
            Ok(Cli::Check {
                config: Some("/x.toml".into())
            })
        );
        assert!(p(&["check", "extra"]).is_err());
        assert_eq!(p(&["scan"]), Ok(Cli::Scan { config: None }));
        assert!(matches!(p(&["status", "--json"]), Ok(Cli::Client(_))));
        assert!(matches!(p(&["--", "status"]), Ok(Cli::Run(_))));
    }

    #[test]
    fn usage_errors() {
        assert!(p(&["--"]).is_err());
        assert!(p(&["-x", "--", "a"]).is_err());
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["-e"]).is_err());
        assert!(p(&["-e", "300", "--", "a"]).is_err());
        assert!(p(&["-p", "NOPE", "--", "a"]).is_err());
        assert_eq!(p(&["-h"]), Ok(Cli::Help));
        assert_eq!(p(&["--version"]), Ok(Cli::Version));
    }
}
