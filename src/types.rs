//! The bottom of the module graph: plain data every layer shares (how a process ended, one
//! row of the process table, the ids a child runs as, what to spawn), signal names and the
//! display of durations. It uses no other module of upkeep.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell's convention: the exit code, or 128+N for death by signal N.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(n) => 128 + n,
        }
    }

    /// The short form of status tables: "status 1", "signal KILL".
    pub fn short(self) -> String {
        match self {
            Exit::Code(c) => format!("status {c}"),
            Exit::Signal(n) => format!("signal {}", signame::name(n)),
        }
    }
}

/// The log's form: "exited with status 1", "killed by signal KILL".
impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited with status {c}"),
            Exit::Signal(n) => write!(f, "killed by signal {}", signame::name(*n)),
        }
    }
}

/// One process, as much as matching by name needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    /// The kernel's name for it (truncated: 15 bytes on Linux, 19 on FreeBSD).
    pub comm: String,
    /// Basename of argv[0], when it could be read and differs from `comm`.
    pub argv0: Option<String>,
    /// FreeBSD: basename of the script an interpreter runs. Its kernel names a `#!`
    /// script's process after the interpreter, where Linux's `comm` is the script's name.
    pub script: Option<String>,
    pub zombie: bool,
}

/// Ids to switch to before exec, resolved beforehand (resolution reads files and allocates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// How a child relates to process groups and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Own process group, made the terminal's foreground group when stdin is a terminal (tini):
    /// Ctrl-C and Ctrl-Z reach the command, not upkeep.
    ForegroundGroup,
    /// Own session (so own group, no controlling terminal): signalled as a whole with killpg.
    Session,
}

/// A service's id: stable for the service's whole life, never reused within a run. A
/// service changed by a reload is a new service with a new id; the old one stops under its.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub u32);

/// Where a child's stdout and stderr go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stdio {
    /// upkeep's own (COMMAND, `output = "inherit"`).
    Inherit,
    /// /dev/null.
    Null,
    /// One pipe for both, each line logged as `LABEL: line` (diagnostics, watch commands).
    Logged(String),
    /// The service's two pipes, made at its first start and kept across its restarts, so
    /// nothing written just before a death is lost; read lines go to `sink`.
    Service {
        id: ServiceId,
        name: String,
        sink: Sink,
    },
}

/// Where a service's lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// upkeep's log: `TIMESTAMP NAME: line`, `TIMESTAMP NAME[stderr]: line`.
    Log,
    /// A file of its own: `TIMESTAMP line`, rotated before it would pass `max_size`.
    File {
        path: PathBuf,
        max_size: u64,
        keep: u32,
        /// Created owned by this uid and gid (the service's user).
        owner: Option<(u32, u32)>,
    },
}

/// Everything needed to start one child: the runtime carries it out as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnPlan {
    pub argv: Vec<OsString>,
    /// Added to upkeep's own environment (a name set here replaces the inherited one).
    pub env: Vec<(OsString, OsString)>,
    pub directory: Option<PathBuf>,
    pub credentials: Option<Credentials>,
    pub grouping: Grouping,
    /// stdin from /dev/null (services, diagnostics) rather than upkeep's own (COMMAND).
    pub stdin_null: bool,
    pub stdio: Stdio,
    /// A diagnostic's copy of its service's recent output: the runtime writes it to a file
    /// named in `UPKEEP_OUTPUT_TAIL`, removed once the diagnostic has ended.
    pub output_tail: Option<Vec<u8>>,
    /// A service that tells upkeep when it is ready: the runtime sets up the channel.
    pub notify: Option<Notify>,
    /// COMMAND under socket activation: the listening descriptors upkeep was given.
    pub listen: Option<ListenFds>,
    /// rlimits, umask, nice, oom_score_adj: applied in the child before exec.
    pub tuning: Option<Box<Tuning>>,
}

/// Socket activation (`LISTEN_FDS`): descriptors 3 .. 3+count-1 were passed to upkeep for
/// COMMAND, which gets them with `LISTEN_PID` set to its own pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenFds {
    pub count: i32,
    /// `LISTEN_FDNAMES`, passed on unchanged.
    pub names: Option<OsString>,
}

/// What a service's child gets set before exec (`limits`, `umask`, `nice`, `oom_score_adj`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tuning {
    pub limits: Vec<Limit>,
    pub umask: Option<u32>,
    pub nice: Option<i32>,
    pub oom_score_adj: Option<i32>,
}

