//! Oneshots, schedules, includes, variables and env files, on the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;

/// `upkeep -c DIR/upkeep.toml -- COMMAND...` to its end: (exit code, log).
fn run_with(dir: &TempDir, config: &str, command: &[&str]) -> (i32, String) {
    let cfg = dir.write("upkeep.toml", config);
    let mut args = vec!["-c", cfg.to_str().unwrap(), "--socket"];
    let sock = dir.path("sock");
    args.push(sock.to_str().unwrap());
    if !command.is_empty() {
        args.push("--");
        args.extend_from_slice(command);
    }
    // Services' stdout lines are on upkeep's stdout (split streams): both into one file.
    let mut child = cmd(BIN)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .log_to(&dir.path("log"))
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, std::time::Duration::from_secs(20));
    (status.code().unwrap_or(-1), dir.read("log"))
}

#[test]
fn a_oneshot_runs_before_its_dependents_and_its_failure_stops_the_run() {
    let dir = TempDir::new("oneshot");
    let d = dir.0.display();
    let config = |migrate: &str| {
        format!(
            "[service.migrate]\ncommand = \"echo migrating; sleep 0.3; {migrate}\"\ntype = \"oneshot\"\n\
             [service.app]\ncommand = \"echo app up; exec sleep 100\"\nafter = [\"migrate\"]\n"
        )
    };
    // COMMAND waits for the oneshot (and the app after it).
    let (code, log) = run_with(
        &dir,
        &config(&format!("touch {d}/migrated")),
        &[
            "sh",
            "-c",
            &format!("test -e {d}/migrated && echo tests ran >&2"),
        ],
    );
    assert_eq!(code, 0, "{log}");
    let done = position(&log, "migrate exited with status 0");
    assert!(done < position(&log, "app: app up"), "{log}");
    assert!(done < position(&log, "tests ran"), "{log}");
    // A failed migration: neither the app nor COMMAND runs; exit 1.
    std::fs::remove_file(dir.path("migrated")).unwrap();
    let (code, log) = run_with(
        &dir,
        &config("echo failed >&2; exit 1"),
        &["sh", "-c", "echo tests ran >&2"],
    );
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("migrate exited with status 1"), "{log}");
    assert!(
        log.contains("stopping everything without running sh"),
        "{log}"
    );
    assert!(
        !log.contains("app up") && !log.contains("tests ran"),
        "{log}"
    );
}

#[test]
fn success_exit_codes_and_run_timeout() {
    let dir = TempDir::new("codes");
    let (code, log) = run_with(
        &dir,
        "[service.m]\ncommand = \"exit 3\"\ntype = \"oneshot\"\nsuccess_exit_codes = [0, 3]\n",
        &["true"],
    );
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("m exited with status 3") && log.contains("; done"),
        "{log}"
    );
    let (code, log) = run_with(
        &dir,
        "[service.slow]\ncommand = \"exec sleep 100\"\ntype = \"oneshot\"\nrun_timeout = \"300ms\"\n",
        &["true"],
    );
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("slow still running after 0.3s (run_timeout)"),
        "{log}"
    );
}

