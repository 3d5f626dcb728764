//! Notifiers against real peers: shell-script plugins, an SMTP server (aiosmtpd), an
//! HTTP server for webhooks; durable delivery across a restart.

mod common;

use common::http::Server;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PUSH: &str = "[push]\nlisten = \"127.0.0.1:0\"\n";

/// Writes an executable shell script into the fixture's directory.
fn script(f: &Fixture, name: &str, body: &str) -> PathBuf {
    let path = f.path(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn listen_addr(f: &Fixture) -> String {
    f.json(&["status"])["listen"].as_str().unwrap().to_string()
}

fn server() -> Value {
    json!({ "name": "h", "key": "k" })
}

fn notifier<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no notifier {name} in {list}"))
}

#[test]
fn command_plugin_hears_failure_then_recovery_with_the_trace() {
    let web = Server::start();
    web.set_flip(503);
    let f = Fixture::new(&format!(
        "[[target]]\nname = \"web\"\nurl = \"{}\"\nfrequency = 1\n\n\
         [[notifier]]\nname = \"log\"\ngroup_interval = 0\ntype = \"command\"\n\
         command = \"./record.sh 'two words'\"\n",
        web.url("/flip")
    ));
    script(
        &f,
        "record.sh",
        "{ echo \"== $1 in $(pwd)\"; cat; } >> alerts.txt",
    );
    let alerts = f.path("alerts.txt");
    f.start();
    wait_for("the FAILURE", Duration::from_secs(10), || {
        read(&alerts).contains("Skypunch FAILURE detected for web")
    });
    web.set_flip(200);
    wait_for("the RECOVERY", Duration::from_secs(10), || {
        read(&alerts).contains("Skypunch RECOVERY detected for web")
    });
    let text = read(&alerts);
    let dir = f.dir.path().canonicalize().unwrap();
    assert!(
        text.starts_with(&format!("== two words in {}\n", dir.display())),
        "{text}"
    );
    assert_eq!(text.matches("FAILURE").count(), 1, "{text}");
    assert!(text.find("FAILURE").unwrap() < text.find("RECOVERY").unwrap());
    for part in [
        "Status: FAIL (target status:503 != 200)",
        "Repeated Fails: 1",
        "response 503 Service Unavailable [OK]",
        "verdict FAIL: target status:503 != 200",
        "Status: PASS (OK)",
    ] {
        assert!(text.contains(part), "missing {part:?} in\n{text}");
    }
    let log = notifier(&f.json(&["notifiers"]), "log").clone();
    assert_eq!(log["pass_count"], 2, "{log}");
    assert_eq!(log["type"], "command");
    assert!(f
        .log()
        .contains("notifier `log`: delivered alert #1 (Skypunch FAILURE detected for web)"));
}

#[test]
fn a_flapping_target_is_told_once_then_once_more_when_it_settles() {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "[[target]]\nname = \"web\"\nurl = \"{}\"\nfrequency = 1\n\
         flap_changes = 4\nflap_minutes = 1\n\n\
         [[notifier]]\nname = \"log\"\ngroup_interval = 0\ntype = \"command\"\ncommand = \"./record.sh\"\n",
        web.url("/flip")
    ));
    script(&f, "record.sh", "{ cat; echo ==; } >> alerts.txt");
    let alerts = f.path("alerts.txt");
    f.start();
    f.wait_target(1, "a first PASS", |v| v["status"] == "PASS");
    // Failing and passing by turns, a check or two each, for 12 s.
    let started = Instant::now();
    let mut status = 503;
    while started.elapsed() < Duration::from_secs(12) {
        web.set_flip(status);
        status = if status == 200 { 503 } else { 200 };
        std::thread::sleep(Duration::from_millis(1500));
    }
    web.set_flip(200);
    wait_for("the FLAPPING", Duration::from_secs(10), || {
        read(&alerts).contains("Skypunch FLAPPING detected for web")
    });
    let flapping = read(&alerts);
    assert!(
        flapping.contains("State is flapping (4 changes in "),
        "{flapping}"
    );
    // Passing from now on: told once it has held for the flap period (a minute).
    wait_for("the settled RECOVERY", Duration::from_secs(90), || {
        read(&alerts).contains("Settled after flapping: PASS for 1 min")
    });
    let text = read(&alerts);
    let told: Vec<&str> = text
        .split("==\n")
        .filter_map(|a| a.lines().next())
        .collect();
    assert_eq!(
        told.iter().filter(|t| t.contains("FLAPPING")).count(),
        1,
        "{told:?}"
    );
    let after = &told[told.iter().position(|t| t.contains("FLAPPING")).unwrap() + 1..];
    assert_eq!(after, ["Skypunch RECOVERY detected for web"], "{told:?}");
    assert!(
        told.len() <= 5,
        "three changes told before the fourth flapped: {told:?}"
    );
}

