//! Property tests: random configs and random sequences of everything that can happen to the
//! core (deaths with any status, spawn failures, leftovers, time passing, every control
//! request, reloads, signals, scans), driven with the simulated clock. After every step the
//! invariants below must hold; proptest shrinks a failure to a short sequence.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::sim::*;
use crate::config::{Check, Health, Ready, ReadyWay, Restart, Service, ServiceType, Watch};
use crate::core::{Action, Core, Event, Mode, Owner, ServiceId, Status};
use crate::schedule::{Schedule, Spec, Zone};
use crate::types::{Exit, NetProbe, Notify, ProcInfo};

/// One service of a generated config.
#[derive(Debug, Clone)]
struct SvcSpec {
    restart: u8,
    delay_ms: u64,
    give_up: u32,
    critical: bool,
    diagnose: bool,
    stop_ms: u64,
    /// Ignores its stop signal: only SIGKILL ends it.
    stubborn: bool,
    /// Depends on the service before it.
    after_prev: bool,
    /// A reload changes its command.
    variant: u8,
    /// 0: no checks; 1: ready.tcp; 2: health.tcp; 3: ready.notify and health.command.
    checks: u8,
    /// 0: long-running; 1: oneshot; 2: oneshot with a run_timeout; 3: scheduled every
    /// 700 ms; 4: disabled oneshot.
    job: u8,
}

fn svc_spec() -> impl Strategy<Value = SvcSpec> {
    (
        0u8..3,
        1u64..400,
        0u32..3,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.4),
        1u64..300,
        prop::bool::weighted(0.2),
        any::<bool>(),
        0u8..2,
        0u8..4,
    )
        .prop_flat_map(|t| (Just(t), prop_oneof![3 => Just(0u8), 1 => 1u8..5]))
        .prop_map(
            |(
                (
                    restart,
                    delay_ms,
                    give_up,
                    critical,
                    diagnose,
                    stop_ms,
                    stubborn,
                    after_prev,
                    variant,
                    checks,
                ),
                job,
            )| {
                SvcSpec {
                    restart,
                    delay_ms,
                    give_up,
                    critical,
                    diagnose,
                    stop_ms,
                    stubborn,
                    after_prev,
                    variant,
                    checks,
                    job,
                }
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    /// The main process of service k dies.
    Die(usize, Exit),
    /// The next spawn fails.
    FailNextSpawn,
    /// Leftovers stay in the next probed group.
    LeftoversNext,
    Advance(u64),
    /// To the core's next deadline.
    NextDeadline,
    Stop(usize),
    Start(usize),
    Restart(usize),
    SignalService(usize),
    /// Reload with service k dropped, or changed (variant flips), or one added.
    Reload(u8, usize),
    Signal(i32),
    /// Whether each watch's process is in the table, when a scan is asked for.
    WatchedRunning(bool),
    StrangerReaped,
    Shutdown,
    /// Service k writes these bytes on its stdout or stderr.
    Output(usize, bool, Vec<u8>),
    /// The network check under way for service k passes or fails.
    CheckAnswer(usize, bool),
    /// The check command of service k exits with this status.
    CheckExit(usize, i32),
    /// Service k sends READY=1.
    Notify(usize),
    /// The k-th live diagnostic, watch command or check command exits on its own.
    ChildExit(usize, i32),
    /// Children killed a while ago are reaped now.
    ReapLate,
}

fn exit() -> impl Strategy<Value = Exit> {
    prop_oneof![
        (0i32..4).prop_map(Exit::Code),
        prop_oneof![Just(9), Just(15), Just(6)].prop_map(Exit::Signal),
    ]
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..n, exit()).prop_map(|(k, e)| Op::Die(k, e)),
        1 => Just(Op::FailNextSpawn),
        1 => Just(Op::LeftoversNext),
        3 => (1u64..2000).prop_map(Op::Advance),
        4 => Just(Op::NextDeadline),
        1 => (0..n).prop_map(Op::Stop),
        1 => (0..n).prop_map(Op::Start),
        1 => (0..n).prop_map(Op::Restart),
        1 => (0..n).prop_map(Op::SignalService),
        1 => (0u8..3, 0..n).prop_map(|(how, k)| Op::Reload(how, k)),
        1 => prop_oneof![Just(libc::SIGHUP), Just(libc::SIGUSR1), Just(libc::SIGTERM), Just(libc::SIGINT)]
            .prop_map(Op::Signal),
        1 => any::<bool>().prop_map(Op::WatchedRunning),
        1 => Just(Op::StrangerReaped),
        1 => Just(Op::Shutdown),
        2 => (0..n, any::<bool>(), prop::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..64))
            .prop_map(|(k, e, b)| Op::Output(k, e, b)),
        3 => (0..n, any::<bool>()).prop_map(|(k, ok)| Op::CheckAnswer(k, ok)),
        2 => (0..n, 0i32..2).prop_map(|(k, c)| Op::CheckExit(k, c)),
        1 => (0..n).prop_map(Op::Notify),
        2 => (0..8usize, 0i32..2).prop_map(|(k, c)| Op::ChildExit(k, c)),
        2 => Just(Op::ReapLate),
    ]
}

