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
    /// The bound socket file's device and inode: removed at exit only if still ours.
    file: (u64, u64),
    /// Reused for every datagram, and the tag of each.
    buf: Vec<u8>,
    tag: String,
}

impl Listener {
    /// Binds `path`, replacing a stale socket there (not one something listens on); a
    /// failure is logged, and upkeep goes on without it. `log_to_syslog`: upkeep's own log
    /// goes to syslog(3)'s socket, which must not be this one (through a link).
    pub fn bind(path: &Path, log_to_syslog: bool) -> Option<Listener> {
        match bind(path, log_to_syslog) {
            Ok((socket, file)) => {
                log::debug!("syslog socket {}", path.display());
                Some(Listener {
                    socket,
                    path: path.to_path_buf(),
                    file,
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
            // A stack trace sent as one message: a line of the log for each of its lines.
            for line in message.text.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                crate::logging::service_line(&self.tag, message.stderr, line);
                if let Some(name) = core.syslog_line(&self.tag, message.stderr, line) {
                    outputs.heard_line(name, message.stderr, line);
                }
            }
        }
        crate::logging::flush();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Another process may have put its own socket there since.
        if file_id(&self.path, false).ok() == Some(self.file) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A file's device and inode (`follow`: through a symbolic link).
fn file_id(path: &Path, follow: bool) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = if follow {
        std::fs::metadata(path)?
    } else {
        std::fs::symlink_metadata(path)?
    };
    Ok((meta.dev(), meta.ino()))
}

fn bind(path: &Path, log_to_syslog: bool) -> std::io::Result<(UnixDatagram, (u64, u64))> {
    let refuse = |why: String| std::io::Error::new(std::io::ErrorKind::AddrInUse, why);
    // A socket left by an earlier run is replaced, as syslogd does; one that something
    // listens on (a syslogd, journald, another upkeep) is not. Any other file stays.
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixDatagram::unbound()
                .and_then(|probe| probe.connect(path))
                .is_ok()
            {
                return Err(refuse("another process listens on that socket".into()));
            }
            std::fs::remove_file(path)?;
        }
        Ok(_) => return Err(refuse("a file that is not a socket is there".into())),
        Err(_) => {}
    }
    let socket = UnixDatagram::bind(path)?;
    let set_up = || -> std::io::Result<(u64, u64)> {
        socket.set_nonblocking(true)?;
        // Daemons that are not root log too.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        let file = file_id(path, false)?;
        // upkeep's own lines, sent to syslog(3)'s socket, must not come back here.
        let syslog = file_id(Path::new(crate::logging::SYSLOG_SOCKET), true).ok();
        if log_to_syslog && syslog == Some(file) {
            return Err(refuse(format!(
                "log = \"syslog\" writes there (through {}): upkeep would read its own lines \
                 back",
                crate::logging::SYSLOG_SOCKET
            )));
        }
        Ok(file)
    };
    let file = match set_up() {
        Ok(file) => file,
        Err(e) => {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
    };
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
    Ok((socket, file))
}
