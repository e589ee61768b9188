//! The man page renders without warnings (`mandoc -Tlint`); the FreeBSD rc.d script parses
//! (`sh -n`) and passes shellcheck.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// Runs `prog args...`: it must succeed and say nothing.
fn clean(prog: &str, args: &[&str]) {
    let out = match Command::new(prog).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("{prog} is needed (scripts/test.sh installs it): {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "{prog}: {text}"
    );
}

#[test]
fn the_man_page_lints_clean() {
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/man/upkeep.8");
    clean("mandoc", &["-Tlint", "-W", "warning", page]);
}

#[test]
fn the_rc_script_parses_and_passes_shellcheck() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/freebsd/rc.d/upkeep");
    clean("sh", &["-n", script]);
    clean("shellcheck", &["--shell=sh", script]);
}
