//! Limits and alerts on the real binary: what the kernel shows of a service's limits, umask,
//! nice and oom_score_adj; a service over memory_max (its memory held by a child in its
//! group) restarted; on_failure on give-up and unhealthiness and not on an ordinary restart;
//! a hanging on_failure and its grandchild killed; a limit over upkeep's hard limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;

/// The pid in the log's last "NAME started, pid N" line, waited for.
fn pid_of(dir: &TempDir, name: &str) -> i32 {
    let needle = format!("{name} started, pid ");
    wait_log(dir, &needle);
    let log = log_of(dir);
    let at = log.rfind(&needle).unwrap() + needle.len();
    let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

#[test]
fn limits_umask_nice_and_oom_score_adj_reach_the_service() {
    let dir = TempDir::new("tuning");
    let _up = start_on_socket(
        &dir,
        "[service.db]\ncommand = \"exec sleep 100\"\n\
         limits = { nofile = [100, 200], core = 0, stack = \"4MiB\", nproc = [500, 1000] }\n\
         umask = \"027\"\nnice = 7\noom_score_adj = 300\n",
    );
    let pid = pid_of(&dir, "db");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let row = |name: &str| {
        let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
        line[name.len()..]
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("Max open files"), "100 200", "{limits}");
    assert_eq!(row("Max core file size"), "0 0", "{limits}");
    assert_eq!(row("Max stack size"), "4194304 4194304", "{limits}");
    assert_eq!(row("Max processes"), "500 1000", "{limits}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("Umask:\t0027"), "{status}");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    assert_eq!(fields[16], "7", "nice (field 19): {stat}");
    let oom = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(oom.trim(), "300");
}

#[test]
fn a_limit_over_upkeeps_hard_limit_is_a_logged_spawn_failure_with_backoff() {
    let dir = TempDir::new("overlimit");
    let _up = start_on_socket(
        &dir,
        "[service.db]\ncommand = \"exec sleep 100\"\nlimits = { nofile = 2000000 }\n\
         restart_delay = \"50ms\"\n[service.ok]\ncommand = \"exec sleep 100\"\n",
    );
    let line = "db: cannot start /bin/sh: limits.nofile 2000000 is over upkeep's hard limit";
    wait_log(&dir, line);
    // Retried with the usual spacing; upkeep and the other service go on.
    assert!(wait_for(Duration::from_secs(10), || {
        log_of(&dir).matches(line).count() >= 3
    }));
    let (code, out, _) = client_on_socket(&dir, &["status"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok") && l.contains("running")),
        "{out}"
    );
}

/// A service whose memory is held by a child in its group (python3), and one well under.
const HOG: &str = "[service.hog]\n\
    command = \"python3 -c 'import time; b = b\\\"x\\\" * (64 << 20); time.sleep(100)' & exec sleep 100\"\n\
    memory_max = \"32MiB\"\n\
    on_failure = \"echo alert $UPKEEP_EVENT: $UPKEEP_UNHEALTHY\"\n\
    [service.lean]\ncommand = \"exec sleep 100\"\nmemory_max = \"1GiB\"\n";

fn rss_of(dir: &TempDir, name: &str) -> Option<u64> {
    let (_, json, _) = client_on_socket(dir, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = v["services"].as_array().unwrap();
    rows.iter().find(|r| r["name"] == name)?["rss_bytes"].as_u64()
}

#[test]
fn over_memory_max_a_service_is_restarted_and_on_failure_runs() {
    let dir = TempDir::new("memory");
    let sock = dir.path("sock");
    let text =
        format!("[supervisor]\ncontrol_socket = {sock:?}\nmemory_interval = \"100ms\"\n{HOG}");
    let _up = spawn_logged(&dir, &dir.write("upkeep.toml", &text), &[]);
    wait_socket(&dir);
    let first = pid_of(&dir, "hog");
    wait_log(&dir, "hog unhealthy: RSS ");
    let log = log_of(&dir);
    let stop = "over memory_max 32MiB; stopping it, then restarting";
    assert!(log.contains(stop), "{log}");
    wait_log(&dir, "hog on_failure: alert unhealthy: RSS ");
    assert!(wait_for(Duration::from_secs(10), || pid_of(&dir, "hog") != first));
    assert!(wait_for(Duration::from_secs(5), || rss_of(&dir, "lean")
        .is_some_and(|n| n > 0)));
}

#[test]
fn on_failure_runs_on_give_up_and_not_on_an_ordinary_restart() {
    let dir = TempDir::new("alert");
    let _up = start_on_socket(
        &dir,
        "[service.flaky]\ncommand = \"exit 3\"\ngive_up_after = 3\nrestart_delay = \"20ms\"\n\
         on_failure = \"echo alert $UPKEEP_EVENT $UPKEEP_SERVICE $UPKEEP_EXIT_CODE\"\n",
    );
    wait_log(&dir, "flaky on_failure: alert failed flaky 3");
    let log = log_of(&dir);
    assert_eq!(
        log.matches("flaky exited with status 3").count(),
        3,
        "{log}"
    );
    assert_eq!(log.matches("on_failure: alert").count(), 1, "{log}");
    assert!(
        position(&log, "giving up") < position(&log, "on_failure: alert"),
        "{log}"
    );
}

#[test]
fn a_hanging_on_failure_and_its_grandchild_are_killed_after_diagnose_timeout() {
    let dir = TempDir::new("alert-hang");
    let gc = dir.path("gc");
    let _up = start_on_socket(
        &dir,
        &format!(
            "[service.flaky]\ncommand = \"exit 1\"\ngive_up_after = 1\n\
             diagnose_timeout = \"300ms\"\n\
             on_failure = \"sleep 100 & echo $! > {}; sleep 100\"\n",
            gc.display()
        ),
    );
    wait_log(&dir, "flaky on_failure still running after 0.3s; killed it");
    let grandchild: i32 = dir.read("gc").trim().parse().unwrap();
    assert!(wait_for(Duration::from_secs(5), || !alive(grandchild)));
    let (code, out, _) = client_on_socket(&dir, &["status"]);
    assert_eq!(code, 3, "{out}");
}
