//! One service's machine: spacing, give-up, policies, diagnostics, leftovers, shutdown.

use std::time::{Duration, Instant};

use super::sim::*;
use crate::core::*;
use crate::types::{Exit, Stdio};

use crate::config::Restart;
use crate::core::service::{Diagnostic, Process as State};

#[test]
fn crash_loop_spacing_doubles_and_resets_after_a_stable_run() {
    let mut sim = Sim::new(vec![svc("web")]);
    let mut starts = vec![Duration::ZERO];
    let t0 = sim.now;
    for _ in 0..5 {
        sim.kill(0, Exit::Code(1));
        sim.until_running(0);
        starts.push(sim.now - t0);
    }
    let want = [0, 100, 300, 700, 1500, 3100].map(ms);
    assert_eq!(starts, want);
    // A run longer than stable_after resets the spacing: back at once.
    sim.advance(Duration::from_secs(11));
    sim.kill(0, Exit::Signal(9));
    assert_eq!(sim.until_running(0), Duration::ZERO);
    assert!(
        sim.log.iter().any(
            |l| l.contains("web killed by signal KILL after 11s; restarting in 0s (restart 6)")
        ),
        "{:#?}",
        sim.log
    );
}

#[test]
fn spacing_is_capped() {
    let mut s = svc("web");
    s.restart_delay_max = ms(250);
    let mut sim = Sim::new(vec![s]);
    for _ in 0..4 {
        sim.kill(0, Exit::Code(1));
        sim.until_running(0);
    }
    sim.kill(0, Exit::Code(1));
    assert_eq!(sim.until_running(0), ms(250));
}

#[test]
fn gives_up_after_n_quick_deaths() {
    let mut s = svc("web");
    s.give_up_after = 2;
    let mut sim = Sim::new(vec![s]);
    sim.kill(0, Exit::Code(1));
    sim.until_running(0);
    sim.kill(0, Exit::Code(1));
    assert_eq!(sim.state(0), State::Failed);
    assert_eq!(sim.core.poll_timeout(), None);
    assert!(
        sim.log
            .last()
            .unwrap()
            .contains("giving up after 2 quick deaths")
    );
}

#[test]
fn restart_policies() {
    let mut never = svc("a");
    never.restart = Restart::Never;
    let mut on_failure = svc("b");
    on_failure.restart = Restart::OnFailure;
    let mut sim = Sim::new(vec![never, on_failure]);
    sim.kill(0, Exit::Code(1));
    assert_eq!(sim.state(0), State::Down);
    sim.kill(1, Exit::Code(0));
    assert_eq!(sim.state(1), State::Down);
    let mut on_failure = svc("b");
    on_failure.restart = Restart::OnFailure;
    let mut sim = Sim::new(vec![on_failure]);
    sim.kill(0, Exit::Signal(15));
    sim.until_running(0);
}

#[test]
fn diagnose_runs_first_with_its_environment_then_the_restart() {
    let mut s = svc("web");
    s.diagnose = Some("ps".into());
    let mut sim = Sim::new(vec![s]);
    let pid = sim.pid_of(0);
    sim.now += ms(1500);
    sim.core.handle_event(
        sim.now,
        Event::Exited {
            pid,
            exit: Exit::Signal(9),
        },
    );
    let a = sim.core.poll_action(); // the death line
    assert!(matches!(a, Some(Action::LogEvent(..))));
    let Some(Action::Spawn {
        owner: Owner::Diagnose(id),
        plan,
    }) = sim.core.poll_action()
    else {
        panic!("no diagnose");
    };
    assert_eq!(id, sid(0));
    assert_eq!(plan.argv, ["/bin/sh", "-c", "ps"]);
    assert_eq!(plan.stdio, Stdio::Logged("web diagnose".into()));
    let env: Vec<(String, String)> = plan
        .env
        .iter()
        .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
        .collect();
    for (k, v) in [
        ("UPKEEP_SERVICE", "web"),
        ("UPKEEP_PID", &pid.to_string()[..]),
        ("UPKEEP_EXIT_SIGNAL", "KILL"),
        ("UPKEEP_UPTIME_MS", "1500"),
        ("UPKEEP_RESTARTS", "1"),
    ] {
        assert!(
            env.contains(&(k.to_string(), v.to_string())),
            "{k} in {env:?}"
        );
    }
    sim.core.handle_event(
        sim.now,
        Event::Spawned {
            owner: Owner::Diagnose(sid(0)),
            pid: 555,
        },
    );
    sim.run();
    assert!(matches!(sim.state(0), State::Dead { .. }) && sim.diagnostic(0).is_some());
    sim.reap(555, Exit::Code(0));
    assert!(matches!(sim.state(0), State::Running { .. }));
}

