//! The INI dialect supervisord reads (Python's RawConfigParser as supervisord sets it up):
//! `[section]` headers, `key = value` or `key: value`, `;` and `#` comment lines, inline
//! comments after whitespace, and indented continuation lines. Written by hand: small.

/// One `[section]`, its keys (lowercased, as optionxform does) in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The line of its header, 1-based.
    pub line: usize,
    pub entries: Vec<(String, String)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        // A key given twice: the last one wins (strict = False).
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The text without an inline comment: `;` or `#` after whitespace starts one.
fn strip_inline(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b';' | b'#') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return line.get(..i).unwrap_or(line);
        }
    }
    line
}

/// The sections of `text`, or `LINE: message` for the first malformed line.
pub fn parse(text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    // Whether the previous line set a value that an indented line may continue.
    let mut in_value = false;
    let mut current: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            in_value = false;
            continue;
        }
        if trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        let text = strip_inline(raw).trim_end();
        let indented = raw.starts_with([' ', '\t']);
        if indented && in_value {
            if let Some((_, v)) = current
                .and_then(|c| sections.get_mut(c))
                .and_then(|s| s.entries.last_mut())
            {
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(text.trim());
            }
            continue;
        }
        let body = text.trim();
        if let Some(name) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
            let name = name.trim().to_string();
            // A section given twice adds to the first (strict = False).
            current = Some(match sections.iter().position(|s| s.name == name) {
                Some(at) => at,
                None => {
                    sections.push(Section {
                        name,
                        line: line_no,
                        entries: Vec::new(),
                    });
                    sections.len() - 1
                }
            });
            in_value = false;
            continue;
        }
        let Some(cut) = body.find(['=', ':']) else {
            return Err(format!(
                "{line_no}: expected `[section]` or `key = value`, not {body:?}"
            ));
        };
        let key = body[..cut].trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(format!("{line_no}: a value without a key: {body:?}"));
        }
        let Some(section) = current.and_then(|c| sections.get_mut(c)) else {
            return Err(format!("{line_no}: {key:?} before any [section] header"));
        };
        section
            .entries
            .push((key, body[cut + 1..].trim().to_string()));
        in_value = true;
    }
    Ok(sections)
}

/// Words of a command as Python's `shlex.split` makes them: whitespace separates, `'...'`
/// is literal, `"..."` takes `\"`, `\\`, `\$` and `` \` `` escapes, `\` escapes outside.
pub fn shlex_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => w.push(e),
                            Some('\n') => {}
                            Some(e) => {
                                w.push('\\');
                                w.push(e);
                            }
                            None => return Err("no closing quotation".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => return Err("no escaped character".into()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// `A="1",B=two` as supervisord's `environment` reads it: KEY=VALUE pairs separated by
/// commas, values optionally quoted (a quoted value may hold commas).
pub fn key_value_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut parts: Vec<String> = vec![String::new()];
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (None, ',') => parts.push(String::new()),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (_, c) => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    if quote.is_some() {
        return Err("no closing quotation".into());
    }
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("{part:?} is not KEY=VALUE"));
        };
        pairs.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_comments_and_continuations() {
        let text = "; top\n[program:a]\ncommand = /bin/cat ; a comment\nCommand2: x;y\n\
                    environment=A=1,\n  B=2\n# c\n[program:b]\nnumprocs=2 # n\n";
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "program:a");
        assert_eq!(s[0].get("command"), Some("/bin/cat"));
        assert_eq!(s[0].get("command2"), Some("x;y"));
        assert_eq!(s[0].get("environment"), Some("A=1,\nB=2"));
        assert_eq!(s[1].get("numprocs"), Some("2"));
        assert_eq!(s[1].line, 8);
    }

    #[test]
    fn malformed_lines() {
        assert!(parse("key=1\n").unwrap_err().starts_with("1:"));
        assert!(parse("[a]\njust words\n").unwrap_err().starts_with("2:"));
        assert!(parse("[a]\n=1\n").is_err());
    }

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            shlex_split(r#"nginx -g 'daemon off;' "a \"b\"" c\ d"#).unwrap(),
            ["nginx", "-g", "daemon off;", "a \"b\"", "c d"]
        );
        assert!(shlex_split("a 'b").is_err());
    }

    #[test]
    fn environment_pairs() {
        assert_eq!(
            key_value_pairs(r#"A="1,2",B='x', C=3"#).unwrap(),
            [("A", "1,2"), ("B", "x"), ("C", "3")].map(|(a, b)| (a.into(), b.into()))
        );
        assert!(key_value_pairs("A").is_err());
    }
}
