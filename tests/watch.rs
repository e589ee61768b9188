//! Watches of daemons upkeep did not start, and `upkeep scan`, on the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A fake daemon: /bin/sleep copied under `name` into `dir`.
fn fake_daemon(dir: &TempDir, name: &str) -> std::path::PathBuf {
    let path = dir.path(name);
    std::fs::copy("/bin/sleep", &path).unwrap();
    path
}

/// A unique process name (they are global: tests run in parallel).
fn unique(tag: &str) -> String {
    format!("fk{tag}{}", std::process::id() % 100_000)
}

/// Pids of live processes whose comm is `name`.
fn pids_named(name: &str) -> Vec<i32> {
    processes()
        .iter()
        .filter(|(pid, state, _)| {
            *state != 'Z'
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .map(|c| c.trim() == name)
                    .unwrap_or(false)
        })
        .map(|(pid, _, _)| *pid)
        .collect()
}

fn scan(config: &std::path::Path) -> (i32, String) {
    let out = cmd(BIN)
        .args(["scan", "-c", config.to_str().unwrap()])
        .env_remove("UPKEEP_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn kill_all_named(name: &str) {
    for pid in pids_named(name) {
        kill(pid, libc::SIGKILL);
    }
}

#[test]
fn a_killed_daemon_is_started_again_by_the_resident_watch() {
    let dir = TempDir::new("watch");
    let name = unique("w");
    let daemon = fake_daemon(&dir, &name);
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[watch.fake]\nprocess = \"{name}\"\nstart = \"setsid {} 1000 >/dev/null 2>&1 &\"\ninterval = \"200ms\"\ndiagnose = \"echo diag $UPKEEP_WATCH $UPKEEP_PROCESS\"\n",
            daemon.display()
        ),
    );
    cmd("setsid")
        .arg("-f")
        .arg(&daemon)
        .arg("1000")
        .status()
        .unwrap();
    assert!(wait_for(Duration::from_secs(5), || pids_named(&name).len() == 1));
    let first = pids_named(&name)[0];
    let up = Running(
        cmd(BIN)
            .args(["-c", cfg.to_str().unwrap()])
            .env_remove("UPKEEP_LOG")
            .log_to(&dir.path("log"))
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !dir.read("log").contains("not running"),
        "{}",
        dir.read("log")
    );
    kill(first, libc::SIGKILL);
    assert!(
        wait_for(Duration::from_secs(5), || pids_named(&name)
            .iter()
            .any(|&p| p != first)),
        "not restarted:\n{}",
        dir.read("log")
    );
    let log = dir.read("log");
    assert!(
        log.contains("fake not running; starting it (watch)"),
        "{log}"
    );
    assert!(
        log.contains(&format!("fake diagnose: diag fake {name}")),
        "{log}"
    );
    drop(up);
    kill_all_named(&name);
}

#[test]
fn scan_is_silent_when_all_runs_and_acts_when_not() {
    let dir = TempDir::new("scan");
    let name = unique("s");
    let daemon = fake_daemon(&dir, &name);
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[watch.fake]\nprocess = \"{name}\"\nstart = \"echo starting; touch {d}/started; setsid {daemon} 1000 >/dev/null 2>&1 &\"\n\n[watch.broken]\nprocess = \"{name}x\"\nstart = \"echo cannot >&2; exit 3\"\n",
            d = dir.0.display(),
            daemon = daemon.display()
        ),
    );
    // Both missing: one start succeeds, one fails: exit 1, lines printed.
    let (code, out) = scan(&cfg);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("upkeep: fake not running; starting it (scan)"),
        "{out}"
    );
    assert!(out.contains("fake start: starting"), "{out}");
    assert!(out.contains("broken start: cannot"), "{out}");
    assert!(
        out.contains("broken start command exited with status 3"),
        "{out}"
    );
    assert!(dir.path("started").exists());
    assert!(wait_for(Duration::from_secs(5), || pids_named(&name).len() == 1));
    // Only the good watch now: silent, exit 0.
    let good = dir.write(
        "good.toml",
        &format!("[watch.fake]\nprocess = \"{name}\"\nstart = \"exit 1\"\n"),
    );
    let (code, out) = scan(&good);
    assert_eq!((code, out.as_str()), (0, ""));
    kill_all_named(&name);
}

