//! End to end in a real OCI runtime: podman with runc, images built FROM scratch with the
//! static upkeep binary and Debian's busybox-static (containers/). scripts/test.sh installs
//! podman, runc and busybox-static; these tests fail, not skip, when they are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

const DEMO: &str = "localhost/upkeep-test-demo";
const CI: &str = "localhost/upkeep-test-ci";
/// containers/webstack/: nginx, php-fpm and cron from Debian, FROM the base below.
const WEBSTACK: &str = "localhost/upkeep-test-webstack";
/// The webstack's base: no registry answers here, so debootstrap builds it when missing.
const DEBIAN: &str = "docker.io/library/debian:bookworm-slim";

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .arg("--runtime")
        .arg("runc")
        .args(args)
        .env("CONTAINERS_CONF", conf())
        .output()
        .expect("podman is needed (scripts/test.sh installs it)")
}

/// podman's settings for these machines (../shared/CONTAINERS.md): cgroupfs, no ulimits.
fn conf() -> &'static str {
    static CONF: OnceLock<String> = OnceLock::new();
    CONF.get_or_init(|| {
        let path = std::env::temp_dir().join("upkeep-test-containers.conf");
        std::fs::write(
            &path,
            "[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        path.display().to_string()
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Builds both images once per test run, from containers/ with this build's binary.
fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let ctx = std::env::temp_dir().join(format!("upkeep-ctx-{}", std::process::id()));
        let root = env!("CARGO_MANIFEST_DIR");
        let made = Command::new(format!("{root}/containers/build-context.sh"))
            .arg(&ctx)
            .env("UPKEEP", BIN)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", text(&made));
        let ctx = ctx.display().to_string();
        for (tag, file) in [(DEMO, "Containerfile"), (CI, "ci-example/Containerfile")] {
            let file = format!("{ctx}/{file}");
            let out = podman(&[
                "build", "-q", "--format", "docker", "-t", tag, "-f", &file, &ctx,
            ]);
            assert!(out.status.success(), "build {tag}: {}", text(&out));
        }
        let _ = std::fs::remove_dir_all(&ctx);
    });
}

/// A detached container removed when the test ends.
struct Container(String);

impl Container {
    fn run(tag: &str, args: &[&str]) -> Container {
        if tag == DEMO || tag == CI {
            images();
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let kind = tag.rsplit('-').next().unwrap_or("c");
        let name = format!("upkeep-test-{kind}-{}-{n}", std::process::id());
        let _ = podman(&["rm", "-f", &name]);
        let mut all = vec!["run", "-d", "--name", &name];
        all.extend_from_slice(args);
        let out = podman(&all);
        assert!(out.status.success(), "{}", text(&out));
        Container(name)
    }

    fn exec(&self, cmd: &[&str]) -> Output {
        let mut all = vec!["exec", self.0.as_str()];
        all.extend_from_slice(cmd);
        podman(&all)
    }

    fn logs(&self) -> String {
        text(&podman(&["logs", &self.0]))
    }

    fn exit_code(&self) -> i32 {
        let out = podman(&["inspect", &self.0, "--format", "{{.State.ExitCode}}"]);
        text(&out).trim().parse().unwrap_or(-1)
    }

    fn stop(&self, timeout: u32) -> Duration {
        let t0 = Instant::now();
        let out = podman(&["stop", "-t", &timeout.to_string(), &self.0]);
        assert!(out.status.success(), "{}", text(&out));
        t0.elapsed()
    }

    fn wait_exit(&self) -> i32 {
        let out = podman(&["wait", &self.0]);
        text(&out).trim().parse().unwrap_or(-1)
    }

    fn pid_of(&self, service: &str) -> i64 {
        let mut pid = 0;
        wait_for(Duration::from_secs(10), || {
            let out = self.exec(&["upkeep", "status", "--json", service]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            pid = v["services"][0]["pid"].as_i64().unwrap_or(0);
            pid > 0
        });
        pid
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.0]);
    }
}

