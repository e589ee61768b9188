//! Watches: scans, diagnose then start, never two at once, spacing.

use super::sim::*;
use crate::core::*;
use crate::types::{Exit, Stdio};

#[test]
fn first_scan_comes_one_interval_after_start_up_and_serves_all() {
    let (mut sup, t0) = watcher(watch_cfg("x", None));
    assert_eq!(sup.poll_timeout(), Some(t0 + ms(1000)));
    sup.handle_timeout(t0 + ms(999));
    assert_eq!(actions(&mut sup), vec![]);
    sup.handle_timeout(t0 + ms(1000));
    assert_eq!(actions(&mut sup), vec![Action::Scan]);
    // No second Scan while the first is unanswered, and no deadline in the past.
    sup.handle_timeout(t0 + ms(1000));
    assert_eq!(actions(&mut sup), vec![]);
    assert_eq!(sup.poll_timeout(), None);
    sup.handle_event(
        t0 + ms(1000),
        Event::ProcessTable(vec![proc_named(5, "httpd")]),
    );
    assert_eq!(actions(&mut sup), vec![]);
    assert_eq!(sup.poll_timeout(), Some(t0 + ms(2000)));
}

#[test]
fn a_missing_daemon_is_diagnosed_then_started_once_at_a_time() {
    let (mut sup, t0) = watcher(watch_cfg("apachectl start", Some("ps")));
    let t1 = t0 + ms(1000);
    sup.handle_timeout(t1);
    actions(&mut sup);
    sup.handle_event(t1, Event::ProcessTable(vec![proc_named(5, "bash")]));
    let acts = actions(&mut sup);
    assert!(acts.contains(&Action::Log(
        Level::Info,
        "apache not running; starting it (watch)".into()
    )));
    let diagnose = acts
        .iter()
        .find_map(|a| match a {
            Action::Spawn { owner, plan } if *owner == Owner::Watch(wid(0, 0)) => Some(plan),
            _ => None,
        })
        .expect("a diagnose spawn");
    assert_eq!(diagnose.stdio, Stdio::Logged("apache diagnose".into()));
    assert_eq!(diagnose.argv, ["/bin/sh", "-c", "ps"]);
    assert_eq!(
        diagnose.env,
        [
            ("UPKEEP_WATCH".into(), "apache".into()),
            ("UPKEEP_PROCESS".into(), "httpd".into())
        ]
    );
    sup.handle_event(
        t1,
        Event::Spawned {
            owner: Owner::Watch(wid(0, 0)),
            pid: 50,
        },
    );
    sup.handle_event(
        t1,
        Event::Exited {
            pid: 50,
            exit: Exit::Code(0),
        },
    );
    let acts = actions(&mut sup);
    assert!(
        matches!(&acts[..], [a] if spawns_labelled(a, "apache start")),
        "{acts:?}"
    );
    sup.handle_event(
        t1,
        Event::Spawned {
            owner: Owner::Watch(wid(0, 0)),
            pid: 51,
        },
    );
    // Next scan: still missing, the start command still runs: no second one.
    let t2 = t0 + ms(2000);
    sup.handle_timeout(t2);
    actions(&mut sup);
    // The start command itself is called httpd: upkeep's own children never count.
    sup.handle_event(t2, Event::ProcessTable(vec![proc_named(51, "httpd")]));
    let acts = actions(&mut sup);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Spawn { .. })),
        "{acts:?}"
    );
    assert!(format!("{acts:?}").contains("not starting another"));
    sup.handle_event(
        t2,
        Event::Exited {
            pid: 51,
            exit: Exit::Code(3),
        },
    );
    assert!(
        format!("{:?}", actions(&mut sup)).contains("apache start command exited with status 3")
    );
}

