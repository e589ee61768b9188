//! Service output on the real binary: labelled lines, splitting, files and rotation, tails,
//! `upkeep logs`, leftovers, a full disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

use common::client_on_socket as client;

#[test]
fn lines_are_labelled_and_the_death_line_quotes_the_last_one() {
    let dir = TempDir::new("out-label");
    let _up = start_on_socket(
        &dir,
        r#"
[service.web]
command = "echo hello; echo 'bind: Address already in use' >&2; printf 'no newline'; exit 1"
restart_delay = "10s"
diagnose = "echo tail in $UPKEEP_OUTPUT_TAIL; cat \"$UPKEEP_OUTPUT_TAIL\""
"#,
    );
    wait_log(&dir, "web diagnose: no newline");
    let text = log_of(&dir);
    let at = |needle: &str| position(&text, needle);
    assert!(at("Z web: hello") < at("Z web[stderr]: bind: Address already in use"));
    // The last line, written without a newline, comes out before the death line.
    assert!(at("Z web: no newline") < at("web exited with status 1"));
    assert!(
        text.contains("web exited with status 1 after ")
            && text.contains("(restart 1); last output: \"bind: Address already in use\"\n"),
        "{text}"
    );
    // The diagnostic had the tail in a file, removed once it ended.
    assert!(text.contains("web diagnose: hello\n"), "{text}");
    let tail_files = || {
        std::fs::read_dir(&dir.0)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("upkeep-tail-")
            })
            .count()
    };
    assert!(wait_for(Duration::from_secs(5), || tail_files() == 0));
}

#[test]
fn a_long_line_is_split_and_bytes_pass_unchanged() {
    let dir = TempDir::new("out-long");
    let _up = start_on_socket(
        &dir,
        r#"
[service.web]
command = "head -c 1048576 /dev/zero | tr '\\0' x; echo; printf 'bad \\377\\376 bytes\\n'; printf 'esc \\033[2J\\r\\n'; exec sleep 1000"
"#,
    );
    wait_log(&dir, "web: esc");
    let raw = std::fs::read(dir.path("log")).unwrap();
    let piece = format!("Z web: {}\n", "x".repeat(16 * 1024));
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.matches(&piece).count(), 64, "1 MiB in lines of 16 KiB");
    let invalid: &[u8] = b"Z web: bad \xff\xfe bytes\n";
    assert!(raw.windows(invalid.len()).any(|w| w == invalid));
    assert!(text.contains("Z web: esc \\x1b[2J\n"), "{text}");
}

#[test]
fn a_leftover_still_writing_is_read_after_its_service_died() {
    let dir = TempDir::new("out-leftover");
    // The service dies once its leftover ignores TERM (the stop signal its group gets).
    let ready = dir.path("ready");
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.web]
command = "(trap '' TERM; touch {r}; sleep 0.5; echo from the leftover) & while [ ! -e {r} ]; do sleep 0.01; done; exit 3"
restart = "never"
"#,
            r = ready.display()
        ),
    );
    wait_log(&dir, "web: from the leftover");
    let text = log_of(&dir);
    assert!(
        text.find("web exited with status 3").unwrap()
            < text.find("web: from the leftover").unwrap(),
        "{text}"
    );
}

/// A burst read in one go (up to 16 KiB) is cut at the last whole line that fits: no file
/// passes `output_max_size`.
#[test]
fn a_burst_never_takes_an_output_file_past_its_size() {
    let dir = TempDir::new("out-burst");
    let file = dir.path("burst.log");
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.burst]
command = "seq 1 3000; sleep 1000"
output = "{}"
output_max_size = "4KiB"
output_keep = 40
"#,
            file.display()
        ),
    );
    let numbered = |k: u32| std::path::PathBuf::from(format!("{}.{k}", file.display()));
    let done = || {
        std::fs::read_to_string(&file).is_ok_and(|t| t.ends_with(" 3000\n"))
            || (1..=40)
                .any(|k| std::fs::read_to_string(numbered(k)).is_ok_and(|t| t.ends_with(" 3000\n")))
    };
    assert!(wait_for(Duration::from_secs(10), done));
    let mut lines = 0;
    for path in std::iter::once(file.clone()).chain((1..=40).map(numbered)) {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        assert!(
            meta.len() <= 4096,
            "{} is {} bytes",
            path.display(),
            meta.len()
        );
        lines += std::fs::read_to_string(&path).unwrap().lines().count();
    }
    // About 30 bytes a line: 3,000 lines fill some 22 files of 4 KiB, all kept.
    assert_eq!(lines, 3000);
}