fn service(name: &str, s: &SvcSpec, prev: Option<&str>) -> Service {
    let mut c = svc(name);
    c.command = vec![format!("x{}", s.variant)];
    c.restart = [Restart::Always, Restart::OnFailure, Restart::Never][usize::from(s.restart)];
    c.restart_delay = Duration::from_millis(s.delay_ms);
    c.restart_delay_max = Duration::from_millis(s.delay_ms * 8);
    c.give_up_after = s.give_up;
    c.critical = s.critical;
    c.diagnose = s.diagnose.then(|| "ps".to_string());
    c.diagnose_timeout = Duration::from_millis(500);
    c.stop_timeout = Duration::from_millis(s.stop_ms);
    c.stable_after = Duration::from_millis(1000);
    if let (true, Some(prev)) = (s.after_prev, prev) {
        c.after = vec![prev.to_string()];
    }
    let tcp = || Check::Net(NetProbe::Tcp("127.0.0.1:1".parse().unwrap()));
    let ready = |way| Ready {
        way,
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(1000),
    };
    let health = |check, retries| Health {
        check,
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(100),
        retries,
        start_period: Duration::from_millis(150),
    };
    match s.checks {
        1 => c.ready = Some(Box::new(ready(ReadyWay::Check(tcp())))),
        2 => c.health = Some(Box::new(health(tcp(), 2))),
        3 => {
            c.ready = Some(Box::new(ready(ReadyWay::Notify(Notify::Systemd))));
            c.health = Some(Box::new(health(Check::Command("true".into()), 1)));
        }
        _ => {}
    }
    if s.job > 0 {
        // As the config reads jobs: never "always", no readiness or health checks.
        if c.restart == Restart::Always {
            c.restart = Restart::Never;
        }
        c.ready = None;
        c.health = None;
        c.kind = ServiceType::Oneshot;
        c.success_exit_codes = vec![0, 2];
    }
    match s.job {
        2 => c.run_timeout = Some(Duration::from_millis(600)),
        3 => {
            c.kind = ServiceType::Longrun;
            c.schedule = Some(Box::new(Schedule {
                text: "@every 700ms".into(),
                spec: Spec::Every(Duration::from_millis(700)),
                zone: Zone::utc(),
            }));
        }
        4 => c.enabled = false,
        _ => {}
    }
    c
}

fn services(specs: &[SvcSpec]) -> Vec<Service> {
    let names: Vec<String> = (0..specs.len()).map(|k| format!("s{k}")).collect();
    specs
        .iter()
        .enumerate()
        .map(|(k, s)| service(&names[k], s, k.checked_sub(1).map(|p| names[p].as_str())))
        .collect()
}

fn watch(k: usize) -> Watch {
    let mut w = watch_cfg("start-it", k.is_multiple_of(2).then_some("ps"));
    w.name = format!("w{k}");
    w.process = format!("daemon{k}");
    w
}

