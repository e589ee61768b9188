//! A child's output on its way into upkeep's log: pure, bytes in, text out.

use std::io::Write;

/// One line of a child's output as the log shows it: the line ending (`\n` or `\r\n`) cut
/// off, ASCII control characters other than tab written `\xHH`, so that no child can forge
/// an upkeep line or repaint the terminal with `\r` or an escape sequence. Every other byte,
/// UTF-8 or not, passes through as it is.
pub fn escape_line(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    escape_into(&mut out, line);
    out
}

/// `escape_line`, appended to `out`.
pub fn escape_into(out: &mut Vec<u8>, line: &[u8]) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !line.iter().any(|&b| needs_escape(b)) {
        out.extend_from_slice(line);
        return;
    }
    for &b in line {
        if needs_escape(b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b);
        }
    }
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

/// What upkeep has heard of a service's output: its stdout's and stderr's partial lines,
/// and its recent lines.
#[derive(Debug, Clone)]
pub struct Heard {
    stdout_lines: LineSplitter,
    stderr_lines: LineSplitter,
    pub tail: Tail,
}

impl Heard {
    pub fn new(cap: usize) -> Heard {
        Heard {
            stdout_lines: LineSplitter::default(),
            stderr_lines: LineSplitter::default(),
            tail: Tail::new(cap),
        }
    }

    /// Bytes of one stream, read at `unix_ms`: each whole line into the tail and to `line`.
    pub fn feed(&mut self, stderr: bool, bytes: &[u8], unix_ms: i64, mut line: impl FnMut(&[u8])) {
        let Heard {
            stdout_lines,
            stderr_lines,
            tail,
        } = self;
        let lines = if stderr { stderr_lines } else { stdout_lines };
        lines.feed(bytes, |l| {
            tail.record(stderr, l, unix_ms);
            line(l);
        });
    }

    /// The process is gone: a last line of either stream without a newline is a line now.
    pub fn flush(&mut self, unix_ms: i64, mut line: impl FnMut(bool, &[u8])) {
        let Heard {
            stdout_lines,
            stderr_lines,
            tail,
        } = self;
        for (stderr, lines) in [(false, stdout_lines), (true, stderr_lines)] {
            lines.flush(|l| {
                tail.record(stderr, l, unix_ms);
                line(stderr, l);
            });
        }
    }
}

/// Lines longer than this are split: a line of 1 MiB becomes 64 lines.
pub const MAX_LINE: usize = 16 * 1024;

/// The last line a death message quotes is cut at this many characters.
pub const LAST_LINE_CHARS: usize = 200;

/// Cuts a stream of bytes into lines, whatever sizes the reads come in.
#[derive(Debug, Default, Clone)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// A piece of `MAX_LINE` bytes went out with no newline after it yet: a newline right
    /// now ends that line, it does not make an empty one.
    cut: bool,
}

impl LineSplitter {
    /// Feeds `bytes`; `line` gets each complete line (without its newline), and every
    /// `MAX_LINE` bytes of a longer one.
    pub fn feed(&mut self, mut bytes: &[u8], mut line: impl FnMut(&[u8])) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let (head, rest) = bytes.split_at(end);
            bytes = rest.get(1..).unwrap_or(&[]);
            if self.partial.is_empty() {
                if !(head.is_empty() && self.cut) {
                    pieces(head, &mut line);
                }
            } else {
                self.partial.extend_from_slice(head);
                pieces(&self.partial, &mut line);
                self.partial.clear();
            }
            self.cut = false;
        }
        self.partial.extend_from_slice(bytes);
        while self.partial.len() >= MAX_LINE {
            let rest = self.partial.split_off(MAX_LINE);
            line(&self.partial);
            self.partial = rest;
            self.cut = true;
        }
    }

    /// The last line, written without a newline: out, once the writer has died.
    pub fn flush(&mut self, mut line: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            line(&self.partial);
            self.partial = Vec::new();
        }
        self.cut = false;
    }
}

