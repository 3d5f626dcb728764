//! The daemon's life as an operator sees it: start, stop, signals, stale files,
//! refusals, reload, and the control socket's defences.

mod common;

use common::*;
use nix::sys::signal::Signal;
use skypunch::control::codec;
use skypunch::control::protocol::{ErrorKind, Request, Response, PROTOCOL_VERSION};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

const SECS10: Duration = Duration::from_secs(10);

#[test]
fn start_status_stop_cleans_up() {
    let f = Fixture::new("");
    let out = f.ctl(&["start"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let pid = f.pid().expect("pid file");
    assert_eq!(stdout.trim(), format!("skypunchd started with pid {pid}"));
    assert!(alive(pid));
    assert_eq!(Fixture::mode(&f.socket()), 0o660);

    let out = f.ctl(&["status"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains(&format!("| PID            | {pid}")),
        "{stdout}"
    );
    assert!(stdout.contains(skypunch::VERSION));

    let out = f.ctl(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(v["pid"], pid);
    assert_eq!(v["version"], skypunch::VERSION);
    assert!(v["uptime_s"].is_u64() && v["targets"].is_u64() && v["pending_alerts"].is_u64());

    let out = f.ctl(&["stop"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(
        text(&out).0.trim(),
        format!("skypunchd (pid {pid}) stopped")
    );
    assert!(!alive(pid), "daemon still alive after stop returned");
    assert!(!f.socket().exists(), "socket left behind");
    assert!(!f.pid_file().exists(), "pid file left behind");
    assert!(f.log().contains("skypunchd stopped"));

    let out = f.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out).1.trim(),
        format!(
            "skypunchd is not running (no socket at {})",
            f.socket().display()
        )
    );
    assert_eq!(f.ctl(&["stop"]).status.code(), Some(3));
    assert_eq!(f.ctl(&["reload"]).status.code(), Some(3));
}

#[test]
fn second_daemon_is_refused_and_first_keeps_running() {
    let f = Fixture::new("");
    let pid = f.start();
    let out = f.daemon(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(
        stderr.contains(&format!("skypunchd is already running (pid {pid}")),
        "{stderr}"
    );
    let out = f.daemon(&["--foreground"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("already running"));
    // The refused attempts did not disturb the first daemon or its files.
    assert_eq!(f.pid(), Some(pid));
    assert!(f.ctl(&["status"]).status.success());
    let out = f.ctl(&["start"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out).0.trim(),
        format!("skypunchd is already running with pid {pid}")
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_socket_that_answers_refuses_a_second_daemon_even_without_a_pid_file() {
    let a = Fixture::new("");
    a.start();
    // Same socket, another pid file: the pid lock cannot see the first daemon.
    let b = Fixture::new("");
    b.write_config_with(
        &format!(
            "socket = \"{}\"\npid_file = \"run/skypunchd.pid\"",
            a.socket().display()
        ),
        "",
    );
    let out = b.daemon(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("its control socket") && text(&out).1.contains("answers"),
        "{:?}",
        text(&out)
    );
    assert!(!b.pid_file().exists(), "refused daemon left its pid file");
    assert!(a.ctl(&["status"]).status.success());
    assert!(a.ctl(&["stop"]).status.success());
}

#[test]
fn stale_pid_file_and_socket_do_not_block_a_start() {
    let f = Fixture::new("");
    std::fs::create_dir_all(f.path("run")).unwrap();
    std::fs::write(f.pid_file(), "999999\n").unwrap();
    drop(std::os::unix::net::UnixListener::bind(f.socket()).unwrap());
    assert!(f.socket().exists());
    let out = f.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    assert_eq!(
        text(&out).1.trim_end(),
        format!(
            "skypunchd is not running (no socket at {})",
            f.socket().display()
        ),
        "SPEC.md §6's words, for a leftover socket too"
    );

    let pid = f.start();
    assert_ne!(pid, 999999);
    assert!(f.log().contains("removing stale control socket"));
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn kill_9_leaves_files_that_the_next_start_replaces() {
    let f = Fixture::new("");
    let pid = f.start();
    signal(pid, Signal::SIGKILL);
    wait_for("the killed daemon to go", SECS10, || !alive(pid));
    assert!(f.socket().exists() && f.pid_file().exists());
    let pid2 = f.start();
    assert_ne!(pid, pid2);
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn sigterm_and_sigint_exit_zero_and_clean_up() {
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        let f = Fixture::new("");
        let mut child = f.spawn_foreground();
        signal(child.id() as i32, sig);
        let status = wait_exit(&mut child, SECS10);
        assert_eq!(status.code(), Some(0), "{sig:?}");
        assert!(!f.socket().exists() && !f.pid_file().exists(), "{sig:?}");
        assert!(
            f.log().contains(&format!("stopping: received {sig:?}")),
            "{}",
            f.log()
        );
    }
}

#[test]
fn sighup_reloads_reopens_the_log_and_survives_a_broken_file() {
    let f = Fixture::new("");
    let mut child = f.spawn_foreground();
    let pid = child.id() as i32;

    // logrotate moves the file away, then sends SIGHUP.
    let rotated = f.path("log/skypunch.log.1");
    std::fs::rename(f.log_file(), &rotated).unwrap();
    signal(pid, Signal::SIGHUP);
    wait_for("a new log file with the reload line", SECS10, || {
        f.log().contains("configuration reloaded")
    });

    // A broken file is refused, logged, and changes nothing.
    std::fs::write(&f.config, "[daemon]\nsocket = 7\n").unwrap();
    signal(pid, Signal::SIGHUP);
    wait_for("the refusal in the log", SECS10, || {
        f.log().contains("reload refused, configuration unchanged")
    });
    assert!(f.log().contains("line 2"), "{}", f.log());
    let out = f.ctl_with_socket(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("reload refused"), "{:?}", text(&out));
    assert!(f.ctl_with_socket(&["status"]).status.success());

    // Fixed again: skypunchctl reload applies it.
    f.write_config("log_level = \"debug\"");
    let out = f.ctl(&["reload"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(
        text(&out).0.trim(),
        format!("configuration reloaded from {}", f.config.display())
    );
    signal(pid, Signal::SIGTERM);
    assert_eq!(wait_exit(&mut child, SECS10).code(), Some(0));
}

fn raw_frame(stream: &mut UnixStream, body: &[u8]) {
    stream
        .write_all(&(body.len() as u32).to_be_bytes())
        .unwrap();
    stream.write_all(body).unwrap();
}

fn read_response(stream: &mut UnixStream) -> Option<Response> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(codec::decode(&body).expect("a valid response"))
}

fn closed(stream: &mut UnixStream) -> bool {
    let mut b = [0u8; 1];
    matches!(stream.read(&mut b), Ok(0) | Err(_))
}

#[test]
fn garbage_oversized_and_out_of_order_frames_close_only_that_connection() {
    let f = Fixture::new("");
    f.start();
    let connect = || {
        let s = UnixStream::connect(f.socket()).unwrap();
        s.set_read_timeout(Some(SECS10)).unwrap();
        s
    };

    // Garbage body: told why, then closed.
    let mut s = connect();
    raw_frame(&mut s, &[0xde, 0xad, 0xbe, 0xef, 0xff, 0xff]);
    match read_response(&mut s) {
        Some(Response::Error { kind, message }) => {
            assert_eq!(kind, ErrorKind::Protocol);
            assert!(message.contains("malformed"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(closed(&mut s));

    // A length prefix over 4 MiB is refused before anything is read or allocated.
    let mut s = connect();
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let _ = read_response(&mut s);
    assert!(closed(&mut s));

    // A request before Hello.
    let mut s = connect();
    raw_frame(&mut s, &codec::encode(&Request::Status).unwrap());
    assert!(matches!(
        read_response(&mut s),
        Some(Response::Error {
            kind: ErrorKind::Protocol,
            ..
        })
    ));

    // A client of another protocol version is told both versions.
    let mut s = connect();
    let hello = Request::Hello {
        protocol_version: PROTOCOL_VERSION + 41,
    };
    raw_frame(&mut s, &codec::encode(&hello).unwrap());
    match read_response(&mut s) {
        Some(Response::Error { message, .. }) => {
            assert!(
                message.contains(&format!("version {}", PROTOCOL_VERSION + 41)),
                "{message}"
            );
            assert!(
                message.contains(&format!("version {PROTOCOL_VERSION}")),
                "{message}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }

    // A half-sent frame, then hang-up.
    let mut s = connect();
    s.write_all(&[0, 0, 0, 50, 1, 2]).unwrap();
    drop(s);

    // One connection carries many requests.
    let mut s = connect();
    raw_frame(
        &mut s,
        &codec::encode(&Request::Hello {
            protocol_version: PROTOCOL_VERSION,
        })
        .unwrap(),
    );
    assert!(matches!(
        read_response(&mut s),
        Some(Response::Hello { .. })
    ));
    for _ in 0..3 {
        raw_frame(&mut s, &codec::encode(&Request::Status).unwrap());
        assert!(matches!(read_response(&mut s), Some(Response::Status(_))));
    }

    assert!(
        f.ctl(&["status"]).status.success(),
        "daemon hurt by bad clients"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn users_outside_root_own_user_and_group_are_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run a client as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let f = Fixture::new("");
    f.start();
    // Open the file system path so only the daemon's own check stands in the way.
    for p in [f.dir.path().to_path_buf(), f.path("run")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(f.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = std::process::Command::new(SKYPUNCHCTL)
        .arg("--socket")
        .arg(f.socket())
        .arg("status")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("permission denied: uid 65534"),
        "{:?}",
        text(&out)
    );
    assert!(f.log().contains("permission denied: uid 65534"));
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn configuration_errors_are_named() {
    let f = Fixture::new("log_levl = \"info\"");
    let out = f.daemon(&["--check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(
        stderr.contains("log_levl") && stderr.contains("line 6"),
        "{stderr}"
    );

    // Starting with it fails the same way, through skypunchctl.
    let out = f.ctl(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("log_levl"), "{:?}", text(&out));

    f.write_config("");
    let out = f.daemon(&["--check-config"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains("configuration is valid"));

    let out = std::process::Command::new(SKYPUNCHD)
        .args(["--config", "/nonexistent/skypunchd.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out)
        .1
        .contains("cannot read config file /nonexistent/skypunchd.toml"));
}

#[test]
fn start_up_failure_in_the_background_reaches_the_caller() {
    let f = Fixture::new("");
    // The database's directory is a regular file: only the forked child finds out.
    std::fs::write(f.path("lib"), "not a directory").unwrap();
    let out = f.ctl(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(
        stderr.contains(&format!("cannot open database {}", f.database().display())),
        "{stderr}"
    );
    assert!(!f.socket().exists() && !f.pid_file().exists());
}

#[test]
fn usage_errors_exit_2() {
    let f = Fixture::new("");
    assert_eq!(f.ctl(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(f.ctl(&[]).status.code(), Some(2));
    let out = std::process::Command::new(SKYPUNCHD)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