#[test]
fn diagnose_overrun_is_killed_and_the_restart_goes_on() {
    let mut s = svc("web");
    s.diagnose = Some("sleep 100".into());
    s.diagnose_timeout = ms(500);
    let mut sim = Sim::new(vec![s]);
    sim.kill(0, Exit::Code(1));
    let Some(Diagnostic {
        pid: Some(diag), ..
    }) = sim.diagnostic(0)
    else {
        panic!("{:?}", sim.state(0));
    };
    let acts = sim.advance(ms(500));
    assert!(acts.contains(&Action::Kill {
        pid: diag,
        sig: libc::SIGKILL,
        group: true
    }));
    assert!(matches!(sim.state(0), State::Running { .. }));
}

/// A diagnostic killed at its timeout is reaped late, while the next death's diagnostic
/// runs: that one is not taken to have ended.
#[test]
fn a_late_exit_of_a_killed_diagnostic_is_not_the_next_ones() {
    let mut s = svc("web");
    s.diagnose = Some("sleep 100".into());
    s.diagnose_timeout = ms(500);
    let mut sim = Sim::new(vec![s]);
    sim.kill(0, Exit::Code(1));
    let first = sim.diagnostic(0).and_then(|d| d.pid).expect("a diagnostic");
    sim.advance(ms(500));
    sim.until_running(0);
    sim.kill(0, Exit::Code(1));
    let second = sim
        .diagnostic(0)
        .and_then(|d| d.pid)
        .expect("a second diagnostic");
    assert_ne!(first, second);
    sim.reap(first, Exit::Signal(libc::SIGKILL));
    assert_eq!(
        sim.diagnostic(0).and_then(|d| d.pid),
        Some(second),
        "{:#?}",
        sim.log
    );
    assert!(matches!(sim.state(0), State::Dead { .. }));
    sim.reap(second, Exit::Code(0));
    assert!(matches!(
        sim.state(0),
        State::Backoff { .. } | State::Running { .. }
    ));
}

#[test]
fn leftovers_get_the_stop_signal_then_sigkill() {
    let mut s = svc("web");
    s.stop_timeout = ms(300);
    let mut sim = Sim::new(vec![s]);
    let pid = sim.pid_of(0);
    sim.core.handle_event(
        sim.now,
        Event::Exited {
            pid,
            exit: Exit::Signal(9),
        },
    );
    let acts: Vec<Action> = std::iter::from_fn(|| sim.core.poll_action()).collect();
    assert!(acts.contains(&Action::ProbeGroup {
        owner: Owner::Service(sid(0)),
        pgid: pid
    }));
    sim.core.handle_event(
        sim.now,
        Event::GroupProbed {
            owner: Owner::Service(sid(0)),
            alive: true,
        },
    );
    let acts = sim.run();
    assert!(acts.contains(&Action::Kill {
        pid,
        sig: libc::SIGTERM,
        group: true
    }));
    assert!(
        matches!(sim.state(0), State::Cleaning { .. }),
        "no restart while leftovers live"
    );
    let acts = sim.advance(ms(300));
    assert!(acts.contains(&Action::Kill {
        pid,
        sig: libc::SIGKILL,
        group: true
    }));
    assert!(matches!(sim.state(0), State::Running { .. }));
}

