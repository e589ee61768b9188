//! News of a service's readiness and health checks, and what their verdicts lead to.

use std::time::Instant;

use super::{Input, ServiceRun};
use crate::core::checks::Verdict;
use crate::core::{EventFields, Level, Out};
use crate::types::fmt_duration;

impl ServiceRun {
    /// News of the readiness and health checks: they count only while the service runs
    /// and no diagnostic has taken over.
    pub(super) fn on_check(&mut self, now: Instant, input: Input, out: &mut Out) {
        use Input as I;
        let Some((pid, since)) = self.running() else {
            match input {
                // A check cut short before its pid was known, or one of an earlier run.
                I::CheckSpawned(pid) => out.abandon(pid, libc::SIGKILL),
                // The answer to a try cut short: the run it checked has ended.
                I::CheckDone { .. } | I::Checked { .. } | I::Notified { .. } | I::Rechecked => {}
                _ => out.bug(format!(
                    "service {}: {input:?} is not a check's",
                    self.cfg.name
                )),
            }
            return;
        };
        let verdict = match input {
            I::CheckSpawned(check) => {
                if !self.checks.spawned(check) {
                    out.abandon(check, libc::SIGKILL);
                }
                None
            }
            I::CheckDone { pid: check, result } => {
                if let Some(check) = check.filter(|&c| !self.checks.runs_command(c)) {
                    out.bug(format!(
                        "service {}: check pid {check} matches no check under way",
                        self.cfg.name
                    ));
                }
                let result = result.map_err(str::to_string);
                self.checks.command_done(now, check, result, &self.cfg, out)
            }
            I::Checked { seq, result } => {
                let result = result.map_err(str::to_string);
                self.checks.net_done(now, seq, result, &self.cfg, out)
            }
            I::Notified {
                ready,
                status,
                alive,
            } => {
                let text = status.map(str::to_string);
                self.checks.notified(now, ready, text, alive, &self.cfg)
            }
            I::Rechecked => {
                self.checks.reconfigure(now, self.id, &self.cfg, out);
                self.ever_ready |= self.checks.is_ready();
                None
            }
            _ => {
                out.bug(format!(
                    "service {}: {input:?} is not a check's",
                    self.cfg.name
                ));
                None
            }
        };
        self.verdict(now, pid, since, verdict, out);
    }

    /// What a check's verdict leads to.
    pub(super) fn verdict(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        verdict: Option<Verdict>,
        out: &mut Out,
    ) {
        let name = &self.cfg.name;
        match verdict {
            None => {}
            Some(Verdict::Ready) => {
                self.ever_ready = true;
                let after = fmt_duration(now.saturating_duration_since(since));
                let fields = EventFields {
                    event: "ready",
                    service: name.clone(),
                    pid: Some(pid),
                    ..EventFields::default()
                };
                out.event(Level::Info, format!("{name} ready after {after}"), fields);
            }
            Some(Verdict::NotReady(why)) => {
                let what = format!("{name} {why}");
                self.fail_run(now, pid, since, what, ("UPKEEP_NOT_READY", why), out);
            }
            Some(Verdict::Unhealthy(why)) => {
                let what = format!("{name} unhealthy: {why}");
                let run = (pid, now.saturating_duration_since(since));
                let alert_why = ("UPKEEP_UNHEALTHY", why.clone());
                self.alert(now, "unhealthy", run, alert_why, out);
                self.fail_run(now, pid, since, what, ("UPKEEP_UNHEALTHY", why), out);
            }
        }
    }
}
