//! The runtime's side of readiness and health: TCP and HTTP checks as non-blocking sockets in
//! the one poll, and the channels services notify upkeep through (an sd_notify datagram
//! socket, or the read end of an s6-style notification pipe). Nothing here decides what a
//! result means; every result goes to the core as an event.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6, connect, getsockopt, socket,
    sockopt,
};

use crate::core::{Event, ServiceId};
use crate::types::{Credentials, NetProbe, Notify};

/// The most of an HTTP answer read to find its status line.
const STATUS_LINE_MAX: usize = 1024;

/// Reads of one notification channel per wake-up.
const NOTIFY_READS_MAX: usize = 64;

/// What poll() is to watch, and for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    Probe(ServiceId),
    Notify(ServiceId),
}

#[derive(Default)]
pub struct Checkers {
    probes: HashMap<ServiceId, NetCheck>,
    notify: Notifiers,
}

impl Checkers {
    /// Starts a network check; an answer known at once (refused, unreachable) is returned.
    pub fn start(&mut self, id: ServiceId, seq: u32, probe: &NetProbe) -> Option<Event> {
        self.probes.remove(&id);
        match NetCheck::connect(seq, probe) {
            Ok(Some(check)) => {
                self.probes.insert(id, check);
                None
            }
            Ok(None) => Some(checked(id, seq, Ok(()))),
            Err(why) => Some(checked(id, seq, Err(why))),
        }
    }

    pub fn cancel(&mut self, id: ServiceId) {
        self.probes.remove(&id);
    }

    /// The descriptors to poll, with the events wanted.
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags, Watched)> {
        let probes = self
            .probes
            .iter()
            .map(|(id, c)| (c.fd.as_fd(), c.wanted(), Watched::Probe(*id)));
        probes.chain(self.notify.poll_fds()).collect()
    }

    /// poll() woke on `what`: the events it leads to.
    pub fn woken(&mut self, what: Watched) -> Vec<Event> {
        match what {
            Watched::Probe(id) => {
                let Some(check) = self.probes.get_mut(&id) else {
                    return Vec::new();
                };
                match check.advance() {
                    None => Vec::new(),
                    Some(result) => {
                        let seq = check.seq;
                        self.probes.remove(&id);
                        vec![checked(id, seq, result)]
                    }
                }
            }
            Watched::Notify(id) => self.notify.readable(id),
        }
    }

    /// Before service `id` is spawned with `notify`: the environment and the descriptor the
    /// service gets (its number in the child, and the write end).
    pub fn prepare_notify(
        &mut self,
        id: ServiceId,
        notify: Notify,
        credentials: Option<&Credentials>,
    ) -> Result<Prepared, String> {
        self.notify.prepare(id, notify, credentials)
    }

    /// Service `id` was spawned (or not): the write end of its pipe is the child's alone now.
    pub fn spawned(&mut self, id: ServiceId, prepared: Prepared, ok: bool) {
        if let (true, Some((read, _, _))) = (ok, prepared.pipe) {
            self.notify.pipes.insert(id, read);
        }
    }

    /// The service is gone for good.
    pub fn release(&mut self, id: ServiceId) {
        self.probes.remove(&id);
        self.notify.release(id);
    }
}

fn checked(id: ServiceId, seq: u32, result: Result<(), String>) -> Event {
    Event::Checked { id, seq, result }
}

/// What a service is spawned with to notify upkeep.
#[derive(Default)]
pub struct Prepared {
    pub env: Vec<(String, String)>,
    /// Read end (upkeep's), write end and the child's descriptor number for it.
    pipe: Option<(OwnedFd, OwnedFd, i32)>,
}

impl Prepared {
    /// The write end and its number in the child.
    pub fn child_fd(&self) -> Option<(BorrowedFd<'_>, i32)> {
        self.pipe.as_ref().map(|(_, w, n)| (w.as_fd(), *n))
    }
}

// ---- network checks ----

enum Stage {
    Connecting,
    Sending { sent: usize },
    Reading,
}

struct NetCheck {
    seq: u32,
    fd: OwnedFd,
    phase: Stage,
    /// The HTTP request, for an HTTP check.
    request: Option<Vec<u8>>,
    reply: Vec<u8>,
}

