//! The output side of children: the pipes upkeep reads (a service's two, kept across its
//! restarts; a diagnostic's or watch command's one), the files services write to, and the
//! tail files handed to diagnostics. Lines are cut and kept by the core; this moves bytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::childlog::{self, ChildOutput};
use crate::control::server::Followed;
use crate::core::Core;
use crate::os::readiness::ReadySet;
use crate::os::spawn;
use crate::types::{ServiceId, Sink, SpawnPlan, Stdio};

/// Most bytes read from one pipe per wake-up: a service writing flat out cannot starve
/// the others, nor the loop.
const READ_CHUNK: usize = 16 * 1024;

/// A service's stdout and stderr pipes and where their lines go.
struct ServicePipes {
    name: String,
    /// Read ends, stdout then stderr (non-blocking).
    read: [File; 2],
    /// Write ends, kept so that the pipes outlive each run: what a service wrote just
    /// before it died is still read, and leftovers may go on writing.
    write: [OwnedFd; 2],
    file: Option<Box<OutputFile>>,
}

/// Everything output-related the runtime holds.
#[derive(Default)]
pub struct Outputs {
    /// Diagnostics' and watch commands' pipes, by pid.
    children: HashMap<i32, ChildOutput>,
    services: HashMap<ServiceId, ServicePipes>,
    /// The services' read ends, registered once (Linux); None: each is polled itself.
    set: Option<ReadySet>,
    /// Whether making `set` was tried (lazily: a config without services needs none).
    set_tried: bool,
    /// Which service a live pid is the main process of: its pipes are drained before its
    /// death is reported, so the death message has its last words.
    pids: HashMap<i32, ServiceId>,
    /// UPKEEP_OUTPUT_TAIL files, by the pid of the diagnostic they were made for.
    tail_files: HashMap<i32, PathBuf>,
    next_tail: u64,
    dev_null: Option<OwnedFd>,
    buf: Vec<u8>,
    /// Services someone follows (`upkeep logs -f`), and their lines since last taken.
    followed: Followed,
    follow_lines: Vec<(String, bool, Vec<u8>)>,
}

/// Which pipe poll() is to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    Child(i32),
    Service(ServiceId, bool),
}

