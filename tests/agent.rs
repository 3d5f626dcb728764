//! skypunch-agent against the real daemon, with real Nagios plugins
//! (Debian's monitoring-plugins-basic) and a server outage.

mod common;

use common::http::Server;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const AGENT: &str = env!("CARGO_BIN_EXE_skypunch-agent");
const PLUGINS: &str = "/usr/lib/nagios/plugins";

fn agent(args: &[&str]) -> Output {
    Command::new(AGENT).args(args).output().unwrap()
}

/// A daemon whose push listener is on `port`.
fn daemon(port: u16) -> Fixture {
    daemon_with(port, "")
}

fn daemon_with(port: u16, extra: &str) -> Fixture {
    let f = Fixture::new(&format!("[push]\nlisten = \"127.0.0.1:{port}\"\n{extra}"));
    f.start();
    f
}

fn services(f: &Fixture) -> serde_json::Value {
    f.json(&["services"])
}

fn service<'a>(all: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    all.as_array()?.iter().find(|s| s["name"] == name)
}

fn spawn_monitor(ini: &Path, spool: &Path) -> Child {
    Command::new(AGENT)
        .arg("monitor")
        .arg(ini)
        .arg("--spool")
        .arg(spool)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(child: &mut Child) -> (std::process::ExitStatus, String) {
    signal(child.id() as i32, nix::sys::signal::Signal::SIGTERM);
    let status = wait_exit(child, Duration::from_secs(10));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).unwrap();
    }
    (status, err)
}

