//! `[supervisor] syslog_listen`: datagrams sent as syslog(3), busybox `logger` and RFC 5424
//! senders send them become lines of upkeep's log, and of the tail of the service they name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A client that waits (5 s at most) for room in upkeep's queue, and never longer.
fn sender() -> UnixDatagram {
    let client = UnixDatagram::unbound().unwrap();
    client
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client
}

#[test]
fn messages_become_log_lines_and_the_socket_goes_at_exit() {
    let dir = TempDir::new("syslog-listen");
    let path = dir.path("log.sock");
    // A stale socket of an earlier run is replaced.
    drop(UnixDatagram::bind(&path).unwrap());
    let up = start_on_socket(
        &dir,
        &format!("syslog_listen = {path:?}\n[service.cron]\ncommand = \"exec sleep 100000\"\n"),
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o666);
    let client = sender();
    let sent: [&[u8]; 7] = [
        b"<11>Nov 23 19:40:00 cron[12]: cannot open crontab",
        b"<11>py[4]: Traceback (most recent call last):\r\n  File \"x.py\"\n",
        b"<78>Nov 23 19:40:00 CRON[13]: (root) CMD (run-parts /etc/cron.hourly)\n",
        b"sshd[3]: no pri at all",
        b"<12>1 2026-11-23T19:40:00.1Z box postfix 77 - [x a=\"b\"] \xEF\xBB\xBFqueue full",
        b"<14>1 - - - - - - nobody said who",
        b"<14>app: an \x1b[31mescape\x00",
    ];
    for datagram in sent {
        client.send_to(datagram, &path).unwrap();
    }
    wait_log(&dir, "app: an");
    let log = log_of(&dir);
    for line in [
        " cron[stderr]: cannot open crontab\n",
        " CRON: (root) CMD (run-parts /etc/cron.hourly)\n",
        " sshd: no pri at all\n",
        " postfix[stderr]: queue full\n",
        " syslog: nobody said who\n",
        " app: an \\x1b[31mescape\n",
        // A message of several lines is as many lines of the log.
        " py[stderr]: Traceback (most recent call last):\n",
        " py[stderr]:   File \"x.py\"\n",
    ] {
        assert!(log.contains(line), "{line:?} not in:\n{log}");
    }
    // The tag names the service cron, exactly or but for case: its logs show both.
    let (code, out, err) = client_on_socket(&dir, &["logs", "cron"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cannot open crontab"), "{out}");
    assert!(
        out.contains("(root) CMD (run-parts /etc/cron.hourly)"),
        "{out}"
    );
    assert!(!out.contains("queue full"), "{out}");
    let mut up = up;
    let child = &mut up.0;
    kill(child.id() as i32, libc::SIGTERM);
    wait_exit(child, Duration::from_secs(10));
    assert!(!path.exists(), "the socket is left:\n{}", log_of(&dir));
}

#[test]
fn a_log_to_the_same_socket_is_a_loop_check_reports() {
    let dir = TempDir::new("syslog-loop");
    let own = if cfg!(target_os = "freebsd") {
        "/var/run/log"
    } else {
        "/dev/log"
    };
    let cfg = dir.write(
        "upkeep.toml",
        &format!("[supervisor]\nlog = \"syslog\"\nsyslog_listen = \"{own}\"\n"),
    );
    let out = cmd(BIN).arg("check").arg("-c").arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "upkeep.toml:3:17: [supervisor] `syslog_listen`: \"{own}\" is where log = \"syslog\" \
             writes: upkeep would read its own lines back (a loop)"
        )),
        "{err}"
    );
}

