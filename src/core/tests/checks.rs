//! Readiness and health: when a service is ready, what waits for it, when it is unhealthy
//! and what that leads to; all on the simulated clock.

use std::time::Duration;

use super::sim::*;
use crate::config::{Check, Health, Ready, ReadyWay, Service};
use crate::core::*;
use crate::types::{Exit, NetProbe, Notify};

fn tcp() -> Check {
    Check::Net(NetProbe::Tcp("127.0.0.1:5432".parse().unwrap()))
}

/// db, ready once a TCP check passes: tried every 200 ms, given 2 s.
fn db() -> Service {
    let mut db = svc("db");
    db.ready = Some(Box::new(Ready {
        way: ReadyWay::Check(tcp()),
        interval: ms(200),
        timeout: ms(2000),
    }));
    db
}

fn after(name: &str, deps: &[&str]) -> Service {
    let mut s = svc(name);
    s.after = deps.iter().map(|d| d.to_string()).collect();
    s
}

/// web with an HTTP health check: every second, 3 failures make it unhealthy.
fn web_with_health(start_period: Duration) -> Service {
    let mut web = svc("web");
    web.health = Some(Box::new(Health {
        check: Check::Net(NetProbe::Http {
            addr: "127.0.0.1:8080".parse().unwrap(),
            host: "127.0.0.1:8080".into(),
            path: "/healthz".into(),
        }),
        interval: ms(1000),
        timeout: ms(500),
        retries: 3,
        start_period,
    }));
    web
}

/// The seq of the network check `acts` asks for, for service `i`.
fn check_of(acts: &[Action], i: usize) -> Option<u32> {
    acts.iter().find_map(|a| match a {
        Action::Check { id, seq, .. } if *id == sid(i) => Some(*seq),
        _ => None,
    })
}

fn answer(sim: &mut Sim, i: usize, seq: u32, result: Result<(), &str>) -> Vec<Action> {
    let result = result.map_err(str::to_string);
    let id = sid(i);
    sim.core
        .handle_event(sim.now, Event::Checked { id, seq, result });
    sim.run()
}

fn killed_with(acts: &[Action], pid: i32, sig: i32) -> bool {
    acts.contains(&Action::Kill {
        pid,
        sig,
        group: true,
    })
}

#[test]
fn a_dependent_waits_until_its_dependency_is_ready() {
    let mut sim = Sim::new(vec![db(), after("web", &["db"])]);
    // db started and checked at once; web waits, and says for what.
    let rows = sim.status();
    assert_eq!(row(&rows, "db").status, Status::Starting);
    assert!(row(&rows, "db").pid.is_some() && !row(&rows, "db").ready);
    assert_eq!(row(&rows, "web").status, Status::Waiting);
    assert_eq!(row(&rows, "web").note.as_deref(), Some("waiting for db"));
    assert!(!rows.iter().all(StatusRow::healthy), "status must exit 3");

    // The first try fails: the next one comes an interval after the first began.
    let seq = sim.core.checks_under_way(sid(0)).expect("a first try");
    answer(&mut sim, 0, seq, Err("connection refused"));
    let note = row(&sim.status(), "db").note.clone();
    assert_eq!(note.as_deref(), Some("not ready: connection refused"));
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(200)));
    let acts = sim.advance(ms(200));
    let seq = check_of(&acts, 0).expect("a second try");
    assert_eq!(sim.state(1), service::Process::Waiting);

    // It passes: db is ready, web starts in the same breath.
    let acts = answer(&mut sim, 0, seq, Ok(()));
    assert!(
        acts.iter().any(|a| spawns(a, Owner::Service(sid(1)))),
        "{acts:?}"
    );
    assert!(
        sim.log.iter().any(|l| l == "db ready after 0.2s"),
        "{:?}",
        sim.log
    );
    let rows = sim.status();
    assert_eq!(row(&rows, "db").status, Status::Running);
    assert!(row(&rows, "db").ready);
    assert!(rows.iter().all(StatusRow::healthy));
}

