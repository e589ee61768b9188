//! Time zones from the system's zoneinfo files (TZif, RFC 8536): the transitions of the
//! file, then its footer's POSIX TZ rule for the years after them. Only what cron needs:
//! the UTC offset at an instant. No embedded database: a zone the system lacks is an error.

use std::path::{Path, PathBuf};

use super::civil::{days_from_civil, weekday, year_of};

/// Where zoneinfo files are looked up; `TZDIR` overrides it, as for the C library.
pub fn zoneinfo_dir() -> PathBuf {
    std::env::var_os("TZDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Zone {
    /// Its name as the config gave it ("UTC" for the default).
    pub name: String,
    /// (instant, offset from then on), sorted by instant.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition (or always, without any).
    initial: i32,
    /// The footer's rule, for instants after the last transition.
    rule: Option<Rule>,
}

/// A POSIX TZ rule: standard offset, and daylight time between two dates of each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    std: i32,
    dst: Option<(i32, DateRule, i32, DateRule, i32)>,
}

/// A day of the year in a TZ rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateRule {
    /// Jn: day 1..=365, February 29 never counted.
    Julian(u16),
    /// n: day 0..=365, February 29 counted.
    Zero(u16),
    /// Mm.w.d: day d (0 = Sunday) of week w (5 = last) of month m.
    Month(u8, u8, u8),
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            ..Zone::default()
        }
    }

    /// The zone called `name` (an IANA name: "Europe/Berlin"), its file in `dir` read by
    /// `read` (the caller's: how upkeep reads every file, in one place).
    pub fn load(
        dir: &Path,
        name: &str,
        read: fn(&Path) -> Result<Vec<u8>, String>,
    ) -> Result<Zone, String> {
        if name == "UTC" || name == "Etc/UTC" {
            return Ok(Zone::utc());
        }
        let valid = !name.is_empty()
            && !name.starts_with('/')
            && name.split('/').all(|part| part != ".." && part != ".")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
        if !valid {
            return Err(format!(
                "{name:?} is not a time zone name such as \"Europe/Berlin\""
            ));
        }
        let path = dir.join(name);
        let bytes = read(&path)
            .map_err(|e| format!("unknown time zone {name:?} ({}: {e})", path.display()))?;
        let mut zone = parse_tzif(&bytes)
            .map_err(|e| format!("time zone {name:?}: {}: {e}", path.display()))?;
        zone.name = name.to_string();
        Ok(zone)
    }

    /// Seconds to add to UTC for local time at instant `t` (unix seconds).
    pub fn offset_at(&self, t: i64) -> i32 {
        let after = self.transitions.partition_point(|&(at, _)| at <= t);
        match (after, self.rule) {
            (n, Some(rule)) if n == self.transitions.len() => rule.offset_at(t),
            (0, _) => self.initial,
            (n, _) => self
                .transitions
                .get(n - 1)
                .map_or(self.initial, |&(_, off)| off),
        }
    }
}

impl Rule {
    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, start_time, end, end_time)) = self.dst else {
            return self.std;
        };
        let year = year_of(t + i64::from(self.std));
        // The change to daylight time happens at a standard-time clock reading, the change
        // back at a daylight-time one.
        let on = start.instant(year) + i64::from(start_time) - i64::from(self.std);
        let off = end.instant(year) + i64::from(end_time) - i64::from(dst);
        let in_dst = if on < off {
            on <= t && t < off
        } else {
            !(off <= t && t < on)
        };
        if in_dst { dst } else { self.std }
    }
}

impl DateRule {
    /// Midnight (local, as unix seconds of that civil day) of the day it names in `year`.
    fn instant(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let day = match self {
            DateRule::Julian(n) => {
                let n = i64::from(n);
                jan1 + n - 1 + i64::from(leap && n >= 60)
            }
            DateRule::Zero(n) => jan1 + i64::from(n),
            DateRule::Month(m, w, d) => {
                let first = days_from_civil(year, u32::from(m), 1);
                let first_wd = i64::from(weekday(first));
                let mut day = first + (i64::from(d) - first_wd).rem_euclid(7);
                day += 7 * (i64::from(w) - 1);
                let next_month = if m == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, u32::from(m) + 1, 1)
                };
                while day >= next_month {
                    day -= 7;
                }
                day
            }
        };
        day * 86_400
    }
}

/// Reads big-endian integers off the front of a byte slice.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated TZif data".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn int(&mut self, n: usize) -> Result<i64, String> {
        let b = self.take(n)?;
        let mut v: i64 = if b.first().is_some_and(|&x| x & 0x80 != 0) {
            -1
        } else {
            0
        };
        for &x in b {
            v = (v << 8) | i64::from(x);
        }
        Ok(v)
    }
}