/// aiosmtpd writing every message it receives into a Maildir.
struct Smtp {
    peer: Peer,
    maildir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let maildir = dir.join("maildir");
        let peer = aiosmtpd(&[
            "-c".as_ref(),
            "aiosmtpd.handlers.Mailbox".as_ref(),
            maildir.as_os_str(),
        ]);
        Smtp { peer, maildir }
    }

    /// The messages received so far, oldest first.
    fn messages(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| quoted_printable(&read(p))).collect()
    }
}

/// The message with its quoted-printable body decoded (soft line breaks joined).
fn quoted_printable(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_slow_target_is_mailed_as_a_warning_then_as_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let web = Server::start();
    web.set_lag(700);
    let f = Fixture::new(&format!(
        "[smtp]\nserver = \"127.0.0.1:{}\"\nfrom = \"skypunch@test.example\"\n\n\
         [[target]]\nname = \"slow\"\nurl = \"{}\"\nfrequency = 1\n\
         warn_response_ms = 300\nmax_response_ms = 5000\n\n\
         [[notifier]]\nname = \"mail\"\ngroup_interval = 0\ntype = \"smtp\"\naddress = \"ops@test.example\"\n",
        smtp.peer.port,
        web.url("/lag")
    ));
    f.start();
    wait_for("the warning mail", Duration::from_secs(10), || {
        !smtp.messages().is_empty()
    });
    let t = f.json(&["targets", "1"]);
    assert_eq!(t["status"], "WARN", "{t}");
    assert!(t["warn_count"].as_i64().unwrap() >= 1, "{t}");
    let mail = &smtp.messages()[0];
    for part in [
        "Subject: Skypunch WARNING detected for slow",
        "Status: WARN (slow: 7",
        " ms > 300 ms)",
        "verdict WARN: slow: ",
    ] {
        assert!(mail.contains(part), "missing {part:?} in\n{mail}");
    }
    web.set_lag(0);
    wait_for("the recovery mail", Duration::from_secs(10), || {
        smtp.messages().len() >= 2
    });
    let mail = &smtp.messages()[1];
    assert!(
        mail.contains("Subject: Skypunch RECOVERY detected for slow"),
        "{mail}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(smtp.messages().len(), 2, "one mail each way, nothing more");
    let history = f.json(&["targets", "1"]);
    assert_eq!(history["status"], "PASS", "{history}");
}

#[test]
fn smtp_mails_target_failures_and_pushed_alerts_to_every_address() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let f = Fixture::new(&format!(
        "{PUSH}\n[smtp]\nserver = \"127.0.0.1:{}\"\nfrom = \"skypunch@test.example\"\n\
         starttls = \"opportunistic\"\n\n\
         [[target]]\nname = \"down\"\nurl = \"http://127.0.0.1:{}/\"\nfrequency = 1\n\n\
         [[notifier]]\nname = \"mail\"\ngroup_interval = 0\ntype = \"smtp\"\n\
         address = \"ops@test.example, oncall@test.example\"\n",
        smtp.peer.port,
        free_port()
    ));
    f.start();
    wait_for("the failure mail", Duration::from_secs(10), || {
        !smtp.messages().is_empty()
    });
    let mail = &smtp.messages()[0];
    for part in [
        "Subject: Skypunch FAILURE detected for down",
        "ops@test.example",
        "oncall@test.example",
        "From: skypunch@test.example",
        "Status: FAIL (connection refused)",
        "connect 127.0.0.1:",
        "[FAIL] reason: connection refused",
    ] {
        assert!(mail.contains(part), "missing {part:?} in\n{mail}");
    }

    let addr = listen_addr(&f);
    let report = json!({ "server": server(), "period": 60,
        "services": [{ "name": "app", "state": "FAIL", "info": "disk full" }] });
    assert_eq!(post(&addr, "/api/set/service/status", report).0, 200);
    wait_for("the pushed alert's mail", Duration::from_secs(10), || {
        smtp.messages().len() == 2
    });
    let mail = &smtp.messages()[1];
    for part in [
        "Subject: skypunch: h app: service:state/FAIL",
        "h app: [service:state/FAIL] State changed: \"(?)\" -> \"FAIL\"\nCurrent: FAIL: disk full\n",
    ] {
        assert!(mail.contains(part), "missing {part:?} in\n{mail}");
    }
    let n = notifier(&f.json(&["notifiers"]), "mail").clone();
    assert_eq!(
        (n["pass_count"].as_i64(), n["fail_count"].as_i64()),
        (Some(2), Some(0))
    );
}

