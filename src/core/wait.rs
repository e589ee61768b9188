//! `upkeep wait`: whether a status row is in the condition asked for, may still get there,
//! or never will. Decided on the row alone, so that the answer is the one `status` shows.

use super::admin::{Kind, Status, StatusRow};
use super::checks::HealthState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Ready,
    Healthy,
    /// A oneshot ran to success; a scheduled service's last run succeeded.
    Done,
    /// No process of its own runs, and none is on its way.
    Down,
}

impl Condition {
    pub const ALL: [Condition; 4] = [
        Condition::Ready,
        Condition::Healthy,
        Condition::Done,
        Condition::Down,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Ready => "ready",
            Condition::Healthy => "healthy",
            Condition::Done => "done",
            Condition::Down => "down",
        }
    }

    pub fn parse(word: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.as_str() == word)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Met,
    /// Not yet: what it is now (`db: starting, not ready: connection refused`).
    Pending(String),
    /// It can never get there without an operator (`db: failed, not ready`).
    Hopeless(String),
}

/// Where `row` stands on the way to `cond`.
pub fn verdict(row: &StatusRow, cond: Condition) -> Verdict {
    let met = match cond {
        Condition::Ready => row.ready,
        Condition::Healthy => row.healthy() && row.status != Status::Starting,
        Condition::Done => {
            matches!(
                (row.kind, row.status),
                (Kind::Oneshot, Status::Done) | (Kind::Scheduled, Status::Scheduled)
            ) && row.last_exit.is_some()
                && !row.run_failed
        }
        Condition::Down => matches!(
            row.status,
            Status::Waiting
                | Status::Backoff
                | Status::Stopped
                | Status::Down
                | Status::Done
                | Status::Scheduled
                | Status::Failed
                | Status::Exited
                | Status::Paused
                | Status::Missing
        ),
    };
    if met {
        return Verdict::Met;
    }
    let mut what = format!(
        "{}: {}, not {}",
        row.name,
        row.status.as_str(),
        cond.as_str()
    );
    if row.health == HealthState::Unhealthy && cond == Condition::Healthy {
        what = format!("{}: unhealthy", row.name);
    }
    if let Some(note) = &row.note {
        what.push_str(": ");
        what.push_str(note);
    }
    if cond == Condition::Done && matches!(row.kind, Kind::Service | Kind::Watch | Kind::Main) {
        return Verdict::Hopeless(format!(
            "{}: a {}, not a oneshot: --done waits for oneshots and scheduled services",
            row.name,
            row.kind.as_str()
        ));
    }
    // Nothing will start it again: failed for good, down as its policy says, or exited.
    let gone = match row.status {
        Status::Failed | Status::Down | Status::Exited => true,
        // A long-running service that finished (`restart = "never"`) is not coming back;
        // a oneshot's Done is met above unless it was asked to be ready or healthy.
        Status::Done => row.kind != Kind::Oneshot || cond == Condition::Done,
        _ => false,
    };
    if gone && cond != Condition::Down {
        Verdict::Hopeless(what)
    } else {
        Verdict::Pending(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Exit;

    fn row(kind: Kind, status: Status) -> StatusRow {
        StatusRow::bare("db", kind, status)
    }

    #[test]
    fn each_condition() {
        let mut r = row(Kind::Service, Status::Starting);
        r.note = Some("connection refused".into());
        assert_eq!(
            verdict(&r, Condition::Ready),
            Verdict::Pending("db: starting, not ready: connection refused".into())
        );
        assert!(matches!(verdict(&r, Condition::Down), Verdict::Pending(_)));
        r.status = Status::Running;
        r.ready = true;
        r.note = None;
        assert_eq!(verdict(&r, Condition::Ready), Verdict::Met);
        assert_eq!(verdict(&r, Condition::Healthy), Verdict::Met);
        r.health = HealthState::Unhealthy;
        r.note = Some("HTTP 503".into());
        assert_eq!(
            verdict(&r, Condition::Healthy),
            Verdict::Pending("db: unhealthy: HTTP 503".into())
        );
        r.status = Status::Stopped;
        assert_eq!(verdict(&r, Condition::Down), Verdict::Met);
        let mut job = row(Kind::Oneshot, Status::Done);
        job.last_exit = Some(Exit::Code(0));
        assert_eq!(verdict(&job, Condition::Done), Verdict::Met);
    }

    #[test]
    fn hopeless_waits_end_at_once() {
        for status in [Status::Failed, Status::Down] {
            let r = row(Kind::Service, status);
            assert!(matches!(
                verdict(&r, Condition::Ready),
                Verdict::Hopeless(_)
            ));
            assert_eq!(verdict(&r, Condition::Down), Verdict::Met);
        }
        let r = row(Kind::Service, Status::Backoff);
        assert!(matches!(verdict(&r, Condition::Ready), Verdict::Pending(_)));
        let r = row(Kind::Service, Status::Running);
        assert!(
            matches!(verdict(&r, Condition::Done), Verdict::Hopeless(t) if t.contains("not a oneshot"))
        );
        let mut failed_job = row(Kind::Oneshot, Status::Down);
        failed_job.last_exit = Some(Exit::Code(1));
        failed_job.run_failed = true;
        assert!(matches!(
            verdict(&failed_job, Condition::Done),
            Verdict::Hopeless(_)
        ));
        let running_job = row(Kind::Oneshot, Status::Running);
        assert!(matches!(
            verdict(&running_job, Condition::Done),
            Verdict::Pending(_)
        ));
    }
}
