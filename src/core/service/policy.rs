//! The restart policy's bookkeeping: quick deaths, restarts, when the next start may come,
//! when to give up, and the words the log uses for what comes next.

use std::time::{Duration, Instant};

use crate::config::{Restart, Service};
use crate::core::spacing;
use crate::types::{Exit, fmt_duration};

/// What follows once a service's process (and what is left of its group) is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Next {
    /// Start again once the spacing allows.
    Restart,
    /// Start again at once, no spacing: a requested restart.
    StartNow,
    #[default]
    Down,
    /// Gave up: `give_up_after` quick deaths in a row; or a oneshot that failed and is
    /// not retried.
    Fail,
    /// A scheduled service waits for its next tick.
    Schedule,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub last_start: Option<Instant>,
    pub quick_deaths: u32,
    pub restarts: u32,
    pub last_exit: Option<Exit>,
    /// Whether the last run succeeded (exited with a success code), once one has ended.
    pub last_ok: Option<bool>,
    /// What the end of the current run leads to; decided when it ends (or is asked to).
    pub next: Next,
}

impl Policy {
    /// A run ended after `uptime`: a quick death unless it ran `stable_after`. A job's
    /// every failed run counts (its retries give up however long each took).
    pub fn count_run(&mut self, cfg: &Service, uptime: Duration, ok: bool) {
        let counts = if cfg.is_job() {
            !ok
        } else {
            uptime < cfg.stable_after
        };
        if !counts {
            self.quick_deaths = 0;
        } else {
            self.quick_deaths += 1;
        }
    }

    /// What the end of a run leads to, by policy, and counts the restart when there is one.
    /// `exit`: how it died, or None for a run that failed its checks (a failure to
    /// `on-failure`); `wanted_up`: nothing asked it to stay down.
    pub fn decide(&mut self, cfg: &Service, exit: Option<Exit>, wanted_up: bool) -> Next {
        let ok = exit.is_some_and(|e| cfg.succeeded(e));
        self.last_ok = Some(ok);
        let wanted = match cfg.restart {
            Restart::Always => true,
            Restart::OnFailure => !ok,
            Restart::Never => false,
        };
        // Where a run that is not retried leaves the service.
        let rest = if cfg.schedule.is_some() {
            Next::Schedule
        } else if ok || !cfg.is_job() {
            Next::Down
        } else {
            Next::Fail
        };
        let gave_up = cfg.give_up_after > 0 && self.quick_deaths >= cfg.give_up_after;
        self.next = if !wanted_up {
            Next::Down
        } else if !wanted {
            rest
        } else if gave_up {
            if rest == Next::Schedule {
                rest
            } else {
                Next::Fail
            }
        } else {
            self.restarts += 1;
            Next::Restart
        };
        self.next
    }

    /// When the next start may come: `restart_delay` after the previous start, doubled for
    /// each consecutive quick death beyond the first, capped at `restart_delay_max`.
    pub fn next_start(&self, cfg: &Service, now: Instant) -> Instant {
        let gap = spacing(cfg.restart_delay, cfg.restart_delay_max, self.quick_deaths);
        self.last_start.map_or(now, |t| t + gap)
    }

    /// What comes next, in the words of the log; `restart_in`: the spacing, when known.
    pub fn what_next(
        &self,
        cfg: &Service,
        shutting_down: bool,
        restart_in: Option<Duration>,
    ) -> String {
        match (self.next, restart_in) {
            (Next::Restart, Some(wait)) => format!(
                "restarting in {} (restart {})",
                fmt_duration(wait),
                self.restarts
            ),
            (Next::Restart, None) => format!("restarting it (restart {})", self.restarts),
            (Next::StartNow, _) => "restarting it (request)".to_string(),
            (Next::Down, _) if shutting_down => "not restarting: shutting down".to_string(),
            (Next::Down, _) if cfg.is_job() && self.last_ok == Some(true) => "done".to_string(),
            (Next::Down, _) => format!("not restarting (restart = {})", cfg.restart.as_str()),
            (Next::Fail, _) if cfg.is_job() && cfg.restart == Restart::Never => {
                "state failed (restart = never)".to_string()
            }
            (Next::Fail, _) => format!(
                "giving up after {} quick deaths in a row; state failed",
                self.quick_deaths
            ),
            (Next::Schedule, _) => "waiting for the next run".to_string(),
        }
    }
}
