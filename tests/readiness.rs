//! Readiness and health on the real binary: TCP, HTTP, command and both notify ways, start
//! order on readiness, COMMAND's wait, unhealthy restarts, `status`'s HEALTH and exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

/// A port nothing listens on (right now).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A database-like service: opens PORT only after DELAY seconds, then accepts for ever.
const SLOW_LISTENER: &str = r#"
import socket, sys, time
time.sleep(float(sys.argv[1]))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[2])))
s.listen(64)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
"#;

/// An HTTP server on PORT that answers 200 to its first OK requests, then 503.
const FLAKY_HTTP: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
ok = int(sys.argv[2])
n = 0
while True:
    c, _ = s.accept()
    request = c.recv(4096).decode()
    n += 1
    line = request.split("\r\n")[0]
    code = "200 OK" if n <= ok else "503 Service Unavailable"
    print("request", n, line, "->", code, "host" if "\r\nHost: " in request else "no host", flush=True)
    c.sendall(("HTTP/1.1 " + code + "\r\nContent-Length: 0\r\n\r\n").encode())
    c.close()
"#;

/// sd_notify by hand: each argument is a datagram to $NOTIFY_SOCKET.
const NOTIFY: &str = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for message in sys.argv[1:]:
    s.sendto(message.encode(), os.environ["NOTIFY_SOCKET"])
"#;

fn scripts(dir: &TempDir) {
    dir.write("listen.py", SLOW_LISTENER);
    dir.write("http.py", FLAKY_HTTP);
    dir.write("notify.py", NOTIFY);
}

/// The seconds in "NAME ready after 1.6s" (no wall-time bound: the machines are shared).
fn ready_delay(log: &str, name: &str) -> f64 {
    log.split(&format!("{name} ready after "))
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no ready delay for {name} in {log}"))
}

/// `upkeep ARGS --socket DIR/sock`: (exit code, stdout).
fn client(dir: &TempDir, args: &[&str]) -> (i32, String) {
    let (code, stdout, _) = client_on_socket(dir, args);
    (code, stdout)
}

#[test]
fn a_dependent_starts_once_the_port_opens_and_status_says_why_it_waits() {
    let dir = TempDir::new("ready-tcp");
    scripts(&dir);
    let port = free_port();
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.db]
command = ["python3", "{}", "1.5", "{port}"]
ready.tcp = "127.0.0.1:{port}"
ready.interval = "100ms"

[service.web]
command = "echo web up; exec sleep 100"
after = ["db"]
"#,
            dir.path("listen.py").display()
        ),
    );
    // While db boots: starting, web waiting for it, and status exits 3.
    let (code, table) = client(&dir, &["status"]);
    assert_eq!(code, 3, "{table}");
    assert!(table.contains("HEALTH"), "{table}");
    let web = table.lines().find(|l| l.starts_with("web")).unwrap();
    assert!(
        web.contains("waiting") && web.ends_with("waiting for db"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("db") && l.contains("starting")),
        "{table}"
    );
    let (_, json) = client(&dir, &["status", "--json", "db"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["services"][0]["ready"], false, "{json}");
    assert_eq!(v["services"][0]["health"], "-", "{json}");

    wait_log(&dir, "web: web up");
    wait_log(&dir, "db: listening");
    let log = log_of(&dir);
    // Ready once the port opened (after 1.5 s), not before. The order of db's own
    // "listening" line against upkeep's "ready" line is a race (the probe may connect
    // between listen() and the print), so only the delay is checked.
    assert!(ready_delay(&log, "db") >= 1.5, "{log}");
    assert!(
        position(&log, "db ready after") < position(&log, "web started"),
        "{log}"
    );
    let (code, table) = client(&dir, &["status"]);
    assert_eq!(code, 0, "{table}");
    let (_, json) = client(&dir, &["status", "--json", "db"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["services"][0]["ready"], true, "{json}");
}

#[test]
fn command_runs_only_against_a_ready_database() {
    let dir = TempDir::new("ready-ci");
    scripts(&dir);
    let port = free_port();
    let config = dir.write(
        "upkeep.toml",
        &format!(
            r#"
[service.db]
command = ["python3", "{}", "1", "{port}"]
ready.tcp = "127.0.0.1:{port}"
ready.interval = "100ms"
"#,
            dir.path("listen.py").display()
        ),
    );
    // The "test suite": connects once, fails if the database does not answer.
    let probe = format!(
        "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1); print('tests passed')"
    );
    let out = cmd(BIN)
        .arg("-c")
        .arg(&config)
        .args(["--", "python3", "-c", &probe])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("tests passed"), "{stdout}\n{stderr}");
    assert!(ready_delay(&stderr, "db") >= 1.0, "{stderr}");
}

