//! Notifying the manager that started upkeep (sd_notify upwards): `READY=1` once
//! everything is up, `STATUS=` when the account changes, `STOPPING=1` when the stop
//! begins, `WATCHDOG=1` every half of `WATCHDOG_USEC`. What to say comes from the core;
//! this only says it.

use std::time::{Duration, Instant};

use crate::core::Core;
use crate::os::notify::{self, Upward};

pub struct Upwards {
    upward: Upward,
    /// Half the manager's watchdog period, and when the next ping is due.
    ping_every: Option<Duration>,
    next_ping: Option<Instant>,
    ready_sent: bool,
    stopping_sent: bool,
    status: String,
}

impl Upwards {
    /// What upkeep's environment asks for; the variables are then taken out of it, so that
    /// no service or COMMAND inherits the manager's socket (they speak to upkeep, not to
    /// the manager). Only with a config: in single-command mode COMMAND speaks for itself.
    pub fn from_environment(now: Instant) -> Option<Upwards> {
        let asked = notify::from_environment();
        for name in notify::NOT_INHERITED {
            // SAFETY: upkeep is single-threaded, and nothing has been spawned yet.
            unsafe { std::env::remove_var(name) };
        }
        let ping_every = asked.watchdog.map(|d| d / 2);
        Some(Upwards {
            upward: asked.upward?,
            ping_every,
            next_ping: ping_every.map(|_| now),
            ready_sent: false,
            stopping_sent: false,
            status: String::new(),
        })
    }

    /// Says what changed since the last call, and pings when due.
    pub fn tell(&mut self, core: &Core, now: Instant) {
        let status = core.summary();
        let mut message = String::new();
        if !self.ready_sent && core.is_up() {
            self.ready_sent = true;
            message.push_str("READY=1\n");
        }
        if !self.stopping_sent && core.is_shutting_down() {
            self.stopping_sent = true;
            message.push_str("STOPPING=1\n");
        }
        if status != self.status {
            message.push_str(&format!("STATUS={status}\n"));
            self.status = status;
        }
        if let (Some(every), Some(due)) = (self.ping_every, self.next_ping)
            && due <= now
        {
            message.push_str("WATCHDOG=1\n");
            self.next_ping = Some(now + every);
        }
        if !message.is_empty() {
            self.upward.send(message.trim_end());
        }
    }

    /// When the next watchdog ping is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.next_ping
    }
}
