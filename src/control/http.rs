//! The read-only HTTP endpoint (`[supervisor] http`): a small HTTP/1.1 server in upkeep's
//! one event loop. Non-blocking throughout, with the control socket's limits: 64
//! connections, 8 KiB of request, 2 s per connection. One request per connection
//! (`Connection: close`): a probe or a scrape needs no more, and it keeps the state small.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

use nix::poll::PollFlags;

use super::CONNECTION_DEADLINE;

const MAX_CONNECTIONS: usize = 64;
/// Request line and headers; there is no body to read.
pub const MAX_HEAD: usize = 8 * 1024;
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// What can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Metrics,
    Healthz,
    Readyz,
    Status,
}

/// A request as read: a page to answer, or an answer already known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The head has not all arrived.
    Incomplete,
    Get {
        page: Page,
        head: bool,
    },
    Refuse(u16),
}

/// Reads a request head (`buf` so far). Only the request line matters: headers are
/// skipped, a query string is ignored, and a path is matched whole (`/metrics/../x` is no
/// page of ours).
pub fn parse(buf: &[u8]) -> Parsed {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"));
    match end {
        None if buf.len() >= MAX_HEAD => return Parsed::Refuse(431),
        None => return Parsed::Incomplete,
        Some(n) if n > MAX_HEAD => return Parsed::Refuse(431),
        Some(_) => {}
    }
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line = buf.get(..line_end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Parsed::Refuse(400);
    };
    let token = |w: &[u8]| {
        !w.is_empty()
            && w.iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(b))
    };
    if !token(method) || !target.starts_with(b"/") || !version.starts_with(b"HTTP/1.") {
        return Parsed::Refuse(400);
    }
    let path = target
        .split(|&b| b == b'?' || b == b'#')
        .next()
        .unwrap_or_default();
    let page = match path {
        b"/metrics" => Page::Metrics,
        b"/healthz" => Page::Healthz,
        b"/readyz" => Page::Readyz,
        b"/status" => Page::Status,
        _ => return Parsed::Refuse(404),
    };
    match method {
        b"GET" => Parsed::Get { page, head: false },
        b"HEAD" => Parsed::Get { page, head: true },
        _ => Parsed::Refuse(405),
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// A whole response; the body left out for HEAD, its length kept.
pub fn response(code: u16, content_type: &str, body: &str, head: bool) -> Vec<u8> {
    let allow = if code == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n{allow}\r\n",
        reason(code),
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// An answer upkeep knows without asking the core; `head`: without its body.
fn refusal(code: u16, head: bool) -> Vec<u8> {
    let body = match code {
        404 => "not found: /metrics, /healthz, /readyz, /status\n",
        405 => "method not allowed: GET or HEAD\n",
        431 => "request too large\n",
        408 => "timed out waiting for the request\n",
        503 => "busy: too many connections\n",
        _ => "bad request\n",
    };
    response(code, "text/plain; charset=utf-8", body, head)
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Reading,
    /// Handed to the caller; the answer is on its way.
    Asked,
    /// Writing the answer; then our side is shut and the client's leftovers read away
    /// (closing with unread bytes would reset the connection and lose the answer).
    Writing,
    Draining,
}

struct Conn {
    id: u64,
    stream: TcpStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    phase: Phase,
    /// The whole exchange must be over by then.
    deadline: Instant,
    /// Answered and closed by the client, or gone: to be dropped.
    done: bool,
}

pub struct Http {
    listener: TcpListener,
    conns: Vec<Conn>,
    next_id: u64,
    accept_paused_until: Option<Instant>,
}

impl Http {
    pub fn bind(addr: SocketAddr) -> io::Result<Http> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Http {
            listener,
            conns: Vec::new(),
            next_id: 0,
            accept_paused_until: None,
        })
    }

    /// Descriptors to poll, listener first, in the order `handle_ready` expects.
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        let listen = match self.accept_paused_until {
            Some(_) => PollFlags::empty(),
            None => PollFlags::POLLIN,
        };
        let mut fds = vec![(self.listener.as_fd(), listen)];
        for c in &self.conns {
            let flags = match c.phase {
                Phase::Reading | Phase::Draining => PollFlags::POLLIN,
                Phase::Writing => PollFlags::POLLOUT,
                Phase::Asked => PollFlags::empty(),
            };
            fds.push((c.stream.as_fd(), flags));
        }
        fds
    }

    pub fn deadline(&self) -> Option<Instant> {
        let conns = self.conns.iter().map(|c| c.deadline);
        conns.chain(self.accept_paused_until).min()
    }

    /// Serves what poll reported (`ready` in the order of `poll_fds`); returns the pages
    /// asked for, to be answered with `answer`.
    pub fn handle_ready(&mut self, ready: &[bool], now: Instant) -> Vec<(u64, Page, bool)> {
        let mut asked = Vec::new();
        for (c, _) in self
            .conns
            .iter_mut()
            .zip(ready.iter().skip(1))
            .filter(|(_, r)| **r)
        {
            match c.phase {
                Phase::Reading => {
                    if let Some((page, head)) = read_request(c) {
                        asked.push((c.id, page, head));
                    }
                }
                Phase::Writing => flush(c),
                Phase::Draining => drain(c),
                Phase::Asked => {}
            }
        }
        if ready.first().copied().unwrap_or(false) && self.accept_paused_until.is_none() {
            self.accept_all(now);
        }
        self.conns.retain(|c| !c.done);
        asked
    }

    /// The answer to a page asked for.
    pub fn answer(&mut self, id: u64, bytes: Vec<u8>) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == id) {
            c.outbuf = bytes;
            c.phase = Phase::Writing;
            flush(c);
        }
    }

    /// Connections past their deadline: a client still sending is told 408; all are closed.
    pub fn expire(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            self.accept_paused_until = None;
        }
        for c in self.conns.iter_mut().filter(|c| c.deadline <= now) {
            if c.phase == Phase::Reading && !c.inbuf.is_empty() {
                let _ = c.stream.write(&refusal(408, false));
            }
        }
        self.conns.retain(|c| c.deadline > now && !c.done);
    }

    fn accept_all(&mut self, now: Instant) {
        loop {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // The backlog keeps the clients; the listener rests meanwhile.
                    self.accept_paused_until = Some(now + ACCEPT_PAUSE);
                    return;
                }
                // A client that reset before we got to it, and the like.
                Err(_) => continue,
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            if self.conns.len() >= MAX_CONNECTIONS {
                let mut stream = stream;
                let _ = stream.write(&refusal(503, false));
                continue;
            }
            self.next_id += 1;
            self.conns.push(Conn {
                id: self.next_id,
                stream,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                phase: Phase::Reading,
                deadline: now + CONNECTION_DEADLINE,
                done: false,
            });
        }
    }
}

