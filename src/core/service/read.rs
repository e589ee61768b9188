//! A service's output, and what the router and `status` read of a service.

use std::time::Instant;

#[cfg(test)]
use super::Diagnostic;
use super::{Goal, Process, ServiceRun};
use crate::config::{Restart, ServiceType};
use crate::core::admin::Status;
#[cfg(test)]
use crate::core::checks::Checks;
use crate::core::checks::HealthState;
use crate::core::output::{Heard, TailLine};
use crate::core::{Action, Out, Wall};
use crate::types::Exit;

/// What was heard of a service's output, made at its first line.
fn heard(output: &mut Option<Box<Heard>>, cap: usize) -> &mut Heard {
    output.get_or_insert_with(|| Box::new(Heard::new(cap)))
}

impl ServiceRun {
    // ---- output ----

    /// Bytes read from its stdout or stderr: whole lines to `line` and to the tail.
    pub fn output(
        &mut self,
        stderr: bool,
        bytes: &[u8],
        unix_ms: i64,
        line: &mut dyn FnMut(&str, bool, &[u8]),
    ) {
        let name = &self.cfg.name;
        heard(&mut self.output, self.cfg.output_tail)
            .feed(stderr, bytes, unix_ms, |l| line(name, stderr, l));
    }

    /// A whole line heard of it elsewhere (syslog) at `unix_ms`, into its tail; its name.
    pub fn heard_line(&mut self, stderr: bool, line: &[u8], unix_ms: i64) -> &str {
        heard(&mut self.output, self.cfg.output_tail)
            .tail
            .record(stderr, line, unix_ms);
        &self.cfg.name
    }

    /// The main process is gone: a last line without a newline is a line now.
    pub(super) fn flush_output(&mut self, out: &mut Out) {
        let Some(heard) = &mut self.output else {
            return;
        };
        let id = self.id;
        heard.flush(out.wall.unix_ms, |stderr, l| {
            out.actions.push_back(Action::ServiceLine {
                id,
                stderr,
                line: l.to_vec(),
            });
        });
    }

    /// Its last `n` lines of output, oldest first.
    pub fn recent_output(&self, n: usize) -> Vec<TailLine> {
        self.output
            .as_ref()
            .map(|h| h.tail.lines(n))
            .unwrap_or_default()
    }

    // ---- what the router and status read ----

    /// The main process and since when, while it runs and no diagnostic has taken over.
    pub(crate) fn running(&self) -> Option<(i32, Instant)> {
        match self.process {
            Process::Running { pid, since } if self.diagnostic.is_none() => Some((pid, since)),
            _ => None,
        }
    }

    pub fn deadline(&self, wall: &Wall) -> Option<Instant> {
        let process = match self.process {
            Process::Backoff { until } => Some(until),
            Process::Running { .. } if self.cfg.is_job() => self.run_deadline(),
            Process::Running { .. } if self.diagnostic.is_none() => self.checks.deadline(),
            Process::Cleaning { kill_at, .. } | Process::Stopping { kill_at, .. } => kill_at,
            _ => None,
        };
        let diagnostic = self.diagnostic.map(|d| d.kill_at);
        let tick = self.tick_deadline(wall);
        let alert = self.alert_deadline();
        process
            .into_iter()
            .chain(diagnostic)
            .chain(tick)
            .chain(alert)
            .min()
    }

    /// A deadline has passed, or a check may go out early to share this wake-up.
    pub fn is_due(&self, now: Instant, wall: &Wall) -> bool {
        self.deadline(wall).is_some_and(|t| t <= now)
            || (self.is_running() && self.checks.try_due(now, &self.cfg))
    }

    pub fn is_waiting(&self) -> bool {
        self.process == Process::Waiting
    }

    /// Running, and no diagnostic has taken over.
    pub fn is_running(&self) -> bool {
        self.running().is_some()
    }

    /// Running, and ready; a oneshot: done.
    pub fn is_ready(&self) -> bool {
        if self.cfg.is_job() {
            return self.is_done();
        }
        self.is_running() && self.checks.is_ready()
    }

    /// A oneshot whose last run succeeded, and that has not been asked to run again.
    pub fn is_done(&self) -> bool {
        self.cfg.kind == ServiceType::Oneshot
            && self.process == Process::Down
            && self.policy.last_ok == Some(true)
    }

    /// The last run of a job failed (what `status` exits 3 for until a run succeeds).
    pub fn run_failed(&self) -> bool {
        self.cfg.is_job() && self.goal != Goal::Held && self.policy.last_ok == Some(false)
    }

    /// What a service that comes `after` it (or COMMAND) waits for: ready now, or ready once
    /// and finished as its policy says, or stopped on request; a oneshot: done; a scheduled
    /// service: its schedule has begun (it never holds others up).
    pub fn lets_others_start(&self) -> bool {
        if self.goal == Goal::Held {
            return true;
        }
        if self.cfg.schedule.is_some() {
            return !self.is_waiting();
        }
        if self.cfg.kind == ServiceType::Oneshot {
            return self.is_done();
        }
        self.is_ready() || (self.ever_ready && self.process == Process::Down)
    }