#[test]
fn a_tick_while_the_run_goes_is_skipped_and_start_runs_a_job_now() {
    let dir = TempDir::new("ticks");
    let d = dir.0.display();
    let _up = start_on_socket(
        &dir,
        &format!(
            "[service.tick]\ncommand = \"echo run >> {d}/runs; sleep 1.5\"\nschedule = \"@every 1s\"\n\
             [service.nightly]\ncommand = \"echo nightly ran\"\nschedule = \"@daily\"\n"
        ),
    );
    wait_log(
        &dir,
        "tick: run skipped: the previous run is still going; next run ",
    );
    wait_log(&dir, "tick exited with status 0 after ");
    let (code, out, _) = client_on_socket(&dir, &["status", "nightly", "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let row = &v["services"][0];
    assert_eq!(
        (row["kind"].as_str(), row["state"].as_str()),
        (Some("scheduled"), Some("scheduled"))
    );
    assert!(
        row["next_run"].as_str().unwrap().ends_with("T00:00:00Z"),
        "{row}"
    );
    let (code, out, err) = client_on_socket(&dir, &["start", "nightly"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_log(&dir, "nightly: nightly ran");
    wait_log(&dir, "nightly exited with status 0");
}

#[test]
fn includes_are_read_in_order_and_reload_adds_and_removes_files() {
    let dir = TempDir::new("include");
    std::fs::create_dir_all(dir.path("conf.d")).unwrap();
    dir.write(
        "conf.d/20-b.toml",
        "[service.b]\ncommand = \"exec sleep 100\"\n",
    );
    dir.write(
        "conf.d/10-a.toml",
        "[service.a]\ncommand = \"exec sleep 100\"\nafter = [\"b\"]\n",
    );
    let _up = start_on_socket(
        &dir,
        "include = [\"conf.d/*.toml\"]\n[service.main]\ncommand = \"exec sleep 100\"\n",
    );
    let (_, out, _) = client_on_socket(&dir, &["status"]);
    let (m, a, b) = (
        position(&out, "\nmain "),
        position(&out, "\na "),
        position(&out, "\nb "),
    );
    assert!(m < a && a < b, "{out}");
    let (code, out, _) = Command::new(BIN)
        .args(["check", "-c", dir.path("upkeep.toml").to_str().unwrap()])
        .output()
        .map(|o| {
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                (),
            )
        })
        .unwrap();
    assert_eq!(code, Some(0));
    assert!(
        out.contains(": ok (3 services, 0 watches, 3 files)\n"),
        "{out}"
    );
    std::fs::remove_file(dir.path("conf.d/10-a.toml")).unwrap();
    dir.write(
        "conf.d/30-c.toml",
        "[service.c]\ncommand = \"exec sleep 100\"\n",
    );
    let (code, out, err) = client_on_socket(&dir, &["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("c: added") && out.contains("a: removed"),
        "{out}"
    );
    // A bad included file: the reload is refused with its path, and nothing changes.
    dir.write("conf.d/40-d.toml", "[service.c]\ncommand = \"x\"\n");
    let (code, out, err) = client_on_socket(&dir, &["reload"]);
    assert_eq!(code, 2, "{out}{err}");
    let bad = format!(
        "{}:1:10: service `c`: the name is already defined at",
        dir.path("conf.d/40-d.toml").display()
    );
    assert!(err.contains(&bad) || out.contains(&bad), "{out}{err}");
    let (_, out, _) = client_on_socket(&dir, &["status", "c"]);
    assert!(out.contains("running"), "{out}");
}

#[test]
fn variables_reach_argv_and_env_and_env_files_the_environment() {
    let dir = TempDir::new("vars");
    let d = dir.0.display();
    dir.write(
        "app.env",
        "# app\nexport FROM_FILE='one two'\nQUOTED=\"a\\\"b\"\n",
    );
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[service.show]\ncommand = [\"sh\", \"-c\", \"echo \\\"$1|$MODE|$FROM_FILE|$QUOTED\\\" > {d}/out\", \"x\", \"${{UPKEEP_T_PORT}}\"]\n\
             env = {{ MODE = \"${{UPKEEP_T_MODE:-dflt}}\" }}\nenv_file = \"app.env\"\ntype = \"oneshot\"\n"
        ),
    );
    let out = cmd(BIN)
        .args([
            "-c",
            cfg.to_str().unwrap(),
            "--socket",
            dir.path("sock").to_str().unwrap(),
            "--",
            "true",
        ])
        .env("UPKEEP_T_PORT", "x\"]\ncommand = [\"rm\"]")
        .env_remove("UPKEEP_T_MODE")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        dir.read("out"),
        "x\"]\ncommand = [\"rm\"]|dflt|one two|a\"b\n"
    );
    // Unset, no default: an error at its place, naming it.
    let out = cmd(BIN)
        .args(["check", "-c", cfg.to_str().unwrap()])
        .env_remove("UPKEEP_T_PORT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2:", cfg.display()))
            && err.contains("variable UPKEEP_T_PORT is not set"),
        "{err}"
    );
}
