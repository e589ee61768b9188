//! What goes into the core (`Event`) and what comes out of it (`Action`): all a runtime
//! needs to know of the core, in the core's own terms.

use super::{Level, Owner, ServiceId};
use crate::types::{Exit, NetProbe, ProcInfo, SpawnPlan};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Spawned {
        owner: Owner,
        pid: i32,
    },
    /// Fork or exec failed; `status` is the shell's code for it (126/127), `reason` the words.
    SpawnFailed {
        owner: Owner,
        status: i32,
        reason: String,
    },
    /// A child was reaped: known or a stranger (an orphan reparented to upkeep).
    Exited {
        pid: i32,
        exit: Exit,
    },
    /// A signal other than CHLD reached upkeep.
    Signal(i32),
    /// The answer to `Action::ProbeGroup`: whether any process is left in the group.
    GroupProbed {
        owner: Owner,
        alive: bool,
    },
    /// waitpid reported that upkeep has no children left.
    NoChildren,
    /// The answer to `Action::Scan`: the process table, upkeep itself left out.
    ProcessTable(Vec<ProcInfo>),
    /// The answer to `Action::Scan` when the table could not be read: nothing is started.
    ScanFailed(String),
    /// The answer to `Action::SampleMemory`: each group's resident memory in bytes.
    MemorySampled(Vec<(ServiceId, i32, u64)>),
    /// Whether debug lines are wanted, at start and whenever the log level changes.
    DebugLogging(bool),
    /// The answer to `Action::Check`: passed, or why not.
    Checked {
        id: ServiceId,
        seq: u32,
        result: Result<(), String>,
    },
    /// A service said it is ready (`READY=1`, a newline on its notification fd), or how it
    /// is (`STATUS=...`).
    Notified {
        id: ServiceId,
        ready: bool,
        status: Option<String>,
        /// `WATCHDOG=1`: the service is alive.
        alive: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a child as `plan` says; answer with `Spawned` or `SpawnFailed` for `owner`.
    Spawn {
        owner: Owner,
        plan: Box<SpawnPlan>,
    },
    /// Send `sig` to `pid`, or to its process group.
    Kill {
        pid: i32,
        sig: i32,
        group: bool,
    },
    /// Is anything left in process group `pgid`? Answer with `Event::GroupProbed`.
    ProbeGroup {
        owner: Owner,
        pgid: i32,
    },
    /// Signal every process upkeep may signal (`kill(-1)`): PID 1's last sweep only.
    KillAll(i32),
    /// Read the process table; answer with `Event::ProcessTable`.
    Scan,
    /// The RSS of each service's process group (its pgid; the bytes, 0 here, are the
    /// runtime's to fill in), in one pass over the process table; answer with
    /// `Event::MemorySampled`.
    SampleMemory(Vec<(ServiceId, i32, u64)>),
    /// Re-read the config file and hand it to `Core::reload` (SIGHUP).
    Reload,
    /// Check `probe` without blocking; answer with `Event::Checked` for `id` and `seq`.
    Check {
        id: ServiceId,
        seq: u32,
        probe: NetProbe,
    },
    /// Abandon the network check under way for `id`: its answer is not wanted any more.
    CancelCheck(ServiceId),
    /// A service's last line, without a newline, once its process has died: to its sink.
    ServiceLine {
        id: ServiceId,
        stderr: bool,
        line: Vec<u8>,
    },
    /// The service is gone for good: close its output pipes and file.
    ReleaseOutput(ServiceId),
    /// After a reload: reopen output files (an external logrotate moved them).
    ReopenOutputs,
    Log(Level, String),
    /// A log line that is an event of a service's too: json and logfmt carry its fields.
    LogEvent(Level, String, Box<EventFields>),
    /// Leave the loop and exit with this status.
    Exit(i32),
}

/// What an event's log line says as data, for the formats that carry it (`log_format`
/// json and logfmt): a log pipeline counts restarts without reading the words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFields {
    /// started, exited, gave_up, ready, unhealthy, stopping, stopped.
    pub event: &'static str,
    pub service: String,
    pub pid: Option<i32>,
    pub exit: Option<Exit>,
    pub uptime_ms: Option<u64>,
    /// The restart this death leads to (its number), when it leads to one.
    pub restart: Option<u32>,
}
