//! One `[program:x]` -> one service, or `numprocs` of them.

use super::{Source, boolean, host_name, interpolate, size};
use crate::import::ini::{key_value_pairs, shlex_split};
use crate::import::{Unit, literal, quote, quote_list, service_name};
use crate::types::signame;

/// The services of one program section, each with its priority.
pub fn program_units(
    s: &Source,
    program: &str,
    group: &str,
    at: &str,
) -> Result<Vec<(Unit, i64)>, String> {
    let sec = &s.section;
    let bad = |k: &str, v: &str| format!("{at}: [program:{program}] {k} = {v:?} is not valid");
    let int = |k: &str, default: i64| -> Result<i64, String> {
        sec.get(k)
            .map_or(Ok(default), |v| v.trim().parse().map_err(|_| bad(k, v)))
    };
    let numprocs = int("numprocs", 1)?;
    let start = int("numprocs_start", 0)?;
    let priority = int("priority", 999)?;
    let process_name = sec.get("process_name").unwrap_or("%(program_name)s");
    if numprocs > 1 && !process_name.contains("%(process_num)") {
        return Err(format!(
            "{at}: [program:{program}] numprocs = {numprocs} needs %(process_num) in process_name"
        ));
    }
    if !(1..=1000).contains(&numprocs) {
        return Err(bad("numprocs", &numprocs.to_string()));
    }
    if sec.get("command").is_none() {
        return Err(format!("{at}: [program:{program}] has no command"));
    }
    let mut units = Vec::new();
    for num in start..start + numprocs {
        let base = |name: &str| -> Option<String> {
            Some(match name {
                "here" => literal(&s.here),
                "program_name" => literal(program),
                "group_name" => literal(group),
                "host_node_name" => literal(&host_name()),
                "process_num" => num.to_string(),
                "numprocs" => numprocs.to_string(),
                n => format!("${{{}}}", n.strip_prefix("ENV_")?),
            })
        };
        let env = match sec.get("environment") {
            Some(v) => {
                key_value_pairs(&interpolate(v, &base, true).map_err(|e| bad("environment", &e))?)
                    .map_err(|e| bad("environment", &e))?
            }
            None => Vec::new(),
        };
        // The program's own environment is what `%(ENV_X)s` means in its other settings.
        let lookup = |name: &str| -> Option<String> {
            let own = name
                .strip_prefix("ENV_")
                .and_then(|n| env.iter().find(|(k, _)| k == n));
            own.map(|(_, v)| v.clone()).or_else(|| base(name))
        };
        let expand =
            |k: &str, v: &str| interpolate(v, &lookup, true).map_err(|e| format!("{at}: {k}: {e}"));
        let name = service_name(
            &interpolate(process_name, &lookup, false).map_err(|e| bad("process_name", &e))?,
        );
        let mut u = Unit {
            name,
            origin: if numprocs > 1 {
                format!("[program:{program}] at {at}, process {num} of numprocs = {numprocs}")
            } else {
                format!("[program:{program}] at {at}")
            },
            env: env.clone(),
            ..Unit::default()
        };
        for (k, v) in &sec.entries {
            map_key(&mut u, k, &expand(k, v)?, v).map_err(|_| bad(k, v))?;
        }
        restart(&mut u, sec.get("autorestart"), sec.get("exitcodes"))
            .map_err(|k| bad(k, sec.get(k).unwrap_or("")))?;
        output(&mut u, &|k| sec.get(k).map(|v| expand(k, v)).transpose())?;
        units.push((u, priority));
    }
    Ok(units)
}

/// One setting of a program; `v` is expanded, `raw` as written (for notes). Err: a value
/// supervisord itself would refuse.
fn map_key(u: &mut Unit, k: &str, v: &str, raw: &str) -> Result<(), ()> {
    let secs = |v: &str| v.trim().parse::<u64>().map_err(|_| ());
    match k {
        "command" => {
            let words = shlex_split(v).map_err(|_| ())?;
            if words.is_empty() {
                return Err(());
            }
            u.set("command", quote_list(&words), "");
        }
        "directory" => u.set("directory", quote(v), ""),
        "user" => u.set("user", quote(v), ""),
        "autostart" => {
            if !boolean(v).ok_or(())? {
                u.set(
                    "enabled",
                    "false".into(),
                    "autostart = false: `upkeep start` it",
                );
            }
        }
        "startsecs" => {
            let n = secs(v)?;
            u.set(
                "stable_after",
                quote(&format!("{n}s")),
                format!("startsecs = {n}: a shorter run is a failed start"),
            );
        }
        "startretries" => {
            let n = secs(v)?;
            u.set(
                "give_up_after",
                (n + 1).to_string(),
                format!("startretries = {n}: the first start and {n} retries"),
            );
        }
        "stopsignal" => {
            let sig = v.trim().to_ascii_uppercase();
            let sig = sig.strip_prefix("SIG").unwrap_or(&sig).to_string();
            signame::parse(&sig).ok_or(())?;
            u.set("stop_signal", quote(&sig), "");
        }
        "stopwaitsecs" => u.set("stop_timeout", quote(&format!("{}s", secs(v)?)), ""),
        "stopasgroup" | "killasgroup" => {
            if !boolean(v).ok_or(())? {
                u.note(
                    k,
                    raw,
                    "upkeep always signals the service's whole process group",
                );
            }
        }
        "umask" => u.note(k, raw, "no umask key: run `sh -c 'umask 022; exec CMD'`"),
        "serverurl" => u.note(
            k,
            raw,
            "for supervisorctl; upkeep's clients find its socket",
        ),
        "stdout_syslog" | "stderr_syslog" => u.note(
            k,
            raw,
            "`log = \"syslog\"` in [supervisor] sends all output to syslog",
        ),
        "stdout_capture_maxbytes"
        | "stderr_capture_maxbytes"
        | "stdout_events_enabled"
        | "stderr_events_enabled" => u.note(k, raw, "upkeep has no event listeners"),
        "process_name"
        | "numprocs"
        | "numprocs_start"
        | "priority"
        | "environment"
        | "autorestart"
        | "exitcodes"
        | "redirect_stderr"
        | "stdout_logfile"
        | "stderr_logfile"
        | "stdout_logfile_maxbytes"
        | "stdout_logfile_backups"
        | "stderr_logfile_maxbytes"
        | "stderr_logfile_backups" => {}
        _ => u.note(k, raw, "not a [program:x] setting of supervisord 4"),
    }
    Ok(())
}