#[test]
fn spawn_failure_is_a_quick_death() {
    let mut sim = Sim::new(vec![svc("web")]);
    sim.kill(0, Exit::Code(1));
    sim.now += ms(100);
    sim.core.handle_timeout(sim.now);
    assert!(
        sim.core
            .poll_action()
            .is_some_and(|a| spawns(&a, Owner::Service(sid(0))))
    );
    sim.core.handle_event(
        sim.now,
        Event::SpawnFailed {
            owner: Owner::Service(sid(0)),
            status: 127,
            reason: "not found".into(),
        },
    );
    sim.run();
    assert_eq!(
        sim.state(0),
        State::Backoff {
            until: sim.now + ms(200)
        }
    );
    assert!(
        sim.log
            .iter()
            .any(|l| l.contains("web: cannot start x: not found; restarting in 0.2s")),
        "{:#?}",
        sim.log
    );
}

#[test]
fn stop_during_backoff_and_stop_wins_over_a_death() {
    let mut sim = Sim::new(vec![svc("a"), svc("b")]);
    sim.kill(0, Exit::Code(1));
    let pid_b = sim.pid_of(1);
    // One wake-up: TERM first, then b's death. Nothing restarts.
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    let acts = sim.reap(pid_b, Exit::Signal(15));
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Spawn { .. })),
        "{acts:?}"
    );
    assert_eq!(acts.last(), Some(&Action::Exit(0)));
}

#[test]
fn shutdown_in_reverse_after_order_with_sigkill_for_the_stubborn() {
    let db = svc("db");
    let mut web = svc("web");
    web.after = vec!["db".into()];
    web.stop_timeout = ms(1000);
    let mut sim = Sim::new(vec![db, web]);
    let (db_pid, web_pid) = (sim.pid_of(0), sim.pid_of(1));
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    let acts = sim.run();
    let kills: Vec<i32> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Kill { pid, .. } => Some(*pid),
            _ => None,
        })
        .collect();
    assert_eq!(kills, vec![web_pid], "db must wait for web");
    let acts = sim.advance(ms(1000));
    assert!(acts.contains(&Action::Kill {
        pid: web_pid,
        sig: libc::SIGKILL,
        group: true
    }));
    let acts = sim.reap(web_pid, Exit::Signal(9));
    assert!(acts.contains(&Action::Kill {
        pid: db_pid,
        sig: libc::SIGTERM,
        group: true
    }));
    sim.core.handle_event(
        sim.now,
        Event::Exited {
            pid: db_pid,
            exit: Exit::Signal(15),
        },
    );
    assert_eq!(sim.run().last(), Some(&Action::Exit(0)));
}

#[test]
fn second_term_kills_at_once() {
    let mut sim = Sim::new(vec![svc("a")]);
    let pid = sim.pid_of(0);
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    sim.run();
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGINT));
    assert!(sim.run().contains(&Action::Kill {
        pid,
        sig: libc::SIGKILL,
        group: true
    }));
}

/// A chain whose services ignore TERM: without a grace the stop takes each stop_timeout in
/// turn (30 s here); with `stop_grace` everything left gets SIGKILL when it is up.
#[test]
fn stop_grace_caps_the_whole_ordered_stop() {
    let chain = |grace: Option<u64>, pid1: bool, env: Option<u64>| {
        let mut a = svc("a");
        a.stop_timeout = ms(10_000);
        let mut b = svc("b");
        b.after = vec!["a".into()];
        b.stop_timeout = ms(10_000);
        let mut c = svc("c");
        c.after = vec!["b".into()];
        c.stop_timeout = ms(10_000);
        let mut cfg = config(vec![a, b, c], Vec::new(), ms(30_000));
        cfg.settings.stop_grace = grace.map(ms);
        let mut opts = options(Mode::Supervise, None, cfg);
        opts.final_sweep = pid1;
        opts.stop_grace_override = env.map(ms);
        let mut sim = Sim::with(opts);
        let pids: Vec<i32> = (0..3).map(|i| sim.pid_of(i)).collect();
        sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
        sim.run();
        (sim, pids)
    };
    let killed = |acts: &[Action], pid: i32| {
        acts.contains(&Action::Kill {
            pid,
            sig: libc::SIGKILL,
            group: true,
        })
    };
    // stop_grace = 4s: at 4 s, a (still running, waiting for b) and b (stopping) are killed.
    let (mut sim, pids) = chain(Some(4000), false, None);
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(4000)));
    let acts = sim.advance(ms(4000));
    assert!(killed(&acts, pids[0]) && killed(&acts, pids[1]), "{acts:?}");
    assert!(
        sim.log
            .iter()
            .any(|l| l == "stop_grace (4s) is up: killing what is left"),
        "{:#?}",
        sim.log
    );
    // No grace, not PID 1: c's own stop_timeout is the first deadline.
    let (sim, _) = chain(None, false, None);
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(10_000)));
    // PID 1 without a setting: 9 s; the environment wins over the config.
    let (sim, _) = chain(None, true, None);
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(9_000)));
    let (sim, _) = chain(Some(20_000), false, Some(3_000));
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(3_000)));
}

