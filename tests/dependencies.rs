//! Dependencies (SPEC §14): a parent down holds its children's alerts back; when it
//! comes back, the children still failing are delivered, once.

mod common;

use common::http::Server;
use common::*;
use std::time::Duration;

fn read(f: &Fixture, name: &str) -> String {
    std::fs::read_to_string(f.path(name)).unwrap_or_default()
}

fn statuses(f: &Fixture) -> Vec<(String, String)> {
    f.json(&["targets"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn wait_statuses(f: &Fixture, what: &str, want: impl Fn(&str, &str) -> bool) {
    wait_for(what, Duration::from_secs(20), || {
        statuses(f).iter().all(|(n, s)| want(n, s))
    });
}

#[test]
fn a_router_down_holds_back_its_children_and_its_recovery_tells_the_two_still_down() {
    let router = Server::start();
    let kids = Server::start();
    let two = Server::start();
    let mut config = format!(
        "[[target]]\nname = \"router\"\nurl = \"{}\"\nfrequency = 1\n\n",
        router.url("/flip")
    );
    for i in 0..20 {
        let url = if i < 2 {
            two.url("/flip")
        } else {
            kids.url("/flip")
        };
        config.push_str(&format!(
            "[[target]]\nname = \"child{i}\"\nurl = \"{url}\"\nfrequency = 1\n\
             depends_on = [\"target:router\"]\n\n"
        ));
    }
    config.push_str(
        "[[notifier]]\nname = \"log\"\ntype = \"command\"\ngroup_interval = 0\n\
         command = \"sh -c 'cat >> told.txt; echo =MESSAGE= >> told.txt'\"\n",
    );
    let f = Fixture::new(&config);
    f.start();
    wait_statuses(&f, "every target PASS", |_, s| s == "PASS");

    router.set_flip(503);
    wait_statuses(&f, "the router FAIL", |n, s| n != "router" || s == "FAIL");
    kids.set_flip(503);
    two.set_flip(503);
    wait_statuses(&f, "every target FAIL", |_, s| s == "FAIL");
    let held = f.scalar(
        "SELECT count(*) FROM alerts WHERE target LIKE 'child%' AND event = 'FAILURE' \
         AND suppressed = 'parent target:router is FAIL'",
    );
    assert_eq!(held, 20);
    assert_eq!(
        f.scalar(
            "SELECT count(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id \
             WHERE a.target LIKE 'child%'"
        ),
        0,
        "a held-back alert has no delivery"
    );
    let (out, _) = text(&f.ctl(&["alerts"]));
    assert!(
        out.contains("suppressed: parent target:router is FAIL"),
        "{out}"
    );
    let json = f.json(&["alerts"]);
    let child = json
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["target"] == "child7")
        .unwrap();
    assert_eq!(child["suppressed"], "parent target:router is FAIL");

    // Eighteen children come back while the router is still down: nobody is told.
    kids.set_flip(200);
    wait_statuses(&f, "eighteen children PASS", |n, s| {
        matches!(n, "router" | "child0" | "child1") || s == "PASS"
    });
    router.set_flip(200);
    wait_statuses(&f, "the router PASS", |n, s| n != "router" || s == "PASS");
    wait_for("the two children told", Duration::from_secs(10), || {
        read(&f, "told.txt").matches("=MESSAGE=").count() >= 4
    });
    std::thread::sleep(Duration::from_secs(3));
    let told = read(&f, "told.txt");
    let firsts: Vec<&str> = told
        .split("=MESSAGE=\n")
        .filter(|m| !m.is_empty())
        .map(|m| m.lines().next().unwrap())
        .collect();
    assert_eq!(
        firsts,
        [
            "Skypunch FAILURE detected for router",
            "Skypunch RECOVERY detected for router",
            "Skypunch FAILURE detected for child0",
            "Skypunch FAILURE detected for child1",
        ]
    );
    assert!(
        told.contains("Held back (parent target:router is FAIL); target:router is back now."),
        "{told}"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn cycles_and_unknown_parents_are_refused_at_load() {
    let target = |name: &str, parents: &str| {
        format!(
            "[[target]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:1/\"\ndepends_on = [{parents}]\n\n"
        )
    };
    for (config, error) in [
        (
            target("a", "\"target:b\"")
                + &target("b", "\"target:c\"")
                + &target("c", "\"target:a\""),
            "[[target]] \"a\": depends_on makes a cycle: target:a -> target:b -> target:c -> target:a",
        ),
        (
            target("a", "\"target:nowhere\""),
            "depends_on \"target:nowhere\": no target of that name in this file",
        ),
        (
            target("a", "\"router\""),
            "depends_on \"router\": expected target:<name>",
        ),
        (
            target("a", "\"service:h/x\"")
                + "[[service_rule]]\nmatch = \"h/*\"\ndepends_on = [\"target:a\"]\n",
            "[[service_rule]] \"h/*\": depends_on makes a cycle: [[service_rule]] \"h/*\" -> target:a -> [[service_rule]] \"h/*\"",
        ),
        (
            "[[service_rule]]\nmatch = \"db*\"\n".to_string(),
            "[[service_rule]] \"db*\": match \"db*\": expected \"<server glob>/<service glob>\"",
        ),
        (
            "[[service_rule]]\nmatch = \"db/*\"\nfailure_threshold = 3\nfailure_window = 2\n".to_string(),
            "[[service_rule]] \"db/*\": failure_window must be from failure_threshold (3) to 64 reports, not 2",
        ),
    ] {
        let f = Fixture::new(&config);
        let out = f.ctl(&["start"]);
        let (_, err) = text(&out);
        assert_ne!(out.status.code(), Some(0), "{config}");
        assert!(err.contains(error), "{err}");
    }
}

#[test]
fn a_pushed_service_can_be_a_parent_and_its_return_tells_the_child_still_failing() {
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[target]]\nname = \"app\"\nurl = \"http://127.0.0.1:{}/\"\nfrequency = 1\n\
         depends_on = [\"service:db1/postgres\"]\n\n\
         [[notifier]]\nname = \"log\"\ntype = \"command\"\ngroup_interval = 0\n\
         command = \"sh -c 'cat >> told.txt; echo =MESSAGE= >> told.txt'\"\n",
        free_port()
    ));
    f.start();
    let addr = listen_addr(&f);
    let report = |state: &str| {
        let body = serde_json::json!({ "server": { "name": "db1", "key": "k" }, "period": 600,
            "services": [{ "name": "postgres", "state": state }] });
        assert_eq!(post(&addr, "/api/set/service/status", body).0, 200);
    };
    report("FAIL");
    f.wait_target(1, "the app FAIL", |v| v["status"] == "FAIL");
    wait_for("the app's FAILURE stored", Duration::from_secs(10), || {
        f.scalar("SELECT count(*) FROM alerts WHERE target = 'app'") == 1
    });
    let reason: String = f
        .db()
        .query_row(
            "SELECT suppressed FROM alerts WHERE target = 'app'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reason, "parent service:db1/postgres is FAIL");
    report("OK");
    wait_for(
        "the app's FAILURE delivered",
        Duration::from_secs(10),
        || read(&f, "told.txt").contains("Skypunch FAILURE detected for app"),
    );
    std::thread::sleep(Duration::from_secs(2));
    let told = read(&f, "told.txt");
    let mut firsts: Vec<&str> = told
        .split("=MESSAGE=\n")
        .filter(|m| !m.is_empty())
        .map(|m| m.lines().next().unwrap())
        .collect();
    // A target's alert is never queued behind pushed ones: the last two in either order.
    firsts[1..].sort();
    assert_eq!(
        firsts,
        [
            "db1 postgres: [service:state/FAIL] State changed: \"(?)\" -> \"FAIL\"",
            "Skypunch FAILURE detected for app",
            "db1 postgres: [service:state/OK] State changed: \"FAIL\" -> \"OK\"",
        ]
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_row_typed_in_by_hand_with_an_unknown_parent_fails_naming_it() {
    let f = Fixture::new("");
    f.start();
    f.sqlite3(
        "INSERT INTO targets (name, url, frequency, options) VALUES \
         ('orphan', 'http://127.0.0.1:1/', 1, '{\"depends_on\": [\"target:nowhere\"]}')",
    );
    let t = f.wait_target(1, "the orphan FAIL", |v| v["status"] == "FAIL");
    assert_eq!(
        t["status_description"], "depends_on \"target:nowhere\": no target of that name",
        "{t}"
    );
    assert_eq!(
        f.scalar("SELECT count(*) FROM target_parents WHERE parent = 'target:nowhere'"),
        1,
        "the trigger keeps the parents of a row typed in by hand"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn children_found_failing_just_before_their_parent_are_held_back_too() {
    let router = Server::start();
    let kid = Server::start();
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[target]]\nname = \"router\"\nurl = \"{}\"\nfrequency = 1\n\n\
         [[target]]\nname = \"child\"\nurl = \"{}\"\nfrequency = 1\n\
         depends_on = [\"target:router\"]\n\n\
         [[service_rule]]\nmatch = \"h/*\"\ndepends_on = [\"target:router\"]\n\n\
         [[notifier]]\nname = \"log\"\ntype = \"command\"\n\
         command = \"sh -c 'cat >> told.txt; echo =MESSAGE= >> told.txt'\"\n",
        router.url("/flip"),
        kid.url("/flip")
    ));
    f.start();
    let addr = listen_addr(&f);
    wait_statuses(&f, "every target PASS", |_, s| s == "PASS");
    // An alert opens the notifier's group interval (30 s): what follows waits in it.
    let opening = serde_json::json!({ "server": { "name": "x", "key": "k" },
        "alerts": [{ "message": "opening" }] });
    assert_eq!(post(&addr, "/api/set/alerts", opening).0, 200);
    wait_for("the opening alert told", Duration::from_secs(10), || {
        read(&f, "told.txt").contains("opening")
    });
    kid.set_flip(503);
    f.wait_target(2, "the child FAIL", |v| v["status"] == "FAIL");
    let report = serde_json::json!({ "server": { "name": "h", "key": "k" }, "period": 600,
        "services": [{ "name": "app", "state": "FAIL" }] });
    assert_eq!(post(&addr, "/api/set/service/status", report).0, 200);
    let unsent = "SELECT count(*) FROM alerts a JOIN deliveries d ON d.alert_id = a.id \
                  WHERE (a.target = 'child' OR a.service = 'app') AND a.suppressed = '' \
                  AND d.state = 'pending'";
    assert_eq!(f.scalar(unsent), 2, "both wait in the group interval");
    router.set_flip(503);
    f.wait_target(1, "the router FAIL", |v| v["status"] == "FAIL");
    let held = "SELECT count(*) FROM alerts a JOIN deliveries d ON d.alert_id = a.id \
                WHERE (a.target = 'child' OR a.service = 'app') \
                AND a.suppressed = 'parent target:router is FAIL' AND d.state = 'suppressed'";
    wait_for("both held back", Duration::from_secs(5), || {
        f.scalar(held) == 2
    });
    assert_eq!(f.scalar(unsent), 0);
    assert!(f.ctl(&["stop"]).status.success());
}
