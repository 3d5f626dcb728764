//! OverC's push API, black-box over HTTP against the real daemon.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;

const PUSH: &str = "[push]\nlisten = \"127.0.0.1:0\"\n";

fn start(extra: &str) -> (Fixture, String) {
    let f = Fixture::new(&format!("{PUSH}{extra}"));
    f.start();
    let addr = f.json(&["status"])["listen"].as_str().unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    (f, addr)
}

fn id(name: &str, key: &str) -> Value {
    json!({ "name": name, "key": key })
}

fn alerts(f: &Fixture) -> Vec<(String, String, String, String)> {
    let db = f.db();
    let mut s = db
        .prepare("SELECT service, channel, event, message FROM alerts ORDER BY id")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn ping_registers_and_then_checks_the_key_across_restarts() {
    let (f, addr) = start("");
    assert_eq!(
        post(
            &addr,
            "/api/ping",
            json!({ "server": id("localhost", "1234") })
        ),
        (200, json!({ "pong": 1 }))
    );
    assert_eq!(
        post(
            &addr,
            "/api/ping",
            json!({ "server": id("localhost", "1234") })
        ),
        (200, json!({ "pong": 1 }))
    );
    assert_eq!(
        post(
            &addr,
            "/api/ping",
            json!({ "server": id("localhost", "12345") })
        ),
        (403, json!({ "error": "Invalid server key" }))
    );
    // The replies, byte for byte as SPEC.md §4 writes them.
    let raw =
        |path: &str, body: serde_json::Value| request_raw(&addr, "POST", path, &body.to_string());
    assert_eq!(
        raw("/api/ping", json!({ "server": id("localhost", "1234") })),
        (200, r#"{"pong": 1}"#.to_string())
    );
    assert_eq!(
        raw(
            "/api/set/service/status",
            json!({ "server": id("localhost", "1234"), "period": 60, "services": [] })
        ),
        (200, r#"{"ok": 1}"#.to_string())
    );
    assert_eq!(
        raw(
            "/api/set/alerts",
            json!({ "server": id("localhost", "1234"), "alerts": [] })
        ),
        (200, r#"{"ok": 1}"#.to_string())
    );
    assert_eq!(
        request_raw(&addr, "GET", "/healthz", ""),
        (200, r#"{"status": "ok"}"#.to_string())
    );
    assert_eq!(
        raw("/api/ping", json!({ "server": id("localhost", "12345") })),
        (403, r#"{"error": "Invalid server key"}"#.to_string())
    );
    // Keys are stored salted and hashed, never as sent.
    let (salt, hash): (String, String) = f
        .db()
        .query_row(
            "SELECT key_salt, key_hash FROM servers WHERE name = 'localhost'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(salt.len() == 32 && hash.len() == 64 && !hash.contains("1234"));
    assert!(f.ctl(&["stop"]).status.success());
    f.start();
    let addr = f.json(&["status"])["listen"].as_str().unwrap().to_string();
    assert_eq!(
        post(
            &addr,
            "/api/ping",
            json!({ "server": id("localhost", "bad") })
        )
        .0,
        403
    );
    assert_eq!(
        post(
            &addr,
            "/api/ping",
            json!({ "server": id("localhost", "1234") })
        )
        .0,
        200
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn without_auto_register_unknown_servers_are_refused() {
    let (f, addr) = start("auto_register = false\n");
    let (status, body) = post(&addr, "/api/ping", json!({ "server": id("new", "k") }));
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("servers add"),
        "{body}"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn validation_errors_name_what_is_wrong() {
    let (f, addr) = start("max_body_bytes = 2000\n");
    let s = id("a", "k");
    let cases = [
        (json!([1, 2]), "Invalid data: should be JSON object"),
        (
            json!({ "period": 60, "services": [] }),
            "Data: \"server\" key is missing",
        ),
        (
            json!({ "server": "a", "period": 60, "services": [] }),
            "Data: \"server\" should be an object",
        ),
        (
            json!({ "server": { "name": "a" }, "period": 60, "services": [] }),
            "Data: \"server.key\" key is missing",
        ),
        (
            json!({ "server": s, "services": [] }),
            "Data: \"period\" key is missing",
        ),
        (
            json!({ "server": s, "period": "soon", "services": [] }),
            "Data: \"period\" should be an integer",
        ),
        (
            json!({ "server": s, "period": 60, "services": {} }),
            "Data: \"services\" should be a list",
        ),
        (
            json!({ "server": s, "period": 60, "services": [{ "name": "x", "state": 1 }] }),
            "Data: \"services[0].state\" should be a string",
        ),
        (
            json!({ "server": s, "period": 60, "services": [{ "name": "x", "state": "OK", "info": 5 }] }),
            "Data: \"services[0].info\" should be a string",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(
            post(&addr, "/api/set/service/status", body.clone()),
            (400, json!({ "error": message })),
            "{body}"
        );
    }
    assert_eq!(request(&addr, "POST", "/api/ping", "{nope").0, 400);
    assert_eq!(request(&addr, "GET", "/api/ping", "").0, 405);
    assert_eq!(request(&addr, "POST", "/api/nothing", "{}").0, 404);
    let big = json!({ "server": s, "period": 60, "services": [{ "name": "x", "state": "OK", "info": "i".repeat(3000) }] });
    assert_eq!(post(&addr, "/api/set/service/status", big).0, 413);
    assert_eq!(request(&addr, "GET", "/healthz", "").0, 200);
    // Nothing refused was stored.
    let n: i64 = f
        .db()
        .query_row("SELECT count(*) FROM service_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn states_duplicates_and_the_state_change_sequence() {
    let (f, addr) = start("");
    let report = |services: Value| {
        post(
            &addr,
            "/api/set/service/status",
            json!({ "server": id("localhost", "1234"), "period": 60, "services": services }),
        )
    };
    // New services: OK tells nobody; anything else is a change from "(?)".
    assert_eq!(
        report(
            json!([{ "name": "app", "state": "OK", "info": "up 32h" }, { "name": "que", "state": "FAIL" }])
        ),
        (200, json!({ "ok": 1 }))
    );
    // Unsupported state, ERR, duplicates (the last one wins), unicode names.
    assert_eq!(
        report(json!([
            { "name": "app", "state": "weird", "info": "hmm" },
            { "name": "que", "state": "ERR" },
            { "name": "cpu", "state": "warn", "period": 5 },
            { "name": "cpu", "state": "OK", "info": "28% load" },
            { "name": "Überwachung ✓", "state": "OK" },
        ]))
        .0,
        200
    );
    let db = f.db();
    let app: (String, String) = db
        .query_row(
            "SELECT state, info FROM services WHERE name = 'app'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        app,
        (
            "UNK".into(),
            "hmm (sent unsupported state: \"weird\")".into()
        )
    );
    let cpu: (String, i64, i64) = db
        .query_row("SELECT state, period, (SELECT count(*) FROM service_history WHERE service_id = services.id) FROM services WHERE name = 'cpu'", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    assert_eq!(cpu, ("OK".into(), 60, 1), "the duplicate's last entry wins");
    let n: i64 = db
        .query_row(
            "SELECT count(*) FROM services WHERE name = 'Überwachung ✓'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        alerts(&f),
        vec![
            (
                "que".into(),
                "service:state".into(),
                "FAIL".into(),
                "State changed: \"(?)\" -> \"FAIL\"".into()
            ),
            (
                "app".into(),
                "service:state".into(),
                "UNK".into(),
                "State changed: \"OK\" -> \"UNK\"".into()
            ),
        ]
    );
    // Every state is history: two in the first report, four distinct in the second.
    let states: i64 = db
        .query_row("SELECT count(*) FROM service_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(states, 6);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn pushed_alerts_are_stored_as_api_alerts() {
    let (f, addr) = start("");
    let body = json!({ "server": id("localhost", "1234"), "alerts": [
        { "message": "System down" },
        { "message": "Cannot check state for service A", "service": "queue" }
    ] });
    assert_eq!(
        post(&addr, "/api/set/alerts", body),
        (200, json!({ "ok": 1 }))
    );
    assert_eq!(
        alerts(&f),
        vec![
            (
                "".into(),
                "api".into(),
                "alert".into(),
                "System down".into()
            ),
            (
                "queue".into(),
                "api".into(),
                "alert".into(),
                "Cannot check state for service A".into()
            ),
        ]
    );
    let bad = json!({ "server": id("localhost", "1234"), "alerts": [{ "service": "x" }] });
    assert_eq!(
        post(&addr, "/api/set/alerts", bad),
        (
            400,
            json!({ "error": "Data: \"alerts[0].message\" key is missing" })
        )
    );
    assert_eq!(
        post(
            &addr,
            "/api/set/alerts",
            json!({ "server": id("localhost", "no"), "alerts": [] })
        )
        .0,
        403
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_service_that_misses_its_period_goes_offline_and_comes_back() {
    let (f, addr) = start("");
    let report = || {
        post(
            &addr,
            "/api/set/service/status",
            json!({ "server": id("web1", "k"), "period": 60,
            "services": [{ "name": "cron", "state": "OK", "period": 1 }] }),
        )
    };
    assert_eq!(report().0, 200);
    // The alert is committed first, then the line is logged: wait for both.
    wait_for(
        "the offline alert and its log line",
        std::time::Duration::from_secs(10),
        || {
            alerts(&f)
                .iter()
                .any(|a| a.1 == "plugin" && a.2 == "offline")
                && f.log().contains("web1 cron: monitoring plugin offline")
        },
    );
    assert_eq!(report().0, 200);
    let all = alerts(&f);
    assert_eq!(
        all.iter()
            .filter(|a| a.1 == "plugin")
            .map(|a| (a.2.as_str(), a.3.as_str()))
            .collect::<Vec<_>>()[..2],
        [
            ("offline", "Monitoring plugin offline"),
            ("online", "Monitoring plugin back online")
        ]
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn servers_services_and_alerts_on_the_cli() {
    let (f, addr) = start("auto_register = false\n");
    let out = f.ctl(&["--json", "servers", "add", "web1"]);
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = added["key"].as_str().unwrap().to_string();
    assert!(key.len() >= 32, "{added}");
    let out = f.ctl(&["servers", "add", "web1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("already exists"));
    assert_eq!(
        post(&addr, "/api/ping", json!({ "server": id("web1", "wrong") })).0,
        403
    );
    let body = json!({ "server": id("web1", &key), "period": 60, "services": [
        { "name": "nginx", "state": "OK", "info": "up 32h" }, { "name": "disk", "state": "WARN", "info": "91% used" }] });
    assert_eq!(post(&addr, "/api/set/service/status", body).0, 200);

    let table = text(&f.ctl(&["services"])).0;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[1], "| Server | Service | State | Info     | Period | Last Report         | Online |",
        "{table}"
    );
    assert!(
        lines[3].starts_with("| web1   | disk    | WARN  | 91% used | 60     | "),
        "{table}"
    );
    let services = f.json(&["services", "web1"]);
    assert_eq!(services.as_array().unwrap().len(), 2);
    for k in [
        "id",
        "server",
        "name",
        "state",
        "info",
        "period",
        "last_report",
        "timed_out",
    ] {
        assert!(services[0].get(k).is_some(), "services JSON lacks {k}");
    }
    let servers = text(&f.ctl(&["servers"])).0;
    assert!(
        servers.contains("| web1 ") && servers.contains("skypunchctl"),
        "{servers}"
    );

    let alerts = f.json(&["alerts", "--since", "1h", "--limit", "10"]);
    assert_eq!(alerts[0]["message"], "State changed: \"(?)\" -> \"WARN\"");
    for k in [
        "id", "time", "server", "service", "target", "channel", "event", "message",
    ] {
        assert!(alerts[0].get(k).is_some(), "alerts JSON lacks {k}");
    }
    assert!(text(&f.ctl(&["alerts"])).0.contains("service:state/WARN"));
    assert_eq!(f.ctl(&["alerts", "--since", "soon"]).status.code(), Some(2));

    assert_eq!(
        text(&f.ctl(&["servers", "remove", "web1"])).0,
        "Server: web1 has been removed\n"
    );
    assert_eq!(f.json(&["services"]).as_array().unwrap().len(), 0);
    let out = f.ctl(&["servers", "remove", "web1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("server \"web1\" does not exist"));
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn service_history_newest_first_behind_optional_basic_auth() {
    let (f, addr) = start("ui_user = \"ops\"\nui_password = \"pw\"\n");
    for (state, info) in [("OK", "one"), ("WARN", "two"), ("FAIL", "three")] {
        let body = json!({ "server": id("h", "k"), "period": 60, "services": [{ "name": "s", "state": state, "info": info }] });
        assert_eq!(post(&addr, "/api/set/service/status", body).0, 200);
    }
    let sid = f.json(&["services"])[0]["id"].as_i64().unwrap();
    assert_eq!(
        request(&addr, "GET", &format!("/api/services/{sid}/history"), "").0,
        401
    );
    let get = |path: &str| {
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic b3BzOnB3\r\nConnection: close\r\n\r\n").unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status: u16 = raw[9..12].parse().unwrap();
        (
            status,
            serde_json::from_str::<Value>(raw.split_once("\r\n\r\n").unwrap().1)
                .unwrap_or(Value::Null),
        )
    };
    let (status, history) = get(&format!("/api/services/{sid}/history"));
    assert_eq!(status, 200);
    let states: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["FAIL", "WARN", "OK"]);
    assert_eq!(history[0]["info"], "three");
    assert!(history[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        get(&format!("/api/services/{sid}/history?limit=1"))
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(get("/api/services/999/history").0, 404);
    // The push API keeps its own keys, not the page's credentials.
    assert_eq!(
        post(&addr, "/api/ping", json!({ "server": id("h", "k") })).0,
        200
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_report() {
    // Every report kept in the history (not one in five minutes): each acknowledged
    // one is looked for there.
    let (f, addr) = start("\n[history]\nservice_sample_seconds = 0\n");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (addr, stop) = (addr.clone(), stop.clone());
        clients.push(std::thread::spawn(move || {
            let mut acked = Vec::new();
            for n in 0..100_000 {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let info = format!("c{c}-n{n}");
                let body = json!({ "server": id("load", "k"), "period": 60,
                    "services": [{ "name": format!("svc{c}"), "state": "OK", "info": info }] });
                // A refused connection or a cut reply means "not acknowledged".
                let sent =
                    std::panic::catch_unwind(|| post(&addr, "/api/set/service/status", body));
                match sent {
                    Ok((200, _)) => acked.push(info),
                    _ => break,
                }
            }
            acked
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    signal(f.pid().unwrap(), nix::sys::signal::Signal::SIGKILL);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acked: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        acked.len() > 100,
        "only {} reports were acknowledged",
        acked.len()
    );
    f.start();
    let stored: std::collections::HashSet<String> =
        f.kept_reports().into_iter().map(|r| r.1).collect();
    let lost: Vec<&String> = acked.iter().filter(|a| !stored.contains(*a)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged reports lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(f.ctl(&["stop"]).status.success());
}

/// Reads until the server closes the connection; the time it took.
fn until_closed(s: &mut TcpStream, limit: std::time::Duration) -> std::time::Duration {
    let started = std::time::Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) => panic!("not closed after {:?}: {e}", started.elapsed()),
        }
    }
}

#[test]
fn stalled_and_idle_connections_are_closed_busy_ones_are_not() {
    let (f, addr) = start("");
    // A client that stops halfway through its headers.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled
        .write_all(b"POST /api/ping HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // A keep-alive connection that sends one request and then nothing.
    let mut idle = TcpStream::connect(&addr).unwrap();
    let body = json!({ "server": id("keep", "k") }).to_string();
    write!(
        idle,
        "POST /api/ping HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // A connection used once a second for longer than the timeout.
    let busy_addr = addr.clone();
    let busy = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&busy_addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        for _ in 0..13 {
            let body = json!({ "server": id("busy", "k") }).to_string();
            write!(
                s,
                "POST /api/ping HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).expect("the busy connection is answered");
            let reply = String::from_utf8_lossy(&buf[..n]).to_string();
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            assert!(reply.ends_with("{\"pong\": 1}"), "{reply}");
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    let limit = std::time::Duration::from_secs(20);
    let waited = until_closed(&mut stalled, limit);
    assert!(
        waited >= std::time::Duration::from_secs(9),
        "closed after {waited:?}, before the 10 s header timeout"
    );
    // The idle one got its answer, then was closed like the stalled one.
    let mut reply = Vec::new();
    idle.set_read_timeout(Some(limit)).unwrap();
    idle.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("{\"pong\": 1}"), "{reply}");
    busy.join().unwrap();
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn services_with_long_infos_are_listed_whole() {
    let f = Fixture::new("");
    f.start();
    // 100 services with 60 KB infos: 6 MB of answer, over the 4 MiB of a frame.
    f.sqlite3(
        "INSERT INTO servers (name, key_salt, key_hash, created) VALUES ('h', '', '', 0); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
         INSERT INTO services (server_id, name, state, period, info, last_report) \
         SELECT 1, printf('s%03d', i), 'OK', 60, printf('%.60000c', 'i'), 0 FROM n;",
    );
    let out = f.ctl(&["services"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("| h "))
        .count();
    assert_eq!(rows, 100);
    let all = f.json(&["services", "h"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 100);
    assert_eq!(all[99]["name"], "s100");
    assert_eq!(all[0]["info"].as_str().unwrap().len(), 60_000);
}
