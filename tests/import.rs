//! `upkeep import` on the real binary: supervisord's own sample config, a config with
//! includes and numprocs, an s6-overlay tree; each output checked by `upkeep check` and run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// `upkeep import PATH`: (exit code, stdout, stderr).
fn import(path: &Path) -> (i32, String, String) {
    let out = Command::new(BIN).arg("import").arg(path).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Imports `path` into DIR/upkeep.toml and checks it; returns the TOML and the summary.
fn import_checked(dir: &TempDir, path: &Path, env: &[(&str, &str)]) -> (String, String) {
    let (code, toml, err) = import(path);
    assert_eq!(code, 0, "{err}");
    let config = dir.write("upkeep.toml", &toml);
    let out = Command::new(BIN)
        .args(["check", "-c"])
        .arg(&config)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{toml}",
        String::from_utf8_lossy(&out.stderr)
    );
    (toml, err)
}

/// Runs DIR/upkeep.toml with a COMMAND that waits (5 s at most) for `files` in DIR, then
/// exits 0: upkeep stops the services and exits 0. Returns its log.
fn run_until(dir: &TempDir, files: &[&str], env: &[(&str, &str)]) -> String {
    let waits: String = files
        .iter()
        .map(|f| {
            format!(
                "until [ -e {} ]; do sleep 0.05; done; ",
                dir.path(f).display()
            )
        })
        .collect();
    let mut child = cmd(BIN)
        .arg("-c")
        .arg(dir.path("upkeep.toml"))
        .args(["--", "timeout", "5", "sh", "-c", &waits])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.path("log")).unwrap())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(15));
    let log = log_of(dir);
    assert_eq!(status.code(), Some(0), "{log}");
    log
}