#[test]
fn a_service_never_ready_fails_its_start_and_backs_off() {
    let mut sim = Sim::new(vec![db()]);
    let first = sim.pid_of(0);
    // Every try is refused: nothing happens until the ready timeout.
    for _ in 0..9 {
        let seq = sim.core.checks_under_way(sid(0)).expect("a try");
        answer(&mut sim, 0, seq, Err("connection refused"));
        sim.advance(ms(200));
    }
    assert_eq!(
        sim.state(0),
        service::Process::Running {
            pid: first,
            since: sim.now - ms(1800)
        }
    );
    let acts = sim.advance(ms(200));
    assert!(killed_with(&acts, first, libc::SIGTERM), "{acts:?}");
    assert!(
        sim.log.iter().any(|l| l
            == "db not ready after 2s (last try: connection refused); stopping it, then restarting it (restart 1)"),
        "{:?}",
        sim.log
    );
    // The try under way was abandoned with it.
    assert!(acts.contains(&Action::CancelCheck(sid(0))), "{acts:?}");
    sim.reap(first, Exit::Signal(libc::SIGTERM));
    // A quick death: started again after restart_delay (100 ms from its start, long past).
    sim.until_running(0);
    assert_ne!(sim.pid_of(0), first);
    assert_eq!(row(&sim.status(), "db").restarts, 1);
}

#[test]
fn unhealthy_after_exactly_retries_failures_then_restarted_as_a_quick_death() {
    let mut sim = Sim::new(vec![web_with_health(Duration::ZERO)]);
    let pid = sim.pid_of(0);
    // Ready at start (no `ready`); the first health check comes an interval later: until
    // it answers, the health is pending, not healthy.
    assert!(row(&sim.status(), "web").ready);
    assert_eq!(
        row(&sim.status(), "web").health,
        crate::core::HealthState::Pending
    );
    let acts = sim.advance(ms(1000));
    let seq = check_of(&acts, 0).expect("a health check");
    answer(&mut sim, 0, seq, Ok(()));
    assert_eq!(
        row(&sim.status(), "web").health,
        crate::core::HealthState::Healthy
    );
    for n in 1..=3 {
        let acts = sim.advance(ms(1000));
        let seq = check_of(&acts, 0).expect("a health check");
        let acts = answer(&mut sim, 0, seq, Err("HTTP 503 Service Unavailable"));
        let stopped = killed_with(&acts, pid, libc::SIGTERM);
        assert_eq!(stopped, n == 3, "failure {n}: {acts:?}");
        if n < 3 {
            let rows = sim.status();
            assert_eq!(row(&rows, "web").health, crate::core::HealthState::Healthy);
            let want = format!("health check failed {n} of 3: HTTP 503 Service Unavailable");
            assert_eq!(row(&rows, "web").note.as_deref(), Some(want.as_str()));
        }
    }
    assert!(
        sim.log.iter().any(|l| l.starts_with(
            "web unhealthy: HTTP 503 Service Unavailable; stopping it, then restarting it (restart 1)"
        )),
        "{:?}",
        sim.log
    );
    assert_eq!(
        row(&sim.status(), "web").health,
        crate::core::HealthState::Unhealthy
    );
    assert!(!sim.status().iter().all(StatusRow::healthy));
    let note = row(&sim.status(), "web").note.clone();
    assert_eq!(
        note.as_deref(),
        Some("unhealthy: HTTP 503 Service Unavailable")
    );
    sim.reap(pid, Exit::Signal(libc::SIGTERM));
    sim.until_running(0);
    // A new run starts afresh (pending until its first check), with its restart counted.
    let rows = sim.status();
    assert_eq!(row(&rows, "web").health, crate::core::HealthState::Pending);
    assert_eq!(row(&rows, "web").restarts, 1);
}

#[test]
fn failures_within_start_period_do_not_count_and_a_pass_resets_the_count() {
    let mut sim = Sim::new(vec![web_with_health(ms(2500))]);
    let pid = sim.pid_of(0);
    for _ in 0..2 {
        let acts = sim.advance(ms(1000));
        let seq = check_of(&acts, 0).expect("a health check");
        answer(&mut sim, 0, seq, Err("connection refused"));
    }
    // Two failures after the start period, a pass, two more: never three in a row.
    for result in [Err("x"), Err("x"), Ok(()), Err("x"), Err("x")] {
        let acts = sim.advance(ms(1000));
        let seq = check_of(&acts, 0).expect("a health check");
        let acts = answer(&mut sim, 0, seq, result);
        assert!(!killed_with(&acts, pid, libc::SIGTERM), "{acts:?}");
    }
    assert!(
        sim.log
            .iter()
            .any(|l| l == "web: health check passes again")
    );
    assert!(
        sim.log
            .iter()
            .any(|l| l == "web: health check failed (2 of 3 in a row): x")
    );
}

