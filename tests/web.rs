//! The status page, its JSON API and the metrics, over HTTP against the real daemon;
//! the page itself in headless Chromium.

mod common;

use common::http::Server;
use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;

/// GET `path`; returns the status, the headers and the body as text.
fn get(addr: &str, path: &str, auth: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (
        head[9..12].parse().unwrap(),
        head.to_string(),
        body.to_string(),
    )
}

fn get_json(addr: &str, path: &str) -> (u16, Value) {
    let (status, _, body) = get(addr, path, None);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A daemon with a passing and a failing target and one pushed service.
fn start(extra: &str) -> (Fixture, Server, String) {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n{extra}\n\
         [[target]]\nname = \"healthy\"\nurl = \"{}\"\nfrequency = 1\n\n\
         [[target]]\nname = \"broken\"\nurl = \"http://127.0.0.1:{}/\"\nfrequency = 1\n",
        web.url("/ok"),
        free_port()
    ));
    f.start();
    let addr = f.json(&["status"])["listen"].as_str().unwrap().to_string();
    let report = json!({ "server": { "name": "web1", "key": "k" }, "period": 600,
        "services": [{ "name": "app", "state": "OK", "info": "fine" }] });
    assert_eq!(post(&addr, "/api/set/service/status", report).0, 200);
    f.wait_target(1, "healthy to PASS", |t| t["status"] == "PASS");
    f.wait_target(2, "broken to FAIL", |t| t["status"] == "FAIL");
    (f, web, addr)
}

