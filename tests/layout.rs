//! The source's shape limits: no file (tests aside) over 900 lines, and no function in the
//! core over 120, so that the state machines stay readable in one screenful per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 900;
const MAX_CORE_FN_LINES: usize = 120;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let is_tests = path
            .file_name()
            .is_some_and(|n| n == "tests" || n == "tests.rs");
        if is_tests {
            continue;
        }
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each `fn` with its length in lines: from its line to the closing brace at its indent.
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let head = trimmed
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ")
            .trim_start_matches("const ");
        let Some(rest) = head.strip_prefix("fn ") else {
            continue;
        };
        if line.trim_end().ends_with(';') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{indent}}}");
        let end = lines[i..]
            .iter()
            .position(|l| l.trim_end() == close)
            .map_or(lines.len() - i, |n| n + 1);
        found.push((name, end));
    }
    found
}

#[test]
fn no_source_file_is_over_900_lines() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "{files:?}");
    for f in files {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        assert!(n <= MAX_FILE_LINES, "{} has {n} lines", f.display());
    }
}

#[test]
fn no_core_function_is_over_120_lines() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core"),
        &mut files,
    );
    let mut seen = 0;
    for f in files {
        for (name, n) in functions(&std::fs::read_to_string(&f).unwrap()) {
            seen += 1;
            assert!(
                n <= MAX_CORE_FN_LINES,
                "{}: fn {name} has {n} lines",
                f.display()
            );
        }
    }
    assert!(
        seen > 100,
        "only {seen} functions found: the scan is broken"
    );
}

#[test]
fn the_function_scan_measures_what_it_should() {
    let text = "fn a() {\n    x();\n}\n\nimpl T {\n    pub fn b(&self) {\n        y();\n        z();\n    }\n    fn c();\n}\n";
    assert_eq!(
        functions(text),
        vec![("a".to_string(), 3), ("b".to_string(), 4)]
    );
}