#[test]
fn a_daemon_that_stays_missing_gets_spaced_starts() {
    let (mut sup, t0) = watcher(watch_cfg("false", None));
    let mut starts = Vec::new();
    let mut waiting_lines = 0;
    for k in 1..=20u64 {
        let t = t0 + ms(1000 * k);
        sup.handle_timeout(t);
        actions(&mut sup);
        sup.handle_event(t, Event::ProcessTable(vec![]));
        for a in actions(&mut sup) {
            if matches!(&a, Action::Log(_, text) if text.contains("next start in")) {
                waiting_lines += 1;
            }
            if spawns_labelled(&a, "apache start") {
                starts.push(k);
                sup.handle_event(
                    t,
                    Event::Spawned {
                        owner: Owner::Watch(wid(0, 0)),
                        pid: 60 + k as i32,
                    },
                );
                sup.handle_event(
                    t,
                    Event::Exited {
                        pid: 60 + k as i32,
                        exit: Exit::Code(1),
                    },
                );
                actions(&mut sup);
            }
        }
        if let Some(next) = sup.poll_timeout() {
            assert!(next > t);
        }
    }
    // Scans every second; starts at 1, 2, 4, 8, 16 s: the spacing doubles.
    assert_eq!(starts, vec![1, 2, 4, 8, 16]);
    // The wait is told once after each start that has one, not at every scan.
    assert_eq!(waiting_lines, 4);
    // Found running again: the spacing resets.
    let t = t0 + ms(21_000);
    sup.handle_timeout(t);
    actions(&mut sup);
    sup.handle_event(t, Event::ProcessTable(vec![proc_named(9, "httpd")]));
    assert!(format!("{:?}", actions(&mut sup)).contains("apache is running again"));
}

#[test]
fn spacing_rule() {
    assert_eq!(spacing(ms(100), ms(30_000), 0), ms(100));
    assert_eq!(spacing(ms(100), ms(30_000), 1), ms(100));
    assert_eq!(spacing(ms(100), ms(30_000), 4), ms(800));
    assert_eq!(spacing(ms(100), ms(250), 10), ms(250));
    assert_eq!(spacing(ms(100), ms(30_000), 1000), ms(30_000));
}

#[test]
fn a_failed_scan_starts_nothing_and_comes_back_an_interval_later() {
    let (mut sup, t0) = watcher(watch_cfg("start-it", None));
    let t1 = t0 + ms(1000);
    sup.handle_timeout(t1);
    assert_eq!(actions(&mut sup), vec![Action::Scan]);
    sup.handle_event(t1, Event::ScanFailed("no /proc".into()));
    let acts = actions(&mut sup);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Spawn { .. })),
        "{acts:?}"
    );
    assert!(format!("{acts:?}").contains("cannot read the process table (no /proc)"));
    assert_eq!(sup.poll_timeout(), Some(t1 + ms(1000)));
}

#[test]
fn a_hanging_start_command_is_killed_at_its_timeout() {
    let mut w = watch_cfg("apachectl start", None);
    w.start_timeout = ms(5000);
    let (mut sup, t0) = watcher(w);
    let t1 = t0 + ms(1000);
    sup.handle_timeout(t1);
    actions(&mut sup);
    sup.handle_event(t1, Event::ProcessTable(vec![]));
    actions(&mut sup);
    sup.handle_event(
        t1,
        Event::Spawned {
            owner: Owner::Watch(wid(0, 0)),
            pid: 70,
        },
    );
    // Scans come and go while it hangs: never a second start command.
    let t5 = t1 + ms(4999);
    sup.handle_timeout(t5);
    assert!(
        !actions(&mut sup)
            .iter()
            .any(|a| matches!(a, Action::Kill { .. }))
    );
    let t6 = t1 + ms(5000);
    sup.handle_timeout(t6);
    let acts = actions(&mut sup);
    assert!(acts.contains(&Action::Kill {
        pid: 70,
        sig: libc::SIGKILL,
        group: true
    }));
    assert!(format!("{acts:?}").contains("apache start command timed out after 5s; killed"));
    let rows = sup.status(t6, &[]).unwrap();
    assert_ne!(row(&rows, "apache").status, Status::Starting);
}

