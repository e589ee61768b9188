//! What "Limits and alerts" adds to a service's machine: `memory_max` (a sampled RSS over
//! it fails the run as a failed health check does) and `on_failure` (a command run beside
//! the machine, never waited for, one at a time).

use std::time::{Duration, Instant};

use super::{Diagnostic, Goal, Input, Next, ServiceRun};
use crate::core::{Level, Out, Owner};
use crate::types::{Exit, Stdio, fmt_duration, signame};

/// "600MiB", "900KiB": memory as the log says it (whole units: a ceiling and a sampling
/// are compared, not measured to the byte).
pub(crate) fn fmt_bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n}B"),
        1024..1048576 => format!("{}KiB", n >> 10),
        _ => format!("{}MiB", n >> 20),
    }
}

impl ServiceRun {
    /// A sampling of its group's memory: over `memory_max`, the run fails as unhealthy.
    /// One for another run (a late answer) is dropped.
    pub(super) fn on_memory(&mut self, now: Instant, pid: i32, rss: u64, out: &mut Out) {
        let Some((running, since)) = self.running().filter(|(p, _)| *p == pid) else {
            return;
        };
        self.rss = Some(rss);
        let Some(max) = self.cfg.memory_max.filter(|max| rss > *max) else {
            return;
        };
        let why = format!("RSS {} over memory_max {}", fmt_bytes(rss), fmt_bytes(max));
        let what = format!("{} unhealthy: {why}", self.cfg.name);
        self.memory_note = Some(why.clone());
        let uptime = now.saturating_duration_since(since);
        self.alert(
            now,
            "unhealthy",
            (running, uptime),
            ("UPKEEP_UNHEALTHY", why.clone()),
            out,
        );
        self.fail_run(now, running, since, what, ("UPKEEP_UNHEALTHY", why), out);
    }

    /// `on_failure` with the diagnose variables and `UPKEEP_EVENT`; skipped (and said so)
    /// while the previous one still runs.
    pub(super) fn alert(
        &mut self,
        now: Instant,
        event: &str,
        (pid, uptime): (i32, Duration),
        why: (&'static str, String),
        out: &mut Out,
    ) {
        let Some(script) = self.cfg.on_failure.as_deref() else {
            return;
        };
        let name = &self.cfg.name;
        if self.alert.is_some() {
            let text = format!("{name} on_failure still running; not run for {event}");
            return out.log(Level::Warn, text);
        }
        let mut plan = self.diagnose_plan(script, pid, uptime, why);
        plan.env.push(("UPKEEP_EVENT".into(), event.into()));
        plan.stdio = Stdio::Logged(format!("{name} on_failure"));
        self.alert = Some(Diagnostic {
            pid: None,
            kill_at: now + self.cfg.diagnose_timeout,
        });
        out.spawn(Owner::Alert(self.id), plan);
    }

    /// At the end of a run that the goal does not explain: `failed` when it gives up,
    /// `run_failed` when a job's run failed.
    pub(super) fn alert_after_run(&mut self, now: Instant, next: Next, out: &mut Out) {
        let failed_run = self.cfg.is_job() && self.policy.last_ok == Some(false);
        let event = match next {
            _ if self.goal != Goal::Up => return,
            Next::Fail => "failed",
            // A run stopped on request (StartNow) did not fail: its last_ok is an earlier
            // run's.
            Next::StartNow => return,
            _ if failed_run => "run_failed",
            _ => return,
        };
        let why = match self.policy.last_exit {
            Some(Exit::Code(c)) => ("UPKEEP_EXIT_CODE", c.to_string()),
            Some(Exit::Signal(n)) => ("UPKEEP_EXIT_SIGNAL", signame::name(n)),
            None => ("UPKEEP_EXIT_CODE", String::new()),
        };
        let run = self.last_run.unwrap_or_default();
        self.alert(now, event, run, why, out);
    }

    /// News of the `on_failure` command. Its exit ends it; whatever it left in its group
    /// is killed, so that a grandchild cannot outlive it.
    pub(super) fn on_alert(&mut self, input: Input, out: &mut Out) {
        let name = &self.cfg.name;
        match (self.alert, input) {
            (Some(Diagnostic { pid: None, kill_at }), Input::AlertSpawned(pid)) => {
                self.alert = Some(Diagnostic {
                    pid: Some(pid),
                    kill_at,
                });
            }
            (_, Input::AlertSpawned(pid)) => out.abandon(pid, libc::SIGKILL),
            (Some(Diagnostic { pid: None, .. }), Input::AlertFailed(reason)) => {
                out.log(
                    Level::Warn,
                    format!("{name} on_failure: cannot run: {reason}"),
                );
                self.alert = None;
            }
            (_, Input::AlertFailed(_)) => {}
            (Some(Diagnostic { pid: Some(a), .. }), Input::AlertExited { pid, exit })
                if a == pid =>
            {
                if exit != Exit::Code(0) {
                    out.log(Level::Warn, format!("{name} on_failure {exit}"));
                }
                out.kill(pid, libc::SIGKILL, true);
                self.alert = None;
            }
            (alert, input) => out.bug(format!(
                "service {name}: {input:?} matches no on_failure ({alert:?})"
            )),
        }
    }

    /// An `on_failure` past `diagnose_timeout` is killed with its group.
    pub(super) fn alert_overdue(&mut self, now: Instant, out: &mut Out) {
        if let Some(a) = self.alert.filter(|a| a.kill_at <= now) {
            let limit = fmt_duration(self.cfg.diagnose_timeout);
            let name = &self.cfg.name;
            let text = format!("{name} on_failure still running after {limit}; killed it");
            out.kill_overdue(a.pid, Level::Warn, text);
            self.alert = None;
        }
    }

    /// The `on_failure` command's pid, while one runs.
    pub fn alert_pid(&self) -> Option<i32> {
        self.alert.and_then(|a| a.pid)
    }

    pub(super) fn alert_deadline(&self) -> Option<Instant> {
        self.alert.map(|a| a.kill_at)
    }

    /// The last sampled RSS of its group, for `status --json` (services with `memory_max`).
    pub fn rss(&self) -> Option<u64> {
        self.rss.filter(|_| self.running().is_some())
    }

    pub(super) fn memory_note(&self) -> Option<&str> {
        self.memory_note.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_bytes;

    #[test]
    fn bytes_as_the_log_says_them() {
        assert_eq!(fmt_bytes(512), "512B");
        assert_eq!(fmt_bytes(900 << 10), "900KiB");
        assert_eq!(fmt_bytes(600 << 20), "600MiB");
        assert_eq!(fmt_bytes(3 << 29), "1536MiB");
    }
}