#[test]
fn a_zombie_with_the_name_does_not_count() {
    let dir = TempDir::new("zombie");
    let name = unique("z");
    let daemon = fake_daemon(&dir, &name);
    // The fake daemon exits at once under a parent that never reaps it: a zombie.
    let mut parent = Command::new("sh")
        .arg("-c")
        .arg(format!("{} 0 & exec sleep 30", daemon.display()))
        .spawn()
        .unwrap();
    let parent_pid = parent.id() as i32;
    assert!(wait_for(Duration::from_secs(5), || zombies_of(parent_pid) == 1));
    let cfg = dir.write(
        "upkeep.toml",
        &format!("[watch.fake]\nprocess = \"{name}\"\nstart = \"true\"\n"),
    );
    let (code, out) = scan(&cfg);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("fake not running; starting it (scan)"),
        "{out}"
    );
    let _ = parent.kill();
    let _ = parent.wait();
}

#[test]
fn a_long_name_matches_through_argv0() {
    let dir = TempDir::new("argv0");
    let long = format!("{}-twenty-chars", unique("l"));
    assert!(long.len() > 15);
    let daemon = fake_daemon(&dir, "short");
    // comm is "short"; argv[0] is the long name.
    let mut child = Command::new(&daemon).arg0(&long).arg("30").spawn().unwrap();
    let cfg = dir.write(
        "upkeep.toml",
        &format!("[watch.long]\nprocess = \"{long}\"\nstart = \"exit 1\"\n"),
    );
    let (code, out) = scan(&cfg);
    assert_eq!((code, out.as_str()), (0, ""));
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs a resident upkeep on `config` for `secs` seconds; returns its log.
fn run_for(dir: &TempDir, config: &str, secs: f64) -> String {
    let up = Running(
        cmd(BIN)
            .arg("-c")
            .arg(dir.write("upkeep.toml", config))
            .env_remove("UPKEEP_LOG")
            .log_to(&dir.path("log"))
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs_f64(secs));
    drop(up);
    dir.read("log")
}

#[test]
fn a_slow_start_command_never_runs_twice_at_once() {
    let dir = TempDir::new("slow");
    let name = unique("n");
    let d = dir.0.display();
    let log = run_for(
        &dir,
        &format!(
            "[watch.never]\nprocess = \"{name}\"\nstart = \"echo begin >> {d}/runs; sleep 0.5; echo end >> {d}/runs\"\ninterval = \"100ms\"\n"
        ),
        2.0,
    );
    let runs = dir.read("runs");
    let lines: Vec<&str> = runs.lines().collect();
    assert!(lines.len() >= 2, "{runs}\n{log}");
    for pair in lines.chunks(2) {
        assert!(
            pair[0] == "begin" && pair.get(1).is_none_or(|l| *l == "end"),
            "overlap: {runs}"
        );
    }
    assert!(log.contains("not starting another"), "{log}");
}

#[test]
fn a_failing_start_command_is_retried_with_growing_spacing() {
    let dir = TempDir::new("spaced");
    let name = unique("f");
    let d = dir.0.display();
    let log = run_for(
        &dir,
        &format!(
            "[watch.broken]\nprocess = \"{name}\"\nstart = \"echo run >> {d}/runs; exit 1\"\ninterval = \"100ms\"\n"
        ),
        2.5,
    );
    let starts = dir.read("runs").lines().count();
    // Scans every 0.1 s for 2.5 s; starts at 0.1, 0.2, 0.4, 0.8, 1.6 s, not 25 times.
    assert!((4..=6).contains(&starts), "{starts} starts:\n{log}");
    assert!(
        log.contains("broken start command exited with status 1"),
        "{log}"
    );
    assert!(
        log.contains("still not running after 2 starts; next start in"),
        "{log}"
    );
}

#[test]
fn processes_vanishing_during_scans_cause_no_error() {
    let dir = TempDir::new("churn");
    let name = unique("c");
    let daemon = fake_daemon(&dir, &name);
    let mut d = Command::new(&daemon).arg("30").spawn().unwrap();
    let cfg = dir.write(
        "upkeep.toml",
        &format!("[watch.fake]\nprocess = \"{name}\"\nstart = \"exit 1\"\n"),
    );
    let mut churn = Command::new("sh")
        .arg("-c")
        .arg("while :; do true & true & true & wait; done")
        .spawn()
        .unwrap();
    for _ in 0..30 {
        let (code, out) = scan(&cfg);
        assert_eq!((code, out.as_str()), (0, ""));
    }
    let _ = churn.kill();
    let _ = churn.wait();
    let _ = d.kill();
    let _ = d.wait();
}

#[test]
fn a_childs_control_characters_are_escaped_in_the_log() {
    let dir = TempDir::new("escape");
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[watch.forger]\nprocess = \"{}\"\nstart = \"printf 'x\\\\rupkeep: web started\\\\033[31m\\\\n'\"\n",
            unique("f")
        ),
    );
    let (code, out) = scan(&cfg);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("forger start: x\\x0dupkeep: web started\\x1b[31m"),
        "{out:?}"
    );
    assert!(!out.contains('\r') && !out.contains('\x1b'), "{out:?}");
}