/// One rlimit: `RLIM_INFINITY` is `u64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
}

/// The rlimit names a config may use, each with whether it counts bytes (then a size with
/// a unit may be given), and its number: setrlimit's RLIMIT_ names, lower case, on this
/// system.
// The casts: glibc numbers them as u32, musl and FreeBSD as i32.
#[allow(clippy::unnecessary_cast)]
pub const LIMIT_NAMES: &[(&str, bool, i32)] = &[
    ("as", true, libc::RLIMIT_AS as i32),
    ("core", true, libc::RLIMIT_CORE as i32),
    ("cpu", false, libc::RLIMIT_CPU as i32),
    ("data", true, libc::RLIMIT_DATA as i32),
    ("fsize", true, libc::RLIMIT_FSIZE as i32),
    #[cfg(not(target_os = "linux"))]
    ("kqueues", false, libc::RLIMIT_KQUEUES as i32),
    #[cfg(target_os = "linux")]
    ("locks", false, libc::RLIMIT_LOCKS as i32),
    ("memlock", true, libc::RLIMIT_MEMLOCK as i32),
    #[cfg(target_os = "linux")]
    ("msgqueue", true, libc::RLIMIT_MSGQUEUE as i32),
    #[cfg(target_os = "linux")]
    ("nice", false, libc::RLIMIT_NICE as i32),
    ("nofile", false, libc::RLIMIT_NOFILE as i32),
    #[cfg(not(target_os = "linux"))]
    ("npts", false, libc::RLIMIT_NPTS as i32),
    ("nproc", false, libc::RLIMIT_NPROC as i32),
    ("rss", true, libc::RLIMIT_RSS as i32),
    #[cfg(target_os = "linux")]
    ("rtprio", false, libc::RLIMIT_RTPRIO as i32),
    #[cfg(target_os = "linux")]
    ("rttime", false, libc::RLIMIT_RTTIME as i32),
    #[cfg(not(target_os = "linux"))]
    ("sbsize", true, libc::RLIMIT_SBSIZE as i32),
    #[cfg(target_os = "linux")]
    ("sigpending", false, libc::RLIMIT_SIGPENDING as i32),
    ("stack", true, libc::RLIMIT_STACK as i32),
    #[cfg(not(target_os = "linux"))]
    ("swap", true, libc::RLIMIT_SWAP as i32),
    #[cfg(not(target_os = "linux"))]
    ("umtxp", false, libc::RLIMIT_UMTXP as i32),
];

impl SpawnPlan {
    pub fn new(argv: Vec<OsString>, grouping: Grouping) -> SpawnPlan {
        SpawnPlan {
            argv,
            env: Vec::new(),
            directory: None,
            credentials: None,
            grouping,
            stdin_null: true,
            stdio: Stdio::Inherit,
            output_tail: None,
            notify: None,
            listen: None,
            tuning: None,
        }
    }
}

/// How a service says it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// `READY=1` in a datagram to the socket named in `$NOTIFY_SOCKET` (sd_notify).
    Systemd,
    /// A newline written to this descriptor (s6's notification-fd).
    Fd(i32),
}

/// A check made over the network, by the runtime, without blocking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetProbe {
    /// Passes once a TCP connection succeeds.
    Tcp(std::net::SocketAddr),
    /// Passes on a 2xx or 3xx answer to `GET path` (HTTP/1.1, `Host: host`).
    Http {
        addr: std::net::SocketAddr,
        host: String,
        path: String,
    },
}

/// The argv that runs `script` with the shell: the one place `/bin/sh -c` is written.
pub fn shell(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

/// "0.012s", "3.2s", "2m05s", "1h02m": short and exact enough for a log line.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 3600.0 {
        let m = d.as_secs() / 60;
        format!("{}h{:02}m", m / 60, m % 60)
    } else if secs >= 60.0 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else if secs >= 1.0 || d.is_zero() {
        let text = format!("{secs:.1}");
        format!("{}s", text.trim_end_matches(".0"))
    } else {
        let text = format!("{secs:.3}");
        match text.trim_end_matches('0').trim_end_matches('.') {
            // Under a millisecond.
            "0" => "0s".to_string(),
            short => format!("{short}s"),
        }
    }
}