fn executable(dir: &TempDir, name: &str, text: &str) {
    let p = dir.path(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The config `echo_supervisord_conf` prints (Debian's `supervisor`; scripts/test.sh
/// installs it), with its sample program uncommented but for `user=chrism`.
#[test]
fn supervisords_own_sample_config() {
    let sample = Command::new("echo_supervisord_conf")
        .output()
        .expect("echo_supervisord_conf: install Debian's supervisor (scripts/test.sh does)");
    let text = String::from_utf8(sample.stdout).unwrap();
    let dir = TempDir::new("import-sample");
    // As printed: no program, nothing to import.
    let (code, out, err) = import(&dir.write("plain.conf", &text));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("nothing to import"), "{err}");
    let mut in_program = false;
    let uncommented: String = text
        .lines()
        .map(|l| {
            in_program = l.starts_with(";[program:") || (in_program && l.starts_with(";"));
            match l.strip_prefix(';') {
                Some(rest) if in_program && !rest.starts_with("user=") => format!("{rest}\n"),
                _ => format!("{l}\n"),
            }
        })
        .collect();
    let (toml, err) = import_checked(&dir, &dir.write("sample.conf", &uncommented), &[]);
    assert!(
        toml.contains("[service.theprogramname]\ncommand = [\"/bin/cat\"]\n"),
        "{toml}"
    );
    for line in [
        "stop_signal = \"QUIT\"",
        "restart = \"on-failure\"",
        "give_up_after = 4",
        "# not imported: umask = 022 (",
        "# not imported: [supervisord] pidfile = /tmp/supervisord.pid (",
        "env = { A = \"1\", B = \"2\" }",
    ] {
        assert!(toml.contains(line), "{line:?} not in\n{toml}");
    }
    assert!(
        err.contains("upkeep import: 1 services, 0 oneshots, 21 settings not imported"),
        "{err}"
    );
}

/// A config as images have them: `[include]`, numprocs, priorities, `%(ENV_X)s`,
/// `%(here)s`, a program that exits once. Imported, checked and run.
#[test]
fn supervisord_config_with_includes_and_numprocs() {
    let dir = TempDir::new("import-sv");
    let d = dir.0.display();
    dir.write(
        "supervisord.conf",
        "[supervisord]\nnodaemon=true\nloglevel=info\n\n[include]\nfiles = conf.d/*.conf\n",
    );
    std::fs::create_dir_all(dir.path("conf.d")).unwrap();
    dir.write(
        "conf.d/web.conf",
        &format!(
            "[program:web]\ncommand=sh -c 'echo \"$GREETING\" > {d}/web.out; exec sleep 30'\n\
             environment=GREETING=\"hi %(ENV_IMPORT_WHO)s\"\npriority=20\n\
             stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n\n\
             [program:setup]\ncommand=touch %(here)s/../setup.done\nautorestart=false\n\
             startsecs=0\npriority=10\n"
        ),
    );
    dir.write(
        "conf.d/workers.conf",
        &format!(
            "[program:worker]\ncommand=sh -c 'touch {d}/%(process_num)s.out; exec sleep 30'\n\
             process_name=%(program_name)s_%(process_num)02d\nnumprocs=2\npriority=20\n\
             stopsignal=INT\n"
        ),
    );
    let env = [("IMPORT_WHO", "there")];
    let (toml, err) = import_checked(&dir, &dir.path("supervisord.conf"), &env);
    for line in [
        "[service.worker_00]",
        "[service.worker_01]",
        "after = [\"setup\"]",
        "output = \"inherit\"",
        "env = { GREETING = \"hi ${IMPORT_WHO}\" }",
        "restart = \"never\"",
    ] {
        assert!(toml.contains(line), "{line:?} not in\n{toml}");
    }
    assert!(
        err.contains("4 services, 0 oneshots, 2 settings not imported"),
        "{err}"
    );
    let log = run_until(&dir, &["web.out", "0.out", "1.out", "setup.done"], &env);
    assert_eq!(dir.read("web.out"), "hi there\n");
    assert!(log.contains("worker_00 stopping"), "{log}");
}

/// An s6-overlay tree: cont-init.d scripts (one with with-contenv), services.d, and
/// s6-rc.d with a oneshot whose `up` is a plain command and a longrun depending on it.
#[test]
fn s6_overlay_tree() {
    let dir = TempDir::new("import-s6");
    let order = dir.path("order");
    let o = order.display();
    let rc = "etc/s6-overlay/s6-rc.d";
    executable(
        &dir,
        "etc/cont-init.d/10-a",
        &format!("#!/bin/sh\necho init-a >> {o}\n"),
    );
    executable(
        &dir,
        "etc/cont-init.d/20-b",
        &format!("#!/usr/bin/with-contenv sh\necho init-b >> {o}\n"),
    );
    executable(&dir, "etc/cont-finish.d/99-bye", "#!/bin/sh\n");
    executable(
        &dir,
        "etc/services.d/web/run",
        &format!("#!/bin/sh\necho web >> {o}\ntouch {o}.web\nexec sleep 30\n"),
    );
    executable(&dir, "etc/services.d/web/finish", "#!/bin/sh\n");
    for (name, kind) in [
        ("user", "bundle"),
        ("migrate", "oneshot"),
        ("app", "longrun"),
    ] {
        std::fs::create_dir_all(dir.path(&format!("{rc}/{name}/dependencies.d"))).unwrap();
        dir.write(&format!("{rc}/{name}/type"), &format!("{kind}\n"));
    }
    std::fs::create_dir_all(dir.path(&format!("{rc}/user/contents.d"))).unwrap();
    dir.write(&format!("{rc}/user/contents.d/app"), "");
    dir.write(
        &format!("{rc}/migrate/up"),
        &format!("with-contenv sh -c \"echo migrate >> {o}\"\n"),
    );
    dir.write(&format!("{rc}/migrate/dependencies.d/base"), "");
    executable(
        &dir,
        &format!("{rc}/app/run"),
        &format!("#!/bin/sh\necho app >> {o}\ntouch {o}.app\nexec sleep 30\n"),
    );
    dir.write(&format!("{rc}/app/dependencies.d/migrate"), "");
    let root = dir.path("etc").parent().unwrap().to_path_buf();
    let out = TempDir::new("import-s6-out");
    let (toml, err) = import_checked(&out, &root, &[]);
    assert!(
        toml.contains("after = [\"cont-init-20-b\", \"migrate\"]"),
        "{toml}"
    );
    assert!(
        toml.contains("# not imported: cont-finish.d/99-bye"),
        "{toml}"
    );
    assert!(
        err.contains("2 services, 3 oneshots, 2 settings not imported"),
        "{err}"
    );
    std::fs::copy(out.path("upkeep.toml"), dir.path("upkeep.toml")).unwrap();
    run_until(&dir, &["order.web", "order.app"], &[]);
    let got = std::fs::read_to_string(&order).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(&lines[..2], ["init-a", "init-b"], "{got}");
    let at = |w: &str| {
        lines
            .iter()
            .position(|l| *l == w)
            .unwrap_or_else(|| panic!("{w}: {got}"))
    };
    assert!(at("migrate") < at("app"), "{got}");
    at("web");
}

#[test]
fn bad_input_prints_nothing_on_stdout() {
    let dir = TempDir::new("import-bad");
    std::fs::create_dir_all(dir.path("empty")).unwrap();
    let cases: [(&str, &str, i32, &str); 6] = [
        ("missing", "", 2, "cannot read"),
        ("binary.conf", "[program:a]\0\n", 2, "binary"),
        ("bad.conf", "[program:a]\njust words\n", 2, "bad.conf:2:"),
        ("ref.conf", "[program:a]\ncommand=%(nope)s\n", 2, "%(nope)"),
        (
            "cycle.conf",
            "[include]\nfiles=cycle.conf\n",
            2,
            "include cycle",
        ),
        (
            "none.conf",
            "[supervisord]\nnodaemon=true\n",
            1,
            "nothing to import",
        ),
    ];
    for (name, text, want, says) in cases {
        if !text.is_empty() {
            dir.write(name, text);
        }
        let (code, out, err) = import(&dir.path(name));
        assert_eq!((code, out.as_str()), (want, ""), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
    let huge = format!("[program:a]\ncommand=a\n{}", ";\n".repeat(600_000));
    let (code, out, err) = import(&dir.write("huge.conf", &huge));
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("too big"), "{err}");
    let (code, out, err) = import(&dir.path("empty"));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    let (code, _) = run(&["import"]);
    assert_eq!(code, 2);
}
