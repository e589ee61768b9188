//! The chaos soak's short version (bench/soak.py for 30 s): kills, requests, reloads and
//! signal bursts at once. Counts, not timings: every kill accounted for and answered with a
//! restart, status always answered, no zombie, no impossible log line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[test]
fn thirty_seconds_of_chaos() {
    let out = std::process::Command::new("python3")
        .args([
            concat!(env!("CARGO_MANIFEST_DIR"), "/bench/soak.py"),
            BIN,
            "--seconds",
            "30",
            "--json",
        ])
        .output()
        .expect("python3 (the soak driver)");
    let text = String::from_utf8_lossy(&out.stdout);
    let s: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text}{}", String::from_utf8_lossy(&out.stderr)));
    let n = |k: &str| s[k].as_i64().unwrap_or(-1);
    assert_eq!(s["alive_throughout"], true, "{s}");
    assert_eq!(n("exit_code_after_term"), 0, "{s}");
    assert!(n("kills") > 100, "{s}");
    // Each kill shows up as a death by KILL (a few race a crash-looper's own exit).
    let accounted = n("kill_deaths_logged") + n("kills_during_a_stop");
    assert!(accounted * 10 >= n("kills") * 9, "{s}");
    assert_eq!(n("kill_deaths_logged"), n("kill_deaths_restarted"), "{s}");
    assert_eq!(n("status_failures"), 0, "{s}");
    assert_eq!(n("zombies_at_end"), 0, "{s}");
    assert_eq!(s["impossible_lines"], serde_json::json!([]), "{s}");
}