/// PID 1's last sweep ends within the grace too: TERM, then KILL and the exit at its end.
#[test]
fn the_final_sweep_ends_within_the_grace() {
    let mut s = svc("a");
    s.stop_timeout = ms(500);
    let mut cfg = config(vec![s], Vec::new(), ms(30_000));
    cfg.settings.stop_grace = Some(ms(1000));
    let mut opts = options(Mode::Supervise, None, cfg);
    opts.final_sweep = true;
    let mut sim = Sim::with(opts);
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    sim.run();
    // The service dies of its TERM at 0.2 s: the sweep's TERM goes out, KILL at 1 s.
    sim.now += ms(200);
    sim.die("a", Exit::Signal(libc::SIGTERM));
    assert!(
        sim.log.iter().any(|l| l.contains("a stopped")),
        "{:#?}",
        sim.log
    );
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(800)));
    let acts = sim.advance(ms(800));
    assert!(acts.contains(&Action::KillAll(libc::SIGKILL)), "{acts:?}");
    assert_eq!(exit_of(&acts), Some(0), "{acts:?}");
}

/// A requested stop reads as one; an unexpected death keeps its "killed by signal" words.
#[test]
fn a_requested_stop_is_logged_as_a_stop_not_a_crash() {
    let mut sim = Sim::new(vec![svc("web"), svc("cron")]);
    sim.now += ms(1500);
    sim.kill(1, Exit::Signal(libc::SIGTERM));
    assert!(
        sim.log
            .iter()
            .any(|l| l.starts_with("cron killed by signal TERM after 1.5s")),
        "{:#?}",
        sim.log
    );
    drop(sim.core.stop(sim.now, &["web".to_string()]));
    sim.run();
    sim.die("web", Exit::Signal(libc::SIGTERM));
    assert!(
        sim.log.iter().any(|l| l == "web stopped (TERM) after 1.5s"),
        "{:#?}",
        sim.log
    );
}

/// LXC stops its init with PWR, systemd-style managers with 37 (SIGRTMIN+3): both stop
/// everything in order as TERM does; COMMAND would get TERM.
#[test]
fn pwr_and_rtmin_plus_3_stop_everything() {
    for sig in [30, 37] {
        let mut sim = Sim::new(vec![svc("a")]);
        let pid = sim.pid_of(0);
        sim.core.handle_event(sim.now, Event::Signal(sig));
        let acts = sim.run();
        assert!(
            acts.contains(&Action::Kill {
                pid,
                sig: libc::SIGTERM,
                group: true
            }),
            "{sig}: {acts:?}"
        );
        assert!(sim.log.iter().any(|l| l.ends_with(": stopping everything")));
        sim.core.handle_event(sim.now, Event::Signal(sig));
        assert!(sim.run().contains(&Action::Kill {
            pid,
            sig: libc::SIGKILL,
            group: true
        }));
    }
}