#[test]
fn a_service_that_gives_up_before_ready_stops_everything_without_command() {
    let dir = TempDir::new("ready-giveup");
    let port = free_port();
    let config = dir.write(
        "upkeep.toml",
        &format!(
            r#"
[service.db]
command = "exec sleep 100"
ready.tcp = "127.0.0.1:{port}"
ready.interval = "100ms"
ready.timeout = "500ms"
give_up_after = 2
restart_delay = "100ms"
"#
        ),
    );
    let marker = dir.path("ran");
    let out = cmd(BIN)
        .arg("-c")
        .arg(&config)
        .args(["--", "touch"])
        .arg(&marker)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!marker.exists(), "COMMAND ran: {stderr}");
    // Never ready: a failed start, a backoff, a second failed start, then give-up.
    assert!(
        stderr.contains("db not ready after 0.5s (last try: connection refused); stopping it, then restarting it (restart 1)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("giving up after 2 quick deaths in a row; state failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "db is failed and was never ready; stopping everything without running touch"
        ),
        "{stderr}"
    );
}

#[test]
fn notify_systemd_from_a_grandchild_and_its_status_text() {
    let dir = TempDir::new("ready-sd");
    scripts(&dir);
    let notify = dir.path("notify.py");
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.db]
command = "sleep 0.5; sh -c 'python3 {n} STATUS=warming; sleep 0.3; python3 {n} \"READY=1\nSTATUS=serving\"'; exec sleep 100"
ready.notify = "systemd"

[service.web]
command = "exec sleep 100"
after = ["db"]
"#,
            n = notify.display()
        ),
    );
    wait_log(&dir, "db ready after");
    wait_log(&dir, "web started");
    let (code, table) = client(&dir, &["status"]);
    assert_eq!(code, 0, "{table}");
    let db = table.lines().find(|l| l.starts_with("db")).unwrap();
    assert!(db.ends_with("serving"), "{table}");
    // The socket lives in upkeep's own directory under TMPDIR, unreadable to others.
    let dirs: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("upkeep-notify.")
        })
        .collect();
    assert_eq!(dirs.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = dirs[0].metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o711);
}

#[test]
fn notify_fd_like_s6() {
    let dir = TempDir::new("ready-fd");
    let _up = start_on_socket(
        &dir,
        r#"
[service.db]
command = "sleep 0.3; echo >&5; exec 5>&-; exec sleep 100"
ready.notify = "fd:5"

[service.web]
command = "exec sleep 100"
after = ["db"]
"#,
    );
    wait_log(&dir, "web started");
    let log = log_of(&dir);
    assert!(
        position(&log, "db ready after ") < position(&log, "web started"),
        "{log}"
    );
    // A service without the descriptor open gets an error from the shell, not a hang.
    assert!(!log.contains("bad file descriptor"), "{log}");
}

#[test]
fn a_failing_health_endpoint_restarts_the_service_after_exactly_retries_failures() {
    let dir = TempDir::new("health-http");
    scripts(&dir);
    let port = free_port();
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.web]
command = ["python3", "{}", "{port}", "2"]
ready.tcp = "127.0.0.1:{port}"
ready.interval = "50ms"
health.http = "http://127.0.0.1:{port}/healthz"
health.interval = "200ms"
health.retries = 3
restart_delay = "10s"
"#,
            dir.path("http.py").display()
        ),
    );
    wait_log(
        &dir,
        "web unhealthy: HTTP 503 Service Unavailable; stopping it, then restarting it (restart 1)",
    );
    wait_log(&dir, "web stopped (TERM) after");
    let log = log_of(&dir);
    // Two passes, then exactly three failures before the stop.
    assert!(
        log.contains("web: request 2 GET /healthz HTTP/1.1 -> 200 OK host"),
        "{log}"
    );
    assert!(
        log.contains("web: request 5 GET /healthz HTTP/1.1 -> 503 Service Unavailable"),
        "{log}"
    );
    assert!(!log.contains("request 6 "), "{log}");
    assert!(
        log.contains("web: health check failed (1 of 3 in a row): HTTP 503"),
        "{log}"
    );
    assert!(
        log.contains("web: health check failed (2 of 3 in a row): HTTP 503"),
        "{log}"
    );
    let (code, table) = client(&dir, &["status"]);
    assert_eq!(code, 3, "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("web") && l.contains("unhealthy")),
        "{table}"
    );
    assert!(
        table.contains("unhealthy: HTTP 503 Service Unavailable"),
        "{table}"
    );
}

#[test]
fn a_hanging_check_command_is_killed_and_counted() {
    let dir = TempDir::new("health-hang");
    let _up = start_on_socket(
        &dir,
        r#"
[service.web]
command = "exec sleep 100"
health.command = "echo $$$$ >> checks; exec sleep 100"
health.interval = "200ms"
health.timeout = "300ms"
health.retries = 2
restart_delay = "10s"
directory = "DIR"
"#
        .replace("DIR", &dir.0.display().to_string())
        .as_str(),
    );
    wait_log(&dir, "web unhealthy: timed out after 0.3s");
    let log = log_of(&dir);
    assert!(
        log.contains("web: health check failed (1 of 2 in a row): timed out after 0.3s"),
        "{log}"
    );
    // Each hanging check was killed at its timeout: none is left.
    let pids: Vec<i32> = dir
        .read("checks")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(
        wait_for(Duration::from_secs(5), || pids.iter().all(|p| !alive(*p))),
        "{pids:?}"
    );
}

