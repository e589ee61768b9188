//! The HTTP endpoint (`[supervisor] http`) on the real binary: each path, HEAD, 404 and
//! 405, bad and slow clients, and a real Prometheus scraping it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A port free on 127.0.0.1 now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const SERVICES: &str = r#"
[service.web]
command = "exec sleep 100"
restart_delay = "100ms"

[service."api.v2"]
command = "exec sleep 100"

[service.never]
command = "exec sleep 100"
ready.notify = "fd:5"
"#;

/// upkeep with SERVICES and the endpoint on a free port: (upkeep, the port).
fn start(dir: &TempDir, services: &str) -> (Running, u16) {
    let port = free_port();
    let up = start_on_socket(dir, &format!("http = \"127.0.0.1:{port}\"\n{services}"));
    (up, port)
}

/// Sends `request` as is; returns all the server said before closing.
fn raw(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn get(port: u16, path: &str) -> String {
    raw(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn each_path_and_method() {
    let dir = TempDir::new("http-paths");
    let (_up, port) = start(&dir, SERVICES);
    wait_log(&dir, "web started");
    let metrics = get(port, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(
        metrics.contains("Content-Type: text/plain; version=0.0.4"),
        "{metrics}"
    );
    let m = body(&metrics);
    assert!(m.contains("upkeep_service_up{service=\"web\"} 1\n"), "{m}");
    assert!(
        m.contains("upkeep_service_up{service=\"api.v2\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("upkeep_service_state{service=\"never\",state=\"starting\"} 1\n"),
        "{m}"
    );

    // never is not ready: /readyz says so; /healthz too (`status` would exit 3).
    let ready = get(port, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 503 "), "{ready}");
    assert_eq!(body(&ready), "never: starting, not ready\n");
    let health = get(port, "/healthz?verbose");
    assert!(health.starts_with("HTTP/1.1 503 "), "{health}");
    assert_eq!(body(&health), "never: starting\n");
    let status = get(port, "/status");
    let json: serde_json::Value = serde_json::from_str(body(&status)).unwrap();
    assert_eq!(json["services"][0]["name"], "web");

    // HEAD: the same head, no body.
    let head = raw(port, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let len = |r: &str| {
        r.lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map(|n| n.trim().parse::<usize>().unwrap())
    };
    assert!(len(&head).unwrap() > 1000, "{head}");
    assert_eq!(len(&metrics), Some(m.len()));

    for (request, code) in [
        (&b"GET /nope HTTP/1.1\r\n\r\n"[..], "404"),
        (b"GET /metrics/../status HTTP/1.1\r\n\r\n", "404"),
        (
            b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            "405",
        ),
        (b"DELETE /status HTTP/1.1\r\n\r\n", "405"),
        (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", "400"),
        (b"GET /healthz HTTP/1.0\r\n\r\n", "503"),
    ] {
        let got = raw(port, request);
        assert!(
            got.starts_with(&format!("HTTP/1.1 {code} ")),
            "{:?}: {got}",
            String::from_utf8_lossy(request)
        );
    }
    assert!(raw(port, b"PUT /x HTTP/1.1\r\n\r\n").contains("404"));
    let head404 = raw(port, b"HEAD /x HTTP/1.1\r\n\r\n");
    assert!(
        head404.starts_with("HTTP/1.1 404 ") && head404.ends_with("\r\n\r\n"),
        "{head404}"
    );
    assert!(raw(port, b"POST /status HTTP/1.1\r\n\r\n").contains("Allow: GET, HEAD\r\n"));
    // Pipelined: the first is answered, and the connection closed.
    let two = raw(
        port,
        b"GET /healthz HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n",
    );
    assert_eq!(two.matches("HTTP/1.1 ").count(), 1, "{two}");
    // More than 8 KiB of headers.
    let mut big = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
    big.resize(9000, b'a');
    big.extend_from_slice(b"\r\n\r\n");
    assert!(raw(port, &big).starts_with("HTTP/1.1 431 "));
    // Nothing from the environment, the command line or the output.
    for page in ["/metrics", "/status", "/healthz", "/readyz"] {
        let text = get(port, page);
        assert!(
            !text.contains("sleep 100") && !text.contains("PATH="),
            "{page}: {text}"
        );
    }
}

#[test]
fn slow_and_many_clients_do_not_hold_up_supervision() {
    let dir = TempDir::new("http-slow");
    let (_up, port) = start(&dir, SERVICES);
    wait_log(&dir, "web started");
    // A client that sends half a request and stalls, and 1,000 that connect and say
    // nothing (the 65th on are turned away at once).
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /metr").unwrap();
    let crowd: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(crowd.len() > 900, "{}", crowd.len());
    // Supervision goes on: a SIGKILLed service is restarted at once.
    let pid = || {
        let (_, out, _) = client_on_socket(&dir, &["status", "--json", "web"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["services"][0]["pid"].as_i64().unwrap_or(0)
    };
    let old = pid();
    kill(old as i32, libc::SIGKILL);
    // Served one at a time, the thousand idle connections would hold it for 2 s each.
    assert!(wait_for(Duration::from_secs(5), || {
        let p = pid();
        p != 0 && p != old
    }));
    // The slow client is told 408 when its 2 s are up, and dropped.
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    let _ = slow.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
    drop(crowd);
    // Once they are gone, the endpoint answers again.
    assert!(wait_for(Duration::from_secs(5), || get(port, "/healthz")
        .starts_with("HTTP/1.1 ")));
}

#[test]
fn a_port_in_use_stops_the_start() {
    let dir = TempDir::new("http-in-use");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = socket_config(
        &dir,
        &format!("http = \"127.0.0.1:{port}\"\n[service.web]\ncommand = \"exec sleep 100\"\n"),
    );
    let mut up = spawn_logged(&dir, &config, &[]);
    let status = wait_exit(&mut up.0, Duration::from_secs(5));
    assert_eq!(status.code(), Some(2), "{}", log_of(&dir));
    assert!(
        log_of(&dir).contains(&format!("cannot listen on port {port}")),
        "{}",
        log_of(&dir)
    );
}

/// The real thing: promtool accepts a scrape, and a Prometheus server scraping upkeep every
/// second sees a restart counter go up after a SIGKILL.
#[test]
fn prometheus_scrapes_it() {
    let dir = TempDir::new("http-prometheus");
    let (_up, port) = start(&dir, SERVICES);
    wait_log(&dir, "web started");
    let scrape = dir.write("scrape.txt", body(&get(port, "/metrics")));
    let check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&scrape).unwrap())
        .output()
        .unwrap_or_else(|e| panic!("promtool is needed (scripts/test.sh installs it): {e}"));
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );

    let prom_port = free_port();
    let config = dir.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: upkeep\n    static_configs:\n      \
             - targets: ['127.0.0.1:{port}']\n"
        ),
    );
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path("prometheus.log")).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("prometheus is needed (scripts/test.sh installs it): {e}"));
    let _prometheus = Running(prometheus);
    let query = |q: &str| -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", prom_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let req = format!("GET /api/v1/query?query={q} HTTP/1.0\r\n\r\n");
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let v: serde_json::Value = serde_json::from_str(body(&out)).ok()?;
        v["data"]["result"][0]["value"][1]
            .as_str()
            .map(String::from)
    };
    let restarts = "upkeep_service_restarts_total%7Bservice%3D%22web%22%7D";
    let seen = |want: &str| {
        wait_for(Duration::from_secs(15), || {
            query(restarts).as_deref() == Some(want)
        })
    };
    assert!(
        seen("0"),
        "no scrape; prometheus log:\n{}",
        dir.read("prometheus.log")
    );
    let (_, out, _) = client_on_socket(&dir, &["status", "--json", "web"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    kill(
        v["services"][0]["pid"].as_i64().unwrap() as i32,
        libc::SIGKILL,
    );
    assert!(seen("1"), "prometheus log:\n{}", dir.read("prometheus.log"));
    assert_eq!(query("upkeep_build_info").as_deref(), Some("1"));
}
