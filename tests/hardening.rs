//! SPEC.md §13: what keeps a daemon safe to leave running unattended on a shared host.
//! Each test drives the real daemon through its socket, its HTTP listener and a real
//! `sqlite3` (or SQLite file) the way an operator or an attacker would.

mod common;

use common::http::{Certs, Server};
use common::*;
use std::time::Duration;

fn target(name: &str, url: &str, extra: &str) -> String {
    format!("[[target]]\nname = \"{name}\"\nurl = \"{url}\"\nfrequency = 1\ntimeout = 2\n{extra}\n")
}

fn status(v: &serde_json::Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

fn checks(v: &serde_json::Value) -> i64 {
    v["pass_count"].as_i64().unwrap_or(0) + v["fail_count"].as_i64().unwrap_or(0)
}

/// Runs SQL through the `sqlite3` shell, as an operator does.
fn sqlite3(f: &Fixture, sql: &str) {
    let out = std::process::Command::new("sqlite3")
        .arg(f.database())
        .arg(sql)
        .output()
        .expect("the sqlite3 shell (apt-get install sqlite3)");
    assert!(out.status.success(), "sqlite3: {:?}", text(&out));
}

#[test]
fn a_redirect_to_another_origin_carries_no_credentials_or_headers() {
    let home = Server::start();
    let other = Server::start();
    let creds = "auth = { type = \"basic\", user = \"freebeer\", password = \"forall\" }\n\
                 headers = { X-Api-Token = \"tok-123\" }\nfollow_redirects = true\n";
    let away = home.url(&format!("/goto?to={}", other.url("/echo/away")));
    let f = Fixture::new(
        &(target("same", &home.url("/goto?to=/echo/same"), creds) + &target("away", &away, creds)),
    );
    f.start();
    f.wait_target(1, "a check", |v| status(v) == "PASS");
    f.wait_target(2, "a check", |v| status(v) == "PASS");
    assert!(f.ctl(&["stop"]).status.success());
    let same = home.requests().join("\n");
    assert!(
        same.contains("authorization: Basic") && same.contains("x-api-token: tok-123"),
        "a redirect within the origin keeps them: {same}"
    );
    let away = other.requests().join("\n");
    assert!(away.contains("GET /echo/away"), "{away}");
    assert!(
        !away.to_ascii_lowercase().contains("authorization")
            && !away.contains("tok-123")
            && !away.to_ascii_lowercase().contains("x-api-token"),
        "credentials followed the redirect: {away}"
    );
}

#[test]
fn a_redirect_from_https_to_http_is_refused_unless_allowed() {
    let certs = Certs::new();
    let tls = Server::start_tls(certs.valid);
    let plain = Server::start();
    let down = tls.https_url("localhost", &format!("/goto?to={}", plain.url("/ok")));
    let f = Fixture::new(
        &(target("refused", &down, "follow_redirects = true\n")
            + &target(
                "allowed",
                &down,
                "follow_redirects = true\nallow_insecure_redirect = true\n",
            )),
    );
    let ca = f.path("ca.pem");
    std::fs::write(&ca, &certs.ca_pem).unwrap();
    f.start_with_env(&[("SSL_CERT_FILE", ca.to_str().unwrap())]);
    let t = f.wait_target(1, "a FAIL", |v| status(v) == "FAIL");
    let description = t["status_description"].as_str().unwrap();
    assert!(
        description.contains("redirect from https to http://") && description.contains("refused"),
        "{t}"
    );
    let t = f.wait_target(2, "a PASS", |v| status(v) == "PASS");
    assert_eq!(t["status_description"], "OK");
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn bad_rows_typed_in_by_hand_fail_alone_and_break_nothing() {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n{}",
        target("good", &web.url("/ok"), "")
    ));
    f.start();
    f.wait_target(1, "the good target passing", |v| status(v) == "PASS");
    let url = web.url("/ok");
    sqlite3(
        &f,
        &format!(
            "INSERT INTO targets (name, url, frequency) VALUES ('half', '{url}', 0.5);
             INSERT INTO targets (name, url, frequency) VALUES ('often', '{url}', 'often');
             INSERT INTO targets (name, url, method, frequency) VALUES ('fetch', '{url}', 'FETCH', 1);
             INSERT INTO targets (name, url, frequency) VALUES ('unparsable', 'http://[::1/', 1);
             INSERT INTO targets (name, url, frequency) VALUES ('huge', '{url}', 99999999999);
             INSERT INTO targets (name, url, enabled) VALUES ('blob', X'00ff', 'yes');
             INSERT INTO notifiers (name, type, enabled, params) VALUES ('odd', 'smtp', 'yes', 'not json');"
        ),
    );
    let expect = [
        (2, "frequency 0.5"),
        (3, "frequency \"often\""),
        (4, "method \"FETCH\""),
        (5, "url"),
        (6, "frequency 99999999999"),
    ];
    for (id, named) in expect {
        let t = f.wait_target(id, "a FAIL naming the column", |v| status(v) == "FAIL");
        let d = t["status_description"].as_str().unwrap();
        assert!(d.contains(named), "target {id}: {d}");
    }
    // The list, the status page's API and the metrics all still answer.
    let out = f.ctl(&["targets"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("half") && text(&out).0.contains("blob"));
    assert!(f.ctl(&["notifiers"]).status.success());
    let addr = listen_addr(&f);
    for path in ["/api/status", "/metrics", "/api/targets/2/history"] {
        let (code, _, body) = exchange(
            &addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(code, 200, "{path}: {body}");
    }
    // A restart with the bad rows in place still checks the good target.
    assert!(f.ctl(&["stop"]).status.success());
    let before: i64 = f
        .db()
        .query_row(
            "SELECT pass_count + fail_count FROM targets WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    f.start();
    f.wait_target(1, "checks after the restart", |v| checks(v) > before + 1);
    let t = f.wait_target(2, "a FAIL after the restart", |v| status(v) == "FAIL");
    assert!(t["status_description"]
        .as_str()
        .unwrap()
        .contains("frequency 0.5"));
    assert!(f.ctl(&["stop"]).status.success());
}
