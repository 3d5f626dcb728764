//! History that holds a year, against the real daemon: `skypunchctl report` and
//! `/api/report`, the daily bars, a target's response times, and the `[history]`
//! settings.

mod common;

use common::http::Server;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// A daemon in UTC with a passing and a failing target, checked every second, and one
/// pushed service; returns it with the push listener's address.
fn start() -> (Fixture, Server, String) {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "[push]\nlisten = \"127.0.0.1:0\"\n\n[history]\ntime_zone = \"UTC\"\n\n\
         [[target]]\nname = \"healthy\"\nurl = \"{}\"\nfrequency = 1\n\n\
         [[target]]\nname = \"broken\"\nurl = \"http://127.0.0.1:{}/\"\nfrequency = 1\n",
        web.url("/ok"),
        free_port()
    ));
    f.start();
    let addr = f.json(&["status"])["listen"].as_str().unwrap().to_string();
    let report = json!({ "server": { "name": "web1", "key": "k" }, "period": 600,
        "services": [{ "name": "app", "state": "WARN", "info": "slow" }] });
    assert_eq!(post(&addr, "/api/set/service/status", report).0, 200);
    // A few checks each: the stretch between two checks is what the figures count.
    wait_for(
        "three checks of each target",
        Duration::from_secs(20),
        || {
            f.scalar(
                "SELECT coalesce(min(n), 0) FROM (SELECT count(*) AS n FROM target_results GROUP BY target_id)",
            ) >= 3
                && f.scalar("SELECT count(DISTINCT target_id) FROM target_results") == 2
        },
    );
    (f, web, addr)
}

fn row<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == source)
        .unwrap_or_else(|| panic!("no row {source} in {report}"))
}

