//! supervisord's config (INI) -> a `Draft`, with supervisord's semantics: its defaults
//! (autorestart=unexpected, startsecs=1, startretries=3) are written out, because upkeep's
//! differ; `%(name)s` references are expanded as supervisord expands them, except
//! `%(ENV_X)s`, which becomes `${X}` so that upkeep reads the environment where it runs.

use std::path::{Path, PathBuf};

use super::ini::{self, Section};
use super::{Draft, Unit, literal, note, quote, quote_list, read_text};

/// Includes deeper than this are a mistake, not a config.
const MAX_DEPTH: usize = 16;

/// A section and the directory of the file it is in (`%(here)s`).
struct Source {
    here: String,
    file: PathBuf,
    section: Section,
}

pub fn import(path: &Path) -> Result<Draft, String> {
    let mut sources = Vec::new();
    let mut notes = Vec::new();
    load(path, &mut Vec::new(), &mut sources, &mut notes)?;
    let mut draft = map(&sources)?;
    notes.append(&mut draft.notes);
    draft.notes = notes;
    Ok(draft)
}

/// Reads `path` and, after it, the files its `[include]` names (relative to it).
fn load(
    path: &Path,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Source>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let canon = path
        .canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if stack.contains(&canon) {
        let chain: Vec<String> = stack.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "include cycle: {} -> {}",
            chain.join(" -> "),
            canon.display()
        ));
    }
    if stack.len() >= MAX_DEPTH {
        return Err(format!("{}: includes nested too deep", path.display()));
    }
    let text = read_text(path)?;
    let sections = ini::parse(&text).map_err(|e| format!("{}:{e}", path.display()))?;
    let dir = canon.parent().unwrap_or(Path::new("/")).to_path_buf();
    let here = dir.display().to_string();
    let mut patterns = Vec::new();
    for s in sections {
        if s.name == "include" {
            let files = s.get("files").ok_or_else(|| {
                format!("{}:{}: [include] without `files`", path.display(), s.line)
            })?;
            let lookup = |n: &str| real_value(n, &here);
            let files = interpolate(files, &lookup, false)
                .map_err(|e| format!("{}:{}: files: {e}", path.display(), s.line))?;
            patterns.extend(files.split_whitespace().map(str::to_string));
            continue;
        }
        out.push(Source {
            here: here.clone(),
            file: canon.clone(),
            section: s,
        });
    }
    stack.push(canon);
    for pattern in patterns {
        let files = crate::config::include::expand_pattern(&dir, &pattern)?;
        let files: Vec<PathBuf> = files.into_iter().filter(|f| f.exists()).collect();
        if files.is_empty() {
            notes.push(note("[include] files", &pattern, "no file matches"));
        }
        for f in files {
            load(&f, stack, out, notes)?;
        }
    }
    stack.pop();
    Ok(())
}

/// A reference's value on this machine (for `[include] files`, read now).
fn real_value(name: &str, here: &str) -> Option<String> {
    match name {
        "here" => Some(here.to_string()),
        "host_node_name" => Some(host_name()),
        n => n.strip_prefix("ENV_").and_then(|v| std::env::var(v).ok()),
    }
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is ours and its length is passed; the result is NUL-terminated
    // or cut at the length, and only the bytes before the first NUL are read.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or(&[])).into_owned()
}

