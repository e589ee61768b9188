//! The control socket and the client subcommands, on the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// `upkeep ARGS... -c DIR/upkeep.toml`: (exit code, stdout, stderr).
fn client(dir: &TempDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("-c")
        .arg(dir.path("upkeep.toml"))
        .env_remove("UPKEEP_SOCKET")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn status_json(dir: &TempDir) -> Value {
    let (_, out, err) = client(dir, &["status", "--json"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?} {err:?}"))
}

fn entry(status: &Value, name: &str) -> Value {
    status["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .clone()
}

fn pid_of(dir: &TempDir, name: &str) -> i64 {
    let mut pid = 0;
    assert!(
        wait_for(Duration::from_secs(10), || {
            pid = entry(&status_json(dir), name)["pid"].as_i64().unwrap_or(0);
            pid > 0
        }),
        "{name} never ran; log:\n{}",
        dir.read("log")
    );
    pid
}

fn state_of(dir: &TempDir, name: &str) -> String {
    entry(&status_json(dir), name)["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The one-letter state of a process in /proc (R, S, T, Z...).
fn proc_state(pid: i64) -> char {
    processes()
        .into_iter()
        .find(|(p, _, _)| *p as i64 == pid)
        .map_or('?', |(_, s, _)| s)
}

const TWO: &str = r#"
[service.web]
command = "exec sleep 1000"
[service.db]
command = "exec sleep 2000"
"#;

#[test]
fn status_table_json_and_exit_codes() {
    let dir = TempDir::new("ctl-status");
    let _up = start_on_socket(
        &dir,
        r#"
[service.web]
command = "exec sleep 1000"
[service.broken]
command = "exit 3"
restart = "on-failure"
give_up_after = 1
"#,
    );
    let web = pid_of(&dir, "web");
    assert!(wait_for(Duration::from_secs(10), || state_of(
        &dir, "broken"
    ) == "failed"));
    let (code, out, _) = client(&dir, &["status"]);
    assert_eq!(code, 3, "a failed service makes status exit 3:\n{out}");
    let header = out.lines().next().unwrap();
    for col in [
        "NAME",
        "KIND",
        "STATE",
        "HEALTH",
        "PID",
        "UPTIME",
        "RESTARTS",
        "LAST EXIT",
        "NOTE",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        out.contains(&format!("web     service  running  -       {web}")),
        "{out}"
    );
    assert!(
        out.contains("broken  service  failed") && out.contains("status 3"),
        "{out}"
    );

    let status = status_json(&dir);
    assert_eq!(status["v"], 1);
    assert_eq!(status["healthy"], false);
    let w = entry(&status, "web");
    assert_eq!(
        (w["state"].clone(), w["pid"].clone()),
        ("running".into(), web.into())
    );
    assert_eq!(w["restarts"], 0);
    assert_eq!(
        (w["ready"].clone(), w["health"].clone()),
        (true.into(), "-".into())
    );
    assert_eq!(entry(&status, "broken")["last_exit"], "status 3");
    assert_eq!(entry(&status, "broken")["ready"], false);

    // Asking about web alone: healthy, exit 0. An unknown name: an error, exit 1.
    let (code, out, _) = client(&dir, &["status", "web"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("broken"));
    let (code, _, err) = client(&dir, &["status", "wbe"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no service or watch named \"wbe\" (did you mean \"web\"?)"),
        "{err}"
    );
}

#[test]
fn stop_start_restart() {
    let dir = TempDir::new("ctl-stop");
    let _up = start_on_socket(&dir, TWO);
    let web = pid_of(&dir, "web");
    let db = pid_of(&dir, "db");

    let (code, out, err) = client(&dir, &["stop", "web"]);
    assert_eq!((code, out.trim()), (0, "web: stopped"), "{err}");
    // The client answered once web was down.
    assert!(!alive(web as i32));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state_of(&dir, "web"), "stopped");
    assert_eq!(pid_of(&dir, "db"), db, "db is left alone");
    // A requested stop is not a fault.
    assert_eq!(client(&dir, &["status"]).0, 0);

    let (code, out, _) = client(&dir, &["start", "web"]);
    assert_eq!(code, 0);
    let web2 = pid_of(&dir, "web");
    assert_eq!(out.trim(), format!("web: running (pid {web2})"));
    assert_ne!(web2, web);

    let (code, _, _) = client(&dir, &["restart", "web"]);
    assert_eq!(code, 0);
    let web3 = pid_of(&dir, "web");
    assert_ne!(web3, web2);
    assert!(!alive(web2 as i32));
    assert_eq!(pid_of(&dir, "db"), db);

    // Unknown names and bad arguments: an error, and nothing changes.
    let (code, _, err) = client(&dir, &["stop", "web", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    assert_eq!(client(&dir, &["stop"]).0, 2);
    assert_eq!(client(&dir, &["signal", "BOGUS", "web"]).0, 2);
    assert_eq!(pid_of(&dir, "web"), web3);
}

#[test]
fn signals_reach_the_service_and_stop_cont_pause_it() {
    let dir = TempDir::new("ctl-signal");
    let d = dir.0.display();
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.web]
command = "trap 'echo hup >> {d}/got' HUP; while :; do sleep 0.1; done"
"#
        ),
    );
    let web = pid_of(&dir, "web");
    let (code, out, _) = client(&dir, &["signal", "HUP", "web"]);
    assert_eq!((code, out.trim()), (0, "sent HUP to web"));
    assert!(wait_for(Duration::from_secs(5), || file_has(
        &dir.path("got"),
        "hup"
    )));
    assert_eq!(pid_of(&dir, "web"), web, "HUP did not restart it");

    assert_eq!(client(&dir, &["signal", "STOP", "web"]).0, 0);
    assert!(wait_for(Duration::from_secs(5), || proc_state(web) == 'T'));
    assert_eq!(client(&dir, &["signal", "-CONT", "web"]).0, 0);
    assert!(wait_for(Duration::from_secs(5), || proc_state(web) != 'T'));
}

#[test]
fn reload_changes_only_what_changed() {
    let dir = TempDir::new("ctl-reload");
    let up = start_on_socket(
        &dir,
        r#"
[service.keep]
command = "exec sleep 1000"
[service.change]
command = "exec sleep 1001"
[service.drop]
command = "exec sleep 1002"
"#,
    );
    let keep = pid_of(&dir, "keep");
    let change = pid_of(&dir, "change");
    let drop = pid_of(&dir, "drop");
    let sock = dir.path("sock");
    let write_config = |body: &str| {
        dir.write(
            "upkeep.toml",
            &format!(
                "[supervisor]\ncontrol_socket = {:?}\n{body}",
                sock.display()
            ),
        )
    };
    write_config(
        r#"
[service.keep]
command = "exec sleep 1000"
[service.change]
command = "exec sleep 1005"
[service.new]
command = "exec sleep 1003"
"#,
    );
    let (code, out, err) = client(&dir, &["reload"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "change: changed; restarting it",
        "new: added",
        "drop: removed",
    ] {
        assert!(out.contains(line), "{out}");
    }
    assert!(wait_for(Duration::from_secs(5), || !alive(drop as i32)));
    assert_eq!(pid_of(&dir, "keep"), keep, "unchanged: same pid");
    assert!(wait_for(Duration::from_secs(5), || pid_of(&dir, "change") != change));
    pid_of(&dir, "new");
    let names: Vec<String> = status_json(&dir)["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["keep", "change", "new"]);

    // A broken config: every error reported, exit 2, nothing changes.
    let before = status_json(&dir);
    write_config(
        "[service.keep]\ncomand = \"x\"\n[service.x]\ncommand = \"x\"\nrestart = \"sometimes\"\n",
    );
    let (code, out, err) = client(&dir, &["reload"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("invalid config; nothing changed"), "{err}");
    assert!(err.contains("did you mean `command`"), "{err}");
    assert!(err.contains("sometimes"), "{err}");
    let after = status_json(&dir);
    let pids = |s: &Value| -> Vec<Value> {
        s["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pid"].clone())
            .collect()
    };
    assert_eq!(pids(&before), pids(&after));

    // SIGHUP reloads too.
    write_config("[service.keep]\ncommand = \"exec sleep 1000\"\n");
    kill(up.0.id() as i32, libc::SIGHUP);
    assert!(wait_for(Duration::from_secs(5), || {
        status_json(&dir)["services"].as_array().map(Vec::len) == Some(1)
    }));
    assert_eq!(pid_of(&dir, "keep"), keep);
}

/// A refused reload leaves the broken file on disk: `status` says so (exit 3, `config:`
/// line, `config_error` in the JSON) until the file is fixed; an edit that breaks it is
/// found without a reload.
#[test]
fn an_invalid_config_on_disk_shows_in_status_until_fixed() {
    let dir = TempDir::new("ctl-config-error");
    let good = "[service.a]\ncommand = \"exec sleep 1000\"\n";
    let _up = start_on_socket(&dir, good);
    let write = |services: &str| socket_config(&dir, services);
    let (code, out, _) = client(&dir, &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("config:"), "{out}");

    write("[service.a]\ncomand = \"x\"\n");
    let (code, _, _) = client(&dir, &["reload"]);
    assert_eq!(code, 2);
    let (code, out, _) = client(&dir, &["status"]);
    assert_eq!(code, 3, "{out}");
    let config_line = out.lines().last().unwrap();
    let since = config_line
        .strip_prefix(&format!(
            "config: {} is invalid since ",
            dir.path("upkeep.toml").display()
        ))
        .unwrap_or_else(|| panic!("{out}"));
    // The time of the edit, to the second: 2026-12-05T14:54:04Z.
    assert!(
        since.get(10..11) == Some("T")
            && since.get(19..).is_some_and(
                |rest| rest.starts_with("Z (reload refused); running the previous config")
            ),
        "{out}"
    );
    let (code, json, _) = client(&dir, &["status", "--json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 3);
    assert_eq!(v["healthy"], Value::Bool(false));
    assert!(
        v["config_error"]
            .as_str()
            .unwrap()
            .contains("reload refused"),
        "{json}"
    );
    // A service asked about by name is answered for itself.
    assert_eq!(client(&dir, &["status", "a"]).0, 0);

    // Fixed on disk: all well again, no reload needed.
    write(good);
    let (code, out, _) = client(&dir, &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("config:"), "{out}");

    // Broken by an edit, not reloaded: found all the same.
    write("[service.a]\ncommand = \"exec sleep 1000\"\nrestart = \"sometimes\"\n");
    let (code, out, _) = client(&dir, &["status"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("(changed since it was loaded)"), "{out}");

    // Every file the config reads counts: an env file broken, then fixed.
    dir.write("env", "A=1\n");
    write(&format!("{good}env_file = {:?}\n", dir.path("env")));
    assert_eq!(client(&dir, &["reload"]).0, 0);
    dir.write("env", "not an assignment\n");
    assert_eq!(client(&dir, &["reload"]).0, 2);
    assert_eq!(client(&dir, &["status"]).0, 3);
    dir.write("env", "A=2\n");
    let (code, out, _) = client(&dir, &["status"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn reload_to_log_level_debug_turns_on_debug_lines() {
    let dir = TempDir::new("ctl-debug");
    let up = start_on_socket(&dir, "[service.a]\ncommand = \"exec sleep 1000\"\n");
    let sock = dir.path("sock");
    let with_level = |level: &str| {
        dir.write(
            "upkeep.toml",
            &format!(
                "[supervisor]\ncontrol_socket = {:?}\nlog_level = \"{level}\"\n\
                 [service.a]\ncommand = \"exec sleep 1000\"\n",
                sock.display()
            ),
        )
    };
    // A signal upkeep has no COMMAND to forward to is noted by a debug line of the core.
    let line = "signal USR1 with no command to forward it to";
    kill(up.0.id() as i32, libc::SIGUSR1);
    pid_of(&dir, "a"); // a round trip: the signal has been handled
    assert!(!dir.read("log").contains(line), "{}", dir.read("log"));
    with_level("debug");
    let (code, _, err) = client(&dir, &["reload"]);
    assert_eq!(code, 0, "{err}");
    kill(up.0.id() as i32, libc::SIGUSR1);
    assert!(
        wait_for(Duration::from_secs(5), || dir.read("log").contains(line)),
        "{}",
        dir.read("log")
    );
}

#[test]
fn a_reload_in_the_same_wake_up_as_a_stop_is_applied() {
    let dir = TempDir::new("ctl-hup-stop");
    let up = start_on_socket(&dir, "[service.a]\ncommand = \"exec sleep 1000\"\n");
    let sock = dir.path("sock");
    dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\ncontrol_socket = {:?}\n[service.a]\ncommand = \"exec sleep 1000\"\n\
             [service.b]\ncommand = \"exec sleep 1001\"\n",
            sock.display()
        ),
    );
    // The stop queues actions; the HUP right behind it used to be refused as "busy".
    let stop = Command::new(BIN)
        .args(["stop", "a", "--socket"])
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    kill(up.0.id() as i32, libc::SIGHUP);
    let mut stop = stop;
    stop.wait().unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || status_json(&dir)["services"]
            .as_array()
            .is_some_and(|s| s.len() == 2)),
        "{}",
        dir.read("log")
    );
    assert!(
        !dir.read("log").contains("try again"),
        "{}",
        dir.read("log")
    );
}

#[test]
fn socket_is_private_and_strangers_are_refused() {
    let dir = TempDir::new("ctl-perm");
    let _up = start_on_socket(&dir, TWO);
    let sock = dir.path("sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Open the file up: the peer-credential check still turns nobody away.
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = Command::new(BIN)
        .args(["status", "--socket"])
        .arg(&sock)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(
        dir.read("log")
            .contains("refused a client running as uid 65534")
    );
    // And root still gets in.
    assert_eq!(client(&dir, &["status"]).0, 0);
}

#[test]
fn bad_clients_block_neither_status_nor_restarts() {
    let dir = TempDir::new("ctl-abuse");
    let _up = start_on_socket(&dir, TWO);
    let sock = dir.path("sock");
    let web = pid_of(&dir, "web");

    // Garbage: an error reply, not a crash.
    let mut garbage = UnixStream::connect(&sock).unwrap();
    garbage.write_all(b"\x00\xffnot json at all\n").unwrap();
    let mut reply = String::new();
    garbage.read_to_string(&mut reply).unwrap();
    assert!(
        reply.contains("\"ok\":false") && reply.contains("not a JSON request"),
        "{reply}"
    );

    // A silent client and a 1 MiB request, held open while others are served.
    let silent = UnixStream::connect(&sock).unwrap();
    let mut huge = UnixStream::connect(&sock).unwrap();
    huge.set_nonblocking(true).unwrap();
    let big = vec![b'x'; 1 << 20];
    let mut sent = 0;
    let t0 = Instant::now();
    while sent < big.len() && t0.elapsed() < Duration::from_secs(2) {
        match huge.write(&big[sent..]) {
            Ok(n) => sent += n,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        let asked = Instant::now();
        assert_eq!(client(&dir, &["status"]).0, 0);
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "status was held up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Meanwhile a killed service comes back.
    kill(web as i32, libc::SIGKILL);
    assert!(wait_for(Duration::from_secs(5), || pid_of(&dir, "web") != web));
    // The oversized one got its error, the silent one was dropped.
    huge.set_nonblocking(false).unwrap();
    huge.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reply = String::new();
    let _ = huge.read_to_string(&mut reply);
    assert!(reply.contains("request too large"), "{reply:?}");
    let mut silent = silent;
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reply = String::new();
    let _ = silent.read_to_string(&mut reply);
    assert!(reply.contains("timed out"), "{reply:?}");
}

#[test]
fn shutdown_stops_everything_and_waits() {
    let dir = TempDir::new("ctl-shutdown");
    let mut up = start_on_socket(
        &dir,
        r#"
[service.db]
command = "exec sleep 1000"
[service.web]
command = "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done"
after = ["db"]
"#,
    );
    let db = pid_of(&dir, "db");
    let web = pid_of(&dir, "web");
    let (code, out, err) = client(&dir, &["shutdown"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("upkeep: stopped (exit status 0)"), "{out}");
    // When the client returns, everything is down and upkeep has exited.
    assert!(!alive(db as i32) && !alive(web as i32));
    let status = wait_exit(&mut up.0, Duration::from_secs(2));
    assert_eq!(status.code(), Some(0));
    let log = dir.read("log");
    let web_stop = log.find("web stopped").unwrap();
    let db_stop = log.find("db stopping").unwrap();
    assert!(web_stop < db_stop, "reverse order:\n{log}");
    assert!(!dir.path("sock").exists(), "socket removed at exit");
}

#[test]
fn shutdown_with_no_upkeep_has_nothing_to_stop_but_a_refusal_fails() {
    let dir = TempDir::new("ctl-nothing");
    // No socket file: upkeep has exited (jail(8)'s exec.stop must still succeed).
    let (code, out, err) = client_on_socket(&dir, &["shutdown"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("upkeep: nothing to stop"), "{out}");
    // A stale socket, as a crashed upkeep leaves behind.
    drop(std::os::unix::net::UnixListener::bind(dir.path("sock")).unwrap());
    let (code, out, err) = client_on_socket(&dir, &["shutdown"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("a stale socket"), "{out}");
    // Other requests still fail when nobody answers.
    assert_eq!(client_on_socket(&dir, &["status"]).0, 1);
    // Something answers and refuses: exit 1, with its reason.
    std::fs::remove_file(dir.path("sock")).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(dir.path("sock")).unwrap();
    let refuser = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"{\"v\":1,\"ok\":false,\"error\":\"busy\"}\n")
            .unwrap();
    });
    let (code, out, err) = client_on_socket(&dir, &["shutdown"]);
    refuser.join().unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("busy") && !out.contains("nothing to stop"),
        "{out}{err}"
    );
}

#[test]
fn stale_socket_is_replaced_and_a_live_one_refused() {
    let dir = TempDir::new("ctl-stale");
    // A socket file nobody listens on, as a killed upkeep leaves behind.
    drop(std::os::unix::net::UnixListener::bind(dir.path("sock")).unwrap());
    assert!(dir.path("sock").exists());
    let _up = start_on_socket(&dir, TWO);
    assert_eq!(client(&dir, &["status"]).0, 0);
    // A second upkeep on the same socket: a clear error, exit 2, the first one untouched.
    let out = Command::new(BIN)
        .arg("-c")
        .arg(dir.path("upkeep.toml"))
        .env_remove("UPKEEP_SOCKET")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("another upkeep is serving"), "{err}");
    assert_eq!(client(&dir, &["status"]).0, 0);
}

#[test]
fn the_socket_is_found_through_the_environment() {
    let dir = TempDir::new("ctl-env");
    let _up = start_on_socket(&dir, TWO);
    let out = Command::new(BIN)
        .args(["status", "-c", "/nonexistent.toml"])
        .env("UPKEEP_SOCKET", dir.path("sock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = Command::new(BIN)
        .args(["status", "--socket"])
        .arg(dir.path("nothing-here"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is upkeep running?"));
}

#[test]
fn a_stderr_nobody_reads_holds_up_nothing() {
    let dir = TempDir::new("ctl-stall");
    // flood writes 3 MB to stderr (so to upkeep's stderr) at once: past the 64 KiB pipe and
    // the 1 MiB that upkeep holds for a stalled destination, so upkeep must drop lines.
    let cfg = socket_config(
        &dir,
        r#"
[service.flood]
command = "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -n 30000 >&2"
restart = "never"

[service.loop]
command = "exit 1"
restart_delay = "1ms"
restart_delay_max = "1ms"
"#,
    );
    // A pipe whose read end stays open and is never read: a blocking write would stop
    // upkeep at the first full pipe.
    let (up, read_end) = spawn_stalled(&cfg);
    wait_socket(&dir);
    let restarts = || {
        entry(&status_json(&dir), "loop")["restarts"]
            .as_u64()
            .unwrap_or(0)
    };
    // Once flood's output is all read, the log is stalled for good; loop must go on
    // restarting all the same (counted, not timed: the machines are shared).
    assert!(
        wait_for(Duration::from_secs(60), || state_of(&dir, "flood")
            != "running"),
        "flood still running: the log write blocked"
    );
    let before = restarts();
    assert!(
        wait_for(Duration::from_secs(60), || restarts() > before + 200),
        "loop stuck at {} restarts: the log write blocked",
        restarts()
    );
    // Reading again, the log resumes and owns up to what it dropped.
    let mut reader = std::fs::File::from(read_end);
    let mut buf = vec![0u8; 1 << 22];
    let mut seen = String::new();
    let limit = Instant::now() + Duration::from_secs(10);
    let mut reported = false;
    while !reported && Instant::now() < limit {
        let n = reader.read(&mut buf).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        reported = seen.contains("lines of flood");
        // Keep the tail only (a line may straddle two reads).
        if seen.len() > 1 << 20 {
            seen = seen.split_off(seen.len() - 4096);
        }
    }
    assert!(
        reported,
        "no drop report: {}",
        &seen[seen.len().saturating_sub(3000)..]
    );
    drop(up);
}

#[test]
fn a_full_socket_answers_busy_and_the_client_says_so() {
    let dir = TempDir::new("ctl-full");
    let _up = start_on_socket(&dir, TWO);
    let sock = dir.path("sock");
    // start_on_socket() probed the socket: let upkeep see those probes hang up first.
    std::thread::sleep(Duration::from_millis(300));
    // 64 silent clients fill the server's table (they would time out after 2 s).
    let held: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (code, out, err) = client(&dir, &["status"]);
    assert_eq!(code, 1, "{out}{err}{}", dir.read("log"));
    assert!(err.contains("busy"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    drop(held);
    assert!(wait_for(Duration::from_secs(5), || client(
        &dir,
        &["status"]
    )
    .0 == 0));
}

#[test]
fn a_reload_of_a_fifo_a_directory_or_a_huge_file_changes_nothing() {
    let dir = TempDir::new("ctl-fifo");
    let _up = start_on_socket(&dir, TWO);
    let web = pid_of(&dir, "web");
    let cfg = dir.path("upkeep.toml");
    let replace_with = |make: &dyn Fn()| {
        let _ = std::fs::remove_file(&cfg);
        let _ = std::fs::remove_dir(&cfg);
        make();
    };
    let fifo = || {
        nix::unistd::mkfifo(&cfg, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    };
    let directory = || std::fs::create_dir(&cfg).unwrap();
    let huge = || {
        let f = std::fs::File::create(&cfg).unwrap();
        f.set_len(100 << 20).unwrap();
    };
    for (what, make, why) in [
        ("fifo", &fifo as &dyn Fn(), "not a regular file"),
        ("directory", &directory, "not a regular file"),
        ("100 MB", &huge, "the limit is"),
    ] {
        replace_with(make);
        let out = Command::new(BIN)
            .args(["reload", "--socket"])
            .arg(dir.path("sock"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(why), "{what}: {err}");
        let out = Command::new(BIN)
            .args(["status", "web", "--json", "--socket"])
            .arg(dir.path("sock"))
            .output()
            .unwrap();
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["services"][0]["pid"], web, "{what}: nothing changed");
    }
}

#[test]
fn out_of_descriptors_the_listener_rests_and_says_so_once() {
    let dir = TempDir::new("ctl-emfile");
    let sock = dir.path("sock");
    let cfg = socket_config(&dir, TWO);
    let _up = spawn_logged(&dir, &cfg, &["prlimit", "--nofile=32:32"]);
    wait_socket(&dir);
    std::thread::sleep(Duration::from_millis(300));
    // More silent clients than upkeep has descriptors left.
    let held: Vec<UnixStream> = (0..40)
        .filter_map(|_| UnixStream::connect(&sock).ok())
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let log = dir.read("log");
    assert_eq!(
        log.matches("Too many open files").count(),
        1,
        "logged once, not in a loop:\n{log}"
    );
    drop(held);
    // Descriptors free again: status is served.
    assert!(wait_for(Duration::from_secs(10), || {
        Command::new(BIN)
            .args(["status", "--socket"])
            .arg(&sock)
            .output()
            .is_ok_and(|o| o.status.success())
    }));
}
