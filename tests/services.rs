//! Supervising services from a config, on the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

/// Starts `upkeep -c DIR/upkeep.toml [extra...]` with its log in DIR/log.
fn start(dir: &TempDir, config: &str, extra: &[&str]) -> Running {
    let cfg = dir.write("upkeep.toml", config);
    let child = cmd(BIN)
        .arg("-c")
        .arg(&cfg)
        .args(extra)
        .env_remove("UPKEEP_LOG")
        .stdin(Stdio::null())
        .log_to(&dir.path("log"))
        .spawn()
        .unwrap();
    Running(child)
}

fn log_has(dir: &TempDir, needle: &str) -> bool {
    dir.read("log").contains(needle)
}

fn wait_log(dir: &TempDir, needle: &str) {
    assert!(
        wait_for(Duration::from_secs(10), || log_has(dir, needle)),
        "{needle:?} not in log:\n{}",
        dir.read("log")
    );
}

fn pid_in(dir: &TempDir, file: &str) -> i32 {
    let mut pid = 0;
    assert!(wait_for(Duration::from_secs(10), || {
        pid = dir.read(file).trim().parse().unwrap_or(0);
        pid > 0
    }));
    pid
}

#[test]
fn a_killed_service_is_diagnosed_then_restarted() {
    let dir = TempDir::new("restart");
    let d = dir.0.display();
    let mut up = start(
        &dir,
        &format!(
            r#"
[service.web]
command = "echo $$$$ > {d}/pid; exec sleep 1000"
diagnose = "echo code=$UPKEEP_EXIT_CODE sig=$UPKEEP_EXIT_SIGNAL svc=$UPKEEP_SERVICE pid=$UPKEEP_PID restarts=$UPKEEP_RESTARTS"
"#
        ),
        &[],
    );
    let first = pid_in(&dir, "pid");
    std::fs::remove_file(dir.path("pid")).unwrap();
    kill(first, libc::SIGKILL);
    let second = pid_in(&dir, "pid");
    assert_ne!(first, second);
    wait_log(&dir, &format!("web started, pid {second}"));
    let log = dir.read("log");
    let death = log.find("web killed by signal KILL after").expect(&log);
    let diag = log
        .find(&format!(
            "web diagnose: code= sig=KILL svc=web pid={first} restarts=1"
        ))
        .expect(&log);
    let restart = log.find(&format!("web started, pid {second}")).unwrap();
    assert!(death < diag && diag < restart, "{log}");
    assert!(log.contains("(restart 1)"), "{log}");
    kill(up.0.id() as i32, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut up.0, Duration::from_secs(10)).code(),
        Some(0)
    );
}

