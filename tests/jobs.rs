//! Ping URLs for jobs (SPEC §17), against a real daemon, pinged with real `curl`
//! command lines as the Healthchecks documentation writes them.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const NOTIFIER: &str = "[[notifier]]\nname = \"log\"\ntype = \"command\"\ngroup_interval = 0\n\
     command = \"sh -c 'cat >> told.txt; echo =MESSAGE= >> told.txt'\"\n";

fn start() -> (Fixture, String) {
    let f = Fixture::new(&format!("[push]\nlisten = \"127.0.0.1:0\"\n\n{NOTIFIER}"));
    f.start();
    let addr = listen_addr(&f);
    (f, addr)
}

/// `jobs add ARGS`: the ping URL it prints.
fn add(f: &Fixture, args: &[&str]) -> String {
    let mut all = vec!["jobs", "add"];
    all.extend_from_slice(args);
    let out = f.ctl(&all);
    let (url, err) = text(&out);
    assert!(out.status.success(), "{err}");
    url.trim().to_string()
}

/// Runs a shell line (the way a crontab does) with `URL` set; its exit status.
fn sh(line: &str, url: &str) -> i32 {
    Command::new("sh")
        .args(["-c", line])
        .env("URL", url)
        .status()
        .expect("sh")
        .code()
        .unwrap_or(-1)
}

/// `curl` without `-f`: the status code and the body.
fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-m", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = all.rsplit_once('\n').unwrap_or(("", &all));
    (code.to_string(), body.to_string())
}

fn job(f: &Fixture, name: &str) -> serde_json::Value {
    f.json(&["jobs"])
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no job {name}"))
}

