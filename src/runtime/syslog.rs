//! `[supervisor] syslog_listen`: the datagram socket syslog(3) writes to, read in the loop;
//! each message becomes a line of the log under its tag, as a service's output does.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use super::outputs::Outputs;
use crate::core::Core;
use crate::core::syslog::{parse, tag_name};

/// The largest datagram read whole (syslog(3) sends at most about 2 KiB; RFC 5424 allows
/// more); the rest of a longer one is lost.
const DATAGRAM_MAX: usize = 64 * 1024;

/// Datagrams read per wake-up: one flooding sender cannot hold the loop.
const BATCH: usize = 256;

/// The kernel's queue for senders: bursts wait there rather than block them (glibc's
/// syslog(3) blocks on a full socket).
const RECEIVE_BUFFER: libc::c_int = 1 << 20;

pub struct Listener {
    socket: UnixDatagram,
    path: PathBuf,
    /// Reused for every datagram, and the tag of each.
    buf: Vec<u8>,
    tag: String,
}

impl Listener {
    /// Binds `path`, replacing a stale socket there; a failure is logged, and upkeep goes
    /// on without it.
    pub fn bind(path: &Path) -> Option<Listener> {
        match bind(path) {
            Ok(socket) => {
                log::debug!("syslog socket {}", path.display());
                Some(Listener {
                    socket,
                    path: path.to_path_buf(),
                    buf: vec![0; DATAGRAM_MAX],
                    tag: String::new(),
                })
            }
            Err(e) => {
                log::error!(
                    "[supervisor] syslog_listen: cannot listen on {}: {e}; going on without it",
                    path.display()
                );
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Reads what waits, up to `BATCH` datagrams: each a line of the log, and of the tail
    /// of the service its tag names.
    pub fn readable(&mut self, core: &mut Core, outputs: &mut Outputs) {
        for _ in 0..BATCH {
            let n = match self.socket.recv(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // WouldBlock: all read; anything else will be there at the next wake-up.
                Err(_) => break,
            };
            let message = parse(self.buf.get(..n).unwrap_or(&[]));
            tag_name(&mut self.tag, message.tag);
            crate::logging::service_line(&self.tag, message.stderr, message.text);
            if let Some(name) = core.syslog_line(&self.tag, message.stderr, message.text) {
                outputs.heard_line(name, message.stderr, message.text);
            }
        }
        crate::logging::flush();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn bind(path: &Path) -> std::io::Result<UnixDatagram> {
    // A socket left by an earlier run (or syslogd) is replaced, as syslogd does; any other
    // file stays, and is an error.
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a file that is not a socket is there",
            ));
        }
        Err(_) => {}
    }
    let socket = UnixDatagram::bind(path)?;
    let set_up = socket.set_nonblocking(true).and_then(|()| {
        // Daemons that are not root log too.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
    });
    if let Err(e) = set_up {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    // SAFETY: a valid socket and an int option of its size. Failing leaves the default.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            std::ptr::from_ref(&RECEIVE_BUFFER).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Ok(socket)
}
