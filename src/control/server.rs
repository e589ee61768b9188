//! The control socket's server side, served from upkeep's one event loop.
//!
//! Everything is non-blocking: each connection has its own buffers and a deadline, requests
//! are capped at `MAX_REQUEST`, and a client that sends garbage, too much or nothing is
//! answered with an error or dropped. Nothing a client does can hold up a restart.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::{CONNECTION_DEADLINE, MAX_REQUEST, Request, error_line};
use crate::core::Condition;
use crate::os::platform;

/// More clients than this at once are turned away: a flood costs a bounded amount of memory.
const MAX_CONNECTIONS: usize = 64;

/// How long an exiting upkeep waits for `upkeep shutdown` clients to read the last line.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Why the socket could not be served.
#[derive(Debug)]
pub enum BindError {
    /// Another upkeep answers on that path.
    InUse(String),
    Other(String),
}

/// What a connection waits for before its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// stop/start/restart: these services to settle.
    Settled(Vec<String>),
    /// shutdown: upkeep to exit.
    Exit,
    /// logs -f: these services' new lines (every service's when empty), until the client
    /// hangs up.
    Follow(Vec<String>),
    /// wait: these names to be in this condition, until the deadline.
    Condition {
        names: Vec<String>,
        until: Condition,
        deadline: Option<Instant>,
    },
}

/// Whose output `upkeep logs -f` clients follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    All,
    /// Sorted.
    Some(Vec<String>),
}

impl Default for Followed {
    fn default() -> Followed {
        Followed::Some(Vec::new())
    }
}

impl Followed {
    pub fn includes(&self, name: &str) -> bool {
        match self {
            Followed::All => true,
            Followed::Some(names) => names.binary_search_by(|n| n.as_str().cmp(name)).is_ok(),
        }
    }
}

/// A follower that reads slower than its service writes loses lines past this backlog.
const FOLLOW_BACKLOG: usize = 1 << 20;

#[derive(Debug)]
enum ConnState {
    Reading,
    Waiting(Wait),
    /// Reply queued; close once it is written.
    Writing,
}

struct Conn {
    id: u64,
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    phase: ConnState,
    /// Dropped after this; none while waiting for services or for upkeep's exit.
    deadline: Option<Instant>,
}

pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    conns: Vec<Conn>,
    next_id: u64,
    own_uid: u32,
    /// Device and inode of the socket file this upkeep made.
    identity: Option<(u64, u64)>,
    /// Out of descriptors (EMFILE): the listener is not polled until then, or the loop
    /// would spin on a connection it cannot accept.
    accept_paused_until: Option<Instant>,
    /// When that was last logged: at most once a minute, not once per attempt.
    told_out_of_fds: Option<Instant>,
    /// A descriptor held in reserve (on /dev/null): out of descriptors, it is given up for
    /// one client, so that `upkeep status` is still answered.
    spare: Option<std::fs::File>,
}

fn spare_fd() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

/// How long the listener rests after running out of descriptors.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

