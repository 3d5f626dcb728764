//! `monitor CONFIG.ini`: runs every service's command on its own period and pushes
//! the states.
//!
//! Each service has its own task on a fixed grid (a run that outlasts its period
//! skips the ticks it covered); commands run in parallel, from the file's directory,
//! through `/bin/sh -c`, bounded by their timeout. Results that arrive together are
//! sent in one request. Whatever cannot be delivered waits in the spool and is
//! replayed in order, with the time it was measured, once the server answers.

use super::client::{PushClient, SendError};
use super::ini::{AgentConfig, ServiceDef};
use super::spool::{Report, Spool};
use crate::domain::report::ServiceState;
use crate::domain::time::Backoff;
use crate::process::{self, RunError};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

/// Results arriving within this window of each other go in one request.
const GATHER: Duration = Duration::from_millis(100);
/// Most services in one request (the server's limit).
const MAX_PER_REQUEST: usize = 1000;
/// First wait before delivering again while the server is away.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between two delivery attempts while the server is away.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// What a run of a service's command came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// From the exit status, the Nagios way.
    pub state: ServiceState,
    /// The first line of the output.
    pub info: String,
    /// A failure to run the command at all (reported as an alert too).
    pub fatal: Option<String>,
}

/// Nagios' exit codes: 0 OK, 1 WARN, 2 FAIL, anything else (or a signal) UNK.
pub fn state_of(code: Option<i32>) -> ServiceState {
    match code {
        Some(0) => ServiceState::Ok,
        Some(1) => ServiceState::Warn,
        Some(2) => ServiceState::Fail,
        _ => ServiceState::Unk,
    }
}

/// The first line of the output, without performance data (after `|`).
pub fn info_of(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.split('|').next().unwrap_or("").trim().to_string()
}

/// Runs one service's command.
pub async fn check(service: &ServiceDef, dir: &Path) -> Outcome {
    let args = ["-c".to_string(), service.command.clone()];
    match process::run(Path::new("/bin/sh"), &args, dir, service.timeout, b"").await {
        Ok(done) => {
            let state = state_of(done.code);
            let mut info = info_of(&done.stdout);
            if info.is_empty() && state != ServiceState::Ok {
                info = info_of(&done.stderr);
            }
            if done.code.is_none() {
                info = format!("{info} (killed by a signal)").trim().to_string();
            }
            // The shell's "not found" and "cannot execute": the command cannot run.
            let fatal = matches!(done.code, Some(126 | 127))
                .then(|| format!("cannot run `{}`: {info}", service.command));
            Outcome { state, info, fatal }
        }
        Err(RunError::TimedOut(t)) => Outcome {
            state: ServiceState::Unk,
            info: format!("timed out after {} s: the command was killed", t.as_secs()),
            fatal: None,
        },
        Err(RunError::Start(why)) => Outcome {
            state: ServiceState::Unk,
            info: why.clone(),
            fatal: Some(why),
        },
    }
}

/// Who the agent reports as.
pub struct Identity {
    /// The server name.
    pub name: String,
    /// Its key, sent with every report.
    pub key: String,
}

impl Identity {
    fn json(&self) -> Value {
        json!({ "name": self.name, "key": self.key })
    }
}

enum Event {
    Report(Report),
    Fatal { service: String, message: String },
}

/// Runs until SIGTERM or SIGINT; returns the exit status.
pub async fn run(config: AgentConfig, client: PushClient, me: Identity, mut spool: Spool) -> u8 {
    let (tx, mut rx) = mpsc::channel::<Event>(1024);
    for service in config.services.clone() {
        let (tx, dir) = (tx.clone(), config.dir.clone());
        tokio::spawn(async move { service_loop(service, dir, tx).await });
    }
    drop(tx);
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            log::error!("cannot handle SIGTERM and SIGINT: {e}");
            return 1;
        }
    };
    log::info!(
        "monitoring {} services for {} at {}{}",
        config.services.len(),
        me.name,
        client.server(),
        if spool.is_empty() {
            String::new()
        } else {
            format!(" ({} reports waiting in the spool)", spool.len())
        }
    );
    let mut sender = Sender {
        client,
        me,
        retry_at: None,
        backoff: Backoff::new(FIRST_RETRY, MAX_RETRY),
        away: false,
        alerted: HashSet::new(),
    };
    if !spool.is_empty() {
        sender.flush(&mut spool).await;
    }
    loop {
        let retry = sender.retry_at;
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let mut events = vec![ev];
                let until = Instant::now() + GATHER;
                while let Ok(Some(ev)) = tokio::time::timeout_at(until, rx.recv()).await {
                    events.push(ev);
                }
                let mut reports = Vec::new();
                for ev in events {
                    match ev {
                        Event::Report(r) => reports.push(r),
                        Event::Fatal { service, message } => sender.alert(&service, &message).await,
                    }
                }
                // Reports queued behind others will arrive late: they carry their time.
                if !spool.is_empty() || sender.retry_at.is_some() {
                    for r in &mut reports {
                        r.late = true;
                    }
                }
                spool.push(reports);
                if sender.retry_at.is_none() {
                    sender.flush(&mut spool).await;
                } else if let Err(e) = spool.save() {
                    // While the server is away every report goes to disk at once: a
                    // kill -9 before the next retry loses none.
                    log::error!("{e}");
                }
            }
            _ = sleep_until(retry) => {
                sender.retry_at = None;
                sender.flush(&mut spool).await;
            }
        }
    }
    match spool.save() {
        Ok(()) if spool.is_empty() => log::info!("stopping"),
        Ok(()) => log::info!("stopping; {} reports kept in the spool", spool.len()),
        Err(e) => log::error!("stopping: {e}"),
    }
    0
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn service_loop(service: ServiceDef, dir: std::path::PathBuf, tx: mpsc::Sender<Event>) {
    let mut tick = tokio::time::interval(Duration::from_secs(service.period));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let time_ms = crate::domain::time::now_ms();
        let outcome = check(&service, &dir).await;
        log::debug!("{}: {} {}", service.name, outcome.state, outcome.info);
        if let Some(message) = outcome.fatal.clone() {
            let fatal = Event::Fatal {
                service: service.name.clone(),
                message,
            };
            if tx.send(fatal).await.is_err() {
                return;
            }
        }
        let report = Report {
            name: service.name.clone(),
            state: outcome.state.to_string(),
            info: outcome.info,
            period: service.reported_period(),
            time_ms,
            late: false,
        };
        if tx.send(Event::Report(report)).await.is_err() {
            return;
        }
    }
}

