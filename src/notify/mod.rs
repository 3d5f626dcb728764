//! Delivering alerts to notifiers.
//!
//! The outbox (`deliveries`) is written with each alert; this loop drains it. It wakes
//! when the writer commits new deliveries, when an attempt ends, and when the next
//! retry or group is due. Each notifier gets its oldest pending delivery, one at a
//! time, on its own task: a slow or failing notifier never holds up the others, and a
//! notifier hears of a FAILURE before the RECOVERY that follows it.
//!
//! Grouping (storm control): after a notifier was sent a message, the alerts raised
//! in its next `group_interval` wait, and go out together as one message when it
//! ends; then the next interval starts. An alert after a quiet interval goes out at
//! once. The intervals live in memory: after a restart the first alert owed is sent
//! alone and the rest grouped behind it.

pub mod alertmanager;
pub mod command;
pub mod smtp;
pub mod text;

use crate::config::{Config, NotifierKind};
use crate::domain::supervise::DEFAULT_GROUP_INTERVAL_S;
use crate::domain::time::{now_ms, Backoff};
use crate::probe::Prober;
use crate::store::firing::FiringChanges;
use crate::store::notifiers::{AlertRecord, NotifierRow};
use crate::store::outbox::{Delivery, Retry};
use crate::store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Seconds one attempt may take when the notifier does not say.
pub const DEFAULT_TIMEOUT_S: u32 = 30;
/// The loop looks at the outbox at least this often (rows added by hand).
const IDLE_LOOK: Duration = Duration::from_secs(10);
/// The most alerts one group message lists; more wait for the next.
const MAX_GROUP: usize = 5_000;
/// How long a notifier's last interval is remembered after it ended (ms).
const FORGET_INTERVAL_MS: i64 = 86_400_000;

/// Why an attempt delivered nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Undelivered {
    /// One line, naming the step that failed and never quoting a secret.
    pub reason: String,
    /// The peer refused this message for good (a webhook's 4xx other than 408 and
    /// 429, an SMTP 5xx): retrying it would only hold up the alerts behind it.
    pub permanent: bool,
}

impl From<String> for Undelivered {
    fn from(reason: String) -> Self {
        Undelivered {
            reason,
            permanent: false,
        }
    }
}

/// Whether an HTTP status refuses a message for good: a 4xx other than 408 (request
/// timeout) and 429 (too many requests), which ask to try again later.
pub fn refused_for_good(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 408 | 429)
}

/// Sends alerts through notifiers.
#[derive(Clone)]
pub struct Deliverer {
    /// Sends webhooks (certificates verified as for checks).
    pub prober: Arc<Prober>,
    /// The configuration in force: `[smtp]`, the config directory for commands, the
    /// retry period.
    pub config: watch::Receiver<Arc<Config>>,
    /// What Alertmanager notifiers were told fires.
    pub store: Store,
}

/// A delivery made.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    /// What the peer answered, for the log.
    pub answer: String,
    /// What it changed of the alerts an Alertmanager was told fire.
    pub firing: FiringChanges,
}

impl From<String> for Delivered {
    fn from(answer: String) -> Self {
        Delivered {
            answer,
            firing: FiringChanges::default(),
        }
    }
}

impl Deliverer {
    /// One attempt to deliver `alerts` (one, or a group) through `notifier`; `Ok`
    /// with what the peer answered, or `Err` with a one-line reason.
    pub async fn deliver(
        &self,
        notifier: &NotifierRow,
        alerts: &[AlertRecord],
    ) -> Result<Delivered, Undelivered> {
        let (subject, body, text, json) = match alerts {
            [] => return Ok(Delivered::from("nothing to deliver".to_string())),
            [alert] => (
                text::subject(alert),
                text::body(alert),
                text::text(alert),
                text::webhook_json(alert),
            ),
            group => (
                text::group_subject(group),
                text::group_body(group),
                text::group_text(group),
                text::group_webhook_json(group),
            ),
        };
        let (params, broken) = notifier.params();
        if let Some(why) = broken {
            return Err(why.into());
        }
        let timeout = Duration::from_secs(u64::from(
            params.timeout.unwrap_or(DEFAULT_TIMEOUT_S).max(1),
        ));
        let config = self.config.borrow().clone();
        match NotifierKind::parse(&notifier.kind) {
            Some(NotifierKind::Smtp) => {
                smtp::send(&config.smtp, &notifier.address, &subject, &body, timeout)
                    .await
                    .map(Delivered::from)
            }
            Some(NotifierKind::Command) => {
                let dir = config
                    .path
                    .parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_else(|| std::path::PathBuf::from("/"));
                command::run(&notifier.address, &dir, timeout, &text)
                    .await
                    .map(Delivered::from)
            }
            Some(NotifierKind::Webhook) => {
                let url = url::Url::parse(&notifier.address)
                    // A webhook URL often carries its token: never quoted.
                    .map_err(|e| format!("url is not valid: {e}"))?;
                let headers: Vec<(String, String)> = params.headers.into_iter().collect();
                let body = json.to_string().into_bytes();
                self.post(&url, &headers, body, timeout)
                    .await
                    .map(Delivered::from)
            }
            Some(NotifierKind::Alertmanager) => {
                self.alertmanager(notifier, &params, alerts, timeout).await
            }
            None => Err(format!(
                "unknown notifier type {:?} (smtp, command, webhook or alertmanager)",
                notifier.kind
            )
            .into()),
        }
    }

