//! How a run ends: stopped on request, dead on its own, or failed by its checks, and the
//! one line that says so with what comes next.

use std::time::{Duration, Instant};

use super::{Diagnostic, Goal, Next, Process, ServiceRun, ms_of};
use crate::core::{EventFields, Level, Out, Owner};
use crate::types::{Exit, fmt_duration, signame};

impl ServiceRun {
    /// The main process, asked to stop, is gone: what is left of its group is cleaned up.
    pub(super) fn stopped(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        kill_at: Option<Instant>,
        exit: Exit,
        out: &mut Out,
    ) {
        let name = self.cfg.name.clone();
        let ran = now.saturating_duration_since(since);
        self.last_run = Some((pid, ran));
        self.flush_output(out);
        // Asked to stop, it did: a signal is the way it was told, not a crash.
        let how = match exit {
            Exit::Signal(sig) => format!(" ({})", signame::name(sig)),
            Exit::Code(_) => format!(": {exit}"),
        };
        let fields = EventFields {
            event: "stopped",
            service: name.clone(),
            pid: Some(pid),
            exit: Some(exit),
            uptime_ms: Some(ms_of(ran)),
            restart: None,
        };
        let text = format!("{name} stopped{how} after {}", fmt_duration(ran));
        out.event(Level::Info, text, fields);
        self.policy.last_exit = Some(exit);
        // The stop signal went to the whole group already.
        self.process = Process::Cleaning {
            pgid: pid,
            signalled: true,
            kill_at,
        };
        out.probe(Owner::Service(self.id), pid);
    }

    /// The main process died on its own.
    pub(super) fn died(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        exit: Exit,
        out: &mut Out,
    ) {
        let uptime = now.saturating_duration_since(since);
        self.last_run = Some((pid, uptime));
        self.flush_output(out);
        self.policy.last_exit = Some(exit);
        if self.diagnostic.is_some() {
            // A failing run, diagnosed before its stop: what follows was decided already.
            self.end_diagnostic(out);
            let uptime = fmt_duration(uptime);
            out.log(
                Level::Info,
                format!("{} {exit} after {uptime}", self.cfg.name),
            );
            return self.start_cleaning(pid, out);
        }
        self.checks.stop(self.id, out);
        self.policy
            .count_run(&self.cfg, uptime, self.cfg.succeeded(exit));
        let next = self
            .policy
            .decide(&self.cfg, Some(exit), self.goal == Goal::Up);
        let what = format!("{} {exit} after {}", self.cfg.name, fmt_duration(uptime));
        let last = self
            .output
            .as_ref()
            .and_then(|h| h.tail.last_line())
            .map(|l| format!("; last output: \"{l}\""));
        self.log_end(now, what, Some((pid, uptime)), last.as_deref(), out);
        let Some(script) = self
            .cfg
            .diagnose
            .as_deref()
            .filter(|_| self.diagnoses(next))
        else {
            return self.start_cleaning(pid, out);
        };
        let ending = match exit {
            Exit::Code(c) => ("UPKEEP_EXIT_CODE", c.to_string()),
            Exit::Signal(n) => ("UPKEEP_EXIT_SIGNAL", signame::name(n)),
        };
        let plan = self.diagnose_plan(script, pid, uptime, ending);
        self.process = Process::Dead { pgid: pid };
        self.diagnostic = Some(Diagnostic {
            pid: None,
            kill_at: now + self.cfg.diagnose_timeout,
        });
        out.spawn(Owner::Diagnose(self.id), plan);
    }

    /// A run that is not ready in time, or unhealthy, ends like a quick death: the line that
    /// says so, the diagnostic while it still runs, then a stop and the usual spacing.
    pub(super) fn fail_run(
        &mut self,
        now: Instant,
        pid: i32,
        since: Instant,
        what: String,
        why: (&'static str, String),
        out: &mut Out,
    ) {
        self.checks.stop(self.id, out);
        self.stopped_failing = true;
        self.policy.quick_deaths += 1;
        // Checks stop in a shutdown, so a failed run is never one of its moments.
        let next = self.policy.decide(&self.cfg, None, true);
        // The spacing counts from the end of the stop, not yet known.
        let then = self.policy.what_next(&self.cfg, false, None);
        let fields = EventFields {
            event: match why.0 {
                "UPKEEP_UNHEALTHY" => "unhealthy",
                "UPKEEP_NOT_READY" => "not_ready",
                _ => "run_failed",
            },
            service: self.cfg.name.clone(),
            pid: Some(pid),
            uptime_ms: Some(ms_of(now.saturating_duration_since(since))),
            restart: (next == Next::Restart).then_some(self.policy.restarts),
            exit: None,
        };
        out.event(
            Level::Warn,
            format!("{what}; stopping it, then {then}"),
            fields,
        );
        let diagnose = self.cfg.diagnose.clone().filter(|_| self.diagnoses(next));
        let Some(script) = diagnose else {
            return self.stop_running(now, next, out);
        };
        let uptime = now.saturating_duration_since(since);
        let plan = self.diagnose_plan(&script, pid, uptime, why);
        self.diagnostic = Some(Diagnostic {
            pid: None,
            kill_at: now + self.cfg.diagnose_timeout,
        });
        out.spawn(Owner::Diagnose(self.id), plan);
    }

    /// Whether the end of a run gets the diagnostic: before a restart, and after any failed
    /// run of a job.
    pub(super) fn diagnoses(&self, next: Next) -> bool {
        next == Next::Restart
            || (self.cfg.is_job()
                && self.policy.last_ok == Some(false)
                && matches!(next, Next::Schedule | Next::Fail))
    }

    /// The one line that says how a run ended and what comes next: `run` is its pid and
    /// how long it ran (None: it never started).
    pub(super) fn log_end(
        &self,
        now: Instant,
        what: String,
        run: Option<(i32, Duration)>,
        last_output: Option<&str>,
        out: &mut Out,
    ) {
        let wait = self
            .policy
            .next_start(&self.cfg, now)
            .saturating_duration_since(now);
        let shutting_down = self.goal == Goal::ShuttingDown;
        let next = match self.policy.next {
            Next::Schedule => self.next_run_text(now, &out.wall),
            _ => self.policy.what_next(&self.cfg, shutting_down, Some(wait)),
        };
        let level = if self.policy.next == Next::Fail {
            Level::Warn
        } else {
            Level::Info
        };
        let fields = EventFields {
            event: if self.policy.next == Next::Fail {
                "gave_up"
            } else {
                "exited"
            },
            service: self.cfg.name.clone(),
            pid: run.map(|(pid, _)| pid),
            exit: self.policy.last_exit,
            uptime_ms: run.map(|(_, up)| ms_of(up)),
            restart: (self.policy.next == Next::Restart).then_some(self.policy.restarts),
        };
        let text = format!("{what}; {next}{}", last_output.unwrap_or(""));
        out.event(level, text, fields);
    }
}