/// The counts of a TZif header: isut, isstd, leap, time, type, char.
fn header(b: &mut Bytes) -> Result<(u8, [usize; 6]), String> {
    if b.take(4)? != b"TZif" {
        return Err("not a TZif file".into());
    }
    let version = b.take(1)?.first().copied().unwrap_or(0);
    b.take(15)?;
    let mut counts = [0usize; 6];
    for c in &mut counts {
        *c = usize::try_from(b.int(4)?).map_err(|_| "bad TZif header".to_string())?;
    }
    Ok((version, counts))
}

fn parse_tzif(bytes: &[u8]) -> Result<Zone, String> {
    let mut b = Bytes(bytes);
    let (version, counts) = header(&mut b)?;
    let mut width = 4;
    let mut counts = counts;
    if version >= b'2' {
        // Skip the 32-bit block: the 64-bit one after it says the same, and more.
        let [isut, isstd, leap, time, types, chars] = counts;
        b.take(time * 5 + types * 6 + chars + leap * 8 + isstd + isut)?;
        counts = header(&mut b)?.1;
        width = 8;
    }
    let [isut, isstd, leap, time, types, chars] = counts;
    let mut times = Vec::with_capacity(time);
    for _ in 0..time {
        times.push(b.int(width)?);
    }
    let indices = b.take(time)?.to_vec();
    let mut offsets = Vec::with_capacity(types);
    for _ in 0..types {
        let off = b.int(4)?;
        b.take(2)?;
        offsets.push(i32::try_from(off).map_err(|_| "bad UTC offset".to_string())?);
    }
    b.take(chars + leap * (width + 4) + isstd + isut)?;
    let mut transitions = Vec::with_capacity(time);
    for (at, idx) in times.into_iter().zip(indices) {
        let off = offsets
            .get(usize::from(idx))
            .copied()
            .ok_or("bad TZif type index")?;
        transitions.push((at, off));
    }
    let rule = if width == 8 {
        let footer = std::str::from_utf8(b.0).unwrap_or("");
        let tz = footer.trim();
        if tz.is_empty() {
            None
        } else {
            Some(parse_rule(tz)?)
        }
    } else {
        None
    };
    Ok(Zone {
        name: String::new(),
        transitions,
        initial: offsets.first().copied().unwrap_or(0),
        rule,
    })
}

/// A POSIX TZ string, as TZif footers hold them: "CET-1CEST,M3.5.0,M10.5.0/3".
fn parse_rule(tz: &str) -> Result<Rule, String> {
    let bad = || format!("unsupported TZ rule {tz:?}");
    let mut s = tz;
    skip_name(&mut s).ok_or_else(bad)?;
    let std = -hms(&mut s).ok_or_else(bad)?;
    if s.is_empty() {
        return Ok(Rule { std, dst: None });
    }
    skip_name(&mut s).ok_or_else(bad)?;
    let dst = if s.starts_with(',') {
        std + 3600
    } else {
        -hms(&mut s).ok_or_else(bad)?
    };
    let mut s = s.strip_prefix(',').ok_or_else(bad)?;
    let (start, start_time) = date_rule(&mut s).ok_or_else(bad)?;
    let mut s = s.strip_prefix(',').ok_or_else(bad)?;
    let (end, end_time) = date_rule(&mut s).ok_or_else(bad)?;
    if !s.is_empty() {
        return Err(bad());
    }
    Ok(Rule {
        std,
        dst: Some((dst, start, start_time, end, end_time)),
    })
}

/// A zone abbreviation: letters, or anything between < and >.
fn skip_name(s: &mut &str) -> Option<()> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        *s = rest.get(end + 1..)?;
        return Some(());
    }
    let n = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    if n < 3 {
        return None;
    }
    *s = s.get(n..).unwrap_or("");
    Some(())
}

/// [+-]hh[:mm[:ss]] as seconds.
fn hms(s: &mut &str) -> Option<i32> {
    let sign = match s.chars().next()? {
        '-' => -1,
        '+' => 1,
        _ => 0,
    };
    if sign != 0 {
        *s = s.get(1..)?;
    }
    let mut total = 0;
    for (k, unit) in [3600, 60, 1].into_iter().enumerate() {
        if k > 0 {
            match s.strip_prefix(':') {
                Some(rest) => *s = rest,
                None => break,
            }
        }
        let n = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let v: i32 = s.get(..n)?.parse().ok()?;
        *s = s.get(n..)?;
        total += v * unit;
    }
    Some(if sign < 0 { -total } else { total })
}