#[test]
fn report_from_the_cli_and_the_api() {
    let (f, _web, addr) = start();
    let cli = f.json(&["report"]);
    let (status, api) = request(&addr, "GET", "/api/report", "");
    assert_eq!(status, 200, "{api}");
    // The same document: the same keys, sources and counts (the times differ by the
    // moment each was asked).
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["rows"][0].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&cli), keys(&api));
    assert_eq!(cli["time_zone"], "UTC");
    assert_eq!(cli["time_zone"], api["time_zone"]);
    let sources = |v: &Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["source"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(sources(&cli), ["broken", "healthy", "web1/app"]);
    assert_eq!(sources(&cli), sources(&api));
    let broken = row(&cli, "broken");
    assert_eq!(broken["incidents"], 1, "{broken}");
    assert!(broken["downtime_ms"].as_i64().unwrap() > 0, "{broken}");
    assert_eq!(broken["uptime_pct"].as_f64(), Some(0.0), "{broken}");
    let healthy = row(&api, "healthy");
    assert_eq!(healthy["uptime_pct"].as_f64(), Some(100.0), "{healthy}");
    assert_eq!(healthy["incidents"], 0);
    assert!(healthy["p95_ms"].as_f64().unwrap() > 0.0, "{healthy}");
    // Most of the last 30 days had no data: shown as such, not counted as up.
    assert!(
        healthy["no_data_ms"].as_i64().unwrap() > 29 * 86_400_000,
        "{healthy}"
    );
    let app = row(&cli, "web1/app");
    assert_eq!(app["degraded_pct"].as_f64(), Some(100.0), "{app}");

    // One target, by name or id; the table names the range and the columns.
    let out = f.ctl(&["report", "--target", "broken"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("From "), "{stdout}");
    assert!(stdout.contains("(UTC)"), "{stdout}");
    for column in [
        "Source",
        "Uptime %",
        "Degraded %",
        "Downtime",
        "Incidents",
        "Longest",
        "MTTR",
        "p95 ms",
    ] {
        assert!(stdout.contains(column), "{column} in {stdout}");
    }
    assert!(stdout.contains("| broken "), "{stdout}");
    assert!(!stdout.contains("healthy"), "{stdout}");
    let by_id = f.json(&["report", "--target", "2", "--month", "2026-11"]);
    assert_eq!(sources(&by_id), ["broken"]);
    assert_eq!(by_id["from"], "2026-11-01 00:00");
    assert_eq!(by_id["to"], "2026-12-01 00:00");
    let (_, one) = request(
        &addr,
        "GET",
        "/api/report?server=web1&service=app&from=2026-11-01&to=2026-11-30",
        "",
    );
    assert_eq!(sources(&one), ["web1/app"]);
    assert_eq!(one["to"], "2026-12-01 00:00");
}

#[test]
fn bad_report_requests_say_what_is_wrong() {
    let (f, _web, addr) = start();
    for (args, code, says) in [
        (
            &["report", "--month", "2026-13"][..],
            1,
            "month \"2026-13\": expected YYYY-MM",
        ),
        (
            &["report", "--from", "2026-11-05", "--to", "2026-11-01"][..],
            1,
            "ends (2026-11-01) before it starts",
        ),
        (&["report", "--target", "nope"][..], 1, "no target \"nope\""),
        (&["report", "--server", "web9"][..], 1, "no server \"web9\""),
    ] {
        let out = f.ctl(args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Refused by the command line itself.
    for args in [
        &["report", "--service", "app"][..],
        &["report", "--from", "2026-11-01"][..],
        &[
            "report",
            "--month",
            "2026-11",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
        ][..],
        &["report", "--target", "1", "--server", "web1"][..],
    ] {
        assert_eq!(f.ctl(args).status.code(), Some(2), "{args:?}");
    }
    for (path, status, says) in [
        ("/api/report?month=11-2026", 400, "expected YYYY-MM"),
        (
            "/api/report?service=app",
            400,
            "a service is named with its server",
        ),
        ("/api/report?from=2026-11-01", 400, "needs both from and to"),
        ("/api/report?target=nope", 404, "no target"),
        ("/api/report?limit=3", 400, "unknown parameter \"limit\""),
    ] {
        let (got, body) = request(&addr, "GET", path, "");
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
}

#[test]
fn bars_and_response_times() {
    let (_f, _web, addr) = start();
    let (status, bars) = request(&addr, "GET", "/api/targets/1/bars", "");
    assert_eq!(status, 200, "{bars}");
    let bars = bars.as_array().unwrap();
    assert_eq!(bars.len(), 90);
    let today = bars.last().unwrap();
    assert!(today["checks"].as_i64().unwrap() >= 3, "{today}");
    assert_eq!(today["uptime_pct"].as_f64(), Some(100.0), "{today}");
    assert_eq!(bars[0]["uptime_pct"], Value::Null, "no data 89 days ago");
    let (_, broken) = request(&addr, "GET", "/api/targets/2/bars", "");
    let today = broken.as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["failures"], today["checks"], "{today}");
    assert_eq!(request(&addr, "GET", "/api/services/1/bars", "").0, 200);
    let (status, all) = request(&addr, "GET", "/api/bars", "");
    assert_eq!(status, 200);
    for key in ["target:1", "target:2", "service:1"] {
        assert_eq!(all[key].as_array().map(Vec::len), Some(90), "{key}");
    }
    let (status, some) = request(
        &addr,
        "GET",
        "/api/bars?ids=target:2,service:1,target:99",
        "",
    );
    assert_eq!(status, 200);
    let keys: Vec<&String> = some.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["service:1", "target:2"],
        "the ones asked for that exist"
    );
    let (status, bad) = request(&addr, "GET", "/api/bars?ids=target:1,host:3", "");
    assert_eq!(status, 400);
    assert!(
        bad["error"].as_str().unwrap().contains("\"host:3\""),
        "{bad}"
    );
    let (status, day) = request(&addr, "GET", "/api/targets/1/responses?range=24h", "");
    assert_eq!(status, 200, "{day}");
    let points = day["points"].as_array().unwrap();
    assert!(points.len() >= 3, "{day}");
    assert!(points[0]["avg_ms"].as_f64().unwrap() > 0.0);
    let (status, month) = request(&addr, "GET", "/api/targets/1/responses?range=30d", "");
    assert_eq!(status, 200);
    let hours = month["points"].as_array().unwrap();
    assert!(
        !hours.is_empty() && hours.len() <= 2,
        "one or two hours so far: {month}"
    );
    assert!(hours[0]["p95_ms"].as_f64().is_some(), "{month}");
    for (path, status) in [
        ("/api/targets/1/responses?range=1y", 400),
        ("/api/targets/99/bars", 404),
        ("/api/services/99/bars", 404),
        ("/api/targets/99/responses", 404),
        ("/api/services/1/responses", 404),
    ] {
        assert_eq!(request(&addr, "GET", path, "").0, status, "{path}");
    }
}

#[test]
fn history_settings_are_checked() {
    for (extra, says) in [
        (
            "history_days = 30\n[history]\nraw_days = 7\n",
            "keep raw_days only",
        ),
        (
            "[history]\nraw_days = 0\n",
            "[history] raw_days must be at least 1",
        ),
        (
            "[history]\nrollup_days = 0\n",
            "[history] rollup_days must be at least 1",
        ),
        (
            "[history]\ntime_zone = \"Mars/Olympus\"\n",
            "[history] time_zone: time zone \"Mars/Olympus\" is not known",
        ),
    ] {
        let f = Fixture::new(extra);
        let out = f.daemon(&["--check-config"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{extra}: {stderr}");
        assert!(stderr.contains(says), "{extra}: {stderr}");
    }
    // The older name alone is still taken.
    let f = Fixture::new("history_days = 30\n");
    assert_eq!(f.daemon(&["--check-config"]).status.code(), Some(0));
}