/// `autorestart` (default `unexpected`) with `exitcodes` (default 0). Err: the bad key.
fn restart(u: &mut Unit, auto: Option<&str>, codes: Option<&str>) -> Result<(), &'static str> {
    let auto = auto.unwrap_or("unexpected").trim().to_ascii_lowercase();
    let (policy, why) = match auto.as_str() {
        "unexpected" => (
            "on-failure",
            "autorestart = unexpected: restarted unless it exits with exitcodes",
        ),
        a => match boolean(a) {
            Some(true) => ("always", "autorestart = true"),
            Some(false) => (
                "never",
                "autorestart = false (supervisord still retried a start that died within startsecs)",
            ),
            None => return Err("autorestart"),
        },
    };
    u.set("restart", quote(policy), why);
    if !u.keys.iter().any(|(k, _, _)| k == "stable_after") {
        u.set(
            "stable_after",
            quote("1s"),
            "startsecs = 1 (supervisord's default)",
        );
    }
    if !u.keys.iter().any(|(k, _, _)| k == "give_up_after") {
        u.set(
            "give_up_after",
            "4".into(),
            "startretries = 3 (supervisord's default): 4 starts",
        );
    }
    if let Some(codes) = codes {
        let list: Result<Vec<u8>, _> = codes.split(',').map(|c| c.trim().parse::<u8>()).collect();
        let list = list.map_err(|_| "exitcodes")?;
        let text: Vec<String> = list.iter().map(u8::to_string).collect();
        u.set(
            "success_exit_codes",
            format!("[{}]", text.join(", ")),
            format!("exitcodes = {codes}"),
        );
    }
    Ok(())
}

/// Where supervisord's log file setting sends output, as upkeep's `output`.
fn target(v: &str) -> String {
    match v {
        "AUTO" => "log".into(),
        "NONE" => "null".into(),
        "/dev/stdout" | "/dev/stderr" | "/dev/fd/1" | "/dev/fd/2" | "/proc/self/fd/1"
        | "/proc/self/fd/2" => "inherit".into(),
        path => path.to_string(),
    }
}

type Get<'a> = dyn Fn(&str) -> Result<Option<String>, String> + 'a;

/// `stdout_logfile`, `stderr_logfile`, `redirect_stderr` and their sizes -> `output`.
fn output(u: &mut Unit, get: &Get) -> Result<(), String> {
    let out = target(&get("stdout_logfile")?.unwrap_or_else(|| "AUTO".into()));
    if out != "log" {
        u.set("output", quote(&out), "stdout_logfile");
    }
    let file = !matches!(out.as_str(), "log" | "null" | "inherit");
    for (k, key) in [
        ("stdout_logfile_maxbytes", "output_max_size"),
        ("stdout_logfile_backups", "output_keep"),
    ] {
        let Some(v) = get(k)? else { continue };
        match (file, key) {
            (false, _) => u.note(k, &v, "nothing to rotate: output is not a file"),
            (true, "output_max_size") => match size(&v).filter(|s| s != "0") {
                Some(s) => u.set(key, quote(&s), format!("{k} = {v}")),
                None => u.note(k, &v, "upkeep always rotates at output_max_size"),
            },
            (true, _) => u.set(key, v.trim().to_string(), ""),
        }
    }
    let redirect = get("redirect_stderr")?.is_some_and(|v| boolean(&v) == Some(true));
    if redirect {
        return Ok(());
    }
    if let Some(err) = get("stderr_logfile")?
        && target(&err) != out
    {
        u.note(
            "stderr_logfile",
            &err,
            "stdout and stderr share the service's `output`",
        );
    }
    for k in ["stderr_logfile_maxbytes", "stderr_logfile_backups"] {
        if let Some(v) = get(k)? {
            u.note(k, &v, "stderr shares the service's `output`");
        }
    }
    Ok(())
}
