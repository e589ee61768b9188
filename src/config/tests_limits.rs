//! The keys of "Limits and alerts": what they read into, and each bad input's error with
//! its position.

use std::path::Path;

use super::accounts::Accounts;
use super::parse;
use crate::types::{Limit, Tuning};

fn read(text: &str) -> Result<super::Service, Vec<String>> {
    let text = format!("[service.a]\ncommand = [\"x\"]\n{text}");
    match parse(Path::new("t.toml"), &text, &Accounts::default()) {
        Ok(mut c) => Ok(c.services.remove(0)),
        Err(e) => Err(e.iter().map(|e| e.to_string()).collect()),
    }
}

fn error(text: &str) -> String {
    let errors = read(text).expect_err("an error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].clone()
}

#[test]
fn limits_umask_nice_and_oom_score_adj_are_read() {
    let s = read(
        "limits = { nofile = 65536, core = 0, memlock = \"64MiB\", stack = [\"8MiB\", \"unlimited\"], cpu = \"unlimited\" }\n\
         umask = \"027\"\nnice = -5\nmemory_max = \"1GiB\"\non_failure = \"echo $UPKEEP_EVENT\"\n",
    )
    .unwrap(); // allow-panic: test code, a failure is the test failing
    let limit = |name, soft, hard| Limit { name, soft, hard };
    let want = Tuning {
        limits: vec![
            limit("nofile", 65536, 65536),
            limit("core", 0, 0),
            limit("memlock", 64 << 20, 64 << 20),
            limit("stack", 8 << 20, u64::MAX),
            limit("cpu", u64::MAX, u64::MAX),
        ],
        umask: Some(0o027),
        nice: Some(-5),
        oom_score_adj: None,
    };
    assert_eq!(s.tuning.as_deref(), Some(&want));
    assert_eq!(s.memory_max, Some(1 << 30));
    assert_eq!(s.on_failure.as_deref(), Some("echo $UPKEEP_EVENT"));
    // None of it: no tuning, so the spawn keeps its fast path.
    assert_eq!(read("").unwrap().tuning, None); // allow-panic: test code, a failure is the test failing
}

#[test]
fn bad_limits_are_errors_at_their_position() {
    let e = error("limits = { nofyle = 10 }\n");
    assert!(
        e.starts_with("t.toml:3:21: service `a` `limits.nofyle`: unknown limit (known: as, core"),
        "{e}"
    );
    let e = error("limits = { nofile = -1 }\n");
    assert!(
        e.starts_with("t.toml:3:21:") && e.ends_with("cannot be negative"),
        "{e}"
    );
    let e = error("limits = { nofile = \"64MiB\" }\n");
    assert!(
        e.contains("`limits.nofile`: \"64MiB\": expected a whole number"),
        "{e}"
    );
    let e = error("limits = { core = [10, 5] }\n");
    assert!(e.ends_with("the soft limit is over the hard limit"), "{e}");
    let e = error("limits = { core = [1, 2, 3] }\n");
    assert!(e.ends_with("give one value, or [soft, hard]"), "{e}");
    let e = error("limits = 5\n");
    assert!(e.contains("expected a table of limits"), "{e}");
}

#[test]
fn bad_umask_nice_oom_and_memory_are_errors_at_their_position() {
    let e = error("umask = \"089\"\n");
    assert_eq!(
        e,
        "t.toml:3:9: service `a` `umask`: \"089\" is not an octal mask (\"022\", \"027\", \"077\")"
    );
    assert!(error("umask = \"1777\"\n").contains("not an octal mask"));
    assert!(error("umask = 22\n").contains("expected a string"));
    let e = error("nice = 20\n");
    assert_eq!(e, "t.toml:3:8: service `a` `nice`: 20 is outside -20..19");
    assert!(error("nice = -21\n").contains("-21 is outside -20..19"));
    let e = error("oom_score_adj = 1001\n");
    if cfg!(target_os = "linux") {
        assert_eq!(
            e,
            "t.toml:3:17: service `a` `oom_score_adj`: 1001 is outside -1000..1000"
        );
    } else {
        assert!(e.contains("Linux only"), "{e}");
    }
    let e = error("memory_max = 0\n");
    assert_eq!(
        e,
        "t.toml:3:14: service `a` `memory_max`: must be more than 0"
    );
    assert!(error("memory_max = \"0MiB\"\n").contains("must be more than 0"));
}