    /// POSTs a JSON `body` to `url`; `Ok` with the status line of a 2xx answer.
    async fn post(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<String, Undelivered> {
        let post = self.prober.post_json(url, headers, body);
        match tokio::time::timeout(timeout, post).await {
            Err(_) => Err(format!("timed out after {} s", timeout.as_secs()).into()),
            Ok(Err(e)) => Err(e.to_string().into()),
            Ok(Ok((status, reason, _))) if (200..300).contains(&status) => {
                Ok(format!("HTTP {status} {reason}"))
            }
            Ok(Ok((status, reason, body))) => {
                let said = String::from_utf8_lossy(&body);
                let said: String = said.trim().chars().take(200).collect();
                let reason = if said.is_empty() {
                    format!("HTTP {status} {reason}")
                } else {
                    format!("HTTP {status} {reason}: {said}")
                };
                Err(Undelivered {
                    reason,
                    permanent: refused_for_good(status),
                })
            }
        }
    }
}

/// Starts the delivery loop on `tracker`.
pub fn spawn(
    store: Store,
    deliverer: Deliverer,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let t = tracker.clone();
    tracker.spawn(sweep(store.clone(), shutdown.clone()));
    tracker.spawn(alertmanager::resend(
        store.clone(),
        deliverer.clone(),
        shutdown.clone(),
    ));
    tracker.spawn(run(store, deliverer, t, shutdown));
}

/// Every second: what silences and maintenance windows began or ended, and which
/// alerts escalating notifiers are now owed (SPEC §15).
async fn sweep(store: Store, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = store.sweep_alerts(now_ms()).await {
            log::error!("alerts: cannot look at silences, windows and escalations: {e}");
        }
    }
}

