//! The router's half that turns an event about a process into its machine's input, and
//! the index that finds services by name and by `after` edge without a scan.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::Action;
use super::main_cmd::{self, MainCmd};
use super::service::{self, ServiceRun};
use super::{Core, Level, Mode, Out, Owner, ServiceId, checks, watch};
use crate::types::{Exit, ProcInfo, signame};

impl Core {
    // ---- routing ----

    pub(super) fn route(&mut self, now: Instant, owner: Owner, what: Routed) {
        match owner {
            Owner::Main => {
                let shutting_down = self.shutting_down();
                let mut out = out!(self);
                let Some(main) = self.main.as_mut() else {
                    out.bug(format!("{what:?} for a COMMAND that was not given"));
                    return;
                };
                let input = match what {
                    Routed::Spawned(pid) => main_cmd::Input::Spawned(pid),
                    Routed::SpawnFailed(status, reason) => {
                        main_cmd::Input::SpawnFailed(status, reason)
                    }
                    Routed::Exited(pid, exit) => main_cmd::Input::Exited(pid, exit),
                    Routed::GroupProbed(_) => {
                        out.bug("a group probe for COMMAND".into());
                        return;
                    }
                };
                let loud = self.mode == Mode::Supervise;
                if let Some(status) = main.handle(input, loud, shutting_down, &mut out) {
                    self.begin_shutdown(now, None, Some(status));
                }
            }
            Owner::Service(id) => {
                let input = match what {
                    Routed::Spawned(pid) => service::Input::Spawned(pid),
                    Routed::SpawnFailed(status, reason) => {
                        service::Input::SpawnFailed { status, reason }
                    }
                    Routed::Exited(pid, exit) => service::Input::Exited { pid, exit },
                    Routed::GroupProbed(alive) => service::Input::GroupProbed(alive),
                };
                self.feed_service(now, id, input);
            }
            Owner::Alert(id) => {
                let input = match what {
                    Routed::Spawned(pid) => service::Input::AlertSpawned(pid),
                    Routed::SpawnFailed(_, reason) => service::Input::AlertFailed(reason),
                    Routed::Exited(pid, exit) => service::Input::AlertExited { pid, exit },
                    Routed::GroupProbed(_) => return,
                };
                self.feed_service(now, id, input);
            }
            Owner::Diagnose(id) => {
                let input = match what {
                    Routed::Spawned(pid) => service::Input::DiagnoseSpawned(pid),
                    Routed::SpawnFailed(_, reason) => service::Input::DiagnoseFailed(reason),
                    Routed::Exited(pid, exit) => service::Input::DiagnoseExited { pid, exit },
                    Routed::GroupProbed(_) => return,
                };
                self.feed_service(now, id, input);
            }
            Owner::Check(id) => {
                let input = match what {
                    Routed::Spawned(pid) => service::Input::CheckSpawned(pid),
                    Routed::SpawnFailed(_, reason) => service::Input::CheckDone {
                        pid: None,
                        result: Err(reason),
                    },
                    Routed::Exited(pid, exit) => {
                        let why = checks::command_failure(exit);
                        let result = match &why {
                            None => Ok(()),
                            Some(why) => Err(why.as_str()),
                        };
                        self.feed_service(
                            now,
                            id,
                            service::Input::CheckDone {
                                pid: Some(pid),
                                result,
                            },
                        );
                        return;
                    }
                    Routed::GroupProbed(_) => return,
                };
                self.feed_service(now, id, input);
            }
            Owner::Watch(id) => {
                let mut out = out!(self);
                let input = match what {
                    Routed::Spawned(pid) => watch::Input::Spawned(pid),
                    Routed::SpawnFailed(_, reason) => watch::Input::SpawnFailed(reason),
                    Routed::Exited(pid, exit) => watch::Input::Exited { pid, exit },
                    Routed::GroupProbed(_) => return,
                };
                match self.watches.get_mut(&id) {
                    Some(run) => run.handle(now, input, &mut out),
                    // Removed by a reload while its command ran: nothing more to do.
                    None => {
                        if let watch::Input::Spawned(pid) = input {
                            out.abandon(pid, libc::SIGTERM);
                        }
                    }
                }
            }
        }
    }