fn state(f: &Fixture, name: &str) -> (String, String) {
    f.db()
        .query_row(
            "SELECT state, info FROM services WHERE name = ?",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn pings_as_the_healthchecks_documentation_writes_them() {
    let (f, addr) = start();
    let url = add(
        &f,
        &[
            "backup", "--server", "db1", "--period", "1h", "--grace", "5m",
        ],
    );
    assert!(url.starts_with(&format!("http://{addr}/ping/")), "{url}");
    assert_eq!(job(&f, "backup")["status"], "NEW");

    // Success.
    assert_eq!(
        sh(r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL""#, &url),
        0
    );
    assert_eq!(state(&f, "backup").0, "OK");
    let j = job(&f, "backup");
    assert_eq!(j["status"], "OK");
    assert!(!j["last_ping"].as_str().unwrap().is_empty());
    assert!(!j["next_due"].as_str().unwrap().is_empty());

    // A run measured from its start.
    assert_eq!(
        sh(
            r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL/start""#,
            &url
        ),
        0
    );
    assert_eq!(job(&f, "backup")["status"], "RUNNING");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        sh(r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL""#, &url),
        0
    );
    let run = job(&f, "backup")["run_ms"].as_i64().unwrap();
    assert!((1200..5000).contains(&run), "{run}");
    let (table, _) = text(&f.ctl(&["jobs", "db1"]));
    assert!(table.contains("OK (ran 1."), "{table}");

    // A failure, then an exit status with the job's output as the body.
    assert_eq!(
        sh(
            r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL/fail""#,
            &url
        ),
        0
    );
    assert_eq!(state(&f, "backup").0, "FAIL");
    assert_eq!(
        sh(r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL/0""#, &url),
        0
    );
    assert_eq!(state(&f, "backup").0, "OK");
    let line = r#"out=$(printf 'disk full\nrsync: error 23\n'; exit 23); curl -fsS -m 10 --retry 5 --data-raw "$out" "$URL/$?""#;
    assert_eq!(sh(line, &url), 0);
    assert_eq!(
        state(&f, "backup"),
        ("FAIL".to_string(), "exit status 23: disk full".to_string())
    );
    let kept: String = f
        .db()
        .query_row(
            "SELECT body FROM job_pings WHERE kind = 'exit' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, "disk full\nrsync: error 23");
    let told = std::fs::read_to_string(f.path("told.txt")).unwrap_or_default();
    assert!(told.contains("State changed: \"OK\" -> \"FAIL\""), "{told}");

    // A log line changes nothing; HEAD counts as a ping.
    assert_eq!(
        sh(
            r#"curl -fsS -m 10 --retry 5 --data-raw "half way" -o /dev/null "$URL/log""#,
            &url
        ),
        0
    );
    assert_eq!(state(&f, "backup").0, "FAIL");
    assert_eq!(curl(&["-I", &url]).0, "200");
    assert_eq!(state(&f, "backup").0, "OK");
    assert_eq!(
        f.scalar("SELECT count(*) FROM job_pings WHERE kind = 'log' AND body = 'half way'"),
        1
    );

    // Any Content-Type; the answer is Healthchecks' plain OK.
    let (code, body) = curl(&["-H", "Content-Type: text/plain", "--data-raw", "x", &url]);
    assert_eq!((code.as_str(), body.as_str()), ("200", "OK"));
    // A body over 100 KiB is kept truncated, not refused.
    let big = "y".repeat(150 * 1024);
    std::fs::write(f.path("big.txt"), &big).unwrap();
    let at = format!("@{}", f.path("big.txt").display());
    assert_eq!(
        curl(&["--data-binary", &at, &format!("{url}/log")]).0,
        "200"
    );
    assert_eq!(
        f.scalar("SELECT max(length(body)) FROM job_pings WHERE kind = 'log'"),
        100 * 1024
    );

    // Unknown ids.
    let unknown = format!("http://{addr}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278");
    assert_eq!(curl(&[&unknown]), ("404".into(), "not found".into()));
    assert_eq!(curl(&[&format!("http://{addr}/ping/nonsense")]).0, "404");
}

#[test]
fn slug_urls_name_a_job_by_its_servers_ping_key_and_create_registers_it() {
    let (f, addr) = start();
    add(
        &f,
        &[
            "backup",
            "--server",
            "db1",
            "--cron",
            "0 3 * * *",
            "--tz",
            "UTC",
        ],
    );
    let (table, _) = text(&f.ctl(&["servers", "db1"]));
    let key = f.json(&["servers", "db1"])[0]["ping_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.len() >= 16 && table.contains(&key), "{table}");
    let base = format!("http://{addr}/ping/{key}");
    assert_eq!(
        sh(
            r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL/backup""#,
            &base
        ),
        0
    );
    assert_eq!(job(&f, "backup")["status"], "OK");
    assert_eq!(job(&f, "backup")["schedule"], "0 3 * * * (UTC)");

    // An unknown job: 404, unless ?create=1 asks to register it.
    assert_eq!(curl(&[&format!("{base}/nightly")]).0, "404");
    assert_eq!(curl(&[&format!("{base}/nightly?create=1")]).0, "200");
    let made = job(&f, "nightly");
    assert_eq!(made["status"], "OK");
    assert_eq!(made["schedule"], "every 1d 0h");
    assert_eq!(made["grace_s"], 3600);
    assert_eq!(
        curl(&[&format!("http://{addr}/ping/wrongkey/x?create=1")]).0,
        "404"
    );
}

#[test]
fn a_job_that_misses_its_schedule_is_late_after_its_grace() {
    let (f, _addr) = start();
    let url = add(
        &f,
        &[
            "nightly", "--server", "db1", "--period", "2s", "--grace", "1s",
        ],
    );
    assert_eq!(
        sh(r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL""#, &url),
        0
    );
    wait_for("the late alert", Duration::from_secs(15), || {
        std::fs::read_to_string(f.path("told.txt"))
            .unwrap_or_default()
            .contains("Job missed its schedule")
    });
    let told = std::fs::read_to_string(f.path("told.txt")).unwrap();
    assert!(
        told.contains("[job/late] Job missed its schedule (due "),
        "{told}"
    );
    assert!(told.contains("grace 1s)"), "{told}");
    assert_eq!(job(&f, "nightly")["status"], "LATE");
    let (services, _) = text(&f.ctl(&["services", "db1"]));
    assert!(services.contains("nightly"), "{services}");

    // A start without an end within the grace is late too.
    let url2 = add(
        &f,
        &["long", "--server", "db1", "--period", "1h", "--grace", "1s"],
    );
    assert_eq!(
        sh(
            r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL/start""#,
            &url2
        ),
        0
    );
    wait_for("the unfinished run", Duration::from_secs(15), || {
        std::fs::read_to_string(f.path("told.txt"))
            .unwrap_or_default()
            .contains("did not finish within its grace (1s)")
    });
    // Pinging again brings it back, and says so as a job.
    assert_eq!(
        sh(r#"curl -fsS -m 10 --retry 5 -o /dev/null "$URL""#, &url),
        0
    );
    assert_eq!(job(&f, "nightly")["status"], "OK");
    wait_for("the job back on schedule", Duration::from_secs(10), || {
        std::fs::read_to_string(f.path("told.txt"))
            .unwrap_or_default()
            .contains("[job/online] Job back on schedule")
    });
}

#[test]
fn pings_from_two_hundred_jobs_at_once_are_all_stored() {
    let (f, addr) = start();
    let urls: Vec<String> = (0..200)
        .map(|i| {
            add(
                &f,
                &[&format!("job{i}"), "--server", "fleet", "--period", "1h"],
            )
        })
        .collect();
    let threads: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let path = url.split_once(&addr).unwrap().1.to_string();
                let (status, _, body) = exchange(
                    &addr,
                    &format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
                );
                (status, body)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), (200, "OK".to_string()));
    }
    assert_eq!(
        f.scalar("SELECT count(*) FROM jobs WHERE first_ping IS NOT NULL"),
        200
    );
    wait_for("every ping filed", Duration::from_secs(5), || {
        f.scalar("SELECT count(*) FROM service_history WHERE info = 'ok'") == 200
    });
}

#[test]
fn bad_jobs_are_refused_naming_what_is_wrong() {
    let (f, _addr) = start();
    for (args, says) in [
        (
            vec!["x", "--server", "db1", "--cron", "* * *"],
            "five fields",
        ),
        (
            vec![
                "x",
                "--server",
                "db1",
                "--cron",
                "0 3 * * *",
                "--tz",
                "Mars/Olympus",
            ],
            "Mars/Olympus",
        ),
        (
            vec!["x", "--server", "db1", "--period", "soon"],
            "expected a duration",
        ),
        (
            vec!["a/b", "--server", "db1", "--period", "1h"],
            "without '/'",
        ),
    ] {
        let mut all = vec!["jobs", "add"];
        all.extend(args.iter().copied());
        let out = f.ctl(&all);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out).1.contains(says), "{args:?}: {:?}", text(&out));
    }
    add(&f, &["x", "--server", "db1", "--period", "1h"]);
    let again = f.ctl(&["jobs", "add", "x", "--server", "db1", "--period", "1h"]);
    assert!(text(&again)
        .1
        .contains("already has a service or job named \"x\""));
    let id = job(&f, "x")["id"].as_i64().unwrap().to_string();
    let out = f.ctl(&["jobs", "remove", &id]);
    assert!(out.status.success());
    assert!(f.json(&["jobs"]).as_array().unwrap().is_empty());
}