/// A line in pieces of at most `MAX_LINE` bytes (an empty line is one empty piece).
fn pieces(text: &[u8], line: &mut impl FnMut(&[u8])) {
    if text.is_empty() {
        line(text);
    }
    for piece in text.chunks(MAX_LINE) {
        line(piece);
    }
}

/// The last `cap` bytes of a service's output, whole lines with the unix millisecond each
/// was read at, for `upkeep logs` (`-t`, and the merged view's order); and its last line of
/// stderr and of stdout, for its death message. Nothing is allocated until the service
/// writes.
#[derive(Debug, Default, Clone)]
pub struct Tail {
    cap: usize,
    /// Lines, each `STAMP_DIGITS` decimal digits of its time, a space, the text and a
    /// newline: digits, so that a newline still ends a line and nothing else does.
    buf: std::collections::VecDeque<u8>,
    last_stderr: Vec<u8>,
    last_stdout: Vec<u8>,
}

/// Unix milliseconds take 13 digits until the year 2286.
const STAMP_DIGITS: usize = 13;

/// One line of a tail: when it was read (unix milliseconds) and its text.
pub type TailLine = (i64, Vec<u8>);

impl Tail {
    pub fn new(cap: usize) -> Tail {
        Tail {
            cap,
            ..Tail::default()
        }
    }

    /// A new run starts: its death message will quote its own last line only.
    pub fn new_run(&mut self) {
        self.last_stderr.clear();
        self.last_stdout.clear();
    }

    /// A line read at `unix_ms`.
    pub fn record(&mut self, stderr: bool, line: &[u8], unix_ms: i64) {
        let last = if stderr {
            &mut self.last_stderr
        } else {
            &mut self.last_stdout
        };
        last.clear();
        last.extend_from_slice(line.get(..LAST_LINE_CHARS * 4).unwrap_or(line));
        // The time, its space and the newline count towards the cap too.
        let room = self.cap.saturating_sub(STAMP_DIGITS + 2);
        if room == 0 {
            return;
        }
        let line = line.get(line.len().saturating_sub(room)..).unwrap_or(line);
        let entry = STAMP_DIGITS + 2 + line.len();
        while self.buf.len() + entry > self.cap {
            // Whole lines leave, oldest first.
            match self.buf.iter().position(|&b| b == b'\n') {
                Some(end) => drop(self.buf.drain(..=end)),
                None => self.buf.clear(),
            }
        }
        let mut ms = unix_ms.clamp(0, 10_i64.pow(STAMP_DIGITS as u32) - 1);
        let mut digits = [b'0'; STAMP_DIGITS];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (ms % 10) as u8;
            ms /= 10;
        }
        self.buf.extend(digits);
        self.buf.push_back(b' ');
        // A newline inside would end the entry early (callers split lines; this is sure).
        self.buf
            .extend(line.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
        self.buf.push_back(b'\n');
    }

    /// The last `n` lines, oldest first.
    pub fn lines(&self, n: usize) -> Vec<TailLine> {
        let (a, b) = self.buf.as_slices();
        let all: Vec<u8> = [a, b].concat();
        let mut entries: Vec<&[u8]> = all.split(|&b| b == b'\n').collect();
        entries.pop(); // after the last newline
        let skip = entries.len().saturating_sub(n);
        entries
            .into_iter()
            .skip(skip)
            .map(|entry| {
                let (stamp, text) = entry.split_at(entry.len().min(STAMP_DIGITS + 1));
                let ms = std::str::from_utf8(stamp)
                    .ok()
                    .and_then(|s| s.trim_end().parse().ok())
                    .unwrap_or(0);
                (ms, text.to_vec())
            })
            .collect()
    }