#[test]
fn json_api() {
    let (_f, _web, addr) = start("");
    let (status, s) = get_json(&addr, "/api/status");
    assert_eq!(status, 200);
    assert_eq!(s["targets"]["total"], 2);
    assert_eq!(s["targets"]["by_state"]["PASS"], 1);
    assert_eq!(s["targets"]["by_state"]["FAIL"], 1);
    let healthy = &s["targets"]["items"][0];
    assert_eq!(healthy["name"], "healthy");
    assert_eq!(healthy["status"], "PASS");
    assert_eq!(healthy["description"], "OK");
    assert!(
        !healthy["spark"].as_array().unwrap().is_empty(),
        "{healthy}"
    );
    assert!(healthy["response_ms"].as_f64().unwrap() > 0.0);
    for k in ["day", "week", "month"] {
        assert!(healthy["uptime"].get(k).is_some(), "{healthy}");
    }
    assert_eq!(s["services"][0]["name"], "app");
    assert_eq!(s["services"][0]["online"], true);
    assert!(s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["target"] == "broken"));

    let (_, failing) = get_json(&addr, "/api/status?state=fail");
    let names: Vec<&str> = failing["targets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["broken"]);
    let (_, page) = get_json(&addr, "/api/status?limit=1&offset=1");
    assert_eq!(page["targets"]["items"][0]["name"], "broken");
    assert_eq!(page["targets"]["matched"], 2);
    let (_, found) = get_json(&addr, "/api/status?q=HEAL");
    assert_eq!(found["targets"]["matched"], 1);

    let (status, t) = get_json(&addr, "/api/targets/2");
    assert_eq!(status, 200);
    assert!(
        t["last_trace"]
            .as_str()
            .unwrap()
            .contains("[FAIL] reason: connection refused"),
        "{t}"
    );
    assert!(t["counters"]["fail"].as_i64().unwrap() >= 1);
    let (status, h) = get_json(&addr, "/api/targets/2/history?limit=2");
    assert_eq!(status, 200);
    let h = h.as_array().unwrap();
    assert!(!h.is_empty() && h.len() <= 2);
    assert_eq!(h[0]["result"], "FAIL");
    assert_eq!(h[0]["description"], "connection refused");
    assert!(h[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(get_json(&addr, "/api/targets/99").0, 404);
    assert_eq!(get_json(&addr, "/api/targets/99/history").0, 404);
    assert_eq!(get_json(&addr, "/api/targets/x/history").0, 404);

    let (status, alerts) = get_json(&addr, "/api/alerts?limit=1");
    assert_eq!(status, 200);
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    let (status, bad) = get_json(&addr, "/api/alerts?since=soon");
    assert_eq!(status, 400);
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .starts_with("since: \"soon\""),
        "{bad}"
    );

    let (status, head, _) = get(&addr, "/", None);
    assert_eq!(status, 302);
    assert!(
        head.to_ascii_lowercase().contains("location: /ui/"),
        "{head}"
    );
    let (status, head, html) = get(&addr, "/ui/", None);
    assert_eq!(status, 200);
    assert!(head.contains("text/html"));
    assert!(html.contains("<title>skypunch</title>") && !html.contains("src=\"http"));
    assert_eq!(request(&addr, "POST", "/api/status", "{}").0, 405);
    assert_eq!(get_json(&addr, "/nothing").0, 404);
}

#[test]
fn prometheus_metrics() {
    let (_f, _web, addr) = start("");
    let bad = json!({ "server": { "name": "web1", "key": "wrong" } });
    assert_eq!(post(&addr, "/api/ping", bad).0, 403);
    let (status, head, text) = get(&addr, "/metrics", None);
    assert_eq!(status, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    for line in [
        "skypunch_probe_success{id=\"1\",target=\"healthy\"} 1",
        "skypunch_probe_success{id=\"2\",target=\"broken\"} 0",
        "skypunch_probe_http_status_code{id=\"1\",target=\"healthy\"} 200",
        "skypunch_probe_http_status_code{id=\"2\",target=\"broken\"} 0",
        "skypunch_service_state{server=\"web1\",service=\"app\",state=\"OK\"} 1",
        "skypunch_service_state{server=\"web1\",service=\"app\",state=\"FAIL\"} 0",
        "skypunch_service_online{server=\"web1\",service=\"app\"} 1",
        "skypunch_push_requests_total{endpoint=\"/api/set/service/status\",outcome=\"ok\"} 1",
        "skypunch_push_requests_total{endpoint=\"/api/ping\",outcome=\"refused\"} 1",
        "# TYPE skypunch_target_checks_total counter",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    for phase in ["resolve", "connect", "processing", "transfer"] {
        assert!(
            text.contains(&format!(
                "skypunch_probe_http_duration_seconds{{id=\"1\",target=\"healthy\",phase=\"{phase}\"}}"
            )),
            "{phase} in\n{text}"
        );
    }
    // Every sample line is `name{labels} number` or `name number`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn basic_auth_guards_the_page_and_read_apis_not_the_push_api() {
    let (_f, _web, addr) = start("ui_user = \"ops\"\nui_password = \"pw\"\n");
    for path in [
        "/ui/",
        "/api/status",
        "/api/alerts",
        "/metrics",
        "/api/targets/1/history",
    ] {
        let (status, head, _) = get(&addr, path, None);
        assert_eq!(status, 401, "{path}");
        assert!(
            head.contains("www-authenticate: Basic realm=\"skypunch\""),
            "{head}"
        );
        assert_eq!(
            get(&addr, path, Some("b3BzOndyb25n")).0,
            401,
            "{path} wrong password"
        );
        assert_eq!(get(&addr, path, Some("b3BzOnB3")).0, 200, "{path} ops:pw");
    }
    let ping = json!({ "server": { "name": "web1", "key": "k" } });
    assert_eq!(post(&addr, "/api/ping", ping).0, 200);
    assert_eq!(get(&addr, "/healthz", None).0, 200);
}

#[test]
fn the_page_in_headless_chromium() {
    let (f, _web, addr) = start("");
    let out = f.ctl(&["silence", "add", "--target", "broken", "--for", "1h"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let shot = f.path("status-page.png");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui/check_page.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .arg(format!("http://{addr}/ui/"))
        .arg(format!("http://{addr}"))
        .arg(&shot)
        .output()
        .expect("/usr/bin/python3 with python3-selenium, chromium and chromium-driver");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout, "ok\n");
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    if let Some(dest) = std::env::var_os("SKYPUNCH_SCREENSHOT") {
        std::fs::copy(&shot, dest).unwrap();
    }
}
