//! `upkeep import PATH`: a supervisord config (a file) or an s6-overlay tree (a directory)
//! turned into an upkeep.toml. Each reader gives a `Draft` (services with their keys, and
//! `not imported` notes); `render` writes it as commented TOML. Pure but for reading the
//! input files, so the mapping is tested without a process.

pub mod ini;
mod s6;
mod supervisord;

use std::path::Path;

/// Inputs past this are not configs (a mistaken path to a log or an image).
const MAX_FILE: u64 = 1 << 20;

/// One service to write: its keys (TOML text, with why) and what was not imported.
#[derive(Debug, Default, Clone)]
pub struct Unit {
    pub name: String,
    /// Where it came from, as a comment above its table.
    pub origin: String,
    /// `(key, TOML value, why)`; why may be empty.
    pub keys: Vec<(String, String, String)>,
    /// `KEY = VALUE (why)`.
    pub notes: Vec<String>,
    /// `env`, written last as an inline table.
    pub env: Vec<(String, String)>,
    /// Names it comes after, before they are written as `after`.
    pub after: Vec<String>,
    pub oneshot: bool,
}

impl Unit {
    pub fn set(&mut self, key: &str, value: String, why: impl Into<String>) {
        self.keys.retain(|(k, _, _)| k != key);
        self.keys.push((key.to_string(), value, why.into()));
    }
    pub fn note(&mut self, key: &str, value: &str, why: &str) {
        self.notes.push(note(key, value, why));
    }
}

/// `KEY = VALUE (why)`, on one line.
pub fn note(key: &str, value: &str, why: &str) -> String {
    format!("{key} = {} ({why})", value.replace('\n', " "))
}

/// What a reader found.
#[derive(Debug, Default)]
pub struct Draft {
    /// `[supervisor]` keys: `(key, TOML value, why)`.
    pub settings: Vec<(String, String, String)>,
    /// Settings of the source that belong to no service, as notes.
    pub notes: Vec<String>,
    pub units: Vec<Unit>,
}

/// The result: the TOML text and the summary's numbers.
#[derive(Debug)]
pub struct Imported {
    pub toml: String,
    pub services: usize,
    pub oneshots: usize,
    pub not_imported: usize,
}

/// Why nothing was printed: exit 2 for input that could not be read, 1 when it held
/// nothing to import.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

fn unreadable(message: String) -> Failure {
    Failure { code: 2, message }
}

/// `upkeep import PATH`.
pub fn import(path: &Path) -> Result<Imported, Failure> {
    let meta = std::fs::metadata(path)
        .map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))?;
    let mut draft = if meta.is_dir() {
        s6::import(path).map_err(unreadable)?
    } else {
        supervisord::import(path).map_err(unreadable)?
    };
    unique_names(&mut draft.units);
    let imported = render(&format!("{}", path.display()), &draft);
    if imported.services + imported.oneshots == 0 {
        let what = if meta.is_dir() {
            "no s6-overlay service (etc/services.d, etc/cont-init.d, etc/s6-overlay/s6-rc.d)"
        } else {
            "no [program:x] section with a command"
        };
        return Err(Failure {
            code: 1,
            message: format!("{}: nothing to import: {what}", path.display()),
        });
    }
    Ok(imported)
}

/// A name met twice (two supervisord groups with the same process name, a services.d and
/// an s6-rc.d service) gets `-2`, `-3`...: one TOML table per service.
fn unique_names(units: &mut [Unit]) {
    let mut taken: Vec<String> = Vec::new();
    for u in units.iter_mut() {
        let mut name = u.name.clone();
        let mut n = 1;
        while taken.contains(&name) {
            n += 1;
            name = format!("{}-{n}", u.name);
        }
        if name != u.name {
            u.origin = format!("{} (renamed: {} was taken)", u.origin, u.name);
            u.name = name.clone();
        }
        taken.push(name);
    }
}

/// The text of a config file: UTF-8, no NUL, at most `MAX_FILE` bytes.
pub fn read_text(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{shown}: {} bytes is too big for a config (limit {MAX_FILE})",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.contains(&0) {
        return Err(format!("{shown}: a binary file, not a config"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8 text, not a config"))
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML array of strings.
pub fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// A literal string as upkeep reads it: `$` doubled, so `${` is not a variable.
pub fn literal(s: &str) -> String {
    s.replace('$', "$$")
}

/// A service name upkeep accepts (letters, digits, `-`, `_`, `.`).
pub fn service_name(s: &str) -> String {
    let name: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() { "_".into() } else { name }
}

/// A table key: bare when it can be.
fn table_key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        name.to_string()
    } else {
        quote(name)
    }
}

fn key_lines(out: &mut String, keys: &[(String, String, String)]) {
    for (k, v, why) in keys {
        let line = format!("{k} = {v}");
        if why.is_empty() {
            out.push_str(&format!("{line}\n"));
        } else {
            out.push_str(&format!("{line:<32} # {}\n", why.replace('\n', " ")));
        }
    }
}

/// The draft as commented TOML.
pub fn render(source: &str, draft: &Draft) -> Imported {
    let mut out = format!(
        "# upkeep.toml imported by `upkeep import {source}`.\n\
         # Lines `# not imported: KEY = VALUE (why)` are settings upkeep has no equivalent\n\
         # for. Check with `upkeep check -c FILE`.\n"
    );
    let mut not_imported = draft.notes.len();
    if !draft.settings.is_empty() {
        out.push_str("\n[supervisor]\n");
        key_lines(&mut out, &draft.settings);
    }
    if !draft.notes.is_empty() {
        out.push('\n');
        for n in &draft.notes {
            out.push_str(&format!("# not imported: {n}\n"));
        }
    }
    let (mut services, mut oneshots) = (0, 0);
    for u in &draft.units {
        if u.oneshot {
            oneshots += 1;
        } else {
            services += 1;
        }
        not_imported += u.notes.len();
        out.push_str(&format!("\n# {}\n", u.origin.replace('\n', " ")));
        out.push_str(&format!("[service.{}]\n", table_key(&u.name)));
        key_lines(&mut out, &u.keys);
        if !u.env.is_empty() {
            let pairs: Vec<String> = u
                .env
                .iter()
                .map(|(k, v)| format!("{} = {}", table_key(k), quote(v)))
                .collect();
            out.push_str(&format!("env = {{ {} }}\n", pairs.join(", ")));
        }
        for n in &u.notes {
            out.push_str(&format!("# not imported: {n}\n"));
        }
    }
    Imported {
        toml: out,
        services,
        oneshots,
        not_imported,
    }
}

#[cfg(test)]
mod tests;
