//! When a scheduled service runs: a cron expression in a time zone, or `@every D`. Pure:
//! the next tick after a given instant (unix seconds), every DST rule a unit test.

pub mod civil;
pub mod cron;
pub mod zone;

use std::time::Duration;

use civil::{civil_from_days, days_from_civil, days_in_month, weekday};
pub use cron::Cron;
pub use zone::Zone;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Cron(Cron),
    /// Every this long, counted from when the service's schedule began.
    Every(Duration),
}

#[derive(Debug, Clone)]
pub struct Schedule {
    /// As the config wrote it.
    pub text: String,
    pub spec: Spec,
    pub zone: Zone,
}

/// Two schedules are the same when the config says the same (a reload's comparison): the
/// spec follows from the text, and a zone from its name. (A zoneinfo file updated under a
/// running upkeep applies to the services a reload starts, or to all at its restart.)
impl PartialEq for Schedule {
    fn eq(&self, other: &Schedule) -> bool {
        self.text == other.text && self.zone.name == other.zone.name
    }
}

impl Eq for Schedule {}

/// At most this many candidate days and hours are looked at for one tick: a schedule that
/// can fire does so within a few years (29 February on a Monday: 28).
const SEARCH_STEPS: u32 = 200_000;

impl Cron {
    /// The first instant after `t` (unix seconds) at which the expression fires in `zone`.
    /// A local time skipped by a DST change fires once, at the change; a repeated one once,
    /// at its first occurrence.
    pub fn next_after(&self, t: i64, zone: &Zone) -> Option<i64> {
        // Local minutes; start from the minute the clock shows at `t`.
        let mut local = (t + i64::from(zone.offset_at(t))).div_euclid(60);
        for _ in 0..SEARCH_STEPS {
            local = self.next_local(local)?;
            let run = run_instant(local * 60, zone);
            if run > t {
                return Some(run);
            }
            local += 1;
        }
        None
    }

    /// The first local minute at or after `local` whose fields match.
    fn next_local(&self, mut local: i64) -> Option<i64> {
        for _ in 0..SEARCH_STEPS {
            let days = local.div_euclid(1440);
            let (y, m, d) = civil_from_days(days);
            let in_day = local.rem_euclid(1440);
            let (h, mi) = ((in_day / 60) as u32, (in_day % 60) as u32);
            if !self.month_matches(m) {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                local = days_from_civil(ny, nm, 1) * 1440;
            } else if d > days_in_month(y, m) || !self.day_matches(d, weekday(days)) {
                local = (days + 1) * 1440;
            } else if !self.hour_matches(h) {
                local = days * 1440 + i64::from(h + 1) * 60;
            } else if !self.minute_matches(mi) {
                local += 1;
            } else {
                return Some(local);
            }
        }
        None
    }
}

