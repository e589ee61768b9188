use super::*;
use crate::types::{NetProbe, Notify};

#[test]
fn control_socket_is_found_even_in_a_broken_config() {
    let dir = std::env::temp_dir().join(format!("upkeep-cs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("u.toml");
    std::fs::write(&file, "[supervisor]\ncontrol_socket = \"/x/u.sock\"\n").unwrap();
    assert_eq!(
        control_socket_setting(&file),
        Some(PathBuf::from("/x/u.sock"))
    );
    std::fs::write(
        &file,
        "[supervisor]\ncontrol_socket = \"/x/u.sock\" # here\nbogus =\n",
    )
    .unwrap();
    assert_eq!(
        control_socket_setting(&file),
        Some(PathBuf::from("/x/u.sock"))
    );
    std::fs::write(&file, "[service.a]\ncommand = \"x\"\n").unwrap();
    assert_eq!(control_socket_setting(&file), None);
    let _ = std::fs::remove_dir_all(&dir);
}

fn accounts() -> Accounts {
    Accounts::parse(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n",
        "root:x:0:\nnogroup:x:65534:\n",
    )
}

fn ok(text: &str) -> Config {
    parse(Path::new("t.toml"), text, &accounts()).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn errors(text: &str) -> Vec<String> {
    parse(Path::new("t.toml"), text, &accounts())
        .err()
        .unwrap_or_default()
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn full_service_with_every_key() {
    let c = ok(r#"
[supervisor]
scan_interval = "10s"
control_socket = "/tmp/u.sock"
log_level = "debug"
log = "syslog"

[service.db]
command = ["/bin/sleep", "100"]

[service.web]
command = "exec nginx -g 'daemon off;'"
restart = "on-failure"
restart_delay = "250ms"
restart_delay_max = "1m"
stable_after = 5
give_up_after = 3
critical = true
diagnose = "ps aux"
diagnose_timeout = "2s"
stop_signal = "QUIT"
stop_timeout = "1.5s"
user = "nobody"
group = "nogroup"
directory = "/tmp"
env = { MODE = "prod" }
after = ["db"]
"#);
    assert_eq!(c.settings.scan_interval, Duration::from_secs(10));
    assert_eq!(c.settings.log, LogTarget::Syslog);
    let web = &c.services[1];
    assert_eq!(
        web.command,
        vec!["/bin/sh", "-c", "exec nginx -g 'daemon off;'"]
    );
    assert_eq!(web.restart, Restart::OnFailure);
    assert_eq!(web.restart_delay, Duration::from_millis(250));
    assert_eq!(web.restart_delay_max, Duration::from_secs(60));
    assert_eq!(web.stable_after, Duration::from_secs(5));
    assert_eq!(web.give_up_after, 3);
    assert!(web.critical);
    assert_eq!(web.stop_signal, libc::SIGQUIT);
    assert_eq!(web.stop_timeout, Duration::from_millis(1500));
    assert_eq!(web.credentials.as_ref().map(|c| c.uid), Some(65534));
    assert!(web.env.contains(&("MODE".into(), "prod".into())));
    assert!(web.env.contains(&("USER".into(), "nobody".into())));
    assert_eq!(web.after, vec!["db"]);
    let db = &c.services[0];
    assert_eq!(db.restart, Restart::Always);
    assert_eq!(db.restart_delay, Duration::from_millis(100));
    assert_eq!(db.stop_signal, libc::SIGTERM);
}

#[test]
fn output_keys() {
    let c = ok(
        "[service.a]\ncommand = [\"x\"]\noutput = \"/var/log/a.log\"\n\
             output_max_size = \"1MiB\"\noutput_keep = 2\noutput_tail = 4096\n\
             [service.b]\ncommand = [\"x\"]\n",
    );
    let (a, b) = (&c.services[0], &c.services[1]);
    assert_eq!(a.output, Output::File(PathBuf::from("/var/log/a.log")));
    assert_eq!(
        (a.output_max_size, a.output_keep, a.output_tail),
        (1 << 20, 2, 4096)
    );
    assert_eq!(b.output, Output::Log);
    assert_eq!(
        (b.output_max_size, b.output_keep, b.output_tail),
        (10_000_000, 5, 32 * 1024)
    );
    let e = errors(
        "[service.a]\ncommand = [\"x\"]\noutput = \"relative.log\"\n\
             output_max_size = \"10 parsecs\"\noutput_tail = -1\n",
    );
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(
        e[0].contains("not log, inherit, null or an absolute file path"),
        "{e:?}"
    );
    assert!(e[1].contains("unknown unit"), "{e:?}");
    assert!(e[2].contains("a size cannot be negative"), "{e:?}");
}

#[test]
fn ready_and_health_tables() {
    let c = ok(
        "[service.db]\ncommand = [\"x\"]\nready.tcp = \"127.0.0.1:5432\"\n\
             ready.interval = \"50ms\"\n\
             [service.web]\ncommand = [\"x\"]\nready.notify = \"fd:3\"\n\
             [service.web.health]\nhttp = \"http://localhost:8080/healthz\"\nretries = 2\n\
             start_period = \"1s\"\n\
             [service.plain]\ncommand = [\"x\"]\n",
    );
    let [db, web, plain] = &c.services[..] else {
        panic!("three services")
    };
    let ready = db.ready.as_ref().unwrap();
    assert_eq!(
        ready.way,
        ReadyWay::Check(Check::Net(NetProbe::Tcp("127.0.0.1:5432".parse().unwrap())))
    );
    assert_eq!(
        (ready.interval, ready.timeout),
        (Duration::from_millis(50), Duration::from_secs(60))
    );
    assert_eq!(
        web.ready.as_ref().unwrap().way,
        ReadyWay::Notify(Notify::Fd(3))
    );
    let health = web.health.as_ref().unwrap();
    assert_eq!(
        (health.retries, health.start_period),
        (2, Duration::from_secs(1))
    );
    assert_eq!(
        (health.interval, health.timeout),
        (Duration::from_secs(10), Duration::from_secs(5))
    );
    assert!(plain.ready.is_none() && plain.health.is_none());

    let e = errors(
        "[service.a]\ncommand = [\"x\"]\nready.tcp = \"db:5432\"\n\
             health.tcp = \"127.0.0.1:1\"\nhealth.command = \"true\"\nhealth.retries = 0\n\
             [service.b]\ncommand = [\"x\"]\nready.interval = \"0s\"\nready.bogus = 1\n\
             ready.http = \"https://127.0.0.1/\"\nready.notify = \"fd:2\"\n",
    );
    let all = e.join("\n");
    for want in [
        "`ready.tcp`: \"db:5432\": the host must be an IP address",
        "service `a` `health`: give only one of tcp, http or command",
        "`health.retries`: must be 1 or more",
        "unknown key `bogus` in [service.b.ready]",
        "`ready.interval`: must be more than 0",
        "`ready.notify`: \"fd:2\": the descriptor must be",
        "service `b` `ready`: give only one of tcp, http, command or notify",
    ] {
        assert!(all.contains(want), "{want:?} not in:\n{all}");
    }
    let e = errors("[service.a]\ncommand = [\"x\"]\nready = 5\n");
    assert!(e[0].contains("`ready`: expected a table"), "{e:?}");
    let e = errors("[service.a]\ncommand = [\"x\"]\nhealth.interval = \"1s\"\n");
    assert!(e[0].contains("`health`: give one way to check"), "{e:?}");
}

#[test]
fn every_error_is_reported_with_its_position() {
    let errs = errors(
        r#"[service.a]
command = ["true"]
restrat = "always"
restart_delay = "10 parsecs"
stop_signal = "SIGNOPE"
after = ["b", "zzz"]

[service.b]
command = []
give_up_after = -1
user = "nosuchuser"
"#,
    );
    let want = [
        "t.toml:3:1: unknown key `restrat` in [service.a]; did you mean `restart`?",
        "t.toml:4:17: service `a` `restart_delay`: bad duration \"10 parsecs\"",
        "t.toml:5:15: service `a` `stop_signal`: unknown signal \"SIGNOPE\"",
        "t.toml:6:15: service `a`: `after` names unknown service `zzz`",
        "t.toml:9:11: service `b` `command`: the command is empty",
        "t.toml:10:17: service `b` `give_up_after`: expected a whole number >= 0",
        "t.toml:11:8: service `b` `user`: unknown user \"nosuchuser\"",
    ];
    for w in want {
        assert!(
            errs.iter().any(|e| e.starts_with(w)),
            "missing {w:?} in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), want.len(), "{errs:#?}");
}

#[test]
fn wrong_types_and_syntax_errors() {
    let errs = errors("[service.a]\ncommand = 5\ncritical = \"yes\"\n");
    assert!(errs[0].starts_with("t.toml:2:11: service `a` `command`: expected a command"));
    assert!(errs[1].starts_with(
        "t.toml:3:12: service `a` `critical`: expected true or false, found a string"
    ));
    let errs = errors("[service.a\ncommand = 1");
    assert!(errs[0].starts_with("t.toml:1:"), "{errs:?}");
    assert!(errs[0].contains("invalid TOML"));
    let errs = errors("[servce.a]\ncommand = [\"x\"]\n");
    assert!(errs[0].contains("did you mean `service`?"), "{errs:?}");
}

#[test]
fn cycles_name_their_members() {
    let errs = errors(
        "[service.a]\ncommand=[\"x\"]\nafter=[\"c\"]\n[service.b]\ncommand=[\"x\"]\nafter=[\"a\"]\n[service.c]\ncommand=[\"x\"]\nafter=[\"b\"]\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("`after` has a cycle: a -> c -> b -> a"),
        "{errs:?}"
    );
    let errs = errors("[service.a]\ncommand=[\"x\"]\nafter=[\"a\"]\n");
    assert!(errs[0].contains("`after` itself"), "{errs:?}");
}

#[test]
fn missing_command_and_watch_keys() {
    let errs = errors("[service.a]\nrestart = \"never\"\n[watch.w]\nprocess = \"x\"\n");
    assert!(
        errs.iter()
            .any(|e| e.contains("service `a`: `command` is missing")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("watch `w`: `start` is missing")),
        "{errs:?}"
    );
}

#[test]
fn start_order_follows_after() {
    let c = ok(
        "[service.web]\ncommand=[\"x\"]\nafter=[\"db\"]\n[service.db]\ncommand=[\"x\"]\n[service.log]\ncommand=[\"x\"]\n",
    );
    let refs: Vec<&Service> = c.services.iter().collect();
    let names: Vec<&str> = start_order(&refs)
        .iter()
        .map(|&i| c.services[i].name.as_str())
        .collect();
    assert_eq!(names, vec!["db", "log", "web"]);
}

/// A table's keys, each with its default as the docs write it (quotes off).
type KeyDefaults = Vec<(&'static str, Option<String>)>;

/// Each table, by how the man page opens it, with its keys.
fn documented() -> Vec<(&'static str, KeyDefaults)> {
    fn pairs<T>(keys: &[keys::Key<T>]) -> KeyDefaults {
        keys.iter()
            .map(|k| (k.name, k.default.map(|d| d.trim_matches('"').to_string())))
            .collect()
    }
    vec![
        ("[supervisor]", pairs(keys::SUPERVISOR_KEYS)),
        ("[service.", pairs(keys::SERVICE_KEYS)),
        ("[watch.", pairs(keys::WATCH_KEYS)),
    ]
}

#[test]
fn defaults_read_cleanly_and_are_what_a_bare_config_gets() {
    let c = ok("[service.a]\ncommand = [\"x\"]\n[watch.w]\nprocess = \"p\"\nstart = \"s\"\n");
    let mut want = keys::default_service();
    want.name = "a".into();
    want.command = vec!["x".into()];
    assert_eq!(c.services[0], want);
    assert_eq!(c.services[0].stop_signal, libc::SIGTERM);
    assert_eq!(c.services[0].restart_delay, Duration::from_millis(100));
    assert_eq!(c.watches[0].diagnose_timeout, Duration::from_secs(30));
    assert_eq!(c.watches[0].start_timeout, Duration::from_secs(60));
    assert_eq!(c.settings, Config::empty().settings);
    assert_eq!(c.settings.scan_interval, Duration::from_secs(30));
}

/// The README's example blocks show every key of each table, each key with a default as
/// `key = DEFAULT`.
#[test]
fn the_readme_shows_the_tables_keys_and_defaults() {
    let readme = include_str!("../../README.md");
    let block_after = |marker: &str| -> String {
        let at = readme
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} in the README"));
        let rest = &readme[at..];
        let start = rest.find("```toml\n").expect("a toml block") + 8;
        let len = rest[start..].find("```").expect("its end");
        rest[start..start + len].to_string()
    };
    let blocks = [
        block_after("Every key of `[supervisor]`"),
        block_after("Every key of a service:"),
        block_after("## Watching daemons upkeep did not start"),
    ];
    for ((table, keys), block) in documented().into_iter().zip(blocks) {
        for (name, default) in keys {
            let line = block
                .lines()
                .find(|l| l.starts_with(&format!("{name} =")) || l.starts_with(&format!("{name}.")))
                .unwrap_or_else(|| panic!("README: {table} `{name}` is not shown"));
            if let Some(d) = default {
                let value = line.split_once('=').map(|(_, v)| v.trim()).unwrap_or("");
                let value = value
                    .split(" #")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches('"');
                assert_eq!(value, d, "README: {table} `{name}`");
            }
        }
    }
}

/// The man page names every key of each table, each key with a default followed by
/// `(DEFAULT`.
#[test]
fn the_man_page_shows_the_tables_keys_and_defaults() {
    let man = include_str!("../../man/upkeep.8");
    for (table, keys) in documented() {
        let at = man
            .find(&format!(".It Ic {table}"))
            .unwrap_or_else(|| panic!("{table} in the man page"));
        let end = man[at + 4..]
            .find("\n.It Ic [")
            .map_or(man.len(), |e| at + 4 + e);
        let end = man[at..end].find("\n.El").map_or(end, |e| at + e);
        let section: Vec<&str> = man[at..end].lines().collect();
        for (name, default) in keys {
            let k = section
                .iter()
                .position(|l| l.trim_end_matches(" ,").trim_end() == format!(".Ic {name}"))
                .unwrap_or_else(|| panic!("man page: {table} `{name}` is not named"));
            if let Some(d) = default {
                let next = section.get(k + 1).copied().unwrap_or("");
                assert!(
                    next.starts_with(&format!("({d}")),
                    "man page: {table} `{name}` should be followed by ({d}, not {next:?}"
                );
            }
        }
    }
}

#[test]
fn the_worst_case_stop_is_the_longest_chain_of_stop_timeouts() {
    let c = ok("[service.db]\ncommand = [\"x\"]\nstop_timeout = \"20s\"\n\
                [service.app]\ncommand = [\"x\"]\nafter = [\"db\"]\n\
                [service.web]\ncommand = [\"x\"]\nafter = [\"app\"]\nstop_timeout = \"1s\"\n\
                [service.cache]\ncommand = [\"x\"]\nstop_timeout = \"25s\"\n\
                [service.worker]\ncommand = [\"x\"]\nafter = [\"db\"]\nstop_timeout = \"5s\"\n");
    let (worst, chain) = worst_stop(&c.services).unwrap();
    // web (1) + app (10) + db (20) beats worker (5) + db, and cache alone (25).
    assert_eq!(worst, Duration::from_secs(31));
    assert_eq!(chain, vec!["web", "app", "db"]);
    assert_eq!(worst_stop(&[]), None);
}

#[test]
fn a_watchdog_needs_systemd_notify() {
    let e = errors("[service.a]\ncommand = [\"x\"]\nwatchdog = \"30s\"\n");
    assert!(
        e.iter()
            .any(|e| e.contains("`watchdog`: needs ready.notify = \"systemd\"")),
        "{e:?}"
    );
    let c = ok("[service.a]\ncommand = [\"x\"]\nready.notify = \"systemd\"\nwatchdog = \"2s\"\n");
    assert_eq!(c.services[0].watchdog, Some(Duration::from_secs(2)));
}

#[test]
fn syslog_listen_on_the_socket_log_writes_to_is_a_loop() {
    let own = crate::logging::SYSLOG_SOCKET;
    let e = errors(&format!(
        "[supervisor]\nlog = \"syslog\"\nsyslog_listen = \"{own}\"\n"
    ));
    assert_eq!(
        e,
        vec![format!(
            "t.toml:3:17: [supervisor] `syslog_listen`: \"{own}\" is where log = \"syslog\" writes: \
             upkeep would read its own lines back (a loop)"
        )]
    );
    let c = ok(&format!("[supervisor]\nsyslog_listen = \"{own}\"\n"));
    assert_eq!(c.settings.syslog_listen.as_deref(), Some(Path::new(own)));
    let c = ok("[supervisor]\nlog = \"syslog\"\nsyslog_listen = \"/tmp/log\"\n");
    assert_eq!(
        c.settings.syslog_listen.as_deref(),
        Some(Path::new("/tmp/log"))
    );
    assert_eq!(
        ok("[supervisor]\nsyslog_listen = \"\"\n")
            .settings
            .syslog_listen,
        None
    );
}