#[test]
fn a_hanging_check_command_is_killed_at_its_timeout_and_counts_as_a_failure() {
    let mut web = svc("web");
    web.health = Some(Box::new(Health {
        check: Check::Command("sleep 100".into()),
        interval: ms(1000),
        timeout: ms(300),
        retries: 1,
        start_period: Duration::ZERO,
    }));
    web.diagnose = Some("ps".into());
    let mut sim = Sim::new(vec![web]);
    let pid = sim.pid_of(0);
    let acts = sim.advance(ms(1000));
    assert!(
        acts.iter().any(|a| spawns(a, Owner::Check(sid(0)))),
        "{acts:?}"
    );
    let check_pid = sim.next_pid;
    let acts = sim.advance(ms(300));
    assert!(killed_with(&acts, check_pid, libc::SIGKILL), "{acts:?}");
    assert!(
        sim.log
            .iter()
            .any(|l| l.starts_with("web unhealthy: timed out after 0.3s")),
        "{:?}",
        sim.log
    );
    // The diagnostic runs while the service still does; then the stop.
    assert!(
        acts.iter().any(|a| spawns(a, Owner::Diagnose(sid(0)))),
        "{acts:?}"
    );
    assert!(!killed_with(&acts, pid, libc::SIGTERM));
    assert_eq!(row(&sim.status(), "web").status, Status::Diagnosing);
    // The killed check's death is no news.
    sim.reap(check_pid, Exit::Signal(libc::SIGKILL));
    let diag = sim.next_pid;
    let acts = sim.reap(diag, Exit::Code(0));
    assert!(killed_with(&acts, pid, libc::SIGTERM), "{acts:?}");
}

#[test]
fn command_waits_for_readiness_and_a_service_that_gives_up_first_ends_the_run() {
    let mut bad = db();
    bad.give_up_after = 1;
    let mut sim = Sim::with(options(
        Mode::Supervise,
        Some(main_opts()),
        config(vec![bad], Vec::new(), Duration::from_secs(30)),
    ));
    let pid = sim.pid_of(0);
    let acts = sim.advance(ms(2000));
    assert!(!acts.iter().any(|a| spawns(a, Owner::Main)));
    let acts = sim.reap(pid, Exit::Signal(libc::SIGTERM));
    assert!(!acts.iter().any(|a| spawns(a, Owner::Main)), "{acts:?}");
    assert_eq!(exit_of(&acts), Some(1), "{acts:?}");
    assert!(
        sim.log
            .iter()
            .any(|l| l
                == "db is failed and was never ready; stopping everything without running app"),
        "{:?}",
        sim.log
    );
}

#[test]
fn command_starts_once_every_service_is_ready() {
    let mut sim = Sim::with(options(
        Mode::Supervise,
        Some(main_opts()),
        config(
            vec![db(), svc("cache")],
            Vec::new(),
            Duration::from_secs(30),
        ),
    ));
    let seq = sim.core.checks_under_way(sid(0)).expect("a try");
    let acts = answer(&mut sim, 0, seq, Ok(()));
    assert!(acts.iter().any(|a| spawns(a, Owner::Main)), "{acts:?}");
}

#[test]
fn a_dependency_that_dies_after_being_ready_leaves_its_dependents_running() {
    let mut sim = Sim::new(vec![db(), after("web", &["db"])]);
    let seq = sim.core.checks_under_way(sid(0)).expect("a try");
    answer(&mut sim, 0, seq, Ok(()));
    let web = sim.pid_of(1);
    let acts = sim.kill(0, Exit::Code(1));
    assert!(
        !acts
            .iter()
            .any(|a| matches!(a, Action::Kill { pid, .. } if *pid == web))
    );
    assert!(
        sim.log
            .iter()
            .any(|l| l == "db is not ready any more; what started after it keeps running: web"),
        "{:?}",
        sim.log
    );
    assert_eq!(sim.pid_of(1), web);
}

