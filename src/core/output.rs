//! A child's output on its way into upkeep's log: pure, bytes in, text out.

use std::io::Write;

/// One line of a child's output as the log shows it: the line ending (`\n` or `\r\n`) cut
/// off, ASCII control characters other than tab written `\xHH`, so that no child can forge
/// an upkeep line or repaint the terminal with `\r` or an escape sequence. Every other byte,
/// UTF-8 or not, passes through as it is.
pub fn escape_line(line: &[u8]) -> Vec<u8> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !line.iter().any(|&b| needs_escape(b)) {
        return line.to_vec();
    }
    let mut out = Vec::with_capacity(line.len() + 16);
    for &b in line {
        if needs_escape(b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b);
        }
    }
    out
}

fn needs_escape(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_but_tab() {
        let e = |b: &[u8]| String::from_utf8_lossy(&escape_line(b)).into_owned();
        assert_eq!(e(b"plain line\n"), "plain line");
        assert_eq!(e(b"crlf\r\n"), "crlf");
        assert_eq!(e(b"a\tb"), "a\tb");
        assert_eq!(e(b"x\rupkeep: web started\n"), "x\\x0dupkeep: web started");
        assert_eq!(e(b"\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(e(b"del\x7f nul\x00"), "del\\x7f nul\\x00");
        assert_eq!(e("é ü".as_bytes()), "é ü");
        // Not UTF-8: the bytes pass unchanged.
        assert_eq!(escape_line(b"bad \xff\n"), b"bad \xff");
    }
}

/// Most bytes of log lines held for one destination that cannot take them now (a stalled
/// `docker logs` pipe, a full disk): past this, whole lines are dropped and counted.
pub const OUTBOX_MAX: usize = 1 << 20;

/// Lines waiting for a destination that does not block upkeep: bounded, and beyond its
/// bound whole lines are dropped and counted per source, to be owned up to ("dropped N
/// lines of web") before that source's next line once writing works again.
#[derive(Debug, Default)]
pub struct Outbox {
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    start: usize,
    /// Lines dropped, per source, not yet reported.
    dropped: Vec<(String, u64)>,
}

impl Outbox {
    /// Queues one whole line (its newline included) from `source`; `notice` formats the
    /// report of lines dropped before it (`notice(source, n)`).
    pub fn push(&mut self, source: &str, line: &[u8], notice: impl Fn(&str, u64) -> Vec<u8>) {
        if let Some(k) = self.dropped.iter().position(|(s, _)| s == source) {
            let n = self.dropped.get(k).map_or(0, |(_, n)| *n);
            let text = notice(source, n);
            if self.room() < text.len() + line.len() {
                if let Some((_, n)) = self.dropped.get_mut(k) {
                    *n += 1;
                }
                return;
            }
            self.dropped.swap_remove(k);
            self.buf.extend_from_slice(&text);
        } else if self.room() < line.len() {
            self.dropped.push((source.to_string(), 1));
            return;
        }
        self.buf.extend_from_slice(line);
    }

    /// What is waiting to be written.
    pub fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    /// `n` bytes of `pending()` were written. Once all is out, the drops of sources that
    /// have said nothing since are reported too.
    pub fn consumed(&mut self, n: usize, notice: impl Fn(&str, u64) -> Vec<u8>) {
        self.start = (self.start + n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            for (source, n) in std::mem::take(&mut self.dropped) {
                self.buf.extend_from_slice(&notice(&source, n));
            }
        } else if self.start > OUTBOX_MAX / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() > 2 * OUTBOX_MAX {
            self.buf.shrink_to(OUTBOX_MAX);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending().is_empty()
    }

    fn room(&self) -> usize {
        OUTBOX_MAX.saturating_sub(self.buf.len() - self.start)
    }
}

#[cfg(test)]
mod outbox_tests {
    use super::*;

    fn notice(source: &str, n: u64) -> Vec<u8> {
        format!("dropped {n} lines of {source}\n").into_bytes()
    }

    #[test]
    fn past_the_bound_whole_lines_are_dropped_counted_and_owned_up_to() {
        let mut o = Outbox::default();
        let line = vec![b'x'; 1000];
        let mut line = line;
        line.push(b'\n');
        for _ in 0..2000 {
            o.push("web", &line, notice);
        }
        let held = o.pending().len();
        assert!(held <= OUTBOX_MAX && held % line.len() == 0, "{held}");
        let kept = held / line.len();
        // The destination takes everything: the drop is reported, and web's next line
        // comes after that report.
        o.consumed(held, notice);
        let report = String::from_utf8(o.pending().to_vec()).unwrap();
        assert_eq!(report, format!("dropped {} lines of web\n", 2000 - kept));
        o.push("web", b"next\n", notice);
        assert!(o.pending().ends_with(b"next\n"));
    }

    #[test]
    fn a_source_reports_its_drops_before_its_next_line() {
        let mut o = Outbox::default();
        let big = vec![b'y'; OUTBOX_MAX];
        o.push("a", &big, notice);
        o.push("b", b"lost\n", notice);
        o.push("b", b"lost too\n", notice);
        o.consumed(OUTBOX_MAX / 2, notice);
        o.push("b", b"kept\n", notice);
        let tail = o.pending().get(o.pending().len() - 30..).unwrap().to_vec();
        assert!(
            String::from_utf8_lossy(&tail).ends_with("dropped 2 lines of b\nkept\n"),
            "{:?}",
            String::from_utf8_lossy(&tail)
        );
    }
}
