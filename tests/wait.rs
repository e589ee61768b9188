//! `upkeep wait` on the real binary: each condition, the timeout, a hopeless wait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const SERVICES: &str = r#"
[service.db]
command = "sleep 0.6; echo >&5; exec 5>&-; exec sleep 100"
ready.notify = "fd:5"

[service.never]
command = "exec sleep 100"
ready.notify = "fd:5"

[service.bad]
command = "sleep 0.2; exit 1"
restart = "never"

[service.job]
command = "sleep 0.4"
type = "oneshot"
"#;

/// `upkeep wait ARGS`: (exit code, stdout, stderr, how long it took).
fn wait(dir: &TempDir, args: &[&str]) -> (i32, String, String, Duration) {
    let t = Instant::now();
    let mut all = vec!["wait"];
    all.extend_from_slice(args);
    let (code, out, err) = client_on_socket(dir, &all);
    (code, out, err, t.elapsed())
}

#[test]
fn ready_done_and_down_are_answered_when_they_happen() {
    let dir = TempDir::new("wait-conds");
    let _up = start_on_socket(&dir, SERVICES);
    let (code, out, err, took) = wait(&dir, &["db", "--timeout", "10s"]);
    assert_eq!((code, out.as_str()), (0, "db: running\n"), "{err}");
    assert!(
        took >= Duration::from_millis(300),
        "{took:?}: answered before db was ready"
    );
    let (code, out, err, _) = wait(&dir, &["job", "--done"]);
    assert_eq!((code, out.as_str()), (0, "job: done\n"), "{err}");
    let (code, _, err, _) = wait(&dir, &["db", "job", "--healthy", "--timeout=5s"]);
    assert_eq!(code, 0, "{err}");

    // --down: answered once a stop from elsewhere has taken db down.
    let sock = dir.path("sock");
    let waiter = std::process::Command::new(BIN)
        .args(["wait", "db", "--down", "--socket"])
        .arg(&sock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stopper = std::thread::spawn({
        let sock = sock.clone();
        move || {
            std::thread::sleep(Duration::from_millis(300));
            std::process::Command::new(BIN)
                .args(["stop", "db", "--socket"])
                .arg(sock)
                .output()
                .unwrap()
        }
    });
    let waited = waiter.wait_with_output().unwrap();
    assert!(stopper.join().unwrap().status.success());
    assert_eq!(waited.status.code(), Some(0), "{waited:?}");
    assert_eq!(String::from_utf8_lossy(&waited.stdout), "db: stopped\n");
}

#[test]
fn a_timeout_names_who_is_not_there_and_what_it_is() {
    let dir = TempDir::new("wait-timeout");
    let _up = start_on_socket(&dir, SERVICES);
    let (code, _, err, took) = wait(&dir, &["never", "--timeout", "400ms"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        took >= Duration::from_millis(380) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(
        err.contains("timed out waiting for never to be ready"),
        "{err}"
    );
    assert!(err.contains("never: starting, not ready"), "{err}");
}

#[test]
fn a_hopeless_wait_fails_at_once() {
    let dir = TempDir::new("wait-hopeless");
    let _up = start_on_socket(&dir, SERVICES);
    wait_log(&dir, "bad exited with status 1");
    // No timeout at all: only the hopelessness can end it.
    let (code, _, err, took) = wait(&dir, &["bad"]);
    assert_eq!(code, 1, "{err}");
    // Far below "never": a wait that is not given up would hang here.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(err.contains("bad can never be ready"), "{err}");
    // --done is for oneshots; an unknown name is an error; both at once.
    let (code, _, err, _) = wait(&dir, &["never", "--done"]);
    assert!(code == 1 && err.contains("not a oneshot"), "{err}");
    let (code, _, err, _) = wait(&dir, &["nope", "--timeout", "30s"]);
    assert!(code == 1 && err.contains("nope"), "{err}");
    let (code, _, err, _) = wait(&dir, &["db", "--ready", "--down"]);
    assert_eq!(code, 2, "{err}");
}