async fn run(
    store: Store,
    deliverer: Deliverer,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let outbox = store.outbox();
    // A notifier's id, and when the interval after its latest message ends (ms).
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(i64, Option<i64>)>();
    let mut busy: HashSet<i64> = HashSet::new();
    let mut intervals: HashMap<i64, i64> = HashMap::new();
    loop {
        let mut wait = IDLE_LOOK;
        match store.delivery_heads().await {
            Ok(heads) => {
                let now = now_ms();
                intervals.retain(|_, end| *end > now - FORGET_INTERVAL_MS);
                for d in heads {
                    if busy.contains(&d.notifier.id) {
                        continue;
                    }
                    let group_ms = group_interval_ms(&d.notifier);
                    let interval_end = match group_ms {
                        0 => i64::MIN,
                        _ => intervals.get(&d.notifier.id).copied().unwrap_or(i64::MIN),
                    };
                    let due = d.next_attempt.max(interval_end);
                    if due > now {
                        let ms = u64::try_from(due - now).unwrap_or(0);
                        wait = wait.min(Duration::from_millis(ms));
                        continue;
                    }
                    // Raised while the interval ran: it goes out with the rest.
                    // Alertmanager takes a list and groups alerts itself: whatever
                    // is owed to it goes in one request.
                    let grouped = d.created < interval_end
                        || d.notifier.kind == NotifierKind::Alertmanager.as_str();
                    busy.insert(d.notifier.id);
                    let (store, deliverer, done, stop) = (
                        store.clone(),
                        deliverer.clone(),
                        done_tx.clone(),
                        shutdown.clone(),
                    );
                    tracker.spawn(async move {
                        let notifier = d.notifier.id;
                        let d = match grouped {
                            true => gather(&store, d).await,
                            false => d,
                        };
                        let delivered = attempt(&store, &deliverer, d, &stop).await;
                        let next = (delivered && group_ms > 0).then(|| now + group_ms);
                        let _ = done.send((notifier, next));
                    });
                }
            }
            Err(e) => log::error!("notifiers: cannot read the outbox: {e}"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = outbox.notified() => {}
            Some(first) = done_rx.recv() => {
                let mut ended = vec![first];
                while let Ok(more) = done_rx.try_recv() {
                    ended.push(more);
                }
                for (id, interval_end) in ended {
                    busy.remove(&id);
                    if let Some(end) = interval_end {
                        intervals.insert(id, end);
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// A notifier's `group_interval` in ms (0: never grouped).
fn group_interval_ms(n: &NotifierRow) -> i64 {
    let s = n
        .params()
        .0
        .group_interval
        .unwrap_or(DEFAULT_GROUP_INTERVAL_S);
    i64::from(s) * 1000
}

/// `head` with everything else its notifier is owed; `head` alone when they cannot
/// be read (they stay owed and go with the next message).
async fn gather(store: &Store, head: Delivery) -> Delivery {
    let fallback = head.clone();
    match store.delivery_group(head, MAX_GROUP).await {
        Ok(group) => group,
        Err(e) => {
            log::error!(
                "notifier `{}`: cannot read the alerts to group: {e}",
                fallback.notifier.name
            );
            fallback
        }
    }
}

/// One attempt, and its outcome recorded.
///
/// The outcome is recorded before the notifier's next delivery is looked at: when
/// the database refuses the bookkeeping (locked by another process, disk full), it is
/// tried again with a growing delay, so a delivery made is never made again at once
/// because its record failed. Only a stop gives up, and then the next start attempts
/// the delivery again (at least once, as after kill -9). Whether it was delivered.
async fn attempt(
    store: &Store,
    deliverer: &Deliverer,
    d: Delivery,
    shutdown: &CancellationToken,
) -> bool {
    let name = &d.notifier.name;
    let what = describe(&d.alerts);
    match deliverer.deliver(&d.notifier, &d.alerts).await {
        Ok(Delivered { answer, firing }) => {
            log::info!("notifier `{name}`: delivered {what} ({answer})");
            let recorded = until_recorded(shutdown, || {
                store.delivery_done(d.ids.clone(), d.notifier.id, firing.clone())
            });
            if let Err(e) = recorded.await {
                log::error!("notifier `{name}`: cannot record the delivery of {what}: {e}");
            }
            true
        }
        Err(error) => {
            let retry_for = match error.permanent {
                // Given up at once: this message will never be taken.
                true => 0,
                false => {
                    let c = deliverer.config.borrow();
                    i64::try_from(c.daemon.delivery_retry_seconds).unwrap_or(i64::MAX / 1000) * 1000
                }
            };
            let recorded = until_recorded(shutdown, || {
                store.delivery_failed(
                    d.ids.clone(),
                    d.notifier.id,
                    error.reason.clone(),
                    retry_for,
                )
            });
            let recorded = recorded.await;
            if matches!(recorded, Ok(Retry::GaveUp))
                && d.notifier.kind == NotifierKind::Alertmanager.as_str()
            {
                alertmanager::given_up(store, &d).await;
            }
            match recorded {
                Ok(Retry::At(at)) => log::warn!(
                    "notifier `{name}`: {what} not delivered (attempt {}): {error}; next attempt in {} s",
                    d.attempts + 1,
                    (at - now_ms() + 999).max(0) / 1000
                ),
                Ok(Retry::GaveUp) if error.permanent => log::error!(
                    "notifier `{name}`: {what} refused, given up: {error}"
                ),
                Ok(Retry::GaveUp) => log::error!(
                    "notifier `{name}`: {what} not delivered after {} attempts, given up: {error}",
                    d.attempts + 1
                ),
                Err(e) => log::error!("notifier `{name}`: cannot record the failure of {what}: {e}"),
            }
            false
        }
    }
}

/// First wait before recording a delivery's outcome again.
const RECORD_RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between two tries.
const RECORD_RETRY_MAX: Duration = Duration::from_secs(30);

/// Runs `write` until it succeeds, waiting longer after each failure, or until a stop.
async fn until_recorded<T, F, Fut>(
    shutdown: &CancellationToken,
    mut write: F,
) -> Result<T, crate::store::StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::store::StoreError>>,
{
    let mut backoff = Backoff::new(RECORD_RETRY_FIRST, RECORD_RETRY_MAX);
    loop {
        match write().await {
            Ok(v) => return Ok(v),
            Err(e) if shutdown.is_cancelled() => return Err(e),
            Err(e) => {
                let wait = backoff.next_wait();
                log::warn!(
                    "notifiers: cannot record a delivery's outcome ({e}); trying again in {} ms",
                    wait.as_millis()
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(e),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// `alert #12 (Skypunch FAILURE detected for web)`, or for a group
/// `a group of 499 alerts (#13 to #511)`.
fn describe(alerts: &[AlertRecord]) -> String {
    match alerts {
        [a] => format!(
            "alert #{} ({})",
            a.id,
            a.message.lines().next().unwrap_or("")
        ),
        _ => format!(
            "a group of {} alerts (#{} to #{})",
            alerts.len(),
            alerts.first().map_or(0, |a| a.id),
            alerts.last().map_or(0, |a| a.id)
        ),
    }
}
