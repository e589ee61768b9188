//! The man page renders without warnings (`mandoc -Tlint`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn the_man_page_lints_clean() {
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/man/upkeep.8");
    let out = match Command::new("mandoc")
        .args(["-Tlint", "-W", "warning", page])
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("mandoc is needed (scripts/test.sh installs it): {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}
