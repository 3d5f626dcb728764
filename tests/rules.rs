//! `[[service_rule]]` (SPEC §14): thresholds, flap detection, offline grace, `notify`
//! and parents for pushed services, against a real daemon.

mod common;

use common::http::Server;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const NOTIFIER: &str = "[[notifier]]\nname = \"log\"\ntype = \"command\"\ngroup_interval = 0\n\
     command = \"sh -c 'cat >> told.txt; echo =MESSAGE= >> told.txt'\"\n";

fn push(addr: &str, service: &str, state: &str, period: i64, time: Option<String>) {
    let mut s = json!({ "name": service, "state": state });
    if let Some(t) = time {
        s["time"] = Value::String(t);
    }
    let body = json!({ "server": { "name": "h", "key": "k" }, "period": period, "services": [s] });
    assert_eq!(post(addr, "/api/set/service/status", body).0, 200);
}

/// `(event, message, suppressed)` of the service's alerts, oldest first.
fn alerts(f: &Fixture, service: &str) -> Vec<(String, String, String)> {
    let db = f.db();
    let mut s = db
        .prepare(
            "SELECT event, message, suppressed FROM alerts WHERE server = 'h' AND service = ? \
             ORDER BY id",
        )
        .unwrap();
    s.query_map([service], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn told(f: &Fixture) -> String {
    std::fs::read_to_string(f.path("told.txt")).unwrap_or_default()
}

fn rfc3339(ms_ago: i64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::milliseconds(ms_ago);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn a_flapping_service_gives_one_flapping_alert_then_one_settled_alert() {
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[service_rule]]\nmatch = \"h/flappy\"\nflap_changes = 4\nflap_minutes = 2\n\n{NOTIFIER}"
    ));
    f.start();
    let addr = listen_addr(&f);
    // Reports measured over the last ten minutes, ten seconds apart (report time is
    // what the rule counts): seven changes in a minute, then OK for three minutes.
    let states = ["OK", "FAIL", "OK", "FAIL", "OK", "FAIL", "OK"];
    let mut ago = 600_000;
    for s in states.iter().copied().chain(std::iter::repeat_n("OK", 18)) {
        push(&addr, "flappy", s, 3600, Some(rfc3339(ago)));
        ago -= 10_000;
    }
    let got: Vec<(String, String)> = alerts(&f, "flappy")
        .into_iter()
        .map(|(e, m, _)| (e, m))
        .collect();
    let want = [
        ("FAIL", "State changed: \"OK\" -> \"FAIL\""),
        ("OK", "State changed: \"FAIL\" -> \"OK\""),
        ("FAIL", "State changed: \"OK\" -> \"FAIL\""),
        ("flapping", "State is flapping (4 changes in 1 min)"),
        ("OK", "Settled after flapping: \"OK\" for 2 min"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(e, m)| (e.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
    wait_for("five messages", Duration::from_secs(10), || {
        told(&f).matches("=MESSAGE=").count() == 5
    });
    assert!(
        told(&f).contains(
            "h flappy: [service:state/flapping] State is flapping (4 changes in 1 min)\n"
        ),
        "{}",
        told(&f)
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn thresholds_notify_false_and_no_rule_side_by_side() {
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[service_rule]]\nmatch = \"h/quiet*\"\nnotify = false\n\n\
         [[service_rule]]\nmatch = \"h*/thr*\"\nfailure_threshold = 3\nfailure_window = 5\n\n{NOTIFIER}"
    ));
    f.start();
    let addr = listen_addr(&f);
    // Three non-OK reports of the last five before the alert; UNK counts as non-OK.
    for s in ["OK", "FAIL", "OK", "UNK"] {
        push(&addr, "threshold", s, 600, None);
    }
    assert!(alerts(&f, "threshold").is_empty());
    push(&addr, "threshold", "FAIL", 600, None);
    push(&addr, "threshold", "OK", 600, None);
    let got: Vec<String> = alerts(&f, "threshold").into_iter().map(|a| a.1).collect();
    assert_eq!(
        got,
        [
            "State changed: \"OK\" -> \"FAIL\"",
            "State changed: \"FAIL\" -> \"OK\""
        ]
    );
    // The same reports of a service no rule matches: OverC, an alert per change.
    for s in ["OK", "FAIL", "OK", "UNK", "FAIL", "OK"] {
        push(&addr, "plain", s, 600, None);
    }
    assert_eq!(alerts(&f, "plain").len(), 5);
    push(&addr, "quiet", "FAIL", 600, None);
    let quiet = alerts(&f, "quiet");
    assert_eq!(quiet.len(), 1);
    assert_eq!(
        quiet[0].2,
        "notify = false in [[service_rule]] \"h/quiet*\""
    );
    wait_for("seven messages", Duration::from_secs(10), || {
        told(&f).matches("=MESSAGE=").count() >= 7
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(told(&f).matches("=MESSAGE=").count(), 7, "{}", told(&f));
    assert!(!told(&f).contains("quiet"));
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn offline_grace_gives_a_service_more_time() {
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[service_rule]]\nmatch = \"h/patient\"\noffline_grace = 6\n\n{NOTIFIER}"
    ));
    f.start();
    let addr = listen_addr(&f);
    push(&addr, "patient", "OK", 1, None);
    push(&addr, "plain", "OK", 1, None);
    let offline = |service: &str| alerts(&f, service).iter().any(|(e, _, _)| e == "offline");
    wait_for("the plain service offline", Duration::from_secs(10), || {
        offline("plain")
    });
    assert!(!offline("patient"), "offline before its grace");
    wait_for(
        "the patient service offline",
        Duration::from_secs(15),
        || offline("patient"),
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_rule_s_parent_holds_its_services_back_until_it_comes_back() {
    let router = Server::start();
    router.set_flip(503);
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[target]]\nname = \"router\"\nurl = \"{}\"\nfrequency = 1\n\n\
         [[service_rule]]\nmatch = \"h/*\"\ndepends_on = [\"target:router\"]\n\n{NOTIFIER}",
        router.url("/flip")
    ));
    f.start();
    let addr = listen_addr(&f);
    f.wait_target(1, "the router FAIL", |v| v["status"] == "FAIL");
    push(&addr, "app", "FAIL", 600, None);
    push(&addr, "cache", "FAIL", 600, None);
    push(&addr, "cache", "OK", 600, None);
    let app = alerts(&f, "app");
    assert_eq!(app[0].2, "parent target:router is FAIL");
    router.set_flip(200);
    wait_for("the app's FAIL told", Duration::from_secs(15), || {
        told(&f).contains("h app: [service:state/FAIL]")
    });
    std::thread::sleep(Duration::from_secs(2));
    let text = told(&f);
    assert!(
        text.contains(
            "h app: [service:state/FAIL] State changed: \"(?)\" -> \"FAIL\" \
             (Held back (parent target:router is FAIL); target:router is back now.)\n"
        ),
        "{text}"
    );
    // The cache recovered while held back, and nobody had been told it failed.
    assert!(!text.contains("h cache"), "{text}");
    assert_eq!(text.matches("=MESSAGE=").count(), 3, "{text}");
    assert!(f.ctl(&["stop"]).status.success());
}
