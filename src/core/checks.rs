//! The checks of one run of a service: readiness tries until it is ready, then health checks;
//! which try is under way, when the next is due, how many failed in a row. Bookkeeping only:
//! what a verdict leads to (a failed start, a restart) is the service's state machine's.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::{Action, Level, Out, Owner, ServiceId};
use crate::config::{Check, ReadyWay, Service};
use crate::types::{Exit, Grouping, SpawnPlan, Stdio, fmt_duration, shell};

/// What a check's result, a notification or a deadline means for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ready,
    /// Not ready within `ready.timeout`; the words say why.
    NotReady(String),
    /// `health.retries` failures in a row; the last one's reason.
    Unhealthy(String),
}

/// The try under way.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    /// Names the answer of a network check (a late answer to a cancelled try is ignored).
    seq: u32,
    /// A command check's pid, once spawned.
    pid: Option<i32>,
    command: bool,
    started: Instant,
    deadline: Instant,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Checks {
    ready_since: Option<Instant>,
    /// While not ready: the run fails at this instant.
    give_up_at: Option<Instant>,
    next_try: Option<Instant>,
    in_flight: Option<InFlight>,
    /// Failed tries in a row (health: those that count).
    failures: u32,
    last_failure: Option<String>,
    unhealthy: bool,
    /// A health check has answered since the run became ready: till then it is `pending`.
    health_answered: bool,
    /// `watchdog`: the last WATCHDOG=1 must be followed by another before this.
    watchdog_due: Option<Instant>,
    seq: u32,
    /// The service's own words (`STATUS=` of sd_notify).
    status_text: Option<String>,
}

/// The check a try makes, how often, and how long one may take.
struct Current<'c> {
    check: &'c Check,
    interval: Duration,
    timeout: Duration,
}

/// What `status` shows in its HEALTH column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// No health check, or none can run now (not running, not ready yet).
    Unchecked,
    /// Ready, and no health check has answered yet.
    Pending,
    Healthy,
    Unhealthy,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unchecked => "-",
            HealthState::Pending => "pending",
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
        }
    }
}

impl Checks {
    /// A new run has started: ready at once without a `ready` table, else the first try
    /// goes out now.
    pub fn start(&mut self, now: Instant, id: ServiceId, cfg: &Service, out: &mut Out) {
        let seq = self.seq;
        *self = Checks {
            seq,
            ..Checks::default()
        };
        match &cfg.ready {
            None => self.become_ready(now, cfg),
            Some(ready) => {
                self.give_up_at = Some(now + ready.timeout);
                if let ReadyWay::Check(_) = ready.way {
                    self.launch(now, id, cfg, out);
                }
            }
        }
    }

    /// The run is over (or being stopped): the try under way is cut short, nothing more is
    /// tried. What it learnt stays for `status`.
    pub fn stop(&mut self, id: ServiceId, out: &mut Out) {
        self.cancel(id, out);
        self.next_try = None;
        self.give_up_at = None;
        self.watchdog_due = None;
    }