/// Signal names and numbers, as users write them in configs and on the command line.
pub mod signame {
    pub fn name(sig: i32) -> String {
        match nix::sys::signal::Signal::try_from(sig) {
            Ok(s) => s.as_str().trim_start_matches("SIG").to_string(),
            Err(_) => {
                let rt = realtime();
                if rt.contains(&sig) {
                    return format!("RTMIN+{}", sig - rt.start());
                }
                sig.to_string()
            }
        }
    }

    /// Parses `TERM`, `SIGTERM`, `sigterm` or `15`.
    pub fn parse(text: &str) -> Option<i32> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i32>() {
            return (1..=max_signal()).contains(&n).then_some(n);
        }
        let upper = text.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        let full = format!("SIG{bare}");
        if let Ok(s) = full.parse::<nix::sys::signal::Signal>() {
            return Some(s as i32);
        }
        let rt = realtime();
        let offset = |off: &str| off.parse::<i32>().ok();
        let n = if bare == "RTMIN" {
            Some(*rt.start())
        } else if bare == "RTMAX" {
            Some(*rt.end())
        } else if let Some(off) = bare.strip_prefix("RTMIN+").and_then(offset) {
            rt.start().checked_add(off)
        } else {
            bare.strip_prefix("RTMAX-")
                .and_then(offset)
                .and_then(|off| rt.end().checked_sub(off))
        };
        n.filter(|n| rt.contains(n))
    }

    /// FreeBSD's SIGRTMIN to SIGRTMAX (sys/signal.h): fixed, libc keeps none of them.
    pub const FREEBSD_REALTIME: std::ops::RangeInclusive<i32> = 65..=126;

    /// This OS's real-time signals.
    pub fn realtime() -> std::ops::RangeInclusive<i32> {
        #[cfg(target_os = "linux")]
        return libc::SIGRTMIN()..=libc::SIGRTMAX();
        #[cfg(target_os = "freebsd")]
        return FREEBSD_REALTIME;
    }

    pub fn max_signal() -> i32 {
        #[cfg(target_os = "linux")]
        return libc::SIGRTMAX();
        #[cfg(not(target_os = "linux"))]
        return 128;
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_names_numbers_and_prefixes() {
            assert_eq!(parse("TERM"), Some(libc::SIGTERM));
            assert_eq!(parse("sigterm"), Some(libc::SIGTERM));
            assert_eq!(parse("SIGKILL"), Some(libc::SIGKILL));
            assert_eq!(parse("9"), Some(9));
            assert_eq!(parse("hup"), Some(libc::SIGHUP));
            assert_eq!(parse("NOPE"), None);
            assert_eq!(parse("0"), None);
            assert_eq!(parse("1000"), None);
        }

        #[test]
        fn names_drop_the_sig_prefix() {
            assert_eq!(name(libc::SIGKILL), "KILL");
            assert_eq!(name(libc::SIGWINCH), "WINCH");
            assert_eq!(parse(&name(libc::SIGUSR2)), Some(libc::SIGUSR2));
        }

        #[test]
        fn realtime_signals_round_trip() {
            let rt = realtime();
            let n = rt.start() + 3;
            assert_eq!(name(n), "RTMIN+3");
            assert_eq!(parse("RTMIN+3"), Some(n));
            assert_eq!(parse("RTMAX"), Some(*rt.end()));
            assert_eq!(parse("RTMAX-1"), Some(rt.end() - 1));
            assert_eq!(parse("RTMIN+1000"), None);
            assert_eq!(parse(&format!("RTMIN+{}", i32::MAX)), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        let ms = Duration::from_millis;
        assert_eq!(fmt_duration(ms(0)), "0s");
        assert_eq!(fmt_duration(Duration::from_micros(300)), "0s");
        assert_eq!(fmt_duration(ms(12)), "0.012s");
        assert_eq!(fmt_duration(ms(400)), "0.4s");
        assert_eq!(fmt_duration(ms(3200)), "3.2s");
        assert_eq!(fmt_duration(ms(10_000)), "10s");
        assert_eq!(fmt_duration(ms(125_000)), "2m05s");
        assert_eq!(fmt_duration(ms(3_720_000)), "1h02m");
    }

    #[test]
    fn exits_read_two_ways() {
        assert_eq!(Exit::Code(1).to_string(), "exited with status 1");
        assert_eq!(Exit::Signal(9).to_string(), "killed by signal KILL");
        assert_eq!(Exit::Signal(9).short(), "signal KILL");
        assert_eq!(Exit::Signal(15).status(), 143);
    }
}
