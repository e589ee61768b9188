//! Oneshots and scheduled services: order, failure, success codes, run_timeout, ticks,
//! skipped ticks, the wall clock, start on request, enabled = false, reload.

use std::path::Path;
use std::time::Duration;

use super::sim::*;
use crate::config::{self, Config, Service};
use crate::core::service::Process as State;
use crate::core::*;
use crate::types::Exit;

fn services(toml: &str) -> Vec<Service> {
    let accounts = config::accounts::Accounts::default();
    config::parse(Path::new("t"), toml, &accounts)
        .unwrap()
        .services
}

const MIGRATE: &str = "[service.migrate]\ncommand = [\"m\"]\ntype = \"oneshot\"\n\
                       [service.app]\ncommand = [\"a\"]\nafter = [\"migrate\"]\n";

fn state_named(sim: &Sim, name: &str) -> Status {
    row(&sim.status(), name).status
}

#[test]
fn dependents_of_a_oneshot_start_once_it_is_done() {
    let mut sim = Sim::new(services(MIGRATE));
    assert!(matches!(sim.state(0), State::Running { .. }));
    assert_eq!(sim.state(1), State::Waiting);
    assert_eq!(row(&sim.status(), "migrate").kind, Kind::Oneshot);
    assert_eq!(state_named(&sim, "migrate"), Status::Running);
    sim.kill(0, Exit::Code(0));
    assert_eq!(state_named(&sim, "migrate"), Status::Done);
    assert!(row(&sim.status(), "migrate").healthy());
    assert!(matches!(sim.state(1), State::Running { .. }));
    assert!(
        sim.log
            .iter()
            .any(|l| l.contains("migrate exited with status 0") && l.ends_with("; done"))
    );
}

#[test]
fn a_failed_oneshot_never_lets_its_dependents_start() {
    let mut sim = Sim::new(services(MIGRATE));
    sim.kill(0, Exit::Code(1));
    assert_eq!(sim.state(0), State::Failed);
    assert_eq!(sim.state(1), State::Waiting);
    let rows = sim.status();
    assert_eq!(row(&rows, "app").note.as_deref(), Some("migrate failed"));
    assert!(!row(&rows, "migrate").healthy());
    assert_eq!(sim.core.poll_timeout(), None);
    // Started again and done: the dependent goes on.
    sim.core.start(sim.now, &names(&["migrate"])).unwrap();
    sim.run();
    assert_eq!(sim.state(1), State::Waiting);
    sim.kill(0, Exit::Code(0));
    assert!(matches!(sim.state(1), State::Running { .. }));
}

#[test]
fn command_waits_for_oneshots_and_is_not_run_after_a_failure() {
    let opts = |svcs| {
        options(
            Mode::Supervise,
            Some(main_opts()),
            config(svcs, Vec::new(), Duration::from_secs(30)),
        )
    };
    let mut sim = Sim::with(opts(services(MIGRATE)));
    assert!(row(&sim.status(), "app").pid.is_none());
    let acts = sim.kill(0, Exit::Code(0));
    // app starts, and once it is ready (at once), COMMAND.
    assert!(acts.iter().any(|a| spawns(a, Owner::Main)), "{acts:?}");

    let mut sim = Sim::with(opts(services(MIGRATE)));
    let acts = sim.kill(0, Exit::Code(2));
    assert!(!acts.iter().any(|a| spawns(a, Owner::Main)));
    assert!(
        sim.log
            .iter()
            .any(|l| l.contains("stopping everything without running app"))
    );
    assert_eq!(exit_of(&acts), Some(1));
}

#[test]
fn success_exit_codes_are_successes() {
    let toml = "[service.m]\ncommand = [\"m\"]\ntype = \"oneshot\"\nsuccess_exit_codes = [0, 3]\n\
                [service.l]\ncommand = [\"l\"]\nrestart = \"on-failure\"\nsuccess_exit_codes = [3]\n";
    let mut sim = Sim::new(services(toml));
    sim.kill(0, Exit::Code(3));
    assert_eq!(state_named(&sim, "m"), Status::Done);
    sim.kill(1, Exit::Code(3));
    assert_eq!(state_named(&sim, "l"), Status::Done);
    sim.core.start(sim.now, &names(&["l"])).unwrap();
    sim.run();
    // 0 is not in its list: a failure, restarted.
    sim.kill(1, Exit::Code(0));
    assert_eq!(sim.until_running(1), ms(100));
}

#[test]
fn on_failure_retries_then_fails_and_a_critical_oneshot_ends_upkeep() {
    let toml = "[service.m]\ncommand = [\"m\"]\ntype = \"oneshot\"\nrestart = \"on-failure\"\n\
                give_up_after = 2\ncritical = true\nstable_after = \"1s\"\n";
    let mut sim = Sim::new(services(toml));
    sim.advance(Duration::from_secs(5));
    // A long run that fails still counts towards give_up_after.
    sim.kill(0, Exit::Code(4));
    sim.until_running(0);
    sim.advance(Duration::from_secs(5));
    let acts = sim.kill(0, Exit::Code(4));
    assert_eq!(sim.state(0), State::Failed);
    assert!(sim.log.iter().any(|l| l.contains("m is critical")));
    assert!(sim.core.is_shutting_down());
    assert_eq!(exit_of(&acts), Some(4));
}

