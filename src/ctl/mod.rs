//! What `skypunchctl` does: one request per command over the control socket, printed
//! as a table or text, or as one JSON document with `--json`.
//!
//! Exit statuses: 0 success; 1 the operation failed; 2 usage error (from clap);
//! 3 skypunchd is not running.

pub mod args;
pub mod jobs;
pub mod notifiers;
pub mod push;
pub mod report;
pub mod silences;
pub mod targets;

use crate::config::{self, DEFAULT_CONFIG_PATH};
use crate::control::client::{Client, ClientError};
use crate::control::protocol::{QuietInfo, Request, Response, StatusReport};
use crate::table::{cell, Table};
pub use args::{Cli, Command};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: the operation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: skypunchd is not running.
pub const EXIT_NOT_RUNNING: u8 = 3;

/// How long `start` waits for the daemon and `stop` for it to exit.
const WAIT: Duration = Duration::from_secs(60);

/// A failure with its exit status.
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// Message for stderr.
    pub message: String,
}

impl Failure {
    fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILED,
            message: message.into(),
        }
    }

    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// Exit 1 with nothing more to say (the output already told).
    fn silent() -> Failure {
        Failure {
            code: EXIT_FAILED,
            message: String::new(),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        let code = if e.is_not_running() {
            EXIT_NOT_RUNNING
        } else {
            EXIT_FAILED
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Where the output goes and in which form.
pub struct Out {
    json: bool,
}

impl Out {
    fn message(&self, text: &str) {
        if self.json {
            println!("{}", serde_json::json!({ "message": text }));
        } else {
            println!("{text}");
        }
    }
}

/// Runs one command and returns the process exit status.
pub fn run(cli: Cli) -> u8 {
    let out = Out { json: cli.json };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skypunchctl: cannot start: {e}");
            return EXIT_FAILED;
        }
    };
    match runtime.block_on(dispatch(&cli, &out)) {
        Ok(()) => EXIT_OK,
        Err(f) if f.message.is_empty() => f.code,
        Err(f) => {
            if out.json {
                println!("{}", serde_json::json!({ "error": f.message }));
            } else {
                // The message alone, as the specification words it
                // (`id: 8 does not exist`, `skypunchd is not running (...)`).
                eprintln!("{}", f.message);
            }
            f.code
        }
    }
}

async fn dispatch(cli: &Cli, out: &Out) -> Result<(), Failure> {
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "skypunchctl",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let socket = socket_path(cli.socket.as_deref(), cli.config.as_deref())?;
    match cli.command {
        Command::Completions { .. } => Ok(()),
        Command::Start => start(cli.config.as_deref(), &socket, out).await,
        Command::Stop => stop(&socket, out).await,
        Command::Status => status(&socket, out).await,
        Command::Reload => {
            let mut client = Client::connect(&socket).await?;
            let message = expect_done(client.request(&Request::Reload).await?)?;
            out.message(&message);
            Ok(())
        }
        Command::Targets(ref args) => {
            let mut client = Client::connect(&socket).await?;
            targets::run(&mut client, args, out).await
        }
        Command::Notifiers(ref args) => {
            let mut client = Client::connect(&socket).await?;
            notifiers::run(&mut client, args, out).await
        }
        Command::Servers(ref args) => {
            let mut client = Client::connect(&socket).await?;
            push::servers(&mut client, args, out).await
        }
        Command::Services { ref server } => {
            let mut client = Client::connect(&socket).await?;
            push::services(&mut client, server.clone(), out).await
        }
        Command::Alerts { ref since, limit } => {
            let mut client = Client::connect(&socket).await?;
            push::alerts(&mut client, since.as_deref(), limit, out).await
        }
        Command::Report(ref args) => {
            let mut client = Client::connect(&socket).await?;
            report::run(&mut client, args, out).await
        }
        Command::Jobs(ref args) => {
            let mut client = Client::connect(&socket).await?;
            jobs::run(&mut client, args, out).await
        }
        Command::Silence(ref args) => {
            let mut client = Client::connect(&socket).await?;
            silences::run(&mut client, args, out).await
        }
        Command::Ack { alert, ref comment } => {
            let mut client = Client::connect(&socket).await?;
            silences::ack(&mut client, alert, comment, out).await
        }
    }
}

/// Prints what an `add` answered: the item's JSON with `--json`, else `line` of it
/// (its id, its URL) for scripts to take.
pub fn print_added<T: serde::Serialize>(
    item: Option<&T>,
    out: &Out,
    line: impl Fn(&T) -> String,
) -> Result<(), Failure> {
    let item = item.ok_or_else(|| Failure::failed("skypunchd answered with nothing added"))?;
    if out.json {
        println!("{}", serde_json::to_value(item).unwrap_or_default());
    } else {
        println!("{}", line(item));
    }
    Ok(())
}

/// Finds the control socket: `--socket`, else the configuration file's
/// `[daemon] socket`, else the built-in default.
///
/// The file is read leniently (only that one key), so a file that the daemon would
/// refuse still lets `skypunchctl reload` reach the daemon and report why.
pub fn socket_path(socket: Option<&Path>, config: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(s) = socket {
        return Ok(config::absolute(s));
    }
    let (file, explicit) = match config {
        Some(p) => (config::absolute(p), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    let cannot_read = |e: std::io::Error| {
        Failure::failed(format!("cannot read config file {}: {e}", file.display()))
    };
    let mut reader = match std::fs::File::open(&file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(config::DaemonConfig::default().socket);
        }
        Err(e) => return Err(cannot_read(e)),
    };
    let (mut text, section) = read_to_daemon_section(&mut reader).map_err(cannot_read)?;
    let quick = section.and_then(|r| configured_socket(&text[r]).ok());
    let configured = match quick {
        Some(found) => found,
        None => {
            // No [daemon] header (or one that does not parse alone): the whole file.
            std::io::Read::read_to_string(&mut reader, &mut text).map_err(cannot_read)?;
            configured_socket(&text).map_err(|e| {
                Failure::failed(format!(
                    "cannot find the socket in {}: {}",
                    file.display(),
                    e.message()
                ))
            })?
        }
    };
    Ok(match configured {
        Some(s) => {
            let dir = file.parent().unwrap_or(Path::new("/"));
            config::normalize(&dir.join(s))
        }
        None => config::DaemonConfig::default().socket,
    })
}

/// `[daemon] socket` of a TOML text, if set.
fn configured_socket(text: &str) -> Result<Option<String>, toml::de::Error> {
    let table: toml::Table = text.parse()?;
    Ok(table
        .get("daemon")
        .and_then(|d| d.get("socket"))
        .and_then(|s| s.as_str())
        .map(str::to_string))
}

/// Reads a configuration up to the end of its `[daemon]` table; returns the text read
/// and where that table is in it (`None`: no such header, the whole file was read).
///
/// The socket can be nowhere else when the header is there (TOML allows no other
/// definition of the table), and a file with the header first and 100,000 targets
/// after it is then read only to its first lines.
fn read_to_daemon_section(
    reader: &mut impl std::io::BufRead,
) -> std::io::Result<(String, Option<std::ops::Range<usize>>)> {
    fn header(line: &str) -> Option<&str> {
        let line = line.split('#').next().unwrap_or("").trim();
        (line.starts_with('[') && line.ends_with(']')).then_some(line)
    }
    let mut text = String::new();
    let mut start = None;
    loop {
        let at = text.len();
        if reader.read_line(&mut text)? == 0 {
            return Ok((text, start.map(|s| s..at)));
        }
        if let Some(name) = header(&text[at..]) {
            if let Some(s) = start {
                return Ok((text, Some(s..at)));
            }
            if !name.starts_with("[[") && name.trim_matches(['[', ']']).trim() == "daemon" {
                start = Some(at);
            }
        }
    }
}

fn expect_done(response: Response) -> Result<String, Failure> {
    match response {
        Response::Done { message } => Ok(message),
        other => Err(unexpected(other)),
    }
}

/// A whole long list, page by page (it does not fit one frame): `ask` makes the
/// request for the page after the last item had (`None` first), `open` takes a page out
/// of its answer (or says why it cannot); an empty page ends the list.
async fn all_pages<T>(
    client: &mut Client,
    ask: impl Fn(Option<&T>) -> Request,
    open: impl Fn(Response) -> Result<Vec<T>, Failure>,
) -> Result<Vec<T>, Failure> {
    let mut all: Vec<T> = Vec::new();
    loop {
        let page = open(client.request(&ask(all.last())).await?)?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

fn unexpected(response: Response) -> Failure {
    match response {
        Response::Error { message, .. } => Failure::failed(message),
        other => Failure::failed(format!("unexpected answer from skypunchd: {other:?}")),
    }
}

/// The skypunchd beside this executable, else the one on `PATH`.
fn daemon_executable() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("skypunchd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("skypunchd"))
}

async fn start(config: Option<&Path>, socket: &Path, out: &Out) -> Result<(), Failure> {
    match Client::connect(socket).await {
        Ok(client) => {
            out.message(&format!(
                "skypunchd is already running with pid {}",
                client.pid
            ));
            return Ok(());
        }
        Err(e) if e.is_not_running() => {}
        Err(e) => return Err(e.into()),
    }
    let exe = daemon_executable();
    let mut cmd = tokio::process::Command::new(&exe);
    if let Some(c) = config {
        cmd.arg("--config").arg(config::absolute(c));
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    let status = cmd
        .status()
        .await
        .map_err(|e| Failure::failed(format!("cannot run {}: {e}", exe.display())))?;
    if !status.success() {
        // skypunchd has already said why on stderr.
        return Err(Failure::failed("skypunchd did not start"));
    }
    let client = Client::connect(socket).await.map_err(|e| {
        Failure::failed(format!(
            "skypunchd started but does not answer on {}: {e}",
            socket.display()
        ))
    })?;
    out.message(&format!("skypunchd started with pid {}", client.pid));
    Ok(())
}

async fn stop(socket: &Path, out: &Out) -> Result<(), Failure> {
    let mut client = Client::connect(socket).await?;
    let pid = client.pid;
    expect_done(client.request(&Request::Stop).await?)?;
    drop(client);
    let deadline = Instant::now() + WAIT;
    let target = nix::unistd::Pid::from_raw(pid as i32);
    while nix::sys::signal::kill(target, None).is_ok() {
        if Instant::now() > deadline {
            return Err(Failure::failed(format!(
                "skypunchd (pid {pid}) is still running after {} s",
                WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    out.message(&format!("skypunchd (pid {pid}) stopped"));
    Ok(())
}

async fn status(socket: &Path, out: &Out) -> Result<(), Failure> {
    let mut client = Client::connect(socket).await?;
    let report = match client.request(&Request::Status).await? {
        Response::Status(r) => r,
        other => return Err(unexpected(other)),
    };
    let quiet = silences::quiet(&mut client).await?;
    if out.json {
        println!("{}", status_json(&report, &quiet));
    } else {
        print!("{}", status_table(&report, &quiet));
    }
    Ok(())
}

fn status_json(r: &StatusReport, q: &QuietInfo) -> serde_json::Value {
    let c = &r.counts;
    serde_json::json!({
        "silences": q.silences,
        "maintenance": q.windows,
        "acked": q.acked,
        "version": r.version,
        "pid": r.pid,
        "uptime_s": r.uptime_s,
        "config": r.config,
        "database": r.database,
        "listen": r.listen,
        "targets": c.targets,
        "targets_enabled": c.targets_enabled,
        "targets_failing": c.targets_failing,
        "servers": c.servers,
        "services": c.services,
        "pending_alerts": c.pending_alerts,
    })
}

fn status_table(r: &StatusReport, q: &QuietInfo) -> String {
    let c = &r.counts;
    let mut t = Table::detail();
    t.row(&["Version", &r.version])
        .row(&["PID", &r.pid.to_string()])
        .row(&["Uptime", &uptime(r.uptime_s)])
        .row(&["Config", &r.config])
        .row(&["Database", &r.database])
        .row(&[
            "Push Listener",
            if r.listen.is_empty() {
                "disabled"
            } else {
                &r.listen
            },
        ])
        .row(&[
            "Targets",
            &format!(
                "{} ({} enabled, {} failing)",
                c.targets, c.targets_enabled, c.targets_failing
            ),
        ])
        .row(&["Servers", &c.servers.to_string()])
        .row(&["Services", &c.services.to_string()])
        .row(&["Pending Alerts", &c.pending_alerts.to_string()]);
    let listed = |items: Vec<String>| match items.len() {
        0 => "none".to_string(),
        n => format!("{n}: {}", items.join(", ")),
    };
    let silences = q
        .silences
        .iter()
        .map(|s| format!("#{} {} until {} UTC", s.id, cell(&s.matches), s.ends))
        .collect();
    let open = q
        .windows
        .iter()
        .filter(|w| w.open)
        .map(|w| cell(&w.name))
        .collect();
    let acked = q
        .acked
        .iter()
        .map(|a| format!("alert {} by {}", a.alert_id, cell(&a.user)))
        .collect();
    t.row(&["Silences", &listed(silences)])
        .row(&["Maintenance", &listed(open)])
        .row(&["Acknowledged", &listed(acked)]);
    t.render()
}

/// `3d 04:05:06`-style uptime.
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_format() {
        assert_eq!(uptime(59), "00:00:59");
        assert_eq!(uptime(3 * 86400 + 4 * 3600 + 5 * 60 + 6), "3d 04:05:06");
    }

    #[test]
    fn the_socket_is_read_from_the_daemon_section_alone() {
        let section = |text: &str| {
            let mut reader = std::io::BufReader::new(text.as_bytes());
            let (read, range) = read_to_daemon_section(&mut reader).unwrap();
            range.map(|r| read[r].to_string())
        };
        let many: String = (0..2000)
            .map(|i| format!("[[target]]\nname = \"t{i}\"\nurl = \"http://x/\"\n"))
            .collect();
        let text = format!(
            "# c\n{many}[daemon] # the daemon\nsocket = \"s.sock\"\n[push]\nlisten = \"\"\n"
        );
        let found = section(&text).unwrap();
        assert_eq!(found, "[daemon] # the daemon\nsocket = \"s.sock\"\n");
        assert_eq!(
            configured_socket(&found).unwrap().as_deref(),
            Some("s.sock")
        );
        // Read no further than the end of the table.
        let mut reader =
            std::io::BufReader::new("[daemon]\nsocket = \"a\"\n[push]\nrest\n".as_bytes());
        let (read, _) = read_to_daemon_section(&mut reader).unwrap();
        assert_eq!(read, "[daemon]\nsocket = \"a\"\n[push]\n");
        // Without the header, or not a table of its own: the whole file decides.
        assert_eq!(section("daemon.socket = \"x\"\n"), None);
        assert_eq!(section("[[daemon]]\nsocket = \"x\"\n"), None);
        assert_eq!(section("[push]\n"), None);
        assert_eq!(
            section("[daemon]\nsocket = \"x\""),
            Some("[daemon]\nsocket = \"x\"".into())
        );
    }

    #[test]
    fn socket_from_config_is_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[daemon]\nsocket = \"run/s.sock\"\nbogus_key = 1\n").unwrap();
        let s = socket_path(None, Some(&file)).unwrap();
        assert_eq!(s, dir.path().join("run/s.sock"));
        let explicit = socket_path(Some(Path::new("/tmp/x.sock")), Some(&file)).unwrap();
        assert_eq!(explicit, PathBuf::from("/tmp/x.sock"));
    }

    #[test]
    fn missing_explicit_config_is_an_error() {
        let err = socket_path(None, Some(Path::new("/nonexistent/c.toml"))).unwrap_err();
        assert_eq!(err.code, EXIT_FAILED);
        assert!(err.message.contains("/nonexistent/c.toml"));
    }
}
