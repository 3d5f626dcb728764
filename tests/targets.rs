//! HTTP targets against real HTTP(S) servers: Skypunch's error cases, the CLI verbs,
//! rows from SQL and from the config file, the trace, conditions, TLS and alerts.

mod common;

use common::http::{Certs, Server};
use common::*;
use std::time::Duration;

/// A `[[target]]` checked every second, with a 2 s timeout unless `extra` sets one.
fn target(name: &str, url: &str, extra: &str) -> String {
    let timeout = if extra.contains("timeout") {
        ""
    } else {
        "timeout = 2\n"
    };
    format!("[[target]]\nname = \"{name}\"\nurl = \"{url}\"\nfrequency = 1\n{timeout}{extra}\n")
}

fn status(v: &serde_json::Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

fn alerts(f: &Fixture, id: i64) -> Vec<String> {
    let db = f.db();
    let mut s = db
        .prepare("SELECT event FROM alerts WHERE target_id = ? ORDER BY id")
        .unwrap();
    s.query_map([id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Skypunch's README error case 1: the target cannot be reached.
#[test]
fn cannot_connect_is_a_network_failure_and_an_alert() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let f = Fixture::new(&target("down", &format!("http://127.0.0.1:{port}/"), ""));
    f.start();
    let t = f.wait_target(1, "a FAIL", |v| status(v) == "FAIL");
    assert_eq!(t["status_description"], "connection refused");
    assert!(t["network_fails"].as_i64().unwrap() >= 1);
    assert_eq!(t["count500"], 0);
    assert_eq!(alerts(&f, 1), vec!["FAILURE"]);
    let trace = t["last_trace"].as_str().unwrap();
    assert!(
        trace.contains(&format!(
            "connect 127.0.0.1:{port} [FAIL] reason: connection refused"
        )),
        "{trace}"
    );
    assert!(f.log().contains(&format!(
        "ERROR [1] down                           GET http://127.0.0.1:{port}/ FAIL (connection refused)"
    )));
    assert!(f.ctl(&["stop"]).status.success());
}

/// Skypunch's README error case 2: the wrong status.
#[test]
fn wrong_status_is_described_and_counted() {
    let s = Server::start();
    let f = Fixture::new(&target("nginx", &s.url("/status/503"), ""));
    f.start();
    let t = f.wait_target(1, "a FAIL", |v| status(v) == "FAIL");
    assert_eq!(t["status_description"], "target status:503 != 200");
    assert!(t["count500"].as_i64().unwrap() >= 1);
    assert_eq!(t["network_fails"], 0);
    let trace = t["last_trace"].as_str().unwrap();
    for step in [
        "resolve 127.0.0.1 -> 127.0.0.1 [OK]",
        "send GET /status/503 [OK]",
        "response 503 Service Unavailable [OK]",
        "body 10 bytes [OK]",
        "verdict FAIL: target status:503 != 200",
    ] {
        assert!(trace.contains(step), "missing {step:?} in\n{trace}");
    }
    assert!(f.log().contains("[1] trace:"));
    assert!(f.ctl(&["stop"]).status.success());
}

/// Skypunch's README error cases 3 and 4: authentication parameters missing, in the
/// config file (refused) and in a row inserted by hand (FAIL with the message).
#[test]
fn missing_auth_params_use_skypunchs_messages() {
    let basic = "invalid BASIC authn params (user and password required)";
    let openstack =
        "invalid Openstack / Keystone authn params (user,password,tenantid,osauthendpoint)";
    let f = Fixture::new(&target(
        "b",
        "http://127.0.0.1:1/",
        "auth = { type = \"basic\", user = \"freebeer\" }",
    ));
    let out = f.ctl(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains(basic), "{:?}", text(&out));

    f.write_config("");
    f.start();
    let db = rusqlite::Connection::open(f.database()).unwrap();
    db.execute_batch(
        "INSERT INTO targets (name, url, frequency, authn, authn_params) VALUES ('b', 'http://127.0.0.1:1/', 1, 'BASIC', 'user=freebeer');
         INSERT INTO targets (name, url, frequency, authn, authn_params) VALUES ('o', 'http://127.0.0.1:1/', 1, 'OPENSTACK', 'user=u,password=p,tenantid=t');",
    )
    .unwrap();
    let t = f.wait_target(1, "the BASIC row to FAIL", |v| status(v) == "FAIL");
    assert_eq!(t["status_description"], basic);
    let t = f.wait_target(2, "the OPENSTACK row to FAIL", |v| status(v) == "FAIL");
    assert_eq!(t["status_description"], openstack);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn cli_verbs_print_skypunchs_tables_and_messages() {
    let s = Server::start();
    let f = Fixture::new(&target("Localhost nginx test", &s.url("/ok"), ""));
    f.start();
    f.wait_target(1, "a PASS", |v| status(v) == "PASS");

    let list = text(&f.ctl(&["targets"])).0;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 5, "{list}");
    assert!(lines[1].starts_with("| ID | Name                 | Status | LastUpdated         | Enabled | Pass Count | Fail Count |"), "{list}");
    assert!(
        lines[3].starts_with("| 1  | Localhost nginx test | PASS   | "),
        "{list}"
    );

    let detail = text(&f.ctl(&["targets", "1"])).0;
    for row in [
        "| Target URL          | http://127.0.0.1:",
        "| Authentication      | NONE",
        "| Expected Value      | 200",
        "| Repeated Fail Count | 0",
        "Last trace:",
        "verdict PASS: OK",
    ] {
        assert!(detail.contains(row), "missing {row:?} in\n{detail}");
    }

    let out = f.ctl(&["targets", "1", "disable"]);
    assert_eq!(
        text(&out).0,
        "Target: Localhost nginx test has been Disabled\n"
    );
    assert_eq!(f.json(&["targets", "1"])["enabled"], false);
    assert!(text(&f.ctl(&["targets"])).0.contains("| No "));
    let out = f.ctl(&["targets", "1", "enable"]);
    assert_eq!(
        text(&out).0,
        "Target: Localhost nginx test has been Enabled\n"
    );

    // A manual test prints the line and the trace, and changes nothing.
    let before = f.json(&["targets", "1"]);
    let out = f.ctl(&["targets", "1", "test"]);
    assert!(out.status.success());
    let stdout = text(&out).0;
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "[1] Localhost nginx test           GET {} PASS (OK)",
            s.url("/ok")
        )),
        "{stdout}"
    );
    assert!(stdout.contains("verdict PASS: OK"));
    f.ctl(&["targets", "1", "disable"]);
    let frozen = f.json(&["targets", "1"]);
    f.ctl(&["targets", "1", "test"]);
    let after = f.json(&["targets", "1"]);
    assert_eq!(frozen["pass_count"], after["pass_count"]);
    assert_eq!(frozen["last_updated"], after["last_updated"]);
    assert!(before["pass_count"].as_i64() <= after["pass_count"].as_i64());

    for args in [
        vec!["targets", "8"],
        vec!["targets", "8", "enable"],
        vec!["targets", "8", "test"],
        vec!["targets", "remove", "8"],
    ] {
        let out = f.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out).1, "id: 8 does not exist\n", "{args:?}");
    }
    assert_eq!(f.ctl(&["targets", "1", "explode"]).status.code(), Some(2));

    let out = f.ctl(&[
        "targets",
        "add",
        "--name",
        "failing",
        "--url",
        &s.url("/status/500"),
        "--frequency",
        "1",
    ]);
    assert_eq!(text(&out).0, "Target: failing has been added with id 2\n");
    let out = f.ctl(&["targets", "2", "test"]);
    assert_eq!(out.status.code(), Some(1), "a failing test exits 1");
    assert!(text(&out).0.contains("FAIL (target status:500 != 200)"));
    let out = f.ctl(&["targets", "add", "--name", "bad", "--url", "ftp://x/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(
            "must start with http://, https://, tcp://, tls://, smtp://, dns:// or icmp://"
        ),
        "{:?}",
        text(&out)
    );
    let out = f.ctl(&["targets", "remove", "2"]);
    assert_eq!(text(&out).0, "Target: failing has been removed\n");

    let all = f.json(&["targets"]);
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert!(all[0].get("last_trace").is_none());
    assert!(f.json(&["targets", "1"])["last_trace"].is_string());
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn rows_inserted_by_hand_are_checked_without_a_restart() {
    let s = Server::start();
    let f = Fixture::new("");
    f.start();
    f.sqlite3(&format!(
        "INSERT INTO targets (name, url, frequency) VALUES ('by hand', '{}', 1);",
        s.url("/ok")
    ));
    let t = f.wait_target(1, "the new row to be checked", |v| status(v) == "PASS");
    assert_eq!(t["method"], "GET");
    assert_eq!(t["expect_status"], 200);
    // Disabling by SQL stops the checks.
    rusqlite::Connection::open(f.database())
        .unwrap()
        .execute("UPDATE targets SET enabled = 0", [])
        .unwrap();
    std::thread::sleep(scheduler_poll() + Duration::from_millis(500));
    let hits = s.hits();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s.hits(), hits, "a disabled target is still checked");
    assert!(f.ctl(&["stop"]).status.success());
}