#[test]
fn a_critical_oneshot_that_succeeds_changes_nothing() {
    let toml = "[service.m]\ncommand = [\"m\"]\ntype = \"oneshot\"\ncritical = true\n";
    let mut sim = Sim::new(services(toml));
    sim.kill(0, Exit::Code(0));
    assert!(!sim.core.is_shutting_down());
}

#[test]
fn run_timeout_stops_the_run_and_fails_it() {
    let toml = "[service.m]\ncommand = [\"m\"]\ntype = \"oneshot\"\nrun_timeout = \"5s\"\n";
    let mut sim = Sim::new(services(toml));
    let pid = sim.pid_of(0);
    assert_eq!(
        sim.core.poll_timeout(),
        Some(sim.now + Duration::from_secs(5))
    );
    let acts = sim.advance(Duration::from_secs(5));
    assert!(acts.iter().any(
        |a| matches!(a, Action::Kill { pid: p, sig: libc::SIGTERM, group: true } if *p == pid)
    ));
    assert!(
        sim.log
            .iter()
            .any(|l| l.contains("m still running after 5s (run_timeout)"))
    );
    // It ends on its TERM, even with status 0: the run failed.
    sim.reap(pid, Exit::Code(0));
    assert_eq!(sim.state(0), State::Failed);
}

