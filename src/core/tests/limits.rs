//! "Limits and alerts" on the simulated clock: memory_max sampled in one shared pass and
//! handled as unhealthy, on_failure on give-up, unhealthiness and failed job runs (and not
//! on an ordinary restart), one at a time, timed out by diagnose_timeout; the plan carries
//! the limits.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::sim::*;
use crate::config::{self, Service};
use crate::core::service::Process as State;
use crate::core::*;
use crate::types::{Exit, SpawnPlan};

fn services(toml: &str) -> Vec<Service> {
    let accounts = config::accounts::Accounts::default();
    config::parse(Path::new("t"), toml, &accounts)
        .unwrap()
        .services
}

const MIB: u64 = 1 << 20;

/// The plans of the spawns for `owner` among `acts`.
fn plans(acts: &[Action], owner: Owner) -> Vec<&SpawnPlan> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Spawn { owner: o, plan } if *o == owner => Some(&**plan),
            _ => None,
        })
        .collect()
}

fn env(plan: &SpawnPlan, key: &str) -> Option<String> {
    let key = OsString::from(key);
    let value = plan.env.iter().find(|(k, _)| *k == key)?;
    Some(value.1.to_string_lossy().into_owned())
}

fn samplings(acts: &[Action]) -> Vec<Vec<(ServiceId, i32, u64)>> {
    acts.iter()
        .filter_map(|a| match a {
            Action::SampleMemory(g) => Some(g.clone()),
            _ => None,
        })
        .collect()
}

fn sampled(sim: &mut Sim, groups: Vec<(ServiceId, i32, u64)>) -> Vec<Action> {
    sim.core.handle_event(sim.now, Event::MemorySampled(groups));
    sim.run()
}

const TWO: &str = "[service.a]\ncommand = [\"a\"]\nmemory_max = \"100MiB\"\n\
                   diagnose = \"ps\"\non_failure = \"alert\"\n\
                   [service.b]\ncommand = [\"b\"]\nmemory_max = \"1GiB\"\n\
                   [service.c]\ncommand = [\"c\"]\n";

#[test]
fn memory_is_sampled_every_5s_in_one_pass_for_every_service_with_memory_max() {
    let mut sim = Sim::new(services(TWO));
    let (a, b) = (sim.pid_of(0), sim.pid_of(1));
    assert_eq!(
        sim.core.poll_timeout(),
        Some(sim.now + Duration::from_secs(5))
    );
    assert!(samplings(&sim.advance(Duration::from_millis(4999))).is_empty());
    let acts = sim.advance(Duration::from_millis(1));
    // One action for both (c has no memory_max): the runtime reads the table once.
    assert_eq!(samplings(&acts), vec![vec![(sid(0), a, 0), (sid(1), b, 0)]]);
    let rows = sim.status();
    assert_eq!(row(&rows, "a").rss_bytes, Some(None));
    assert_eq!(row(&rows, "c").rss_bytes, None);
    let acts = sampled(&mut sim, vec![(sid(0), a, 50 * MIB), (sid(1), b, 2 * MIB)]);
    assert!(acts.is_empty(), "{acts:?}");
    assert_eq!(row(&sim.status(), "a").rss_bytes, Some(Some(50 * MIB)));
    assert_eq!(samplings(&sim.advance(Duration::from_secs(5))).len(), 1);
}