fn scheduler_poll() -> Duration {
    skypunch::scheduler::POLL
}

#[test]
fn reload_syncs_config_targets_and_leaves_others_alone() {
    let s = Server::start();
    let f = Fixture::new(&target("from file", &s.url("/ok"), ""));
    f.start();
    f.ctl(&[
        "targets",
        "add",
        "--name",
        "from cli",
        "--url",
        &s.url("/ok"),
    ]);
    f.write_config(
        &(target("from file", &s.url("/status/204"), "expect_status = 204")
            + &target("second", &s.url("/ok"), "")),
    );
    assert!(f.ctl(&["reload"]).status.success());
    let names: Vec<String> = f
        .json(&["targets"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["from file", "from cli", "second"]);
    assert_eq!(f.json(&["targets", "1"])["expect_status"], 204);
    f.write_config("");
    assert!(f.ctl(&["reload"]).status.success());
    let names: Vec<String> = f
        .json(&["targets"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["from cli"]);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn the_request_carries_path_query_method_headers_body_and_basic_auth() {
    let s = Server::start();
    let f = Fixture::new(&target(
        "echo",
        &s.url("/echo/a%20b?x=1&y=two"),
        "method = \"POST\"\nheaders = { X-Probe = \"yes\" }\nbody = \"payload\"\nbody_contains = \"payload\"\nauth = { type = \"basic\", user = \"freebeer\", password = \"forall\" }",
    ));
    f.start();
    f.wait_target(1, "a PASS", |v| status(v) == "PASS");
    let req = s.requests().pop().unwrap();
    assert!(req.starts_with("POST /echo/a%20b?x=1&y=two\n"), "{req}");
    assert!(req.contains("x-probe: yes\n"), "{req}");
    assert!(
        req.contains("authorization: Basic ZnJlZWJlZXI6Zm9yYWxs\n"),
        "{req}"
    );
    assert!(req.contains("user-agent: skypunch/"), "{req}");
    assert!(req.ends_with("\npayload"), "{req}");
    let t = f.json(&["targets", "1"]);
    assert_eq!(t["auth_type"], "BASIC");
    // The password never shows: not in the trace, the CLI, the JSON or the log.
    let detail = text(&f.ctl(&["targets", "1"])).0;
    for place in [detail, t.to_string(), f.log()] {
        assert!(!place.contains("forall"), "password leaked: {place}");
    }
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn body_conditions_timing_and_redirects() {
    let s = Server::start();
    let f = Fixture::new(
        &[
            target("contains", &s.url("/ok"), "body_contains = \"nope\""),
            target("regex ok", &s.url("/ok"), "body_regex = \"^hello \\\\w+$\""),
            target("regex bad", &s.url("/ok"), "body_regex = \"^bye\""),
            target("too slow", &s.url("/slow/300"), "max_response_ms = 100"),
            target("redirect kept", &s.url("/redirect"), ""),
            target(
                "redirect followed",
                &s.url("/redirect"),
                "follow_redirects = true",
            ),
            target("hang", &s.url("/hang"), "timeout = 1"),
        ]
        .concat(),
    );
    f.start();
    let expect = [
        (1, "FAIL", "body does not contain \"nope\""),
        (2, "PASS", "OK"),
        (3, "FAIL", "body does not match /^bye/"),
        (5, "FAIL", "target status:301 != 200"),
        (6, "PASS", "OK"),
        (
            7,
            "FAIL",
            "timed out after 1s while waiting for the response",
        ),
    ];
    for (id, st, desc) in expect {
        let t = f.wait_target(id, desc, |v| status(v) != "NEW");
        assert_eq!(
            (status(&t), t["status_description"].as_str().unwrap()),
            (st, desc),
            "target {id}"
        );
    }
    let t = f.wait_target(4, "too slow", |v| status(v) != "NEW");
    assert!(
        t["status_description"]
            .as_str()
            .unwrap()
            .starts_with("response took 3"),
        "{t}"
    );
    let trace = f.json(&["targets", "6"])["last_trace"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        trace.contains("redirect 301 -> http://127.0.0.1:"),
        "{trace}"
    );
    let trace = f.json(&["targets", "7"])["last_trace"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(trace.contains("send GET /hang [OK]"), "{trace}");
    assert!(
        trace.contains("response to GET /hang [FAIL] reason: timed out after 1s"),
        "{trace}"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_check_still_running_makes_the_next_tick_skip() {
    let s = Server::start();
    let f = Fixture::new(&target("hang", &s.url("/hang"), "timeout = 3"));
    f.start();
    wait_for("a skipped tick in the log", Duration::from_secs(10), || {
        f.log()
            .contains("[1] hang: check skipped, the previous one is still running")
    });
    // SIGTERM with a check in flight still exits cleanly (after at most its timeout).
    let pid = f.pid().unwrap();
    signal(pid, nix::sys::signal::Signal::SIGTERM);
    wait_for("the daemon to exit", Duration::from_secs(10), || {
        !alive(pid)
    });
    assert!(!f.socket().exists());
}

#[test]
fn tls_verification_expiry_and_insecure_mode() {
    let certs = Certs::new();
    let valid = Server::start_tls(certs.valid);
    let expired = Server::start_tls(certs.expired);
    let expiring = Server::start_tls(certs.expiring);
    let f = Fixture::new(
        &[
            target("valid", &valid.https_url("localhost", "/ok"), ""),
            target("expired", &expired.https_url("localhost", "/ok"), ""),
            target(
                "expiring",
                &expiring.https_url("127.0.0.1", "/ok"),
                "cert_expiry_days = 14",
            ),
            target(
                "insecure",
                &expired.https_url("localhost", "/ok"),
                "tls_verify = false",
            ),
            target(
                "expiring soft",
                &expiring.https_url("127.0.0.1", "/ok"),
                "warn_cert_days = 9",
            ),
        ]
        .concat(),
    );
    let ca = f.path("ca.pem");
    std::fs::write(&ca, &certs.ca_pem).unwrap();
    f.start_with_env(&[("SSL_CERT_FILE", ca.to_str().unwrap())]);
    let expect = [
        (1, "PASS", "OK"),
        (2, "FAIL", "tls: certificate expired"),
        (3, "FAIL", "tls: certificate expires in 4 days (< 14)"),
        (4, "PASS", "OK"),
        (5, "WARN", "certificate expires in 4 days"),
    ];
    for (id, st, desc) in expect {
        let t = f.wait_target(id, desc, |v| status(v) != "NEW");
        let got = t["status_description"].as_str().unwrap();
        // Five days less the seconds since the certificate was made.
        let ok = got == desc
            || (id == 3 && got == "tls: certificate expires in 5 days (< 14)")
            || (id == 5 && got == "certificate expires in 5 days");
        assert!(status(&t) == st && ok, "target {id}: {t}");
    }
    let trace = f.json(&["targets", "1"])["last_trace"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        trace.contains("tls localhost TLSv1_3, certificate valid until "),
        "{trace}"
    );
    assert!(f.ctl(&["stop"]).status.success());

    // Without the test CA, the chain is unknown.
    let g = Fixture::new(&target(
        "unknown ca",
        &valid.https_url("localhost", "/ok"),
        "",
    ));
    g.start_with_env(&[("SSL_CERT_FILE", "/nonexistent.pem")]);
    let t = g.wait_target(1, "a FAIL", |v| status(v) == "FAIL");
    assert_eq!(
        t["status_description"],
        "tls: certificate signed by unknown authority"
    );
    assert!(g.ctl(&["stop"]).status.success());
}

#[test]
fn state_changes_raise_alerts_with_thresholds_and_survive_restart() {
    let s = Server::start();
    let f = Fixture::new(&target("flip", &s.url("/flip"), "failure_threshold = 2"));
    f.start();
    f.wait_target(1, "PASS", |v| status(v) == "PASS");
    assert!(alerts(&f, 1).is_empty(), "NEW -> PASS told someone");
    s.set_flip(503);
    let t = f.wait_target(1, "FAIL after two failed checks", |v| status(v) == "FAIL");
    assert!(t["repeated_fails"].as_i64().unwrap() >= 2);
    assert_eq!(alerts(&f, 1), vec!["FAILURE"]);
    s.set_flip(200);
    f.wait_target(1, "PASS again", |v| status(v) == "PASS");
    assert_eq!(alerts(&f, 1), vec!["FAILURE", "RECOVERY"]);
    let details: String = f
        .db()
        .query_row(
            "SELECT details FROM alerts WHERE event = 'FAILURE'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        details.contains("target status:503 != 200")
            && details.contains("Pass Count:")
            && details.contains("verdict FAIL"),
        "{details}"
    );

    assert!(f.ctl(&["stop"]).status.success());
    let before = f
        .db()
        .query_row(
            "SELECT pass_count, fail_count, (SELECT count(*) FROM target_results) FROM targets",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(before.0 + before.1, before.2, "one history row per check");
    f.start();
    let t = f.json(&["targets", "1"]);
    assert!(
        t["pass_count"].as_i64().unwrap() >= before.0,
        "counters lost across restart"
    );
    assert_eq!(t["status"], "PASS");
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn keep_alive_reuses_the_connection_and_replaces_one_the_server_closed() {
    let s = Server::start();
    let (closing, closing_conns) = common::http::start_closing_server();
    let f = Fixture::new(
        &[
            target("kept", &s.url("/ok"), "keep_alive = true"),
            target(
                "closed by server",
                &format!("http://{closing}/"),
                "keep_alive = true",
            ),
            target("fresh", &s.url("/status/204"), "expect_status = 204"),
        ]
        .concat(),
    );
    f.start();
    let t = f.wait_target(1, "three checks", |v| {
        v["pass_count"].as_i64().unwrap_or(0) >= 3
    });
    let trace = t["last_trace"].as_str().unwrap();
    assert!(
        trace.contains(&format!("reuse connection to {} [OK]", s.addr)),
        "{trace}"
    );
    assert!(!trace.contains("connect 127.0.0.1"), "{trace}");

    let t = f.wait_target(2, "three checks", |v| {
        v["pass_count"].as_i64().unwrap_or(0) >= 3
    });
    assert_eq!(
        t["fail_count"], 0,
        "a closed idle connection must not fail a check: {t}"
    );
    let trace = t["last_trace"].as_str().unwrap();
    assert!(
        trace.contains("the reused connection was closed by the server; reconnecting"),
        "{trace}"
    );
    assert!(closing_conns.load(std::sync::atomic::Ordering::SeqCst) >= 3);

    f.wait_target(3, "three checks", |v| {
        v["pass_count"].as_i64().unwrap_or(0) >= 3
    });
    assert!(f.ctl(&["stop"]).status.success());
    // Target 1 kept one connection; target 3 opened one per check.
    let checks_3 = f
        .db()
        .query_row(
            "SELECT count(*) FROM target_results WHERE target_id = 3",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    let checks_1 = f
        .db()
        .query_row(
            "SELECT count(*) FROM target_results WHERE target_id = 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(
        s.connections() as i64,
        1 + checks_3,
        "target 1 made {checks_1} checks"
    );
}

#[test]
fn a_target_list_larger_than_a_frame_is_listed_whole() {
    let f = Fixture::new("");
    f.start();
    // 40,000 disabled targets with 120-character URLs, one typed in with id 0: over
    // 4 MiB of answer, the most one control frame may carry.
    f.sqlite3(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) \
         INSERT INTO targets (name, url, enabled) \
         SELECT 'target-' || i, 'http://127.0.0.1:9/' || printf('%.100c', 'x') || '/' || i, 0 FROM n; \
         INSERT INTO targets (id, name, url, enabled) VALUES (0, 'zero', 'http://127.0.0.1:9/', 0);",
    );
    let out = f.ctl(&["targets"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ID"))
        .count();
    assert_eq!(rows, 40_001);
    let all = f.json(&["targets"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 40_001);
    assert_eq!(all[0]["name"], "zero");
    assert_eq!(all[40_000]["name"], "target-40000");
}