impl NetCheck {
    /// Ok(None): passed at once (a TCP check whose connect completed immediately).
    fn connect(seq: u32, probe: &NetProbe) -> Result<Option<NetCheck>, String> {
        let (addr, request) = match probe {
            NetProbe::Tcp(addr) => (*addr, None),
            NetProbe::Http { addr, host, path } => {
                let request = format!(
                    "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: upkeep\r\n\
                     Connection: close\r\n\r\n"
                );
                (*addr, Some(request.into_bytes()))
            }
        };
        let family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd = socket(family, SockType::Stream, flags, None).map_err(words)?;

        let mut check = NetCheck {
            seq,
            fd,
            phase: Stage::Connecting,
            request,
            reply: Vec::new(),
        };
        let fd = check.fd.as_raw_fd();
        let connected = match addr {
            std::net::SocketAddr::V4(a) => connect(fd, &SockaddrIn::from(a)),
            std::net::SocketAddr::V6(a) => connect(fd, &SockaddrIn6::from(a)),
        };
        match connected {
            Ok(()) => {
                if check.request.is_none() {
                    return Ok(None);
                }
                check.phase = Stage::Sending { sent: 0 };
                Ok(Some(check))
            }
            Err(Errno::EINPROGRESS | Errno::EINTR) => Ok(Some(check)),
            Err(e) => Err(words(e)),
        }
    }

    fn wanted(&self) -> PollFlags {
        match self.phase {
            Stage::Connecting | Stage::Sending { .. } => PollFlags::POLLOUT,
            Stage::Reading => PollFlags::POLLIN,
        }
    }

    /// One step as far as the socket allows; Some once the check has its answer.
    fn advance(&mut self) -> Option<Result<(), String>> {
        loop {
            match self.phase {
                Stage::Connecting => {
                    match getsockopt(&self.fd, sockopt::SocketError) {
                        Ok(0) => {}
                        Ok(e) => return Some(Err(words(Errno::from_raw(e)))),
                        Err(e) => return Some(Err(words(e))),
                    }
                    if self.request.is_none() {
                        return Some(Ok(()));
                    }
                    self.phase = Stage::Sending { sent: 0 };
                }
                Stage::Sending { sent } => {
                    let request = self.request.as_deref().unwrap_or_default();
                    let rest = request.get(sent..).unwrap_or_default();
                    if rest.is_empty() {
                        self.phase = Stage::Reading;
                        continue;
                    }
                    match nix::unistd::write(&self.fd, rest) {
                        Ok(n) => self.phase = Stage::Sending { sent: sent + n },
                        Err(Errno::EAGAIN) => return None,
                        Err(Errno::EINTR) => {}
                        Err(e) => return Some(Err(words(e))),
                    }
                }
                Stage::Reading => return self.read_status(),
            }
        }
    }

    fn read_status(&mut self) -> Option<Result<(), String>> {
        let mut buf = [0u8; 512];
        loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Ok(0) => {
                    return Some(status_line(&self.reply).unwrap_or_else(|| {
                        Err("the connection closed before an HTTP status line".into())
                    }));
                }
                Ok(n) => {
                    self.reply
                        .extend_from_slice(buf.get(..n).unwrap_or_default());
                    if let Some(result) = status_line(&self.reply) {
                        return Some(result);
                    }
                    if self.reply.len() >= STATUS_LINE_MAX {
                        return Some(Err("no HTTP status line in the answer".into()));
                    }
                }
                Err(Errno::EAGAIN) => return None,
                Err(Errno::EINTR) => {}
                Err(e) => return Some(Err(words(e))),
            }
        }
    }
}

/// The verdict of a complete status line ("HTTP/1.1 200 OK"): 2xx and 3xx pass.
fn status_line(reply: &[u8]) -> Option<Result<(), String>> {
    let end = reply.iter().position(|&b| b == b'\n')?;
    let line = String::from_utf8_lossy(reply.get(..end).unwrap_or_default());
    let line = line.trim_end();
    let mut words = line.split_whitespace();
    let code = match (words.next(), words.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => code.parse::<u16>().ok(),
        _ => None,
    };
    Some(match code {
        Some(200..=399) => Ok(()),
        Some(_) => Err(format!(
            "HTTP {}",
            line.split_once(' ').map_or(line, |(_, r)| r)
        )),
        None => Err(format!(
            "not an HTTP status line: {:?}",
            line.chars().take(80).collect::<String>()
        )),
    })
}

