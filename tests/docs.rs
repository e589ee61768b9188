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

/// Lint passes constructs that render wrong (`.Pq Ql a , Ql b` nests its quotes): every
/// rendered line opens and closes as many quotes as it has, and none doubles up.
#[test]
fn the_man_page_renders_without_stray_quotes() {
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/man/upkeep.8");
    let out = Command::new("mandoc")
        .args(["-Tutf8", page])
        .output()
        .expect("mandoc (scripts/test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    // A quoted phrase may wrap onto the next line: count over each paragraph.
    for paragraph in text.split("\n\n") {
        let opened = paragraph.matches('\u{2018}').count();
        let closed = paragraph.matches('\u{2019}').count();
        assert_eq!(opened, closed, "unbalanced quotes in:\n{paragraph}");
        assert!(
            !paragraph.contains("\u{2019}\u{2019}") && !paragraph.contains("\u{2018}\u{2018}"),
            "doubled quotes in:\n{paragraph}"
        );
    }
}

#[test]
fn the_rc_script_parses_and_passes_shellcheck() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/freebsd/rc.d/upkeep");
    clean("sh", &["-n", script]);
    clean("shellcheck", &["--shell=sh", script]);
}

/// Every Containerfile in the README can be pasted as it is: a `#` after an instruction is
/// not a comment to podman or Docker (`COPY a b # c` copies a file called `#`), and every
/// `--from` names a stage of the same file or an image (`name:tag`).
#[test]
fn the_readmes_containerfiles_can_be_pasted() {
    let readme = include_str!("../README.md");
    let mut blocks = 0;
    let mut rest = readme;
    while let Some(start) = rest.find("```dockerfile\n") {
        let body = &rest[start + 14..];
        let end = body.find("```").expect("the block's end");
        let block = &body[..end];
        rest = &body[end..];
        blocks += 1;
        let mut stages = Vec::new();
        for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line.starts_with('#') {
                continue;
            }
            assert!(
                !line.contains(" #"),
                "a trailing comment on an instruction: {line}"
            );
            let words: Vec<&str> = line.split_whitespace().collect();
            if words[0] == "FROM"
                && let Some(at) = words.iter().position(|w| w.eq_ignore_ascii_case("AS"))
            {
                stages.push(words[at + 1].to_string());
            }
            for w in &words {
                if let Some(from) = w.strip_prefix("--from=") {
                    assert!(
                        stages.iter().any(|s| s == from)
                            || from.contains(':')
                            || from.contains('/'),
                        "--from={from} is neither a stage of this file nor an image: {line}"
                    );
                }
            }
        }
    }
    assert!(blocks >= 2, "the README's Containerfiles were not found");
}

/// The README shows containers/webstack's Containerfile and upkeep.toml as they are (the
/// files' opening comment lines aside): a reader who pastes the README gets what the
/// container test builds.
#[test]
fn the_readmes_webstack_files_are_the_repositorys() {
    let readme = include_str!("../README.md");
    let files = [
        (
            "dockerfile",
            include_str!("../containers/webstack/Containerfile"),
        ),
        ("toml", include_str!("../containers/webstack/upkeep.toml")),
    ];
    for (lang, file) in files {
        let body: String = file
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let block = format!("```{lang}\n{body}```\n");
        assert!(
            readme.contains(&block),
            "the README has not this {lang} block as it is:\n{block}"
        );
    }
}
