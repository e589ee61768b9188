//! The main config and the files it includes, gathered into one set of services and
//! watches: names unique across files, every error in the file it is in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Table};

use super::accounts::Accounts;
use super::expand::Vars;
use super::fields::{Checker, span_of};
use super::graph::{Defined, check_after, find_cycle};
use super::include::expand_pattern;
use super::keys::{parse_service, parse_watch};
use super::{ConfigError, Service, Watch, read_config, sections};

/// What the files define so far.
#[derive(Default)]
pub(super) struct Gathered {
    pub services: Vec<Service>,
    pub watches: Vec<Watch>,
    /// Where each service or watch was defined (names are unique across both), and a
    /// service's `after` (even of one with other errors, so that all are checked).
    defined: BTreeMap<String, Defined>,
    pub errors: Vec<ConfigError>,
    /// Files read, the main one included.
    pub files: usize,
}

/// A TOML document, or its syntax error reported.
pub(super) fn document(text: &str, checker: &mut Checker) -> Option<ImDocument<String>> {
    match ImDocument::parse(text.to_string()) {
        Ok(doc) => Some(doc),
        Err(e) => {
            let message = e.message().trim().to_string();
            checker.error(e.span(), format!("invalid TOML: {message}"));
            None
        }
    }
}

impl Gathered {
    /// The `[service.*]` and `[watch.*]` tables of one file's `root`.
    pub fn tables(
        &mut self,
        root: &Table,
        defaults: &Service,
        accounts: &Accounts,
        checker: &mut Checker,
    ) {
        self.files += 1;
        for (name, item, name_span) in sections(root, "service", checker) {
            let (svc, after) = parse_service(&name, item, defaults, accounts, checker);
            let place = checker.place(name_span);
            let mut places = Vec::with_capacity(after.len());
            for (dep, span) in after {
                places.push((dep, checker.place(span)));
            }
            if self.first_definition("service", &name, place, Some(places)) {
                self.services.extend(svc);
            }
        }
        for (name, item, name_span) in sections(root, "watch", checker) {
            let place = checker.place(name_span);
            let watch = parse_watch(&name, item, checker);
            if self.first_definition("watch", &name, place, None) {
                self.watches.extend(watch);
            }
        }
    }

    /// Records where `name` is defined; false (and an error naming both places) when it
    /// was defined before.
    fn first_definition(
        &mut self,
        kind: &str,
        name: &str,
        place: ConfigError,
        after: Option<Vec<(String, ConfigError)>>,
    ) -> bool {
        if let Some((first, _)) = self.defined.get(name) {
            let at = format!("{}:{}:{}", first.file, first.line, first.col);
            self.errors.push(ConfigError {
                message: format!("{kind} `{name}`: the name is already defined at {at}"),
                ..place
            });
            return false;
        }
        self.defined.insert(name.to_string(), (place, after));
        true
    }

    /// Reads the files `patterns` name (relative to `main`'s directory), in sorted order;
    /// errors about a pattern go at `at` in the main file.
    pub fn includes(
        &mut self,
        main: &Path,
        patterns: &[String],
        at: &ConfigError,
        (vars, defaults, accounts): (&Vars, &Service, &Accounts),
    ) {
        let base = main.parent().unwrap_or(Path::new("/"));
        let mut seen: Vec<PathBuf> = vec![main.to_path_buf()];
        for pattern in patterns {
            let files = match expand_pattern(base, pattern) {
                Ok(files) => files,
                Err(e) => {
                    self.error_at(at, format!("[supervisor] `include`: {e}"));
                    continue;
                }
            };
            for file in files {
                if seen.contains(&file) {
                    continue;
                }
                seen.push(file.clone());
                match read_config(&file) {
                    Ok(text) => self.included(&file, &text, vars, defaults, accounts),
                    Err(e) => {
                        let why = format!("[supervisor] `include`: {}: {e}", file.display());
                        self.error_at(at, why);
                    }
                }
            }
        }
    }

    fn included(
        &mut self,
        file: &Path,
        text: &str,
        vars: &Vars,
        defaults: &Service,
        accounts: &Accounts,
    ) {
        let mut checker = Checker::with_vars(&file.display().to_string(), text, vars);
        if let Some(doc) = document(text, &mut checker) {
            let root = doc.as_table();
            if let Some(sup) = root.get("supervisor") {
                let why = if sup.get("include").is_some() {
                    "an included file cannot include: `include` belongs in the main config's [supervisor]"
                } else {
                    "[supervisor] belongs in the main config: an included file holds only [service.*] and [watch.*] tables"
                };
                checker.error(span_of(sup).or_else(|| key_span(root, "supervisor")), why);
            }
            let known = ["service", "watch", "supervisor"];
            checker.unknown_keys(root, &known, "an included file");
            self.tables(root, defaults, accounts, &mut checker);
        }
        self.errors.append(&mut checker.errors);
    }

    fn error_at(&mut self, at: &ConfigError, message: String) {
        self.errors.push(ConfigError {
            message,
            ..at.clone()
        });
    }

    /// The checks across files: `after` targets and cycles.
    pub fn check_graph(&mut self) {
        check_after(&self.defined, &mut self.errors);
        if let Some(cycle) = find_cycle(&self.services) {
            let first = cycle.first().cloned().unwrap_or_default();
            let place = self.defined.get(&first).map(|(place, after)| {
                let dep = after.as_ref().and_then(|a| a.first()).map(|(_, p)| p);
                dep.unwrap_or(place).clone()
            });
            if let Some(place) = place {
                let message = format!("`after` has a cycle: {}", cycle.join(" -> "));
                self.errors.push(ConfigError { message, ..place });
            }
        }
    }
}

fn key_span(root: &Table, key: &str) -> Option<std::ops::Range<usize>> {
    root.get_key_value(key).and_then(|(k, _)| k.span())
}

/// Where `[supervisor] include` was written in the main file.
pub(super) fn include_place(root: &Table, checker: &Checker) -> ConfigError {
    let span = root
        .get("supervisor")
        .and_then(|s| s.get("include"))
        .and_then(span_of);
    checker.place(span)
}
