//! Syslog datagrams as `[supervisor] syslog_listen` receives them: RFC 5424, RFC 3164 as
//! syslogd's network peers send it (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`), and as
//! glibc's syslog(3) and busybox `logger` send it to /dev/log (no HOST), with or without
//! `<PRI>`. Pure: bytes in, a tag, a stream and the message's bytes out.

/// What a datagram says.
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The sender's name as sent (APP-NAME, or TAG without `[PID]`); empty when there is none.
    pub tag: &'a [u8],
    /// Severity 0..=4 (emerg..warning): a `[stderr]` line.
    pub stderr: bool,
    pub text: &'a [u8],
}

/// No `<PRI>`: user.notice, as syslogd takes it.
const DEFAULT_PRI: u8 = 13;

/// Longest tag kept: longer ones are cut.
const TAG_MAX: usize = 48;

pub fn parse(datagram: &[u8]) -> Message<'_> {
    let mut end = datagram.len();
    while end > 0 && matches!(datagram.get(end - 1), Some(b'\n' | b'\r' | b'\0')) {
        end -= 1;
    }
    let whole = datagram.get(..end).unwrap_or(&[]);
    let (pri, rest) = pri(whole).unwrap_or((DEFAULT_PRI, whole));
    let (tag, text) = rest
        .strip_prefix(b"1 ")
        .and_then(rfc5424)
        .unwrap_or_else(|| rfc3164(rest));
    Message {
        tag,
        stderr: pri & 7 <= 4,
        text,
    }
}

/// `<PRI>` (0..=191) and what follows it.
fn pri(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let rest = bytes.strip_prefix(b"<")?;
    let close = rest.iter().take(4).position(|&b| b == b'>')?;
    let digits = rest.get(..close)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u16 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let value = u8::try_from(value).ok().filter(|&v| v <= 191)?;
    Some((value, rest.get(close + 1..)?))
}

/// The first space-separated word and what follows the space.
fn word(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ')?;
    Some((bytes.get(..at)?, bytes.get(at + 1..)?))
}

/// After `<PRI>1 `: TIMESTAMP HOST APP-NAME PROCID MSGID SD [MSG]; None if it is not that.
fn rfc5424(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_time, rest) = word(bytes)?;
    let (_host, rest) = word(rest)?;
    let (app, rest) = word(rest)?;
    let (_procid, rest) = word(rest)?;
    let (_msgid, rest) = word(rest)?;
    let rest = structured_data(rest)?;
    let text = rest.strip_prefix(b" ").unwrap_or(rest);
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let tag = if app == b"-" { &[][..] } else { app };
    Some((tag, text))
}

/// What follows STRUCTURED-DATA: `-`, or elements `[id k="v" ...]` (a `]` in a value is
/// escaped, `\]`, or at least quoted).
fn structured_data(bytes: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = bytes.strip_prefix(b"-") {
        return Some(rest);
    }
    let mut at = 0;
    while bytes.get(at) == Some(&b'[') {
        let (mut escaped, mut quoted) = (false, false);
        loop {
            at += 1;
            match bytes.get(at)? {
                b'\\' if !escaped => escaped = true,
                b'"' if !escaped => quoted = !quoted,
                b']' if !escaped && !quoted => break,
                _ => escaped = false,
            }
        }
        at += 1;
    }
    (at > 0).then(|| bytes.get(at..)).flatten()
}

/// [TIMESTAMP] [HOST] TAG[PID]: MSG, each part as far as it is there. A word is the host
/// only after a timestamp and before a tag: glibc sends no host.
fn rfc3164(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (stamped, rest) = match timestamp(bytes) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    if let Some(found) = tagged(rest) {
        return found;
    }
    if stamped
        && let Some((_host, after)) = word(rest)
        && let Some(found) = tagged(after)
    {
        return found;
    }
    (&[], rest)
}

/// `Mmm dd hh:mm:ss ` (BSD) or an RFC 3339 word (rsyslog's forwarding): what follows it.
fn timestamp(bytes: &[u8]) -> Option<&[u8]> {
    let bsd = bytes.get(..16).is_some_and(|t| {
        t.iter().take(3).all(u8::is_ascii_alphabetic)
            && [3, 6, 15].iter().all(|&i| t.get(i) == Some(&b' '))
            && [9, 12].iter().all(|&i| t.get(i) == Some(&b':'))
            && [7, 8, 10, 11, 13, 14]
                .iter()
                .all(|&i| t.get(i).is_some_and(u8::is_ascii_digit))
    });
    if bsd {
        return bytes.get(16..);
    }
    let (first, rest) = word(bytes)?;
    let iso = first.len() >= 19
        && first.iter().take(4).all(u8::is_ascii_digit)
        && first.get(4) == Some(&b'-')
        && first.get(10) == Some(&b'T');
    iso.then_some(rest)
}

