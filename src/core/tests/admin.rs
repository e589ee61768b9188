//! Requests of the control socket, and reload.

use std::time::Duration;

use super::sim::*;
use crate::core::*;
use crate::types::Exit;

#[test]
fn stop_keeps_a_service_down_until_start() {
    let mut sim = Sim::new(vec![svc("web"), svc("db")]);
    let web = sim.pid_named("web").unwrap();
    sim.core.stop(sim.now, &names(&["web"])).unwrap();
    let acts = sim.run();
    assert!(acts.contains(&Action::Kill {
        pid: web,
        sig: libc::SIGTERM,
        group: true
    }));
    assert!(!sim.core.settled(&names(&["web"])));
    sim.die("web", Exit::Signal(libc::SIGTERM));
    assert!(sim.core.settled(&names(&["web"])));
    let rows = sim.status();
    assert_eq!(row(&rows, "web").status.as_str(), "stopped");
    assert!(
        row(&rows, "web").healthy(),
        "a requested stop is not a fault"
    );
    assert_eq!(row(&rows, "db").status.as_str(), "running");
    // Time passes: no restart.
    sim.advance(Duration::from_secs(3600));
    assert_eq!(row(&sim.status(), "web").status.as_str(), "stopped");
    sim.core.start(sim.now, &names(&["web"])).unwrap();
    sim.run();
    let again = sim.pid_named("web").unwrap();
    assert_ne!(again, web);
    assert_eq!(row(&sim.status(), "web").status.as_str(), "running");
}

#[test]
fn restart_is_immediate_and_start_clears_failed() {
    let mut flaky = svc("flaky");
    flaky.give_up_after = 1;
    let mut sim = Sim::new(vec![svc("web"), flaky]);
    let web = sim.pid_named("web").unwrap();
    sim.core.restart(sim.now, &names(&["web"])).unwrap();
    sim.run();
    sim.die("web", Exit::Signal(libc::SIGTERM));
    let new = sim.pid_named("web").unwrap();
    assert_ne!(new, web);
    assert!(sim.core.settled(&names(&["web"])));
    sim.die("flaky", Exit::Code(1));
    let rows = sim.status();
    assert_eq!(row(&rows, "flaky").status.as_str(), "failed");
    assert!(!row(&rows, "flaky").healthy());
    assert_eq!(row(&rows, "flaky").last_exit, Some(Exit::Code(1)));
    sim.core.start(sim.now, &names(&["flaky"])).unwrap();
    sim.run();
    assert_eq!(row(&sim.status(), "flaky").status.as_str(), "running");
}

#[test]
fn stopping_a_critical_service_does_not_stop_everything() {
    let mut db = svc("db");
    db.critical = true;
    let mut sim = Sim::new(vec![db, svc("web")]);
    sim.core.stop(sim.now, &names(&["db"])).unwrap();
    sim.run();
    sim.die("db", Exit::Signal(libc::SIGTERM));
    assert!(!sim.core.is_shutting_down());
    assert_eq!(row(&sim.status(), "web").status.as_str(), "running");
}

#[test]
fn bad_requests_change_nothing() {
    let mut sim = Sim::new(vec![svc("web"), svc("db")]);
    sim.core.stop(sim.now, &names(&["db"])).unwrap();
    sim.run();
    sim.die("db", Exit::Signal(libc::SIGTERM));
    let before = sim.status();
    let err = sim
        .core
        .stop(sim.now, &names(&["web", "wbe2x"]))
        .unwrap_err();
    assert!(err.contains("wbe2x"), "{err}");
    assert!(
        sim.core
            .stop(sim.now, &names(&["web", "weeb"]))
            .unwrap_err()
            .contains("did you mean \"web\"")
    );
    assert!(sim.core.start(sim.now, &[]).is_err());
    // db is down: signalling both refuses, and web gets nothing either.
    let err = sim
        .core
        .signal_services(libc::SIGHUP, &names(&["web", "db"]))
        .unwrap_err();
    assert!(err.contains("db is not running (stopped)"), "{err}");
    assert!(sim.run().is_empty());
    assert_eq!(sim.status(), before);
    assert!(sim.core.status(sim.now, &names(&["nope"])).is_err());
}

#[test]
fn signal_goes_to_the_services_process() {
    let mut sim = Sim::new(vec![svc("web")]);
    let web = sim.pid_named("web").unwrap();
    sim.core
        .signal_services(libc::SIGHUP, &names(&["web"]))
        .unwrap();
    let acts = sim.run();
    assert!(acts.contains(&Action::Kill {
        pid: web,
        sig: libc::SIGHUP,
        group: false
    }));
}

/// keep as it was, change with a new command, drop gone, new added.
fn new_config() -> crate::config::Config {
    let mut changed = svc("change");
    changed.command = vec!["y".into()];
    config(
        vec![svc("keep"), changed, svc("new")],
        Vec::new(),
        Duration::from_secs(30),
    )
}