#[test]
fn output_files_are_timestamped_rotated_and_reopened_on_reload() {
    let dir = TempDir::new("out-file");
    let file = dir.path("web.log");
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.web]
command = "while :; do echo tick; sleep 0.02; done"
output = "{}"
output_max_size = 200
output_keep = 2
"#,
            file.display()
        ),
    );
    let numbered = |k: u32| std::path::PathBuf::from(format!("{}.{k}", file.display()));
    assert!(wait_for(Duration::from_secs(10), || numbered(2).exists()));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!numbered(3).exists(), "output_keep = 2");
    for path in [file.clone(), numbered(1)] {
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        assert!(
            meta.len() <= 200,
            "{} is {} bytes",
            path.display(),
            meta.len()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            assert!(line.ends_with("Z tick") && line.len() == 29, "{line:?}");
        }
    }
    assert!(
        !log_of(&dir).contains("tick"),
        "file output stays out of the log"
    );
    // An external logrotate moves the file away, then asks for a reload.
    let moved = dir.path("web.log.old");
    std::fs::rename(&file, &moved).unwrap();
    let (code, _, err) = client(&dir, &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(wait_for(Duration::from_secs(5), || file.exists()));
}

#[test]
fn logs_prints_the_tail_also_after_a_stop() {
    let dir = TempDir::new("out-logs");
    let _up = start_on_socket(
        &dir,
        r#"
[service.web]
command = "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exec sleep 1000"
"#,
    );
    wait_log(&dir, "web[stderr]: oops");
    let (code, out, err) = client(&dir, &["logs", "web", "-n", "3"]);
    assert_eq!((code, out.as_str()), (0, "line 4\nline 5\noops\n"), "{err}");
    let (code, out, _) = client(&dir, &["logs", "web"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 6);
    let (code, _, _) = client(&dir, &["stop", "web"]);
    assert_eq!(code, 0);
    let (code, out, _) = client(&dir, &["logs", "web", "-n", "1"]);
    assert_eq!((code, out.as_str()), (0, "oops\n"));
    let (code, _, err) = client(&dir, &["logs", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no service or watch named \"nope\""), "{err}");
}

/// `upkeep logs` without a name: every service's lines in the order upkeep read them,
/// `NAME | ` before each, `-t` with the time; `-f` follows them all; a silent service
/// named on its own gets a note on stderr saying where its output goes.
#[test]
fn logs_of_every_service_merged_in_time_order_with_times() {
    let dir = TempDir::new("out-merged");
    let log = dir.path("log");
    let seen = |needle: &str| {
        format!(
            "until grep -q '{needle}' {}; do sleep 0.05; done",
            log.display()
        )
    };
    let go = format!(
        "until [ -e {} ]; do sleep 0.05; done",
        dir.path("go").display()
    );
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.web]
command = "echo web one; {}; echo web two; {go}; echo web later; exec sleep 1000"
[service.db]
command = "{}; echo db one; exec sleep 1000"
[service.quiet]
command = "exec sleep 1000"
output = "{}"
"#,
            seen("db: db one"),
            seen("web: web one"),
            dir.path("quiet.log").display()
        ),
    );
    wait_log(&dir, "web: web two");
    let (code, out, err) = client(&dir, &["logs"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "web   | web one\ndb    | db one\nweb   | web two\n")
    );
    assert!(
        err.starts_with("quiet has written nothing; output = "),
        "{err}"
    );
    let (code, out, _) = client(&dir, &["logs", "-t", "-n", "1", "db"]);
    assert_eq!(code, 0);
    let (stamp, text) = out.split_once(' ').unwrap();
    assert_eq!(text, "db one\n");
    assert!(
        stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{out:?}"
    );
    // A silent service: nothing on stdout, why on stderr, exit 0.
    let (code, out, err) = client(&dir, &["logs", "quiet"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(
        err.contains("quiet has written nothing; output = ") && err.contains("quiet.log"),
        "{err}"
    );
    // -f without a name follows every service: the last line of each first, then new ones.
    let mut follower = Command::new(BIN)
        .args(["logs", "-f", "-n", "1", "--socket"])
        .arg(dir.path("sock"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // A bound on the blocking reads below: the follower is killed after 20 s, unless the
    // test has reaped it by then (its pid might be another's).
    let pid = follower.id() as i32;
    let reaped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reaped_seen = reaped.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        if !reaped_seen.load(std::sync::atomic::Ordering::SeqCst) {
            kill(pid, libc::SIGKILL);
        }
    });
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(follower.stdout.take().unwrap()));
    let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(next(), "db    | db one");
    assert_eq!(next(), "web   | web two");
    // Parked now: the next line of any service reaches it.
    std::fs::write(dir.path("go"), "").unwrap();
    let got = next();
    let _ = follower.kill();
    let _ = follower.wait();
    reaped.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(got, "web   | web later");
}

