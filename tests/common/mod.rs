//! Helpers for tests that run the real binary: temp dirs, bounded waits, /proc readers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_upkeep");

/// The binary the single-command tests run: `UPKEEP_TEST_BIN` (an arm64 build, run by the
/// kernel through binfmt_misc and qemu-user: see scripts/cross.sh), else the one cargo built.
pub fn test_bin() -> String {
    std::env::var("UPKEEP_TEST_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// Whether the binary under test runs under emulation (qemu-user), which refuses
/// PR_SET_CHILD_SUBREAPER.
#[allow(dead_code)] // Used by some test files only.
pub fn emulated() -> bool {
    std::env::var_os("UPKEEP_TEST_BIN").is_some()
}

/// A fresh directory under the target dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "upkeep-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a child with a watchdog: SIGKILL and fail if it does not end within `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs upkeep with `args` to completion (bounded) and returns (code, stderr).
pub fn run(args: &[&str]) -> (i32, String) {
    let mut child = cmd(&test_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err)
}

pub fn kill(pid: i32, sig: i32) {
    unsafe { libc::kill(pid, sig) };
}

/// (pid, state, ppid) of every process, from /proc/[pid]/stat.
pub fn processes() -> Vec<(i32, char, i32)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, state, ppid));
    }
    out
}

pub fn zombies_of(parent: i32) -> usize {
    processes()
        .iter()
        .filter(|(_, s, pp)| *s == 'Z' && *pp == parent)
        .count()
}

pub fn children_of(parent: i32) -> Vec<i32> {
    processes()
        .iter()
        .filter(|(_, _, pp)| *pp == parent)
        .map(|(p, _, _)| *p)
        .collect()
}

pub fn alive(pid: i32) -> bool {
    processes().iter().any(|(p, s, _)| *p == pid && *s != 'Z')
}

/// True when this process may create PID namespaces (root, or unprivileged userns allowed).
pub fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Host pid of the first child of `pid` (the PID 1 of a namespace that `unshare --fork` made).
pub fn first_child(pid: i32) -> Option<i32> {
    let text =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    text.split_whitespace().next().and_then(|s| s.parse().ok())
}

pub fn file_has(path: &Path, needle: &str) -> bool {
    std::fs::read_to_string(path)
        .map(|t| t.contains(needle))
        .unwrap_or(false)
}

/// Kills upkeep and every process group it leads children of (tests clean up after
/// themselves even when the child ignores signals). upkeep is frozen first: running, it
/// would restart a killed service at once, and the new one would outlive the test.
pub fn kill_tree(child: &mut Child) {
    let pid = child.id() as i32;
    kill(pid, libc::SIGSTOP);
    for c in children_of(pid) {
        kill(-c, libc::SIGKILL);
        kill(c, libc::SIGKILL);
    }
    kill(pid, libc::SIGKILL);
    let _ = child.wait();
}

/// A running upkeep that is killed, with its children's groups, when the test ends (even by
/// a failed assertion), so that no test leaves processes behind.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            kill_tree(&mut self.0);
        }
    }
}

/// A Command for `prog` with a control socket of its own: upkeeps run by tests in parallel
/// must not meet at the default /run/upkeep.sock (the second would refuse to start).
pub fn cmd(prog: &str) -> Command {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sock = std::env::temp_dir().join(format!("upkeep-test-{}-{n}.sock", std::process::id()));
    let mut c = Command::new(prog);
    c.env("UPKEEP_SOCKET", sock);
    c
}

/// DIR/upkeep.toml: `services`, served on the control socket DIR/sock.
pub fn socket_config(dir: &TempDir, services: &str) -> PathBuf {
    dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\ncontrol_socket = {:?}\n{services}",
            dir.path("sock").display()
        ),
    )
}

/// Starts `WRAPPER... upkeep -c CONFIG` (a wrapper such as `prlimit --nofile=32:32`) with
/// its log in DIR/log, TMPDIR in DIR, and neither UPKEEP_LOG nor UPKEEP_SOCKET inherited.
pub fn spawn_logged(dir: &TempDir, config: &Path, wrapper: &[&str]) -> Running {
    let mut command = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    let child = command
        .arg("-c")
        .arg(config)
        .env_remove("UPKEEP_LOG")
        .env_remove("UPKEEP_SOCKET")
        .env("TMPDIR", &dir.0)
        .stdin(Stdio::null())
        .log_to(&dir.path("log"))
        .spawn()
        .unwrap();
    Running(child)
}

/// `upkeep -c CONFIG` with its stderr a pipe that nobody reads until the test does, from
/// the returned read end (its stdout: /dev/null).
pub fn spawn_stalled(config: &Path) -> (Running, std::os::fd::OwnedFd) {
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let child = Command::new(BIN)
        .arg("-c")
        .arg(config)
        .env_remove("UPKEEP_LOG")
        .env_remove("UPKEEP_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::from(write_end))
        .spawn()
        .unwrap();
    (Running(child), read_end)
}

/// DIR/log, lossily: it may hold what services wrote that is not UTF-8.
pub fn log_of(dir: &TempDir) -> String {
    String::from_utf8_lossy(&std::fs::read(dir.path("log")).unwrap_or_default()).into_owned()
}

/// Waits (10 s at most) for `needle` in DIR/log.
pub fn wait_log(dir: &TempDir, needle: &str) {
    assert!(
        wait_for(Duration::from_secs(10), || log_of(dir).contains(needle)),
        "{needle:?} not in log:\n{}",
        log_of(dir)
    );
}

/// Waits (10 s at most) until DIR/sock accepts connections.
pub fn wait_socket(dir: &TempDir) {
    let sock = dir.path("sock");
    assert!(
        wait_for(Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        }),
        "no socket; log:\n{}",
        log_of(dir)
    );
}

/// `upkeep -c DIR/upkeep.toml` with `services`, serving DIR/sock, its log in DIR/log;
/// returns once the socket answers.
pub fn start_on_socket(dir: &TempDir, services: &str) -> Running {
    let up = spawn_logged(dir, &socket_config(dir, services), &[]);
    wait_socket(dir);
    up
}

/// `upkeep ARGS --socket DIR/sock`: (exit code, stdout, stderr).
pub fn client_on_socket(dir: &TempDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--socket")
        .arg(dir.path("sock"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Where `needle` is in `text`; a test failure naming both when it is not there.
pub fn position(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"))
}

/// Both of upkeep's streams into one file: services' stdout lines go to upkeep's stdout
/// (split streams, the default), everything else to its stderr.
pub trait LogTo {
    fn log_to(&mut self, path: &std::path::Path) -> &mut Self;
}

impl LogTo for Command {
    fn log_to(&mut self, path: &std::path::Path) -> &mut Self {
        let file = std::fs::File::create(path).unwrap();
        self.stdout(file.try_clone().unwrap()).stderr(file)
    }
}
