//! Exhaustion and hostile environments, on the real binary: too few descriptors, fork
//! failing, a flooded control socket, a config replaced by garbage, a service's binary
//! deleted while it runs. upkeep logs, retries and keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn status_ok(dir: &TempDir) -> bool {
    Command::new(BIN)
        .args(["status", "--json", "--socket"])
        .arg(dir.path("sock"))
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

#[test]
fn too_few_descriptors_spawns_fail_are_retried_and_status_answers() {
    let dir = TempDir::new("ex-nofile");
    let services: String = (0..12)
        .map(|k| {
            format!("[service.s{k}]\ncommand = \"exec sleep 1000\"\nrestart_delay = \"50ms\"\n")
        })
        .collect();
    let cfg = socket_config(&dir, &services);
    // 32 descriptors: four pipe ends per service do not fit twelve services.
    let _up = spawn_logged(&dir, &cfg, &["prlimit", "--nofile=32:32"]);
    wait_log(&dir, "Too many open files");
    wait_log(&dir, "restarting in");
    assert!(
        wait_for(Duration::from_secs(10), || status_ok(&dir)),
        "{}",
        log_of(&dir)
    );
    assert!(
        log_of(&dir).contains("started, pid"),
        "some services run:\n{}",
        log_of(&dir)
    );
}

#[test]
fn fork_failing_is_logged_and_retried() {
    let dir = TempDir::new("ex-nproc");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let services: String = (0..4)
        .map(|k| {
            format!("[service.s{k}]\ncommand = [\"sleep\", \"1000\"]\nrestart_delay = \"100ms\"\n")
        })
        .collect();
    let cfg = socket_config(&dir, &services);
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path("log"))
        .unwrap();
    std::fs::set_permissions(dir.path("log"), std::fs::Permissions::from_mode(0o666)).unwrap();
    // As nobody, with room for upkeep and two children: the other spawns fail (EAGAIN).
    let child = Command::new("prlimit")
        .args(["--nproc=3:3", BIN, "-c"])
        .arg(&cfg)
        .uid(65534)
        .gid(65534)
        .env_remove("UPKEEP_LOG")
        .stdin(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let _up = Running(child);
    wait_log(&dir, "cannot start sleep");
    assert!(
        wait_for(Duration::from_secs(5), || log_of(&dir)
            .matches("cannot start sleep")
            .count()
            >= 3),
        "retried:\n{}",
        log_of(&dir)
    );
    assert!(log_of(&dir).contains("restarting in"), "{}", log_of(&dir));
}

#[test]
fn a_flooded_control_socket_holds_up_no_restart() {
    let dir = TempDir::new("ex-flood");
    let cfg = socket_config(
        &dir,
        "[service.victim]\ncommand = \"exec sleep 1000\"\nrestart_delay = \"1ms\"\n",
    );
    let _up = spawn_logged(&dir, &cfg, &[]);
    let sock = dir.path("sock");
    wait_socket(&dir);
    wait_log(&dir, "victim started, pid");
    // Slow-loris clients that send half a request and wait, and a flood of connections.
    let mut slow: Vec<UnixStream> = Vec::new();
    for _ in 0..32 {
        if let Ok(mut s) = UnixStream::connect(&sock) {
            let _ = s.write_all(b"{\"v\":1,\"cmd\":");
            slow.push(s);
        }
    }
    let flood = std::thread::spawn({
        let sock = sock.clone();
        move || {
            for _ in 0..10_000 {
                let _ = UnixStream::connect(&sock);
            }
        }
    });
    let pid_of = || {
        log_of(&dir).lines().rev().find_map(|l| {
            l.split("victim started, pid ")
                .nth(1)
                .map(|p| p.trim().to_string())
        })
    };
    for _ in 0..5 {
        let before = pid_of().unwrap();
        kill(before.parse().unwrap(), libc::SIGKILL);
        assert!(
            wait_for(Duration::from_secs(5), || pid_of()
                .is_some_and(|p| p != before)),
            "no restart under the flood:\n{}",
            log_of(&dir)
        );
    }
    flood.join().unwrap();
    drop(slow);
    assert!(wait_for(Duration::from_secs(10), || status_ok(&dir)));
}

#[test]
fn a_config_replaced_by_garbage_changes_nothing_on_reload() {
    let dir = TempDir::new("ex-garbage");
    let cfg = socket_config(&dir, "[service.a]\ncommand = \"exec sleep 1000\"\n");
    let up = spawn_logged(&dir, &cfg, &[]);
    wait_log(&dir, "a started, pid");
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|k| (k.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&cfg, &garbage).unwrap();
    kill(up.0.id() as i32, libc::SIGHUP);
    wait_log(&dir, "reload: the config is invalid; nothing changed");
    assert!(status_ok(&dir));
    assert_eq!(log_of(&dir).matches("a started, pid").count(), 1);
}

#[test]
fn a_services_binary_deleted_while_it_runs_is_retried_until_it_is_back() {
    let dir = TempDir::new("ex-deleted");
    let binary = dir.path("mysleep");
    std::fs::copy("/bin/sleep", &binary).unwrap();
    let cfg = socket_config(
        &dir,
        &format!(
            "[service.gone]\ncommand = [\"{}\", \"1000\"]\nrestart_delay = \"50ms\"\nrestart_delay_max = \"200ms\"\n",
            binary.display()
        ),
    );
    let _up = spawn_logged(&dir, &cfg, &[]);
    wait_log(&dir, "gone started, pid");
    let pid: i32 = log_of(&dir)
        .split("gone started, pid ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::fs::remove_file(&binary).unwrap();
    kill(pid, libc::SIGKILL);
    wait_log(&dir, "cannot start");
    assert!(wait_for(Duration::from_secs(5), || log_of(&dir)
        .matches("gone: cannot start")
        .count()
        >= 3));
    assert!(status_ok(&dir));
    // Back in place: the next attempt starts it.
    std::fs::copy("/bin/sleep", &binary).unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || log_of(&dir)
            .matches("gone started, pid")
            .count()
            == 2),
        "{}",
        log_of(&dir)
    );
}

#[test]
fn hostile_configs_are_refused_with_a_message() {
    let dir = TempDir::new("ex-hostile");
    let deep = format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    std::fs::write(dir.path("deep.toml"), deep).unwrap();
    std::fs::write(
        dir.path("utf8.toml"),
        b"[service.a]\ncommand = \"\xff\xfe\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path("dir.toml")).unwrap();
    for (file, why) in [
        ("deep.toml", "recursion limit"),
        ("utf8.toml", "not UTF-8"),
        ("dir.toml", "not a regular file"),
    ] {
        let out = Command::new(BIN)
            .args(["check", "-c"])
            .arg(dir.path(file))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(why), "{file}: {err}");
    }
}