#[test]
fn over_memory_max_the_run_is_unhealthy_diagnosed_stopped_and_restarted() {
    let mut sim = Sim::new(services(TWO));
    let a = sim.pid_of(0);
    sim.advance(Duration::from_secs(5));
    let acts = sampled(&mut sim, vec![(sid(0), a, 150 * MIB)]);
    let line = "a unhealthy: RSS 150MiB over memory_max 100MiB; stopping it, then restarting";
    assert!(sim.log.iter().any(|l| l.starts_with(line)), "{:?}", sim.log);
    let diagnose = plans(&acts, Owner::Diagnose(sid(0)));
    let why = "RSS 150MiB over memory_max 100MiB";
    assert_eq!(env(diagnose[0], "UPKEEP_UNHEALTHY").as_deref(), Some(why));
    let alert = plans(&acts, Owner::Alert(sid(0)));
    assert_eq!(env(alert[0], "UPKEEP_EVENT").as_deref(), Some("unhealthy"));
    assert_eq!(env(alert[0], "UPKEEP_PID"), Some(a.to_string()));
    assert_eq!(row(&sim.status(), "a").note.as_deref(), Some(why));
    // The diagnostic ends; the stop follows, then the restart as a quick death.
    let d = sim.diagnostic(0).and_then(|d| d.pid).expect("diagnose pid");
    sim.reap(d, Exit::Code(0));
    assert!(matches!(sim.state(0), State::Stopping { pid, .. } if pid == a));
    sim.reap(a, Exit::Signal(libc::SIGTERM));
    sim.until_running(0);
    assert_eq!(row(&sim.status(), "a").restarts, 1);
    assert_ne!(sim.pid_of(0), a);
    assert_eq!(row(&sim.status(), "a").note, None);
    // A late answer about the old run is dropped.
    let acts = sampled(&mut sim, vec![(sid(0), a, 900 * MIB)]);
    assert!(acts.is_empty(), "{acts:?}");
}

#[test]
fn no_sampling_without_memory_max_nor_in_a_shutdown() {
    let mut sim = Sim::new(services("[service.c]\ncommand = [\"c\"]\n"));
    assert_eq!(sim.core.poll_timeout(), None);
    assert!(samplings(&sim.advance(Duration::from_secs(60))).is_empty());
    let mut sim = Sim::new(services(TWO));
    sim.core.handle_event(sim.now, Event::Signal(libc::SIGTERM));
    sim.run();
    assert!(samplings(&sim.advance(Duration::from_secs(5))).is_empty());
}

const FLAKY: &str = "[service.a]\ncommand = [\"a\"]\ngive_up_after = 2\n\
                     diagnose_timeout = \"3s\"\non_failure = \"alert\"\n";

#[test]
fn on_failure_runs_on_give_up_not_on_an_ordinary_restart() {
    let mut sim = Sim::new(services(FLAKY));
    let acts = sim.kill(0, Exit::Code(1));
    assert!(plans(&acts, Owner::Alert(sid(0))).is_empty());
    sim.until_running(0);
    let pid = sim.pid_of(0);
    let acts = sim.kill(0, Exit::Code(3));
    assert_eq!(sim.state(0), State::Failed);
    let alert = plans(&acts, Owner::Alert(sid(0)));
    assert_eq!(alert.len(), 1, "{acts:?}");
    assert_eq!(env(alert[0], "UPKEEP_EVENT").as_deref(), Some("failed"));
    assert_eq!(env(alert[0], "UPKEEP_EXIT_CODE").as_deref(), Some("3"));
    assert_eq!(env(alert[0], "UPKEEP_PID"), Some(pid.to_string()));
    assert_eq!(env(alert[0], "UPKEEP_SERVICE").as_deref(), Some("a"));
    // Its exit kills what it left in its group.
    let alert_pid = sim.core.services[&sid(0)].alert_pid().expect("alert pid");
    let acts = sim.reap(alert_pid, Exit::Code(0));
    let kill = Action::Kill {
        pid: alert_pid,
        sig: libc::SIGKILL,
        group: true,
    };
    assert_eq!(acts, vec![kill]);
}