#[test]
fn a_dependency_that_dies_after_ready_leaves_its_dependents_running() {
    let dir = TempDir::new("ready-dep-dies");
    let _up = start_on_socket(
        &dir,
        r#"
[service.db]
command = "sleep 0.5; exit 1"
restart_delay = "10s"

[service.web]
command = "exec sleep 100"
after = ["db"]
"#,
    );
    wait_log(
        &dir,
        "db is not ready any more; what started after it keeps running: web",
    );
    std::thread::sleep(Duration::from_millis(200));
    let (_, table) = client(&dir, &["status", "web"]);
    assert!(table.contains("running"), "{table}");
}

#[test]
fn reload_adds_a_health_check_to_a_running_service_without_restarting_it() {
    let dir = TempDir::new("health-reload");
    let config_without = r#"
[service.web]
command = "exec sleep 100"
restart_delay = "10s"
"#;
    let _up = start_on_socket(&dir, config_without);
    wait_log(&dir, "web started");
    let port = free_port();
    socket_config(
        &dir,
        &format!(
            "{config_without}health.tcp = \"127.0.0.1:{port}\"\nhealth.interval = \"200ms\"\nhealth.retries = 1\n"
        ),
    );
    let (code, out) = client(&dir, &["reload"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("web: checks changed; applied in place"),
        "{out}"
    );
    wait_log(&dir, "web unhealthy: connection refused");
    let log = log_of(&dir);
    assert_eq!(log.matches("web started").count(), 1, "{log}");
}

#[test]
fn a_ready_command_runs_in_the_services_directory_with_its_env() {
    let dir = TempDir::new("ready-cmd");
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.db]
command = "sleep 0.5; touch ready-$MODE; exec sleep 100"
directory = "{d}"
env = {{ MODE = "prod" }}
ready.command = "test -f ready-$MODE"
ready.interval = "100ms"

[service.web]
command = "exec sleep 100"
after = ["db"]
"#,
            d = dir.0.display()
        ),
    );
    wait_log(&dir, "web started");
    let log = log_of(&dir);
    assert!(
        position(&log, "db ready after ") < position(&log, "web started"),
        "{log}"
    );
    assert!(dir.path("ready-prod").exists());
    let (code, table) = client(&dir, &["status"]);
    assert_eq!(code, 0, "{table}");
}

/// Accepts connections on PORT and never answers: an HTTP check must time out, and upkeep
/// must go on serving meanwhile.
const SILENT: &str = r#"
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
"#;

#[test]
fn an_http_endpoint_that_never_answers_does_not_hold_upkeep() {
    let dir = TempDir::new("health-silent");
    dir.write("silent.py", SILENT);
    let port = free_port();
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.web]
command = ["python3", "{}", "{port}"]
ready.tcp = "127.0.0.1:{port}"
health.http = "http://127.0.0.1:{port}/"
health.interval = "200ms"
health.timeout = "60s"
"#,
            dir.path("silent.py").display()
        ),
    );
    wait_log(&dir, "web ready after");
    // The first health check went out 200 ms after ready and hangs for a minute: requests
    // are answered all the same, nothing has timed out, and with no check answered yet
    // the health is pending.
    std::thread::sleep(Duration::from_millis(600));
    for _ in 0..5 {
        let (code, table) = client(&dir, &["status", "web"]);
        assert_eq!(code, 0, "{table}");
        assert!(table.contains("running  pending"), "{table}");
    }
    let log = log_of(&dir);
    assert!(!log.contains("timed out"), "{log}");
}

/// `watchdog`: a service that pings WATCHDOG=1 (it is told WATCHDOG_USEC) stays healthy;
/// when the pings stop it is unhealthy at once, stopped and started again.
#[test]
fn a_service_whose_watchdog_pings_stop_is_restarted() {
    let dir = TempDir::new("watchdog");
    dir.write(
        "svc.py",
        "import os, socket, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.connect(os.environ['NOTIFY_SOCKET'])\n\
         period = int(os.environ['WATCHDOG_USEC']) / 1e6\n\
         s.send(b'READY=1')\n\
         for _ in range(4):\n    time.sleep(period / 3)\n    s.send(b'WATCHDOG=1')\n\
         time.sleep(1000)\n",
    );
    let _up = start_on_socket(
        &dir,
        &format!(
            "[service.web]\ncommand = [\"python3\", \"{}\"]\nready.notify = \"systemd\"\nwatchdog = \"600ms\"\n",
            dir.path("svc.py").display()
        ),
    );
    wait_log(&dir, "web unhealthy: no WATCHDOG=1 for 0.6s; stopping it");
    let log = log_of(&dir);
    // Unhealthy only after it was ready, and once: then stopped and started again.
    assert_eq!(log.matches("web unhealthy").count(), 1, "{log}");
    let ready = position(&log, "web ready after");
    assert!(position(&log, "web unhealthy") > ready, "{log}");
    assert!(
        wait_for(Duration::from_secs(10), || log_of(&dir)
            .matches("web started")
            .count()
            >= 2),
        "{}",
        log_of(&dir)
    );
}