/// Python's `value % expansions`: `%%` is `%`, `%(name)[flags][width]conv` a reference.
/// `lookup` gives a reference's text; with `escape`, the rest has its `$` doubled.
pub fn interpolate(
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    escape: bool,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        let text = rest.get(..at).unwrap_or("");
        out.push_str(&if escape {
            literal(text)
        } else {
            text.to_string()
        });
        let after = rest.get(at + 1..).unwrap_or("");
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some(inner) = after.strip_prefix('(') else {
            return Err(format!("{value:?}: a `%` without `(name)s` (write `%%`)"));
        };
        let close = inner
            .find(')')
            .ok_or_else(|| format!("{value:?}: `%(` without its `)`"))?;
        let name = inner.get(..close).unwrap_or("");
        let spec = inner.get(close + 1..).unwrap_or("");
        let conv_at = spec
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| format!("{value:?}: `%({name})` without a conversion such as `s`"))?;
        let flags = spec.get(..conv_at).unwrap_or("");
        let conv = spec.get(conv_at..conv_at + 1).unwrap_or("s");
        if !flags
            .chars()
            .all(|c| c.is_ascii_digit() || "-+ #.".contains(c))
            || !"sdirf".contains(conv)
        {
            return Err(format!("{value:?}: bad format `%({name}){flags}{conv}`"));
        }
        let found =
            lookup(name).ok_or_else(|| format!("%({name}) names nothing supervisord knows"))?;
        out.push_str(&pad(&found, flags, conv));
        rest = spec.get(conv_at + 1..).unwrap_or("");
    }
    out.push_str(&if escape {
        literal(rest)
    } else {
        rest.to_string()
    });
    Ok(out)
}

