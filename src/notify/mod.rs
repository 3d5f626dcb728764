//! Delivering alerts to notifiers.
//!
//! The outbox (`deliveries`) is written with each alert; this loop drains it. It wakes
//! when the writer commits new deliveries, when an attempt ends, and when the next
//! retry is due. Each notifier gets its oldest pending delivery, one at a time, on its
//! own task: a slow or failing notifier never holds up the others, and a notifier
//! hears of a FAILURE before the RECOVERY that follows it.

pub mod command;
pub mod smtp;
pub mod text;

use crate::config::{Config, NotifierKind};
use crate::probe::Prober;
use crate::store::notifiers::{AlertRecord, Delivery, NotifierRow, Retry};
use crate::store::{now_ms, Store};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Seconds one attempt may take when the notifier does not say.
pub const DEFAULT_TIMEOUT_S: u32 = 30;
/// The loop looks at the outbox at least this often (rows added by hand).
const IDLE_LOOK: Duration = Duration::from_secs(10);

/// Sends alerts through notifiers.
#[derive(Clone)]
pub struct Deliverer {
    pub prober: Arc<Prober>,
    pub config: watch::Receiver<Arc<Config>>,
}

impl Deliverer {
    /// One attempt to deliver `alert` through `notifier`; `Ok` with what the peer
    /// answered, or `Err` with a one-line reason.
    pub async fn deliver(
        &self,
        notifier: &NotifierRow,
        alert: &AlertRecord,
    ) -> Result<String, String> {
        let (params, broken) = notifier.params();
        if let Some(why) = broken {
            return Err(why);
        }
        let timeout = Duration::from_secs(u64::from(
            params.timeout.unwrap_or(DEFAULT_TIMEOUT_S).max(1),
        ));
        let config = self.config.borrow().clone();
        match NotifierKind::parse(&notifier.kind) {
            Some(NotifierKind::Smtp) => {
                smtp::send(
                    &config.smtp,
                    &notifier.address,
                    &text::subject(alert),
                    &text::body(alert),
                    timeout,
                )
                .await
            }
            Some(NotifierKind::Command) => {
                let dir = config
                    .path
                    .parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_else(|| std::path::PathBuf::from("/"));
                command::run(&notifier.address, &dir, timeout, &text::text(alert)).await
            }
            Some(NotifierKind::Webhook) => {
                let url = url::Url::parse(&notifier.address)
                    .map_err(|e| format!("url {:?}: {e}", notifier.address))?;
                let headers: Vec<(String, String)> = params.headers.into_iter().collect();
                let body = text::webhook_json(alert).to_string().into_bytes();
                let post = self.prober.post_json(&url, &headers, body);
                match tokio::time::timeout(timeout, post).await {
                    Err(_) => Err(format!("timed out after {} s", timeout.as_secs())),
                    Ok(Err(e)) => Err(e),
                    Ok(Ok((status, reason, _))) if (200..300).contains(&status) => {
                        Ok(format!("HTTP {status} {reason}"))
                    }
                    Ok(Ok((status, reason, body))) => {
                        let said = String::from_utf8_lossy(&body);
                        let said: String = said.trim().chars().take(200).collect();
                        if said.is_empty() {
                            Err(format!("HTTP {status} {reason}"))
                        } else {
                            Err(format!("HTTP {status} {reason}: {said}"))
                        }
                    }
                }
            }
            None => Err(format!(
                "unknown notifier type {:?} (smtp, command or webhook)",
                notifier.kind
            )),
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
    tracker.spawn(run(store, deliverer, t, shutdown));
}

async fn run(
    store: Store,
    deliverer: Deliverer,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let outbox = store.outbox();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<i64>();
    let mut busy: HashSet<i64> = HashSet::new();
    loop {
        let mut wait = IDLE_LOOK;
        match store.delivery_heads().await {
            Ok(heads) => {
                let now = now_ms();
                for d in heads {
                    if busy.contains(&d.notifier.id) {
                        continue;
                    }
                    if d.next_attempt > now {
                        let ms = u64::try_from(d.next_attempt - now).unwrap_or(0);
                        wait = wait.min(Duration::from_millis(ms));
                        continue;
                    }
                    busy.insert(d.notifier.id);
                    let (store, deliverer, done) =
                        (store.clone(), deliverer.clone(), done_tx.clone());
                    tracker.spawn(async move {
                        let notifier = d.notifier.id;
                        attempt(&store, &deliverer, d).await;
                        let _ = done.send(notifier);
                    });
                }
            }
            Err(e) => log::error!("notifiers: cannot read the outbox: {e}"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = outbox.notified() => {}
            Some(id) = done_rx.recv() => {
                busy.remove(&id);
                while let Ok(id) = done_rx.try_recv() {
                    busy.remove(&id);
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One attempt, and its outcome recorded.
async fn attempt(store: &Store, deliverer: &Deliverer, d: Delivery) {
    let name = &d.notifier.name;
    let what = describe(&d.alert);
    match deliverer.deliver(&d.notifier, &d.alert).await {
        Ok(answer) => {
            log::info!("notifier `{name}`: delivered {what} ({answer})");
            if let Err(e) = store.delivery_done(d.id, d.notifier.id).await {
                log::error!("notifier `{name}`: cannot record the delivery of {what}: {e}");
            }
        }
        Err(error) => {
            let retry_for = {
                let c = deliverer.config.borrow();
                i64::try_from(c.daemon.delivery_retry_seconds).unwrap_or(i64::MAX / 1000) * 1000
            };
            match store
                .delivery_failed(d.id, d.notifier.id, error.clone(), retry_for)
                .await
            {
                Ok(Retry::At(at)) => log::warn!(
                    "notifier `{name}`: {what} not delivered (attempt {}): {error}; next attempt in {} s",
                    d.attempts + 1,
                    (at - now_ms() + 999).max(0) / 1000
                ),
                Ok(Retry::GaveUp) => log::error!(
                    "notifier `{name}`: {what} not delivered after {} attempts, given up: {error}",
                    d.attempts + 1
                ),
                Err(e) => log::error!("notifier `{name}`: cannot record the failure of {what}: {e}"),
            }
        }
    }
}

/// `alert #12 (Skypunch FAILURE detected for web)`.
fn describe(a: &AlertRecord) -> String {
    format!(
        "alert #{} ({})",
        a.id,
        a.message.lines().next().unwrap_or("")
    )
}
