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
    /// Gave up: `give_up_after` quick deaths in a row.
    Fail,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub last_start: Option<Instant>,
    pub quick_deaths: u32,
    pub restarts: u32,
    pub last_exit: Option<Exit>,
    /// What the end of the current run leads to; decided when it ends (or is asked to).
    pub next: Next,
}

impl Policy {
    /// A run ended after `uptime`: a quick death unless it ran `stable_after`.
    pub fn count_run(&mut self, cfg: &Service, uptime: Duration) {
        if uptime >= cfg.stable_after {
            self.quick_deaths = 0;
        } else {
            self.quick_deaths += 1;
        }
    }

    /// What the end of a run leads to, by policy, and counts the restart when there is one.
    /// `exit`: how it died, or None for a run that failed its checks (a failure to
    /// `on-failure`); `wanted_up`: nothing asked it to stay down.
    pub fn decide(&mut self, cfg: &Service, exit: Option<Exit>, wanted_up: bool) -> Next {
        let wanted = match cfg.restart {
            Restart::Always => true,
            Restart::OnFailure => exit != Some(Exit::Code(0)),
            Restart::Never => false,
        };
        self.next = if !wanted_up || !wanted {
            Next::Down
        } else if cfg.give_up_after > 0 && self.quick_deaths >= cfg.give_up_after {
            Next::Fail
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
            (Next::Down, _) => format!("not restarting (restart = {})", cfg.restart.as_str()),
            (Next::Fail, _) => format!(
                "giving up after {} quick deaths in a row; state failed",
                self.quick_deaths
            ),
        }
    }
}
