//! `log = "syslog"`: lines reach the socket at /dev/log, with facility daemon and their level.
//! A private mount namespace puts a test socket at /dev/log (root; skipped without unshare).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use common::*;

#[test]
fn log_syslog_sends_to_dev_log() {
    if !can_unshare() {
        eprintln!("skipped: needs root and unshare");
        return;
    }
    let dir = TempDir::new("syslog");
    let listener = listen(&dir.path("log.sock"));
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\nlog = \"syslog\"\ncontrol_socket = \"{}/sock\"\n\
             [service.quick]\ncommand = \"echo out; echo err >&2; exit 7\"\nrestart = \"never\"\n\
             critical = true\n",
            dir.0.display()
        ),
    );
    let d = dir.0.display();
    // /dev is a fresh tmpfs in the namespace: /dev/null is bound back in, /dev/log is ours.
    let script = format!(
        "set -e; touch {d}/null; mount --bind /dev/null {d}/null; mount -t tmpfs none /dev; \
         touch /dev/null /dev/log; mount --bind {d}/null /dev/null; \
         mount --bind {d}/log.sock /dev/log; exec {BIN} -c {}",
        cfg.display()
    );
    let out = cmd("unshare")
        .args(["--mount", "--fork", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing on stderr: it all went to syslog.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = listener.recv(&mut buf) {
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        let done = line.contains("exiting with status 7");
        lines.push(line);
        if done {
            break;
        }
    }
    let all = lines.join("\n");
    // <30> = daemon.info, <28> = daemon.warning; "upkeep[PID]: " is the tag.
    assert!(
        lines.iter().any(|l| l.starts_with("<30>")
            && l.contains("upkeep[")
            && l.contains("quick started, pid")),
        "{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<28>") && l.contains("quick is critical and stopped for good")),
        "{all}"
    );
    // A service's lines carry its name as the tag: stdout at info, stderr at warning.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<30>") && l.contains("quick[") && l.ends_with("]: out")),
        "{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<28>") && l.contains("quick[") && l.ends_with("]: err")),
        "{all}"
    );
}

#[test]
fn log_syslog_without_a_syslogd_falls_back_to_stderr() {
    if !can_unshare() || std::path::Path::new("/dev/log").exists() {
        eprintln!("skipped: needs root, unshare and no /dev/log");
        return;
    }
    let dir = TempDir::new("nosyslog");
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\nlog = \"syslog\"\ncontrol_socket = \"{}/sock\"\n\
             [service.quick]\ncommand = \"exit 0\"\nrestart = \"never\"\ncritical = true\n",
            dir.0.display()
        ),
    );
    let out = cmd(BIN).arg("-c").arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no syslog socket at /dev/log yet; logging to stderr until there is"),
        "{err}"
    );
    assert!(err.contains("quick started"), "{err}");
}

#[test]
fn syslog_going_away_and_coming_back_costs_lines_not_upkeep() {
    if !can_unshare() {
        eprintln!("skipped: needs root and unshare");
        return;
    }
    let dir = TempDir::new("syslog-away");
    let sock = dir.path("log.sock");
    let listener = listen(&sock);
    let up = ticker_with_dev_log_at(&dir, &sock, Stdio::inherit());
    ticks(&listener, 3);
    // syslogd goes away for a while...
    drop(listener);
    std::fs::remove_file(&sock).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // ...and comes back: lines flow again, and upkeep lived through it.
    let listener = listen(&sock);
    ticks(&listener, 3);
    drop(up);
}

#[test]
fn a_syslogd_that_comes_after_upkeep_gets_the_log_from_then_on() {
    if !can_unshare() {
        eprintln!("skipped: needs root and unshare");
        return;
    }
    let dir = TempDir::new("syslog-late");
    let sock = dir.path("log.sock");
    // /dev/log points at a socket nobody has bound yet: as in a jail whose upkeep starts
    // before syslogd.
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let up = ticker_with_dev_log_at(&dir, &sock, log.into());
    // Meanwhile the log goes to stderr.
    wait_log(&dir, "no syslog socket at /dev/log yet");
    wait_log(&dir, "ticker: tick");
    // syslogd comes: the log moves there, with a line that says so.
    let lines = ticks(&listen(&sock), 3);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("upkeep[") && l.contains("logging to syslog")),
        "{lines:?}"
    );
    drop(up);
}

/// upkeep with `log = "syslog"` and a service that ticks every 50 ms, in a mount and PID
/// namespace whose /dev/log is a symlink to `sock` (killing its PID 1 at the end takes the
/// ticker with it).
fn ticker_with_dev_log_at(dir: &TempDir, sock: &std::path::Path, stderr: Stdio) -> Running {
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\nlog = \"syslog\"\ncontrol_socket = \"{}/sock\"\n\
             [service.ticker]\ncommand = \"i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done\"\n",
            dir.0.display()
        ),
    );
    let d = dir.0.display();
    let script = format!(
        "set -e; touch {d}/null; mount --bind /dev/null {d}/null; mount -t tmpfs none /dev; \
         touch /dev/null; mount --bind {d}/null /dev/null; ln -s {} /dev/log; exec {BIN} -c {}",
        sock.display(),
        cfg.display()
    );
    let child = cmd("unshare")
        .args(["--mount", "--pid", "--fork", "sh", "-c", &script])
        .stderr(stderr)
        .spawn()
        .unwrap();
    Running(child)
}

/// A syslogd's socket at `sock`, read with a bound.
fn listen(sock: &std::path::Path) -> UnixDatagram {
    let l = UnixDatagram::bind(sock).unwrap();
    l.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    l
}

/// Reads until `want` of the ticker's lines came; returns every line read.
fn ticks(l: &UnixDatagram, want: usize) -> Vec<String> {
    let mut buf = [0u8; 2048];
    let mut lines = Vec::new();
    let mut seen = 0;
    while seen < want {
        let n = l.recv(&mut buf).expect("a line");
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        if line.contains("ticker[") && line.contains("]: tick ") {
            seen += 1;
        }
        lines.push(line);
    }
    lines
}