#[test]
fn on_failure_never_runs_twice_at_once_and_is_killed_after_diagnose_timeout() {
    let mut sim = Sim::new(services(FLAKY));
    sim.kill(0, Exit::Code(1));
    sim.until_running(0);
    sim.kill(0, Exit::Code(1));
    let first = sim.core.services[&sid(0)].alert_pid().expect("alert pid");
    // Started again and given up again while the first still runs: skipped, said so.
    sim.core.start(sim.now, &["a".into()]).unwrap();
    sim.run();
    sim.kill(0, Exit::Code(1));
    sim.until_running(0);
    let acts = sim.kill(0, Exit::Code(1));
    assert!(plans(&acts, Owner::Alert(sid(0))).is_empty());
    let skipped = "a on_failure still running; not run for failed";
    assert!(sim.log.iter().any(|l| l == skipped), "{:?}", sim.log);
    // Supervision never waited for it; its timeout kills its group.
    let at = sim.core.poll_timeout().expect("the alert's deadline");
    sim.now = at;
    sim.core.handle_timeout(at);
    let acts = sim.run();
    assert!(acts.contains(&Action::Kill {
        pid: first,
        sig: libc::SIGKILL,
        group: true
    }));
    let killed = "a on_failure still running after 3s; killed it";
    assert!(sim.log.iter().any(|l| l == killed), "{:?}", sim.log);
    assert_eq!(sim.core.services[&sid(0)].alert_pid(), None);
    // Its late exit goes to no one.
    sim.reap(first, Exit::Signal(libc::SIGKILL));
}

#[test]
fn on_failure_runs_when_a_job_run_fails_and_on_a_failed_health_check() {
    let toml = "[service.j]\ncommand = [\"j\"]\nschedule = \"@every 1m\"\non_failure = \"alert\"\n";
    let mut sim = Sim::new(services(toml));
    sim.advance(Duration::from_secs(60));
    let acts = sim.kill(0, Exit::Code(0));
    assert!(plans(&acts, Owner::Alert(sid(0))).is_empty());
    sim.advance(Duration::from_secs(60));
    let acts = sim.kill(0, Exit::Code(2));
    let alert = plans(&acts, Owner::Alert(sid(0)));
    assert_eq!(env(alert[0], "UPKEEP_EVENT").as_deref(), Some("run_failed"));
    assert_eq!(env(alert[0], "UPKEEP_EXIT_CODE").as_deref(), Some("2"));
    // A run restarted on request did not fail, whatever the run before did.
    let alert_pid = sim.core.services[&sid(0)].alert_pid().expect("alert pid");
    sim.reap(alert_pid, Exit::Code(0));
    sim.advance(Duration::from_secs(60));
    sim.core.restart(sim.now, &["j".into()]).unwrap();
    sim.run();
    let acts = sim.kill(0, Exit::Signal(libc::SIGTERM));
    assert!(plans(&acts, Owner::Alert(sid(0))).is_empty(), "{acts:?}");

    let toml = "[service.h]\ncommand = [\"h\"]\non_failure = \"alert\"\n\
                [service.h.health]\ncommand = \"false\"\ninterval = \"1s\"\nretries = 1\n";
    let mut sim = Sim::new(services(toml));
    sim.advance(Duration::from_secs(1));
    let check = sim.next_pid;
    let acts = sim.reap(check, Exit::Code(1));
    let alert = plans(&acts, Owner::Alert(sid(0)));
    assert_eq!(env(alert[0], "UPKEEP_EVENT").as_deref(), Some("unhealthy"));
}

#[test]
fn the_plan_carries_limits_umask_nice_and_oom_score_adj() {
    let toml = "[service.a]\ncommand = [\"a\"]\nlimits = { nofile = 4096 }\numask = \"077\"\n";
    let opts = options(
        Mode::Supervise,
        None,
        config(services(toml), vec![], ms(30_000)),
    );
    let mut core = Core::new(opts, std::time::Instant::now());
    let acts = drain(&mut core);
    let plan = plans(&acts, Owner::Service(sid(0)));
    let tuning = plan[0].tuning.as_deref().expect("tuning");
    assert_eq!(tuning.umask, Some(0o077));
    assert_eq!(
        (tuning.limits[0].name, tuning.limits[0].soft),
        ("nofile", 4096)
    );
}