/// A watch's diagnose that overruns its `diagnose_timeout` is killed and the start command
/// runs; the diagnose's death is not taken for the start command's (`upkeep scan`).
#[test]
fn scan_with_an_overdue_diagnose_reports_the_start_command_as_it_ran() {
    let dir = TempDir::new("ghostscan");
    let name = unique("g");
    let daemon = fake_daemon(&dir, &name);
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            "[watch.ghost]\nprocess = \"{name}\"\nstart = \"setsid {} 60 >/dev/null 2>&1 &\"\ndiagnose = \"echo diag; sleep 100\"\ndiagnose_timeout = \"500ms\"\n",
            daemon.display()
        ),
    );
    let (code, out) = scan(&cfg);
    kill_all_named(&name);
    assert!(
        out.contains("ghost diagnose still running after 0.5s; killed it"),
        "{out}"
    );
    assert!(!out.contains("start command killed"), "{out}");
    assert!(!out.contains("bug:"), "{out}");
    assert_eq!(code, 0, "{out}");
}

/// The same in a resident watch: the start command still running is the one under way, so
/// scans start no second one.
#[test]
fn an_overdue_diagnose_never_lets_two_start_commands_run() {
    let dir = TempDir::new("ghost");
    let name = unique("h");
    let daemon = fake_daemon(&dir, &name);
    let d = dir.0.display();
    let log = run_for(
        &dir,
        &format!(
            "[watch.ghost]\nprocess = \"{name}\"\nstart = \"echo begin >> {d}/runs; sleep 1; setsid {} 60 >/dev/null 2>&1 & echo end >> {d}/runs\"\ndiagnose = \"echo diag; sleep 100\"\ndiagnose_timeout = \"300ms\"\ninterval = \"100ms\"\n",
            daemon.display()
        ),
        3.0,
    );
    kill_all_named(&name);
    assert!(
        log.contains("ghost diagnose still running after 0.3s; killed it"),
        "{log}"
    );
    assert!(!log.contains("start command killed"), "{log}");
    assert!(!log.contains("bug:"), "{log}");
    assert!(log.contains("not starting another"), "{log}");
    assert_eq!(dir.read("runs"), "begin\nend\n", "{log}");
    assert!(log.contains("ghost is running again (watch)"), "{log}");
}