    /// Feeds one input to one service and acts on what it reports.
    pub(super) fn feed_service(&mut self, now: Instant, id: ServiceId, input: service::Input) {
        let shutting_down = self.shutting_down();
        let mut out = out!(self);
        let Some(svc) = self.services.get_mut(&id) else {
            // Gone after a reload removed it; a late answer about it means nothing now,
            // but a process spawned for it must not be left running.
            if let service::Input::Spawned(pid)
            | service::Input::DiagnoseSpawned(pid)
            | service::Input::AlertSpawned(pid)
            | service::Input::CheckSpawned(pid) = input
            {
                out.abandon(pid, libc::SIGKILL);
            }
            return;
        };
        let was_ready = svc.is_ready();
        let was_down = svc.is_down();
        let notice = svc.handle(now, input, &mut out);
        let lost_readiness =
            (was_ready && !svc.is_ready() && !shutting_down).then(|| svc.cfg.name.clone());
        if shutting_down && !was_down && svc.is_down() {
            // What it came after may be free to stop now.
            let index = &self.index;
            let freed = svc.cfg.after.iter().filter_map(|n| index.live.get(n));
            self.stop_candidates.extend(freed);
        }
        if svc.is_retired() && svc.is_down() {
            self.drop_service(id);
        }
        if let Some(name) = lost_readiness {
            self.dependents_carry_on(&name);
        }
        match notice {
            Some(service::Notice::CriticalStopped { status }) => {
                let status = self.main.is_none().then_some(status);
                self.begin_shutdown(now, None, status);
            }
            None => {}
        }
    }

    /// A service that was ready is not any more: what was started after it keeps running,
    /// and the log says so (upkeep does not stop a service because one it needed went away).
    pub(super) fn dependents_carry_on(&mut self, name: &str) {
        let running: Vec<&str> = self
            .listed
            .iter()
            .filter_map(|id| self.services.get(id))
            .filter(|s| s.cfg.after.iter().any(|a| a == name) && s.process().is_some())
            .map(|s| s.cfg.name.as_str())
            .collect();
        if !running.is_empty() {
            let text = format!(
                "{name} is not ready any more; what started after it keeps running: {}",
                running.join(", ")
            );
            self.log(Level::Info, text);
        }
    }

    pub(super) fn stranger_reaped(&mut self, now: Instant, pid: i32, exit: Exit) {
        // An orphan reparented to upkeep, or a leftover of a service's group.
        let warn = self.main.as_ref().is_some_and(MainCmd::warn_on_reap);
        if warn || self.debug {
            let level = if warn { Level::Warn } else { Level::Debug };
            self.actions
                .push_back(Action::Log(level, main_cmd::reaped_zombie(pid, exit)));
        }
        let cleaning: Vec<ServiceId> = self
            .services
            .iter()
            .filter(|(_, s)| s.is_cleaning())
            .map(|(id, _)| *id)
            .collect();
        for id in cleaning {
            self.feed_service(now, id, service::Input::StrangerReaped);
        }
    }

    pub(super) fn signal(&mut self, now: Instant, sig: i32) {
        let supervising = self.mode == Mode::Supervise;
        if supervising && stops_everything(sig) {
            if self.shutting_down() {
                self.log(
                    Level::Info,
                    format!("second {}: killing everything now", signame::name(sig)),
                );
                self.kill_everything(now);
            } else {
                self.log(
                    Level::Info,
                    format!("{}: stopping everything", signame::name(sig)),
                );
                // COMMAND gets INT as it came; LXC's and systemd's stop signals become TERM.
                let to_main = if sig == libc::SIGINT {
                    sig
                } else {
                    libc::SIGTERM
                };
                self.begin_shutdown(now, Some(to_main), None);
            }
            return;
        }
        if supervising && sig == libc::SIGHUP {
            self.actions.push_back(Action::Reload);
            return;
        }
        let mut out = out!(self);
        match self.main.as_mut() {
            Some(main) => main.forward(sig, &mut out),
            None => out.log(
                Level::Debug,
                format!(
                    "signal {} with no command to forward it to",
                    signame::name(sig)
                ),
            ),
        }
    }