/// A watch's overdue diagnose is killed and its start command runs; the diagnose's death,
/// reaped after the start command was spawned, is not taken for the start command's.
#[test]
fn an_overdue_diagnose_exit_is_not_the_start_commands() {
    let (mut sup, t0) = watcher(watch_cfg("start-it", Some("sleep 100")));
    let t1 = t0 + ms(1000);
    sup.handle_timeout(t1);
    actions(&mut sup);
    sup.handle_event(t1, Event::ProcessTable(vec![]));
    actions(&mut sup);
    let owner = Owner::Watch(wid(0, 0));
    sup.handle_event(t1, Event::Spawned { owner, pid: 80 });
    let t2 = t1 + ms(30_000);
    sup.handle_timeout(t2);
    let acts = actions(&mut sup);
    assert!(format!("{acts:?}").contains("apache diagnose still running after 30s; killed it"));
    assert!(acts.iter().any(|a| spawns_labelled(a, "apache start")));
    sup.handle_event(t2, Event::Spawned { owner, pid: 81 });
    sup.handle_event(
        t2,
        Event::Exited {
            pid: 80,
            exit: Exit::Signal(libc::SIGKILL),
        },
    );
    let acts = actions(&mut sup);
    let text = format!("{acts:?}");
    assert!(!text.contains("start command"), "{text}");
    assert!(!text.contains("bug:"), "{text}");
    // The start command is still the one under way: its timeout applies, and a scan that
    // finds the daemon missing starts no second one.
    let rows = sup.status(t2, &[]).unwrap();
    assert_eq!(row(&rows, "apache").status, Status::Starting);
    let t3 = t2 + ms(1000);
    sup.handle_timeout(t3);
    actions(&mut sup);
    sup.handle_event(t3, Event::ProcessTable(vec![]));
    let acts = actions(&mut sup);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Spawn { .. })),
        "{acts:?}"
    );
    assert!(format!("{acts:?}").contains("not starting another"));
    sup.handle_event(
        t3,
        Event::Exited {
            pid: 81,
            exit: Exit::Code(0),
        },
    );
    assert!(format!("{:?}", actions(&mut sup)).contains("apache start command done"));
}

/// An exit no machine is waiting for is said to be a bug, not taken for another's.
#[test]
fn an_exit_that_matches_nothing_is_a_bug_line() {
    let (mut sup, t0) = watcher(watch_cfg("start-it", None));
    let t1 = t0 + ms(1000);
    sup.handle_timeout(t1);
    actions(&mut sup);
    sup.handle_event(t1, Event::ProcessTable(vec![]));
    actions(&mut sup);
    let owner = Owner::Watch(wid(0, 0));
    sup.handle_event(t1, Event::Spawned { owner, pid: 90 });
    sup.handle_event(
        t1,
        Event::Exited {
            pid: 90,
            exit: Exit::Code(0),
        },
    );
    actions(&mut sup);
    // A watch handed the exit of a pid it never had (as a wrong owner map would do).
    let run = sup.watches.get_mut(&wid(0, 0)).expect("the watch");
    let input = watch::Input::Exited {
        pid: 91,
        exit: Exit::Code(0),
    };
    run.handle(t1, input, &mut out!(sup));
    let acts = actions(&mut sup);
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Log(Level::Warn, t) if t.starts_with("bug:"))),
        "{acts:?}"
    );
}

#[test]
fn a_process_matches_by_comm_argv0_or_script_but_never_as_a_zombie() {
    use crate::core::watch::matches;
    let long = "a-very-long-daemon-name-indeed";
    let mut p = proc_named(5, &long[..crate::core::watch::COMM_MAX]);
    assert!(matches(long, &p));
    p.comm = "sh".into();
    assert!(!matches("mydaemon", &p));
    p.script = Some("mydaemon".into());
    assert!(matches("mydaemon", &p));
    p.argv0 = Some("mydaemon: worker".into());
    assert!(matches("mydaemon: worker", &p));
    p.zombie = true;
    assert!(!matches("mydaemon", &p));
}