impl Outputs {
    /// Spawns `plan` with the output it asks for; returns the pid, or the shell's status
    /// and the reason.
    /// `notify`: a descriptor the child gets under a number of its own.
    pub fn spawn(
        &mut self,
        plan: &SpawnPlan,
        notify: Option<(BorrowedFd<'_>, i32)>,
    ) -> Result<i32, (i32, String)> {
        let failed = |e: std::io::Error| {
            (
                spawn::exec_failure_status(&e),
                spawn::exec_failure_reason(&e),
            )
        };
        let tail_file = match &plan.output_tail {
            Some(bytes) => Some(
                self.write_tail(bytes)
                    .map_err(|e| (126, format!("cannot write the output tail file: {e}")))?,
            ),
            None => None,
        };
        let with_tail;
        let plan = match &tail_file {
            Some(path) => {
                let mut p = plan.clone();
                p.env.push(("UPKEEP_OUTPUT_TAIL".into(), path.into()));
                with_tail = p;
                &with_tail
            }
            None => plan,
        };
        let result = match &plan.stdio {
            Stdio::Inherit => {
                let fds = spawn::ChildFds {
                    notify,
                    ..Default::default()
                };
                spawn::spawn(plan, fds).map_err(failed)
            }
            Stdio::Null => {
                let null = self.dev_null().map_err(failed)?;
                let fds = spawn::ChildFds {
                    stdout: Some(null),
                    stderr: Some(null),
                    notify,
                };
                spawn::spawn(plan, fds).map_err(failed)
            }
            Stdio::Logged(label) => {
                let (read, write) =
                    childlog::pipe().map_err(|e| (126, format!("cannot make a pipe: {e}")))?;
                let fds = spawn::ChildFds {
                    stdout: Some(write.as_fd()),
                    stderr: Some(write.as_fd()),
                    notify,
                };
                let pid = spawn::spawn(plan, fds).map_err(failed)?;
                self.children
                    .insert(pid, ChildOutput::new(label.clone(), read));
                Ok(pid)
            }
            Stdio::Service { id, name, sink } => {
                if !self.services.contains_key(id) {
                    let pipes = ServicePipes::new(name, sink)
                        .map_err(|e| (126, format!("cannot make its output pipes: {e}")))?;
                    self.watch_pipes(*id, &pipes);
                    self.services.insert(*id, pipes);
                }
                let pipes = self.services.get(id).ok_or((126, "no pipes".to_string()))?;
                let fds = spawn::ChildFds {
                    stdout: Some(pipes.write[0].as_fd()),
                    stderr: Some(pipes.write[1].as_fd()),
                    notify,
                };
                let pid = spawn::spawn(plan, fds).map_err(failed)?;
                self.pids.insert(pid, *id);
                Ok(pid)
            }
        };
        match (&result, tail_file) {
            (Ok(pid), Some(path)) => {
                self.tail_files.insert(*pid, path);
            }
            (Err(_), Some(path)) => {
                let _ = std::fs::remove_file(path);
            }
            _ => {}
        }
        result
    }

    /// The pipes to poll for POLLIN one by one: the children's, and the services' when
    /// there is no set for them.
    pub fn pipes(&self) -> Vec<(BorrowedFd<'_>, Pipe)> {
        let children = self
            .children
            .iter()
            .map(|(pid, o)| (o.fd(), Pipe::Child(*pid)));
        let services = self
            .services
            .iter()
            .filter(|_| self.set.is_none())
            .flat_map(|(id, p)| {
                [
                    (p.read[0].as_fd(), Pipe::Service(*id, false)),
                    (p.read[1].as_fd(), Pipe::Service(*id, true)),
                ]
            });
        children.chain(services).collect()
    }

    /// The one descriptor that stands for every service pipe, when there is a set.
    pub fn set_fd(&self) -> Option<BorrowedFd<'_>> {
        self.set.as_ref().map(ReadySet::fd)
    }

    /// The service pipes the set says have input.
    pub fn ready_in_set(&self) -> Vec<Pipe> {
        let keys = self.set.as_ref().map(ReadySet::ready).unwrap_or_default();
        keys.into_iter().map(pipe_of_key).collect()
    }

    /// Registers a new service's read ends with the set (made on first use); a failure
    /// puts every service back to being polled one by one.
    fn watch_pipes(&mut self, id: ServiceId, pipes: &ServicePipes) {
        if !self.set_tried {
            self.set_tried = true;
            self.set = ReadySet::new().ok();
        }
        let Some(set) = &mut self.set else {
            return;
        };
        for (stderr, read) in [(false, &pipes.read[0]), (true, &pipes.read[1])] {
            if let Err(e) = set.add(read.as_fd(), key_of_pipe(id, stderr)) {
                log::warn!("cannot watch an output pipe with epoll ({e}); polling each instead");
                self.set = None;
                return;
            }
        }
    }

    /// poll() says `pipe` has something: read it (a bounded amount for a service).
    pub fn readable(&mut self, pipe: Pipe, core: &mut Core) {
        match pipe {
            Pipe::Child(pid) => {
                // At EOF every writer is gone; the exit itself comes through the reaper.
                if self.children.get_mut(&pid).is_some_and(|o| !o.drain())
                    && let Some(o) = self.children.remove(&pid)
                {
                    o.finish();
                }
            }
            Pipe::Service(id, stderr) => {
                self.read_service(id, stderr, core, false);
            }
        }
    }

    /// `pid` was reaped: its last output goes out before the core hears of its death.
    pub fn reaped(&mut self, pid: i32, core: &mut Core) {
        if let Some(o) = self.children.remove(&pid) {
            o.finish();
        }
        if let Some(path) = self.tail_files.remove(&pid) {
            let _ = std::fs::remove_file(path);
        }
        if let Some(id) = self.pids.remove(&pid) {
            for stderr in [false, true] {
                self.read_service(id, stderr, core, true);
            }
        }
    }