    /// One scan serves every watch that is due (None: the scan failed).
    pub(super) fn process_table(&mut self, now: Instant, procs: Option<&[ProcInfo]>) {
        self.scan_pending = false;
        if self.shutting_down() {
            return;
        }
        let mut own: Vec<i32> = self.owners.keys().copied().collect();
        own.sort_unstable();
        let mut out = out!(self);
        for run in self.watches.values_mut() {
            if run.scan_at().is_none_or(|t| t > now) {
                continue;
            }
            let input = match procs {
                Some(procs) => watch::Input::Scanned {
                    running: run.is_running_in(procs, &own),
                },
                None => watch::Input::ScanFailed,
            };
            run.handle(now, input, &mut out);
        }
    }
}

/// Where to find services by name and by `after` edge without a scan.
#[derive(Debug, Default)]
pub(super) struct ServiceIndex {
    /// The live (listed) services by name.
    pub(super) live: HashMap<String, ServiceId>,
    /// For each name, every service (live or retired) whose `after` names it.
    after_it: HashMap<String, Vec<ServiceId>>,
    /// Retired services still running, by name: their successors wait for them.
    pub(super) retiring: HashMap<String, Vec<ServiceId>>,
}

impl ServiceIndex {
    pub(super) fn build(
        services: &BTreeMap<ServiceId, Box<ServiceRun>>,
        listed: &[ServiceId],
    ) -> ServiceIndex {
        let mut index = ServiceIndex::default();
        for id in listed {
            if let Some(s) = services.get(id) {
                index.live.insert(s.cfg.name.clone(), *id);
            }
        }
        for (id, s) in services {
            for dep in &s.cfg.after {
                index.after_it.entry(dep.clone()).or_default().push(*id);
            }
            if s.is_retired() {
                index
                    .retiring
                    .entry(s.cfg.name.clone())
                    .or_default()
                    .push(*id);
            }
        }
        index
    }

    /// The services that come after `name` (a dropped one is skipped by the caller).
    pub(super) fn dependents(&self, name: &str) -> &[ServiceId] {
        self.after_it.get(name).map_or(&[], Vec::as_slice)
    }

    pub(super) fn forget_retired(&mut self, name: &str, id: ServiceId) {
        if let Some(ids) = self.retiring.get_mut(name) {
            ids.retain(|r| *r != id);
            if ids.is_empty() {
                self.retiring.remove(name);
            }
        }
    }
}

/// An event about one owner's process, before it is put in that machine's terms.
#[derive(Debug, Clone, Copy)]
pub(super) enum Routed<'a> {
    Spawned(i32),
    SpawnFailed(i32, &'a str),
    Exited(i32, Exit),
    GroupProbed(bool),
}

/// The signals that stop everything under a config: TERM and INT, and on Linux the ones
/// container managers stop an init with: PWR (LXC) and 37, SIGRTMIN+3 as systemd, podman
/// and LXC count it (not the C library's SIGRTMIN + 3: musl's SIGRTMIN is 35).
pub(super) fn stops_everything(sig: i32) -> bool {
    const SIGPWR: i32 = 30;
    const SYSTEMD_RTMIN_PLUS_3: i32 = 37;
    sig == libc::SIGTERM
        || sig == libc::SIGINT
        || (cfg!(target_os = "linux") && (sig == SIGPWR || sig == SYSTEMD_RTMIN_PLUS_3))
}
