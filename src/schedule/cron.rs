//! Cron expressions as crontab(5) has them: five fields (minute hour day-of-month month
//! day-of-week), each `*`, a number, a range, a list, with `/step`; month and day names;
//! and the @hourly ... @yearly shorthands.

/// The minutes, hours, days, months and weekdays that match, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday 0.
    weekdays: u8,
    /// Day-of-month and day-of-week both restricted (neither starts with `*`): a day
    /// matches when either does, as in cron.
    either_day: bool,
    day_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's spec: its name for messages, its range, its names.
struct Field {
    what: &'static str,
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
    /// The first name's number (jan = 1, sun = 0).
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        what: "minute",
        lo: 0,
        hi: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        what: "hour",
        lo: 0,
        hi: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        what: "day of month",
        lo: 1,
        hi: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        what: "month",
        lo: 1,
        hi: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday too.
    Field {
        what: "day of week",
        lo: 0,
        hi: 7,
        names: &DAYS,
        names_from: 0,
    },
];

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let expanded = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@reboot" => {
                return Err("@reboot is not a schedule: use type = \"oneshot\"".into());
            }
            other if other.starts_with('@') => {
                return Err(format!(
                    "unknown {other:?}: use @hourly, @daily, @weekly, @monthly, @yearly or \"@every DURATION\""
                ));
            }
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week); {:?} has {}",
                text,
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        for ((part, field), slot) in parts.iter().zip(FIELDS.iter()).zip(bits.iter_mut()) {
            *slot = parse_field(part, field)?;
        }
        let [minutes, hours, days, months, weekdays] = bits;
        // Sunday as 7 is Sunday as 0.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        let starred = |k: usize| parts.get(k).is_some_and(|p| p.starts_with('*'));
        Ok(Cron {
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            either_day: !starred(2) && !starred(4),
            day_star: starred(2),
        })
    }

    /// Can fire at all: some month has one of the days (February counted as 29 days).
    pub fn can_fire(&self) -> bool {
        if self.either_day && self.weekdays != 0 {
            return true;
        }
        (1..=12u32).any(|m| {
            self.month_matches(m)
                && (1..=super::civil::days_in_month(2000, m)).any(|d| self.days & (1 << d) != 0)
        })
    }

    pub fn minute_matches(&self, m: u32) -> bool {
        self.minutes & (1 << m) != 0
    }

    pub fn hour_matches(&self, h: u32) -> bool {
        self.hours & (1 << h) != 0
    }

    pub fn month_matches(&self, m: u32) -> bool {
        self.months & (1 << m) != 0
    }

    /// Day `d` of the month, a `weekday` (0 = Sunday): matches by cron's day rule.
    pub fn day_matches(&self, d: u32, weekday: u32) -> bool {
        let by_date = self.days & (1 << d) != 0;
        let by_weekday = self.weekdays & (1 << weekday) != 0;
        if self.either_day {
            by_date || by_weekday
        } else if self.day_star {
            by_weekday
        } else {
            by_date
        }
    }
}

fn parse_field(text: &str, f: &Field) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("{}: bad step {s:?} in {text:?}", f.what))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (f.lo, f.hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, f)?, value(b, f)?)
        } else {
            let v = value(range, f)?;
            // `5/15` means 5 to the end, every 15.
            (v, if step > 1 { f.hi } else { v })
        };
        if lo > hi {
            return Err(format!("{}: range {range:?} runs backwards", f.what));
        }
        for v in (lo..=hi).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

fn value(word: &str, f: &Field) -> Result<u32, String> {
    let lower = word.to_ascii_lowercase();
    if let Some(k) = f.names.iter().position(|n| *n == lower) {
        return Ok(k as u32 + f.names_from);
    }
    match word.parse::<u32>() {
        Ok(v) if (f.lo..=f.hi).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "{}: {v} is out of range ({}-{})",
            f.what, f.lo, f.hi
        )),
        Err(_) => Err(format!(
            "{}: {word:?} is not a number{}",
            f.what,
            names_hint(f)
        )),
    }
}

fn names_hint(f: &Field) -> String {
    match (f.names.first(), f.names.last()) {
        (Some(a), Some(b)) => format!(" or a name ({a} ... {b})"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lists_ranges_steps_and_names() {
        let c = Cron::parse("*/15 9-17 * jan,Jul mon-fri").unwrap();
        assert!(c.minute_matches(0) && c.minute_matches(45) && !c.minute_matches(50));
        assert!(c.hour_matches(9) && c.hour_matches(17) && !c.hour_matches(18));
        assert!(c.month_matches(1) && c.month_matches(7) && !c.month_matches(2));
        assert!(c.day_matches(3, 1) && !c.day_matches(3, 0));
        let c = Cron::parse("5/20 0 1,15 * 7").unwrap();
        assert!(c.minute_matches(5) && c.minute_matches(25) && c.minute_matches(45));
        assert!(!c.minute_matches(0));
        // Both days restricted: either matches.
        assert!(c.day_matches(1, 3) && c.day_matches(2, 0) && !c.day_matches(2, 3));
        assert_eq!(
            Cron::parse("@daily").unwrap(),
            Cron::parse("0 0 * * *").unwrap()
        );
        assert_eq!(
            Cron::parse("@yearly").unwrap(),
            Cron::parse("0 0 1 1 *").unwrap()
        );
    }

    #[test]
    fn bad_fields_say_which_and_why() {
        let err = |t: &str| Cron::parse(t).unwrap_err();
        assert_eq!(err("60 * * * *"), "minute: 60 is out of range (0-59)");
        assert_eq!(err("* 24 * * *"), "hour: 24 is out of range (0-23)");
        assert_eq!(err("* * 0 * *"), "day of month: 0 is out of range (1-31)");
        assert!(err("* * * foo *").contains("month: \"foo\" is not a number or a name"));
        assert!(err("*/0 * * * *").contains("bad step"));
        assert!(err("5-1 * * * *").contains("runs backwards"));
        assert!(err("* * * *").contains("5 fields"));
        assert!(err("@reboot").contains("oneshot"));
        assert!(err("@often").contains("unknown"));
    }

    #[test]
    fn never_firing_schedules_are_found() {
        assert!(!Cron::parse("0 0 31 2 *").unwrap().can_fire());
        assert!(!Cron::parse("0 0 30,31 feb *").unwrap().can_fire());
        assert!(Cron::parse("0 0 29 2 *").unwrap().can_fire());
        assert!(Cron::parse("0 0 31 2 mon").unwrap().can_fire());
    }
}