#[test]
fn notify_makes_it_ready_and_its_status_text_is_shown() {
    let mut db = svc("db");
    db.ready = Some(Box::new(Ready {
        way: ReadyWay::Notify(Notify::Systemd),
        interval: ms(200),
        timeout: ms(5000),
    }));
    let mut sim = Sim::new(vec![db, after("web", &["db"])]);
    // No tries for a notifying service: only the ready timeout is ahead.
    assert_eq!(sim.core.checks_under_way(sid(0)), None);
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(5000)));
    let status = Some("loading 40%".to_string());
    sim.core.handle_event(
        sim.now,
        Event::Notified {
            id: sid(0),
            ready: false,
            status,
            alive: false,
        },
    );
    sim.run();
    assert_eq!(
        row(&sim.status(), "db").note.as_deref(),
        Some("loading 40%")
    );
    assert_eq!(sim.state(1), service::Process::Waiting);
    sim.core.handle_event(
        sim.now,
        Event::Notified {
            id: sid(0),
            ready: true,
            status: None,
            alive: false,
        },
    );
    let acts = sim.run();
    assert!(
        acts.iter().any(|a| spawns(a, Owner::Service(sid(1)))),
        "{acts:?}"
    );
}

#[test]
fn reload_adding_a_health_check_applies_it_without_a_restart() {
    let mut sim = Sim::new(vec![svc("web")]);
    let pid = sim.pid_of(0);
    let report = sim
        .core
        .reload(
            sim.now,
            config(
                vec![web_with_health(Duration::ZERO)],
                Vec::new(),
                Duration::from_secs(30),
            ),
        )
        .unwrap();
    assert_eq!(
        report.changes,
        vec!["web: checks changed; applied in place"]
    );
    let acts = sim.run();
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Kill { .. })),
        "{acts:?}"
    );
    assert_eq!(sim.pid_of(0), pid);
    let acts = sim.advance(ms(1000));
    assert!(check_of(&acts, 0).is_some(), "{acts:?}");
}

/// What `status` notes follows the service's state: a crash loop shows why the last run
/// ended, not the readiness failure of a run before it; a stop clears the note.
#[test]
fn the_note_tells_the_last_exit_in_backoff_and_nothing_once_stopped() {
    let mut sim = Sim::new(vec![db()]);
    let acts = sim.advance(ms(0));
    let seq = check_of(&acts, 0).or_else(|| sim.core.checks_under_way(sid(0)));
    answer(&mut sim, 0, seq.expect("a try"), Err("connection refused"));
    assert_eq!(
        row(&sim.status(), "db").note.as_deref(),
        Some("not ready: connection refused")
    );
    sim.now += ms(50);
    sim.kill(0, Exit::Code(1));
    assert_eq!(row(&sim.status(), "db").status, Status::Backoff);
    assert_eq!(
        row(&sim.status(), "db").note.as_deref(),
        Some("last run exited with status 1")
    );
    sim.until_running(0);
    drop(sim.core.stop(sim.now, &["db".to_string()]));
    sim.run();
    sim.die("db", Exit::Signal(libc::SIGTERM));
    assert_eq!(row(&sim.status(), "db").status, Status::Stopped);
    assert_eq!(row(&sim.status(), "db").note, None);
}

/// `watchdog`: once ready, WATCHDOG=1 must come at least that often; a miss makes the
/// service unhealthy at once, handled as any unhealthy service (stop, restart).
#[test]
fn a_missed_watchdog_ping_makes_the_service_unhealthy() {
    let mut web = svc("web");
    web.ready = Some(Box::new(Ready {
        way: ReadyWay::Notify(Notify::Systemd),
        interval: ms(200),
        timeout: ms(60_000),
    }));
    web.watchdog = Some(ms(1000));
    let mut sim = Sim::new(vec![web]);
    let pid = sim.pid_of(0);
    let notify = |sim: &mut Sim, ready: bool, alive: bool| {
        let event = Event::Notified {
            id: sid(0),
            ready,
            status: None,
            alive,
        };
        sim.core.handle_event(sim.now, event);
        sim.run()
    };
    notify(&mut sim, true, false);
    assert!(row(&sim.status(), "web").ready);
    // Pings within the period keep it healthy.
    for _ in 0..3 {
        sim.advance(ms(900));
        notify(&mut sim, false, true);
    }
    assert!(
        sim.log.iter().all(|l| !l.contains("unhealthy")),
        "{:#?}",
        sim.log
    );
    // Then none: at the period's end it is unhealthy and stopped.
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + ms(1000)));
    let acts = sim.advance(ms(1000));
    assert!(killed_with(&acts, pid, libc::SIGTERM), "{acts:?}");
    assert!(
        sim.log
            .iter()
            .any(|l| l.starts_with("web unhealthy: no WATCHDOG=1 for 1s; stopping it")),
        "{:#?}",
        sim.log
    );
}