/// The runtime's part, played with random outcomes, and the invariants' bookkeeping.
struct World {
    core: Core,
    now: Instant,
    specs: Vec<SvcSpec>,
    watches: usize,
    next_pid: i32,
    /// Live children: pid -> owner.
    live: HashMap<i32, Owner>,
    /// Pids signalled with SIGKILL (or their stop signal, when not stubborn): they die next.
    dying: Vec<(i32, Exit)>,
    /// Diagnostics and commands killed: they are reaped later, after other events.
    late: Vec<(i32, Exit)>,
    /// Every pid handed out, with the owner it was spawned for (pids are never reused).
    spawned: HashMap<i32, Owner>,
    fail_next_spawn: bool,
    leftovers_next: bool,
    running_in_table: bool,
    shutting_down: bool,
    exited: bool,
    log: Vec<String>,
    /// Network checks under way: service -> seq.
    checks: HashMap<ServiceId, u32>,
    /// Services that have been spawned at least once.
    started: HashSet<ServiceId>,
    /// Names started or restarted on request: an operator may start a dependent by hand.
    by_hand: HashSet<String>,
}

impl World {
    fn new(specs: Vec<SvcSpec>, watches: usize) -> World {
        let now = Instant::now();
        let config = config(
            services(&specs),
            (0..watches).map(watch).collect(),
            Duration::from_secs(1),
        );
        let core = Core::new(options(Mode::Supervise, None, config), now);
        let mut w = World {
            core,
            now,
            specs,
            watches,
            next_pid: 1000,
            live: HashMap::new(),
            dying: Vec::new(),
            late: Vec::new(),
            spawned: HashMap::new(),
            fail_next_spawn: false,
            leftovers_next: false,
            running_in_table: false,
            shutting_down: false,
            exited: false,
            log: Vec::new(),
            checks: HashMap::new(),
            started: HashSet::new(),
            by_hand: HashSet::new(),
        };
        w.settle();
        w
    }

    fn stubborn(&self, owner: Owner) -> bool {
        match owner {
            Owner::Service(ServiceId(n)) => {
                self.specs.get(n as usize - 1).is_some_and(|s| s.stubborn)
            }
            _ => false,
        }
    }