    /// A reload changed the checks of a running service: one already ready stays ready and
    /// its health checks begin afresh; one not ready yet is checked the new way from now.
    pub fn reconfigure(&mut self, now: Instant, id: ServiceId, cfg: &Service, out: &mut Out) {
        self.stop(id, out);
        match self.ready_since {
            Some(since) => {
                self.unhealthy = false;
                self.health_answered = false;
                self.become_ready(now, cfg);
                self.ready_since = Some(since);
            }
            None => self.start(now, id, cfg, out),
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        let give_up = self.give_up_at.filter(|_| self.ready_since.is_none());
        let watchdog = self.watchdog_due.filter(|_| !self.unhealthy);
        [
            self.next_try,
            self.in_flight.map(|f| f.deadline),
            give_up,
            watchdog,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Deadlines that have passed: the ready timeout, the watchdog, a try's timeout, the
    /// next try.
    pub fn due(
        &mut self,
        now: Instant,
        id: ServiceId,
        cfg: &Service,
        out: &mut Out,
    ) -> Option<Verdict> {
        if let (Some(at), Some(w)) = (self.watchdog_due, cfg.watchdog)
            && at <= now
            && !self.unhealthy
        {
            self.stop(id, out);
            let why = format!("no WATCHDOG=1 for {}", fmt_duration(w));
            self.unhealthy = true;
            self.last_failure = Some(why.clone());
            return Some(Verdict::Unhealthy(why));
        }
        if let (None, Some(at), Some(ready)) = (self.ready_since, self.give_up_at, &cfg.ready)
            && at <= now
        {
            self.stop(id, out);
            let last = match &self.last_failure {
                Some(why) => format!(" (last try: {why})"),
                None => String::new(),
            };
            return Some(Verdict::NotReady(format!(
                "not ready after {}{last}",
                fmt_duration(ready.timeout)
            )));
        }
        if let Some(flight) = self.in_flight
            && flight.deadline <= now
        {
            self.cancel(id, out);
            let took = fmt_duration(flight.deadline.saturating_duration_since(flight.started));
            let verdict = self.failed(
                now,
                flight.started,
                cfg,
                format!("timed out after {took}"),
                out,
            );
            if verdict.is_some() {
                return verdict;
            }
        }
        if self.in_flight.is_none() && self.try_due(now, cfg) {
            self.launch(now, id, cfg, out);
        }
        None
    }

    /// The next try may go out now: its time has come, or comes within its slack (a tenth
    /// of the interval, 100 ms at most). Tries that fall close together go out in one
    /// wake-up, so 100 services checked every second wake upkeep about ten times a second,
    /// not a hundred.
    pub fn try_due(&self, now: Instant, cfg: &Service) -> bool {
        let Some(current) = self.current(cfg) else {
            return false;
        };
        let slack = (current.interval / 10).min(Duration::from_millis(100));
        self.next_try.is_some_and(|t| t <= now + slack)
    }

    /// A command check was spawned; false when no try waits for it (kill it).
    pub fn spawned(&mut self, pid: i32) -> bool {
        match &mut self.in_flight {
            Some(f) if f.command && f.pid.is_none() => {
                f.pid = Some(pid);
                true
            }
            _ => false,
        }
    }

    /// Whether `pid` is the command check under way.
    pub fn runs_command(&self, pid: i32) -> bool {
        self.in_flight
            .is_some_and(|f| f.command && f.pid == Some(pid))
    }

    /// A command check that could not be spawned, or that exited (`pid`: which one).
    pub fn command_done(
        &mut self,
        now: Instant,
        pid: Option<i32>,
        result: Result<(), String>,
        cfg: &Service,
        out: &mut Out,
    ) -> Option<Verdict> {
        let flight = self.in_flight.filter(|f| f.command && f.pid == pid)?;
        self.answered(now, flight, result, cfg, out)
    }

    /// The answer of network check `seq`.
    pub fn net_done(
        &mut self,
        now: Instant,
        seq: u32,
        result: Result<(), String>,
        cfg: &Service,
        out: &mut Out,
    ) -> Option<Verdict> {
        let flight = self.in_flight.filter(|f| !f.command && f.seq == seq)?;
        self.answered(now, flight, result, cfg, out)
    }

    /// The service said something: `READY=1` (or a newline on its notification fd), and
    /// perhaps a status text.
    pub fn notified(
        &mut self,
        now: Instant,
        ready: bool,
        status_text: Option<String>,
        alive: bool,
        cfg: &Service,
    ) -> Option<Verdict> {
        if status_text.is_some() {
            self.status_text = status_text;
        }
        if alive && self.ready_since.is_some() {
            self.watchdog_due = cfg.watchdog.map(|w| now + w);
        }
        let by_notify = matches!(
            cfg.ready.as_ref().map(|r| &r.way),
            Some(ReadyWay::Notify(_))
        );
        if ready && by_notify && self.ready_since.is_none() && self.give_up_at.is_some() {
            self.become_ready(now, cfg);
            return Some(Verdict::Ready);
        }
        None
    }

    pub fn is_ready(&self) -> bool {
        self.ready_since.is_some()
    }

    pub fn status_text(&self) -> Option<&str> {
        self.status_text.as_deref()
    }

    /// For `status`'s NOTE: why the run is not ready yet, or why its health checks fail.
    pub fn trouble(&self, cfg: &Service) -> Option<String> {
        let why = self.last_failure.as_deref()?;
        Some(match (self.ready_since, self.unhealthy, &cfg.health) {
            (None, _, _) => format!("not ready: {why}"),
            (Some(_), true, _) => format!("unhealthy: {why}"),
            (Some(_), false, Some(h)) => {
                format!(
                    "health check failed {} of {}: {why}",
                    self.failures, h.retries
                )
            }
            (Some(_), false, None) => return None,
        })
    }

    pub fn health(&self, cfg: &Service, running: bool) -> HealthState {
        match (&cfg.health, self.unhealthy) {
            (Some(_), true) => HealthState::Unhealthy,
            (Some(_), false) if running && self.is_ready() && self.health_answered => {
                HealthState::Healthy
            }
            (Some(_), false) if running && self.is_ready() => HealthState::Pending,
            _ => HealthState::Unchecked,
        }
    }

    /// The seq of the network check under way.
    #[cfg(test)]
    pub fn net_in_flight(&self) -> Option<u32> {
        self.in_flight.filter(|f| !f.command).map(|f| f.seq)
    }

    // ---- pieces ----

    /// The check in effect: the ready check until the run is ready, the health check after
    /// (None: nothing to try, or the service notifies).
    fn current<'c>(&self, cfg: &'c Service) -> Option<Current<'c>> {
        match (&cfg.ready, &cfg.health, self.ready_since) {
            (Some(r), _, None) => match &r.way {
                ReadyWay::Check(check) => Some(Current {
                    check,
                    interval: r.interval,
                    timeout: r.try_timeout(),
                }),
                ReadyWay::Notify(_) => None,
            },
            (_, Some(h), Some(_)) => Some(Current {
                check: &h.check,
                interval: h.interval,
                timeout: h.timeout,
            }),
            _ => None,
        }
    }

    fn become_ready(&mut self, now: Instant, cfg: &Service) {
        self.ready_since = Some(now);
        self.watchdog_due = cfg.watchdog.map(|w| now + w);
        self.give_up_at = None;
        self.failures = 0;
        self.last_failure = None;
        self.next_try = cfg.health.as_ref().map(|h| now + h.interval);
    }

    fn answered(
        &mut self,
        now: Instant,
        flight: InFlight,
        result: Result<(), String>,
        cfg: &Service,
        out: &mut Out,
    ) -> Option<Verdict> {
        self.in_flight = None;
        match result {
            Ok(()) if self.ready_since.is_none() => {
                self.become_ready(now, cfg);
                Some(Verdict::Ready)
            }
            Ok(()) => {
                self.health_answered = true;
                if self.failures > 0 {
                    out.log(
                        Level::Info,
                        format!("{}: health check passes again", cfg.name),
                    );
                }
                self.failures = 0;
                self.last_failure = None;
                self.next_try = self
                    .current(cfg)
                    .map(|c| next(flight.started, now, c.interval));
                None
            }
            Err(why) => self.failed(now, flight.started, cfg, why, out),
        }
    }

    /// A try failed (or timed out): the next is scheduled; health counts it.
    fn failed(
        &mut self,
        now: Instant,
        started: Instant,
        cfg: &Service,
        why: String,
        out: &mut Out,
    ) -> Option<Verdict> {
        let name = &cfg.name;
        let Some(ready_since) = self.ready_since else {
            out.log(Level::Debug, format!("{name}: not ready yet: {why}"));
            self.last_failure = Some(why);
            self.next_try = self.current(cfg).map(|c| next(started, now, c.interval));
            return None;
        };
        let health = cfg.health.as_ref()?;
        self.health_answered = true;
        self.next_try = Some(next(started, now, health.interval));
        if now.saturating_duration_since(ready_since) < health.start_period {
            out.log(
                Level::Debug,
                format!("{name}: health check failed within start_period: {why}"),
            );
            return None;
        }
        self.failures += 1;
        if self.failures >= health.retries {
            self.unhealthy = true;
            self.last_failure = Some(why.clone());
            return Some(Verdict::Unhealthy(why));
        }
        out.log(
            Level::Info,
            format!(
                "{name}: health check failed ({} of {} in a row): {why}",
                self.failures, health.retries
            ),
        );
        self.last_failure = Some(why);
        None
    }

    /// Sends the next try: a network check to the runtime, or a command as a child.
    fn launch(&mut self, now: Instant, id: ServiceId, cfg: &Service, out: &mut Out) {
        let Some(Current { check, timeout, .. }) = self.current(cfg) else {
            return;
        };
        self.next_try = None;
        self.seq = self.seq.wrapping_add(1);
        let command = matches!(check, Check::Command(_));
        self.in_flight = Some(InFlight {
            seq: self.seq,
            pid: None,
            command,
            started: now,
            deadline: now + timeout,
        });
        match check {
            Check::Net(probe) => out.actions.push_back(Action::Check {
                id,
                seq: self.seq,
                probe: probe.clone(),
            }),
            Check::Command(script) => {
                let argv = shell(script).into_iter().map(OsString::from).collect();
                let mut plan = SpawnPlan::new(argv, Grouping::Session);
                plan.env = cfg.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
                plan.directory.clone_from(&cfg.directory);
                plan.credentials.clone_from(&cfg.credentials);
                plan.stdio = Stdio::Null;
                out.spawn(Owner::Check(id), plan);
            }
        }
    }

    /// Cuts the try under way short.
    fn cancel(&mut self, id: ServiceId, out: &mut Out) {
        match self.in_flight.take() {
            Some(InFlight { pid: Some(pid), .. }) => out.abandon(pid, libc::SIGKILL),
            // Its spawn is under way: `spawned` answers false, and the child is killed then.
            Some(InFlight { command: true, .. }) | None => {}
            Some(InFlight { command: false, .. }) => {
                out.actions.push_back(Action::CancelCheck(id));
            }
        }
    }
}

/// The next try: an interval after the last one began, and not in the past.
fn next(started: Instant, now: Instant, interval: Duration) -> Instant {
    (started + interval).max(now)
}

/// A command check's exit in the words of a failure; None when it passed.
pub(crate) fn command_failure(exit: Exit) -> Option<String> {
    match exit {
        Exit::Code(0) => None,
        exit => Some(format!("check command {exit}")),
    }
}
