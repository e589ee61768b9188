//! `log = "syslog"`: lines reach the socket at /dev/log, with facility daemon and their level.
//! A private mount namespace puts a test socket at /dev/log (root; skipped without unshare).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::*;

#[test]
fn log_syslog_sends_to_dev_log() {
    if !can_unshare() {
        eprintln!("skipped: needs root and unshare");
        return;
    }
    let dir = TempDir::new("syslog");
    let listener = UnixDatagram::bind(dir.path("log.sock")).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
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
        err.contains("no syslog socket at /dev/log; logging to stderr"),
        "{err}"
    );
    assert!(err.contains("quick started"), "{err}");
}
