//! skypunch beside the engines fleets already run (SPEC §18): its `/metrics` read by
//! Debian's `promtool`, its alerts sent to a real Alertmanager by an HA pair of
//! daemons, and the shipped rules evaluated by a real Prometheus scraping two
//! daemons in two locations. Everything listens on 127.0.0.1.

mod common;

use common::http::Server;
use common::*;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The text of `GET path` on `addr`.
fn get_text(addr: &str, path: &str) -> String {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (status, _, body) = exchange(addr, &raw);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Runs a Debian tool (`promtool`, `amtool`) with `args` and `stdin`; its exit
/// status and everything it printed.
fn tool(program: &str, args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} (apt-get install prometheus): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (o, e) = text(&out);
    (out.status.success(), format!("{o}{e}"))
}

#[test]
fn promtool_accepts_the_metrics_of_targets_in_every_state_and_of_pushed_services() {
    let web = Server::start();
    let dead = free_port();
    let f = Fixture::new(&format!(
        "location = \"fra1\"\n\
         [push]\nlisten = \"127.0.0.1:0\"\n\n\
         [[target]]\nname = \"healthy\"\nurl = \"{ok}\"\nfrequency = 1\n\n\
         [[target]]\nname = \"slow\"\nurl = \"{slow}\"\nfrequency = 1\nwarn_response_ms = 50\n\n\
         [[target]]\nname = \"broken\"\nurl = \"http://127.0.0.1:{dead}/\"\nfrequency = 1\n\n\
         [[target]]\nname = \"waiting\"\nurl = \"{ok}\"\nenabled = false\n\n\
         [[notifier]]\nname = \"hook\"\ntype = \"webhook\"\ngroup_interval = 0\n\
         url = \"http://127.0.0.1:{dead}/hook\"\n",
        ok = web.url("/ok"),
        slow = web.url("/slow/200"),
    ));
    f.start();
    let addr = listen_addr(&f);
    let report = json!({ "server": { "name": "web1", "key": "k" }, "period": 600,
        "services": [{ "name": "app", "state": "OK", "info": "fine" },
                     { "name": "disk", "state": "FAIL", "info": "full" }] });
    assert_eq!(post(&addr, "/api/set/service/status", report).0, 200);
    let late = json!({ "server": { "name": "db1", "key": "k" }, "period": 1,
        "services": [{ "name": "backup", "state": "OK", "info": "done" }] });
    assert_eq!(post(&addr, "/api/set/service/status", late).0, 200);
    f.wait_target(1, "healthy to PASS", |t| t["status"] == "PASS");
    f.wait_target(2, "slow to WARN", |t| t["status"] == "WARN");
    f.wait_target(3, "broken to FAIL", |t| t["status"] == "FAIL");
    let mut text = String::new();
    wait_for(
        "db1's backup offline, and the hook's failed attempt",
        Duration::from_secs(15),
        || {
            text = get_text(&addr, "/metrics");
            text.contains(
                "skypunch_service_online{location=\"fra1\",server=\"db1\",service=\"backup\"} 0",
            ) && !text.contains("notifier=\"hook\",result=\"failed\"} 0")
        },
    );
    let (ok, said) = tool("promtool", &["check", "metrics"], &text);
    assert!(ok && said.trim().is_empty(), "promtool: {said}\n{text}");
    for line in [
        "skypunch_target_state{location=\"fra1\",id=\"1\",target=\"healthy\"} 1",
        "skypunch_target_state{location=\"fra1\",id=\"2\",target=\"slow\"} 2",
        "skypunch_target_state{location=\"fra1\",id=\"3\",target=\"broken\"} 3",
        "skypunch_target_state{location=\"fra1\",id=\"4\",target=\"waiting\"} 0",
        "skypunch_probe_success{location=\"fra1\",id=\"2\",target=\"slow\"} 1",
        "skypunch_probe_success{location=\"fra1\",id=\"3\",target=\"broken\"} 0",
        "skypunch_service_state{location=\"fra1\",server=\"web1\",service=\"disk\",state=\"FAIL\"} 1",
        "skypunch_service_online{location=\"fra1\",server=\"web1\",service=\"app\"} 1",
        "# TYPE skypunch_store_commit_duration_seconds histogram",
        "skypunch_notifier_deliveries_total{location=\"fra1\",notifier=\"hook\",result=\"delivered\"} 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Every series carries the location; reports are stamped with the time they came.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.contains("{location=\"fra1\""), "{line}");
    }
    let stamp = text
        .lines()
        .find(|l| l.starts_with("skypunch_service_last_report_timestamp_seconds{location=\"fra1\",server=\"web1\",service=\"app\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .expect("web1/app's last report time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - 60.0..=now).contains(&stamp), "{stamp} vs {now}");
    let commits = text
        .lines()
        .find(|l| l.starts_with("skypunch_store_commit_duration_seconds_count"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .expect("the commit histogram's count");
    assert!(commits > 0, "{text}");
}

/// A Debian binary started on 127.0.0.1 for one test, with its configuration and log
/// in a directory of its own.
struct Engine {
    peer: Peer,
    dir: tempfile::TempDir,
}

impl Engine {
    /// Starts `program` with `config` written to `config.yml` in a fresh directory
    /// (`{dir}` in `args` is that directory, `{port}` a free port), and waits until
    /// `GET /-/ready` answers 200.
    fn start(program: &str, config: &str, args: &[&str]) -> Engine {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let port = free_port();
        let d = dir.path().to_str().unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{dir}", d).replace("{port}", &port.to_string()))
            .collect();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let mut command = Command::new(program);
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let peer = Peer::spawn(command, port, &format!("{program} (apt-get install it)"));
        let e = Engine { peer, dir };
        let addr = e.addr();
        wait_for(&format!("{program} ready"), Duration::from_secs(30), || {
            let raw = format!("GET /-/ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            exchange(&addr, &raw).0 == 200
        });
        e
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.peer.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

/// Alertmanager with one route to `hook` that groups by alert and target, tells of
/// resolved alerts, and never repeats a notification within the test.
fn alertmanager(hook: &str) -> Engine {
    let config = format!(
        "route:\n  receiver: hook\n  group_by: [alertname, target]\n  group_wait: 1s\n  \
         group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: hook\n    webhook_configs:\n      - url: {hook}\n        \
         send_resolved: true\n"
    );
    Engine::start(
        "prometheus-alertmanager",
        &config,
        &[
            "--config.file={dir}/config.yml",
            "--storage.path={dir}",
            "--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
    )
}

/// The notifications Alertmanager's webhook receiver was sent, as
/// `(status, alertname, target)` of each alert in each.
fn notifications(hook: &Server) -> Vec<(String, String, String)> {
    hook.requests()
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(r.split_once("\n\n")?.1).ok())
        .flat_map(|n| {
            let status = n["status"].as_str().unwrap_or("").to_string();
            n["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |a| {
                    let l = &a["labels"];
                    (
                        status.clone(),
                        l["alertname"].as_str().unwrap_or("").to_string(),
                        l["target"].as_str().unwrap_or("").to_string(),
                    )
                })
        })
        .collect()
}

#[test]
fn an_ha_pair_sends_alertmanager_one_notification_per_failure_and_recovery() {
    let hook = Server::start();
    let am = alertmanager(&hook.url("/echo/am"));
    let web = Server::start();
    // The cluster's second Alertmanager is down: it must hold up nothing.
    let away = format!("127.0.0.1:{}", free_port());
    let pair: Vec<Fixture> = (0..2)
        .map(|i| {
            let f = Fixture::new(&format!(
                "location = \"site{i}\"\n\
                 [[target]]\nname = \"web\"\nurl = \"{}\"\nfrequency = 1\n\n\
                 [[notifier]]\nname = \"am\"\ntype = \"alertmanager\"\n\
                 urls = [\"http://{}\", \"http://{away}\"]\nresend_interval = \"1s\"\n\
                 labels = {{ team = \"ops\" }}\n",
                web.url("/flip"),
                am.addr()
            ));
            f.start();
            f
        })
        .collect();
    for f in &pair {
        f.wait_target(1, "web to PASS", |t| t["status"] == "PASS");
    }
    web.set_flip(500);
    let down = (
        "firing".to_string(),
        "SkypunchTargetDown".to_string(),
        "web".to_string(),
    );
    wait_for(
        "Alertmanager's notification",
        Duration::from_secs(20),
        || !notifications(&hook).is_empty(),
    );
    // Both daemons told it, and told it again each second: still one notification.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        notifications(&hook),
        std::slice::from_ref(&down),
        "{}",
        am.log()
    );
    let alerts = get_text(&am.addr(), "/api/v2/alerts");
    assert!(alerts.contains("\"team\":\"ops\""), "{alerts}");
    assert!(
        alerts.contains("Skypunch FAILURE detected for web"),
        "{alerts}"
    );
    // One of the pair dies while the alert fires; the other keeps it open past the
    // end the dead one gave it (4 s ahead).
    signal(pair[0].pid().unwrap(), nix::sys::signal::Signal::SIGKILL);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(notifications(&hook), std::slice::from_ref(&down));
    web.set_flip(200);
    let resolved = ("resolved".to_string(), down.1.clone(), down.2.clone());
    wait_for("the resolved notification", Duration::from_secs(20), || {
        notifications(&hook).len() > 1
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(notifications(&hook), [down, resolved]);
    let delivered = pair[1].scalar("SELECT count(*) FROM deliveries WHERE state = 'delivered'");
    assert_eq!(delivered, 2);
    assert_eq!(pair[1].scalar("SELECT count(*) FROM firing"), 0);
    // Each Alertmanager is a notifier of its own: the one away still owes both alerts,
    // retried with its own backoff.
    let rows = pair[1].json(&["notifiers"]);
    let away_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == format!("am@{away}"))
        .unwrap_or_else(|| panic!("am@{away} in {rows}"));
    assert_eq!(away_row["pending"], 2, "{rows}");
    assert!(away_row["fail_count"].as_i64().unwrap() >= 1, "{rows}");
    assert_eq!(away_row["pass_count"], 0, "{rows}");
}

/// Prometheus scraping `daemons` every second under job `skypunch` and evaluating
/// the shipped rules every second.
fn prometheus(daemons: &[String]) -> Engine {
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/etc/prometheus/skypunch.rules.yml"
    );
    let targets: Vec<String> = daemons.iter().map(|d| format!("\"{d}\"")).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: skypunch\n    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    );
    Engine::start(
        "prometheus",
        &config,
        &[
            "--config.file={dir}/config.yml",
            "--storage.tsdb.path={dir}/data",
            "--web.listen-address=127.0.0.1:{port}",
        ],
    )
}

/// The alerts Prometheus holds, as `(alertname, state, target)`.
fn prometheus_alerts(p: &Engine) -> Vec<(String, String, String)> {
    let body = get_text(&p.addr(), "/api/v1/alerts");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            (
                s(&a["labels"]["alertname"]),
                s(&a["state"]),
                s(&a["labels"]["target"]),
            )
        })
        .collect()
}

#[test]
fn prometheus_pages_for_a_target_down_from_two_locations_not_from_one() {
    let sites = [Server::start(), Server::start()];
    let daemons: Vec<Fixture> = ["east", "west"]
        .iter()
        .zip(&sites)
        .map(|(location, site)| {
            let f = Fixture::new(&format!(
                "location = \"{location}\"\n[push]\nlisten = \"127.0.0.1:0\"\n\n\
                 [[target]]\nname = \"web\"\nurl = \"{}\"\nfrequency = 1\n",
                site.url("/flip")
            ));
            f.start();
            f
        })
        .collect();
    let addrs: Vec<String> = daemons.iter().map(listen_addr).collect();
    let p = prometheus(&addrs);
    let failing = |p: &Engine| {
        let body = get_text(
            &p.addr(),
            "/api/v1/query?query=skypunch_probe_success%3D%3D0",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut at: Vec<String> = v["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| r["metric"]["location"].as_str().unwrap_or("").to_string())
            .collect();
        at.sort();
        at
    };
    // Down from the east only: scraped as such, evaluated for a few rounds, no page.
    sites[0].set_flip(503);
    daemons[0].wait_target(1, "web to FAIL in the east", |t| t["status"] == "FAIL");
    wait_for(
        "Prometheus to see the east fail",
        Duration::from_secs(20),
        || failing(&p) == ["east"],
    );
    std::thread::sleep(Duration::from_secs(3));
    let quorum = |alerts: &[(String, String, String)]| {
        alerts.iter().any(|a| a.0 == "SkypunchTargetDownQuorum")
    };
    assert!(
        !quorum(&prometheus_alerts(&p)),
        "{:?}",
        prometheus_alerts(&p)
    );
    // Down from the west too: it fires, for that target.
    sites[1].set_flip(503);
    wait_for(
        "SkypunchTargetDownQuorum to fire",
        Duration::from_secs(20),
        || {
            prometheus_alerts(&p).contains(&(
                "SkypunchTargetDownQuorum".into(),
                "firing".into(),
                "web".into(),
            ))
        },
    );
    assert_eq!(failing(&p), ["east", "west"]);
}

#[test]
fn the_shipped_rules_and_configurations_pass_promtool_and_amtool() {
    let etc = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/prometheus");
    for (program, args) in [
        ("promtool", vec!["check", "rules", "skypunch.rules.yml"]),
        ("promtool", vec!["test", "rules", "skypunch.rules.test.yml"]),
        ("promtool", vec!["check", "config", "prometheus.yml"]),
        ("amtool", vec!["check-config", "alertmanager.yml"]),
    ] {
        let out = Command::new(program)
            .args(&args)
            .current_dir(etc)
            .output()
            .unwrap_or_else(|e| panic!("{program} (apt-get install prometheus): {e}"));
        let (o, e) = text(&out);
        assert!(out.status.success(), "{program} {args:?}:\n{o}{e}");
        assert!(o.contains("SUCCESS"), "{program} {args:?}:\n{o}{e}");
    }
}
