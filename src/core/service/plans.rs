//! What a service's spawns carry: the service's own plan, and its diagnostic's.

use std::ffi::OsString;
use std::time::Duration;

use super::ServiceRun;
use crate::config::{Output, ReadyWay};
use crate::types::{Grouping, Sink, SpawnPlan, Stdio, shell};

impl ServiceRun {
    /// The plan of a new run: its command in its own session, its env, directory and
    /// credentials, where its output goes, and its notification channel.
    pub(super) fn service_plan(&self) -> SpawnPlan {
        let cfg = &self.cfg;
        let mut plan = SpawnPlan::new(
            cfg.command.iter().map(OsString::from).collect(),
            Grouping::Session,
        );
        plan.env = cfg.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        plan.directory.clone_from(&cfg.directory);
        plan.credentials.clone_from(&cfg.credentials);
        plan.tuning.clone_from(&cfg.tuning);
        let sink = match &cfg.output {
            Output::Inherit => None,
            Output::Null => {
                plan.stdio = Stdio::Null;
                None
            }
            Output::Log => Some(Sink::Log),
            Output::File(path) => Some(Sink::File {
                path: path.clone(),
                max_size: cfg.output_max_size,
                keep: cfg.output_keep,
                owner: cfg.credentials.as_ref().map(|c| (c.uid, c.gid)),
            }),
        };
        if let Some(sink) = sink {
            plan.stdio = Stdio::Service {
                id: self.id,
                name: cfg.name.clone(),
                sink,
            };
        }
        if let Some(ReadyWay::Notify(n)) = cfg.ready.as_ref().map(|r| &r.way) {
            plan.notify = Some(*n);
        }
        if let Some(w) = cfg.watchdog {
            plan.env
                .push(("WATCHDOG_USEC".into(), w.as_micros().to_string().into()));
        }
        plan
    }

    /// The diagnostic's plan: what it is told of the service in its environment, and the
    /// service's recent output in a file.
    pub(super) fn diagnose_plan(
        &self,
        script: &str,
        pid: i32,
        uptime: Duration,
        why: (&str, String),
    ) -> SpawnPlan {
        let env = [
            ("UPKEEP_SERVICE", self.cfg.name.clone()),
            ("UPKEEP_PID", pid.to_string()),
            ("UPKEEP_UPTIME_MS", uptime.as_millis().to_string()),
            ("UPKEEP_RESTARTS", self.policy.restarts.to_string()),
            why,
        ];
        let argv = shell(script).into_iter().map(OsString::from).collect();
        let mut plan = SpawnPlan::new(argv, Grouping::Session);
        plan.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        plan.directory.clone_from(&self.cfg.directory);
        plan.stdio = Stdio::Logged(format!("{} diagnose", self.cfg.name));
        plan.output_tail = Some(
            self.output
                .as_ref()
                .map(|h| h.tail.bytes())
                .unwrap_or_default(),
        );
        plan
    }
}