/// A flood while upkeep's stderr is a pipe nobody reads: upkeep goes on answering, holds
/// 1 MiB, drops the rest and says so once the pipe is read again.
#[test]
fn a_flood_past_a_stalled_log_is_dropped_and_counted() {
    let dir = TempDir::new("syslog-flood");
    let path = dir.path("log.sock");
    let cfg = socket_config(&dir, &format!("syslog_listen = {path:?}\n"));
    let (up, read_end) = spawn_stalled(&cfg);
    wait_socket(&dir);
    let client = sender();
    let datagram = format!("<11>flood[1]: {}", "x".repeat(1000));
    // 2 MB of lines: the 64 KiB pipe and the 1 MiB upkeep holds overflow.
    for i in 0..2000 {
        client
            .send_to(datagram.as_bytes(), &path)
            .unwrap_or_else(|e| panic!("datagram {i}: {e}: upkeep stopped reading"));
        if i == 1500 {
            let (code, _, err) = client_on_socket(&dir, &["status"]);
            assert_eq!(code, 0, "{err}");
        }
    }
    let (code, _, err) = client_on_socket(&dir, &["status"]);
    assert_eq!(code, 0, "{err}");
    // Reading again, the log owns up to what it dropped (read in a thread: a test that
    // fails must not hang on the pipe).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::fs::File::from(read_end);
        let mut buf = vec![0u8; 1 << 16];
        let mut seen = String::new();
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if let Some(at) = seen.find("upkeep: dropped ") {
                let line = seen[at..].lines().next().unwrap_or("").to_string();
                if seen[at..].contains('\n') {
                    let _ = tx.send(line);
                    return;
                }
            }
            // Keep the tail only (a line may straddle two reads).
            if seen.len() > 1 << 20 {
                seen = seen.split_off(seen.len() - 4096);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no drop report");
    assert!(line.ends_with(" lines of flood"), "{line}");
    drop(up);
}

/// A socket something listens on (a syslogd, another upkeep) is not taken over, and not
/// removed at exit.
#[test]
fn a_socket_in_use_is_left_alone() {
    let dir = TempDir::new("syslog-in-use");
    let path = dir.path("log.sock");
    let owner = UnixDatagram::bind(&path).unwrap();
    let mut up = start_on_socket(&dir, &format!("syslog_listen = {path:?}\n"));
    wait_log(&dir, "another process listens on that socket");
    kill(up.0.id() as i32, libc::SIGTERM);
    wait_exit(&mut up.0, Duration::from_secs(10));
    sender().send_to(b"<13>still: mine", &path).unwrap();
    let mut buf = [0u8; 64];
    owner
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let n = owner.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"<13>still: mine");
}

#[test]
fn a_reload_moves_the_socket() {
    let dir = TempDir::new("syslog-move");
    let (first, second) = (dir.path("a.sock"), dir.path("b.sock"));
    let _up = start_on_socket(&dir, &format!("syslog_listen = {first:?}\n"));
    assert!(first.exists());
    socket_config(&dir, &format!("syslog_listen = {second:?}\n"));
    let (code, _, err) = client_on_socket(&dir, &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(!first.exists() && second.exists(), "{}", log_of(&dir));
    wait_log(
        &dir,
        &format!("reload: [supervisor] syslog_listen: {}", second.display()),
    );
    sender().send_to(b"<13>moved: here", &second).unwrap();
    wait_log(&dir, " moved: here\n");
}

#[test]
fn json_lines_carry_the_tag_as_name() {
    let dir = TempDir::new("syslog-json");
    let path = dir.path("log.sock");
    let _up = start_on_socket(
        &dir,
        &format!("log_format = \"json\"\nsyslog_listen = {path:?}\n"),
    );
    sender()
        .send_to(b"<10>Nov 23 19:40:00 postfix/smtpd[9]: \"quoted\"", &path)
        .unwrap();
    wait_log(&dir, "quoted");
    let log = log_of(&dir);
    let line = log.lines().find(|l| l.contains("quoted")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["name"], "postfix_smtpd", "{line}");
    assert_eq!(v["stream"], "stderr", "{line}");
    assert_eq!(v["msg"], "\"quoted\"", "{line}");
}

/// `log = "syslog"` and `syslog_listen` on another path that /dev/log links to: `check`
/// cannot see it (the link may be made later), so the bind refuses it: upkeep would read
/// its own lines back for ever. /dev is a tmpfs of a mount namespace of the test's own.
#[test]
fn a_syslog_loop_through_a_link_is_refused_at_bind() {
    if !can_unshare() {
        panic!("unshare is needed (util-linux, root)");
    }
    let dir = TempDir::new("syslog-link-loop");
    let sock = dir.path("log.sock");
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\nlog = \"syslog\"\nsyslog_listen = {sock:?}\n\
             [service.once]\ncommand = \"exit 0\"\nrestart = \"never\"\ncritical = true\n"
        ),
    );
    let script = format!(
        "mount -t tmpfs tmpfs /dev && ln -s {} /dev/log && exec {BIN} -c {}",
        sock.display(),
        cfg.display()
    );
    let out_path = dir.path("out");
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("UPKEEP_LOG")
        .env("UPKEEP_SOCKET", dir.path("ctl.sock"))
        .stdin(Stdio::null())
        .log_to(&out_path)
        .spawn()
        .unwrap();
    wait_exit(&mut child, Duration::from_secs(20));
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        out.contains("upkeep would read its own lines back; going on without it")
            && out.contains("log = \"syslog\" writes there (through /dev/log)"),
        "{out}"
    );
    assert!(!sock.exists(), "{out}");
    // The service could not start in a /dev without /dev/null: said as such, not as the
    // shell's absence.
    assert!(
        out.contains("once: cannot start /bin/sh: no /dev/null for its stdin"),
        "{out}"
    );
}