#[test]
fn shutdown_is_ordered_and_kills_the_stubborn_with_their_children() {
    let dir = TempDir::new("shutdown");
    let d = dir.0.display();
    let mut up = start(
        &dir,
        &format!(
            r#"
[service.db]
command = "trap 'echo db >> {d}/order; exit 0' TERM; while :; do sleep 0.05; done"

[service.web]
command = "trap 'echo web >> {d}/order; exit 0' TERM; while :; do sleep 0.05; done"
after = ["db"]

[service.stubborn]
command = "sleep 1000 & echo $! > {d}/grandchild; trap '' TERM; while :; do sleep 0.05; done"
stop_timeout = "500ms"
"#
        ),
        &[],
    );
    let grandchild = pid_in(&dir, "grandchild");
    wait_log(&dir, "web started");
    assert!(log_has(&dir, "db started"));
    let log = dir.read("log");
    assert!(log.find("db started").unwrap() < log.find("web started").unwrap());
    kill(up.0.id() as i32, libc::SIGTERM);
    let status = wait_exit(&mut up.0, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert_eq!(dir.read("order"), "web\ndb\n", "{}", dir.read("log"));
    assert!(log_has(
        &dir,
        "stubborn did not stop within 0.5s; killing its process group"
    ));
    assert!(
        !alive(grandchild),
        "the stubborn service's background child survived"
    );
}

/// Services that ignore TERM, each with a 10 s stop_timeout, one after the other: the
/// stop_grace of 1 s kills what is left, and upkeep exits long before the 20 s the chain
/// would take; UPKEEP_STOP_GRACE wins over the key, and a bad one is refused.
#[test]
fn stop_grace_ends_the_whole_stop() {
    let config = r#"
[supervisor]
stop_grace = "30s"

[service.db]
command = "trap '' TERM; while :; do sleep 0.05; done"
stop_timeout = "10s"

[service.web]
command = "trap '' TERM; while :; do sleep 0.05; done"
stop_timeout = "10s"
after = ["db"]
"#;
    let dir = TempDir::new("grace");
    let cfg = dir.write("upkeep.toml", config);
    let mut up = Running(
        cmd(BIN)
            .arg("-c")
            .arg(&cfg)
            .env("UPKEEP_STOP_GRACE", "1s")
            .env_remove("UPKEEP_LOG")
            .stdin(Stdio::null())
            .log_to(&dir.path("log"))
            .spawn()
            .unwrap(),
    );
    wait_log(&dir, "web started");
    kill(up.0.id() as i32, libc::SIGTERM);
    // Well before web's own 10 s stop_timeout, let alone the chain's 20 s.
    let status = wait_exit(&mut up.0, Duration::from_secs(8));
    assert_eq!(status.code(), Some(0), "{}", dir.read("log"));
    let log = dir.read("log");
    assert!(
        log.contains("stop_grace (1s) is up: killing what is left"),
        "{log}"
    );
    assert!(
        log.contains("web stopping") && !log.contains("db stopping"),
        "{log}"
    );
    let out = cmd(BIN)
        .arg("-c")
        .arg(&cfg)
        .env("UPKEEP_STOP_GRACE", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("UPKEEP_STOP_GRACE: "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// LXC's stop signal (PWR) and systemd's (SIGRTMIN+3, 37) stop everything in order, as
/// TERM does.
#[test]
#[cfg(target_os = "linux")]
fn container_managers_stop_signals_stop_everything_in_order() {
    for (sig, name) in [(libc::SIGPWR, "PWR"), (37, "RTMIN+3")] {
        let dir = TempDir::new("stopsig");
        let d = dir.0.display();
        let mut up = start(
            &dir,
            &format!(
                r#"
[service.db]
command = "trap 'echo db >> {d}/order; exit 0' TERM; while :; do sleep 0.05; done"

[service.web]
command = "trap 'echo web >> {d}/order; exit 0' TERM; while :; do sleep 0.05; done"
after = ["db"]
"#
            ),
            &[],
        );
        wait_log(&dir, "web started");
        kill(up.0.id() as i32, sig);
        let status = wait_exit(&mut up.0, Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "{}", dir.read("log"));
        assert_eq!(dir.read("order"), "web\ndb\n", "{}", dir.read("log"));
        assert!(
            log_has(&dir, &format!("{name}: stopping everything")),
            "{}",
            dir.read("log")
        );
    }
}

#[test]
fn a_critical_service_ends_upkeep_with_its_code() {
    let dir = TempDir::new("critical");
    let mut up = start(
        &dir,
        r#"
[service.other]
command = ["sleep", "1000"]

[service.crit]
command = "sleep 0.2; exit 7"
critical = true
restart = "on-failure"
give_up_after = 2
restart_delay = "10ms"
"#,
        &[],
    );
    let status = wait_exit(&mut up.0, Duration::from_secs(20));
    assert_eq!(status.code(), Some(7), "{}", dir.read("log"));
    assert!(log_has(&dir, "giving up after 2 quick deaths"));
    assert!(log_has(&dir, "other stopping"));
}

#[test]
fn combined_mode_exits_with_the_commands_status() {
    let dir = TempDir::new("combined");
    let mut up = start(
        &dir,
        "[service.db]\ncommand = [\"sleep\", \"1000\"]\n",
        &["--", "sh", "-c", "sleep 0.3; exit 42"],
    );
    let status = wait_exit(&mut up.0, Duration::from_secs(20));
    assert_eq!(status.code(), Some(42), "{}", dir.read("log"));
    assert!(log_has(&dir, "db stopping"));
}

#[test]
fn a_missing_binary_is_retried_with_backoff_not_in_a_tight_loop() {
    let dir = TempDir::new("missing");
    let mut up = start(
        &dir,
        "[service.ghost]\ncommand = [\"/nonexistent/ghost\"]\n[service.ok]\ncommand = [\"sleep\", \"1000\"]\n",
        &[],
    );
    std::thread::sleep(Duration::from_millis(1600));
    let attempts = dir.read("log").matches("ghost: cannot start").count();
    // 0, 0.1, 0.3, 0.7, 1.5 s: five attempts in 1.6 s, not hundreds.
    assert!(
        (3..=6).contains(&attempts),
        "{attempts} attempts:\n{}",
        dir.read("log")
    );
    assert!(log_has(
        &dir,
        "ghost: cannot start /nonexistent/ghost: not found"
    ));
    assert!(log_has(&dir, "ok started"));
    kill(up.0.id() as i32, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut up.0, Duration::from_secs(10)).code(),
        Some(0)
    );
}

#[test]
fn a_missing_directory_is_named_not_the_binary() {
    let dir = TempDir::new("nodir");
    let _up = start(
        &dir,
        "[service.lost]\ncommand = [\"/bin/sleep\", \"1000\"]\ndirectory = \"/nonexistent/dir\"\n",
        &[],
    );
    wait_log(
        &dir,
        "lost: cannot start /bin/sleep: directory /nonexistent/dir: not found",
    );
}

#[test]
fn services_start_clean_as_the_configured_user_in_their_own_session() {
    let dir = TempDir::new("clean");
    let d = dir.0.display();
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let up = start(
        &dir,
        &format!(
            r#"
[service.probe]
command = "id -u > {d}/uid; id -g > {d}/gid; pwd > {d}/pwd; echo $MODE $HOME > {d}/env; grep -E '^Sig(Blk|Ign)' /proc/self/status > {d}/sig; cut -d' ' -f1,5,6 /proc/$$$$/stat > {d}/ids; exec sleep 1000"
user = "nobody"
directory = "/tmp"
env = {{ MODE = "prod" }}
"#
        ),
        &[],
    );
    assert!(wait_for(Duration::from_secs(10), || !dir
        .read("ids")
        .is_empty()));
    assert_eq!(dir.read("uid").trim(), "65534");
    assert_eq!(dir.read("gid").trim(), "65534");
    assert_eq!(dir.read("pwd").trim(), "/tmp");
    assert_eq!(dir.read("env").trim(), "prod /nonexistent");
    assert_eq!(
        dir.read("sig"),
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
    );
    // pid, process group and session are the same number: it leads its own session.
    let ids: Vec<String> = dir
        .read("ids")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0], ids[2]);
    // Only stdin, stdout and stderr, seen once the shell has exec'd (while the shell runs a
    // pipeline or a redirection it holds descriptors of its own).
    let fd_dir = format!("/proc/{}/fd", ids[0]);
    assert!(wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{}/comm", ids[0])).unwrap_or_default() == "sleep\n"
    }));
    let mut fds: Vec<String> = std::fs::read_dir(&fd_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"]);
    drop(up);
}