    /// Carries out actions until the core has none, and delivers the deaths they cause.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            if let Some(action) = self.core.poll_action() {
                self.carry_out(action);
            } else if let Some((pid, exit)) = self.dying.pop() {
                if self.live.remove(&pid).is_some() {
                    self.core
                        .handle_event(self.now, Event::Exited { pid, exit });
                }
            } else {
                return;
            }
        }
        panic!(
            "the core never settles: {:?}",
            &self.log[self.log.len().saturating_sub(20)..]
        );
    }

    fn carry_out(&mut self, action: Action) {
        match action {
            Action::Spawn { owner, .. } => {
                assert!(
                    !self.shutting_down || !matches!(owner, Owner::Service(_) | Owner::Diagnose(_)),
                    "a spawn for {owner:?} after the shutdown began"
                );
                if let Owner::Service(id) = owner {
                    let twin = self.live.values().any(|o| *o == Owner::Service(id));
                    assert!(!twin, "a second live main process for {id:?}");
                    if self.started.insert(id) {
                        self.first_start_waits_for_oneshots(id);
                    }
                }
                if std::mem::take(&mut self.fail_next_spawn) {
                    let ev = Event::SpawnFailed {
                        owner,
                        status: 127,
                        reason: "not found".into(),
                    };
                    self.core.handle_event(self.now, ev);
                } else {
                    self.next_pid += 1;
                    self.live.insert(self.next_pid, owner);
                    self.spawned.insert(self.next_pid, owner);
                    let ev = Event::Spawned {
                        owner,
                        pid: self.next_pid,
                    };
                    self.core.handle_event(self.now, ev);
                }
            }
            Action::Kill { pid, sig, group: _ } => {
                let owner = self.live.get(&pid).copied();
                if let Some(owner) = owner {
                    let dies = sig == libc::SIGKILL
                        || (!self.stubborn(owner) && (sig == libc::SIGTERM || sig == libc::SIGINT));
                    let side_child = matches!(
                        owner,
                        Owner::Diagnose(_) | Owner::Watch(_) | Owner::Check(_) | Owner::Alert(_)
                    );
                    if dies && side_child {
                        self.late.push((pid, Exit::Signal(sig)));
                    } else if dies {
                        self.dying.push((pid, Exit::Signal(sig)));
                    }
                }
            }
            Action::SampleMemory(groups) => {
                self.core
                    .handle_event(self.now, Event::MemorySampled(groups));
            }
            Action::ProbeGroup { owner, .. } => {
                let alive = std::mem::take(&mut self.leftovers_next);
                self.core
                    .handle_event(self.now, Event::GroupProbed { owner, alive });
            }
            Action::Scan => {
                let procs: Vec<ProcInfo> = if self.running_in_table {
                    (0..self.watches)
                        .map(|k| proc_named(50_000 + k as i32, &format!("daemon{k}")))
                        .collect()
                } else {
                    Vec::new()
                };
                self.core.handle_event(self.now, Event::ProcessTable(procs));
            }
            Action::Reload => {
                // SIGHUP: the same config again.
                let specs = self.specs.clone();
                let cfg = config(
                    services(&specs),
                    (0..self.watches).map(watch).collect(),
                    Duration::from_secs(1),
                );
                let _ = self.core.reload(self.now, cfg);
            }
            Action::Log(_, text) | Action::LogEvent(_, text, _) => {
                assert!(!text.starts_with("bug:"), "{text}");
                self.log.push(text);
            }
            Action::Exit(_) => self.exited = true,
            Action::Check { id, seq, .. } => {
                let twin = self.checks.insert(id, seq);
                assert!(twin.is_none(), "two network checks at once for {id:?}");
            }
            Action::CancelCheck(id) => {
                self.checks.remove(&id);
            }
            Action::KillAll(_)
            | Action::ServiceLine { .. }
            | Action::ReleaseOutput(_)
            | Action::ReopenOutputs => {}
        }
    }

    /// A service's first start comes after every oneshot it comes `after` is done (or
    /// stopped on request): so never after a failed one.
    fn first_start_waits_for_oneshots(&self, id: ServiceId) {
        let Some(s) = self.core.services.get(&id) else {
            return;
        };
        if self.by_hand.contains(&s.cfg.name) {
            return;
        }
        for dep in &s.cfg.after {
            let Some(d) = self
                .core
                .live_named(dep)
                .and_then(|i| self.core.services.get(&i))
            else {
                continue;
            };
            if d.cfg.kind == ServiceType::Oneshot && d.cfg.schedule.is_none() {
                assert!(
                    d.is_done() || d.is_held(),
                    "{} started before oneshot {dep} was done ({:?})",
                    s.cfg.name,
                    d.state()
                );
            }
        }
    }

    fn names(&self, k: usize) -> Vec<String> {
        vec![format!("s{}", k % self.specs.len().max(1))]
    }

    fn apply(&mut self, op: &Op) {
        if self.exited {
            return;
        }
        match op {
            Op::Die(k, exit) => {
                let name = format!("s{}", k % self.specs.len().max(1));
                let pid = self
                    .core
                    .status(self.now, &[name])
                    .ok()
                    .and_then(|rows| rows.first().and_then(|r| r.pid));
                if let Some(pid) = pid.filter(|p| self.live.contains_key(p)) {
                    self.live.remove(&pid);
                    self.core
                        .handle_event(self.now, Event::Exited { pid, exit: *exit });
                }
            }
            Op::FailNextSpawn => self.fail_next_spawn = true,
            Op::LeftoversNext => self.leftovers_next = true,
            Op::Advance(ms) => {
                self.now += Duration::from_millis(*ms);
                self.core.handle_timeout(self.now);
            }
            Op::NextDeadline => {
                if let Some(t) = self.core.poll_timeout() {
                    self.now = self.now.max(t);
                    self.core.handle_timeout(self.now);
                }
            }
            Op::Stop(k) => drop(self.core.stop(self.now, &self.names(*k))),
            Op::Start(k) => {
                self.by_hand.extend(self.names(*k));
                drop(self.core.start(self.now, &self.names(*k)))
            }
            Op::Restart(k) => {
                self.by_hand.extend(self.names(*k));
                drop(self.core.restart(self.now, &self.names(*k)))
            }
            Op::SignalService(k) => drop(self.core.signal_services(libc::SIGUSR1, &self.names(*k))),
            Op::Reload(how, k) => {
                let mut specs = self.specs.clone();
                let k = k % specs.len().max(1);
                match how {
                    0 if specs.len() > 1 => {
                        specs.remove(k);
                    }
                    1 => {
                        if let Some(s) = specs.get_mut(k) {
                            s.variant ^= 1;
                        }
                    }
                    _ => specs.push(SvcSpec {
                        restart: 0,
                        delay_ms: 50,
                        give_up: 0,
                        critical: false,
                        diagnose: false,
                        stop_ms: 100,
                        stubborn: false,
                        after_prev: true,
                        variant: 0,
                        checks: 1,
                        job: (k % 2) as u8,
                    }),
                }
                let cfg = config(
                    services(&specs),
                    (0..self.watches).map(watch).collect(),
                    Duration::from_secs(1),
                );
                if self.core.reload(self.now, cfg).is_ok() {
                    // Names are positional: the bookkeeping of stubbornness follows the ids,
                    // which only grow; keep the old specs for ids already handed out.
                    self.specs.extend(specs.into_iter().skip(self.specs.len()));
                }
            }
            Op::Signal(sig) => self.core.handle_event(self.now, Event::Signal(*sig)),
            Op::WatchedRunning(running) => self.running_in_table = *running,
            Op::StrangerReaped => self.core.handle_event(
                self.now,
                Event::Exited {
                    pid: 77_777,
                    exit: Exit::Code(0),
                },
            ),
            Op::Shutdown => self.core.shutdown(self.now),
            Op::CheckAnswer(k, ok) => {
                let name = format!("s{}", k % self.specs.len().max(1));
                if let Some(id) = self.core.live_named(&name)
                    && let Some(seq) = self.checks.remove(&id)
                {
                    let result = if *ok { Ok(()) } else { Err("refused".into()) };
                    self.core
                        .handle_event(self.now, Event::Checked { id, seq, result });
                }
            }
            Op::CheckExit(k, code) => {
                let name = format!("s{}", k % self.specs.len().max(1));
                if let Some(id) = self.core.live_named(&name) {
                    let pid = self
                        .live
                        .iter()
                        .find(|(_, o)| **o == Owner::Check(id))
                        .map(|(p, _)| *p);
                    if let Some(pid) = pid {
                        self.live.remove(&pid);
                        let exit = Exit::Code(*code);
                        self.core
                            .handle_event(self.now, Event::Exited { pid, exit });
                    }
                }
            }
            Op::Notify(k) => {
                let name = format!("s{}", k % self.specs.len().max(1));
                if let Some(id) = self.core.live_named(&name) {
                    let event = Event::Notified {
                        id,
                        ready: true,
                        status: Some("up".into()),
                        alive: true,
                    };
                    self.core.handle_event(self.now, event);
                }
            }
            Op::ChildExit(k, code) => {
                let mut side: Vec<i32> = self
                    .live
                    .iter()
                    .filter(|(_, o)| {
                        matches!(o, Owner::Diagnose(_) | Owner::Watch(_) | Owner::Check(_))
                    })
                    .map(|(p, _)| *p)
                    .collect();
                side.sort_unstable();
                if let Some(&pid) = side.get(k % side.len().max(1)) {
                    self.live.remove(&pid);
                    let exit = Exit::Code(*code);
                    self.core
                        .handle_event(self.now, Event::Exited { pid, exit });
                }
            }
            Op::ReapLate => self.reap_late(),
            Op::Output(k, stderr, bytes) => {
                let name = format!("s{}", k % self.specs.len().max(1));
                if let Some(id) = self.core.live_named(&name) {
                    let mut lines = 0;
                    self.core
                        .service_output(id, *stderr, bytes, &mut |_, _, line| {
                            assert!(line.len() <= crate::core::output::MAX_LINE);
                            lines += 1;
                        });
                    assert!(lines <= bytes.iter().filter(|&&b| b == b'\n').count());
                }
            }
        }
        if self.core.is_shutting_down() {
            // Spawns already queued by this very step (a start before the stop) are fine.
            self.settle();
            self.shutting_down = true;
        }
        self.settle();
        self.check();
    }

    fn reap_late(&mut self) {
        for (pid, exit) in std::mem::take(&mut self.late) {
            if self.live.remove(&pid).is_some() && !self.exited {
                self.core
                    .handle_event(self.now, Event::Exited { pid, exit });
            }
        }
    }

    fn check(&mut self) {
        // Every exit went to the machine of the spawn that made it.
        for (pid, owner) in self.core.routed_exits.drain(..) {
            assert_eq!(
                self.spawned.get(&pid),
                Some(&owner),
                "the exit of pid {pid}"
            );
        }
        if self.exited {
            return;
        }
        // Every deadline in the future once its time has been handled.
        self.core.handle_timeout(self.now);
        self.settle();
        if let Some(t) = self.core.poll_timeout() {
            assert!(t > self.now || self.exited, "a deadline in the past");
        }
        // Never forgotten: a service that should run is up, on its way, or on a deadline.
        if !self.exited {
            for row in self.core.status(self.now, &[]).unwrap_or_default() {
                let waiting = matches!(
                    row.status,
                    Status::Backoff | Status::Diagnosing | Status::Cleaning | Status::Stopping
                );
                if waiting {
                    assert!(
                        self.core.poll_timeout().is_some(),
                        "{} is {:?} with no deadline",
                        row.name,
                        row.status
                    );
                }
                // A service's spawn is answered at once here; a watch's start command may run on.
                let service = row.kind.is_service();
                assert!(
                    !service || row.status != Status::Starting || row.pid.is_some(),
                    "{row:?} left starting"
                );
                // Not ready yet: a ready timeout is always ahead.
                if service && row.status == Status::Starting {
                    assert!(
                        self.core.poll_timeout().is_some(),
                        "{row:?} with no deadline"
                    );
                }
            }
        }
    }

    /// TERM, then time: upkeep must exit within the sum of its timeouts.
    fn shut_down(&mut self) {
        if self.exited {
            return;
        }
        self.core
            .handle_event(self.now, Event::Signal(libc::SIGTERM));
        self.shutting_down = true;
        self.settle();
        let bound: u64 = self.specs.iter().map(|s| s.stop_ms + 500).sum::<u64>() + 5_000;
        let give_up = self.now + Duration::from_millis(bound);
        while !self.exited && self.now < give_up {
            self.reap_late();
            self.settle();
            match self.core.poll_timeout() {
                Some(t) => self.now = self.now.max(t),
                None => break,
            }
            self.core.handle_timeout(self.now);
            self.settle();
        }
        let alive: HashSet<&Owner> = self.live.values().collect();
        assert!(
            self.exited,
            "no exit {bound} ms after TERM; live {alive:?}; log {:?}",
            &self.log[self.log.len().saturating_sub(12)..]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("UPKEEP_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        .. ProptestConfig::default()
    })]

    #[test]
    fn the_core_holds_its_invariants_under_any_sequence(
        specs in prop::collection::vec(svc_spec(), 1..5),
        watches in 0usize..3,
        ops in prop::collection::vec(op(4), 0..60),
    ) {
        let mut world = World::new(specs, watches);
        for op in &ops {
            world.apply(op);
        }
        world.shut_down();
        world.check();
    }

    #[test]
    fn restart_counts_match_the_death_lines(
        specs in prop::collection::vec(svc_spec(), 1..4),
        ops in prop::collection::vec(prop_oneof![
            (0usize..4, exit()).prop_map(|(k, e)| Op::Die(k, e)),
            Just(Op::NextDeadline),
            (1u64..2000).prop_map(Op::Advance),
            Just(Op::FailNextSpawn),
            Just(Op::LeftoversNext),
        ], 0..60),
    ) {
        let mut world = World::new(specs, 0);
        for op in &ops {
            world.apply(op);
        }
        if !world.exited {
            for row in world.core.status(world.now, &[]).unwrap_or_default() {
                let prefix = format!("{} ", row.name);
                let colon = format!("{}: cannot start", row.name);
                let restarts = world
                    .log
                    .iter()
                    .filter(|l| {
                        (l.starts_with(&prefix) || l.starts_with(&colon))
                            && (l.contains("; restarting in ") || l.contains("then restarting it (restart"))
                    })
                    .count();
                prop_assert_eq!(row.restarts as usize, restarts, "{:?}", row);
            }
        }
    }
}