/// "connection refused": an errno in a log line's words.
fn words(e: Errno) -> String {
    e.desc().to_ascii_lowercase()
}

// ---- notification channels ----

/// The sd_notify sockets (one per service, in a directory of upkeep's, kept across
/// restarts) and the read ends of the notification pipes (one per run).
#[derive(Default)]
struct Notifiers {
    dir: Option<PathBuf>,
    sockets: HashMap<ServiceId, (UnixDatagram, PathBuf)>,
    pipes: HashMap<ServiceId, OwnedFd>,
}

impl Notifiers {
    fn prepare(
        &mut self,
        id: ServiceId,
        notify: Notify,
        credentials: Option<&Credentials>,
    ) -> Result<Prepared, String> {
        match notify {
            Notify::Systemd => {
                if !self.sockets.contains_key(&id) {
                    let made = self.bind(id, credentials)?;
                    self.sockets.insert(id, made);
                }
                let path = self.sockets.get(&id).map(|(_, p)| p.display().to_string());
                Ok(Prepared {
                    env: vec![("NOTIFY_SOCKET".into(), path.unwrap_or_default())],
                    pipe: None,
                })
            }
            Notify::Fd(n) => {
                // A new pipe per run: a newline of an earlier run cannot make this one ready.
                self.pipes.remove(&id);
                let (read, write) = notification_pipe(n)
                    .map_err(|e| format!("cannot make its notification pipe: {e}"))?;
                Ok(Prepared {
                    env: Vec::new(),
                    pipe: Some((read, write, n)),
                })
            }
        }
    }

