//! The test harness: builds cores from small configs and plays the runtime's part.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use crate::config::{self, Config, Service, Watch};
use crate::core::service::{Diagnostic, Process as State};
use crate::core::{
    Action, Core, Event, MainOptions, Mode, Options, Owner, ServiceId, StatusRow, WatchId,
};
use crate::types::{ProcInfo, Stdio};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The id of the `i`-th service of the config a core started with (ids count from 1,
/// services first, then watches).
pub fn sid(i: usize) -> ServiceId {
    ServiceId(i as u32 + 1)
}

/// The id of the `w`-th watch of a config with `services` services.
pub fn wid(services: usize, w: usize) -> WatchId {
    WatchId((services + w) as u32 + 1)
}

pub fn drain(core: &mut Core) -> Vec<Action> {
    std::iter::from_fn(|| core.poll_action()).collect()
}

pub fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn row<'a>(rows: &'a [StatusRow], name: &str) -> &'a StatusRow {
    rows.iter().find(|r| r.name == name).expect("row")
}

pub fn exit_of(actions: &[Action]) -> Option<i32> {
    actions.iter().find_map(|a| match a {
        Action::Exit(c) => Some(*c),
        _ => None,
    })
}

/// Whether `a` asks to spawn something for `owner`.
pub fn spawns(a: &Action, owner: Owner) -> bool {
    matches!(a, Action::Spawn { owner: o, .. } if *o == owner)
}

/// Whether `a` spawns a child whose output is logged as `label` ("apache start").
pub fn spawns_labelled(a: &Action, label: &str) -> bool {
    matches!(a, Action::Spawn { plan, .. } if plan.stdio == Stdio::Logged(label.into()))
}

pub fn svc(name: &str) -> Service {
    config::parse(
        std::path::Path::new("t"),
        &format!("[service.{name}]\ncommand = [\"x\"]\n"),
        &config::accounts::Accounts::default(),
    )
    .unwrap()
    .services
    .remove(0)
}

pub fn config(services: Vec<Service>, watches: Vec<Watch>, scan_interval: Duration) -> Config {
    let mut c = Config::empty();
    c.services = services;
    c.watches = watches;
    c.settings.scan_interval = scan_interval;
    c
}

pub fn main_opts() -> MainOptions {
    MainOptions {
        name: "app".into(),
        argv: vec![OsString::from("app")],
        ..Default::default()
    }
}

pub fn options(mode: Mode, main: Option<MainOptions>, config: Config) -> Options {
    Options {
        mode,
        main,
        config,
        final_sweep: false,
        debug: true,
        // 2026-12-05T14:00:00Z
        wall_ms: 1_796_479_200_000,
        stop_grace_override: None,
    }
}

/// tini mode with COMMAND spawned as pid 10.
pub fn started(main: MainOptions, debug: bool) -> (Core, Instant) {
    let t0 = Instant::now();
    let mut opts = options(Mode::Single, Some(main), Config::empty());
    opts.debug = debug;
    let mut core = Core::new(opts, t0);
    let acts = drain(&mut core);
    assert!(
        matches!(&acts[..], [a] if spawns(a, Owner::Main)),
        "{acts:?}"
    );
    core.handle_event(
        t0,
        Event::Spawned {
            owner: Owner::Main,
            pid: 10,
        },
    );
    drain(&mut core);
    (core, t0)
}

pub fn proc_named(pid: i32, comm: &str) -> ProcInfo {
    ProcInfo {
        pid,
        ppid: 1,
        comm: comm.into(),
        argv0: None,
        script: None,
        zombie: false,
    }
}

/// A supervising core whose spawns succeed at once and whose groups are empty.
pub struct Sim {
    pub core: Core,
    pub now: Instant,
    pub next_pid: i32,
    pub log: Vec<String>,
}

impl Sim {
    pub fn new(services: Vec<Service>) -> Sim {
        Sim::with(options(
            Mode::Supervise,
            None,
            config(services, Vec::new(), Duration::from_secs(30)),
        ))
    }

    pub fn with(opts: Options) -> Sim {
        let now = Instant::now();
        let core = Core::new(opts, now);
        let mut sim = Sim {
            core,
            now,
            next_pid: 100,
            log: Vec::new(),
        };
        sim.run();
        sim
    }