/// `%02d`, `%5s`, `%-5s` applied to a value.
fn pad(value: &str, flags: &str, conv: &str) -> String {
    let left = flags.contains('-');
    let digits: String = flags
        .trim_start_matches(['-', '+', ' ', '#'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let zero = digits.starts_with('0') && !left && conv != "s";
    let width: usize = digits.parse().unwrap_or(0);
    match (value.parse::<i64>(), conv) {
        (Ok(n), "d" | "i") if zero => format!("{n:0width$}"),
        _ if left => format!("{value:<width$}"),
        _ => format!("{value:>width$}"),
    }
}

/// supervisord's booleans.
fn boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// supervisord's sizes (`KB`, `MB`, `GB` are powers of 1024) as upkeep writes them.
fn size(v: &str) -> Option<String> {
    let up = v.trim().to_ascii_uppercase();
    for (suffix, unit) in [("KB", "KiB"), ("MB", "MiB"), ("GB", "GiB")] {
        if let Some(n) = up.strip_suffix(suffix) {
            return n.trim().parse::<u64>().ok().map(|n| format!("{n}{unit}"));
        }
    }
    up.parse::<u64>().ok().map(|n| n.to_string())
}

/// The draft of every section.
fn map(sources: &[Source]) -> Result<Draft, String> {
    let mut draft = Draft::default();
    // Program -> group, from `[group:x] programs=`.
    let mut groups: Vec<(String, String)> = Vec::new();
    for s in sources {
        if let Some(g) = s.section.name.strip_prefix("group:") {
            for p in s.section.get("programs").unwrap_or("").split(',') {
                groups.push((p.trim().to_string(), g.to_string()));
            }
        }
    }
    let mut priorities: Vec<(String, i64)> = Vec::new();
    let mut daemon = Vec::new();
    for s in sources {
        let name = s.section.name.as_str();
        let at = format!("{}:{}", s.file.display(), s.section.line);
        if let Some(program) = name.strip_prefix("program:") {
            let group = groups
                .iter()
                .find(|(p, _)| p == program)
                .map_or(program, |(_, g)| g.as_str());
            for (unit, priority) in program_units(s, program, group, &at)? {
                priorities.push((unit.name.clone(), priority));
                draft.units.push(unit);
            }
        } else if name == "supervisord" {
            daemon.push(&s.section);
        } else {
            let why = other_section_why(name);
            for (k, v) in &s.section.entries {
                draft.notes.push(note(&format!("[{name}] {k}"), v, why));
            }
        }
    }
    // After the programs: its environment goes into theirs.
    for section in daemon {
        supervisord_section(section, &mut draft);
    }
    order_by_priority(&mut draft.units, &priorities);
    Ok(draft)
}

fn other_section_why(name: &str) -> &'static str {
    match name.split(':').next().unwrap_or("") {
        "unix_http_server" | "inet_http_server" | "supervisorctl" | "rpcinterface" => {
            "upkeep's control socket and `upkeep status|start|stop` replace supervisorctl"
        }
        "group" => "upkeep has no groups: name the services to `upkeep start|stop`",
        "eventlistener" => "no event listeners in upkeep: `diagnose` runs before each restart",
        "fcgi-program" => "upkeep does not hold FastCGI sockets",
        _ => "a section supervisord does not know",
    }
}

/// `[supervisord]`: `loglevel` and `environment` carry over; the rest is about the daemon.
fn supervisord_section(s: &Section, draft: &mut Draft) {
    for (k, v) in &s.entries {
        let why = match k.as_str() {
            "loglevel" => {
                let level = match v.to_ascii_lowercase().as_str() {
                    "critical" | "error" => "error",
                    "warn" => "warn",
                    "debug" | "trace" | "blather" => "debug",
                    _ => "info",
                };
                draft
                    .settings
                    .push(("log_level".into(), quote(level), format!("loglevel = {v}")));
                continue;
            }
            "environment" => {
                // Every program's environment, under its own (supervisord does the same).
                if let Ok(pairs) = ini::key_value_pairs(v) {
                    let pairs: Vec<_> = pairs.into_iter().map(|(k, v)| (k, literal(&v))).collect();
                    for u in &mut draft.units {
                        add_env(u, &pairs, false);
                    }
                    continue;
                }
                "not KEY=VALUE pairs"
            }
            "nodaemon" => "upkeep always runs in the foreground",
            "logfile" | "logfile_maxbytes" | "logfile_backups" | "silent" => {
                "upkeep logs to stderr; `log = FILE` in [supervisor] sends its log to a file"
            }
            "pidfile" => "upkeep writes no pidfile; its control socket answers `upkeep status`",
            "user" => "run upkeep itself as that user; services take `user`",
            "childlogdir" => "output = \"log\" keeps each service's output (`upkeep logs NAME`)",
            "minfds" | "minprocs" => "set limits with ulimit or the container runtime",
            _ => "a setting of supervisord itself",
        };
        draft
            .notes
            .push(note(&format!("[supervisord] {k}"), v, why));
    }
}

/// Adds `pairs` to a unit's `env` table; `over`: they win over what is there.
pub(super) fn add_env(u: &mut Unit, pairs: &[(String, String)], over: bool) {
    let mut env: Vec<(String, String)> = u.env.clone();
    for (k, v) in pairs {
        match env.iter_mut().find(|(e, _)| e == k) {
            Some(slot) if over => slot.1 = v.clone(),
            Some(_) => {}
            None => env.push((k.clone(), v.clone())),
        }
    }
    u.env = env;
}

/// Each priority level comes `after` the level before it: supervisord starts lower
/// priorities first and stops them last.
fn order_by_priority(units: &mut [Unit], priorities: &[(String, i64)]) {
    // Sorted and deduplicated by insertion: no sort of its own in the static binary.
    let mut levels: Vec<i64> = Vec::new();
    for &(_, p) in priorities {
        if let Err(at) = levels.binary_search(&p) {
            levels.insert(at, p);
        }
    }
    for u in units.iter_mut() {
        let Some(&(_, p)) = priorities.iter().find(|(n, _)| *n == u.name) else {
            continue;
        };
        let Some(&before) = levels.iter().rev().find(|&&l| l < p) else {
            continue;
        };
        let names: Vec<&str> = priorities
            .iter()
            .filter(|(_, q)| *q == before)
            .map(|(n, _)| n.as_str())
            .collect();
        u.set(
            "after",
            quote_list(&names),
            format!("priority = {p}: started after priority {before}, stopped before it"),
        );
    }
}

mod program;
use program::program_units;

#[cfg(test)]
mod tests;
