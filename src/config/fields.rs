//! Reading one TOML table with positions: the error collector and the typed getters every
//! table's keys are read with.

use std::ops::Range;
use std::time::Duration;

use toml_edit::{Item, TableLike, Value};

use super::expand::{Vars, expand};
use super::{ConfigError, closest, parse_duration, parse_size};
use crate::types::{shell, signame};

/// Collects errors with positions while the document is walked.
pub(crate) struct Checker<'a> {
    file: String,
    text: &'a str,
    /// What `${VAR}` reads.
    vars: &'a Vars,
    pub(crate) errors: Vec<ConfigError>,
}

static NO_VARS: Vars = Vars::new();

impl<'a> Checker<'a> {
    pub(crate) fn new(file: &str, text: &'a str) -> Checker<'a> {
        Checker::with_vars(file, text, &NO_VARS)
    }

    pub(crate) fn with_vars(file: &str, text: &'a str, vars: &'a Vars) -> Checker<'a> {
        Checker {
            file: file.to_string(),
            text,
            vars,
            errors: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let place = self.place(span);
        self.errors.push(ConfigError {
            message: message.into(),
            ..place
        });
    }

    /// The directory of the file being read: what its relative paths are relative to.
    pub(crate) fn dir(&self) -> std::path::PathBuf {
        std::path::Path::new(&self.file)
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The file, line and column of `span` (an error without its message yet).
    pub(crate) fn place(&self, span: Option<Range<usize>>) -> ConfigError {
        let offset = span.map_or(0, |s| s.start).min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            file: self.file.clone(),
            line,
            col,
            message: String::new(),
        }
    }

    /// A string value with its `${VAR}`s replaced; an error at the variable's own
    /// position (within the value at `span`) when one cannot be.
    pub(crate) fn expand(&mut self, raw: &str, span: Option<Range<usize>>) -> Option<String> {
        match expand(raw, self.vars) {
            Ok(v) => Some(v),
            Err(e) => {
                let at = span.clone().and_then(|s| {
                    let text = self.text.get(s.clone())?.as_bytes();
                    let token = e.token.as_bytes();
                    let k = text.windows(token.len()).position(|w| w == token)?;
                    Some(s.start + k)
                });
                self.error(at.map(|a| a..a).or(span), e.message);
                None
            }
        }
    }

    /// Reports every key of `table` not in `known`, with a hint when one is close.
    pub(crate) fn unknown_keys(&mut self, table: &dyn TableLike, known: &[&str], what: &str) {
        for (key, _) in table.iter() {
            if known.contains(&key) {
                continue;
            }
            let span = table.get_key_value(key).and_then(|(k, _)| k.span());
            let hint = closest(key, known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            self.error(span, format!("unknown key `{key}` in {what}{hint}"));
        }
    }
}

pub(crate) fn span_of(item: &Item) -> Option<Range<usize>> {
    item.span()
}

pub(crate) fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a datetime",
        Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

/// Typed getters over one table; each reports its own errors and returns None on them.
pub(crate) struct Fields<'t, 'c, 'a> {
    table: &'t dyn TableLike,
    pub(crate) checker: &'c mut Checker<'a>,
    pub(crate) what: String,
    /// The sub-table's name and a dot ("ready."), or nothing.
    pub(crate) prefix: &'static str,
}

impl<'t, 'c, 'a> Fields<'t, 'c, 'a> {
    pub(crate) fn new(
        table: &'t dyn TableLike,
        checker: &'c mut Checker<'a>,
        what: String,
        prefix: &'static str,
    ) -> Fields<'t, 'c, 'a> {
        Fields {
            table,
            checker,
            what,
            prefix,
        }
    }

    /// The value at `key` is of the right type but not allowed: `why`, at its position.
    pub(crate) fn invalid(&mut self, key: &str, why: String) {
        let span = self.item(key).and_then(span_of);
        let name = self.name(key);
        self.checker.error(span, format!("{name}: {why}"));
    }

