//! COMMAND: tini's behaviour.

use std::time::Instant;

use super::sim::*;
use crate::core::*;
use crate::types::Exit;

#[test]
fn exits_with_the_commands_code_or_128_plus_signal() {
    for (exit, want) in [
        (Exit::Code(0), 0),
        (Exit::Code(42), 42),
        (Exit::Code(255), 255),
        (Exit::Signal(15), 143),
        (Exit::Signal(9), 137),
    ] {
        let (mut sup, t0) = started(main_opts(), true);
        sup.handle_event(t0, Event::Exited { pid: 10, exit });
        assert_eq!(exit_of(&drain(&mut sup)), Some(want), "{exit:?}");
    }
}

#[test]
fn success_codes_map_to_zero() {
    let (mut sup, t0) = started(
        MainOptions {
            success_codes: vec![143, 3],
            ..main_opts()
        },
        true,
    );
    sup.handle_event(
        t0,
        Event::Exited {
            pid: 10,
            exit: Exit::Signal(15),
        },
    );
    assert_eq!(exit_of(&drain(&mut sup)), Some(0));
}

#[test]
fn strangers_are_reaped_without_exiting() {
    let (mut sup, t0) = started(main_opts(), true);
    sup.handle_event(
        t0,
        Event::Exited {
            pid: 99,
            exit: Exit::Code(0),
        },
    );
    let actions = drain(&mut sup);
    assert_eq!(exit_of(&actions), None);
    assert!(matches!(&actions[..], [Action::Log(Level::Debug, _)]));
}

#[test]
fn without_debug_strangers_are_reaped_silently() {
    let (mut sup, t0) = started(main_opts(), false);
    sup.handle_event(
        t0,
        Event::Exited {
            pid: 99,
            exit: Exit::Code(0),
        },
    );
    assert_eq!(drain(&mut sup), vec![]);
}

#[test]
fn warn_on_reap_raises_the_level() {
    let (mut sup, t0) = started(
        MainOptions {
            warn_on_reap: true,
            ..main_opts()
        },
        true,
    );
    sup.handle_event(
        t0,
        Event::Exited {
            pid: 99,
            exit: Exit::Code(0),
        },
    );
    assert!(matches!(&drain(&mut sup)[..], [Action::Log(Level::Warn, t)] if t.contains("99")));
}

#[test]
fn signals_are_forwarded_to_the_command_or_its_group() {
    let (mut sup, t0) = started(main_opts(), true);
    sup.handle_event(t0, Event::Signal(10));
    assert_eq!(
        drain(&mut sup),
        vec![Action::Kill {
            pid: 10,
            sig: 10,
            group: false
        }]
    );
    let (mut sup, t0) = started(
        MainOptions {
            signal_group: true,
            ..main_opts()
        },
        true,
    );
    sup.handle_event(t0, Event::Signal(15));
    assert_eq!(
        drain(&mut sup),
        vec![Action::Kill {
            pid: 10,
            sig: 15,
            group: true
        }]
    );
}

#[test]
fn spawn_failure_exits_with_its_status() {
    let t0 = Instant::now();
    let mut sup = Core::new(
        options(
            Mode::Single,
            Some(main_opts()),
            crate::config::Config::empty(),
        ),
        t0,
    );
    drain(&mut sup);
    sup.handle_event(
        t0,
        Event::SpawnFailed {
            owner: Owner::Main,
            status: 127,
            reason: "not found".into(),
        },
    );
    let actions = drain(&mut sup);
    assert_eq!(exit_of(&actions), Some(127));
    assert!(actions.contains(&Action::Log(Level::Warn, "app: not found".into())));
}

#[test]
fn no_deadline_while_idle() {
    let (sup, _) = started(main_opts(), true);
    assert_eq!(sup.poll_timeout(), None);
}