/// `TAG: MSG` or `TAG[PID]: MSG`: the tag and the message.
fn tagged(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = bytes.iter().take(TAG_MAX * 2).position(|&b| b == b':')?;
    let head = bytes.get(..colon)?;
    if head.is_empty() || head.contains(&b' ') {
        return None;
    }
    let tag = match head.iter().position(|&b| b == b'[') {
        Some(open) if head.ends_with(b"]") => head.get(..open)?,
        Some(_) => return None,
        None => head,
    };
    let text = bytes.get(colon + 1..)?;
    Some((tag, text.strip_prefix(b" ").unwrap_or(text)))
}

/// The tag as a log line's name: at most `TAG_MAX` of `[A-Za-z0-9._-]`, anything else `_`,
/// so that no sender can make its line look like another kind; `syslog` when there is none.
pub fn tag_name(out: &mut String, tag: &[u8]) {
    out.clear();
    out.extend(tag.iter().take(TAG_MAX).map(|&b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            char::from(b)
        } else {
            '_'
        }
    }));
    if out.is_empty() {
        out.push_str("syslog");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(datagram: &[u8], tag: &str, stderr: bool, text: &str) {
        let m = parse(datagram);
        let got = (
            String::from_utf8_lossy(m.tag).into_owned(),
            m.stderr,
            String::from_utf8_lossy(m.text).into_owned(),
        );
        let want = (tag.to_string(), stderr, text.to_string());
        assert_eq!(got, want, "{}", String::from_utf8_lossy(datagram));
    }

    #[test]
    fn rfc3164_as_glibc_sends_it_has_no_host() {
        check(
            b"<78>Nov 23 19:40:00 CRON[123]: (root) CMD (run-parts)",
            "CRON",
            false,
            "(root) CMD (run-parts)",
        );
        check(b"<11>Nov  3 09:05:01 cron: failed", "cron", true, "failed");
        // busybox logger: the user's name is the tag.
        check(b"<13>Dec  5 18:40:00 root: hi\n", "root", false, "hi");
    }

    #[test]
    fn rfc3164_from_the_network_has_a_host() {
        check(
            b"<34>Oct 11 22:14:15 mymachine su[7]: 'su root' failed",
            "su",
            true,
            "'su root' failed",
        );
        check(
            b"<14>2026-11-23T19:40:00.123Z box app: x y",
            "app",
            false,
            "x y",
        );
    }

    #[test]
    fn without_pri_or_timestamp() {
        check(b"cron[5]: ok", "cron", false, "ok");
        check(b"sshd: x\0", "sshd", false, "x");
        check(b"<14>cron:x", "cron", false, "x");
        // No tag: all of it is the message.
        check(b"<11>just words: here", "", true, "just words: here");
        check(b"Nov 23 19:40:00 no tag here", "", false, "no tag here");
    }

    #[test]
    fn rfc5424_with_nil_values_structured_data_and_a_bom() {
        check(
            b"<165>1 2003-10-11T22:14:15.003Z host.example evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventID=\"1011\"] \xEF\xBB\xBFAn application event",
            "evntslog",
            false,
            "An application event",
        );
        check(b"<11>1 - - cron - - - failed", "cron", true, "failed");
        check(b"<14>1 - - - - - -", "", false, "");
        check(
            b"<14>1 - h app 1 - [a x=\"]\\]\"][b] two",
            "app",
            false,
            "two",
        );
    }

    #[test]
    fn garbage_and_empty_are_messages_of_no_one() {
        check(b"", "", false, "");
        check(b"\n\n", "", false, "");
        check(b"<999>x", "", false, "<999>x");
        check(b"<1", "", false, "<1");
        check(b"<>: x", "<>", false, "x");
        check(b"<14>1 broken", "", false, "1 broken");
        check(
            b"<14>1 - h app 1 - [unclosed",
            "",
            false,
            "1 - h app 1 - [unclosed",
        );
        check(b"\xff\xfe: \x01", "\u{fffd}\u{fffd}", false, "\u{1}");
    }

    #[test]
    fn severities_up_to_warning_are_stderr() {
        for sev in 0..8u8 {
            let datagram = format!("<{}>x: y", 24 + sev);
            assert_eq!(parse(datagram.as_bytes()).stderr, sev <= 4, "{sev}");
        }
    }

    #[test]
    fn tags_are_names_that_forge_nothing() {
        let mut out = String::new();
        tag_name(&mut out, b"cron");
        assert_eq!(out, "cron");
        tag_name(&mut out, b"a b[stderr]\n:x");
        assert_eq!(out, "a_b_stderr___x");
        tag_name(&mut out, b"");
        assert_eq!(out, "syslog");
        tag_name(&mut out, &[b'x'; 100]);
        assert_eq!(out.len(), 48);
        tag_name(&mut out, "é".as_bytes());
        assert_eq!(out, "__");
    }
}