#[test]
fn webhook_posts_json_with_slack_style_text_and_headers() {
    let hook = Server::start();
    let f = Fixture::new(&format!(
        "{PUSH}\n[[notifier]]\nname = \"chat\"\ntype = \"webhook\"\nurl = \"{}\"\n\
         headers = {{ \"X-Token\" = \"s3cret\" }}\n",
        hook.url("/echo/hook")
    ));
    f.start();
    let addr = listen_addr(&f);
    let alert = json!({ "server": server(), "alerts": [{ "message": "backup failed" }] });
    assert_eq!(post(&addr, "/api/set/alerts", alert).0, 200);
    wait_for("the webhook", Duration::from_secs(10), || {
        hook.requests().len() == 1
    });
    let req = &hook.requests()[0];
    assert!(req.starts_with("POST /echo/hook\n"), "{req}");
    assert!(req.contains("x-token: s3cret\n"), "{req}");
    assert!(req.contains("content-type: application/json\n"), "{req}");
    let body: Value = serde_json::from_str(req.split_once("\n\n").unwrap().1).unwrap();
    assert_eq!(body["text"], "h: [api/alert] backup failed\n");
    assert_eq!(body["kind"], "api");
    assert_eq!(body["name"], "h");
    assert_eq!(body["event"], "alert");
    assert!(body["time"].as_str().unwrap().ends_with('Z'), "{body}");
}