    /// The text of all of it, as a file would hold it.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len());
        for (_, text) in self.lines(usize::MAX) {
            out.extend_from_slice(&text);
            out.push(b'\n');
        }
        out
    }

    /// The line a death message quotes: the last of stderr, else of stdout, escaped and cut
    /// at `LAST_LINE_CHARS` characters.
    pub fn last_line(&self) -> Option<String> {
        let line = [&self.last_stderr, &self.last_stdout]
            .into_iter()
            .find(|l| !l.is_empty())?;
        let text = String::from_utf8_lossy(&escape_line(line)).into_owned();
        Some(text.chars().take(LAST_LINE_CHARS).collect())
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
    /// Lines dropped, per source, ever: what `/metrics` shows.
    pub total: Vec<(String, u64)>,
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
                self.count_drop(source);
                return;
            }
            self.dropped.swap_remove(k);
            self.buf.extend_from_slice(&text);
        } else if self.room() < line.len() {
            self.dropped.push((source.to_string(), 1));
            self.count_drop(source);
            return;
        }
        self.buf.extend_from_slice(line);
    }

    fn count_drop(&mut self, source: &str) {
        match self.total.iter_mut().find(|(s, _)| s == source) {
            Some((_, n)) => *n += 1,
            None => self.total.push((source.to_string(), 1)),
        }
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

#[cfg(test)]
mod line_tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, LineSplitter) {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| out.push(l.to_vec()));
        }
        (out, s)
    }

    #[test]
    fn lines_come_whole_whatever_the_reads() {
        let (out, mut s) = split(&[b"ab", b"c\nd", b"e\n\nf"]);
        assert_eq!(out, [b"abc".to_vec(), b"de".to_vec(), b"".to_vec()]);
        let mut last = Vec::new();
        s.flush(|l| last.push(l.to_vec()));
        assert_eq!(last, [b"f".to_vec()]);
    }

    #[test]
    fn a_long_line_is_split_at_16_kib() {
        let mut big = vec![b'x'; 1 << 20];
        big.push(b'\n');
        for chunk_size in [1 << 20 | 1, 4096, 65536, 999] {
            let chunks: Vec<&[u8]> = big.chunks(chunk_size).collect();
            let (out, _) = split(&chunks);
            assert_eq!(out.len(), 64, "{chunk_size}");
            assert!(out.iter().all(|l| l.len() == MAX_LINE));
        }
    }

    #[test]
    fn the_tail_keeps_whole_recent_lines_and_the_last_of_each_stream() {
        let mut t = Tail::new(64);
        assert!(t.last_line().is_none());
        for k in 0..10 {
            t.record(false, format!("line {k}").as_bytes(), 1_000 + k);
        }
        assert_eq!(
            t.lines(2),
            [(1_008, b"line 8".to_vec()), (1_009, b"line 9".to_vec())]
        );
        assert_eq!(t.bytes(), b"line 7\nline 8\nline 9\n");
        assert_eq!(t.last_line().as_deref(), Some("line 9"));
        t.record(true, b"bind: Address already in use\x1b[0m", 2_000);
        t.record(false, b"later on stdout", 2_001);
        assert_eq!(
            t.last_line().as_deref(),
            Some("bind: Address already in use\\x1b[0m")
        );
        let long = vec![b'z'; 1000];
        t.record(true, &long, 1_764_960_000_123);
        assert_eq!(t.last_line().map(|l| l.len()), Some(LAST_LINE_CHARS));
        // Cut to what fits with its time: the one line left, its end kept.
        let lines = t.lines(usize::MAX);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines.first().map(|l| l.0), Some(1_764_960_000_123));
        assert_eq!(lines.first().map(|l| l.1.len()), Some(64 - 15));
    }

    #[test]
    fn a_newline_inside_a_recorded_line_does_not_split_it() {
        let mut t = Tail::new(1024);
        t.record(true, b"Traceback:\n  at one", 7);
        t.record(true, b"next", 8);
        assert_eq!(
            t.lines(9),
            [(7, b"Traceback:   at one".to_vec()), (8, b"next".to_vec())]
        );
    }

    #[test]
    fn a_tail_too_small_for_a_time_keeps_nothing_but_the_last_lines() {
        let mut t = Tail::new(10);
        t.record(true, b"oops", 5);
        assert!(t.lines(9).is_empty());
        assert_eq!(t.last_line().as_deref(), Some("oops"));
    }
}