struct Sender {
    client: PushClient,
    me: Identity,
    /// When to try again after a failed delivery.
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// Whether the last attempt failed (to log the outage once, and its end).
    away: bool,
    /// Fatal errors already reported, so a broken command is not re-alerted each run.
    alerted: HashSet<(String, String)>,
}

impl Sender {
    /// Delivers the spool, oldest first, until it is empty or the server fails.
    ///
    /// A refused batch (a 400 or 413: one report the server will not take, such as a
    /// time in the future, or a body too large) is sent again one report at a time, so
    /// only the reports the server refuses on their own are dropped.
    async fn flush(&mut self, spool: &mut Spool) {
        let mut delivered = 0;
        let mut per_request = MAX_PER_REQUEST;
        while !spool.is_empty() {
            let batch = spool.next_batch(per_request);
            let services: Vec<Value> = batch.iter().map(entry).collect();
            let body = json!({
                "server": self.me.json(),
                "period": batch[0].period,
                "services": services,
            });
            match self.client.post("api/set/service/status", &body).await {
                Ok(_) => {
                    delivered += batch.len();
                    spool.remove_first(batch.len());
                }
                Err(SendError::Refused {
                    status: 403,
                    message,
                }) => {
                    self.failed(spool, &format!("the server refused our key: {message}"));
                    return;
                }
                Err(SendError::Refused { message, .. }) if batch.len() > 1 => {
                    log::warn!(
                        "the server refused a batch of {} reports ({message}); sending them one by one",
                        batch.len()
                    );
                    per_request = 1;
                }
                Err(SendError::Refused { message, .. }) => {
                    log::error!(
                        "the server refused the report of {}, which is dropped: {message}",
                        batch[0].name
                    );
                    spool.remove_first(1);
                }
                Err(SendError::Unavailable(why)) => {
                    self.failed(spool, &why);
                    return;
                }
            }
        }
        if self.away {
            log::info!("the server answers again; {delivered} waiting reports delivered");
        }
        self.away = false;
        self.backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
        if let Err(e) = spool.save() {
            log::error!("{e}");
        }
    }

    fn failed(&mut self, spool: &mut Spool, why: &str) {
        if !self.away {
            log::warn!("{why}; reports are kept in the spool until it answers");
        } else {
            log::debug!("{why}");
        }
        self.away = true;
        spool.mark_late();
        if let Err(e) = spool.save() {
            log::error!("{e}");
        }
        self.retry_at = Some(Instant::now() + self.backoff.next_wait());
    }

    /// Reports a command that cannot run as an alert, once per distinct message.
    async fn alert(&mut self, service: &str, message: &str) {
        log::error!("{service}: {message}");
        if !self
            .alerted
            .insert((service.to_string(), message.to_string()))
        {
            return;
        }
        let body = json!({
            "server": self.me.json(),
            "alerts": [{ "service": service, "message": message }],
        });
        if let Err(e) = self.client.post("api/set/alerts", &body).await {
            log::warn!("{service}: the alert could not be sent: {e}");
            self.alerted
                .remove(&(service.to_string(), message.to_string()));
        }
    }
}

/// A report as the server takes it; a late one says when it was measured.
fn entry(r: &Report) -> Value {
    let mut v = json!({ "name": r.name, "state": r.state, "info": r.info, "period": r.period });
    if r.late {
        if let Some(t) = chrono::DateTime::from_timestamp_millis(r.time_ms) {
            v["time"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nagios_codes_and_output() {
        assert_eq!(
            [Some(0), Some(1), Some(2), Some(3), Some(127), None].map(|c| state_of(c).as_str()),
            ["OK", "WARN", "FAIL", "UNK", "UNK", "UNK"]
        );
        assert_eq!(
            info_of(b"DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\nmore\n"),
            "DISK OK - free space: / 3326 MB (56%);"
        );
        assert_eq!(info_of(b"\n\n  fine  \n"), "fine");
        assert_eq!(info_of(b""), "");
    }

    #[test]
    fn late_reports_carry_their_time() {
        let mut r = Report {
            name: "a".into(),
            state: "OK".into(),
            info: "x".into(),
            period: 65,
            time_ms: 1_700_000_000_000,
            late: false,
        };
        assert!(entry(&r).get("time").is_none());
        r.late = true;
        assert_eq!(entry(&r)["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(entry(&r)["period"], 65);
    }
}
