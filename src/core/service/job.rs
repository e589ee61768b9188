//! What oneshots and scheduled services add to a service's machine: the ticks of a
//! schedule (the process waits in `Scheduled` between runs), a tick that finds the previous
//! run still going, and `run_timeout`.

use std::time::Instant;

use super::{Goal, Process, ServiceRun};
use crate::core::{Level, Out, Wall};
use crate::schedule::{Spec, civil::rfc3339};
use crate::types::fmt_duration;

/// The next tick of a schedule: a wall-clock second (cron), or an instant (`@every`, counted
/// on the monotonic clock, whatever the wall clock does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    Wall(i64),
    Mono(Instant),
}

impl Tick {
    fn instant(self, wall: &Wall) -> Instant {
        match self {
            Tick::Wall(t) => wall.instant_of(t),
            Tick::Mono(at) => at,
        }
    }
}

impl ServiceRun {
    /// The first tick after `now`, or the one after `fired`.
    fn tick_after(&self, now: Instant, wall: &Wall, fired: Option<Tick>) -> Option<Tick> {
        let schedule = self.cfg.schedule.as_ref()?;
        match (&schedule.spec, fired) {
            (Spec::Every(d), Some(Tick::Mono(at))) => {
                let mut next = at + *d;
                // Ticks missed (a stopped clock, a suspended machine) are not made up.
                while next <= now {
                    next += *d;
                }
                Some(Tick::Mono(next))
            }
            (Spec::Every(d), _) => Some(Tick::Mono(now + *d)),
            (Spec::Cron(cron), fired) => {
                let from = match fired {
                    Some(Tick::Wall(t)) => t.max(wall.unix_at(now)),
                    _ => wall.unix_at(now),
                };
                cron.next_after(from, &schedule.zone).map(Tick::Wall)
            }
        }
    }

    /// Between runs: waiting for the next tick (computed now if there is none yet).
    pub(super) fn enter_schedule(&mut self, now: Instant, out: &mut Out) {
        if self.ticks.is_none() {
            self.ticks = self.tick_after(now, &out.wall, None);
            if self.ticks.is_none() {
                let name = &self.cfg.name;
                out.log(Level::Warn, format!("{name}: its schedule has no next run"));
            }
        }
        self.process = Process::Scheduled;
    }

    /// The instant of the next tick, while one matters (the service is meant to be up).
    pub(super) fn tick_deadline(&self, wall: &Wall) -> Option<Instant> {
        let tick = self.ticks.filter(|_| self.goal == Goal::Up)?;
        Some(tick.instant(wall))
    }

    /// The next run in the log's words: "next run 2026-12-06T02:00:00Z".
    pub fn next_run_text(&self, now: Instant, wall: &Wall) -> String {
        match self.next_run(now, wall) {
            Some(t) => format!("next run {}", rfc3339(t)),
            None => "no next run".to_string(),
        }
    }

    /// The next tick as unix seconds (UTC), for `status`.
    pub fn next_run(&self, now: Instant, wall: &Wall) -> Option<i64> {
        let tick = self.ticks.filter(|_| self.goal == Goal::Up)?;
        Some(match tick {
            Tick::Wall(t) => t,
            Tick::Mono(at) => {
                let ahead = at.saturating_duration_since(now).as_secs() as i64;
                wall.unix_at(now) + ahead
            }
        })
    }

    /// A tick has come: the next one is set, and a run starts unless one still goes or a
    /// service it comes `after` is not up (a oneshot re-run by hand, a daemon restarting).
    pub(super) fn on_tick(&mut self, now: Instant, waiting_for: Option<&str>, out: &mut Out) {
        let fired = self.ticks;
        self.ticks = self.tick_after(now, &out.wall, fired);
        if self.goal != Goal::Up {
            return;
        }
        let name = self.cfg.name.clone();
        match self.process {
            Process::Scheduled | Process::Backoff { .. } | Process::Failed
                if let Some(dep) = waiting_for =>
            {
                let next = self.next_run_text(now, &out.wall);
                out.log(
                    Level::Warn,
                    format!("{name}: run skipped: waiting for {dep}; {next}"),
                );
            }
            Process::Scheduled | Process::Backoff { .. } | Process::Failed => {
                // A new tick is a fresh start: the retries of the last one are over.
                self.policy.quick_deaths = 0;
                self.spawn(out);
            }
            Process::Spawning
            | Process::Running { .. }
            | Process::Stopping { .. }
            | Process::Dead { .. }
            | Process::Cleaning { .. } => {
                let next = self.next_run_text(now, &out.wall);
                out.log(
                    Level::Warn,
                    format!("{name}: run skipped: the previous run is still going; {next}"),
                );
            }
            // Not scheduled yet (waiting for its `after`), or down for good.
            Process::Waiting | Process::Down => {}
        }
    }

    /// Whether a tick is due at `now`.
    pub(super) fn tick_due(&self, now: Instant, wall: &Wall) -> bool {
        self.tick_deadline(wall).is_some_and(|t| t <= now)
    }

    /// When the job's current run is overdue (`run_timeout`).
    pub(super) fn run_deadline(&self) -> Option<Instant> {
        match (self.process, self.cfg.run_timeout) {
            (Process::Running { since, .. }, Some(limit)) if self.diagnostic.is_none() => {
                Some(since + limit)
            }
            _ => None,
        }
    }

    /// The run has gone on past `run_timeout`: it fails, and is stopped.
    pub(super) fn run_overdue(&mut self, now: Instant, pid: i32, since: Instant, out: &mut Out) {
        let limit = self.cfg.run_timeout.map(fmt_duration).unwrap_or_default();
        let what = format!(
            "{} still running after {limit} (run_timeout)",
            self.cfg.name
        );
        self.fail_run(now, pid, since, what, ("UPKEEP_RUN_TIMEOUT", limit), out);
    }
}
