//! Durations and sizes as users write them: "100ms", "10s", "1h30m"; "32KiB", "10MB".

use std::time::Duration;

/// "100ms", "10s", "1.5s", "5m", "1h", "1h30m".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let value: f64 = num.parse().map_err(|_| {
            format!("bad duration {text:?}: expected e.g. \"100ms\", \"10s\", \"5m\"")
        })?;
        let scale = match unit.trim() {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "bad duration {text:?}: give a unit (ms, s, m, h), or an integer for seconds"
                ));
            }
            u => {
                return Err(format!(
                    "bad duration {text:?}: unknown unit {u:?} (ms, s, m, h)"
                ));
            }
        };
        total += value * scale;
        rest = next;
    }
    if !(0.0..=1e9).contains(&total) {
        return Err(format!("bad duration {text:?}: out of range"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// "4096", "512B", "32KiB", "10MB", "1.5GiB": KB/MB/GB are powers of 1,000, KiB/MiB/GiB of
/// 1,024; a bare number is bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("bad size {text:?}: expected e.g. \"32KiB\", \"10MB\" or bytes"))?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "bad size {text:?}: unknown unit {u:?} (B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = value * scale;
    if !(0.0..=1e15).contains(&bytes) {
        return Err(format!("bad size {text:?}: out of range"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("32KiB"), Ok(32 * 1024));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("7 B"), Ok(7));
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("").is_err());
    }
}
