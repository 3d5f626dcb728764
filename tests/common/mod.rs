//! A real skypunchd in a temporary directory, driven through its socket and CLI.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod http;
pub mod keystone;

pub const SKYPUNCHD: &str = env!("CARGO_BIN_EXE_skypunchd");
pub const SKYPUNCHCTL: &str = env!("CARGO_BIN_EXE_skypunchctl");

/// Polls `cond` every 10 ms until it holds, or panics naming `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Fixture {
    /// A configuration with every file in a fresh temporary directory and the HTTP
    /// listener disabled; `extra` is appended to the file.
    pub fn new(extra: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("skypunchd.toml");
        let f = Fixture { dir, config };
        f.write_config(extra);
        f
    }

    /// Rewrites the configuration file with the base settings plus `extra`, which
    /// may continue the `[daemon]` section and add others.
    pub fn write_config(&self, extra: &str) {
        self.write_config_with(
            "socket = \"run/skypunchd.sock\"\npid_file = \"run/skypunchd.pid\"",
            extra,
        );
    }

    /// Like [`write_config`](Self::write_config) with other socket and pid file lines.
    pub fn write_config_with(&self, run_files: &str, extra: &str) {
        let text = format!(
            "[daemon]\n{run_files}\n\
             database = \"lib/skypunch.db\"\nlog_file = \"log/skypunch.log\"\n{extra}\n"
        );
        let text = if extra.contains("[push]") {
            text
        } else {
            text + "[push]\nlisten = \"\"\n"
        };
        std::fs::write(&self.config, text).expect("write config");
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn socket(&self) -> PathBuf {
        self.path("run/skypunchd.sock")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.path("run/skypunchd.pid")
    }
    pub fn log_file(&self) -> PathBuf {
        self.path("log/skypunch.log")
    }
    pub fn database(&self) -> PathBuf {
        self.path("lib/skypunch.db")
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    /// `skypunchd --config <ours> ARGS`, run to completion.
    pub fn daemon(&self, args: &[&str]) -> Output {
        Command::new(SKYPUNCHD)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run skypunchd")
    }

    /// Runs `skypunchctl --config <ours> ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(SKYPUNCHCTL)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("SKYPUNCH_SOCKET")
            .env_remove("SKYPUNCH_CONFIG")
            .output()
            .expect("run skypunchctl")
    }

    /// `skypunchctl --socket <ours> ARGS`, for when the configuration file is
    /// deliberately broken.
    pub fn ctl_with_socket(&self, args: &[&str]) -> Output {
        Command::new(SKYPUNCHCTL)
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .output()
            .expect("run skypunchctl")
    }

    /// `skypunchctl start`, asserting success; returns the daemon's pid.
    pub fn start(&self) -> i32 {
        self.start_with_env(&[])
    }

    /// `skypunchctl start` with extra environment for the daemon.
    pub fn start_with_env(&self, env: &[(&str, &str)]) -> i32 {
        let out = Command::new(SKYPUNCHCTL)
            .arg("--config")
            .arg(&self.config)
            .arg("start")
            .env_remove("SKYPUNCH_SOCKET")
            .env_remove("SKYPUNCH_CONFIG")
            .envs(env.iter().copied())
            .output()
            .expect("run skypunchctl");
        assert!(
            out.status.success(),
            "skypunchctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.pid().expect("pid file after start")
    }

    /// Starts `skypunchd --foreground` and waits until its socket answers.
    pub fn spawn_foreground(&self) -> Child {
        let child = Command::new(SKYPUNCHD)
            .arg("--config")
            .arg(&self.config)
            .arg("--foreground")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn skypunchd");
        self.wait_until_answering();
        child
    }

    pub fn wait_until_answering(&self) {
        wait_for("skypunchd to answer", Duration::from_secs(10), || {
            self.ctl(&["status"]).status.success()
        });
    }

    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pid_file())
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// `skypunchctl --json ARGS`, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {:?}", text(&out)))
    }

    /// A read-only connection to the daemon's database.
    pub fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open_with_flags(
            self.database(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open database");
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c
    }

    /// Every report in the daemon's history, as (time, info), oldest first: the
    /// `service_history` view (the rows of `service_states` and the reports not yet
    /// filed) and the packed `service_samples`, read in one transaction.
    pub fn kept_reports(&self) -> Vec<(i64, String)> {
        let mut db = self.db();
        let db = db.transaction().unwrap();
        let mut kept: Vec<(i64, String)> = db
            .prepare("SELECT time, info FROM service_history")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut rows = db
            .prepare("SELECT time, packed FROM service_samples")
            .unwrap();
        let packed = rows
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .unwrap();
        for row in packed {
            let (first, bytes) = row.unwrap();
            let samples = skypunch::domain::samples::unpack_samples(first, &bytes)
                .unwrap_or_else(|| panic!("the samples from {first} are not packed samples"));
            kept.extend(samples.into_iter().map(|s| (s.time, s.info)));
        }
        kept.sort();
        kept
    }

    /// The one integer a query of the daemon's database answers (a count, a sum).
    pub fn scalar(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs SQL on the daemon's database through the `sqlite3` shell, as an operator
    /// does, waiting up to 5 s for the daemon's write in progress (the shell does not
    /// wait by default; see the README's "The database").
    pub fn sqlite3(&self, sql: &str) {
        let out = Command::new("sqlite3")
            .args(["-cmd", ".timeout 5000"])
            .arg(self.database())
            .arg(sql)
            .output()
            .expect("the sqlite3 shell (apt-get install sqlite3)");
        assert!(out.status.success(), "sqlite3: {:?}", text(&out));
    }

    /// Waits until `targets ID --json` satisfies `cond`; returns that document.
    pub fn wait_target(
        &self,
        id: i64,
        what: &str,
        cond: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        wait_for(what, Duration::from_secs(15), || {
            last = self.json(&["targets", &id.to_string()]);
            cond(&last)
        });
        last
    }

    pub fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }
}

