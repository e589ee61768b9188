//! Single-command mode (`upkeep -- COMMAND`), tini's contract, on the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn exit_codes_pass_through() {
    for code in [0, 1, 42, 255] {
        let (got, _) = run(&["--", "sh", "-c", &format!("exit {code}")]);
        assert_eq!(got, code);
    }
}

/// `--version` names the version, the target and the commit; `UPKEEP_TEST_TARGET` says
/// which target a release binary under test must name.
#[test]
fn version_names_target_and_commit() {
    let out = Command::new(test_bin()).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let target = std::env::var("UPKEEP_TEST_TARGET").unwrap_or_default();
    let prefix = format!("upkeep {} ({target}", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&prefix), "{text:?}");
    let commit = text.trim_end().rsplit(", commit ").next().unwrap();
    assert!(
        commit == "unknown)"
            || (commit.len() == 13 && commit[..12].bytes().all(|b| b.is_ascii_hexdigit())),
        "{text:?}"
    );
}

#[test]
fn death_by_signal_gives_128_plus_n() {
    let (got, _) = run(&["--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(got, 137);
    let (got, _) = run(&["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(got, 143);
}

#[test]
fn success_code_flag_maps_to_zero() {
    let (got, _) = run(&["-e", "143", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(got, 0);
    let (got, _) = run(&["-e", "3", "--", "sh", "-c", "exit 4"]);
    assert_eq!(got, 4);
}

#[test]
fn missing_and_unexecutable_commands() {
    let (got, err) = run(&["--", "/nonexistent/prog"]);
    assert_eq!(got, 127);
    assert!(
        err.contains("upkeep: /nonexistent/prog: not found"),
        "{err}"
    );
    let dir = TempDir::new("noexec");
    let script = dir.write("script", "#!/bin/sh\nexit 0\n");
    let (got, err) = run(&["--", script.to_str().unwrap()]);
    assert_eq!(got, 126);
    assert!(err.contains("permission denied"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [&["--"][..], &["-x", "--", "true"], &["--nope"], &["-e"]] {
        let (got, err) = run(args);
        assert_eq!(got, 2, "{args:?}");
        assert!(err.contains("usage:"), "{err}");
    }
}

#[test]
fn log_lines_have_an_rfc3339_millisecond_timestamp() {
    let (_, err) = run(&["--", "/nonexistent/prog"]);
    let line = err.lines().find(|l| l.contains("not found")).unwrap();
    let (stamp, rest) = line.split_once(' ').unwrap();
    assert_eq!(stamp.len(), "2026-11-23T19:40:00.123Z".len(), "{line}");
    assert!(stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T' && stamp.as_bytes()[19] == b'.');
    assert!(rest.starts_with("upkeep: "), "{line}");
}

/// A shell that records each of these signals in `file` and waits, created with a ready marker.
fn recorder(file: &str, ready: &str, sigs: &[&str]) -> String {
    let traps: String = sigs
        .iter()
        .map(|s| format!("trap 'echo {s} >> {file}' {s}; "))
        .collect();
    format!("{traps} touch {ready}; while :; do sleep 0.02; done")
}

const FORWARDED: [(&str, i32); 7] = [
    ("TERM", libc::SIGTERM),
    ("INT", libc::SIGINT),
    ("HUP", libc::SIGHUP),
    ("QUIT", libc::SIGQUIT),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("WINCH", libc::SIGWINCH),
];

#[test]
fn signals_reach_the_command() {
    let dir = TempDir::new("fwd");
    let (file, ready) = (dir.path("got"), dir.path("ready"));
    let names: Vec<&str> = FORWARDED.iter().map(|(n, _)| *n).collect();
    let script = recorder(file.to_str().unwrap(), ready.to_str().unwrap(), &names);
    let mut child = cmd(&test_bin())
        .args(["--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(10), || ready.exists()));
    for (name, sig) in FORWARDED {
        kill(child.id() as i32, sig);
        assert!(
            wait_for(Duration::from_secs(5), || file_has(&file, name)),
            "{name} not forwarded; got {:?}",
            dir.read("got")
        );
    }
    assert!(child.try_wait().unwrap().is_none(), "upkeep exited");
    kill_tree(&mut child);
}

#[test]
fn with_g_signals_reach_the_grandchild_too() {
    signals_reach_the_grandchild(&["-g", "--"], &[]);
}

#[test]
fn tini_kill_process_group_in_the_environment_is_g() {
    signals_reach_the_grandchild(&["--"], &[("TINI_KILL_PROCESS_GROUP", "1")]);
}

/// `upkeep ARGS sh -c "GRANDCHILD & CHILD"` with `env`, both recording `sigs` (in DIR/child
/// and DIR/grand), once both are ready.
fn with_grandchild(
    args: &[&str],
    env: &[(&str, &str)],
    sigs: &[&str],
) -> (TempDir, std::process::Child) {
    let dir = TempDir::new("fwdg");
    let (mine, ready1) = (dir.path("child"), dir.path("ready1"));
    let (grand, ready2) = (dir.path("grand"), dir.path("ready2"));
    let inner = recorder(grand.to_str().unwrap(), ready2.to_str().unwrap(), sigs);
    let outer = recorder(mine.to_str().unwrap(), ready1.to_str().unwrap(), sigs);
    let script = format!("sh -c \"{inner}\" & {outer}");
    let child = cmd(&test_bin())
        .args(args)
        .args(["sh", "-c", &script])
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(10), || ready1.exists()
        && ready2.exists()));
    (dir, child)
}

/// Starts `upkeep ARGS sh -c ...` with `env` and checks that forwarded signals reach a
/// grandchild in COMMAND's group.
fn signals_reach_the_grandchild(args: &[&str], env: &[(&str, &str)]) {
    // A job started with & ignores INT and QUIT in a non-interactive shell (POSIX), so the
    // grandchild cannot trap those two: it records the others.
    let grand_sigs = ["TERM", "HUP", "USR1", "USR2", "WINCH"];
    let (dir, mut child) = with_grandchild(args, env, &grand_sigs);
    let (mine, grand) = (dir.path("child"), dir.path("grand"));
    for name in grand_sigs {
        let sig = FORWARDED.iter().find(|(n, _)| *n == name).unwrap().1;
        kill(child.id() as i32, sig);
        assert!(
            wait_for(Duration::from_secs(5), || file_has(&mine, name)
                && file_has(&grand, name)),
            "{name}: child {:?} grandchild {:?}",
            dir.read("child"),
            dir.read("grand")
        );
    }
    kill_tree(&mut child);
}

#[test]
fn a_signal_burst_neither_kills_nor_hangs_upkeep() {
    let dir = TempDir::new("burst");
    let ready = dir.path("ready");
    let script = format!(
        "trap 'n=$((n+1))' USR1; trap 'exit 7' TERM; touch {}; while :; do sleep 0.02; done",
        ready.display()
    );
    let mut child = cmd(&test_bin())
        .args(["--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(10), || ready.exists()));
    let pid = child.id() as i32;
    for i in 0..1000 {
        let sig = [libc::SIGUSR1, libc::SIGHUP, libc::SIGWINCH, libc::SIGCHLD][i % 4];
        // HUP would end the shell: send it only as USR1.
        kill(
            pid,
            if sig == libc::SIGHUP {
                libc::SIGUSR1
            } else {
                sig
            },
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "upkeep died in the burst"
    );
    kill(pid, libc::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(7));
}

#[test]
fn command_starts_with_empty_mask_no_ignored_signals_and_only_fds_0_1_2() {
    let leak = std::fs::File::open("/dev/null").unwrap();
    use std::os::fd::AsRawFd;
    let leak_fd = leak.as_raw_fd();
    let mut cmd = cmd(&test_bin());
    cmd.args([
        "--",
        "sh",
        "-c",
        "grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | tr '\\n' ' '",
    ])
    .stdout(Stdio::piped());
    // Start upkeep the hard way: signals blocked and ignored, an extra descriptor inherited.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut set);
            libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            for sig in [libc::SIGUSR1, libc::SIGINT, libc::SIGQUIT, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_IGN);
            }
            if libc::dup2(leak_fd, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
    // Under qemu-user, the host's signal 32 stays ignored (qemu keeps host real-time
    // signals for itself); a native musl build passes this check.
    if !emulated() {
        assert!(text.contains("SigIgn:\t0000000000000000"), "{text}");
    }
    // grep's and ls's own: 0 1 2 and the directory ls is reading.
    let fds = text.lines().last().unwrap().trim();
    assert_eq!(fds, "0 1 2 3", "{text}");
}

#[test]
fn the_check_above_would_see_an_inherited_mask() {
    // Negative control: without upkeep in between, the blocked mask does reach the command.
    let mut cmd = Command::new("grep");
    cmd.args(["-E", "^SigBlk", "/proc/self/status"])
        .stdout(Stdio::piped());
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let text = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    assert!(!text.contains("SigBlk:\t0000000000000000"), "{text}");
}

#[test]
fn command_gets_its_own_process_group_and_the_terminal() {
    // `script` gives upkeep a pseudo-terminal as stdin: COMMAND must lead its own group and be
    // the terminal's foreground group (fields 5 and 8 of /proc/self/stat).
    let out = cmd("script")
        .args([
            "-qec",
            &format!("{} -- cat /proc/self/stat", test_bin()),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("(cat)"))
        .unwrap_or_else(|| panic!("{text}"));
    let pid: i32 = line.split_whitespace().next().unwrap().parse().unwrap();
    let after = &line[line.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let (pgrp, tpgid): (i32, i32) = (f[2].parse().unwrap(), f[5].parse().unwrap());
    assert_eq!(pgrp, pid, "{line}");
    assert_eq!(tpgid, pid, "{line}");
}

#[test]
fn parent_death_signal_is_set() {
    // upkeep -p TERM under a shell that then dies: upkeep gets TERM and forwards it.
    let dir = TempDir::new("pdeath");
    let pidfile = dir.path("pid");
    let mut parent = Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} -p TERM -- sleep 100 & echo $! > {}; sleep 100",
                test_bin(),
                pidfile.display()
            ),
        ])
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(5), || !dir
        .read("pid")
        .trim()
        .is_empty()));
    let upkeep: i32 = dir.read("pid").trim().parse().unwrap();
    assert!(wait_for(Duration::from_secs(5), || children_of(upkeep)
        .len()
        == 1));
    parent.kill().unwrap();
    let _ = parent.wait();
    assert!(
        wait_for(Duration::from_secs(5), || !alive(upkeep)),
        "upkeep outlived its parent"
    );
}

/// Creates `n` orphans that end a moment later: each one's parent (a subshell) exits at once.
fn orphan_script(n: usize) -> String {
    format!("i=0; while [ $i -lt {n} ]; do (sleep 0.2 &); i=$((i+1)); done; exec sleep 60")
}

/// upkeep runs with -w, logging each zombie it reaps that is not COMMAND to `log`: all 1,000
/// orphans must be reaped by it (so they were reparented to it), and none left as a zombie.
fn assert_all_orphans_reaped(reaper: i32, log: &std::path::Path) {
    let reaped = || {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .matches("reaped zombie")
            .count()
    };
    assert!(
        wait_for(Duration::from_secs(60), || reaped() >= 1000),
        "upkeep reaped {} orphans",
        reaped()
    );
    assert_eq!(zombies_of(reaper), 0);
    assert_eq!(children_of(reaper).len(), 1, "only COMMAND is left");
}

#[test]
fn a_thousand_orphans_are_reaped_as_subreaper() {
    if emulated() {
        eprintln!("skipped: qemu-user refuses PR_SET_CHILD_SUBREAPER (EINVAL)");
        return;
    }
    // Without a socket: the fast path (a blocking waitpid loop); with one: the general loop.
    for socket in [false, true] {
        let dir = TempDir::new("reap");
        let log = dir.path("log");
        let mut upkeep = cmd(&test_bin());
        if socket {
            upkeep.arg("--socket").arg(dir.path("sock"));
        }
        let mut child = upkeep
            .args(["-w", "--", "sh", "-c", &orphan_script(1000)])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        assert_all_orphans_reaped(child.id() as i32, &log);
        kill(child.id() as i32, libc::SIGTERM);
        let status = wait_exit(&mut child, Duration::from_secs(10));
        assert_eq!(status.code(), Some(143), "socket {socket}");
    }
}

#[test]
fn a_thousand_orphans_are_reaped_as_pid_1() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a PID namespace here");
        return;
    }
    let dir = TempDir::new("reap1");
    let log = dir.path("log");
    let mut ns = cmd("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount-proc",
            &test_bin(),
            "-w",
            "--",
            "sh",
            "-c",
        ])
        .arg(orphan_script(1000))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let upkeep = {
        let mut found = None;
        wait_for(Duration::from_secs(5), || {
            found = first_child(ns.id() as i32);
            found.is_some()
        });
        found.unwrap()
    };
    assert_all_orphans_reaped(upkeep, &log);
    kill(upkeep, libc::SIGTERM);
    let status = wait_exit(&mut ns, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
}

#[test]
fn the_zombie_check_sees_zombies_when_nothing_reaps() {
    // Negative control: the same orphans under a PID 1 that never reaps (sleep) stay zombies.
    if !can_unshare() {
        eprintln!("skipped: cannot create a PID namespace here");
        return;
    }
    let mut ns = cmd("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c"])
        .arg("sh -c 'i=0; while [ $i -lt 50 ]; do sleep 0.2 & i=$((i+1)); done'; exec sleep 60")
        .spawn()
        .unwrap();
    let mut pid1 = None;
    wait_for(Duration::from_secs(5), || {
        pid1 = first_child(ns.id() as i32);
        pid1.is_some()
    });
    let pid1 = pid1.unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || zombies_of(pid1) >= 50),
        "the check saw {} zombies",
        zombies_of(pid1)
    );
    let _ = ns.kill();
    kill(pid1, libc::SIGKILL);
    let _ = ns.wait();
}

#[test]
fn the_binary_is_static() {
    // No PT_INTERP program header: the kernel loads it without a dynamic linker.
    let elf = std::fs::read(test_bin()).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let p_type = u32::from_le_bytes(elf[phoff + i * phentsize..][..4].try_into().unwrap());
        assert_ne!(p_type, 3, "the binary has an ELF interpreter (PT_INTERP)");
    }
}

#[test]
fn tini_verbosity_and_subreaper_keep_their_meaning() {
    // TINI_VERBOSITY=4 is tini's debug level: COMMAND's start is logged.
    let out = cmd(&test_bin())
        .args(["--", "true"])
        .env_remove("UPKEEP_LOG")
        .env("TINI_VERBOSITY", "4")
        .env("TINI_SUBREAPER", "")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("true started, pid"), "{err}");
    // TINI_VERBOSITY=0 silences upkeep, as it silences tini, whatever goes wrong.
    let out = cmd(&test_bin())
        .args(["--", "/nonexistent/x"])
        .env_remove("UPKEEP_LOG")
        .env("TINI_VERBOSITY", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Socket activation, as podman and systemd do it: a listening socket as descriptor 3 with
/// `LISTEN_FDS=1` and `LISTEN_PID` upkeep's. COMMAND gets the socket, `LISTEN_PID` its own
/// pid, and serves a connection on it; with a config, services do not get the descriptor.
#[test]
fn socket_activation_passes_the_listening_socket_to_command() {
    // qemu-user, which runs the arm64 release binary here, keeps descriptors of its own
    // and does not hand a passed socket on as a native kernel does: native binaries only.
    let target = std::env::var("UPKEEP_TEST_TARGET").unwrap_or_default();
    if emulated() && !target.starts_with(std::env::consts::ARCH) {
        return;
    }
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fd = listener.as_raw_fd();
    let dir = TempDir::new("activation");
    let serve = "import os, socket\n\
                 assert os.environ['LISTEN_PID'] == str(os.getpid()), os.environ['LISTEN_PID']\n\
                 assert os.environ['LISTEN_FDS'] == '1'\n\
                 s = socket.socket(fileno=3)\n\
                 c, _ = s.accept()\n\
                 c.sendall(b'served by ' + str(os.getpid()).encode())\n";
    let config = dir.write(
        "upkeep.toml",
        &format!(
            "[service.other]\ncommand = \"if [ -e /dev/fd/3 ]; then echo has3; else echo no3; fi > {}/fds; env > {}/env; sleep 1000\"\n",
            dir.0.display(),
            dir.0.display()
        ),
    );
    for with_config in [false, true] {
        let bin = test_bin();
        let mut script = format!("LISTEN_PID=$$ LISTEN_FDS=1 exec {bin} ");
        if with_config {
            script.push_str(&format!(
                "-c {} --socket {}/sock ",
                config.display(),
                dir.0.display()
            ));
        }
        script.push_str("-- python3 -c \"$0\"");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script, serve]);
        // SAFETY: dup2 in the child before exec; the listener's fd is open in the parent.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 onto itself would leave close-on-exec set: clear it instead.
                let rc = if fd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, 3)
                };
                if rc < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut up = Running(cmd.stdin(Stdio::null()).spawn().unwrap());
        if with_config {
            // The service has looked at its descriptors before COMMAND is let go.
            assert!(wait_for(Duration::from_secs(10), || !dir
                .read("env")
                .is_empty()));
        }
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("served by "), "{reply:?}");
        let _ = conn.write_all(b"bye");
        let status = wait_exit(&mut up.0, Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "with_config = {with_config}");
        if with_config {
            assert_eq!(dir.read("fds"), "no3\n", "a service got descriptor 3");
            assert!(!dir.read("env").contains("LISTEN_"), "{}", dir.read("env"));
        }
    }
}