#[test]
fn podman_stop_is_prompt_with_upkeep_and_slow_without() {
    let with = Container::run(
        DEMO,
        &["--entrypoint", "/sbin/upkeep", DEMO, "--", "sleep", "1000"],
    );
    std::thread::sleep(Duration::from_millis(500));
    // 143: upkeep passed TERM on and ended with it; podman's SIGKILL at 10 s would be 137.
    let took = with.stop(10);
    assert_eq!(with.exit_code(), 143, "podman stop took {took:?}");

    // The contrast: a bare sleep as PID 1 ignores SIGTERM; podman waits, then SIGKILL.
    let bare = Container::run(DEMO, &["--entrypoint", "/bin/sleep", DEMO, "1000"]);
    std::thread::sleep(Duration::from_millis(500));
    let took = bare.stop(2);
    assert!(
        took >= Duration::from_secs(2),
        "bare sleep stopped in {took:?}"
    );
    assert_eq!(bare.exit_code(), 137);
}

#[test]
fn the_containers_exit_code_is_the_commands() {
    let c = Container::run(DEMO, &[DEMO, "--", "sh", "-c", "exit 7"]);
    assert_eq!(c.wait_exit(), 7);
}

#[test]
fn a_killed_daemon_is_restarted_with_a_log_line() {
    let c = Container::run(DEMO, &[DEMO]);
    let httpd = c.pid_of("httpd");
    let out = c.exec(&["kill", "-9", &httpd.to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(wait_for(Duration::from_secs(10), || {
        let now = c.pid_of("httpd");
        now > 0 && now != httpd
    }));
    let logs = c.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("httpd killed by signal KILL"))
        .unwrap_or_else(|| panic!("no restart line:\n{logs}"));
    // 2026-11-23T19:40:00.123Z upkeep: ...
    assert!(
        line.len() > 25 && line.as_bytes()[10] == b'T' && line.contains("Z upkeep: "),
        "{line}"
    );
    assert!(line.contains("restarting in"), "{line}");
    // And the page is served again.
    assert!(wait_for(Duration::from_secs(5), || {
        text(&c.exec(&["wget", "-qO-", "http://127.0.0.1:8080/"])).contains("busybox httpd")
    }));
}

#[test]
fn orphans_made_with_podman_exec_are_reaped() {
    let c = Container::run(DEMO, &[DEMO]);
    c.pid_of("httpd");
    // The subshell exits at once; its sleep is orphaned to PID 1, then exits.
    let out = c.exec(&["sh", "-c", "(sleep 0.3 &); (sleep 0.3 &); exit 0"]);
    assert!(out.status.success());
    // upkeep's zombies are those whose parent is PID 1; the exec session's own `sh` has a
    // parent outside the container (podman's conmon reaps it, in its own time).
    let ps = || text(&c.exec(&["ps", "-o", "pid,ppid,stat,comm"]));
    let upkeeps_zombie = |ps: &str| {
        ps.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&"1") && f.get(2).is_some_and(|s| s.starts_with('Z'))
        })
    };
    // The orphaned sleeps end after 0.3 s; upkeep reaps them at once: within 10 s.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        wait_for(Duration::from_secs(10), || !upkeeps_zombie(&ps())),
        "a zombie of upkeep's is left:\n{}",
        ps()
    );
}

#[test]
fn a_critical_service_that_gives_up_ends_the_container_with_its_code() {
    let c = Container::run(
        DEMO,
        &[
            "--entrypoint",
            "/bin/sh",
            DEMO,
            "-c",
            "printf '[service.db]\\ncommand = \"exit 5\"\\nrestart_delay = \"10ms\"\\n\
             give_up_after = 2\\ncritical = true\\n' > /tmp/u.toml && exec /sbin/upkeep -c /tmp/u.toml",
        ],
    );
    assert_eq!(c.wait_exit(), 5, "{}", c.logs());
    assert!(c.logs().contains("db is critical and stopped for good"));
}