impl Server {
    /// Binds `path` with mode 0600. A stale socket left by a dead upkeep is replaced; one a
    /// live process answers on, or a file that is not a socket, is left alone.
    pub fn bind(path: &Path) -> Result<Server, BindError> {
        let shown = path.display();
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(BindError::Other(format!(
                    "{shown} exists and is not a socket; not touching it"
                )));
            }
            Ok(_) => match UnixStream::connect(path) {
                Ok(_) => {
                    return Err(BindError::InUse(format!(
                        "another upkeep is serving {shown}; stop it first, or give this one \
                         --socket PATH (or control_socket in its config)"
                    )));
                }
                Err(_) => {
                    // Nobody listens: left over from an upkeep that died.
                    if let Err(e) = std::fs::remove_file(path) {
                        return Err(BindError::Other(format!(
                            "cannot remove stale socket {shown}: {e}"
                        )));
                    }
                }
            },
            Err(_) => {}
        }
        // The mode is set at creation (umask), so there is no moment it is open to all. The
        // umask is restored before any child could inherit it: upkeep has one thread.
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let bound = UnixListener::bind(path);
        nix::sys::stat::umask(old);
        let listener = bound.map_err(|e| BindError::Other(format!("cannot bind {shown}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| BindError::Other(format!("{shown}: {e}")))?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
            conns: Vec::new(),
            accept_paused_until: None,
            told_out_of_fds: None,
            spare: spare_fd(),
            next_id: 0,
            own_uid: nix::unistd::geteuid().as_raw(),
            identity: file_identity(path),
        })
    }

    /// Descriptors to poll, listener first, in the order `handle_ready` expects.
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        let listen = if self.accept_paused_until.is_some() {
            PollFlags::empty()
        } else {
            PollFlags::POLLIN
        };
        let mut fds = vec![(self.listener.as_fd(), listen)];
        for c in &self.conns {
            let mut flags = PollFlags::POLLIN;
            if !c.outbuf.is_empty() {
                flags |= PollFlags::POLLOUT;
            }
            fds.push((c.stream.as_fd(), flags));
        }
        fds
    }

    /// The earliest connection deadline.
    pub fn deadline(&self) -> Option<Instant> {
        let conns = self.conns.iter().filter_map(|c| match &c.phase {
            ConnState::Waiting(Wait::Condition { deadline, .. }) => *deadline,
            _ => c.deadline,
        });
        conns.chain(self.accept_paused_until).min()
    }

    /// Serves what poll reported (`ready` holds the revents of `poll_fds`, in order) and
    /// returns the complete, well-formed requests for the caller to answer.
    pub fn handle_ready(&mut self, ready: &[bool], now: Instant) -> Vec<(u64, Request)> {
        let mut requests = Vec::new();
        // Connections first: accepting would shift the indices `ready` refers to.
        let ids: Vec<u64> = self
            .conns
            .iter()
            .zip(ready.iter().skip(1))
            .filter(|(_, r)| **r)
            .map(|(c, _)| c.id)
            .collect();
        for id in ids {
            if let Some(req) = self.service(id) {
                requests.push((id, req));
            }
        }
        if ready.first().copied().unwrap_or(false) && self.accept_paused_until.is_none() {
            self.accept_all(now);
        }
        self.conns
            .retain(|c| !(matches!(c.phase, ConnState::Writing) && c.outbuf.is_empty()));
        if self.spare.is_none() {
            self.spare = spare_fd();
        }
        requests
    }

    /// Drops connections past their deadline; a client still sending gets an error first.
    pub fn expire(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            self.accept_paused_until = None;
        }
        for c in &mut self.conns {
            if c.deadline.is_some_and(|d| d <= now) {
                if matches!(c.phase, ConnState::Reading) {
                    let line = error_line("timed out waiting for a complete request line", &[]);
                    let _ = c.stream.write(line.as_bytes());
                }
                c.phase = ConnState::Writing;
                c.outbuf.clear();
            }
        }
        self.conns
            .retain(|c| !(matches!(c.phase, ConnState::Writing) && c.outbuf.is_empty()));
    }

    /// Answers connection `id` and closes it once the line is written.
    pub fn reply(&mut self, id: u64, line: String, now: Instant) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == id) {
            c.outbuf.extend_from_slice(line.as_bytes());
            c.phase = ConnState::Writing;
            c.deadline = Some(now + CONNECTION_DEADLINE);
            flush(c);
        }
        self.conns
            .retain(|c| !(matches!(c.phase, ConnState::Writing) && c.outbuf.is_empty()));
    }

    /// Sends `line` now (if any) and keeps the connection until `wait` is over.
    pub fn park(&mut self, id: u64, line: Option<String>, wait: Wait) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == id) {
            if let Some(line) = line {
                c.outbuf.extend_from_slice(line.as_bytes());
                flush(c);
            }
            c.phase = ConnState::Waiting(wait);
            c.deadline = None;
        }
    }

    /// Connections waiting for services to settle, with the names.
    pub fn waiting_for_services(&self) -> Vec<(u64, Vec<String>)> {
        self.conns
            .iter()
            .filter_map(|c| match &c.phase {
                ConnState::Waiting(Wait::Settled(names)) => Some((c.id, names.clone())),
                _ => None,
            })
            .collect()
    }

    /// Connections waiting in `upkeep wait`: (id, names, condition, deadline).
    pub fn waiting_for_conditions(&self) -> Vec<(u64, &[String], Condition, Option<Instant>)> {
        self.conns
            .iter()
            .filter_map(|c| match &c.phase {
                ConnState::Waiting(Wait::Condition {
                    names,
                    until,
                    deadline,
                }) => Some((c.id, names.as_slice(), *until, *deadline)),
                _ => None,
            })
            .collect()
    }

    /// Whose lines someone follows (`upkeep logs -f`): every service's, or these.
    pub fn followed(&self) -> Followed {
        let mut names = Vec::new();
        for c in &self.conns {
            if let ConnState::Waiting(Wait::Follow(wanted)) = &c.phase {
                if wanted.is_empty() {
                    return Followed::All;
                }
                names.extend(wanted.iter().cloned());
            }
        }
        names.sort_unstable();
        names.dedup();
        Followed::Some(names)
    }

    /// A new line of `name`'s output, to whoever follows it.
    pub fn follow_line(&mut self, name: &str, line: &str) {
        for c in &mut self.conns {
            let wanted = match &c.phase {
                ConnState::Waiting(Wait::Follow(wanted)) => {
                    wanted.is_empty() || wanted.iter().any(|n| n == name)
                }
                _ => false,
            };
            if wanted && c.outbuf.len() + line.len() <= FOLLOW_BACKLOG {
                c.outbuf.extend_from_slice(line.as_bytes());
                flush(c);
            }
        }
    }

    /// upkeep is about to exit: tell the clients that asked for the shutdown, and give them
    /// up to a second to read it and hang up. As PID 1, upkeep's exit kills every process of
    /// the container, `podman exec upkeep shutdown` included, before it could report.
    pub fn exiting(&mut self, line: &str) {
        let mut waiting = Vec::new();
        for c in &mut self.conns {
            if matches!(c.phase, ConnState::Waiting(Wait::Exit)) {
                c.outbuf.extend_from_slice(line.as_bytes());
                // A few hundred bytes into an idle socket: one write is enough.
                flush(c);
                waiting.push(c.stream.as_fd());
            }
        }
        let give_up = Instant::now() + EXIT_GRACE;
        while !waiting.is_empty() {
            let left = give_up.saturating_duration_since(Instant::now());
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            if ms == 0 {
                break;
            }
            let mut fds: Vec<PollFd> = waiting
                .iter()
                .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
                .collect();
            if poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) == 0 {
                break;
            }
            // Readable here means EOF or stray bytes: either way that client is done.
            let done: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            let mut k = 0;
            waiting.retain(|_| {
                k += 1;
                !done.get(k - 1).copied().unwrap_or(true)
            });
        }
    }

    fn accept_all(&mut self, now: Instant) {
        loop {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) && self.spare.take().is_some() => {
                    // The reserve goes to this client; taken back once a connection ends.
                    continue;
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // The backlog keeps the clients; the listener rests meanwhile.
                    let minute = std::time::Duration::from_secs(60);
                    if self.told_out_of_fds.is_none_or(|t| now >= t + minute) {
                        self.told_out_of_fds = Some(now);
                        log::warn!("control socket: {e}; accepting again as descriptors free up");
                    }
                    self.accept_paused_until = Some(now + ACCEPT_PAUSE);
                    return;
                }
                Err(e) => {
                    log::warn!("control socket: accept failed: {e}");
                    return;
                }
            };
            let refuse = |mut stream: UnixStream, why: &str| {
                let _ = stream.set_nonblocking(true);
                let _ = stream.write(error_line(why, &[]).as_bytes());
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            match platform::peer_uid(stream.as_fd()) {
                Ok(uid) if uid == 0 || uid == self.own_uid => {}
                Ok(uid) => {
                    log::warn!("control socket: refused a client running as uid {uid}");
                    refuse(
                        stream,
                        "permission denied: only root and upkeep's own user may use this socket",
                    );
                    continue;
                }
                Err(e) => {
                    refuse(stream, &format!("cannot check the peer's credentials: {e}"));
                    continue;
                }
            }
            if self.conns.len() >= MAX_CONNECTIONS {
                refuse(stream, "busy: too many control connections; try again");
                continue;
            }
            self.next_id += 1;
            self.conns.push(Conn {
                id: self.next_id,
                stream,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                phase: ConnState::Reading,
                deadline: Some(now + CONNECTION_DEADLINE),
            });
        }
    }

    /// Reads and writes what connection `id` allows without blocking; returns its request
    /// once a whole line has arrived.
    fn service(&mut self, id: u64) -> Option<Request> {
        let c = self.conns.iter_mut().find(|c| c.id == id)?;
        flush(c);
        let mut chunk = [0u8; 4096];
        let mut eof = false;
        // Bounded per wake-up: one client cannot keep the loop reading.
        for _ in 0..(MAX_REQUEST / chunk.len() + 2) {
            match c.stream.read(&mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    if matches!(c.phase, ConnState::Reading) {
                        c.inbuf
                            .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    }
                    if c.inbuf.len() > MAX_REQUEST {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        if !matches!(c.phase, ConnState::Reading) {
            if eof {
                // The client went away: nothing left to answer.
                c.phase = ConnState::Writing;
                c.outbuf.clear();
            }
            return None;
        }
        let line_end = c.inbuf.iter().position(|&b| b == b'\n');
        let request_bytes = match line_end {
            Some(end) if end <= MAX_REQUEST => c.inbuf.get(..end),
            // A client that closed its side without a newline still sent a request.
            None if eof && !c.inbuf.is_empty() && c.inbuf.len() <= MAX_REQUEST => {
                Some(c.inbuf.as_slice())
            }
            None if c.inbuf.len() <= MAX_REQUEST && !eof => return None,
            _ => None,
        };
        let result = match request_bytes {
            Some(bytes) => Request::parse(bytes),
            None if eof && c.inbuf.is_empty() => {
                c.phase = ConnState::Writing;
                return None;
            }
            None => Err(format!(
                "request too large (the limit is {} KiB)",
                MAX_REQUEST / 1024
            )),
        };
        c.inbuf = Vec::new();
        match result {
            Ok(req) => Some(req),
            Err(e) => {
                c.outbuf.extend_from_slice(error_line(&e, &[]).as_bytes());
                c.phase = ConnState::Writing;
                flush(c);
                None
            }
        }
    }
}

/// Writes as much of the connection's output as the socket takes now.
fn flush(c: &mut Conn) {
    while !c.outbuf.is_empty() {
        match c.stream.write(&c.outbuf) {
            Ok(0) => break,
            Ok(n) => {
                c.outbuf.drain(..n.min(c.outbuf.len()));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => {
                // The client is gone: drop what it would have read.
                c.outbuf.clear();
                c.phase = ConnState::Writing;
                break;
            }
        }
    }
}

fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only the socket this upkeep made: another may have replaced it since.
        if self.identity.is_some() && file_identity(&self.path) == self.identity {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