#[test]
fn failing_missing_hanging_and_noisy_plugins_never_hold_up_the_others() {
    let f = Fixture::new(&format!(
        "{PUSH}\n\
         [[notifier]]\nname = \"hang\"\ntype = \"command\"\ncommand = \"./hang.sh\"\ntimeout = 3\n\n\
         [[notifier]]\nname = \"fail\"\ntype = \"command\"\ncommand = \"./fail.sh\"\n\n\
         [[notifier]]\nname = \"missing\"\ntype = \"command\"\ncommand = \"./missing.sh\"\n\n\
         [[notifier]]\nname = \"noisy\"\ntype = \"command\"\ncommand = \"./noisy.sh\"\n\n\
         [[notifier]]\nname = \"good\"\ntype = \"command\"\ncommand = \"./good.sh\"\n"
    ));
    script(&f, "hang.sh", "sleep 60");
    script(&f, "fail.sh", "echo 'mailer down' >&2\nexit 1");
    script(
        &f,
        "noisy.sh",
        "head -c 4000000 /dev/zero | tr '\\0' x\nhead -c 4000000 /dev/zero | tr '\\0' y >&2\n\
         cat > noisy.txt",
    );
    script(&f, "good.sh", "cat >> good.txt");
    f.start();
    let addr = listen_addr(&f);
    let sent = Instant::now();
    let alert = json!({ "server": server(), "alerts": [{ "message": "disk almost full" }] });
    assert_eq!(post(&addr, "/api/set/alerts", alert).0, 200);
    wait_for("the good plugin", Duration::from_secs(10), || {
        read(&f.path("good.txt")) == "h: [api/alert] disk almost full\n"
    });
    let good_after = sent.elapsed();
    let list = f.json(&["notifiers"]);
    assert_eq!(
        notifier(&list, "hang")["fail_count"],
        0,
        "the hanging plugin was still running when the good one was done"
    );
    assert!(good_after < Duration::from_secs(3), "{good_after:?}");
    wait_for("the noisy plugin", Duration::from_secs(10), || {
        read(&f.path("noisy.txt")).contains("disk almost full")
    });
    wait_for(
        "the hanging plugin's timeout",
        Duration::from_secs(10),
        || notifier(&f.json(&["notifiers"]), "hang")["fail_count"] == 1,
    );
    let list = f.json(&["notifiers"]);
    let error = |name: &str| {
        notifier(&list, name)["last_error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(error("hang"), "timed out after 3 s");
    assert_eq!(error("fail"), "exit status 1: mailer down");
    assert!(
        error("missing").starts_with("cannot run "),
        "{}",
        error("missing")
    );
    assert!(
        error("missing").contains("missing.sh: No such file"),
        "{}",
        error("missing")
    );
    assert_eq!(notifier(&list, "noisy")["pass_count"], 1);
    let log = f.log();
    assert!(
        log.contains("notifier `fail`: alert #1 (disk almost full) not delivered (attempt 1): exit status 1: mailer down; next attempt in 1 s"),
        "{log}"
    );
    assert!(
        log.contains(
            "notifier `noisy`: delivered alert #1 (disk almost full) (exit status 0: xxxx"
        ),
        "{log}"
    );
}

#[test]
fn a_notifier_that_gives_up_is_reported_to_the_others() {
    let f = Fixture::new(&format!(
        "delivery_retry_seconds = 2\n{PUSH}\n\
         [[notifier]]\nname = \"fail\"\ngroup_interval = 0\ntype = \"command\"\ncommand = \"./fail.sh\"\n\n\
         [[notifier]]\nname = \"good\"\ngroup_interval = 0\ntype = \"command\"\ncommand = \"./good.sh\"\n"
    ));
    script(&f, "fail.sh", "echo 'mailer down' >&2\nexit 1");
    script(&f, "good.sh", "cat >> good.txt");
    f.start();
    let addr = listen_addr(&f);
    let alert = json!({ "server": server(), "alerts": [{ "message": "x" }] });
    assert_eq!(post(&addr, "/api/set/alerts", alert).0, 200);
    wait_for("the give-up message", Duration::from_secs(15), || {
        read(&f.path("good.txt")).contains("Notifier `fail` failed: exit status 1: mailer down\n")
    });
    let (state, attempts): (String, i64) = f
        .db()
        .query_row(
            "SELECT d.state, d.attempts FROM deliveries d JOIN notifiers n ON n.id = d.notifier_id \
             WHERE n.name = 'fail'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "failed");
    assert!(attempts >= 2, "{attempts}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        read(&f.path("good.txt"))
            .matches("Notifier `fail` failed")
            .count(),
        1
    );
}

#[test]
fn pending_deliveries_survive_a_restart_and_arrive_exactly_once() {
    let f = Fixture::new(&format!(
        "{PUSH}\n[[notifier]]\nname = \"flaky\"\ngroup_interval = 0\ntype = \"command\"\ncommand = \"./flaky.sh\"\n"
    ));
    script(
        &f,
        "flaky.sh",
        "if [ -f ok ]; then cat >> got.txt; else echo 'not yet' >&2; exit 1; fi",
    );
    f.start();
    let addr = listen_addr(&f);
    let alerts = json!({ "server": server(), "alerts": [
        { "message": "m1" }, { "message": "m2" }, { "message": "m3" } ] });
    assert_eq!(post(&addr, "/api/set/alerts", alerts).0, 200);
    wait_for("a few failed attempts", Duration::from_secs(10), || {
        notifier(&f.json(&["notifiers"]), "flaky")["fail_count"].as_i64() >= Some(2)
    });
    assert_eq!(f.ctl(&["stop"]).status.code(), Some(0));
    std::fs::write(f.path("ok"), "").unwrap();
    f.start();
    wait_for("the three alerts", Duration::from_secs(15), || {
        read(&f.path("got.txt")).contains("m3")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        read(&f.path("got.txt")),
        "h: [api/alert] m1\nh: [api/alert] m2\nh: [api/alert] m3\n"
    );
    let pending: i64 = f
        .db()
        .query_row(
            "SELECT count(*) FROM deliveries WHERE state != 'delivered'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 0);
}

#[test]
fn filters_and_rows_added_by_hand() {
    let f = Fixture::new(
        "[[notifier]]\nname = \"only-a\"\ntype = \"command\"\ncommand = \"sh -c 'cat >> only-a.txt'\"\n\
         only_targets = [\"a\"]\n",
    );
    f.start();
    rusqlite::Connection::open(f.database())
        .unwrap()
        .execute(
            "INSERT INTO notifiers (name, type, address, params) \
             VALUES ('by-hand', 'command', 'sh -c \"cat >> all.txt\"', '{\"group_interval\": 0}')",
            [],
        )
        .unwrap();
    let url = format!("http://127.0.0.1:{}/", free_port());
    for name in ["a", "b"] {
        let added = f.ctl(&[
            "targets",
            "add",
            "--name",
            name,
            "--url",
            &url,
            "--frequency",
            "1",
        ]);
        assert_eq!(added.status.code(), Some(0), "{:?}", text(&added));
    }
    wait_for(
        "both failures by the hand-made notifier",
        Duration::from_secs(10),
        || {
            let all = read(&f.path("all.txt"));
            all.contains("FAILURE detected for a\n") && all.contains("FAILURE detected for b\n")
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let only = read(&f.path("only-a.txt"));
    assert!(only.contains("FAILURE detected for a\n"), "{only}");
    assert!(!only.contains("detected for b"), "{only}");
}

#[test]
fn the_notifiers_verbs() {
    let f = Fixture::new(
        "[[notifier]]\nname = \"Operations\"\ntype = \"smtp\"\naddress = \"ops@example.com\"\n",
    );
    f.start();
    let (out, _) = text(&f.ctl(&["notifiers"]));
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "| ID | Name       | Enabled | Type | Address         |"
    );
    assert_eq!(
        out.lines().nth(3).unwrap(),
        "| 1  | Operations | Yes     | smtp | ops@example.com |"
    );
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let added = f.ctl(&[
        "notifiers",
        "add",
        "--name",
        "hook",
        "--type",
        "webhook",
        "--url",
        &dead,
    ]);
    assert_eq!(text(&added).0, "Notifier: hook has been added with id 2\n");
    assert_eq!(
        text(&f.ctl(&["notifiers", "2", "disable"])).0,
        "Notifier: hook has been Disabled\n"
    );
    assert_eq!(
        text(&f.ctl(&["notifiers", "2", "enable"])).0,
        "Notifier: hook has been Enabled\n"
    );
    let detail = text(&f.ctl(&["notifiers", "2"])).0;
    for row in ["| Pass Count ", "| Fail Count ", "| Type       | webhook"] {
        assert!(detail.contains(row), "{row:?} in\n{detail}");
    }
    let test = f.ctl(&["notifiers", "2", "test"]);
    assert_eq!(test.status.code(), Some(1));
    let (out, _) = text(&test);
    assert!(
        out.starts_with("Notifier: hook: test message not delivered: ")
            && out.contains("connection refused"),
        "{out}"
    );
    let ok = f.ctl(&[
        "notifiers",
        "add",
        "--name",
        "echo",
        "--type",
        "command",
        "--command",
        "cat",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{:?}", text(&ok));
    let test = f.ctl(&["notifiers", "3", "test"]);
    assert_eq!(test.status.code(), Some(0));
    assert_eq!(
        text(&test).0,
        "Notifier: echo: test message delivered (exit status 0: Test message from skypunch through notifier `echo`)\n"
    );

    let missing = f.ctl(&["notifiers", "9"]);
    assert_eq!(
        (missing.status.code(), text(&missing).1),
        (Some(1), "id: 9 does not exist\n".into())
    );
    let usage = f.ctl(&["notifiers", "add", "--name", "x", "--type", "smtp"]);
    assert_eq!(
        (usage.status.code(), text(&usage).1),
        (Some(2), "--type smtp needs --address\n".into())
    );
    let bad = f.ctl(&[
        "notifiers",
        "add",
        "--name",
        "x",
        "--type",
        "smtp",
        "--address",
        "nobody",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad)
            .1
            .contains("address \"nobody\" is not an e-mail address"),
        "{:?}",
        text(&bad)
    );
    let dup = f.ctl(&[
        "notifiers",
        "add",
        "--name",
        "echo",
        "--type",
        "command",
        "--command",
        "cat",
    ]);
    assert_eq!(text(&dup).1, "a notifier named \"echo\" already exists\n");

    let json = f.json(&["notifiers"]);
    let keys: Vec<&str> = json[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "id",
        "name",
        "enabled",
        "type",
        "address",
        "pass_count",
        "fail_count",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert_eq!(
        text(&f.ctl(&["notifiers", "remove", "2"])).0,
        "Notifier: hook has been removed\n"
    );

    // The file's notifier goes with its entry; those added by the CLI stay.
    f.write_config("");
    assert_eq!(f.ctl(&["reload"]).status.code(), Some(0));
    let names: Vec<String> = f
        .json(&["notifiers"])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["echo"]);
}

/// How often each of `names` is listed as failed in `text`.
fn failures_listed(text: &str, names: &[String]) -> Vec<usize> {
    names
        .iter()
        .map(|n| text.matches(&format!("FAILURE detected for {n}\n")).count())
        .collect()
}

#[test]
fn five_hundred_failures_at_once_are_two_messages_per_notifier_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let hook = Server::start();
    let down = format!("http://127.0.0.1:{}/", free_port());
    let names: Vec<String> = (0..500).map(|i| format!("t{i}")).collect();
    let targets: String = names
        .iter()
        .map(|n| format!("[[target]]\nname = \"{n}\"\nurl = \"{down}\"\nfrequency = 2\n\n"))
        .collect();
    // Every notifier keeps the default group_interval (30 s).
    let f = Fixture::new(&format!(
        "[smtp]\nserver = \"127.0.0.1:{}\"\nfrom = \"skypunch@test.example\"\n\
         starttls = \"opportunistic\"\n\n{targets}\
         [[notifier]]\nname = \"log\"\ntype = \"command\"\n\
         command = \"sh -c 'cat >> told.txt; echo =MESSAGE= >> told.txt'\"\n\n\
         [[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n\n\
         [[notifier]]\nname = \"mail\"\ntype = \"smtp\"\naddress = \"ops@test.example\"\n",
        smtp.peer.port,
        hook.url("/echo/hook")
    ));
    let told = f.path("told.txt");
    f.start();
    wait_for("the first message", Duration::from_secs(10), || {
        told.exists()
    });
    let first = Instant::now();
    wait_for("the group", Duration::from_secs(40), || {
        read(&told).matches("=MESSAGE=").count() >= 2
    });
    let waited = first.elapsed();
    assert!(
        waited > Duration::from_secs(25),
        "the group came {waited:?} after the first"
    );
    std::thread::sleep(Duration::from_secs(35).saturating_sub(first.elapsed()));
    assert_eq!(
        f.scalar("SELECT count(*) FROM alerts WHERE event = 'FAILURE'"),
        500
    );

    // The command: the first alone, then one message listing all the rest.
    let text = read(&told);
    let messages: Vec<&str> = text
        .split("=MESSAGE=\n")
        .filter(|m| !m.is_empty())
        .collect();
    assert_eq!(messages.len(), 2, "{}", &text[..text.len().min(2000)]);
    assert_eq!(
        failures_listed(messages[0], &names).iter().sum::<usize>(),
        1
    );
    assert!(failures_listed(&text, &names).iter().all(|&n| n == 1));

    // The webhook: one alert, then a group of 499.
    let bodies: Vec<Value> = hook
        .requests()
        .iter()
        .map(|r| serde_json::from_str(r.split_once("\n\n").unwrap().1).unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["kind"], "target");
    assert_eq!(bodies[1]["kind"], "group");
    assert_eq!(bodies[1]["count"], 499);
    assert_eq!(bodies[1]["alerts"].as_array().unwrap().len(), 499);
    let mut named: Vec<String> = std::iter::once(&bodies[0])
        .chain(bodies[1]["alerts"].as_array().unwrap())
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    named.sort();
    let mut all = names.clone();
    all.sort();
    assert_eq!(named, all);

    // The mail: one, then a group whose subject counts them.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].contains("Subject: skypunch: 499 alerts (499 FAILURE)"),
        "{}",
        &mails[1][..mails[1].len().min(1000)]
    );
    let listed: usize = mails
        .iter()
        .map(|m| m.split_once("\n\n").map_or(m.as_str(), |(_, body)| body))
        .map(|body| failures_listed(body, &names).iter().sum::<usize>())
        .sum();
    assert_eq!(listed, 500);
    for n in ["log", "hook", "mail"] {
        assert_eq!(
            notifier(&f.json(&["notifiers"]), n)["pass_count"].as_i64(),
            Some(500),
            "{n}"
        );
    }
    assert!(f.ctl(&["stop"]).status.success());
}