#[test]
fn critical_service_stopping_for_good_ends_upkeep_with_its_code() {
    let mut crit = svc("crit");
    crit.critical = true;
    crit.restart = Restart::Never;
    let mut sim = Sim::new(vec![crit, svc("other")]);
    let other = sim.pid_of(1);
    let acts = sim.kill(0, Exit::Code(7));
    assert!(acts.contains(&Action::Kill {
        pid: other,
        sig: libc::SIGTERM,
        group: true
    }));
    sim.core.handle_event(
        sim.now,
        Event::Exited {
            pid: other,
            exit: Exit::Signal(15),
        },
    );
    assert_eq!(sim.run().last(), Some(&Action::Exit(7)));
}

#[test]
fn main_command_exit_stops_services_and_sets_the_status() {
    let now = Instant::now();
    let mut sup = Core::new(
        options(
            Mode::Supervise,
            Some(main_opts()),
            config(vec![svc("db")], Vec::new(), Duration::from_secs(30)),
        ),
        now,
    );
    let acts = drain(&mut sup);
    // The services first; COMMAND once they are ready (without `ready`: started).
    assert!(
        matches!(&acts[..], [a] if spawns(a, Owner::Service(sid(0)))),
        "{acts:?}"
    );
    sup.handle_event(
        now,
        Event::Spawned {
            owner: Owner::Service(sid(0)),
            pid: 5,
        },
    );
    let acts = drain(&mut sup);
    assert!(acts.iter().any(|a| spawns(a, Owner::Main)), "{acts:?}");
    sup.handle_event(
        now,
        Event::Spawned {
            owner: Owner::Main,
            pid: 6,
        },
    );
    sup.handle_event(
        now,
        Event::Exited {
            pid: 6,
            exit: Exit::Code(3),
        },
    );
    let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
    assert!(acts.contains(&Action::Kill {
        pid: 5,
        sig: libc::SIGTERM,
        group: true
    }));
    sup.handle_event(
        now,
        Event::Exited {
            pid: 5,
            exit: Exit::Signal(15),
        },
    );
    sup.handle_event(
        now,
        Event::GroupProbed {
            owner: Owner::Service(sid(0)),
            alive: false,
        },
    );
    let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
    assert_eq!(acts.last(), Some(&Action::Exit(3)));
}

#[test]
fn pid1_sweeps_strays_before_exiting() {
    let now = Instant::now();
    let mut opts = options(Mode::Supervise, None, crate::config::Config::empty());
    opts.final_sweep = true;
    let mut sup = Core::new(opts, now);
    sup.handle_event(now, Event::Signal(libc::SIGTERM));
    let acts: Vec<Action> = std::iter::from_fn(|| sup.poll_action()).collect();
    assert!(acts.contains(&Action::KillAll(libc::SIGTERM)));
    sup.handle_timeout(now + SWEEP_GRACE);
    assert_eq!(sup.poll_action(), Some(Action::KillAll(libc::SIGKILL)));
    sup.handle_event(now + SWEEP_GRACE, Event::NoChildren);
    assert_eq!(
        sup.poll_action().map(|a| matches!(a, Action::Log(..))),
        Some(true)
    );
    assert_eq!(sup.poll_action(), Some(Action::Exit(0)));
}