#[test]
fn config_errors_exit_2_with_positions() {
    let dir = TempDir::new("cfgerr");
    let cfg = dir.write(
        "bad.toml",
        "[service.a]\ncommand = []\nrestrat = \"always\"\nstop_signal = \"NOPE\"\nafter = [\"b\"]\n",
    );
    let path = cfg.to_str().unwrap();
    for args in [vec!["check", "-c", path], vec!["-c", path]] {
        let (code, err) = run(&args);
        assert_eq!(code, 2, "{args:?}");
        for want in [
            format!("{path}:2:11: service `a` `command`: the command is empty"),
            format!("{path}:3:1: unknown key `restrat` in [service.a]; did you mean `restart`?"),
            format!("{path}:4:15: service `a` `stop_signal`: unknown signal \"NOPE\""),
            format!("{path}:5:10: service `a`: `after` names unknown service `b`"),
        ] {
            assert!(err.contains(&want), "{want:?} not in {err}");
        }
    }
    let good = dir.write("good.toml", "[service.a]\ncommand = [\"true\"]\n");
    let out = cmd(BIN)
        .args(["check", "-c", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}: ok (1 services, 0 watches, 1 files)\nworst-case stop: 10s (a)\n",
            good.display()
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "10 s is within docker's wait"
    );
    // A chain whose stop passes stop_grace: a warning, and still exit 0.
    let slow = dir.write(
        "slow.toml",
        "[supervisor]\nstop_grace = \"4s\"\n[service.db]\ncommand = [\"true\"]\n\
         [service.web]\ncommand = [\"true\"]\nafter = [\"db\"]\n",
    );
    let out = cmd(BIN)
        .args(["check", "-c", slow.to_str().unwrap()])
        .env_remove("UPKEEP_STOP_GRACE")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("worst-case stop: 20s (web, then db)\n"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the worst-case stop takes 20s: it passes stop_grace (4s)"),
        "{stderr}"
    );
}