/// When the local time `local` (as local seconds) happens: its only instant; the first of
/// two (a repeated hour); or, skipped by a change, the instant of the change.
fn run_instant(local: i64, zone: &Zone) -> i64 {
    let before = zone.offset_at(local - 86_400);
    let after = zone.offset_at(local + 86_400);
    let valid = |off: i32| {
        let u = local - i64::from(off);
        (zone.offset_at(u) == off).then_some(u)
    };
    match (valid(before), valid(after)) {
        (Some(a), Some(b)) => a.min(b),
        (Some(u), None) | (None, Some(u)) => u,
        (None, None) => {
            // A gap: the change lies between the two readings; find its second.
            let (mut lo, mut hi) = (local - i64::from(after), local - i64::from(before));
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if zone.offset_at(mid) == before {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        }
    }
}

#[cfg(test)]
mod tests {
    use super::civil::{rfc3339, unix};
    use super::zone::from_rule;
    use super::*;

    fn next(expr: &str, zone: &Zone, from: i64) -> String {
        rfc3339(Cron::parse(expr).unwrap().next_after(from, zone).unwrap())
    }

    fn berlin() -> Zone {
        from_rule("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3")
    }

    #[test]
    fn utc_ticks() {
        let z = Zone::utc();
        let t = unix(2026, 12, 5, 14, 7, 30);
        assert_eq!(next("0 3 * * *", &z, t), "2026-12-06T03:00:00Z");
        assert_eq!(next("*/5 * * * *", &z, t), "2026-12-05T14:10:00Z");
        assert_eq!(next("@hourly", &z, t), "2026-12-05T15:00:00Z");
        assert_eq!(next("@monthly", &z, t), "2027-01-01T00:00:00Z");
        assert_eq!(next("@weekly", &z, t), "2026-12-06T00:00:00Z");
        // At a tick exactly, the next one.
        assert_eq!(
            next("0 3 * * *", &z, unix(2026, 12, 6, 3, 0, 0)),
            "2026-12-07T03:00:00Z"
        );
        // 29 February.
        assert_eq!(next("0 0 29 2 *", &z, t), "2028-02-29T00:00:00Z");
        // Day of month or day of week.
        assert_eq!(next("0 0 13 * fri", &z, t), "2026-12-11T00:00:00Z");
        assert_eq!(Cron::parse("0 0 31 2 *").unwrap().next_after(t, &z), None);
    }

    #[test]
    fn in_a_zone() {
        let z = berlin();
        // 03:00 in Berlin in winter is 02:00 UTC, in summer 01:00 UTC.
        assert_eq!(
            next("0 3 * * *", &z, unix(2026, 12, 5, 12, 0, 0)),
            "2026-12-06T02:00:00Z"
        );
        assert_eq!(
            next("0 3 * * *", &z, unix(2026, 7, 5, 12, 0, 0)),
            "2026-07-06T01:00:00Z"
        );
    }

    #[test]
    fn a_time_skipped_by_dst_runs_once_at_the_change() {
        let z = berlin();
        // 2026-03-29: 02:00 local jumps to 03:00 (01:00 UTC).
        let change = unix(2026, 3, 29, 1, 0, 0);
        let eve = unix(2026, 3, 28, 12, 0, 0);
        assert_eq!(next("30 2 * * *", &z, eve), rfc3339(change));
        // The next day 02:30 exists again.
        assert_eq!(next("30 2 * * *", &z, change), "2026-03-30T00:30:00Z");
        // Every 15 minutes of the skipped hour: one run at the change, then 03:15.
        let expr = "*/15 * * * *";
        let first = Cron::parse(expr)
            .unwrap()
            .next_after(change - 60, &z)
            .unwrap();
        assert_eq!(first, change);
        let second = Cron::parse(expr).unwrap().next_after(first, &z).unwrap();
        assert_eq!(rfc3339(second), "2026-03-29T01:15:00Z");
    }

    #[test]
    fn a_time_repeated_by_dst_runs_once() {
        let z = berlin();
        // 2026-10-25: 03:00 local goes back to 02:00 (at 01:00 UTC); 02:30 happens at
        // 00:30 UTC and again at 01:30 UTC.
        let eve = unix(2026, 10, 24, 12, 0, 0);
        let first = Cron::parse("30 2 * * *")
            .unwrap()
            .next_after(eve, &z)
            .unwrap();
        assert_eq!(rfc3339(first), "2026-10-25T00:30:00Z");
        let again = Cron::parse("30 2 * * *")
            .unwrap()
            .next_after(first, &z)
            .unwrap();
        assert_eq!(rfc3339(again), "2026-10-26T01:30:00Z");
        // Hourly jobs do not run twice in the repeated hour.
        let hourly = Cron::parse("0 * * * *").unwrap();
        let t = hourly.next_after(unix(2026, 10, 25, 0, 30, 0), &z).unwrap();
        assert_eq!(rfc3339(t), "2026-10-25T02:00:00Z");
    }

    #[test]
    fn southern_hemisphere_changes() {
        let z = from_rule("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3");
        // 2026-10-04 02:00 AEST -> 03:00 AEDT (2026-10-03 16:00 UTC): 02:30 is skipped.
        let t = Cron::parse("30 2 * * *")
            .unwrap()
            .next_after(unix(2026, 10, 3, 0, 0, 0), &z)
            .unwrap();
        assert_eq!(rfc3339(t), "2026-10-03T16:00:00Z");
    }
}
