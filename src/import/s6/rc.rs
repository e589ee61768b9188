//! `etc/s6-overlay/s6-rc.d` (s6-overlay v3): longruns, oneshots and bundles; what the
//! `user` bundle reaches is enabled, the rest is defined but `enabled = false`.

use std::path::{Path, PathBuf};

use super::{entries, longrun, small};
use crate::import::{Draft, Unit, note, quote, quote_list, service_name};

/// s6-overlay's own services: everything comes after them anyway.
const OVERLAY: &[&str] = &[
    "base",
    "legacy-cont-init",
    "fix-attrs",
    "s6rc-oneshot-runner",
    "s6rc-fdholder",
];

/// Execline's commands: an `up` line starting with one is a script, not a command.
const EXECLINE: &[&str] = &[
    "if",
    "ifelse",
    "ifte",
    "ifthenelse",
    "foreground",
    "background",
    "importas",
    "multisubstitute",
    "backtick",
    "define",
    "multidefine",
    "redirfd",
    "fdmove",
    "fdclose",
    "fdswap",
    "cd",
    "export",
    "unexport",
    "elglob",
    "forx",
    "forbacktickx",
    "pipeline",
    "piperw",
    "emptyenv",
    "exec",
    "heredoc",
    "loopwhilex",
    "s6-envuidgid",
    "s6-setuidgid",
    "withstdinas",
    "wait",
    "trap",
    "case",
    "envfile",
    "getcwd",
    "homeof",
    "runblock",
    "shift",
    "dollarat",
    "elgetpositionals",
    "tryexec",
    "umask",
    "posix-cd",
    "posix-umask",
];

struct Def {
    name: String,
    path: PathBuf,
    kind: String,
    deps: Vec<String>,
    contents: Vec<String>,
}

/// Names in `dir/NAME.d/` (one empty file each) and in the older `dir/NAME` list file.
fn names(dir: &Path, list: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = entries(&dir.join(format!("{list}.d")))?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    if let Some(text) = small(&dir.join(list))? {
        out.extend(text.split_whitespace().map(str::to_string));
    }
    Ok(out)
}

pub fn import(dir: &Path, draft: &mut Draft) -> Result<(), String> {
    let mut defs = Vec::new();
    for (name, path) in entries(dir)? {
        if !path.is_dir() {
            continue;
        }
        let Some(kind) = small(&path.join("type"))? else {
            draft
                .notes
                .push(note(&format!("s6-rc.d/{name}"), "", "no `type` file"));
            continue;
        };
        let deps = names(&path, "dependencies")?;
        let contents = names(&path, "contents")?;
        defs.push(Def {
            name,
            path,
            kind,
            deps,
            contents,
        });
    }
    let enabled = reach(&defs);
    let legacy: Vec<String> = draft
        .units
        .iter()
        .filter(|u| !u.oneshot)
        .map(|u| u.name.clone())
        .collect();
    for d in defs
        .iter()
        .filter(|d| d.kind == "longrun" || d.kind == "oneshot")
    {
        let mut u = Unit {
            name: service_name(&d.name),
            origin: format!("{} (s6-rc {})", d.path.display(), d.kind),
            oneshot: d.kind == "oneshot",
            ..Unit::default()
        };
        if u.oneshot {
            oneshot(&mut u, &d.path)?;
        } else {
            longrun(&mut u, &d.path)?;
        }
        for dep in &d.deps {
            if dep == "legacy-services" {
                u.after.extend(legacy.iter().cloned());
            } else if OVERLAY.contains(&dep.as_str()) {
            } else if defs.iter().any(|x| &x.name == dep) {
                u.after
                    .extend(members(&defs, dep, 0).into_iter().map(|m| service_name(&m)));
            } else {
                u.note("dependencies.d", dep, "not defined in s6-rc.d");
            }
        }
        if !enabled.contains(&d.name) {
            u.set("enabled", "false".into(), "not in the `user` bundle");
        }
        draft.units.push(u);
    }
    Ok(())
}

/// The longruns and oneshots `name` stands for (a bundle: its members, recursively).
fn members(defs: &[Def], name: &str, depth: usize) -> Vec<String> {
    match defs.iter().find(|d| d.name == name) {
        Some(d) if d.kind == "bundle" && depth < 16 => d
            .contents
            .iter()
            .flat_map(|c| members(defs, c, depth + 1))
            .collect(),
        Some(d) if d.kind != "bundle" => vec![d.name.clone()],
        _ => Vec::new(),
    }
}

/// What s6-rc starts: the `user` and `user2` bundles, their members' dependencies, ...
fn reach(defs: &[Def]) -> Vec<String> {
    let mut todo: Vec<String> = vec!["user".into(), "user2".into()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(n) = todo.pop() {
        if seen.contains(&n) {
            continue;
        }
        if let Some(d) = defs.iter().find(|d| d.name == n) {
            todo.extend(d.contents.iter().cloned());
            todo.extend(d.deps.iter().cloned());
        }
        seen.push(n);
    }
    seen
}

/// The words of a plain command line of execline (`"..."` quoted), or None for a script.
pub fn plain_command(up: &str) -> Option<Vec<String>> {
    let text: Vec<&str> = up
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let words = crate::import::ini::shlex_split(&text.join(" ")).ok()?;
    let plain = words
        .first()
        .is_some_and(|w| !EXECLINE.contains(&w.as_str()))
        && words
            .iter()
            .all(|w| w != "{" && w != "}" && w != "\"\"" && !w.contains('$'));
    plain.then_some(words)
}

/// An s6-rc oneshot's directory: `up` is one execline command line.
fn oneshot(u: &mut Unit, dir: &Path) -> Result<(), String> {
    u.set("type", quote("oneshot"), "");
    let up = small(&dir.join("up"))?.unwrap_or_default();
    let mut words = plain_command(&up);
    if let Some(w) = &mut words
        && w.first().is_some_and(|f| f == "with-contenv")
    {
        w.remove(0);
    }
    match words.filter(|w| !w.is_empty()) {
        Some(w) => u.set("command", quote_list(&w), "up"),
        None => {
            u.set(
                "command",
                quote_list(&["execlineb", "-Pc", &crate::import::literal(&up)]),
                "up: execline must be installed",
            );
            u.note(
                "up",
                &up,
                "an execline script, not a plain command: kept for execlineb",
            );
        }
    }
    for (name, path) in entries(dir)? {
        let value = small(&path).ok().flatten().unwrap_or_default();
        match name.as_str() {
            "up" | "type" | "dependencies" | "dependencies.d" => {}
            "timeout-up" => match value.parse::<u64>() {
                Ok(ms) if ms > 0 => u.set("run_timeout", quote(&format!("{ms}ms")), "timeout-up"),
                _ => {}
            },
            "down" => u.note(
                &name,
                &value,
                "upkeep runs nothing when a oneshot is stopped",
            ),
            _ => u.note(&name, &value, "no upkeep equivalent"),
        }
    }
    Ok(())
}