    /// A line the core hands over (a last one, without a newline, after a death).
    pub fn service_line(&mut self, id: ServiceId, stderr: bool, line: &[u8]) {
        if let Some(p) = self.services.get_mut(&id) {
            p.line(stderr, line);
            p.flush();
            let name = p.name.clone();
            self.heard_line(&name, stderr, line);
        }
    }

    /// A line of a service's that is already logged (a last one, one from syslog): for
    /// its followers.
    pub fn heard_line(&mut self, name: &str, stderr: bool, line: &[u8]) {
        if self.followed.includes(name) {
            self.follow_lines
                .push((name.to_string(), stderr, line.to_vec()));
        }
    }

    /// The service is gone for good.
    pub fn release(&mut self, id: ServiceId) {
        if let (Some(pipes), Some(set)) = (self.services.remove(&id), &mut self.set) {
            for read in &pipes.read {
                set.remove(read.as_fd());
            }
        }
        self.pids.retain(|_, owner| *owner != id);
    }

    /// The services whose new lines are wanted.
    pub fn follow(&mut self, followed: Followed) {
        self.followed = followed;
    }

    /// The followed lines read since the last call.
    pub fn take_followed(&mut self) -> Vec<(String, bool, Vec<u8>)> {
        std::mem::take(&mut self.follow_lines)
    }

    /// After a reload: files moved by an external logrotate are opened afresh.
    pub fn reopen_files(&mut self) {
        for p in self.services.values_mut() {
            if let Some(f) = &mut p.file {
                f.reopen();
            }
        }
    }

    fn read_service(&mut self, id: ServiceId, stderr: bool, core: &mut Core, to_the_end: bool) {
        let Some(pipes) = self.services.get_mut(&id) else {
            return;
        };
        self.buf.resize(READ_CHUNK, 0);
        let stream = usize::from(stderr);
        loop {
            let n = match pipes.read.get_mut(stream).map(|f| f.read(&mut self.buf)) {
                Some(Ok(n)) if n > 0 => n,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => break,
            };
            let bytes = self.buf.get(..n).unwrap_or(&[]);
            let followed = self.followed.includes(&pipes.name);
            let follow_lines = &mut self.follow_lines;
            core.service_output(id, stderr, bytes, &mut |name, stderr, line| {
                pipes.line(stderr, line);
                if followed {
                    follow_lines.push((name.to_string(), stderr, line.to_vec()));
                }
            });
            if !to_the_end || n < READ_CHUNK {
                break;
            }
        }
        pipes.flush();
    }