/// A broken config at start-up: its errors and one line naming it, exit 2, no usage text
/// (which reads as "no config found"); a missing default config with nothing else given
/// still gets the usage.
#[test]
fn an_invalid_config_at_start_up_is_named_without_the_usage() {
    let dir = TempDir::new("broken");
    let broken = dir.write("upkeep.toml", "[service.a]\ncommand = 5\n");
    let out = cmd(BIN)
        .env("UPKEEP_CONFIG", &broken)
        .env_remove("UPKEEP_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2:11: service `a` `command`: expected a command"),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "upkeep: {} is invalid; not starting\n",
            broken.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("give -c FILE") && !err.contains("usage:"),
        "{err}"
    );
    let out = cmd(BIN)
        .env("UPKEEP_CONFIG", dir.path("nothing-here.toml"))
        .env_remove("UPKEEP_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give -c FILE or -- COMMAND"));
}

#[test]
fn the_example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/upkeep.toml");
    let (code, err) = run(&["check", "-c", example]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn restart_never_and_on_failure_are_honoured() {
    let dir = TempDir::new("policies");
    let up = start(
        &dir,
        r#"
[service.once]
command = "exit 1"
restart = "never"

[service.clean]
command = "sleep 0.1; exit 0"
restart = "on-failure"

[service.failing]
command = "sleep 0.1; exit 2"
restart = "on-failure"
restart_delay = "10ms"
"#,
        &[],
    );
    wait_log(&dir, "once exited with status 1 after");
    wait_log(&dir, "not restarting (restart = never)");
    wait_log(&dir, "clean exited with status 0 after");
    wait_log(&dir, "not restarting (restart = on-failure)");
    wait_log(&dir, "failing exited with status 2");
    wait_log(&dir, "(restart 2)");
    let log = dir.read("log");
    assert_eq!(log.matches("once started").count(), 1, "{log}");
    assert_eq!(log.matches("clean started").count(), 1, "{log}");
    drop(up);
}

#[test]
fn a_daemonizing_service_leaves_no_zombie() {
    let dir = TempDir::new("daemon");
    let d = dir.0.display();
    // Forks a child that detaches (setsid), then exits once it has: the classic daemon.
    let up = start(
        &dir,
        &format!(
            "[service.d]\ncommand = \"setsid sh -c 'echo $$$$ > {d}/daemon; exec sleep 1000' & while [ ! -s {d}/daemon ]; do sleep 0.01; done; exit 0\"\nrestart = \"never\"\n"
        ),
        &[],
    );
    let daemon = pid_in(&dir, "daemon");
    wait_log(&dir, "d exited with status 0");
    kill(daemon, libc::SIGKILL);
    let upkeep = up.0.id() as i32;
    assert!(
        wait_for(Duration::from_secs(5), || !alive(daemon)
            && zombies_of(upkeep) == 0),
        "zombies of upkeep: {}",
        zombies_of(upkeep)
    );
    drop(up);
}

#[test]
fn a_signal_storm_during_a_crash_loop_is_survived() {
    let dir = TempDir::new("storm");
    let up = start(
        &dir,
        r#"
[service.crashy]
command = "exit 1"
restart_delay = "10ms"
restart_delay_max = "50ms"
diagnose = "echo diag"

[service.steady]
command = ["sleep", "1000"]
"#,
        &[],
    );
    wait_log(&dir, "crashy exited with status 1");
    let pid = up.0.id() as i32;
    for i in 0..1000 {
        // USR1/USR2/WINCH/CHLD: forwarded nowhere (no COMMAND), must change nothing.
        let sig = [libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH, libc::SIGCHLD][i % 4];
        kill(pid, sig);
    }
    let before = dir.read("log").matches("crashy started").count();
    assert!(
        wait_for(Duration::from_secs(5), || dir
            .read("log")
            .matches("crashy started")
            .count()
            > before + 3),
        "the crash loop stopped going round:\n{}",
        dir.read("log")
    );
    let mut up = up;
    kill(pid, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut up.0, Duration::from_secs(10)).code(),
        Some(0)
    );
    assert!(log_has(&dir, "steady stopped"));
}