#[test]
fn output_lines_feed_the_tail_and_the_death_line_quotes_the_last() {
    let mut s = svc("web");
    s.diagnose = Some("true".into());
    let mut sim = Sim::new(vec![s]);
    let mut seen = Vec::new();
    let mut line = |name: &str, stderr: bool, l: &[u8]| {
        seen.push(format!(
            "{name}{}: {}",
            if stderr { "[stderr]" } else { "" },
            String::from_utf8_lossy(l)
        ))
    };
    sim.core
        .service_output(sid(0), false, b"hello\nwor", &mut line);
    sim.core
        .service_output(sid(0), true, b"bind: Address already in use\n", &mut line);
    sim.core.service_output(sid(0), false, b"ld", &mut line);
    assert_eq!(
        seen,
        ["web: hello", "web[stderr]: bind: Address already in use"]
    );
    let pid = sim.pid_of(0);
    sim.core.handle_event(
        sim.now,
        Event::Exited {
            pid,
            exit: Exit::Code(1),
        },
    );
    let acts = drain(&mut sim.core);
    // The line without a newline comes out first, then the death line quoting stderr.
    let last = acts
        .iter()
        .position(
            |a| matches!(a, Action::ServiceLine { line, stderr: false, .. } if line == b"world"),
        )
        .expect("the partial line");
    let death = acts
        .iter()
        .position(|a| matches!(a, Action::LogEvent(_, t, _) if t.ends_with("; last output: \"bind: Address already in use\"")))
        .expect("the death line");
    assert!(last < death, "{acts:?}");
    let tail = acts.iter().find_map(|a| match a {
        Action::Spawn { plan, .. } => plan.output_tail.clone(),
        _ => None,
    });
    assert_eq!(
        tail.as_deref(),
        Some(&b"hello\nbind: Address already in use\nworld\n"[..])
    );
    let logs = sim.core.logs(&["web".to_string()], 2).unwrap();
    let texts: Vec<&[u8]> = logs.lines.iter().map(|l| l.text.as_slice()).collect();
    assert_eq!(texts, [&b"bind: Address already in use"[..], b"world"]);
    assert!(logs.lines.iter().all(|l| l.name == "web"));
    assert!(sim.core.logs(&["nope".to_string()], 2).is_err());
}

/// Found by the property tests: after a second TERM, leftovers still in the killed group
/// (a zombie someone else must reap) held the shutdown for ever.
#[test]
fn leftovers_after_a_second_term_get_a_deadline_too() {
    let mut stubborn = svc("s");
    stubborn.stop_timeout = ms(100);
    let mut sim = Sim::new(vec![stubborn]);
    let pid = sim.pid_of(0);
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    sim.run();
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    sim.run();
    sim.core.handle_event(
        sim.now,
        Event::Exited {
            pid,
            exit: Exit::Signal(9),
        },
    );
    // The group probe answers: something is left.
    let probe = drain(&mut sim.core)
        .into_iter()
        .find_map(|a| match a {
            Action::ProbeGroup { owner, .. } => Some(owner),
            _ => None,
        })
        .expect("a probe");
    sim.core.handle_event(
        sim.now,
        Event::GroupProbed {
            owner: probe,
            alive: true,
        },
    );
    sim.run();
    assert!(sim.core.poll_timeout().is_some(), "no deadline: stuck");
    let acts = sim.advance(ms(100));
    assert_eq!(acts.last(), Some(&Action::Exit(0)), "{acts:?}");
}

#[test]
fn a_syslog_tag_naming_a_service_feeds_its_tail() {
    let mut sim = Sim::new(vec![svc("cron"), svc("web")]);
    assert_eq!(sim.core.syslog_line("cron", true, b"one"), Some("cron"));
    // Debian's cron logs as CRON.
    assert_eq!(sim.core.syslog_line("CRON", false, b"two"), Some("cron"));
    assert_eq!(sim.core.syslog_line("postfix", false, b"else"), None);
    let logs = |name: &str| sim.core.logs(&[name.to_string()], 10).unwrap();
    let texts: Vec<Vec<u8>> = logs("cron").lines.into_iter().map(|l| l.text).collect();
    assert_eq!(texts, [b"one".to_vec(), b"two".to_vec()]);
    let web = logs("web");
    assert!(web.lines.is_empty());
    assert_eq!(
        web.notes,
        [
            "web has written nothing; output = \"log\" (a daemon that logs only to syslog needs \
          [supervisor] syslog_listen)"
        ]
    );
}

#[test]
fn many_silent_services_asked_for_all_at_once_get_one_note() {
    let names = ["a", "b", "c", "d", "e", "f"];
    let sim = Sim::new(names.iter().map(|n| svc(n)).collect());
    let all = sim.core.logs(&[], 10).unwrap();
    assert_eq!(
        all.notes,
        ["6 services have written nothing: a, b, c, d, e, f; `upkeep logs NAME` says why for one"]
    );
    // Named, each is explained.
    let named: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    assert_eq!(sim.core.logs(&named, 10).unwrap().notes.len(), 6);
}
