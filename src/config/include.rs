//! `[supervisor] include`: glob patterns (`*`, `?`, `[...]`) in file names, matched in one
//! directory each and read in sorted path order.

use std::path::{Path, PathBuf};

/// The files `pattern` names, sorted; relative patterns are relative to `base` (the main
/// config's directory). A pattern that matches nothing gives nothing: an empty conf.d.
pub fn expand_pattern(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = base.join(pattern);
    let dir = full.parent().unwrap_or(Path::new("/"));
    let Some(name) = full.file_name().and_then(|n| n.to_str()) else {
        return Err(format!("{pattern:?} names no file"));
    };
    if dir.to_str().is_some_and(has_glob) {
        return Err(format!(
            "{pattern:?}: a pattern may be in the file name only, not in a directory name"
        ));
    }
    if !has_glob(name) {
        // A plain path must exist: it was named on purpose.
        return Ok(vec![full]);
    }
    super::note_read(dir);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read directory {}: {e}", dir.display())),
    };
    let mut found: Vec<String> = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(n) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        // Hidden files (editors' swap files, `..data` of Kubernetes volumes) only when the
        // pattern asks for them.
        if (n.starts_with('.') && !name.starts_with('.')) || !glob(name, &n) {
            continue;
        }
        if entry.path().is_file() {
            // Sorted as they come: a directory of config files is short, and a sort of
            // its own would cost the static binary more than this loop.
            let at = found.partition_point(|f| f.as_str() < n.as_str());
            found.insert(at, n);
        }
    }
    Ok(found.into_iter().map(|n| dir.join(n)).collect())
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Whether `name` matches `pattern`: `*` any run, `?` one character, `[abc]`, `[a-z]`,
/// `[!x]` one of (or none of) a set.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Backtracking over the last `*` only: linear enough for file names.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let c = n.get(ni).copied().unwrap_or('\0');
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ni += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, len)) = class(p.get(pi + 1..).unwrap_or(&[]), c)
                    && matched
                {
                    pi += 1 + len;
                    ni += 1;
                    continue;
                }
            }
            Some(&pc) if pc == c => {
                pi += 1;
                ni += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|&c| c == '*')
}

/// A `[...]` class (after its `[`) against `c`: whether it matches, and how many pattern
/// characters it spans (with its `]`). None: no closing `]`.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let negate = matches!(p.first(), Some('!' | '^'));
    let start = usize::from(negate);
    let close = p.iter().skip(start + 1).position(|&x| x == ']')? + start + 1;
    let set = p.get(start..close)?;
    let mut matched = false;
    let mut k = 0;
    while let Some(&a) = set.get(k) {
        if set.get(k + 1) == Some(&'-')
            && let Some(&b) = set.get(k + 2)
        {
            matched |= a <= c && c <= b;
            k += 3;
        } else {
            matched |= a == c;
            k += 1;
        }
    }
    Some((matched != negate, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.toml", "web.toml"));
        assert!(!glob("*.toml", "web.toml.bak"));
        assert!(glob("??-*.toml", "10-db.toml"));
        assert!(glob("[0-9]*", "5x") && !glob("[0-9]*", "x5"));
        assert!(glob("[!.]*", "a") && !glob("[!.]*", ".a"));
        assert!(glob("a*b*c", "aXXbYYc") && !glob("a*b*c", "aXXbYY"));
        assert!(glob("*", ""));
    }

    #[test]
    fn files_in_sorted_order_and_errors() {
        let dir = std::env::temp_dir().join(format!("upkeep-inc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d")).unwrap();
        for f in ["b.toml", "a.toml", "c.txt", ".h.toml"] {
            std::fs::write(dir.join("d").join(f), "").unwrap();
        }
        let got = expand_pattern(&dir, "d/*.toml").unwrap();
        assert_eq!(got, vec![dir.join("d/a.toml"), dir.join("d/b.toml")]);
        assert_eq!(
            expand_pattern(&dir, "none/*.toml").unwrap(),
            Vec::<PathBuf>::new()
        );
        assert!(
            expand_pattern(&dir, "*/x.toml")
                .unwrap_err()
                .contains("directory")
        );
        assert_eq!(
            expand_pattern(&dir, "d/x.toml").unwrap(),
            vec![dir.join("d/x.toml")]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
