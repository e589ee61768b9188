//! An s6-overlay tree (v2 and v3) -> a `Draft`: `etc/cont-init.d` scripts become oneshots
//! run in name order, which every service comes after; `etc/services.d/NAME/run` and the
//! longruns of `etc/s6-overlay/s6-rc.d` become services; s6-rc oneshots keep their `up`
//! line as a command when it is a plain one. What s6 has and upkeep lacks is noted.

use std::path::{Path, PathBuf};

use super::{Draft, Unit, note, quote, quote_list, read_text, service_name};

pub(super) mod rc;

/// The entries of a directory, sorted by name; none when it does not exist.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let list = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for e in list.filter_map(Result::ok) {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Sorted as they come, as config::include does: a sort of its own would cost the
        // static binary more than this loop.
        let at = out.partition_point(|(n, _)| n.as_str() < name.as_str());
        out.insert(at, (name, e.path()));
    }
    Ok(out)
}

/// A small file's text, trimmed; None when it is absent.
fn small(path: &Path) -> Result<Option<String>, String> {
    if !path.exists() {
        return Ok(None);
    }
    read_text(path).map(|t| Some(t.trim().to_string()))
}

pub fn import(root: &Path) -> Result<Draft, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    let etc = root.join("etc");
    let mut draft = Draft::default();
    let mut last_init: Option<String> = None;
    for (name, path) in entries(&etc.join("cont-init.d"))? {
        if !path.is_file() {
            continue;
        }
        let mut u = Unit {
            name: service_name(&format!("cont-init-{name}")),
            origin: format!(
                "{} (s6-overlay cont-init.d: run once, in name order)",
                path.display()
            ),
            oneshot: true,
            ..Unit::default()
        };
        script_command(&mut u, &path)?;
        u.set("type", quote("oneshot"), "");
        if let Some(prev) = &last_init {
            u.set(
                "after",
                quote_list(&[prev]),
                "cont-init.d scripts run one after another",
            );
        }
        last_init = Some(u.name.clone());
        draft.units.push(u);
    }
    for (name, path) in entries(&etc.join("cont-finish.d"))? {
        draft.notes.push(note(
            &format!("cont-finish.d/{name}"),
            &path.display().to_string(),
            "upkeep runs nothing after the services stop; run it from COMMAND's wrapper",
        ));
    }
    if etc.join("fix-attrs.d").is_dir() {
        draft.notes.push(note(
            "fix-attrs.d",
            "",
            "set owners and modes in the image instead",
        ));
    }
    let first = draft.units.len();
    for (name, dir) in entries(&etc.join("services.d"))? {
        if !dir.join("run").is_file() {
            continue;
        }
        let mut u = Unit {
            name: service_name(&name),
            origin: format!("{} (s6-overlay services.d)", dir.display()),
            ..Unit::default()
        };
        longrun(&mut u, &dir)?;
        draft.units.push(u);
    }
    rc::import(&etc.join("s6-overlay/s6-rc.d"), &mut draft)?;
    // Every service comes after the last cont-init.d script (and so after all of them).
    if let Some(init) = last_init {
        for u in draft.units.iter_mut().skip(first) {
            let mut after = vec![init.clone()];
            after.append(&mut u.after);
            u.set("after", quote_list(&after), "cont-init.d scripts run first");
        }
    } else {
        for u in draft.units.iter_mut().skip(first) {
            if !u.after.is_empty() {
                let after = std::mem::take(&mut u.after);
                u.set("after", quote_list(&after), "dependencies.d");
            }
        }
    }
    Ok(draft)
}

/// `command` for a script: run as it is, but a `with-contenv` shebang is replaced by its
/// interpreter (upkeep passes its environment to every service without it).
fn script_command(u: &mut Unit, path: &Path) -> Result<(), String> {
    let text = read_text(path)?;
    let first = text.lines().next().unwrap_or("");
    let shown = path.display().to_string();
    let Some(shebang) = first.strip_prefix("#!") else {
        u.set("command", quote_list(&[&shown]), "");
        return Ok(());
    };
    let words: Vec<&str> = shebang.split_whitespace().collect();
    match words.iter().position(|w| w.ends_with("with-contenv")) {
        Some(at) if words.len() > at + 1 => {
            let mut argv: Vec<String> = words[at + 1..].iter().map(|w| w.to_string()).collect();
            argv.push(shown);
            u.set(
                "command",
                quote_list(&argv),
                "with-contenv dropped: services get upkeep's environment",
            );
        }
        _ if words.first().is_some_and(|w| w.ends_with("execlineb")) => {
            u.set(
                "command",
                quote_list(&[&shown]),
                "an execline script: execline must be installed",
            );
        }
        _ => u.set("command", quote_list(&[&shown]), ""),
    }
    Ok(())
}

/// A longrun's directory (`run`, `finish`, `down`, `notification-fd`, ...) -> keys.
pub(crate) fn longrun(u: &mut Unit, dir: &Path) -> Result<(), String> {
    script_command(u, &dir.join("run"))?;
    for (name, path) in entries(dir)? {
        let value = if path.is_file() {
            small(&path)?.unwrap_or_default()
        } else {
            String::new()
        };
        match name.as_str() {
            "run" | "type" | "dependencies" | "dependencies.d" => {}
            "down" => u.set(
                "enabled",
                "false".into(),
                "a `down` file: `upkeep start` it",
            ),
            "notification-fd" => match value.parse::<u32>() {
                Ok(fd) => u.set(
                    "ready.notify",
                    quote(&format!("fd:{fd}")),
                    "notification-fd",
                ),
                Err(_) => u.note(&name, &value, "not a number"),
            },
            "down-signal" => {
                let sig = value.trim_start_matches("SIG").to_string();
                match crate::types::signame::parse(&sig) {
                    Some(_) => u.set("stop_signal", quote(&sig), "down-signal"),
                    None => u.note(&name, &value, "not a signal name"),
                }
            }
            "timeout-kill" => match value.parse::<u64>() {
                Ok(ms) if ms > 0 => {
                    u.set("stop_timeout", quote(&format!("{ms}ms")), "timeout-kill")
                }
                _ => u.note(&name, &value, "upkeep always kills after stop_timeout"),
            },
            "finish" => u.note(
                &name,
                &path.display().to_string(),
                "no finish scripts: `diagnose` runs a command before each restart",
            ),
            "log" => u.note(
                "log/",
                &path.display().to_string(),
                "a logger service: upkeep keeps output itself (output = \"log\", `upkeep logs`)",
            ),
            _ => u.note(&name, &value, "no upkeep equivalent"),
        }
    }
    Ok(())
}