#[test]
fn status_works_through_exec_and_as_a_health_check() {
    let c = Container::run(DEMO, &["--health-cmd", "/sbin/upkeep status", DEMO]);
    c.pid_of("crond");
    let out = c.exec(&["upkeep", "status"]);
    let table = text(&out);
    assert!(table.contains("httpd    service  running"), "{table}");
    assert!(table.contains("pingd    watch"), "{table}");
    // The watch finds the init script's daemon.
    wait_for_pingd(&c.0);
    assert!(wait_for(Duration::from_secs(10), || {
        podman(&["healthcheck", "run", &c.0]).status.success()
    }));
    // A service stopped for good with a failure makes the health check fail.
    let out = c.exec(&["upkeep", "stop", "httpd"]);
    assert!(out.status.success(), "{}", text(&out));
    let health = podman(&["healthcheck", "run", &c.0]);
    assert!(
        health.status.success(),
        "a requested stop is healthy: {}\n{}\n{}",
        text(&health),
        text(&c.exec(&["upkeep", "status"])),
        c.logs()
    );
    let out = c.exec(&["upkeep", "start", "httpd"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn podman_stop_stops_services_in_reverse_order() {
    let c = Container::run(DEMO, &[DEMO]);
    c.pid_of("crond");
    let took = c.stop(10);
    assert_eq!(c.exit_code(), 0, "podman stop took {took:?}");
    let logs = c.logs();
    // Each one stopped on its signal: none waited out its stop_timeout.
    assert!(!logs.contains("did not stop within"), "{logs}");
    let at = |needle: &str| position(&logs, needle);
    // syslogd comes first (httpd and crond are `after` it), so it stops last.
    assert!(at("syslogd stopping") > at("httpd stopped"), "{logs}");
    assert!(at("syslogd stopping") > at("crond stopped"), "{logs}");
    assert!(logs.contains("exiting with status 0"));
}

#[test]
fn upkeep_shutdown_through_exec_waits_for_the_end() {
    let c = Container::run(DEMO, &[DEMO]);
    c.pid_of("crond");
    let out = c.exec(&["upkeep", "shutdown"]);
    // The client survives PID 1's final TERM sweep and reads the last line before upkeep
    // exits (which ends every process of the container).
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("upkeep: stopped (exit status 0)"), "{said}");
    assert_eq!(c.wait_exit(), 0, "{}", c.logs());
}

#[test]
fn ci_example_passes_and_fails_with_the_tests() {
    let pass = Container::run(CI, &[CI]);
    assert_eq!(pass.wait_exit(), 0, "{}", pass.logs());
    let logs = pass.logs();
    assert!(logs.contains("ok: the page mentions"), "{logs}");
    // The tests ran once the slow database was ready, without waiting for it themselves
    // (podman logs gives stdout before stderr: order within upkeep's log only).
    assert!(logs.contains("ok: the database answers"), "{logs}");
    assert!(logs.contains("ok: the database is seeded"), "{logs}");
    let at = |needle: &str| position(&logs, needle);
    assert!(at("db ready after 2") < at("migrate started"), "{logs}");
    assert!(
        at("migrate exited with status 0") < at("web started"),
        "{logs}"
    );
    assert!(at("web ready after") < at("run-tests (pid"), "{logs}");
    let fail = Container::run(CI, &["-e", "EXPECT=nope", CI]);
    assert_eq!(fail.wait_exit(), 1, "{}", fail.logs());
    assert!(fail.logs().contains("FAIL"));
    // The services were stopped after the tests, in both runs.
    assert!(fail.logs().contains("web stopped"), "{}", fail.logs());
    // A failed migration fails the job, and neither web nor the tests run.
    let broken = Container::run(CI, &["-e", "MIGRATE_EXIT=1", CI]);
    assert_eq!(broken.wait_exit(), 1, "{}", broken.logs());
    let logs = broken.logs();
    assert!(logs.contains("migrate exited with status 1"), "{logs}");
    assert!(
        logs.contains("without running /usr/local/bin/run-tests"),
        "{logs}"
    );
    assert!(
        !logs.contains("web started") && !logs.contains("ok: the database"),
        "{logs}"
    );
}

/// Waits for the demo's pingd watch to have found pingd. Until its first scan pingd is
/// `unknown` (healthy), then `missing` (unhealthy) until a scan finds what its init script
/// started: health checks taken in between would fail.
fn wait_for_pingd(container: &str) {
    let status = || text(&podman(&["exec", container, "upkeep", "status", "pingd"]));
    assert!(
        wait_for(Duration::from_secs(20), || status().contains("running")),
        "{}",
        status()
    );
}

/// A pod of containers/kubernetes/ played with the demo image, under a name of the test's
/// own; removed, with its yaml, when dropped.
struct Pod {
    name: String,
    file: String,
    /// `kube play` publishes each containerPort on the host: both pods want 8080, so
    /// one plays at a time.
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static HOST_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Pod {
    fn play(yaml: &str, name_in_yaml: &str, suffix: &str) -> Pod {
        images();
        let root = env!("CARGO_MANIFEST_DIR");
        let name = format!("upkeep-test-{suffix}-{}", std::process::id());
        let text_of_yaml = std::fs::read_to_string(format!("{root}/containers/kubernetes/{yaml}"))
            .unwrap()
            .replace("localhost/upkeep-demo:latest", DEMO)
            .replace(&format!("name: {name_in_yaml}"), &format!("name: {name}"));
        assert!(
            text_of_yaml.contains(DEMO) && text_of_yaml.contains(&name),
            "{text_of_yaml}"
        );
        let file = std::env::temp_dir().join(format!("{name}.yaml"));
        std::fs::write(&file, text_of_yaml).unwrap();
        let pod = Pod {
            name,
            file: file.display().to_string(),
            // A test that failed holding it poisons it; the port is free all the same.
            _one_at_a_time: HOST_PORTS.lock().unwrap_or_else(|e| e.into_inner()),
        };
        let out = podman(&["kube", "play", &pod.file]);
        assert!(out.status.success(), "{}", text(&out));
        pod
    }

    fn container(&self) -> String {
        format!("{}-demo", self.name)
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = podman(&["pod", "rm", "-f", "-t", "0", &self.name]);
        let _ = std::fs::remove_file(&self.file);
    }
}

#[test]
fn the_kubernetes_pod_serves_once_its_probes_pass() {
    let pod = Pod::play("pod.yaml", "upkeep-demo", "kube");
    let container = pod.container();
    let exec = |cmd: &[&str]| {
        let mut all = vec!["exec", container.as_str()];
        all.extend_from_slice(cmd);
        podman(&all)
    };
    // The probes' command: 3 while httpd is not ready, then 0.
    assert!(
        wait_for(Duration::from_secs(20), || exec(&[
            "/sbin/upkeep",
            "status"
        ])
        .status
        .success()),
        "{}",
        text(&exec(&["/sbin/upkeep", "status"]))
    );
    let table = text(&exec(&["/sbin/upkeep", "status", "httpd"]));
    // Healthy once its first health check (every 10 s) has answered, pending till then.
    assert!(
        table.contains("running  healthy") || table.contains("running  pending"),
        "{table}"
    );
    let page = text(&exec(&["wget", "-qO-", "http://127.0.0.1:8080/"]));
    assert!(page.contains("upkeep"), "{page}");
    // podman runs the liveness probe as the container's health check (it names pingd).
    wait_for_pingd(&container);
    let out = podman(&["healthcheck", "run", &container]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A three-level chain whose services ignore TERM, each with a 10 s stop_timeout: without a
/// grace the ordered stop would take 30 s and podman would SIGKILL the container at 5 s
/// (137). With `stop_grace = "4s"` upkeep ends the stop itself: exit 0, in order.
#[test]
fn podman_stop_within_its_timeout_thanks_to_stop_grace() {
    let dir = TempDir::new("grace-ctr");
    let stubborn = "trap '' TERM; while :; do sleep 1; done";
    dir.write(
        "upkeep.toml",
        &format!(
            "[supervisor]\nstop_grace = \"4s\"\n\
             [service.db]\ncommand = \"{stubborn}\"\nstop_timeout = \"10s\"\n\
             [service.app]\ncommand = \"{stubborn}\"\nstop_timeout = \"10s\"\nafter = [\"db\"]\n\
             [service.web]\ncommand = \"{stubborn}\"\nstop_timeout = \"10s\"\nafter = [\"app\"]\n"
        ),
    );
    let logs = stopped_by_its_grace(&dir, "web started", 5, "4s");
    assert!(logs.contains("web stopping"), "{logs}");
}

/// The demo image run on DIR/upkeep.toml, stopped with `podman stop -t TIMEOUT` once
/// `started` is logged: upkeep must end it itself when its `grace` is up. Its logs.
fn stopped_by_its_grace(dir: &TempDir, started: &str, timeout: u32, grace: &str) -> String {
    let volume = format!("{}:/cfg:ro", dir.0.display());
    let c = Container::run(DEMO, &["-v", &volume, DEMO, "-c", "/cfg/upkeep.toml"]);
    assert!(wait_for(Duration::from_secs(10), || c
        .logs()
        .contains(started)));
    // 0, not 137: upkeep ended before podman's SIGKILL (the exit code says so; a wall-time
    // bound would also count podman's own start and clean-up on a loaded machine).
    let took = c.stop(timeout);
    assert_eq!(c.exit_code(), 0, "podman stop took {took:?}: {}", c.logs());
    let logs = c.logs();
    assert!(
        logs.contains(&format!("stop_grace ({grace}) is up: killing what is left")),
        "{logs}"
    );
    assert!(logs.contains("exiting with status 0"), "{logs}");
    logs
}

/// The default for PID 1: no `stop_grace` in the config, one service that ignores TERM
/// with the default `stop_timeout` (10 s, as long as podman's own wait). upkeep gives up on
/// it at 9 s, so `podman stop` with podman's default timeout (10 s) ends with upkeep's
/// status 0, not podman's SIGKILL (137).
#[test]
fn podman_stop_within_its_default_timeout_by_the_default_stop_grace() {
    let dir = TempDir::new("grace-default-ctr");
    dir.write(
        "upkeep.toml",
        "[service.stubborn]\ncommand = \"trap '' TERM; while :; do sleep 1; done\"\n",
    );
    stopped_by_its_grace(&dir, "stubborn started", 10, "9s");
}

/// The second pod: httpGet probes on upkeep's own /readyz and /healthz. podman turns an
/// httpGet liveness probe into a health check that runs curl in the container, which the
/// busybox image has not: what the kubelet would GET is fetched from inside the pod.
#[test]
fn the_http_probed_pod_answers_its_probes() {
    let pod = Pod::play("pod-http.yaml", "upkeep-demo-http", "kube-http");
    let container = pod.container();
    let get = |path: &str| {
        let url = format!("http://127.0.0.1:9100{path}");
        podman(&["exec", &container, "wget", "-qO-", &url])
    };
    // 503 (wget fails) until httpd is ready, then 200 ok.
    wait_for_pingd(&container);
    assert!(
        wait_for(Duration::from_secs(20), || get("/readyz").status.success()),
        "{}",
        text(&get("/readyz"))
    );
    assert_eq!(text(&get("/readyz")), "ok\n");
    assert_eq!(text(&get("/healthz")), "ok\n");
    let metrics = text(&get("/metrics"));
    assert!(
        metrics.contains("upkeep_service_up{service=\"httpd\"} 1"),
        "{metrics}"
    );
}

/// A Debian mirror from the host's apt sources (the first `.../debian` URI), else Debian's
/// own redirector.
fn debian_mirror() -> String {
    let mut files = vec![std::path::PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<_> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources"))
            .collect();
        more.sort();
        files.extend(more);
    }
    let text: String = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect::<Vec<_>>()
        .join("\n");
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("deb ") || l.starts_with("URIs:"))
        .flat_map(|l| l.split_whitespace().skip(1))
        .filter(|w| w.contains("://"))
        .map(|w| w.trim_end_matches('/'))
        .find(|w| w.ends_with("/debian"))
        .unwrap_or("http://deb.debian.org/debian")
        .to_string()
}

/// Makes sure podman has the webstack's base image: when it is missing, a minimal
/// bookworm from debootstrap (about 45 s), imported under the name the Containerfile uses.
/// Err with the reason when that cannot be done here (no Debian mirror answers).
fn debian_base() -> Result<(), String> {
    if podman(&["image", "exists", DEBIAN]).status.success() {
        return Ok(());
    }
    let dir = TempDir::new("debootstrap");
    let root = dir.path("rootfs").display().to_string();
    let mirror = debian_mirror();
    let t0 = Instant::now();
    let out = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm", &root, &mirror])
        .output()
        .expect("debootstrap is needed (scripts/test.sh installs it)");
    if !out.status.success() {
        let said = text(&out);
        let lines: Vec<&str> = said.lines().collect();
        let last = lines[lines.len().saturating_sub(3)..].join(" / ");
        return Err(format!("debootstrap from {mirror} failed: {last}"));
    }
    eprintln!("debootstrap of {DEBIAN} took {:?}", t0.elapsed());
    slim(&root);
    let tar = dir.path("rootfs.tar").display().to_string();
    let out = Command::new("tar")
        .args(["-C", &root, "-cf", &tar, "."])
        .output()
        .unwrap();
    assert!(out.status.success(), "tar: {}", text(&out));
    let out = podman(&["import", &tar, DEBIAN]);
    assert!(out.status.success(), "podman import: {}", text(&out));
    Ok(())
}

/// As Debian's own image: no package files or lists in the base (debootstrap leaves 80 MB
/// of them), and none kept by the images built on it (Docker's `docker-clean` apt config).
fn slim(root: &str) {
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && path.file_name().is_some_and(|n| n != "lock") {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
    let clean = "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb \
                 /var/cache/apt/*.bin || true";
    std::fs::write(
        format!("{root}/etc/apt/apt.conf.d/docker-clean"),
        format!(
            "DPkg::Post-Invoke {{ \"{clean}\"; }};\nAPT::Update::Post-Invoke {{ \"{clean}\"; }};\n\
             Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n"
        ),
    )
    .unwrap();
}

/// Builds the webstack image from containers/ with this build's binary, every run: podman's
/// layer cache keeps the apt-get step (the first build takes about 25 s, later ones about
/// one).
fn webstack() -> Result<(), String> {
    debian_base()?;
    let ctx = TempDir::new("ctx-webstack");
    let root = env!("CARGO_MANIFEST_DIR");
    let made = Command::new(format!("{root}/containers/build-context.sh"))
        .arg(&ctx.0)
        .env("UPKEEP", BIN)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let file = ctx.path("webstack/Containerfile").display().to_string();
    let context = ctx.0.display().to_string();
    let t0 = Instant::now();
    let out = podman(&[
        "build", "-q", "--format", "docker", "-t", WEBSTACK, "-f", &file, &context,
    ]);
    assert!(out.status.success(), "build {WEBSTACK}: {}", text(&out));
    eprintln!("podman build of {WEBSTACK} took {:?}", t0.elapsed());
    Ok(())
}

/// GET `path` from the host, through the port podman published for the container's 8080.
fn get_published(c: &Container, path: &str) -> String {
    use std::io::{Read, Write};
    let port = text(&podman(&["port", &c.0, "8080/tcp"]));
    let addr = port.lines().next().unwrap_or_default().trim().to_string();
    let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
        return format!("no connection to {addr:?}");
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

/// One service of `upkeep status --json`'s answer.
fn service_of(status: &serde_json::Value, name: &str) -> serde_json::Value {
    status["services"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name))
        .cloned()
        .unwrap_or_default()
}

/// The worked example of the README: Debian's nginx, php-fpm and cron under upkeep.
#[test]
fn webstack_serves_php_through_nginx_and_runs_cron() {
    if let Err(why) = webstack() {
        eprintln!("skipped: the webstack needs a Debian base image: {why}");
        return;
    }
    let c = Container::run(WEBSTACK, &["-p", "127.0.0.1::8080", WEBSTACK]);
    let all = ["php-fpm", "nginx", "cron"];
    let mut wait = vec!["upkeep", "wait", "--ready", "--timeout", "60s"];
    wait.extend_from_slice(&all);
    let out = c.exec(&wait);
    assert!(out.status.success(), "{}\n{}", text(&out), c.logs());
    // php-fpm said READY=1 itself (ready.notify), and nginx started after that.
    let logs = c.logs();
    let at = |needle: &str| position(&logs, needle);
    assert!(at("php-fpm ready after") < at("nginx started"), "{logs}");
    // The page, from the host: PHP through php-fpm, and the time cron's @reboot job wrote.
    let mut page = String::new();
    assert!(
        wait_for(Duration::from_secs(15), || {
            page = get_published(&c, "/");
            page.contains("cron last ran: 20")
        }),
        "{page}\n{}",
        c.logs()
    );
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("Hello from PHP 8.2"), "{page}");
    assert!(page.contains("(fpm-fcgi)"), "{page}");
    // nginx's access log is its stdout, through upkeep.
    assert!(
        wait_for(Duration::from_secs(5), || c
            .logs()
            .contains("\"GET / HTTP/1.0\" 200")),
        "{}",
        c.logs()
    );
    // cron logs only to syslog: with syslog_listen its lines are upkeep's, the daemon's
    // (`cron: (CRON) INFO (Running @reboot jobs)`) and the @reboot job's.
    assert!(
        wait_for(Duration::from_secs(15), || {
            let logs = c.logs();
            logs.contains("(CRON) INFO") && logs.contains("(www-data) CMD (date")
        }),
        "{}",
        c.logs()
    );
    // ... and `upkeep logs cron` shows them: their tag names the service.
    let cron = text(&c.exec(&["upkeep", "logs", "cron"]));
    assert!(cron.contains("(CRON) INFO"), "{cron}");
    // Every service running; nginx healthy once its first health check (10 s after ready)
    // has passed: a PHP page through nginx and php-fpm. php-fpm's STATUS= is the NOTE.
    let mut v = serde_json::Value::Null;
    assert!(
        wait_for(Duration::from_secs(30), || {
            let out = c.exec(&["upkeep", "status", "--json"]);
            v = serde_json::from_slice(&out.stdout).unwrap_or_default();
            service_of(&v, "nginx")["health"] == "healthy"
        }),
        "{v}"
    );
    for name in all {
        assert_eq!(service_of(&v, name)["state"], "running", "{v}");
    }
    let note = service_of(&v, "php-fpm")["note"].to_string();
    assert!(
        note.contains("Ready to handle connections") || note.contains("Processes active"),
        "{v}"
    );
    let out = c.exec(&["upkeep", "wait", "--healthy", "--timeout", "10s", "nginx"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(podman(&["healthcheck", "run", &c.0]).status.success());
    let took = c.stop(10);
    assert_eq!(c.exit_code(), 0, "podman stop took {took:?}: {}", c.logs());
    let logs = c.logs();
    // In reverse order: nginx (graceful QUIT) is down before php-fpm is asked to stop.
    let at = |needle: &str| position(&logs, needle);
    assert!(at("nginx stopped") < at("php-fpm stopping"), "{logs}");
    assert!(
        logs.contains("php-fpm stopped: exited with status 0"),
        "{logs}"
    );
    assert!(logs.contains("exiting with status 0"), "{logs}");
}
