//! Notifying upwards (sd_notify to the manager that started upkeep), on the real binary:
//! READY=1 once every service is ready, STATUS=, STOPPING=1, WATCHDOG=1, abstract sockets,
//! and services that do not inherit the manager's socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use common::*;

/// Every datagram that arrives within `limit`, as text, until `until` is among them.
fn receive_until(sock: &UnixDatagram, until: &str, limit: Duration) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = wait_for(limit, || {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got.iter().any(|m| m.lines().any(|l| l == until))
    });
    got
}

fn upkeep(dir: &TempDir, config: &str, notify: &str, extra_env: &[(&str, &str)]) -> Running {
    let cfg = dir.write("upkeep.toml", config);
    let mut c = cmd(BIN);
    c.arg("-c")
        .arg(&cfg)
        .env("NOTIFY_SOCKET", notify)
        .env_remove("UPKEEP_LOG")
        .stdin(Stdio::null())
        .log_to(&dir.path("log"));
    for (k, v) in extra_env {
        c.env(k, v);
    }
    Running(c.spawn().unwrap())
}

#[test]
fn ready_comes_once_every_service_is_ready_and_stopping_at_the_stop() {
    let dir = TempDir::new("notify");
    let sock = UnixDatagram::bind(dir.path("notify.sock")).unwrap();
    let d = dir.0.display();
    let mut up = upkeep(
        &dir,
        &format!(
            r#"
[service.db]
command = "env > {d}/env; sleep 1000"
ready.command = "test -e {d}/go"
ready.interval = "50ms"

[service.web]
command = "sleep 1000"
after = ["db"]
"#
        ),
        dir.path("notify.sock").to_str().unwrap(),
        &[],
    );
    assert!(wait_for(Duration::from_secs(10), || dir
        .read("env")
        .contains("PATH=")));
    let early = receive_until(&sock, "READY=1", Duration::from_millis(500));
    assert!(
        !early.iter().any(|m| m.contains("READY=1")),
        "READY=1 before db was ready: {early:?}"
    );
    assert!(
        early
            .iter()
            .any(|m| m.contains("STATUS=0 of 2 services ready")),
        "{early:?}"
    );
    assert!(
        !dir.read("env").contains("NOTIFY_SOCKET"),
        "a service inherited it"
    );
    dir.write("go", "");
    let got = receive_until(&sock, "READY=1", Duration::from_secs(10));
    let ready = got.iter().find(|m| m.contains("READY=1")).expect("READY=1");
    assert!(ready.contains("STATUS=2 of 2 services ready"), "{got:?}");
    kill(up.0.id() as i32, libc::SIGTERM);
    let got = receive_until(&sock, "STOPPING=1", Duration::from_secs(10));
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "{got:?}");
    assert_eq!(
        wait_exit(&mut up.0, Duration::from_secs(10)).code(),
        Some(0)
    );
}

#[test]
#[cfg(target_os = "linux")]
fn watchdog_pings_go_to_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    let dir = TempDir::new("notify-wd");
    let name = format!("upkeep-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    let _up = upkeep(
        &dir,
        "[service.a]\ncommand = \"sleep 1000\"\n",
        &format!("@{name}"),
        &[("WATCHDOG_USEC", "200000")],
    );
    let mut pings = 0;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    assert!(wait_for(Duration::from_secs(10), || {
        if let Ok(n) = sock.recv(&mut buf) {
            pings += String::from_utf8_lossy(&buf[..n])
                .matches("WATCHDOG=1")
                .count();
        }
        pings >= 3
    }));
}

#[test]
fn a_missing_manager_socket_is_said_once_and_changes_nothing() {
    let dir = TempDir::new("notify-none");
    let mut up = upkeep(
        &dir,
        "[service.a]\ncommand = \"sleep 1000\"\n",
        dir.path("nobody.sock").to_str().unwrap(),
        &[("WATCHDOG_USEC", "100000")],
    );
    assert!(wait_for(Duration::from_secs(10), || dir
        .read("log")
        .contains("a started")));
    std::thread::sleep(Duration::from_millis(500));
    kill(up.0.id() as i32, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut up.0, Duration::from_secs(10)).code(),
        Some(0)
    );
    let log = dir.read("log");
    assert_eq!(log.matches("cannot notify the manager").count(), 1, "{log}");
}