    /// A datagram socket the service (whatever user it runs as) may send to.
    fn bind(
        &mut self,
        id: ServiceId,
        credentials: Option<&Credentials>,
    ) -> Result<(UnixDatagram, PathBuf), String> {
        let dir = match &self.dir {
            Some(dir) => dir.clone(),
            None => {
                let dir = notify_dir()
                    .map_err(|e| format!("cannot make a directory for NOTIFY_SOCKET: {e}"))?;
                self.dir = Some(dir.clone());
                dir
            }
        };
        let path = dir.join(id.0.to_string());
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path)
            .map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        if let Some(c) = credentials {
            std::os::unix::fs::chown(&path, Some(c.uid), Some(c.gid))
                .map_err(|e| format!("cannot hand {} to uid {}: {e}", path.display(), c.uid))?;
        }
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        Ok((socket, path))
    }

    fn poll_fds(&self) -> impl Iterator<Item = (BorrowedFd<'_>, PollFlags, Watched)> {
        let sockets = self
            .sockets
            .iter()
            .map(|(id, (s, _))| (s.as_fd(), PollFlags::POLLIN, Watched::Notify(*id)));
        let pipes = self
            .pipes
            .iter()
            .map(|(id, fd)| (fd.as_fd(), PollFlags::POLLIN, Watched::Notify(*id)));
        sockets.chain(pipes)
    }

    fn readable(&mut self, id: ServiceId) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some((socket, _)) = self.sockets.get(&id) {
            let mut buf = [0u8; 4096];
            // A bounded number per wake-up: a service that floods its socket cannot hold
            // the loop; the rest waits for the next poll.
            for _ in 0..NOTIFY_READS_MAX {
                match socket.recv(&mut buf) {
                    Ok(n) => {
                        let datagram = buf.get(..n).unwrap_or_default();
                        let (ready, status, alive) = parse_sd_notify(datagram);
                        if ready || alive || status.is_some() {
                            events.push(Event::Notified {
                                id,
                                ready,
                                status,
                                alive,
                            });
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        if let Some(fd) = self.pipes.get(&id) {
            let mut buf = [0u8; 512];
            let mut newline = false;
            let mut closed = false;
            for _ in 0..NOTIFY_READS_MAX {
                match nix::unistd::read(fd, &mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => newline |= buf.get(..n).unwrap_or_default().contains(&b'\n'),
                    Err(Errno::EINTR) => {}
                    Err(_) => break,
                }
            }
            // Every writer gone (the service closed it, as s6 asks, or died): stop polling it.
            if closed {
                self.pipes.remove(&id);
            }
            if newline {
                events.push(Event::Notified {
                    id,
                    ready: true,
                    status: None,
                    alive: false,
                });
            }
        }
        events
    }

    fn release(&mut self, id: ServiceId) {
        self.pipes.remove(&id);
        if let Some((_, path)) = self.sockets.remove(&id) {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for Notifiers {
    fn drop(&mut self) {
        for (_, (_, path)) in self.sockets.drain() {
            let _ = std::fs::remove_file(path);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// `READY=1`, `STATUS=...` and `WATCHDOG=1` of an sd_notify datagram; other fields are
/// ignored.
fn parse_sd_notify(datagram: &[u8]) -> (bool, Option<String>, bool) {
    let text = String::from_utf8_lossy(datagram);
    let mut ready = false;
    let mut status = None;
    let mut alive = false;
    for line in text.lines() {
        if line == "READY=1" {
            ready = true;
        } else if line == "WATCHDOG=1" {
            alive = true;
        } else if let Some(s) = line.strip_prefix("STATUS=") {
            status = Some(s.chars().take(200).collect());
        }
    }
    (ready, status, alive)
}

/// upkeep's directory for sd_notify sockets: searchable by all (services may run as another
/// user), listable by none, and never one someone else made.
fn notify_dir() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let pid = std::process::id();
    let me = nix::unistd::geteuid().as_raw();
    for attempt in 0..100u32 {
        let dir = base.join(format!("upkeep-notify.{pid}.{attempt}"));
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {
                // The umask may have taken bits the services need.
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                // Left by an earlier upkeep with the same pid (PID 1 of a container): ours
                // to reuse only if it is a real directory of our own.
                let meta = std::fs::symlink_metadata(&dir)?;
                if meta.is_dir() && meta.uid() == me {
                    for entry in std::fs::read_dir(&dir)?.flatten() {
                        let _ = std::fs::remove_file(entry.path());
                    }
                    return Ok(dir);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many stale directories"))
}

/// A pipe whose write end never has descriptor number `target` already (dup2 onto itself
/// would keep close-on-exec set); the read end non-blocking.
fn notification_pipe(target: i32) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    nix::fcntl::fcntl(
        &read,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )?;
    if write.as_raw_fd() != target {
        return Ok((read, write));
    }
    let moved = nix::fcntl::fcntl(&write, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(target + 1))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok((read, unsafe { OwnedFd::from_raw_fd(moved) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_line(b"HTTP/1.1 200 OK\r\n"), Some(Ok(())));
        assert_eq!(
            status_line(b"HTTP/1.0 302 Found\r\nLocation: /\r\n"),
            Some(Ok(()))
        );
        assert_eq!(
            status_line(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some(Err("HTTP 503 Service Unavailable".into()))
        );
        assert_eq!(status_line(b"HTTP/1.1 200 OK"), None);
        assert!(
            matches!(status_line(b"SSH-2.0-OpenSSH\r\n"), Some(Err(e)) if e.contains("not an HTTP"))
        );
    }

    #[test]
    fn sd_notify_fields() {
        assert_eq!(
            parse_sd_notify(b"READY=1\nSTATUS=up\n"),
            (true, Some("up".into()), false)
        );
        assert_eq!(
            parse_sd_notify(b"STATUS=loading 40%"),
            (false, Some("loading 40%".into()), false)
        );
        assert_eq!(parse_sd_notify(b"WATCHDOG=1\nREADY=0"), (false, None, true));
    }

    #[test]
    fn pipe_write_end_never_takes_the_target_number() {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let target = w.as_raw_fd() + 1;
        drop((r, w));
        // The next pipe is likely to get (target - 1, target): the write end must move.
        let (_r, w) = notification_pipe(target).unwrap();
        assert_ne!(w.as_raw_fd(), target);
    }
}
