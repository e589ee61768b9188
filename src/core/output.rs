//! A child's output on its way into upkeep's log: pure, bytes in, text out.

use std::fmt::Write;

/// One line of a child's output as the log shows it: the line ending (`\n` or `\r\n`) cut
/// off, control characters other than tab written `\xHH`, so that no child can forge an
/// upkeep line or repaint the terminal with `\r` or an escape sequence. Bytes that are not
/// UTF-8 become U+FFFD, as the log is text.
pub fn escape_line(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    if !text.chars().any(needs_escape) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c != '\t' && c.is_control() && u32::from(c) < 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_but_tab() {
        assert_eq!(escape_line(b"plain line\n"), "plain line");
        assert_eq!(escape_line(b"crlf\r\n"), "crlf");
        assert_eq!(escape_line(b"a\tb"), "a\tb");
        assert_eq!(
            escape_line(b"x\rupkeep: web started\n"),
            "x\\x0dupkeep: web started"
        );
        assert_eq!(escape_line(b"\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(escape_line(b"del\x7f nul\x00"), "del\\x7f nul\\x00");
        assert_eq!(escape_line("é ü".as_bytes()), "é ü");
        assert_eq!(escape_line(b"bad \xff"), "bad \u{fffd}");
    }
}