#[test]
fn one_shot_commands_and_their_errors() {
    let port = free_port();
    let f = daemon(port);
    let url = format!("http://127.0.0.1:{port}");
    let ok = agent(&["-s", &url, "-i", "web1:s3cret", "ping"]);
    assert_eq!((ok.status.code(), text(&ok).0), (Some(0), "pong\n".into()));

    let sent = agent(&[
        "-s",
        &url,
        "-i",
        "web1:s3cret",
        "service-status",
        "60",
        "app",
        "WARN",
        "slow",
    ]);
    assert_eq!(sent.status.code(), Some(0), "{:?}", text(&sent));
    let all = services(&f);
    let app = service(&all, "app").expect("app reported");
    assert_eq!(
        (app["state"].as_str(), app["info"].as_str()),
        (Some("WARN"), Some("slow"))
    );

    let alert = agent(&[
        "-s",
        &url,
        "-i",
        "web1:s3cret",
        "alert",
        "--service",
        "app",
        "disk full",
    ]);
    assert_eq!(alert.status.code(), Some(0));
    let alerts = f.json(&["alerts"]);
    assert!(alerts
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["message"] == "disk full" && a["service"] == "app" && a["channel"] == "api"));

    let wrong = agent(&["-s", &url, "-i", "web1:other", "ping"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(
        text(&wrong).1,
        format!("skypunch-agent: {url}/ refused (403): Invalid server key\n")
    );
    let bad = agent(&[
        "-s",
        &url,
        "-i",
        "web1:s3cret",
        "service-status",
        "0",
        "app",
        "OK",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad).1.contains("refused (400): Data: \"period\""),
        "{:?}",
        text(&bad)
    );
    let gone = format!("http://127.0.0.1:{}", free_port());
    let down = agent(&["-s", &gone, "-i", "web1:s3cret", "ping"]);
    assert_eq!(down.status.code(), Some(1));
    assert_eq!(
        text(&down).1,
        format!("skypunch-agent: cannot reach {gone}/api/ping: connection refused\n")
    );
    let usage = agent(&["ping"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage)
        .1
        .contains("-s URL and -i NAME:KEY are required"));
    let id = agent(&["-s", &url, "-i", "nokey", "ping"]);
    assert_eq!(id.status.code(), Some(2));
}

#[test]
fn basic_auth_from_the_url_and_a_path_prefix() {
    let web = Server::start();
    let url = format!("http://ops:p%40ss@{}/echo/overc", web.addr);
    let out = agent(&["-s", &url, "-i", "h:k", "ping"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let req = &web.requests()[0];
    assert!(req.starts_with("POST /echo/overc/api/ping\n"), "{req}");
    assert!(req.contains("authorization: Basic b3BzOnBAc3M=\n"), "{req}");
    assert!(
        req.ends_with(r#"{"server":{"key":"k","name":"h"}}"#),
        "{req}"
    );
}

#[test]
fn monitor_runs_real_nagios_plugins_in_parallel() {
    let port = free_port();
    let f = daemon(port);
    let ini = f.path("agent.ini");
    std::fs::write(
        f.path("perf.sh"),
        "#!/bin/sh\necho 'APP OK - 12 users | users=12;50;100'\n",
    )
    .unwrap();
    std::fs::set_permissions(
        f.path("perf.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        &ini,
        format!(
            "[overc]\nserver = http://127.0.0.1:{port}/\nmy-name = host1\nmy-key = k1\n\n\
             [service:ok]\nperiod = 60\ncommand = {PLUGINS}/check_dummy 0 \"all good\"\n\n\
             [service:warn]\nperiod = 60\ncommand = {PLUGINS}/check_dummy 1 'half bad'\n\n\
             [service:fail]\nperiod = 60\ncommand = {PLUGINS}/check_dummy 2 broken\n\n\
             [service:unknown]\nperiod = 60\ncommand = {PLUGINS}/check_dummy 3\n\n\
             [service:load]\nperiod = 60\nmax-lag = 0\ncommand = {PLUGINS}/check_load -w 500,500,500 -c 900,900,900\n\n\
             [service:disk]\nperiod = 60\ncommand = {PLUGINS}/check_disk -w 1% -c 1% -p /\n\n\
             [service:perf]\nperiod = 60\ncommand = ./perf.sh\n\n\
             [service:hang]\nperiod = 60\ntimeout = 2\ncommand = sleep 600\n\n\
             [service:missing]\nperiod = 60\ncommand = ./no-such-plugin\n"
        ),
    )
    .unwrap();
    let mut child = spawn_monitor(&ini, &f.path("agent.spool"));
    wait_for("nine services", Duration::from_secs(15), || {
        services(&f).as_array().map(Vec::len) == Some(9)
    });
    let all = services(&f);
    let got = |name: &str| {
        let s = service(&all, name).unwrap();
        (
            s["state"].as_str().unwrap().to_string(),
            s["info"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(got("ok"), ("OK".into(), "OK: all good".into()));
    assert_eq!(got("warn"), ("WARN".into(), "WARNING: half bad".into()));
    assert_eq!(got("fail"), ("FAIL".into(), "CRITICAL: broken".into()));
    assert_eq!(got("unknown").0, "UNK");
    assert!(
        got("load").1.starts_with("LOAD OK - total load average:"),
        "{:?}",
        got("load")
    );
    assert!(got("disk").1.starts_with("DISK "), "{:?}", got("disk"));
    assert_eq!(got("perf"), ("OK".into(), "APP OK - 12 users".into()));
    assert_eq!(
        got("hang"),
        (
            "UNK".into(),
            "timed out after 2 s: the command was killed".into()
        )
    );
    assert_eq!(got("missing").0, "UNK");
    assert!(
        got("missing").1.contains("no-such-plugin: not found"),
        "{:?}",
        got("missing")
    );
    let periods: Vec<i64> = ["ok", "load"]
        .iter()
        .map(|n| service(&all, n).unwrap()["period"].as_i64().unwrap())
        .collect();
    assert_eq!(
        periods,
        [66, 60],
        "period + max-lag (default 10 % of it, at least 5 s)"
    );
    // The hanging plugin did not hold up the others: all were reported within its timeout.
    let alerts = f.json(&["alerts"]);
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["channel"] == "api"
                && a["service"] == "missing"
                && a["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("cannot run `./no-such-plugin`")),
        "{alerts}"
    );
    let (status, err) = stop(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("INFO monitoring 9 services for host1"),
        "{err}"
    );
}

#[test]
fn reports_made_during_an_outage_arrive_in_order_with_their_times() {
    let (f, ini, spool, mut child) = ticking_agent();
    assert_eq!(f.ctl(&["stop"]).status.code(), Some(0));
    let down = now_ms();
    wait_for("the spool", Duration::from_secs(10), || spool.exists());
    std::thread::sleep(Duration::from_secs(2));
    // An agent restarted during the outage keeps what the first one measured.
    let (status, err) = stop(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("reports are kept in the spool until it answers"),
        "{err}"
    );
    assert!(err.contains("reports kept in the spool"), "{err}");
    let mut child = spawn_monitor(&ini, &spool);
    std::thread::sleep(Duration::from_secs(2));
    let up = now_ms();
    f.start();
    wait_for("the spool to drain", Duration::from_secs(20), || {
        !spool.exists()
    });
    let (status, err) = stop(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("the server answers again;"), "{err}");
    // Reports are filed into the history within a second, each at the time it was
    // measured: in time order, the values the command printed (its own clock) rise.
    wait_filed(&f);
    let rows: Vec<(i64, String)> = f
        .kept_reports()
        .into_iter()
        .filter(|r| !r.1.is_empty())
        .collect();
    let times: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let during: Vec<i64> = times
        .iter()
        .copied()
        .filter(|t| *t > down && *t < up)
        .collect();
    assert!(
        during.len() >= 4,
        "{} reports measured during the outage: {times:?}",
        during.len()
    );
    let printed: Vec<u128> = rows
        .iter()
        .map(|r| r.1.trim().parse().expect("date +%s%N"))
        .collect();
    assert!(
        printed.windows(2).all(|w| w[0] < w[1]),
        "each at its own time, none twice: {rows:?}"
    );
}

/// A daemon and an agent reporting `tick` (the time, from `date`) every second, once
/// the first report has arrived; the agent's INI file and spool are in the fixture.
fn ticking_agent() -> (Fixture, PathBuf, PathBuf, Child) {
    let port = free_port();
    // Every report kept in the history, not one in five minutes: these tests follow
    // each report the agent made.
    let f = daemon_with(port, "[history]\nservice_sample_seconds = 0\n");
    let ini = f.path("agent.ini");
    let spool = f.path("agent.spool");
    std::fs::write(
        &ini,
        format!(
            "[overc]\nserver = http://127.0.0.1:{port}/\nmy-name = host1\nmy-key = k1\n\n\
             [service:tick]\nperiod = 1\nmax-lag = 30\ncommand = date +%s%N\n"
        ),
    )
    .unwrap();
    let child = spawn_monitor(&ini, &spool);
    wait_for("the first report", Duration::from_secs(10), || {
        service(&services(&f), "tick").is_some()
    });
    (f, ini, spool, child)
}

/// Waits until every report received is filed into the history (once a second).
fn wait_filed(f: &Fixture) {
    wait_for("the reports to be filed", Duration::from_secs(5), || {
        f.db()
            .query_row("SELECT count(*) FROM service_reports", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
            == 0
    });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn reports_spooled_during_an_outage_survive_kill_9_of_the_agent() {
    let (f, ini, spool, mut child) = ticking_agent();
    assert_eq!(f.ctl(&["stop"]).status.code(), Some(0));
    let down = now_ms();
    // Long enough for the retries to back off (1, 2, 4, 8 s: about 0.5, 1.5, 3.5, 7.5
    // and 15.5 s into the outage): the kill falls between two retries, and what was
    // measured since the last one must be on disk already.
    std::thread::sleep(Duration::from_secs(12));
    let killed = now_ms();
    child.kill().unwrap();
    child.wait().unwrap();
    f.start();
    let mut child = spawn_monitor(&ini, &spool);
    wait_for("the spool to drain", Duration::from_secs(20), || {
        !spool.exists()
    });
    let (status, err) = stop(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    wait_filed(&f);
    let during: Vec<i64> = f
        .kept_reports()
        .into_iter()
        .map(|r| r.0)
        .filter(|t| *t > down && *t < killed)
        .collect();
    assert!(during.len() >= 10, "measured before kill -9: {during:?}");
    let last = during.last().copied().unwrap_or(down);
    assert!(
        killed - last < 2000,
        "the reports of the last {} ms before kill -9 were lost: {during:?}",
        killed - last
    );
}