#[test]
fn a_flat_out_writer_does_not_hold_up_another_services_restart() {
    let dir = TempDir::new("out-flat");
    let _up = start_on_socket(
        &dir,
        &format!(
            r#"
[service.noisy]
command = ["yes", "0123456789012345678901234567890123456789012345678901234567890123456789"]
output = "{}"
output_max_size = "1MB"
output_keep = 1
[service.victim]
command = ["sleep", "1000"]
"#,
            dir.path("noisy.log").display()
        ),
    );
    wait_log(&dir, "victim started");
    let pid = |name: &str| {
        let (_, out, _) = client(&dir, &["status", name, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        v["services"][0]["pid"].as_i64().unwrap_or(0)
    };
    for _ in 0..5 {
        let before = pid("victim");
        kill(before as i32, libc::SIGKILL);
        assert!(
            wait_for(Duration::from_secs(5), || {
                let now = pid("victim");
                now != 0 && now != before
            }),
            "victim not restarted:\n{}",
            log_of(&dir)
        );
    }
    assert!(
        std::fs::metadata(dir.path("noisy.log.1")).is_ok(),
        "noisy was read"
    );
}

#[test]
fn a_full_disk_costs_lines_not_supervision_and_writing_resumes() {
    if !can_unshare() {
        panic!("unshare --mount is needed (util-linux, root)");
    }
    let dir = TempDir::new("out-enospc");
    let small = dir.path("small");
    std::fs::create_dir_all(&small).unwrap();
    let sock = dir.path("sock");
    let cfg = dir.write(
        "upkeep.toml",
        &format!(
            r#"[supervisor]
control_socket = {sock:?}
[service.web]
command = "i=0; while [ $i -lt 300 ]; do echo line $i with some padding to fill a small disk; i=$((i+1)); sleep 0.002; done; rm -f {small}/filler; while :; do echo after; sleep 0.05; done"
output = "{small}/web.log"
"#,
            small = small.display()
        ),
    );
    // A 32 KiB tmpfs, mostly full, in a mount namespace of upkeep's own.
    let script = format!(
        "mount -t tmpfs -o size=32k tmpfs {small} && head -c 20k /dev/zero > {small}/filler && exec {BIN} -c {cfg}",
        small = small.display(),
        cfg = cfg.display()
    );
    // A PID namespace too: killing its PID 1 at the end takes the service with it.
    let child = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "sh",
            "-c",
            &script,
        ])
        .env_remove("UPKEEP_LOG")
        .env_remove("UPKEEP_SOCKET")
        .stdin(Stdio::null())
        .log_to(&dir.path("log"))
        .spawn()
        .unwrap();
    let _up = Running(child);
    wait_log(&dir, "dropped");
    let text = log_of(&dir);
    assert_eq!(
        text.matches("cannot write to").count(),
        1,
        "one warning:\n{text}"
    );
    assert!(text.contains("No space left on device"), "{text}");
    assert!(
        text.contains("upkeep: dropped ") && text.contains(" lines of web"),
        "{text}"
    );
    // Supervision went on all along: status answers and web is running.
    let out = Command::new(BIN)
        .args(["status", "web", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// `log_format = "json"`: every line of upkeep's and of its services is one JSON object
/// with its keys in order; split streams put a service's stdout lines on upkeep's stdout;
/// `log_timestamps = false` leaves the time out; logfmt quotes what needs it.
#[test]
fn json_and_logfmt_lines_and_split_streams() {
    let config = |format: &str, timestamps: bool| {
        format!(
            "[supervisor]\nlog_format = \"{format}\"\nlog_timestamps = {timestamps}\n\
             [service.web]\ncommand = \"echo 'say \\\"hi\\\" = 1'; printf 'bad \\\\377\\\\n' >&2; sleep 1000\"\n"
        )
    };
    let dir = TempDir::new("json");
    let cfg = dir.write("upkeep.toml", &config("json", true));
    let mut up = Running(
        cmd(BIN)
            .arg("-c")
            .arg(&cfg)
            .env_remove("UPKEEP_LOG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path("out")).unwrap())
            .stderr(std::fs::File::create(dir.path("err")).unwrap())
            .spawn()
            .unwrap(),
    );
    assert!(wait_for(Duration::from_secs(10), || dir
        .read("out")
        .contains("hi")));
    assert!(wait_for(Duration::from_secs(10), || dir
        .read("err")
        .contains("bad")));
    // Event lines carry their fields: a pipeline counts restarts without reading words.
    let event = |name: &str| {
        dir.read("err")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == name)
    };
    let started = event("started").expect("a started event");
    assert_eq!(started["service"], "web");
    let pid = started["pid"].as_i64().expect("its pid") as i32;
    kill(pid, libc::SIGKILL);
    assert!(wait_for(Duration::from_secs(10), || event("exited").is_some()));
    let exited = event("exited").unwrap();
    assert_eq!(exited["signal"], "KILL", "{exited}");
    assert_eq!(exited["pid"].as_i64(), Some(i64::from(pid)));
    assert_eq!(exited["restart"], 1, "{exited}");
    assert!(exited["uptime_ms"].as_u64().is_some(), "{exited}");
    kill(up.0.id() as i32, libc::SIGTERM);
    wait_exit(&mut up.0, Duration::from_secs(10));
    let out = dir.read("out");
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["name"], "web");
    assert_eq!(line["stream"], "stdout");
    assert_eq!(line["level"], "info");
    assert_eq!(line["msg"], "say \"hi\" = 1");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("{\"time\":\"20") && first.contains("Z\",\"level\""),
        "{first}"
    );
    let err = dir.read("err");
    let mut upkeep_lines = 0;
    for l in err.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
        if v["name"] == "upkeep" {
            upkeep_lines += 1;
            assert!(v.get("stream").is_none(), "{l}");
        } else {
            assert_eq!(
                (&v["name"], &v["stream"], &v["msg"]),
                (&"web".into(), &"stderr".into(), &"bad \u{fffd}".into()),
                "{l}"
            );
        }
    }
    assert!(upkeep_lines >= 3, "{err}");
    assert!(err.contains("\"msg\":\"web started, pid "), "{err}");

    let dir = TempDir::new("logfmt");
    let cfg = dir.write("upkeep.toml", &config("logfmt", false));
    let mut up = Running(
        cmd(BIN)
            .arg("-c")
            .arg(&cfg)
            .env_remove("UPKEEP_LOG")
            .stdin(Stdio::null())
            .log_to(&dir.path("log"))
            .spawn()
            .unwrap(),
    );
    assert!(wait_for(Duration::from_secs(10), || dir
        .read("log")
        .contains("hi")));
    kill(up.0.id() as i32, libc::SIGTERM);
    wait_exit(&mut up.0, Duration::from_secs(10));
    let log = dir.read("log");
    assert!(
        log.contains("level=info name=web stream=stdout msg=\"say \\\"hi\\\" = 1\"\n"),
        "{log}"
    );
    assert!(
        log.contains("level=info name=upkeep msg=\"web started, pid "),
        "{log}"
    );
    assert!(!log.contains("time="), "{log}");
}