    fn dev_null(&mut self) -> std::io::Result<BorrowedFd<'_>> {
        if self.dev_null.is_none() {
            let file = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
            self.dev_null = Some(OwnedFd::from(file));
        }
        self.dev_null
            .as_ref()
            .map(AsFd::as_fd)
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EBADF))
    }

    /// A file holding a service's recent output, for its diagnostic (mode 0600).
    fn write_tail(&mut self, bytes: &[u8]) -> std::io::Result<PathBuf> {
        self.next_tail += 1;
        let path = std::env::temp_dir().join(format!(
            "upkeep-tail-{}-{}",
            std::process::id(),
            self.next_tail
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(bytes)?;
        Ok(path)
    }
}

/// A service pipe's key in the set: the service's id and which stream.
fn key_of_pipe(id: ServiceId, stderr: bool) -> u64 {
    (u64::from(id.0) << 1) | u64::from(stderr)
}

fn pipe_of_key(key: u64) -> Pipe {
    let id = u32::try_from(key >> 1).unwrap_or(u32::MAX);
    Pipe::Service(ServiceId(id), key & 1 == 1)
}

impl ServicePipes {
    fn new(name: &str, sink: &Sink) -> std::io::Result<ServicePipes> {
        let (out_r, out_w) = childlog::pipe()?;
        let (err_r, err_w) = childlog::pipe()?;
        let file = match sink {
            Sink::Log => None,
            Sink::File {
                path,
                max_size,
                keep,
                owner,
            } => Some(Box::new(OutputFile::open(
                name, path, *max_size, *keep, *owner,
            ))),
        };
        Ok(ServicePipes {
            name: name.to_string(),
            read: [File::from(out_r), File::from(err_r)],
            write: [out_w, err_w],
            file,
        })
    }

    fn line(&mut self, stderr: bool, line: &[u8]) {
        match &mut self.file {
            Some(file) => file.line(line),
            None => crate::logging::service_line(&self.name, stderr, line),
        }
    }

    /// Writes what the lines since the last flush made.
    fn flush(&mut self) {
        match &mut self.file {
            Some(file) => file.flush(),
            None => crate::logging::flush(),
        }
    }
}

/// `output = FILE`: timestamped lines, appended, rotated by size (rename, never copy).
struct OutputFile {
    name: String,
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: u64,
    keep: u32,
    owner: Option<(u32, u32)>,
    /// Lines lost since writing last failed (a full disk): reported once it works again.
    dropped: u64,
    /// Lines read but not written yet: one write per read, not per line.
    pending: Vec<u8>,
}

impl OutputFile {
    fn open(
        name: &str,
        path: &std::path::Path,
        max_size: u64,
        keep: u32,
        owner: Option<(u32, u32)>,
    ) -> OutputFile {
        let mut f = OutputFile {
            name: name.to_string(),
            path: path.to_path_buf(),
            file: None,
            size: 0,
            max_size,
            keep,
            owner,
            dropped: 0,
            pending: Vec::new(),
        };
        f.reopen();
        f
    }

    fn reopen(&mut self) {
        let opened = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&self.path);
        match opened {
            Ok(file) => {
                if let Some((uid, gid)) = self.owner {
                    // SAFETY: fchown on a descriptor we own.
                    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
                    if unsafe { libc::fchown(fd, uid, gid) } != 0 {
                        log::warn!(
                            "{}: cannot give {} to its user: {}",
                            self.name,
                            self.path.display(),
                            std::io::Error::last_os_error()
                        );
                    }
                }
                self.size = file.metadata().map_or(0, |m| m.len());
                self.file = Some(file);
            }
            Err(e) => {
                log::warn!(
                    "{}: cannot open its output file {}: {e}",
                    self.name,
                    self.path.display()
                );
                self.file = None;
            }
        }
    }

    /// FILE -> FILE.1 -> FILE.2 ... (FILE.keep is dropped), then a new FILE.
    fn rotate(&mut self) {
        let numbered = |k: u32| PathBuf::from(format!("{}.{k}", self.path.display()));
        if self.keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            for k in (1..self.keep).rev() {
                let _ = std::fs::rename(numbered(k), numbered(k + 1));
            }
            let _ = std::fs::rename(&self.path, numbered(1));
        }
        self.reopen();
    }

    /// Queues one timestamped line; rotates first when it would pass `max_size`, counting
    /// the lines queued for the same write (only a line longer than the limit by itself
    /// makes a file pass it).
    fn line(&mut self, text: &[u8]) {
        // The stamp, a space, the text and the newline.
        let len = (crate::logging::STAMP_LEN + 2 + text.len()) as u64;
        let used = self.size + self.pending.len() as u64;
        if used > 0 && used + len > self.max_size {
            self.flush();
            self.rotate();
        }
        crate::logging::stamp(&mut self.pending);
        self.pending.push(b' ');
        self.pending.extend_from_slice(text);
        self.pending.push(b'\n');
    }

    /// Writes the queued lines, in one write when the disk takes them.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if self.file.is_none() && self.dropped == 0 {
            self.reopen();
        }
        let lines = self.pending.iter().filter(|&&b| b == b'\n').count() as u64;
        let written = match &mut self.file {
            Some(file) => file.write_all(&self.pending),
            None => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
        };
        match written {
            Ok(()) => {
                self.size += self.pending.len() as u64;
                if self.dropped > 0 {
                    log::info!("dropped {} lines of {}", self.dropped, self.name);
                    self.dropped = 0;
                }
            }
            Err(e) => {
                if self.dropped == 0 {
                    log::warn!(
                        "{}: cannot write to {}: {e}; dropping its lines until it can",
                        self.name,
                        self.path.display()
                    );
                }
                self.dropped += lines;
            }
        }
        self.pending.clear();
        if self.pending.capacity() > 4 * READ_CHUNK {
            self.pending.shrink_to(READ_CHUNK);
        }
    }
}
