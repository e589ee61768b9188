//! `upkeep logs`: services' tails, one or merged in time order, and why a silent one is.

use super::Core;
use super::admin::Target;
use crate::config::Output;

/// One line of `upkeep logs`: whose, when it was read (unix milliseconds), its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub name: String,
    pub unix_ms: i64,
    pub text: Vec<u8>,
}

/// What `upkeep logs` answers: the lines, oldest first, and a note for each named service
/// that has nothing to show.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Logs {
    /// The services asked about, in the config's order.
    pub names: Vec<String>,
    pub lines: Vec<LogLine>,
    pub notes: Vec<String>,
}

impl Core {
    /// The last `n` lines of each of `names` (every service when empty), merged in the
    /// order they were read. Kept after a service died or was stopped.
    pub fn logs(&self, names: &[String], n: usize) -> Result<Logs, String> {
        let ids = if names.is_empty() {
            self.listed.clone()
        } else {
            let mut ids = Vec::with_capacity(names.len());
            for (target, name) in self.resolve(names)?.into_iter().zip(names) {
                match target {
                    Target::Service(id) => ids.push(id),
                    _ => {
                        return Err(format!(
                            "{name} is not a service: upkeep keeps the output of its services only"
                        ));
                    }
                }
            }
            ids
        };
        let mut logs = Logs::default();
        // Lines with the time they are ordered by: never earlier than the service's line
        // before (a wall clock stepped back must not reorder one service's lines).
        let mut timed = Vec::new();
        let mut silent = Vec::new();
        for svc in ids.iter().filter_map(|id| self.services.get(id)) {
            if logs.names.contains(&svc.cfg.name) {
                continue;
            }
            logs.names.push(svc.cfg.name.clone());
            let lines = svc.recent_output(n);
            if lines.is_empty() {
                silent.push(&svc.cfg);
            }
            let mut order = i64::MIN;
            for (unix_ms, text) in lines {
                order = order.max(unix_ms);
                let name = svc.cfg.name.clone();
                timed.push((
                    order,
                    LogLine {
                        name,
                        unix_ms,
                        text,
                    },
                ));
            }
        }
        // Stable: lines of one millisecond keep their service's order.
        timed.sort_by_key(|(order, _)| *order);
        // The newest lines that fit the answer: it is built in upkeep's memory.
        let mut bytes = 0;
        let keep = timed
            .iter()
            .rev()
            .take_while(|(_, l)| {
                bytes += l.text.len() + l.name.len() + 48;
                bytes <= LOGS_REPLY_MAX
            })
            .count();
        // All services asked for, many of them quiet: one line, not a screenful.
        if names.is_empty() && silent.len() > SILENT_NOTES_MAX {
            let quiet: Vec<&str> = silent.iter().map(|c| c.name.as_str()).collect();
            logs.notes.push(format!(
                "{} services have written nothing: {}; `upkeep logs NAME` says why for one",
                quiet.len(),
                quiet.join(", ")
            ));
        } else {
            let listening = self.settings.syslog_listen.is_some();
            logs.notes
                .extend(silent.iter().map(|cfg| silence(cfg, listening)));
        }
        if keep < timed.len() {
            logs.notes.push(format!(
                "older lines left out: one answer holds at most {} MiB",
                LOGS_REPLY_MAX >> 20
            ));
        }
        let skip = timed.len() - keep;
        logs.lines = timed.into_iter().skip(skip).map(|(_, l)| l).collect();
        Ok(logs)
    }
}

/// More silent services than this, all asked for, are named in one note.
const SILENT_NOTES_MAX: usize = 5;

/// Most bytes of lines in one `upkeep logs` answer (with 1,000 services' tails of 32 KiB
/// all asked for, the newest of them).
const LOGS_REPLY_MAX: usize = 4 << 20;

/// Why `upkeep logs` shows nothing of a service: where its output goes (and whether
/// syslog messages could have come in under its name).
fn silence(cfg: &crate::config::Service, syslog_listening: bool) -> String {
    let name = &cfg.name;
    match &cfg.output {
        Output::Null => format!("{name}: nothing to show; output = \"null\" discards its output"),
        Output::Inherit => format!(
            "{name}: nothing to show; output = \"inherit\" hands its output to upkeep's own \
             stdout and stderr, unread"
        ),
        _ if cfg.output_tail == 0 => {
            format!("{name}: nothing to show; output_tail = 0 keeps none of its output")
        }
        Output::File(path) => {
            format!(
                "{name} has written nothing; output = {:?}",
                path.display().to_string()
            )
        }
        Output::Log if syslog_listening => format!(
            "{name} has written nothing; output = \"log\", and no syslog message came \
             tagged {name}"
        ),
        Output::Log => format!(
            "{name} has written nothing; output = \"log\" (a daemon that logs only to \
             syslog needs [supervisor] syslog_listen)"
        ),
    }
}
