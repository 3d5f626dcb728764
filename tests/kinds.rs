//! Targets beyond HTTP (SPEC §19) against real local peers: a TCP server that answers
//! PING with PONG, TLS servers with certificates from a test CA, and aiosmtpd offering
//! STARTTLS; each checked by the real daemon, with its trace, states and counters.

mod common;

use common::http::{Certs, Server};
use common::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A TCP server that reads one chunk, answers `PONG\r\n` to `PING` (and `ERR\r\n` to
/// anything else), then closes.
fn pong_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 256];
                let n = s.read(&mut buf).unwrap_or(0);
                let answer: &[u8] = match buf[..n].starts_with(b"PING") {
                    true => b"PONG\r\n",
                    false => b"ERR\r\n",
                };
                let _ = s.write_all(answer);
            });
        }
    });
    port
}

/// How the first connection to a new listener ended, as its server saw it: the bytes
/// read, and whether it ended with a reset rather than the client's FIN.
fn first_ending() -> (u16, std::sync::mpsc::Receiver<(Vec<u8>, bool)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let reset = loop {
            match s.read(&mut buf) {
                Ok(0) => break false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        };
        let _ = tx.send((got, reset));
    });
    (port, rx)
}

#[test]
fn tcp_checks_leave_no_time_wait_unless_what_they_sent_must_arrive() {
    let (bare, bare_end) = first_ending();
    let (sent, sent_end) = first_ending();
    let f = Fixture::new(
        &[
            target("bare", &format!("tcp://127.0.0.1:{bare}"), ""),
            target(
                "fire and forget",
                &format!("tcp://127.0.0.1:{sent}"),
                "send = \"HELLO\\r\\n\"",
            ),
        ]
        .concat(),
    );
    f.start();
    let wait = Duration::from_secs(15);
    // A connection only: a reset, so no TIME_WAIT socket on skypunchd's side.
    assert_eq!(bare_end.recv_timeout(wait).unwrap(), (Vec::new(), true));
    // A string sent with no reply awaited: closed normally, so it is delivered.
    assert_eq!(
        sent_end.recv_timeout(wait).unwrap(),
        (b"HELLO\r\n".to_vec(), false)
    );
}

/// Starts the daemon trusting the test CA of `certs`.
fn start_trusting(f: &Fixture, certs: &Certs) {
    let ca = f.path("ca.pem");
    std::fs::write(&ca, &certs.ca_pem).unwrap();
    f.start_with_env(&[("SSL_CERT_FILE", ca.to_str().unwrap())]);
}

fn target(name: &str, url: &str, extra: &str) -> String {
    format!("[[target]]\nname = \"{name}\"\nurl = \"{url}\"\nfrequency = 1\ntimeout = 3\n{extra}\n")
}

/// Waits until every `(id, status, description)` holds; returns the targets' JSON.
fn expect_all(f: &Fixture, expected: &[(i64, &str, &str)]) -> Vec<serde_json::Value> {
    expected
        .iter()
        .map(|(id, status, desc)| {
            let mut last = serde_json::Value::Null;
            wait_for(
                &format!("target {id} {status} ({desc})"),
                Duration::from_secs(15),
                || {
                    last = f.json(&["targets", &id.to_string()]);
                    last["status"] == *status
                        && last["status_description"]
                            .as_str()
                            .is_some_and(|d| d.contains(desc))
                },
            );
            last
        })
        .collect()
}