pub fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

pub fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).expect("kill");
}

/// Waits for a child to exit, killing it after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Drop for Fixture {
    /// Never leave a daemon behind, whatever the test did.
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            if alive(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// One HTTP/1.1 request; returns the status and the body parsed as JSON.
pub fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, payload) = request_raw(addr, method, path, body);
    (
        status,
        serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
    )
}

/// One HTTP/1.1 request; the status and the body exactly as sent.
pub fn request_raw(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the push listener");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status = text[9..12].parse().unwrap();
    let payload = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, payload.to_string())
}

pub fn post(addr: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    request(addr, "POST", path, &body.to_string())
}

/// A TCP port on 127.0.0.1 where nothing listens (until someone binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `raw` (a whole HTTP/1.1 request, written by the test) and reads the answer
/// until the server closes; returns the status, the head and the body. A connection
/// the server closes or resets without answering gives status 0.
pub fn exchange(addr: &str, raw: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut answer = Vec::new();
    if s.write_all(raw.as_bytes()).is_ok() {
        let _ = s.read_to_end(&mut answer);
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0),
        head.to_string(),
        body.to_string(),
    )
}

/// The address of a daemon's `[push]` listener.
pub fn listen_addr(f: &Fixture) -> String {
    f.json(&["status"])["listen"].as_str().unwrap().to_string()
}

/// A helper server for one test (aiosmtpd, dnsmasq, Prometheus, ...): killed and
/// reaped when dropped, so no test leaves one behind.
pub struct Peer {
    child: Child,
    /// The 127.0.0.1 port it listens on.
    pub port: u16,
}

impl Peer {
    /// Spawns `command` (its output goes where the caller set it) and waits until
    /// `port` on 127.0.0.1 accepts a connection; `what` names it in a timeout.
    pub fn spawn(mut command: Command, port: u16, what: &str) -> Peer {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{what} must be installed: {e}"));
        let peer = Peer { child, port };
        wait_for(
            &format!("{what} to listen"),
            Duration::from_secs(30),
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        peer
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// aiosmtpd on a free 127.0.0.1 port, with `args` after its listen address (the
/// handler class and its arguments, TLS files).
pub fn aiosmtpd(args: &[&std::ffi::OsStr]) -> Peer {
    let port = free_port();
    let mut command = Command::new("/usr/bin/python3");
    command
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Peer::spawn(command, port, "aiosmtpd (Debian package python3-aiosmtpd)")
}
