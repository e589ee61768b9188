//! Signal names and numbers, as users write them in configs and on the command line.

/// The signal's name without "SIG", as users write it (`TERM`), or its number.
pub fn name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().trim_start_matches("SIG").to_string(),
        Err(_) => {
            #[cfg(target_os = "linux")]
            if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) {
                return format!("RTMIN+{}", sig - libc::SIGRTMIN());
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
    #[cfg(target_os = "linux")]
    {
        let rt = |off: &str| off.parse::<i32>().ok();
        let n = if bare == "RTMIN" {
            Some(libc::SIGRTMIN())
        } else if bare == "RTMAX" {
            Some(libc::SIGRTMAX())
        } else if let Some(off) = bare.strip_prefix("RTMIN+").and_then(rt) {
            Some(libc::SIGRTMIN() + off)
        } else {
            bare.strip_prefix("RTMAX-")
                .and_then(rt)
                .map(|off| libc::SIGRTMAX() - off)
        };
        if let Some(n) = n.filter(|n| (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(n)) {
            return Some(n);
        }
    }
    None
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

    #[cfg(target_os = "linux")]
    #[test]
    fn realtime_signals_round_trip() {
        let n = libc::SIGRTMIN() + 3;
        assert_eq!(name(n), "RTMIN+3");
        assert_eq!(parse("RTMIN+3"), Some(n));
        assert_eq!(parse("RTMAX"), Some(libc::SIGRTMAX()));
    }
}
