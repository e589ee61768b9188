//! Includes, variables, env files and the jobs' keys: what they read, and every bad input
//! reported at its place.

use std::path::{Path, PathBuf};

use super::expand::Vars;
use super::*;

/// A scratch directory with `files` (relative path, text) in it.
fn scratch(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("upkeep-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap(); // allow-panic: test code, a failure is the test failing
        std::fs::write(p, text).unwrap(); // allow-panic: test code, a failure is the test failing
    }
    dir
}

fn vars(list: &[(&str, &str)]) -> Vars {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load_in(dir: &Path, vars: &Vars) -> Result<Config, Vec<String>> {
    let main = dir.join("upkeep.toml");
    let text = std::fs::read_to_string(&main).unwrap(); // allow-panic: test code, a failure is the test failing
    parse_with(&main, &text, &Accounts::default(), vars)
        .map_err(|e| e.iter().map(ToString::to_string).collect())
}

fn one_error(text: &str) -> String {
    let errors = parse(Path::new("t.toml"), text, &Accounts::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].to_string()
}

#[test]
fn includes_are_read_in_sorted_order_and_may_refer_to_each_other() {
    let dir = scratch(
        "inc-ok",
        &[
            (
                "upkeep.toml",
                "[supervisor]\ninclude = [\"conf.d/*.toml\", \"none/*.toml\"]\n[service.a]\ncommand = \"a\"\n",
            ),
            (
                "conf.d/20-c.toml",
                "[service.c]\ncommand = \"c\"\nafter = [\"b\"]\n",
            ),
            (
                "conf.d/10-b.toml",
                "[service.b]\ncommand = \"b\"\n[watch.w]\nprocess = \"p\"\nstart = \"s\"\n",
            ),
            ("conf.d/notes.txt", "not toml"),
        ],
    );
    let c = load_in(&dir, &Vars::new()).unwrap(); // allow-panic: test code, a failure is the test failing
    let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!((c.watches.len(), c.files), (1, 3));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_includes_are_errors_in_their_own_files() {
    let dir = scratch(
        "inc-bad",
        &[
            (
                "upkeep.toml",
                "[supervisor]\ninclude = [\"d/*.toml\", \"*/x.toml\", \"gone.toml\"]\n[service.web]\ncommand = \"a\"\n",
            ),
            ("d/a.toml", "[service.web]\ncommand = \"b\"\n"),
            ("d/b.toml", "[supervisor]\ninclude = [\"more/*.toml\"]\n"),
            ("d/c.toml", "[service.x\n"),
            ("d/d.toml", "[service.y]\ncommand = \"y\"\nbogus = 1\n"),
        ],
    );
    let errors = load_in(&dir, &Vars::new()).unwrap_err();
    let main = dir.join("upkeep.toml").display().to_string();
    let d = dir.join("d").display().to_string();
    let want = [
        format!("{d}/a.toml:1:10: service `web`: the name is already defined at {main}:3:10"),
        format!(
            "{d}/b.toml:1:1: an included file cannot include: `include` belongs in the main config's [supervisor]"
        ),
        format!("{d}/c.toml:1:11: invalid TOML:"),
        format!("{d}/d.toml:3:1: unknown key `bogus` in [service.y]"),
        format!(
            "{main}:2:11: [supervisor] `include`: \"*/x.toml\": a pattern may be in the file name only"
        ),
        format!(
            "{main}:2:11: [supervisor] `include`: {}/gone.toml: No such file",
            dir.display()
        ),
    ];
    for w in &want {
        assert!(
            errors.iter().any(|e| e.starts_with(w.as_str())),
            "{w}\nnot in {errors:#?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn variables_in_strings_and_their_errors() {
    let dir = scratch(
        "vars",
        &[(
            "upkeep.toml",
            "[service.web]\ncommand = [\"srv\", \"--port\", \"${PORT:-8080}\", \"${EVIL}\"]\n\
             env = { DB = \"${DB-none}\", COST = \"$$5\" }\nstop_timeout = \"${STOP:-3s}\"\n",
        )],
    );
    let evil = "x\"]\ncommand = [\"rm\", \"-rf\", \"/\"]\n#";
    let c = load_in(&dir, &vars(&[("EVIL", evil), ("STOP", "")])).unwrap(); // allow-panic: test code, a failure is the test failing
    let web = &c.services[0];
    // The value is one argv word, never TOML.
    assert_eq!(web.command, ["srv", "--port", "8080", evil]);
    assert!(web.env.contains(&("DB".into(), "none".into())));
    assert!(web.env.contains(&("COST".into(), "$5".into())));
    assert_eq!(web.stop_timeout, std::time::Duration::from_secs(3));
    let errors = load_in(&dir, &Vars::new()).unwrap_err();
    let main = dir.join("upkeep.toml").display().to_string();
    assert_eq!(
        errors,
        [format!(
            "{main}:2:47: variable EVIL is not set (give a default with ${{EVIL:-...}})"
        )]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn env_files_feed_the_services_environment_in_order() {
    let dir = scratch(
        "envf",
        &[
            (
                "upkeep.toml",
                "[supervisor]\nenv_file = \"all.env\"\n[service.web]\ncommand = \"x\"\nenv_file = [\"web.env\"]\nenv = { C = \"env\" }\n",
            ),
            ("all.env", "A=all\nB=all\nC=all\n"),
            ("web.env", "# web\nexport B='web $X'\nC=\"web\"\n"),
        ],
    );
    let c = load_in(&dir, &Vars::new()).unwrap(); // allow-panic: test code, a failure is the test failing
    let env = &c.services[0].env;
    let want = [("A", "all"), ("B", "web $X"), ("C", "env")];
    for (k, v) in want {
        assert!(env.contains(&(k.to_string(), v.to_string())), "{env:?}");
    }
    assert_eq!(env.len(), 3);
    std::fs::write(dir.join("web.env"), "B=1\nno equals here\n").unwrap(); // allow-panic: test code, a failure is the test failing
    let errors = load_in(&dir, &Vars::new()).unwrap_err();
    assert_eq!(
        errors,
        [format!("{}/web.env:2:1: expected KEY=VALUE", dir.display())]
    );
    std::fs::remove_file(dir.join("web.env")).unwrap(); // allow-panic: test code, a failure is the test failing
    let errors = load_in(&dir, &Vars::new()).unwrap_err();
    assert!(
        errors[0].contains(":5:13: service `web` `env_file`: cannot read"),
        "{errors:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jobs_keys_and_their_errors() {
    let c = parse(
        Path::new("t.toml"),
        "[service.m]\ncommand = \"m\"\ntype = \"oneshot\"\nsuccess_exit_codes = [0, 3]\nrun_timeout = \"5m\"\n\
         [service.b]\ncommand = \"b\"\nschedule = \"@every 90s\"\nenabled = false\n",
        &Accounts::default(),
    )
    .unwrap(); // allow-panic: test code, a failure is the test failing
    let (m, b) = (&c.services[0], &c.services[1]);
    assert_eq!(
        (m.kind, m.restart, m.success_exit_codes.clone()),
        (ServiceType::Oneshot, Restart::Never, vec![0, 3])
    );
    assert!(m.is_job() && b.is_job() && !b.enabled);
    let bad = |body: &str| one_error(&format!("[service.j]\ncommand = \"j\"\n{body}\n"));
    assert_eq!(
        bad("schedule = \"61 * * * *\""),
        "t.toml:3:12: service `j` `schedule`: minute: 61 is out of range (0-59)"
    );
    assert!(bad("schedule = \"0 0 31 2 *\"").contains("can never fire"));
    assert!(
        bad("schedule = \"@daily\"\ntimezone = \"Mars/Olympus\"")
            .starts_with("t.toml:4:12: service `j` `timezone`: unknown time zone \"Mars/Olympus\"")
    );
    assert!(bad("timezone = \"UTC\"").contains("applies to a service with a `schedule` only"));
    assert!(
        bad("type = \"oneshot\"\nrestart = \"always\"")
            .contains("restarts \"never\" or \"on-failure\"")
    );
    assert!(
        bad("type = \"oneshot\"\nready.tcp = \"127.0.0.1:1\"").contains("`ready` does not apply")
    );
    assert!(bad("run_timeout = \"1s\"").contains("applies to oneshot and scheduled services only"));
    assert!(bad("type = \"daemon\"").contains("is not longrun or oneshot"));
    assert!(bad("success_exit_codes = [256]").contains("an array of exit codes"));
}