    /// Carries out actions as the runtime would: spawns succeed, groups are empty.
    pub fn run(&mut self) -> Vec<Action> {
        let mut done = Vec::new();
        while let Some(a) = self.core.poll_action() {
            match &a {
                Action::Spawn { owner, .. } => {
                    self.next_pid += 1;
                    let ev = Event::Spawned {
                        owner: *owner,
                        pid: self.next_pid,
                    };
                    self.core.handle_event(self.now, ev);
                }
                Action::ProbeGroup { owner, .. } => {
                    let ev = Event::GroupProbed {
                        owner: *owner,
                        alive: false,
                    };
                    self.core.handle_event(self.now, ev)
                }
                Action::Log(_, t) | Action::LogEvent(_, t, _) => {
                    // The machines log "bug:" for what cannot happen; no test may see one.
                    assert!(!t.starts_with("bug:"), "{t}");
                    self.log.push(t.clone());
                }
                _ => {}
            }
            done.push(a);
        }
        done
    }

    /// Service `i`'s process (named State in the tests, as it reads there).
    pub fn state(&self, i: usize) -> State {
        self.core
            .services
            .get(&sid(i))
            .expect("a service")
            .state()
            .0
    }

    /// Service `i`'s diagnostic under way.
    pub fn diagnostic(&self, i: usize) -> Option<Diagnostic> {
        self.core
            .services
            .get(&sid(i))
            .expect("a service")
            .state()
            .1
    }

    pub fn pid_of(&self, i: usize) -> i32 {
        match self.state(i) {
            State::Running { pid, .. } | State::Stopping { pid, .. } => pid,
            other => panic!("not running: {other:?}"),
        }
    }

    pub fn advance(&mut self, d: Duration) -> Vec<Action> {
        self.now += d;
        self.core.handle_timeout(self.now);
        self.run()
    }

    /// The reaper reports `pid` dead.
    pub fn reap(&mut self, pid: i32, exit: crate::types::Exit) -> Vec<Action> {
        self.core
            .handle_event(self.now, Event::Exited { pid, exit });
        self.run()
    }

    pub fn kill(&mut self, i: usize, exit: crate::types::Exit) -> Vec<Action> {
        let pid = self.pid_of(i);
        self.core
            .handle_event(self.now, Event::Exited { pid, exit });
        self.run()
    }

    /// Jumps to each next deadline until service `i` runs again; returns the wait.
    pub fn until_running(&mut self, i: usize) -> Duration {
        let t0 = self.now;
        for _ in 0..100 {
            if matches!(self.state(i), State::Running { .. }) {
                return self.now - t0;
            }
            let next = self.core.poll_timeout().expect("a deadline");
            assert!(next >= self.now, "deadline in the past");
            self.now = next;
            self.core.handle_timeout(self.now);
            self.run();
            // No busy loop: after a timeout, the next deadline is later than now.
            if let Some(t) = self.core.poll_timeout() {
                assert!(t > self.now, "poll_timeout not after now");
            }
        }
        panic!("never restarted");
    }

    pub fn status(&self) -> Vec<StatusRow> {
        self.core.status(self.now, &[]).unwrap()
    }

    pub fn pid_named(&self, name: &str) -> Option<i32> {
        row(&self.status(), name).pid
    }

    /// The runtime's view of a stop signal arriving: the service dies of it.
    pub fn die(&mut self, name: &str, exit: crate::types::Exit) {
        let pid = self.pid_named(name).expect("a pid");
        self.core
            .handle_event(self.now, Event::Exited { pid, exit });
        self.run();
    }
}

pub fn actions(core: &mut Core) -> Vec<Action> {
    drain(core)
}

/// A watch of `httpd` called apache, scanned every second.
pub fn watch_cfg(start: &str, diagnose: Option<&str>) -> Watch {
    Watch {
        name: "apache".into(),
        process: "httpd".into(),
        start: crate::types::shell(start),
        diagnose: diagnose.map(str::to_string),
        diagnose_timeout: Duration::from_secs(30),
        interval: Some(ms(1000)),
        start_timeout: Duration::from_secs(60),
    }
}

/// A supervising core with one watch (id `wid(0, 0)`) and no service.
pub fn watcher(w: Watch) -> (Core, Instant) {
    let t0 = Instant::now();
    let core = Core::new(
        options(
            Mode::Supervise,
            None,
            config(Vec::new(), vec![w], Duration::from_secs(30)),
        ),
        t0,
    );
    (core, t0)
}