    /// Down or failed for good without ever having been ready: whatever waits for it would
    /// wait for ever.
    pub fn gave_up_unready(&self) -> bool {
        self.cfg.schedule.is_none()
            && matches!(self.goal, Goal::Up | Goal::ShuttingDown)
            && (self.process == Process::Failed
                || (self.process == Process::Down && !self.ever_ready))
    }

    pub fn health(&self) -> HealthState {
        self.checks.health(&self.cfg, self.is_running())
    }

    /// What `status` notes of it: its own words (`STATUS=`), else why it is not ready or
    /// not healthy.
    pub fn note(&self) -> Option<String> {
        if let Some(why) = self.memory_note() {
            return Some(why.to_string());
        }
        match self.process {
            // Stopped, or done: what an earlier run said or failed at is over.
            Process::Down => None,
            // Between runs: why the last one ended, not what went wrong before it.
            Process::Backoff { .. } | Process::Failed | Process::Dead { .. }
                if !self.stopped_failing =>
            {
                self.policy.last_exit.map(|e| format!("last run {e}"))
            }
            _ => match self.checks.status_text() {
                Some(text) => Some(text.to_string()),
                None => self.checks.trouble(&self.cfg),
            },
        }
    }

    pub fn is_cleaning(&self) -> bool {
        matches!(self.process, Process::Cleaning { .. })
    }

    pub fn is_down(&self) -> bool {
        matches!(self.process, Process::Down | Process::Failed)
    }

    /// Between two runs of its schedule.
    pub fn is_scheduled(&self) -> bool {
        self.process == Process::Scheduled
    }

    pub fn is_retired(&self) -> bool {
        self.goal == Goal::Retired
    }

    pub fn is_held(&self) -> bool {
        self.goal == Goal::Held
    }

    /// Not between two states: what a waiting `start`, `stop` or `restart` waits for.
    pub fn is_settled(&self) -> bool {
        match self.process {
            // Started but not ready yet is still on its way (`upkeep start` answers once the
            // service can be used, or its ready timeout has failed the start).
            // A job's run is what was asked for: `upkeep start` does not wait for its end.
            Process::Running { .. } if self.cfg.is_job() => self.diagnostic.is_none(),
            Process::Running { .. } => self.diagnostic.is_none() && self.checks.is_ready(),
            Process::Backoff { .. }
            | Process::Down
            | Process::Failed
            | Process::Waiting
            | Process::Scheduled => true,
            Process::Spawning
            | Process::Stopping { .. }
            | Process::Dead { .. }
            | Process::Cleaning { .. } => false,
        }
    }

    /// Nothing runs and nothing is under way: a reload may swap its definition in place.
    pub fn is_idle(&self) -> bool {
        matches!(
            self.process,
            Process::Down
                | Process::Failed
                | Process::Waiting
                | Process::Backoff { .. }
                | Process::Scheduled
        )
    }

    /// The main process and since when it runs, while there is one.
    pub fn process(&self) -> Option<(i32, Instant)> {
        match self.process {
            Process::Running { pid, since } | Process::Stopping { pid, since, .. } => {
                Some((pid, since))
            }
            _ => None,
        }
    }

    pub fn restarts(&self) -> u32 {
        self.policy.restarts
    }

    pub fn last_exit(&self) -> Option<Exit> {
        self.policy.last_exit
    }

    pub fn status(&self, shutting_down: bool) -> Status {
        if self.diagnostic.is_some() {
            return Status::Diagnosing;
        }
        match self.process {
            Process::Waiting => Status::Waiting,
            Process::Spawning => Status::Starting,
            Process::Running { .. } if self.cfg.is_job() => Status::Running,
            Process::Running { .. } if !self.checks.is_ready() => Status::Starting,
            Process::Running { .. } => Status::Running,
            Process::Dead { .. } => Status::Diagnosing,
            Process::Cleaning { .. } => Status::Cleaning,
            Process::Backoff { .. } => Status::Backoff,
            Process::Stopping { .. } => Status::Stopping,
            Process::Down if self.goal == Goal::Held => Status::Stopped,
            Process::Down => {
                // Down is fine when its policy says it is done, or in a shutdown.
                let finished = match (self.cfg.restart, self.policy.last_ok) {
                    (_, None) => true,
                    (Restart::Never | Restart::OnFailure, Some(ok)) => ok,
                    (Restart::Always, Some(_)) => false,
                };
                if finished || shutting_down {
                    Status::Done
                } else {
                    Status::Down
                }
            }
            Process::Failed => Status::Failed,
            Process::Scheduled => Status::Scheduled,
        }
    }

    #[cfg(test)]
    pub fn checks(&self) -> &Checks {
        &self.checks
    }

    #[cfg(test)]
    pub fn state(&self) -> (Process, Option<Diagnostic>) {
        (self.process, self.diagnostic)
    }
}