#[test]
fn tcp_targets_connect_send_and_expect() {
    let pong = pong_server();
    let closed = free_port();
    let f = Fixture::new(
        &[
            "[push]\nlisten = \"127.0.0.1:0\"\n".to_string(),
            target(
                "pong",
                &format!("tcp://127.0.0.1:{pong}"),
                "send = \"PING\\r\\n\"\nexpect = \"PONG\"",
            ),
            target("port open", &format!("tcp://localhost:{pong}"), ""),
            target(
                "wrong reply",
                &format!("tcp://127.0.0.1:{pong}"),
                "send = \"HELLO\\r\\n\"\nexpect = \"PONG\"",
            ),
            target("closed", &format!("tcp://127.0.0.1:{closed}"), ""),
        ]
        .concat(),
    );
    f.start();
    let t = expect_all(
        &f,
        &[
            (1, "PASS", "OK"),
            (2, "PASS", "OK"),
            (3, "FAIL", "reply does not contain \"PONG\""),
            (4, "FAIL", "connection refused"),
        ],
    );
    let trace = t[0]["last_trace"].as_str().unwrap();
    for step in [
        format!("TCP tcp://127.0.0.1:{pong} PASS (OK)"),
        format!("connect 127.0.0.1:{pong} [OK]"),
        "send 6 bytes [OK]".to_string(),
        "receive 6 bytes: \"PONG\\r\\n\" [OK]".to_string(),
    ] {
        assert!(trace.contains(&step), "{step} in\n{trace}");
    }
    assert!(t[1]["last_trace"]
        .as_str()
        .unwrap()
        .contains("resolve localhost -> 127.0.0.1"));
    assert!(t[2]["last_trace"]
        .as_str()
        .unwrap()
        .contains("receive 5 bytes: \"ERR\\r\\n\" [FAIL]"));
    // No answer at all is a network failure; a wrong answer is not.
    assert!(t[3]["network_fails"].as_i64().unwrap() >= 1, "{}", t[3]);
    assert_eq!(t[2]["network_fails"], 0, "{}", t[2]);
    // /metrics: phases of their own, and no HTTP status.
    let addr = listen_addr(&f);
    let raw = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let metrics = exchange(&addr, &raw).2;
    for line in [
        "skypunch_probe_success{id=\"1\",target=\"pong\"} 1",
        "skypunch_probe_http_duration_seconds{id=\"1\",target=\"pong\",phase=\"receive\"}",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(
        !metrics.contains("skypunch_probe_http_status_code{id=\"1\""),
        "{metrics}"
    );
    // The page shows the kind where an HTTP target shows its method.
    let raw = format!("GET /api/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let status: serde_json::Value = serde_json::from_str(&exchange(&addr, &raw).2).unwrap();
    assert_eq!(status["targets"]["items"][0]["method"], "TCP", "{status}");
    let detail = text(&f.ctl(&["targets", "1"])).0;
    assert!(detail.contains("| Target Method       | TCP"), "{detail}");
    // The CLI adds one too, and refuses what a tcp:// target cannot use.
    let out = f.ctl(&[
        "targets",
        "add",
        "--name",
        "cli",
        "--url",
        &format!("tcp://127.0.0.1:{pong}"),
        "--send",
        "PING",
        "--expect",
        "PONG",
        "--frequency",
        "1",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    expect_all(&f, &[(5, "PASS", "OK")]);
    let out = f.ctl(&[
        "targets",
        "add",
        "--name",
        "bad",
        "--url",
        "tcp://127.0.0.1",
        "--frequency",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("needs a port (tcp://host:port)"),
        "{:?}",
        text(&out)
    );
    // A row typed in with sqlite3 is checked the same way, its keys in `options`.
    f.sqlite3(&format!(
        "INSERT INTO targets (name, url, frequency, timeout, options) VALUES \
         ('by hand', 'tcp://127.0.0.1:{pong}', 1, 3, '{{\"send\": \"PING\\r\\n\", \"expect\": \"PONG\"}}');"
    ));
    let t = expect_all(&f, &[(6, "PASS", "OK")]);
    let trace = t[0]["last_trace"].as_str().unwrap();
    assert!(
        trace.contains("send 6 bytes [OK]")
            && trace.contains("receive 6 bytes: \"PONG\\r\\n\" [OK]"),
        "{trace}"
    );
}

#[test]
fn tls_targets_judge_the_certificate() {
    let certs = Certs::new();
    let valid = Server::start_tls(certs.valid.clone());
    let expiring = Server::start_tls(certs.expiring.clone());
    let tls = |s: &Server| format!("tls://localhost:{}", s.addr.port());
    let f = Fixture::new(
        &[
            target("valid", &tls(&valid), ""),
            target("soon", &tls(&expiring), "warn_cert_days = 10"),
            target("too soon", &tls(&expiring), "cert_expiry_days = 10"),
            target("plain", &format!("tls://127.0.0.1:{}", pong_server()), ""),
        ]
        .concat(),
    );
    start_trusting(&f, &certs);
    let t = expect_all(
        &f,
        &[
            (1, "PASS", "OK"),
            (2, "WARN", "certificate expires in"),
            (3, "FAIL", "tls: certificate expires in"),
            (4, "FAIL", "tls"),
        ],
    );
    let trace = t[0]["last_trace"].as_str().unwrap();
    assert!(
        trace.contains("tls localhost TLSv1_3, certificate valid until "),
        "{trace}"
    );
    assert!(trace.contains("TLS tls://localhost:"), "{trace}");
    assert!(t[3]["network_fails"].as_i64().unwrap() >= 1, "{}", t[3]);
}

/// aiosmtpd on 127.0.0.1 offering STARTTLS with a certificate from `certs` that
/// expires in `days` days; the directory holds its certificate files.
struct Smtp {
    peer: Peer,
    _dir: tempfile::TempDir,
}

fn smtp_with_starttls(certs: &Certs, days: i64) -> Smtp {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certs.leaf_pem(days);
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let peer = aiosmtpd(&[
        "-c".as_ref(),
        "aiosmtpd.handlers.Sink".as_ref(),
        "--tlscert".as_ref(),
        cert_file.as_os_str(),
        "--tlskey".as_ref(),
        key_file.as_os_str(),
    ]);
    Smtp { peer, _dir: dir }
}

#[test]
fn smtp_targets_greet_and_start_tls() {
    let certs = Certs::new();
    let mx = smtp_with_starttls(&certs, 5);
    let pong = pong_server();
    let f = Fixture::new(
        &[
            target("mx", &format!("smtp://localhost:{}", mx.peer.port), ""),
            target(
                "mx tls",
                &format!("smtp://localhost:{}?starttls=true", mx.peer.port),
                "warn_cert_days = 10",
            ),
            target("not smtp", &format!("smtp://127.0.0.1:{pong}"), ""),
        ]
        .concat(),
    );
    start_trusting(&f, &certs);
    let t = expect_all(
        &f,
        &[
            (1, "PASS", "OK"),
            (2, "WARN", "certificate expires in"),
            (3, "FAIL", "banner"),
        ],
    );
    let trace = t[1]["last_trace"].as_str().unwrap();
    for step in [
        "banner 220 ",
        "EHLO skypunch",
        "STARTTLS",
        "starttls 220 ",
        "tls localhost TLSv1_3, certificate valid until ",
    ] {
        assert!(trace.contains(step), "{step} in\n{trace}");
    }
    let first = t[0]["last_trace"].as_str().unwrap();
    assert!(
        first.contains("ehlo 250 ") && !first.contains("tls localhost"),
        "{first}"
    );
}

/// dnsmasq on 127.0.0.1 answering for `test.`: web.test A, v6.test AAAA, mail.test MX,
/// txt.test TXT, and NXDOMAIN for any other name under `test.`.
fn dnsmasq() -> Peer {
    let port = free_port();
    let mut command = Command::new("dnsmasq");
    command
        .args([
            "--keep-in-foreground",
            "--no-daemon",
            &format!("--port={port}"),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--pid-file=",
            "--user=root",
            "--local=/test/",
            "--address=/web.test/127.0.0.1",
            "--host-record=v6.test,::1",
            "--mx-host=mail.test,mx.test,10",
            "--txt-record=txt.test,v=spf1 -all",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Peer::spawn(command, port, "dnsmasq (Debian package dnsmasq-base)")
}

#[test]
fn dns_targets_query_and_expect() {
    let dns = dnsmasq();
    let at = |rest: &str| format!("dns://127.0.0.1:{}/{rest}", dns.port);
    let f = Fixture::new(
        &[
            target("a", &at("web.test?expect=127.0.0.1"), ""),
            target("aaaa", &at("v6.test?type=AAAA&expect=::1"), ""),
            target("mx", &at("mail.test?type=MX&expect=10%20mx.test"), ""),
            target("txt", &at("txt.test?type=TXT&expect=v%3Dspf1%20-all"), ""),
            target("nx", &at("nothing.test"), ""),
            target("other", &at("web.test?expect=10.0.0.1"), ""),
            target(
                "no server",
                &format!("dns://127.0.0.1:{}/web.test", free_port()),
                "",
            ),
        ]
        .concat(),
    );
    f.start();
    let t = expect_all(
        &f,
        &[
            (1, "PASS", "OK"),
            (2, "PASS", "OK"),
            (3, "PASS", "OK"),
            (4, "PASS", "OK"),
            (5, "FAIL", "dns: NXDOMAIN for nothing.test"),
            (
                6,
                "FAIL",
                "dns: \"10.0.0.1\" is not among the answers (127.0.0.1)",
            ),
            (7, "FAIL", ""),
        ],
    );
    let trace = t[2]["last_trace"].as_str().unwrap();
    for step in [
        format!("query MX mail.test @127.0.0.1:{} (udp) [OK]", dns.port),
        "answer NOERROR 1 record: 10 mx.test. [OK]".to_string(),
    ] {
        assert!(trace.contains(&step), "{step} in\n{trace}");
    }
    // An answer, even NXDOMAIN, is no network failure; silence (or a refusal of the
    // port) is.
    assert_eq!(t[4]["network_fails"], 0, "{}", t[4]);
    assert!(t[6]["network_fails"].as_i64().unwrap() >= 1, "{}", t[6]);
}

#[test]
fn icmp_targets_echo_and_count_the_loss() {
    let f = Fixture::new(
        &[
            target(
                "loopback",
                "icmp://127.0.0.1?count=3",
                "max_response_ms = 500",
            ),
            target("by name", "icmp://localhost?count=2", ""),
        ]
        .concat(),
    );
    f.start();
    let t = expect_all(&f, &[(1, "PASS", "OK"), (2, "PASS", "OK")]);
    let trace = t[0]["last_trace"].as_str().unwrap();
    for step in [
        "ICMP icmp://127.0.0.1?count=3 PASS (OK)",
        "echo 1 127.0.0.1 time=",
        "echo 3 127.0.0.1 time=",
        "loss 0 of 3 lost (0 %), mean ",
    ] {
        assert!(trace.contains(step), "{step} in\n{trace}");
    }
    assert!(t[1]["last_trace"]
        .as_str()
        .unwrap()
        .contains("resolve localhost -> "));
    let out = f.ctl(&[
        "targets",
        "add",
        "--name",
        "bad",
        "--url",
        "icmp://127.0.0.1:7",
        "--frequency",
        "1",
    ]);
    assert!(
        text(&out).1.contains("an icmp:// target has no port"),
        "{:?}",
        text(&out)
    );
}

/// Runs `f(set)` with `net.ipv4.ping_group_range` set to refuse every group, as a
/// host that does not allow ping sockets does; puts the old value back after.
fn without_ping_sockets(f: impl FnOnce()) {
    const RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";
    let old = std::fs::read_to_string(RANGE).expect("read ping_group_range");
    let closed = old.split_whitespace().collect::<Vec<_>>() == ["1", "0"];
    if !closed {
        std::fs::write(RANGE, "1 0").expect("the tests run as root and may set the sysctl");
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    if !closed {
        std::fs::write(RANGE, old.trim()).expect("restore ping_group_range");
    }
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn without_ping_sockets_or_cap_net_raw_an_icmp_target_names_the_setting() {
    without_ping_sockets(|| {
        let f = Fixture::new(&target("loopback", "icmp://127.0.0.1", ""));
        // The daemon without CAP_NET_RAW, as an unprivileged service runs it.
        let out = Command::new("setpriv")
            .args(["--bounding-set", "-net_raw", "--inh-caps", "-net_raw"])
            .arg(SKYPUNCHCTL)
            .arg("--config")
            .arg(&f.config)
            .arg("start")
            .output()
            .expect("setpriv (util-linux)");
        assert!(out.status.success(), "{:?}", text(&out));
        let t = expect_all(&f, &[(1, "FAIL", "ping sockets are not allowed")]);
        let desc = t[0]["status_description"].as_str().unwrap();
        assert!(
            desc.contains("net.ipv4.ping_group_range = \"1 0\"") && desc.contains("CAP_NET_RAW"),
            "{desc}"
        );
        // A refusal is the host's setting, not the network's.
        assert_eq!(t[0]["network_fails"], 0, "{}", t[0]);
    });
}
