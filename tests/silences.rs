//! Silences, maintenance windows, acknowledgements and escalation (SPEC §15), against
//! a real daemon: what is covered is recorded and delivered to nobody, the end of a
//! cover tells what is still wrong, an acknowledgement stops renotify and escalation,
//! and an escalating notifier hears only of what lasted.

mod common;

use common::http::Server;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// A notifier that appends each message to `<file>`, then a separator line.
fn notifier(name: &str, file: &str, extra: &str) -> String {
    format!(
        "[[notifier]]\nname = \"{name}\"\ntype = \"command\"\ngroup_interval = 0\n{extra}\n\
         command = \"sh -c 'cat >> {file}; echo =MESSAGE= >> {file}'\"\n\n"
    )
}

/// The first line (subject) of each message written to `file`.
fn subjects(f: &Fixture, file: &str) -> Vec<String> {
    std::fs::read_to_string(f.path(file))
        .unwrap_or_default()
        .split("=MESSAGE=\n")
        .filter(|m| !m.trim().is_empty())
        .map(|m| m.lines().next().unwrap_or("").to_string())
        .collect()
}

fn target(name: &str, url: &str, extra: &str) -> String {
    format!("[[target]]\nname = \"{name}\"\nurl = \"{url}\"\nfrequency = 1\n{extra}\n\n")
}

/// A web server, and a daemon's fixture with target `api` on it (`extra` keys added)
/// and a notifier writing to `told.txt`.
fn api_told(extra: &str) -> (Server, Fixture) {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "{}{}",
        target("api", &web.url("/flip"), extra),
        notifier("log", "told.txt", "")
    ));
    (web, f)
}

