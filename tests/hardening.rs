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
    f.sqlite3(
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
    for path in [
        "/api/status",
        "/metrics",
        "/api/targets/2/history",
        "/api/targets/2/bars",
        "/api/bars",
        "/api/report",
    ] {
        let (code, _, body) = exchange(
            &addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(code, 200, "{path}: {body}");
    }
    // A restart with the bad rows in place still checks the good target.
    assert!(f.ctl(&["stop"]).status.success());
    let before: i64 = f.scalar("SELECT pass_count + fail_count FROM targets WHERE id = 1");
    f.start();
    f.wait_target(1, "checks after the restart", |v| checks(v) > before + 1);
    let t = f.wait_target(2, "a FAIL after the restart", |v| status(v) == "FAIL");
    assert!(t["status_description"]
        .as_str()
        .unwrap()
        .contains("frequency 0.5"));
    assert!(f.ctl(&["stop"]).status.success());
}

const PUSH: &str = "[push]\nlisten = \"127.0.0.1:0\"\n";

/// A POST to the push API with the given extra header lines.
fn push_with(addr: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    exchange(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn status_body(server: &str, service: &str) -> String {
    serde_json::json!({
        "server": {"name": server, "key": "k"},
        "period": 60,
        "services": [{"name": service, "state": "OK"}]
    })
    .to_string()
}

#[test]
fn web_pages_cannot_post_and_names_hold_only_visible_characters() {
    let f = Fixture::new(PUSH);
    f.start();
    let addr = listen_addr(&f);
    let body = status_body("h", "s");
    let refused = "{\"error\": \"Content-Type must be application/json\"}";
    for headers in [
        "Content-Type: text/plain\r\n",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: application/json\r\nOrigin: https://evil.example\r\n",
        "Origin: null\r\n",
    ] {
        let (code, _, answer) = push_with(&addr, "/api/set/service/status", headers, &body);
        assert_eq!((code, answer.as_str()), (415, refused), "{headers}");
    }
    for headers in ["Content-Type: application/json; charset=utf-8\r\n", ""] {
        let (code, _, answer) = push_with(&addr, "/api/set/service/status", headers, &body);
        assert_eq!(code, 200, "{headers}: {answer}");
    }
    for (server, service, field) in [
        ("h\u{1b}[31m", "s", "server.name"),
        ("h", "s\nFAKE log line", "services[0].name"),
        ("h", "s\u{200b}", "services[0].name"),
        ("h\u{202e}", "s", "server.name"),
    ] {
        let (code, _, answer) = push_with(
            &addr,
            "/api/set/service/status",
            "Content-Type: application/json\r\n",
            &status_body(server, service),
        );
        assert_eq!(code, 400, "{server:?} {service:?}: {answer}");
        assert!(
            answer.contains(field) && answer.contains("control or invisible"),
            "{answer}"
        );
    }
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn an_alert_about_a_service_that_never_reported_creates_nothing() {
    let f = Fixture::new(PUSH);
    f.start();
    let addr = listen_addr(&f);
    let (code, _) = post(
        &addr,
        "/api/set/alerts",
        serde_json::json!({
            "server": {"name": "h", "key": "k"},
            "alerts": [{"message": "disk on fire", "service": "ghost"}]
        }),
    );
    assert_eq!(code, 200);
    let services = f.json(&["services"]);
    assert_eq!(services, serde_json::json!([]), "{services}");
    let alerts = f.json(&["alerts"]);
    assert_eq!(alerts[0]["service"], "ghost", "{alerts}");
    assert_eq!(alerts[0]["message"], "disk on fire");
    // Nothing goes offline later either.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(f.json(&["alerts"]).as_array().unwrap().len(), 1);
    assert!(f.ctl(&["stop"]).status.success());
}

/// Holds SQLite's write lock from another connection for `hold`, as an operator's
/// `sqlite3` session in the middle of a transaction does.
fn hold_write_lock(f: &Fixture, hold: Duration) -> std::thread::JoinHandle<()> {
    let c = rusqlite::Connection::open(f.database()).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(hold);
        c.execute_batch("COMMIT").unwrap();
    })
}

#[test]
fn a_locked_database_is_503_for_pushes_and_health_and_check_results_wait() {
    let web = Server::start();
    let f = Fixture::new(&format!("{PUSH}{}", target("web", &web.url("/ok"), "")));
    f.start();
    let addr = listen_addr(&f);
    f.wait_target(1, "two checks", |v| checks(v) >= 2);
    let (code, _, _) = exchange(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 200);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Held past the push's busy timeout (5 s) plus /healthz's own wait (3 s), with
    // room to spare on a loaded machine.
    let lock = hold_write_lock(&f, Duration::from_secs(12));
    let (code, head, answer) = push_with(
        &addr,
        "/api/set/service/status",
        "Content-Type: application/json\r\n",
        &status_body("h", "during"),
    );
    assert_eq!(code, 503, "{answer}");
    assert!(
        head.contains("retry-after: 5") || head.contains("Retry-After: 5"),
        "{head}"
    );
    assert!(answer.starts_with("{\"error\": "), "{answer}");
    let (code, _, answer) = exchange(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 503, "{answer}");
    lock.join().unwrap();
    let (code, _, _) = exchange(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 200);
    // Nothing of the refused report was kept; sent again, it is.
    assert_eq!(f.json(&["services"]), serde_json::json!([]));
    let (code, _, _) = push_with(
        &addr,
        "/api/set/service/status",
        "Content-Type: application/json\r\n",
        &status_body("h", "during"),
    );
    assert_eq!(code, 200);
    // Every check made while the database was locked is in the history: no gap.
    std::thread::sleep(Duration::from_secs(2));
    let times: Vec<i64> = {
        let db = f.db();
        let mut s = db
            .prepare(
                "SELECT time FROM target_results WHERE target_id = 1 AND time >= ? ORDER BY time",
            )
            .unwrap();
        s.query_map([started - 1500], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let widest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(times.len() >= 9, "{times:?}");
    assert!(
        widest < 1600,
        "a {widest} ms gap in the checks stored: {times:?}"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_delivery_is_not_repeated_when_its_record_cannot_be_written() {
    let f = Fixture::new(&format!(
        "{}\n[[notifier]]\nname = \"log\"\ntype = \"command\"\n\
         command = \"sh -c 'cat >> delivered.txt; sleep 1'\"\n",
        target("down", &format!("http://127.0.0.1:{}/", free_port()), "")
    ));
    f.start();
    let delivered = f.path("delivered.txt");
    wait_for("the first delivery", Duration::from_secs(10), || {
        delivered.exists()
    });
    // The command is still running; its outcome cannot be recorded for 12 s: longer
    // than two busy timeouts, so the write fails whichever batch it is queued in.
    let lock = hold_write_lock(&f, Duration::from_secs(12));
    lock.join().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let text = std::fs::read_to_string(&delivered).unwrap();
    assert_eq!(text.matches("FAILURE").count(), 1, "{text}");
    let state: (String, i64) = f
        .db()
        .query_row("SELECT state, attempts FROM deliveries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(state, ("delivered".to_string(), 1));
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_webhook_that_refuses_a_message_for_good_is_not_retried() {
    let hook = Server::start();
    let f = Fixture::new(&format!(
        "{}\n[[notifier]]\nname = \"hook\"\ngroup_interval = 0\ntype = \"webhook\"\nurl = \"{}\"\n\
         [[notifier]]\nname = \"log\"\ngroup_interval = 0\ntype = \"command\"\ncommand = \"sh -c 'cat >> told.txt'\"\n",
        target("down", &format!("http://127.0.0.1:{}/", free_port()), ""),
        hook.url("/status/400")
    ));
    f.start();
    let told = f.path("told.txt");
    wait_for("the others told", Duration::from_secs(10), || {
        std::fs::read_to_string(&told)
            .unwrap_or_default()
            .contains("Notifier `hook` failed")
    });
    let (state, attempts): (String, i64) = f
        .db()
        .query_row(
            "SELECT d.state, d.attempts FROM deliveries d JOIN notifiers n ON n.id = d.notifier_id \
             WHERE n.name = 'hook' ORDER BY d.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("failed", 1));
    let text = std::fs::read_to_string(&told).unwrap();
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn files_are_private_whatever_the_umask_and_a_file_at_the_socket_path_is_kept() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o002));
    let f = Fixture::new("");
    f.start();
    f.ctl(&["status"]);
    for file in [f.database(), f.log_file(), f.pid_file()] {
        let mode = Fixture::mode(&file);
        assert_eq!(mode & 0o027, 0, "{} is {mode:o}", file.display());
    }
    let wal = f.path("lib/skypunch.db-wal");
    assert_eq!(Fixture::mode(&wal) & 0o027, 0);
    assert_eq!(Fixture::mode(&f.socket()), 0o660);
    assert!(f.ctl(&["stop"]).status.success());

    std::fs::write(f.socket(), "precious").unwrap();
    let out = f.ctl(&["start"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.contains("not a socket"), "{:?}", text(&out));
    assert_eq!(std::fs::read_to_string(f.socket()).unwrap(), "precious");
}

#[test]
fn the_page_takes_the_basic_scheme_in_any_case() {
    let f = Fixture::new(&format!("{PUSH}ui_user = \"ops\"\nui_password = \"pw\"\n"));
    f.start();
    let addr = listen_addr(&f);
    let creds = "b3BzOnB3"; // ops:pw
    for scheme in ["Basic", "basic", "BASIC"] {
        let (code, _, _) = exchange(
            &addr,
            &format!(
                "GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: {scheme} {creds}\r\n\
                 Connection: close\r\n\r\n"
            ),
        );
        assert_eq!(code, 200, "{scheme}");
    }
    let (code, _, _) = exchange(
        &addr,
        "GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Basic b3BzOnd3\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 401);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_flood_of_pushed_alerts_is_capped_and_never_delays_a_target() {
    let web = Server::start();
    let f = Fixture::new(&format!(
        "{PUSH}max_alerts_per_minute = 300\n{}\n\
         [[notifier]]\nname = \"log\"\ngroup_interval = 0\ntype = \"command\"\n\
         command = \"sh -c 'cat >> told.txt; echo >> told.txt; sleep 0.02'\"\n",
        target("web", &web.url("/flip"), "")
    ));
    f.start();
    let addr = listen_addr(&f);
    f.wait_target(1, "a PASS", |v| status(v) == "PASS");
    let services: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({"name": format!("s{i}"), "state": "WARN"}))
        .collect();
    let (code, _) = post(
        &addr,
        "/api/set/service/status",
        serde_json::json!({"server": {"name": "flood", "key": "k"}, "period": 600, "services": services}),
    );
    assert_eq!(code, 200);
    web.set_flip(503);
    let told = f.path("told.txt");
    wait_for("the FAILURE delivered", Duration::from_secs(20), || {
        std::fs::read_to_string(&told)
            .unwrap_or_default()
            .contains("FAILURE detected for web")
    });
    let before = std::fs::read_to_string(&told).unwrap();
    let ahead = before.matches("State changed").count();
    assert!(
        ahead < 300,
        "the FAILURE waited behind {ahead} pushed alerts"
    );
    let stored: i64 = f
        .scalar("SELECT count(*) FROM alerts WHERE server = 'flood' AND channel = 'service:state'");
    assert_eq!(stored, 300, "alerts past the limit are dropped");
    // When the minute is over, one alert says how many were dropped.
    let mut flood = String::new();
    wait_for("the api/flood alert", Duration::from_secs(70), || {
        flood = f
            .db()
            .query_row(
                "SELECT message FROM alerts WHERE channel = 'api' AND event = 'flood'",
                [],
                |r| r.get(0),
            )
            .unwrap_or_default();
        !flood.is_empty()
    });
    assert!(flood.contains("700 alerts dropped"), "{flood}");
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn one_address_cannot_take_every_connection() {
    let f = Fixture::new(PUSH);
    f.start();
    let addr = listen_addr(&f);
    let held: Vec<std::net::TcpStream> = (0..256)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    // The 257th from the same address is closed without an answer.
    let (code, _, _) = exchange(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 0, "a connection past the limit was served");
    drop(held);
    wait_for("a connection served again", Duration::from_secs(5), || {
        exchange(
            &addr,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .0 == 200
    });
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn socket_group_members_may_not_add_a_command_notifier() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: acting as another user (nobody) needs root");
        return;
    }
    let f = Fixture::new("socket_group = \"nogroup\"\n");
    // nobody must reach the socket: the directories on the way are searchable, as
    // /run/skypunch is under systemd (RuntimeDirectoryMode=0755).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(f.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(f.path("run")).unwrap();
    std::fs::set_permissions(f.path("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    f.start();
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                SKYPUNCHCTL,
            ])
            .arg("--socket")
            .arg(f.socket())
            .args(args)
            .output()
            .expect("setpriv (util-linux)")
    };
    let out = as_nobody(&["status"]);
    assert!(out.status.success(), "a member may read: {:?}", text(&out));
    let command = [
        "notifiers",
        "add",
        "--name",
        "run",
        "--type",
        "command",
        "--command",
        "true",
    ];
    let out = as_nobody(&command);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        text(&out)
            .1
            .contains("permission denied: a command notifier runs a program"),
        "{:?}",
        text(&out)
    );
    let out = as_nobody(&[
        "notifiers",
        "add",
        "--name",
        "hook",
        "--type",
        "webhook",
        "--url",
        "http://127.0.0.1:9/",
    ]);
    assert!(
        out.status.success(),
        "a member may add a webhook: {:?}",
        text(&out)
    );
    let out = f.ctl(&command);
    assert!(out.status.success(), "root may: {:?}", text(&out));
    let names: Vec<String> = f
        .json(&["notifiers"])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["hook", "run"]);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn secrets_in_bad_rows_are_never_echoed() {
    let f = Fixture::new("");
    f.start();
    let closed = format!("http://127.0.0.1:{}/", free_port());
    f.sqlite3(&format!(
        "INSERT INTO targets (name, url, frequency, authn, authn_params) VALUES
             ('comma', '{closed}', 1, 'BASIC', 'user=u,password=hunter2,tail-of-it'),
             ('number', '{closed}', 1, 'BASIC', '{{\"user\": \"u\", \"password\": 918273645}}'),
             ('down', '{closed}', 1, 'NONE', '');
         INSERT INTO notifiers (name, type, address, params) VALUES
             ('hook', 'webhook', 'http://127.0.0.1:9/', '{{\"headers\": {{\"Authorization\": 5550123}}}}');"
    ));
    for id in [1, 2] {
        let t = f.wait_target(id, "a FAIL", |v| status(v) == "FAIL");
        assert!(
            t["status_description"]
                .as_str()
                .unwrap()
                .contains("authn_params"),
            "{t}"
        );
    }
    wait_for(
        "the webhook's failed attempt",
        Duration::from_secs(10),
        || {
            f.json(&["notifiers", "1"])["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty())
        },
    );
    let error = f.json(&["notifiers", "1"])["last_error"].to_string();
    assert!(error.contains("params are not valid"), "{error}");
    let everything = [
        f.json(&["targets"]).to_string(),
        f.json(&["targets", "1"]).to_string(),
        f.json(&["targets", "2"]).to_string(),
        f.json(&["notifiers", "1"]).to_string(),
        f.json(&["alerts"]).to_string(),
        f.log(),
    ]
    .join("\n");
    for secret in ["hunter2", "tail-of-it", "918273645", "5550123"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(f.ctl(&["stop"]).status.success());
}
