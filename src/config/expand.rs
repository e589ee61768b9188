//! `${VAR}` in the config's string values, and env files. Both are text in, text out:
//! a value from the environment is never parsed as TOML, and an env file's values are
//! taken as they are (no expansion inside).

/// upkeep's own environment, as `${VAR}` reads it: a list (a few dozen names, looked up
/// only at each `${`), the same type as every service's `env`.
pub type Vars = Vec<(String, String)>;

fn lookup<'v>(vars: &'v Vars, name: &str) -> Option<&'v String> {
    vars.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The environment of this process (names and values that are not UTF-8 are left out).
pub fn process_vars() -> Vars {
    let mut vars = Vars::new();
    for (k, v) in std::env::vars_os() {
        if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
            vars.push((k, v));
        }
    }
    vars
}

/// Why a value could not be expanded: what to say, and the text it is about (to find
/// its position in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    pub token: String,
    pub message: String,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset) replaced; `$$`
/// is `$`; any other `$` is left as it is. The default is taken literally.
pub fn expand(text: &str, vars: &Vars) -> Result<String, ExpandError> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(rest.get(..at).unwrap_or(""));
        let after = rest.get(at + 1..).unwrap_or("");
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(inner) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(close) = inner.find('}') else {
            return Err(ExpandError {
                token: "${".into(),
                message: "`${` without its closing `}` (write `$$` for a literal `$`)".into(),
            });
        };
        let body = inner.get(..close).unwrap_or("");
        rest = inner.get(close + 1..).unwrap_or("");
        let (name, default) = match body.find([':', '-']) {
            Some(k) => {
                let (name, op) = body.split_at(k);
                match op.strip_prefix(":-") {
                    Some(d) => (name, Some((d, true))),
                    None => (name, op.strip_prefix('-').map(|d| (d, false))),
                }
            }
            None => (body, None),
        };
        let token = format!("${{{body}");
        if !is_name(name) || (body.len() > name.len() && default.is_none()) {
            return Err(ExpandError {
                message: format!(
                    "`${{{body}}}` is not a variable: use ${{NAME}}, ${{NAME:-default}} or ${{NAME-default}}"
                ),
                token,
            });
        }
        match (lookup(vars, name), default) {
            (Some(v), Some((d, true))) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(v),
            (None, Some((d, _))) => out.push_str(d),
            (None, None) => {
                return Err(ExpandError {
                    message: format!(
                        "variable {name} is not set (give a default with ${{{name}:-...}})"
                    ),
                    token,
                });
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// An env file's `KEY=VALUE` lines, in order; errors as (line number, message).
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let n = k + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            return Err((n, "expected KEY=VALUE".into()));
        };
        let key = key.trim_end();
        if !is_name(key) {
            return Err((n, format!("{key:?} is not a variable name")));
        }
        let value = value.trim_start();
        let value = if let Some(q) = value.strip_prefix('\'') {
            let (v, tail) = q
                .split_once('\'')
                .ok_or((n, "unterminated '".to_string()))?;
            trailing(tail, n)?;
            v.to_string()
        } else if let Some(q) = value.strip_prefix('"') {
            let (v, tail) = double_quoted(q).ok_or((n, "unterminated \"".to_string()))?;
            trailing(tail, n)?;
            v
        } else {
            value.to_string()
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// After a closing quote: nothing, or a comment.
fn trailing(tail: &str, n: usize) -> Result<(), (usize, String)> {
    let tail = tail.trim();
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err((n, format!("unexpected {tail:?} after the closing quote")))
    }
}

/// The value of a double-quoted string (`\n`, `\"`, `\\`) and what follows it.
fn double_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, s.get(i + 1..).unwrap_or(""))),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    None
}

/// `base` with each of `over` set: an existing key takes the new value in place, a new
/// one is added at the end (a child's environment must not hold a name twice).
pub fn merge_env(base: &mut Vec<(String, String)>, over: &[(String, String)]) {
    for (k, v) in over {
        match base.iter_mut().find(|(bk, _)| bk == k) {
            Some(slot) => slot.1.clone_from(v),
            None => base.push((k.clone(), v.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [
            ("PORT", "9090"),
            ("EMPTY", ""),
            ("EVIL", "\"\ncommand = [\"rm\"]"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn forms_of_variables() {
        let v = vars();
        let ok = |t: &str| expand(t, &v).unwrap();
        assert_eq!(ok("--port=${PORT}"), "--port=9090");
        assert_eq!(
            ok("${NOPE:-8080} ${EMPTY:-d} ${EMPTY-d} ${NOPE-x}"),
            "8080 d  x"
        );
        assert_eq!(ok("$$ $$$$ $HOME ${PORT}$"), "$ $$ $HOME 9090$");
        assert_eq!(ok("plain"), "plain");
        // A value is text, never TOML.
        assert_eq!(ok("${EVIL}"), "\"\ncommand = [\"rm\"]");
    }

    #[test]
    fn errors_name_the_variable() {
        let v = vars();
        let e = expand("x ${DATABASE_URL} y", &v).unwrap_err();
        assert_eq!(e.token, "${DATABASE_URL");
        assert!(e.message.contains("variable DATABASE_URL is not set"));
        assert!(
            expand("${PORT", &v)
                .unwrap_err()
                .message
                .contains("closing")
        );
        assert!(
            expand("${1X}", &v)
                .unwrap_err()
                .message
                .contains("not a variable")
        );
        assert!(
            expand("${A:B}", &v)
                .unwrap_err()
                .message
                .contains("not a variable")
        );
    }

    #[test]
    fn env_files() {
        let text = "# c\n\nexport A=1\nB = two words \nC='lit $X \\n'\nD=\"a\\nb \\\"q\\\" \\\\\" # c\nE=\n";
        let got = parse_env_file(text).unwrap();
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "lit $X \\n"),
            ("D", "a\nb \"q\" \\"),
            ("E", ""),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(parse_env_file("A=1\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(parse_env_file("1A=1").unwrap_err().0, 1);
        assert_eq!(parse_env_file("A='x").unwrap_err().0, 1);
        assert_eq!(parse_env_file("A=\"x\" y").unwrap_err().0, 1);
    }

    #[test]
    fn merging_keeps_one_of_each_name() {
        let mut env = vec![("A".to_string(), "1".to_string())];
        merge_env(
            &mut env,
            &[("B".into(), "2".into()), ("A".into(), "3".into())],
        );
        assert_eq!(
            env,
            vec![("A".into(), "3".into()), ("B".into(), "2".into())]
        );
    }
}