/// Reads what has arrived; the page once the whole head is in. A bad request is answered
/// here, and a client that hung up is dropped.
fn read_request(c: &mut Conn) -> Option<(Page, bool)> {
    let mut chunk = [0u8; 2048];
    // Bounded per wake-up: one client cannot keep the loop reading.
    for _ in 0..(MAX_HEAD / chunk.len() + 1) {
        match c.stream.read(&mut chunk) {
            Ok(0) => {
                c.done = true;
                return None;
            }
            Ok(n) => {
                c.inbuf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                if c.inbuf.len() >= MAX_HEAD {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => {
                c.done = true;
                return None;
            }
        }
    }
    match parse(&c.inbuf) {
        Parsed::Incomplete => None,
        Parsed::Get { page, head } => {
            c.inbuf = Vec::new();
            c.phase = Phase::Asked;
            Some((page, head))
        }
        Parsed::Refuse(code) => {
            c.outbuf = refusal(code, c.inbuf.starts_with(b"HEAD "));
            c.inbuf = Vec::new();
            c.phase = Phase::Writing;
            flush(c);
            None
        }
    }
}

fn flush(c: &mut Conn) {
    while !c.outbuf.is_empty() {
        match c.stream.write(&c.outbuf) {
            Ok(0) => break,
            Ok(n) => {
                c.outbuf.drain(..n.min(c.outbuf.len()));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(_) => {
                c.outbuf.clear();
                break;
            }
        }
    }
    let _ = c.stream.shutdown(Shutdown::Write);
    c.phase = Phase::Draining;
    drain(c);
}

/// Reads away what the client still sends until it closes; then the connection is done.
fn drain(c: &mut Conn) {
    let mut chunk = [0u8; 2048];
    for _ in 0..8 {
        match c.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(_) => break,
        }
    }
    // The client closed, failed, or keeps sending: done with it either way.
    c.done = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_from_their_first_line() {
        let get = |page| Parsed::Get { page, head: false };
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            get(Page::Metrics)
        );
        assert_eq!(
            parse(b"GET /healthz?verbose=1 HTTP/1.0\r\n\r\n"),
            get(Page::Healthz)
        );
        assert_eq!(parse(b"GET /readyz HTTP/1.1\n\n"), get(Page::Readyz));
        assert_eq!(
            parse(b"HEAD /status HTTP/1.1\r\n\r\n"),
            Parsed::Get {
                page: Page::Status,
                head: true
            }
        );
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"),
            Parsed::Incomplete
        );
        assert_eq!(parse(b""), Parsed::Incomplete);
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Parsed::Refuse(405)
        );
        assert_eq!(parse(b"GET /nope HTTP/1.1\r\n\r\n"), Parsed::Refuse(404));
        assert_eq!(
            parse(b"GET /metrics/../status HTTP/1.1\r\n\r\n"),
            Parsed::Refuse(404)
        );
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), Parsed::Refuse(404));
        assert_eq!(parse(b"\x16\x03\x01garbage\r\n\r\n"), Parsed::Refuse(400));
        assert_eq!(parse(b"GET /metrics\r\n\r\n"), Parsed::Refuse(400));
        assert_eq!(parse(b"GET metrics HTTP/1.1\r\n\r\n"), Parsed::Refuse(400));
        assert_eq!(parse(b"GET /metrics SPDY/3\r\n\r\n"), Parsed::Refuse(400));
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD, b'a');
        assert_eq!(parse(&big), Parsed::Refuse(431));
    }

    #[test]
    fn responses_have_a_length_and_head_has_no_body() {
        let full = String::from_utf8(response(200, "text/plain", "ok\n", false)).unwrap();
        assert!(full.starts_with("HTTP/1.1 200 OK\r\n"), "{full}");
        assert!(full.contains("Content-Length: 3\r\n") && full.ends_with("\r\n\r\nok\n"));
        let head = String::from_utf8(response(200, "text/plain", "ok\n", true)).unwrap();
        assert!(head.contains("Content-Length: 3\r\n") && head.ends_with("\r\n\r\n"));
        let refused = String::from_utf8(refusal(405, false)).unwrap();
        assert!(refused.contains("Allow: GET, HEAD\r\n"), "{refused}");
        let head = String::from_utf8(refusal(404, true)).unwrap();
        assert!(
            head.starts_with("HTTP/1.1 404 ") && head.ends_with("\r\n\r\n"),
            "{head}"
        );
    }
}