fn status_of(f: &Fixture, name: &str) -> String {
    f.json(&["targets"])
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn wait_status(f: &Fixture, name: &str, want: &str) {
    wait_for(&format!("{name} {want}"), Duration::from_secs(20), || {
        status_of(f, name) == want
    });
}

fn push(addr: &str, server: &str, service: &str, state: &str, period: i64) {
    let body = json!({
        "server": { "name": server, "key": "k" },
        "period": period,
        "services": [{ "name": service, "state": state }],
    });
    assert_eq!(post(addr, "/api/set/service/status", body).0, 200);
}

/// `(event, suppressed)` of a source's alerts, oldest first; `column` is `target` or
/// `service`.
fn alerts_of(f: &Fixture, column: &str, name: &str) -> Vec<(String, String)> {
    let db = f.db();
    let mut s = db
        .prepare(&format!(
            "SELECT event, suppressed FROM alerts WHERE {column} = ? ORDER BY id"
        ))
        .unwrap();
    s.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_silenced_failure_is_recorded_and_told_once_when_the_silence_ends() {
    let (web, f) = api_told("");
    f.start();
    wait_status(&f, "api", "PASS");

    let out = f.ctl(&[
        "silence",
        "add",
        "--target",
        "1",
        "--for",
        "4s",
        "--comment",
        "deploy",
    ]);
    let (id, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(id.trim(), "1", "silence add prints the id");
    let (list, _) = text(&f.ctl(&["silence", "list"]));
    assert!(
        list.contains("target:api") && list.contains("deploy"),
        "{list}"
    );

    web.set_flip(503);
    wait_status(&f, "api", "FAIL");
    let (table, _) = text(&f.ctl(&["targets"]));
    assert!(table.contains("FAIL (Silenced)"), "{table}");
    let json = f.json(&["targets"]);
    assert_eq!(json[0]["silences"], json!(["silenced #1"]));
    assert_eq!(
        alerts_of(&f, "target", "api"),
        [("FAILURE".to_string(), "silenced #1".to_string())]
    );
    assert!(
        subjects(&f, "told.txt").is_empty(),
        "nothing is delivered while silenced"
    );
    let (alerts, _) = text(&f.ctl(&["alerts"]));
    assert!(alerts.contains("silenced #1"), "{alerts}");

    // The silence ends while the target still fails: one FAILURE, saying why late.
    wait_for(
        "the FAILURE told at the end",
        Duration::from_secs(10),
        || !subjects(&f, "told.txt").is_empty(),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        subjects(&f, "told.txt"),
        ["Skypunch FAILURE detected for api"]
    );
    let told = std::fs::read_to_string(f.path("told.txt")).unwrap();
    assert!(
        told.contains("Held back (silenced #1); that is over now."),
        "{told}"
    );
    let (list, _) = text(&f.ctl(&["silence", "list"]));
    assert!(!list.contains("target:api"), "{list}");
    let all = f.json(&["silence", "list", "--all"]);
    assert_eq!(all[0]["state"], "expired");
    assert_eq!(all[0]["comment"], "deploy");
    assert!(!all[0]["created_by"].as_str().unwrap().is_empty());
}

#[test]
fn a_silence_that_ends_after_the_recovery_tells_nothing() {
    let (web, f) = api_told("");
    f.start();
    wait_status(&f, "api", "PASS");
    assert!(f
        .ctl(&["silence", "add", "--match", "target:a*", "--for", "6s"])
        .status
        .success());
    web.set_flip(503);
    wait_status(&f, "api", "FAIL");
    web.set_flip(200);
    wait_status(&f, "api", "PASS");
    wait_for("the silence to end", Duration::from_secs(10), || {
        f.json(&["silence", "list"]).as_array().unwrap().is_empty()
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(subjects(&f, "told.txt").is_empty());
    assert_eq!(
        alerts_of(&f, "target", "api"),
        [
            ("FAILURE".to_string(), "silenced #1".to_string()),
            ("RECOVERY".to_string(), "silenced #1".to_string())
        ]
    );
}

#[test]
fn silences_survive_a_restart_and_can_be_removed() {
    let (web, f) = api_told("");
    let pid = f.start();
    wait_status(&f, "api", "PASS");
    let added = f.json(&["silence", "add", "--target", "api", "--for", "1h"]);
    assert_eq!(added["matches"], "target:api");
    signal(pid, nix::sys::signal::Signal::SIGKILL);
    wait_for("the daemon gone", Duration::from_secs(5), || !alive(pid));
    f.start();
    let list = f.json(&["silence", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    web.set_flip(503);
    wait_status(&f, "api", "FAIL");
    std::thread::sleep(Duration::from_secs(1));
    assert!(subjects(&f, "told.txt").is_empty());

    let out = f.ctl(&["silence", "remove", "1"]);
    assert!(out.status.success(), "{:?}", text(&out));
    wait_for(
        "the FAILURE told once removed",
        Duration::from_secs(10),
        || subjects(&f, "told.txt") == ["Skypunch FAILURE detected for api"],
    );
    let again = f.ctl(&["silence", "remove", "1"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again)
        .1
        .contains("silence 1 does not exist or is over"));
}

#[test]
fn a_silence_added_takes_effect_on_what_is_still_owed() {
    let web = Server::start();
    // A notifier that always fails keeps its deliveries pending, retrying.
    let f = Fixture::new(&format!(
        "{}[[notifier]]\nname = \"down\"\ntype = \"command\"\ngroup_interval = 0\ncommand = \"false\"\n",
        target("api", &web.url("/flip"), "")
    ));
    f.start();
    web.set_flip(503);
    wait_status(&f, "api", "FAIL");
    wait_for("a pending delivery", Duration::from_secs(10), || {
        f.scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'") == 1
    });
    assert!(f
        .ctl(&["silence", "add", "--target", "api", "--for", "1h"])
        .status
        .success());
    assert_eq!(
        f.scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'"),
        0
    );
    assert_eq!(
        f.scalar("SELECT count(*) FROM deliveries WHERE state = 'suppressed'"),
        1
    );
    assert_eq!(
        alerts_of(&f, "target", "api"),
        [("FAILURE".to_string(), "silenced #1".to_string())]
    );
}

#[test]
fn a_maintenance_window_holds_the_offline_alerts_of_the_servers_it_matches() {
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[maintenance]]\nname = \"db-patching\"\nmatch = [\"server:db*\"]\n\
         schedule = \"daily 00:00-24:00\"\ntimezone = \"Europe/Berlin\"\n\n\
         [[maintenance]]\nname = \"later\"\nmatch = [\"server:*\"]\n\
         schedule = \"Mon 00:00-00:01\"\ntimezone = \"UTC\"\n\n{}",
        notifier("log", "told.txt", "")
    ));
    f.start();
    let addr = listen_addr(&f);
    push(&addr, "db1", "postgres", "OK", 1);
    push(&addr, "web1", "nginx", "OK", 1);
    wait_for("both offline", Duration::from_secs(15), || {
        f.scalar("SELECT count(*) FROM alerts WHERE event = 'offline'") == 2
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        alerts_of(&f, "server", "db1"),
        [("offline".to_string(), "maintenance db-patching".to_string())]
    );
    assert_eq!(
        alerts_of(&f, "server", "web1"),
        [("offline".to_string(), String::new())]
    );
    assert_eq!(subjects(&f, "told.txt").len(), 1, "only web1 is told");
    let told = std::fs::read_to_string(f.path("told.txt")).unwrap();
    assert!(told.contains("web1") && !told.contains("db1"), "{told}");

    let (services, _) = text(&f.ctl(&["services"]));
    let db1 = services.lines().find(|l| l.contains("db1")).unwrap();
    assert!(db1.contains("OK (Silenced)"), "{services}");
    let json = f.json(&["services", "db1"]);
    assert_eq!(json[0]["silences"], json!(["maintenance db-patching"]));
    let status = f.json(&["status"]);
    let windows = status["maintenance"].as_array().unwrap();
    assert_eq!(windows[0]["name"], "db-patching");
    assert_eq!(windows[0]["open"], true);
    let (table, _) = text(&f.ctl(&["status"]));
    assert!(
        table.contains("| Maintenance    | 1: db-patching") && table.contains("db-patching"),
        "{table}"
    );
    let (_, api) = request(&addr, "GET", "/api/status", "");
    assert_eq!(api["maintenance"][0]["open"], true);
    let db = api["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["server"] == "db1")
        .unwrap()
        .clone();
    assert_eq!(db["silences"], json!(["maintenance db-patching"]));
}

#[test]
fn a_bad_maintenance_entry_is_refused_naming_it() {
    for (entry, says) in [
        ("match = [\"db1\"]\nschedule = \"Sun 02:00-04:00\"", "match"),
        (
            "match = [\"server:db*\"]\nschedule = \"Sunday at two\"",
            "schedule",
        ),
        (
            "match = [\"server:db*\"]\nschedule = \"Sun 02:00-04:00\"\ntimezone = \"Mars/Olympus\"",
            "timezone",
        ),
    ] {
        let f = Fixture::new(&format!("[[maintenance]]\nname = \"w\"\n{entry}\n"));
        let out = f.daemon(&["--check-config"]);
        let (_, err) = text(&out);
        assert!(!out.status.success(), "{entry}");
        assert!(
            err.contains("[[maintenance]] \"w\"") && err.contains(says),
            "{err}"
        );
    }
}

#[test]
fn an_escalating_notifier_hears_only_of_what_lasted_and_its_recovery() {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n{}{}{}",
        target("api", &web.url("/flip"), ""),
        notifier("now", "now.txt", ""),
        notifier("pager", "pager.txt", "escalate_after = \"2s\"")
    ));
    f.start();
    let addr = listen_addr(&f);
    wait_status(&f, "api", "PASS");
    // A service that fails and recovers at once, and one acknowledged at once.
    push(&addr, "h", "blip", "OK", 3600);
    push(&addr, "h", "known", "OK", 3600);
    push(&addr, "h", "blip", "FAIL", 3600);
    push(&addr, "h", "blip", "OK", 3600);
    push(&addr, "h", "known", "FAIL", 3600);
    let known = f.scalar("SELECT max(id) FROM alerts WHERE service = 'known'");
    let out = f.ctl(&["ack", &known.to_string(), "--comment", "on it"]);
    assert!(out.status.success(), "{:?}", text(&out));
    // A target that fails for longer.
    web.set_flip(503);
    wait_status(&f, "api", "FAIL");
    std::thread::sleep(Duration::from_secs(4));
    web.set_flip(200);
    wait_status(&f, "api", "PASS");
    wait_for(
        "the pager told of the recovery",
        Duration::from_secs(10),
        || subjects(&f, "pager.txt").len() >= 2,
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        subjects(&f, "pager.txt"),
        [
            "Skypunch FAILURE detected for api",
            "Skypunch RECOVERY detected for api"
        ]
    );
    let now = subjects(&f, "now.txt");
    assert_eq!(now.len(), 5, "the other notifier hears everything: {now:?}");
    let (status, _) = text(&f.ctl(&["services"]));
    let line = status.lines().find(|l| l.contains("known")).unwrap();
    assert!(line.contains("FAIL (Acked)"), "{status}");
}

#[test]
fn an_acknowledgement_stops_renotify_until_the_recovery() {
    let (web, f) = api_told("renotify_minutes = 1");
    f.start();
    wait_status(&f, "api", "PASS");
    web.set_flip(503);
    wait_status(&f, "api", "FAIL");
    let alert = f.scalar("SELECT max(id) FROM alerts WHERE target = 'api'");
    let recovery_refused = f.ctl(&["ack", "999"]);
    assert_eq!(recovery_refused.status.code(), Some(1));
    assert!(text(&recovery_refused)
        .1
        .contains("alert 999 does not exist"));
    let out = f.ctl(&[
        "ack",
        &alert.to_string(),
        "--comment",
        "disk replaced tomorrow",
    ]);
    let (said, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(said.contains("Skypunch FAILURE detected for api"), "{said}");
    let (table, _) = text(&f.ctl(&["targets"]));
    assert!(table.contains("FAIL (Acked)"), "{table}");
    let acked = &f.json(&["status"])["acked"][0];
    assert_eq!(acked["comment"], "disk replaced tomorrow");
    assert_eq!(acked["alert_id"], alert);

    // A minute later the renotification is recorded, not delivered.
    wait_for("the renotification", Duration::from_secs(90), || {
        alerts_of(&f, "target", "api").len() == 2
    });
    let alerts = alerts_of(&f, "target", "api");
    assert!(alerts[1].1.starts_with("acknowledged by "), "{alerts:?}");
    assert_eq!(subjects(&f, "told.txt").len(), 1);

    web.set_flip(200);
    wait_status(&f, "api", "PASS");
    wait_for("the recovery told", Duration::from_secs(10), || {
        subjects(&f, "told.txt").len() == 2
    });
    assert!(f.json(&["status"])["acked"].as_array().unwrap().is_empty());
    let again = f.ctl(&["ack", &alert.to_string()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).1.contains("recovered since"),
        "{:?}",
        text(&again)
    );
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn http(addr: &str, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    let (status, _, body) = exchange(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn silences_over_http_need_the_ui_credentials() {
    let f = Fixture::new(
        "[push]\nlisten = \"127.0.0.1:0\"\nui_user = \"ops\"\nui_password = \"s3cret\"\n",
    );
    f.start();
    let addr = listen_addr(&f);
    let body = r#"{"server": "db1", "for": "2h", "comment": "patching"}"#;
    let (status, _) = http(&addr, "POST", "/api/silences", None, body);
    assert_eq!(status, 401);
    let wrong = basic("ops", "guess");
    assert_eq!(
        http(&addr, "POST", "/api/silences", Some(&wrong), body).0,
        401
    );
    assert!(f.json(&["silence", "list"]).as_array().unwrap().is_empty());

    let good = basic("ops", "s3cret");
    let (status, made) = http(&addr, "POST", "/api/silences", Some(&good), body);
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["matches"], "server:db1");
    assert_eq!(made["created_by"], "http:ops");
    let list = f.json(&["silence", "list"]);
    assert_eq!(list[0]["id"], made["id"]);
    let (status, listed) = http(&addr, "GET", "/api/silences", Some(&good), "");
    assert_eq!(
        (status, listed[0]["comment"].clone()),
        (200, json!("patching"))
    );

    for (bad, says) in [
        (r#"{"server": "db1"}"#, "give a duration"),
        (r#"{"match": "db1", "for": "1h"}"#, "\"db1\""),
        (
            r#"{"server": "db1", "for": "1h", "password": "x"}"#,
            "password",
        ),
        (r#"{"target": "nope", "for": "1h"}"#, "does not exist"),
        ("not json", "not valid JSON"),
    ] {
        let (status, answer) = http(&addr, "POST", "/api/silences", Some(&good), bad);
        let message = answer["error"].as_str().unwrap_or_default().to_string();
        assert!(
            (400..=404).contains(&status) && message.contains(says),
            "{bad}: {status} {message}"
        );
    }

    let path = format!("/api/silences/{}", made["id"]);
    assert_eq!(http(&addr, "DELETE", &path, None, "").0, 401);
    assert_eq!(http(&addr, "DELETE", &path, Some(&good), "").0, 200);
    assert_eq!(http(&addr, "DELETE", &path, Some(&good), "").0, 404);
    assert!(f.json(&["silence", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn silences_over_http_are_refused_without_ui_credentials_configured() {
    let f = Fixture::new("[push]\nlisten = \"127.0.0.1:0\"\n");
    f.start();
    let addr = listen_addr(&f);
    let (status, answer) = http(
        &addr,
        "POST",
        "/api/silences",
        None,
        r#"{"server": "db1", "for": "2h"}"#,
    );
    assert_eq!(status, 403);
    assert!(answer["error"].as_str().unwrap().contains("ui_user"));
    assert!(f.json(&["silence", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn silence_add_refuses_bad_options_naming_them() {
    let f = Fixture::new("");
    f.start();
    for (args, says) in [
        (
            vec!["--target", "9", "--for", "1h"],
            "target \"9\" does not exist",
        ),
        (
            vec!["--match", "db1", "--for", "1h"],
            "expected \"target:<glob>\"",
        ),
        (
            vec!["--server", "db1", "--for", "soon"],
            "expected a duration",
        ),
        (
            vec!["--server", "db1", "--until", "2001-01-01 00:00"],
            "end before it begins",
        ),
    ] {
        let mut all = vec!["silence", "add"];
        all.extend(args.iter().copied());
        let out = f.ctl(&all);
        let (_, err) = text(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = f.ctl(&["silence", "add", "--server", "db1"]);
    assert_eq!(out.status.code(), Some(2), "no end is a usage error");
}