#[test]
fn reload_touches_only_what_changed() {
    let mut sim = Sim::new(vec![svc("keep"), svc("change"), svc("drop")]);
    let keep = sim.pid_named("keep").unwrap();
    let change = sim.pid_named("change").unwrap();
    let drop = sim.pid_named("drop").unwrap();
    let summary = sim.core.reload(sim.now, new_config()).unwrap().changes;
    assert_eq!(
        summary,
        names(&[
            "change: changed; restarting it",
            "new: added",
            "drop: removed"
        ])
    );
    let acts = sim.run();
    assert!(acts.contains(&Action::Kill {
        pid: change,
        sig: libc::SIGTERM,
        group: true
    }));
    assert!(acts.contains(&Action::Kill {
        pid: drop,
        sig: libc::SIGTERM,
        group: true
    }));
    let rows = sim.status();
    let listed: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(listed, ["keep", "change", "new"]);
    assert_eq!(row(&rows, "keep").pid, Some(keep));
    assert_eq!(row(&rows, "new").status.as_str(), "running");
    // The new definition waits for the old run to be gone.
    assert_eq!(row(&rows, "change").status.as_str(), "waiting");
    assert!(!sim.core.settled(&names(&["change"])));
    sim.reap(change, Exit::Signal(15));
    let started = sim.pid_named("change").unwrap();
    assert_ne!(started, change);
    let id = sim.core.live_named("change").unwrap();
    assert_eq!(sim.core.services[&id].cfg.command, ["y"]);
    sim.reap(drop, Exit::Signal(15));
    // A second reload with the same config changes nothing and forgets the retired.
    let summary = sim.core.reload(sim.now, new_config()).unwrap().changes;
    assert!(summary.is_empty());
    assert!(sim.run().iter().all(|a| matches!(
        a,
        Action::Log(..) | Action::LogEvent(..) | Action::ReopenOutputs
    )));
    assert_eq!(sim.core.services.len(), 3);
}

#[test]
fn reload_of_watches_keeps_their_state() {
    let (mut sup, t0) = watcher(watch_cfg("true", None));
    sup.stop(t0, &names(&["apache"])).unwrap();
    actions(&mut sup);
    let mut other = watch_cfg("true", None);
    other.name = "other".into();
    let summary = sup
        .reload(
            t0,
            config(Vec::new(), vec![watch_cfg("true", None), other], ms(1000)),
        )
        .unwrap()
        .changes;
    assert_eq!(summary, names(&["other: added (watch)"]));
    let rows = sup.status(t0, &[]).unwrap();
    assert_eq!(row(&rows, "apache").status.as_str(), "paused");
    assert_eq!(row(&rows, "other").status.as_str(), "unknown");
    assert_eq!(row(&rows, "other").kind, Kind::Watch);
}

#[test]
fn shutdown_request_stops_in_order_and_exits_zero() {
    let mut db = svc("db");
    db.critical = true;
    let mut web = svc("web");
    web.after = vec!["db".into()];
    let mut sim = Sim::new(vec![db, web]);
    sim.core.shutdown(sim.now);
    sim.run();
    assert!(sim.core.start(sim.now, &names(&["web"])).is_err());
    assert_eq!(row(&sim.status(), "db").status.as_str(), "running");
    sim.die("web", Exit::Signal(15));
    sim.die("db", Exit::Signal(15));
    assert!(
        sim.log.iter().any(|l| l == "exiting with status 0"),
        "{:?}",
        sim.log
    );
}

#[test]
fn reload_applies_with_actions_pending() {
    let mut sim = Sim::new(vec![svc("keep"), svc("change"), svc("drop")]);
    let change = sim.pid_named("change").unwrap();
    // A stop's actions are still queued when the reload comes (one wake-up brought both).
    sim.core.stop(sim.now, &names(&["keep"])).unwrap();
    let report = sim.core.reload(sim.now, new_config()).unwrap();
    assert_eq!(report.changes.len(), 3, "{report:?}");
    sim.run();
    sim.die("keep", Exit::Signal(15));
    sim.reap(change, Exit::Signal(15));
    let rows = sim.status();
    assert_eq!(row(&rows, "keep").status, Status::Stopped);
    assert_eq!(row(&rows, "change").status, Status::Running);
    assert_eq!(row(&rows, "new").status, Status::Running);
    assert!(
        sim.log.iter().all(|l| !l.starts_with("bug:")),
        "{:?}",
        sim.log
    );
}

#[test]
fn ids_are_never_reused() {
    let mut sim = Sim::new(vec![svc("a")]);
    let first = sim.core.live_named("a").unwrap();
    let mut changed = svc("a");
    changed.command = vec!["y".into()];
    sim.core
        .reload(sim.now, config(vec![changed], Vec::new(), ms(1000)))
        .unwrap();
    let second = sim.core.live_named("a").unwrap();
    assert!(second > first);
    sim.core
        .reload(sim.now, config(Vec::new(), Vec::new(), ms(1000)))
        .unwrap();
    sim.core
        .reload(sim.now, config(vec![svc("a")], Vec::new(), ms(1000)))
        .unwrap();
    assert!(sim.core.live_named("a").unwrap() > second);
}

#[test]
fn status_names_and_health_are_one_enum() {
    for s in Status::ALL {
        let parsed = Status::parse(s.as_str()).unwrap();
        assert_eq!(parsed.as_str(), s.as_str());
    }
    assert!(Status::Done.healthy() && !Status::Down.healthy());
    assert_eq!(Status::parse("down"), Some(Status::Down));
}

#[test]
fn reload_reports_a_new_log_level_for_the_runtime_to_apply_at_once() {
    let mut sim = Sim::new(vec![svc("a")]);
    let mut cfg = config(vec![svc("a")], Vec::new(), Duration::from_secs(30));
    let same = sim.core.reload(sim.now, cfg.clone()).unwrap();
    assert_eq!(same.log_level, None);
    cfg.settings.log_level = Some(log::LevelFilter::Debug);
    let changed = sim.core.reload(sim.now, cfg).unwrap();
    assert_eq!(changed.log_level, Some(Some(log::LevelFilter::Debug)));
}
