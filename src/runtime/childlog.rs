//! A child's stdout and stderr, read without blocking and logged line by line.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use crate::core::output::{LineSplitter, escape_line};

/// A child's output pipe (a diagnostic's, a watch's start command's), read line by line into
/// the log, each line prefixed with `label` ("web diagnose", "apache start").
pub struct ChildOutput {
    label: String,
    pipe: std::fs::File,
    lines: LineSplitter,
}

impl ChildOutput {
    pub fn new(label: String, read_end: OwnedFd) -> ChildOutput {
        ChildOutput {
            label,
            pipe: std::fs::File::from(read_end),
            lines: LineSplitter::default(),
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }

    /// Reads what is there without blocking; logs complete lines. Returns false at EOF.
    pub fn drain(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match self.pipe.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    let label = &self.label;
                    self.lines
                        .feed(buf.get(..n).unwrap_or(&[]), |line| log_line(label, line));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }

    /// The child has ended: what is left, a last line without a newline included.
    pub fn finish(mut self) {
        self.drain();
        let label = &self.label;
        self.lines.flush(|line| log_line(label, line));
    }
}

fn log_line(label: &str, line: &[u8]) {
    let text = escape_line(line);
    log::info!("{label}: {}", String::from_utf8_lossy(&text));
}

/// A pipe for a child's output: both ends close-on-exec (the child gets the write end as
/// its stdout and stderr through dup2), the read end non-blocking.
pub fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(&read, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((read, write))
}