/// dumb-init's `-r S:R`: S reaches COMMAND as R, R = 0 drops it; on the fast path and on
/// the general loop (`-v` turns debug logging on, which takes the general loop).
#[test]
fn dumb_init_rewrite_maps_and_drops_signals() {
    for extra in [&[][..], &["-v"][..]] {
        let dir = TempDir::new("rewrite");
        let (file, ready) = (dir.path("got"), dir.path("ready"));
        let sigs = ["USR1", "USR2", "WINCH", "HUP"];
        let script = recorder(file.to_str().unwrap(), ready.to_str().unwrap(), &sigs);
        let mut child = cmd(&test_bin())
            .args(extra)
            .args([
                "-r",
                "USR1:USR2",
                "--rewrite",
                "28:0",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .spawn()
            .unwrap();
        assert!(wait_for(Duration::from_secs(10), || ready.exists()));
        let pid = child.id() as i32;
        kill(pid, libc::SIGUSR1);
        assert!(wait_for(Duration::from_secs(5), || file_has(&file, "USR2")));
        kill(pid, libc::SIGWINCH);
        kill(pid, libc::SIGHUP);
        assert!(wait_for(Duration::from_secs(5), || file_has(&file, "HUP")));
        let got = dir.read("got");
        assert!(
            !got.contains("USR1") && !got.contains("WINCH"),
            "{extra:?}: {got:?}"
        );
        kill_tree(&mut child);
    }
}

/// dumb-init's `-c` and `DUMB_INIT_SETSID=0`: signals reach COMMAND only, even with tini's
/// `-g` or `TINI_KILL_PROCESS_GROUP`.
#[test]
fn dumb_init_single_child_signals_only_the_command() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 2] = [
        (&["-g", "-c", "--"], &[]),
        (
            &["--"],
            &[("TINI_KILL_PROCESS_GROUP", "1"), ("DUMB_INIT_SETSID", "0")],
        ),
    ];
    for (args, env) in cases {
        let (dir, mut child) = with_grandchild(args, env, &["USR1"]);
        let (mine, grand) = (dir.path("child"), dir.path("grand"));
        kill(child.id() as i32, libc::SIGUSR1);
        assert!(wait_for(Duration::from_secs(5), || file_has(&mine, "USR1")));
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !file_has(&grand, "USR1"),
            "{args:?} {env:?}: the grandchild got it"
        );
        kill_tree(&mut child);
    }
}
