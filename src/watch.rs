//! Finding a watched daemon in the process table by name. Pure: the table comes in.

/// One process, as much as matching by name needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    /// The kernel's name for it (truncated: 15 bytes on Linux, 19 on FreeBSD).
    pub comm: String,
    /// Basename of argv[0], when it could be read and differs from `comm`.
    pub argv0: Option<String>,
    pub zombie: bool,
}

/// How many bytes of a name the kernel keeps as `comm`.
pub const COMM_MAX: usize = if cfg!(target_os = "freebsd") { 19 } else { 15 };

/// The name as the kernel keeps it in `comm`: cut to `COMM_MAX` bytes (on a char boundary).
fn as_comm(name: &str) -> &str {
    if name.len() <= COMM_MAX {
        return name;
    }
    let mut end = COMM_MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or(name)
}

/// Whether `p` is a live process called `name`: its comm (after the kernel's truncation)
/// or the basename of its argv[0] equals it. Zombies never count.
pub fn matches(name: &str, p: &ProcInfo) -> bool {
    !p.zombie && (p.comm == as_comm(name) || p.argv0.as_deref() == Some(name))
}

/// Whether any process but the excluded ones (upkeep and what it forked) is called `name`.
pub fn is_running(name: &str, procs: &[ProcInfo], excluded: impl Fn(i32) -> bool) -> bool {
    procs.iter().any(|p| !excluded(p.pid) && matches(name, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, comm: &str, argv0: Option<&str>, zombie: bool) -> ProcInfo {
        ProcInfo {
            pid,
            ppid: 1,
            comm: comm.into(),
            argv0: argv0.map(str::to_string),
            zombie,
        }
    }

    #[test]
    fn comm_argv0_truncation_and_zombies() {
        assert!(matches("httpd", &p(1, "httpd", None, false)));
        assert!(matches("httpd", &p(1, "apache2", Some("httpd"), false)));
        assert!(!matches("httpd", &p(1, "httpd", None, true)));
        assert!(!matches("http", &p(1, "httpd", None, false)));
        let long = "a-twenty-char-daemon";
        assert_eq!(long.len(), 20);
        let comm = &long[..COMM_MAX];
        assert!(matches(long, &p(1, comm, None, false)));
        assert!(matches(long, &p(1, "other", Some(long), false)));
    }

    #[test]
    fn excluded_pids_never_match() {
        let table = [p(10, "sleep", None, false), p(11, "sleep", None, true)];
        assert!(is_running("sleep", &table, |_| false));
        assert!(!is_running("sleep", &table, |pid| pid == 10));
    }
}