/// A date rule and its time of day (default 02:00).
fn date_rule(s: &mut &str) -> Option<(DateRule, i32)> {
    let number = |s: &mut &str| -> Option<u16> {
        let n = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let v = s.get(..n)?.parse().ok()?;
        *s = s.get(n..)?;
        Some(v)
    };
    let rule = if let Some(rest) = s.strip_prefix('M') {
        *s = rest;
        let m = number(s)?;
        *s = s.strip_prefix('.')?;
        let w = number(s)?;
        *s = s.strip_prefix('.')?;
        let d = number(s)?;
        if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
            return None;
        }
        DateRule::Month(m as u8, w as u8, d as u8)
    } else if let Some(rest) = s.strip_prefix('J') {
        *s = rest;
        DateRule::Julian(number(s).filter(|n| (1..=365).contains(n))?)
    } else {
        DateRule::Zero(number(s).filter(|n| *n <= 365)?)
    };
    let time = match s.strip_prefix('/') {
        Some(rest) => {
            *s = rest;
            hms(s)?
        }
        None => 7200,
    };
    Some((rule, time))
}

#[cfg(test)]
pub(crate) fn from_rule(name: &str, tz: &str) -> Zone {
    Zone {
        name: name.into(),
        rule: parse_rule(tz).ok(),
        ..Zone::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::civil::unix;

    fn read(path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| e.to_string())
    }

    #[test]
    fn posix_rule_of_central_europe() {
        let z = from_rule("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3");
        // 2026-03-29 01:00 UTC is the change to summer time.
        let change = unix(2026, 3, 29, 1, 0, 0);
        assert_eq!(z.offset_at(change - 1), 3600);
        assert_eq!(z.offset_at(change), 7200);
        // 2026-10-25 01:00 UTC back to winter time.
        let back = unix(2026, 10, 25, 1, 0, 0);
        assert_eq!(z.offset_at(back - 1), 7200);
        assert_eq!(z.offset_at(back), 3600);
    }

    #[test]
    fn posix_rule_of_the_southern_hemisphere() {
        // Sydney: summer time from the first Sunday of October to the first of April.
        let z = from_rule("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3");
        assert_eq!(z.offset_at(unix(2026, 1, 15, 0, 0, 0)), 11 * 3600);
        assert_eq!(z.offset_at(unix(2026, 7, 15, 0, 0, 0)), 10 * 3600);
        // 2026-04-05 03:00 AEDT = 2026-04-04 16:00 UTC.
        let back = unix(2026, 4, 4, 16, 0, 0);
        assert_eq!(z.offset_at(back - 1), 11 * 3600);
        assert_eq!(z.offset_at(back), 10 * 3600);
    }

    #[test]
    fn rules_without_daylight_time_and_odd_names() {
        assert_eq!(from_rule("x", "<+0530>-5:30").offset_at(0), 5 * 3600 + 1800);
        assert_eq!(from_rule("x", "EST5").offset_at(0), -5 * 3600);
        assert!(parse_rule("CET-1CEST,M13.5.0,M10.5.0").is_err());
        assert!(parse_rule("").is_err());
    }

    #[test]
    fn system_zone_files_parse_when_present() {
        let dir = zoneinfo_dir();
        let Ok(z) = Zone::load(&dir, "Europe/Berlin", read) else {
            return; // No zoneinfo on this machine: the rules above still hold.
        };
        assert_eq!(z.offset_at(unix(2026, 7, 1, 0, 0, 0)), 7200);
        assert_eq!(z.offset_at(unix(2026, 1, 1, 0, 0, 0)), 3600);
        assert_eq!(z.offset_at(unix(2100, 7, 1, 0, 0, 0)), 7200);
        assert_eq!(z.offset_at(unix(1970, 1, 1, 0, 0, 0)), 3600);
    }

    #[test]
    fn bad_names_and_files() {
        let dir = zoneinfo_dir();
        assert!(Zone::load(&dir, "../etc/passwd", read).is_err());
        assert!(
            Zone::load(&dir, "Europe/Berln", read)
                .unwrap_err()
                .contains("unknown time zone")
        );
        assert!(parse_tzif(b"TZif2").is_err());
        assert!(parse_tzif(b"not a zone file at all, no").is_err());
        assert_eq!(Zone::load(&dir, "UTC", read).unwrap(), Zone::utc());
    }
}