#[test]
fn every_ticks_from_the_start_and_skips_a_tick_while_a_run_goes() {
    let toml = "[service.b]\ncommand = [\"b\"]\nschedule = \"@every 10s\"\n";
    let mut sim = Sim::new(services(toml));
    // No run at start-up.
    assert_eq!(sim.state(0), State::Scheduled);
    assert_eq!(row(&sim.status(), "b").kind, Kind::Scheduled);
    assert_eq!(state_named(&sim, "b"), Status::Scheduled);
    let t0 = sim.now;
    assert_eq!(sim.core.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    sim.advance(Duration::from_secs(10));
    assert!(matches!(sim.state(0), State::Running { .. }));
    // The next tick comes while the run goes: skipped, logged.
    sim.advance(Duration::from_secs(10));
    assert!(
        sim.log
            .iter()
            .any(|l| l.contains("b: run skipped: the previous run is still going"))
    );
    assert_eq!(sim.core.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    sim.kill(0, Exit::Code(0));
    assert_eq!(sim.state(0), State::Scheduled);
    assert!(
        sim.log
            .last()
            .unwrap()
            .contains("b exited with status 0 after 10s; next run 2026-12-05T14:00:30Z"),
        "{:?}",
        sim.log.last()
    );
    assert_eq!(
        row(&sim.status(), "b").note.as_deref(),
        Some("next run 2026-12-05T14:00:30Z")
    );
}

#[test]
fn a_tick_while_a_oneshot_it_comes_after_runs_again_is_skipped() {
    let toml = "[service.migrate]\ncommand = [\"m\"]\ntype = \"oneshot\"\n\
                [service.report]\ncommand = [\"r\"]\nafter = [\"migrate\"]\n\
                schedule = \"@every 10s\"\n";
    let mut sim = Sim::new(services(toml));
    sim.kill(0, Exit::Code(0));
    assert_eq!(sim.state(1), State::Scheduled);
    // migrate runs again by hand: report's tick must not run against it meanwhile.
    sim.core.start(sim.now, &names(&["migrate"])).unwrap();
    sim.run();
    assert!(matches!(sim.state(0), State::Running { .. }));
    let acts = sim.advance(Duration::from_secs(10));
    assert!(
        !acts.iter().any(|a| spawns(a, Owner::Service(sid(1)))),
        "{acts:?}"
    );
    assert_eq!(sim.state(1), State::Scheduled);
    assert!(
        sim.log.iter().any(|l| l
            .contains("report: run skipped: waiting for migrate; next run 2026-12-05T14:00:20Z")),
        "{:?}",
        sim.log
    );
    // Done again: the next tick runs.
    sim.kill(0, Exit::Code(0));
    let acts = sim.advance(Duration::from_secs(10));
    assert!(
        acts.iter().any(|a| spawns(a, Owner::Service(sid(1)))),
        "{acts:?}"
    );
}

#[test]
fn a_failed_scheduled_run_is_unhealthy_until_one_succeeds() {
    let toml = "[service.b]\ncommand = [\"b\"]\nschedule = \"@every 10s\"\ndiagnose = \"ps\"\n";
    let mut sim = Sim::new(services(toml));
    sim.advance(Duration::from_secs(10));
    let acts = sim.kill(0, Exit::Code(1));
    // A failure runs the diagnostic.
    assert!(acts.iter().any(|a| spawns(a, Owner::Diagnose(sid(0)))));
    let pid = sim.next_pid;
    sim.reap(pid, Exit::Code(0));
    assert_eq!(sim.state(0), State::Scheduled);
    assert!(!row(&sim.status(), "b").healthy());
    sim.advance(Duration::from_secs(10));
    sim.kill(0, Exit::Code(0));
    assert!(row(&sim.status(), "b").healthy());
}

#[test]
fn cron_ticks_follow_the_wall_clock() {
    // The sim's wall clock starts at 2026-12-05T14:00:00Z.
    let toml = "[service.b]\ncommand = [\"b\"]\nschedule = \"30 15 * * *\"\n";
    let mut sim = Sim::new(services(toml));
    let t0 = sim.now;
    let at = t0 + Duration::from_secs(5400);
    assert_eq!(sim.core.poll_timeout(), Some(at));
    assert_eq!(row(&sim.status(), "b").next_run, Some(1_796_484_600));
    // The wall clock is set back an hour: the tick moves with it.
    sim.core.set_wall_clock(t0, 1_796_479_200_000 - 3_600_000);
    assert_eq!(
        sim.core.poll_timeout(),
        Some(at + Duration::from_secs(3600))
    );
    sim.core.set_wall_clock(t0, 1_796_479_200_000);
    sim.advance(Duration::from_secs(5400));
    assert!(matches!(sim.state(0), State::Running { .. }));
    sim.kill(0, Exit::Code(0));
    assert!(
        sim.log
            .last()
            .unwrap()
            .ends_with("next run 2026-12-06T15:30:00Z")
    );
}

#[test]
fn start_runs_a_scheduled_service_now_and_stop_ends_its_ticks() {
    let toml = "[service.b]\ncommand = [\"b\"]\nschedule = \"@daily\"\n";
    let mut sim = Sim::new(services(toml));
    sim.core.start(sim.now, &names(&["b"])).unwrap();
    sim.run();
    assert!(matches!(sim.state(0), State::Running { .. }));
    sim.kill(0, Exit::Code(0));
    assert_eq!(sim.state(0), State::Scheduled);
    sim.core.stop(sim.now, &names(&["b"])).unwrap();
    sim.run();
    assert_eq!(state_named(&sim, "b"), Status::Stopped);
    // Stopped: no tick wakes upkeep.
    assert_eq!(sim.core.poll_timeout(), None);
}

#[test]
fn a_disabled_service_is_stopped_and_nothing_waits_for_it() {
    let toml = "[service.m]\ncommand = [\"m\"]\ntype = \"oneshot\"\nenabled = false\n\
                [service.app]\ncommand = [\"a\"]\nafter = [\"m\"]\n";
    let mut sim = Sim::new(services(toml));
    assert_eq!(state_named(&sim, "m"), Status::Stopped);
    assert!(matches!(sim.state(1), State::Running { .. }));
    sim.core.start(sim.now, &names(&["m"])).unwrap();
    sim.run();
    assert!(matches!(sim.state(0), State::Running { .. }));
}

#[test]
fn reload_never_reruns_a_done_oneshot_but_reruns_a_changed_failed_one() {
    let mut sim = Sim::new(services(MIGRATE));
    sim.kill(0, Exit::Code(0));
    let changed = MIGRATE.replace("[\"m\"]", "[\"m\", \"--v2\"]");
    let mut cfg = Config::empty();
    cfg.services = services(&changed);
    let report = sim.core.reload(sim.now, cfg.clone()).unwrap();
    sim.run();
    assert!(
        report
            .changes
            .iter()
            .any(|c| c == "migrate: changed (done; not run again)")
    );
    assert_eq!(state_named(&sim, "migrate"), Status::Done);

    let mut sim = Sim::new(services(MIGRATE));
    sim.kill(0, Exit::Code(1));
    sim.core.reload(sim.now, cfg).unwrap();
    let acts = sim.run();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Spawn { plan, .. } if plan.argv.len() == 2))
    );
}

#[test]
fn a_skipped_local_time_runs_once_at_the_dst_change_on_the_simulated_clock() {
    use crate::schedule::{Cron, Schedule, Spec, zone::from_rule};
    let mut b = svc("b");
    b.restart = crate::config::Restart::Never;
    b.schedule = Some(Box::new(Schedule {
        text: "30 2 * * *".into(),
        spec: Spec::Cron(Cron::parse("30 2 * * *").unwrap()),
        zone: from_rule("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"),
    }));
    let mut opts = options(
        Mode::Supervise,
        None,
        config(vec![b], Vec::new(), ms(30_000)),
    );
    // 2026-03-28T12:00:00Z; Berlin skips 02:00-03:00 local on the 29th (01:00 UTC).
    opts.wall_ms = 1_774_699_200_000;
    let mut sim = Sim::with(opts);
    let change = Duration::from_secs(13 * 3600);
    assert_eq!(sim.core.poll_timeout(), Some(sim.now + change));
    sim.advance(change);
    assert!(matches!(sim.state(0), State::Running { .. }));
    sim.kill(0, Exit::Code(0));
    // Once: the next run is the next day's 02:30 CEST, 00:30 UTC.
    assert!(
        sim.log
            .last()
            .unwrap()
            .ends_with("next run 2026-03-30T00:30:00Z"),
        "{:?}",
        sim.log.last()
    );
}