    /// A duration that must be more than zero.
    pub(crate) fn positive_duration(&mut self, key: &str) -> Option<Duration> {
        match self.duration(key) {
            Some(d) if d.is_zero() => {
                self.invalid(key, "must be more than 0".into());
                None
            }
            other => other,
        }
    }

    /// How messages name `key`: "service `db` `ready.tcp`".
    pub(crate) fn name(&self, key: &str) -> String {
        format!("{} `{}{key}`", self.what, self.prefix)
    }

    pub(crate) fn item(&self, key: &str) -> Option<&'t Item> {
        let table: &'t dyn TableLike = self.table;
        table.get(key).filter(|i| !i.is_none())
    }

    pub(crate) fn wrong(&mut self, key: &str, want: &str) {
        let item = self.item(key).cloned().unwrap_or(Item::None);
        let got = type_name(&item);
        self.checker.error(
            span_of(&item),
            format!("{}: expected {want}, found {got}", self.name(key)),
        );
    }

    /// The value at `key` converted by `get`, or an "expected `want`" error.
    pub(crate) fn typed<T>(
        &mut self,
        key: &str,
        want: &str,
        get: impl Fn(&Item) -> Option<T>,
    ) -> Option<T> {
        let value = get(self.item(key)?);
        if value.is_none() {
            self.wrong(key, want);
        }
        value
    }

    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        let raw = self.typed(key, "a string", |i| i.as_str().map(str::to_string))?;
        let span = self.item(key).and_then(span_of);
        self.checker.expand(&raw, span)
    }

    pub(crate) fn boolean(&mut self, key: &str) -> Option<bool> {
        self.typed(key, "true or false", Item::as_bool)
    }

    pub(crate) fn count(&mut self, key: &str) -> Option<u32> {
        self.typed(key, "a whole number >= 0", |i| {
            i.as_integer().and_then(|n| u32::try_from(n).ok())
        })
    }

    pub(crate) fn duration(&mut self, key: &str) -> Option<Duration> {
        let want = "a duration (\"100ms\", \"10s\", \"5m\", \"1h\" or seconds)";
        self.measure(key, want, "duration", parse_duration)
            .map(|(whole, parsed)| whole.map_or(parsed, Duration::from_secs))
    }

    pub(crate) fn size(&mut self, key: &str) -> Option<u64> {
        self.measure(
            key,
            "a size (\"32KiB\", \"10MB\" or bytes)",
            "size",
            parse_size,
        )
        .map(|(whole, parsed)| whole.unwrap_or(parsed))
    }

    /// A quantity written as a whole number (returned as such) or as a string with a unit
    /// (returned parsed by `parse`); errors reported with their position.
    pub(crate) fn measure<T: Default>(
        &mut self,
        key: &str,
        want: &str,
        noun: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<(Option<u64>, T)> {
        let item = self.item(key)?;
        let span = span_of(item);
        let parsed = match item {
            Item::Value(Value::Integer(n)) => u64::try_from(*n.value())
                .map(|n| (Some(n), T::default()))
                .map_err(|_| format!("a {noun} cannot be negative")),
            Item::Value(Value::String(s)) => {
                let text = self.checker.expand(s.value(), span.clone())?;
                parse(&text).map(|v| (None, v))
            }
            _ => {
                self.wrong(key, want);
                return None;
            }
        };
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.checker.error(span, format!("{}: {e}", self.name(key)));
                None
            }
        }
    }

    pub(crate) fn signal(&mut self, key: &str) -> Option<i32> {
        let item = self.item(key)?;
        let span = span_of(item);
        let text = match item {
            Item::Value(Value::String(s)) => self.checker.expand(s.value(), span.clone())?,
            Item::Value(Value::Integer(n)) => n.value().to_string(),
            _ => {
                self.wrong(key, "a signal name such as \"TERM\"");
                return None;
            }
        };
        let sig = signame::parse(&text);
        if sig.is_none() {
            self.checker
                .error(span, format!("{}: unknown signal {text:?}", self.name(key)));
        }
        sig
    }

    /// A command: an argv array (exec'd directly) or a string (run by /bin/sh -c).
    pub(crate) fn command(&mut self, key: &str) -> Option<Vec<String>> {
        let item = self.item(key)?;
        let span = span_of(item);
        let argv = match item {
            Item::Value(Value::String(s)) => {
                let text = self.checker.expand(s.value(), span.clone())?;
                if text.trim().is_empty() {
                    None
                } else {
                    Some(shell(&text))
                }
            }
            Item::Value(Value::Array(a)) => {
                let mut words = Some(Vec::new());
                for v in a.iter() {
                    let word = v.as_str().map(|w| self.checker.expand(w, v.span()));
                    match (word, &mut words) {
                        (Some(Some(w)), Some(ws)) => ws.push(w),
                        // Reported already.
                        (Some(None), _) => return None,
                        _ => words = None,
                    }
                }
                match words {
                    None => {
                        self.checker.error(
                            span,
                            format!(
                                "{}: every word of the command must be a string",
                                self.name(key)
                            ),
                        );
                        return None;
                    }
                    Some(w) if w.first().is_none_or(|p| p.is_empty()) => None,
                    Some(w) => Some(w),
                }
            }
            _ => {
                self.wrong(
                    key,
                    "a command (an array of strings, or a string for /bin/sh -c)",
                );
                return None;
            }
        };
        if argv.is_none() {
            self.checker
                .error(span, format!("{}: the command is empty", self.name(key)));
        }
        argv
    }

    pub(crate) fn strings(&mut self, key: &str) -> Option<Vec<(String, Option<Range<usize>>)>> {
        let item = self.item(key)?;
        let arr = match item.as_array() {
            Some(a) => a,
            None => {
                self.wrong(key, "an array of strings");
                return None;
            }
        };
        let mut out = Vec::new();
        for v in arr.iter() {
            match v.as_str() {
                Some(s) => {
                    if let Some(s) = self.checker.expand(s, v.span()) {
                        out.push((s, v.span()));
                    }
                }
                None => {
                    self.checker
                        .error(v.span(), format!("{}: expected a string", self.name(key)));
                }
            }
        }
        Some(out)
    }

    /// One string, or an array of them.
    pub(crate) fn one_or_many(&mut self, key: &str) -> Option<Vec<(String, Option<Range<usize>>)>> {
        let item = self.item(key)?;
        if let Some(s) = item.as_str() {
            let span = span_of(item);
            return Some(vec![(self.checker.expand(s, span.clone())?, span)]);
        }
        if item.as_array().is_none() {
            self.wrong(key, "a string or an array of strings");
            return None;
        }
        self.strings(key)
    }

    pub(crate) fn string_map(&mut self, key: &str) -> Option<Vec<(String, String)>> {
        let item = self.item(key)?;
        let Some(table) = item.as_table_like() else {
            self.wrong(key, "a table of strings, e.g. { MODE = \"prod\" }");
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in table.iter() {
            let value = match v {
                Item::Value(Value::String(s)) => match self.checker.expand(s.value(), span_of(v)) {
                    Some(s) => s,
                    None => continue,
                },
                Item::Value(Value::Integer(n)) => n.value().to_string(),
                Item::Value(Value::Boolean(b)) => b.value().to_string(),
                _ => {
                    self.checker.error(
                        span_of(v),
                        format!(
                            "{}: expected a string, found {}",
                            self.name(&format!("{key}.{k}")),
                            type_name(v)
                        ),
                    );
                    continue;
                }
            };
            out.push((k.to_string(), value));
        }
        Some(out)
    }
}

pub(crate) fn table_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        _ => item.span(),
    }
}
