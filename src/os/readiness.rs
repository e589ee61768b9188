//! A set of long-lived descriptors watched for input, each with a key: the services' output
//! pipes, two per service. poll() costs the kernel work for every descriptor at every
//! wake-up, so with a thousand services each death or line paid for two thousand; on Linux
//! the set is an epoll instance, registered once, that poll() watches as one descriptor and
//! that names only what is ready. Where there is none (FreeBSD, or no descriptor left for
//! it), `ReadySet::new` fails and the caller polls each descriptor itself, as before.

use std::io;
use std::os::fd::BorrowedFd;

#[cfg(target_os = "linux")]
pub struct ReadySet {
    epoll: nix::sys::epoll::Epoll,
}

/// None can be made here: every method is unreachable.
#[cfg(not(target_os = "linux"))]
pub enum ReadySet {}

/// Ready keys taken per call; the rest are named again by the next one (level-triggered).
#[cfg(target_os = "linux")]
const BATCH: usize = 256;

#[cfg(target_os = "linux")]
impl ReadySet {
    pub fn new() -> io::Result<ReadySet> {
        use nix::sys::epoll::{Epoll, EpollCreateFlags};
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        Ok(ReadySet { epoll })
    }

    pub fn add(&mut self, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
        use nix::sys::epoll::{EpollEvent, EpollFlags};
        let event = EpollEvent::new(EpollFlags::EPOLLIN, key);
        Ok(self.epoll.add(fd, event)?)
    }

    pub fn remove(&mut self, fd: BorrowedFd<'_>) {
        // Closing the descriptor takes it out too; an error here changes nothing.
        let _ = self.epoll.delete(fd);
    }

    /// The one descriptor poll() watches for the whole set.
    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.epoll.0.as_fd()
    }

    /// The keys with input now, without waiting.
    pub fn ready(&self) -> Vec<u64> {
        use nix::sys::epoll::{EpollEvent, EpollTimeout};
        let mut events = [EpollEvent::empty(); BATCH];
        match self.epoll.wait(&mut events, EpollTimeout::ZERO) {
            Ok(n) => events.iter().take(n).map(EpollEvent::data).collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl ReadySet {
    pub fn new() -> io::Result<ReadySet> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub fn add(&mut self, _fd: BorrowedFd<'_>, _key: u64) -> io::Result<()> {
        match *self {}
    }

    pub fn remove(&mut self, _fd: BorrowedFd<'_>) {
        match *self {}
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        match *self {}
    }

    pub fn ready(&self) -> Vec<u64> {
        match *self {}
    }
}
