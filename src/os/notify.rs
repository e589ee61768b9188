//! sd_notify upwards: upkeep telling the manager that started it (systemd with
//! `Type=notify`, `podman run --sdnotify=container`, Quadlet) that it is ready, how it is,
//! that it is stopping, and that it is alive (`WATCHDOG=1`). One datagram a message, never
//! waited for: a manager that is gone or full costs one failed send, said once.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The manager's socket, from upkeep's environment.
pub struct Upward {
    sock: UnixDatagram,
    addr: SocketAddr,
    /// A send failed and was said: the next failures are not.
    failed: bool,
}

/// What upkeep's own environment asks of it: a socket to notify, and a watchdog period.
pub struct Asked {
    pub upward: Option<Upward>,
    /// `WATCHDOG_USEC` (when `WATCHDOG_PID` is absent or upkeep's).
    pub watchdog: Option<Duration>,
}

/// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`; a socket that cannot be
/// used is said once and ignored.
pub fn from_environment() -> Asked {
    let upward = std::env::var_os("NOTIFY_SOCKET")
        .filter(|v| !v.is_empty())
        .and_then(|path| match open(&path.to_string_lossy()) {
            Ok(up) => Some(up),
            Err(e) => {
                log::warn!(
                    "NOTIFY_SOCKET {}: {e}; not notifying",
                    path.to_string_lossy()
                );
                None
            }
        });
    let ours = std::env::var("WATCHDOG_PID")
        .ok()
        .is_none_or(|p| p.trim().parse::<u32>().ok() == Some(std::process::id()));
    let watchdog = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&us| us > 0 && ours)
        .map(Duration::from_micros);
    // A watchdog with nowhere to send to is no watchdog.
    let watchdog = watchdog.filter(|_| upward.is_some());
    Asked { upward, watchdog }
}

fn open(path: &str) -> std::io::Result<Upward> {
    let addr = address(path)?;
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    Ok(Upward {
        sock,
        addr,
        failed: false,
    })
}

/// A path, or `@name` for a Linux abstract socket, as systemd takes them.
fn address(path: &str) -> std::io::Result<SocketAddr> {
    if let Some(name) = path.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(name.as_bytes());
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "abstract sockets exist on Linux only",
            ));
        }
    }
    SocketAddr::from_pathname(path)
}

impl Upward {
    /// Sends `message` (`READY=1`, `STATUS=...`, ...); a failure is said once.
    pub fn send(&mut self, message: &str) {
        match self.sock.send_to_addr(message.as_bytes(), &self.addr) {
            Ok(_) => self.failed = false,
            Err(e) => {
                if !self.failed {
                    log::warn!("cannot notify the manager ({message:?}): {e}");
                }
                self.failed = true;
            }
        }
    }
}

/// The variables upkeep's services must not inherit: the manager's socket and watchdog
/// speak to upkeep, not to them.
pub const NOT_INHERITED: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];
