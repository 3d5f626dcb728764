//! Alertmanager notifiers (SPEC §18): skypunch's alerts as alerts of Alertmanager's
//! v2 API (`POST /api/v2/alerts`), which deduplicates an HA pair's and routes them.
//!
//! Alertmanager keeps state, not events: an alert fires until its `endsAt`. So a
//! source going down is sent with its end `4 × resend_interval` ahead and sent again
//! every `resend_interval` (by [`resend`]) while it is down; its recovery is sent
//! with `endsAt` = now. Pushed alerts, notifier failures and tests have no recovery:
//! they are sent once and end by themselves. The labels are the same on every daemon
//! with the same configuration (no location, no time), so an HA pair's alerts are one
//! alert to Alertmanager.

use super::{Delivered, Deliverer, Undelivered};
use crate::config::DEFAULT_RESEND_INTERVAL_S;
use crate::domain::time::now_ms;
use crate::store::firing::{subject, Firing, FiringChanges};
use crate::store::notifiers::{AlertRecord, NotifierParams, NotifierRow};
use crate::store::Store;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A target that is FAIL.
const TARGET_DOWN: &str = "SkypunchTargetDown";
/// A target that is WARN.
const TARGET_WARNING: &str = "SkypunchTargetWarning";
/// A pushed service whose state is not OK.
const SERVICE_STATE: &str = "SkypunchServiceState";
/// A pushed service (or job) that stopped reporting.
const SERVICE_OFFLINE: &str = "SkypunchServiceOffline";
/// An alert a host pushed (`/api/set/alerts`), or a flood of them held back.
const API_ALERT: &str = "SkypunchApiAlert";
/// A notifier that gave up.
const NOTIFIER_FAILED: &str = "SkypunchNotifierFailed";
/// `skypunchctl notifiers test`.
const TEST: &str = "SkypunchTest";

/// What one skypunch alert tells Alertmanager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// This alert of the source fires (until resolved).
    Fire(&'static str, &'static str),
    /// This alert of the source, if it fires, is over.
    Resolve(&'static str),
    /// An event with no recovery: sent once, and it ends by itself.
    Once(&'static str, &'static str),
}

/// The effects of `a`, in order.
fn effects(a: &AlertRecord) -> Vec<Effect> {
    use Effect::*;
    match (a.kind.as_str(), a.channel.as_str()) {
        ("target", _) => match a.state.as_str() {
            "FAIL" => vec![Fire(TARGET_DOWN, "critical"), Resolve(TARGET_WARNING)],
            "WARN" => vec![Fire(TARGET_WARNING, "warning"), Resolve(TARGET_DOWN)],
            _ => vec![Resolve(TARGET_DOWN), Resolve(TARGET_WARNING)],
        },
        ("service", "service:state") => match a.state.as_str() {
            "OK" => vec![Resolve(SERVICE_STATE)],
            "FAIL" => vec![Fire(SERVICE_STATE, "critical")],
            _ => vec![Fire(SERVICE_STATE, "warning")],
        },
        ("service", _) => match a.event.as_str() {
            "online" => vec![Resolve(SERVICE_OFFLINE)],
            "offline" | "late" => vec![Fire(SERVICE_OFFLINE, "critical")],
            _ => vec![Once(API_ALERT, "warning")],
        },
        ("notifier", _) => vec![Once(NOTIFIER_FAILED, "warning")],
        ("test", _) => vec![Once(TEST, "info")],
        _ => vec![Once(API_ALERT, "warning")],
    }
}

/// An RFC 3339 time as Alertmanager reads it.
fn time(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The alert's JSON without `endsAt`.
fn alert_json(
    a: &AlertRecord,
    alertname: &str,
    severity: &str,
    params: &NotifierParams,
    page: Option<&str>,
) -> Value {
    let mut labels: BTreeMap<&str, &str> = params
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    labels.insert("alertname", alertname);
    labels.insert("severity", severity);
    if a.kind == "target" {
        labels.insert("target", &a.target);
    } else if !a.server.is_empty() {
        labels.insert("server", &a.server);
        if !a.service.is_empty() {
            labels.insert("service", &a.service);
        }
    }
    let mut annotations = Map::new();
    annotations.insert("summary".into(), a.message.clone().into());
    if !a.details.is_empty() {
        annotations.insert("description".into(), a.details.clone().into());
    }
    let mut alert = json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": time(a.time),
    });
    if let Some(page) = page {
        alert["generatorURL"] = page.into();
    }
    alert
}

/// `alert` (without `endsAt`, as stored) with the end set.
fn ending(alert: &str, ends_ms: i64) -> Option<Value> {
    let mut v: Value = serde_json::from_str(alert).ok()?;
    v.as_object_mut()?
        .insert("endsAt".into(), time(ends_ms).into());
    Some(v)
}

/// The resend interval of a notifier's parameters, in ms.
pub fn resend_ms(params: &NotifierParams) -> i64 {
    i64::from(
        params
            .resend_interval
            .unwrap_or(DEFAULT_RESEND_INTERVAL_S)
            .max(1),
    ) * 1000
}

/// What to POST for `alerts`, and how it changes what the notifier was told fires,
/// given what it was told before (`known`).
fn compose(
    alerts: &[AlertRecord],
    known: Vec<Firing>,
    params: &NotifierParams,
    page: Option<&str>,
    now: i64,
) -> (Vec<Value>, FiringChanges) {
    let ahead = now + 4 * resend_ms(params);
    // What fires after this delivery, by (subject, alertname), and what it replaced.
    let mut state: HashMap<(String, String), Option<String>> = HashMap::new();
    let before: HashMap<(String, String), String> = known
        .into_iter()
        .map(|f| ((f.subject, f.alertname), f.alert))
        .collect();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut ended: Vec<Value> = Vec::new();
    let mut once: Vec<Value> = Vec::new();
    for a in alerts {
        let subject = subject(a);
        for effect in effects(a) {
            let (name, fired) = match effect {
                Effect::Once(name, severity) => {
                    let mut v = alert_json(a, name, severity, params, page);
                    v["endsAt"] = time(ahead).into();
                    once.push(v);
                    continue;
                }
                Effect::Fire(name, severity) => {
                    (name, Some(alert_json(a, name, severity, params, page)))
                }
                Effect::Resolve(name) => (name, None),
            };
            let key = (subject.clone(), name.to_string());
            let current = match state.get(&key) {
                Some(now) => now.clone(),
                None => {
                    order.push(key.clone());
                    before.get(&key).cloned()
                }
            };
            let next = match (current, fired) {
                (None, None) => None,
                (Some(old), None) => {
                    ended.extend(ending(&old, now));
                    None
                }
                (None, Some(new)) => Some(new.to_string()),
                (Some(old), Some(mut new)) => {
                    let old_v: Value = serde_json::from_str(&old).unwrap_or_default();
                    if old_v["labels"] == new["labels"] {
                        // Still the same alert: it keeps the time it began.
                        new["startsAt"] = old_v["startsAt"].clone();
                    } else {
                        ended.extend(ending(&old, now));
                    }
                    Some(new.to_string())
                }
            };
            state.insert(key, next);
        }
    }
    let mut changes = FiringChanges::default();
    let mut firing = Vec::new();
    for key in order {
        match state.remove(&key).flatten() {
            Some(alert) => {
                firing.extend(ending(&alert, ahead));
                changes.fire.push(Firing {
                    subject: key.0,
                    alertname: key.1,
                    alert,
                });
            }
            None => changes.resolve.push(key),
        }
    }
    let mut body = ended;
    body.extend(firing);
    body.extend(once);
    (body, changes)
}

impl Deliverer {
    /// Sends `alerts` to the Alertmanager `notifier` stands for.
    pub(super) async fn alertmanager(
        &self,
        notifier: &NotifierRow,
        params: &NotifierParams,
        alerts: &[AlertRecord],
        timeout: Duration,
    ) -> Result<Delivered, Undelivered> {
        let url = api_url(&notifier.address)?;
        let known = self
            .store
            .firing_of(notifier.id, alerts)
            .await
            .map_err(|e| format!("cannot read what Alertmanager was told: {e}"))?;
        let page = self.page();
        let (body, firing) = compose(alerts, known, params, page.as_deref(), now_ms());
        if body.is_empty() {
            return Ok(Delivered {
                answer: "nothing Alertmanager was told of changed".into(),
                firing,
            });
        }
        let answer = self
            .post(
                &url,
                &[],
                Value::Array(body).to_string().into_bytes(),
                timeout,
            )
            .await?;
        Ok(Delivered { answer, firing })
    }

    /// The status page's address for `generatorURL`, when the listener has one.
    fn page(&self) -> Option<String> {
        let config = self.config.borrow();
        let push = &config.push;
        (!push.listen.is_empty() || !push.public_url.is_empty())
            .then(|| format!("{}/ui/", push.ping_base("")))
    }
}

/// After alerts were given up for an Alertmanager: what they resolved is no longer
/// claimed to fire, so the resender stops keeping it open there (it ends by itself
/// 4 intervals after its last sending). What they would have fired stays unknown to
/// it: the other notifiers were told the notifier failed.
pub(super) async fn given_up(store: &Store, d: &crate::store::outbox::Delivery) {
    let (params, _) = d.notifier.params();
    let known = match store.firing_of(d.notifier.id, &d.alerts).await {
        Ok(k) => k,
        Err(e) => {
            log::error!(
                "notifier `{}`: cannot read its firing alerts: {e}",
                d.notifier.name
            );
            return;
        }
    };
    let (_, changes) = compose(&d.alerts, known, &params, None, now_ms());
    let resolved = FiringChanges {
        fire: Vec::new(),
        resolve: changes.resolve,
    };
    if let Err(e) = store.firing_apply(d.notifier.id, resolved).await {
        log::error!(
            "notifier `{}`: cannot forget resolved alerts: {e}",
            d.notifier.name
        );
    }
}

/// `POST /api/v2/alerts` under an Alertmanager's base URL.
fn api_url(base: &str) -> Result<url::Url, Undelivered> {
    let base = format!("{}/api/v2/alerts", base.trim_end_matches('/'));
    url::Url::parse(&base).map_err(|e| format!("url is not valid: {e}").into())
}

/// How often the resender looks for notifiers whose interval has passed.
const RESEND_LOOK: Duration = Duration::from_secs(1);

/// Sends every Alertmanager notifier's firing alerts again each `resend_interval`,
/// with their end 4 intervals ahead, so that they stay open in Alertmanager while
/// skypunch runs and close by themselves when it stops for good. A failed sending
/// is logged and made again at the next interval: it is the same state again, so
/// there is nothing to queue.
pub(super) async fn resend(store: Store, deliverer: Deliverer, shutdown: CancellationToken) {
    let mut last: HashMap<i64, i64> = HashMap::new();
    let mut tick = tokio::time::interval(RESEND_LOOK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let notifiers = match store.alertmanager_notifiers().await {
            Ok(n) => n,
            Err(e) => {
                log::error!("alertmanager: cannot read the notifiers: {e}");
                continue;
            }
        };
        let now = now_ms();
        last.retain(|id, _| notifiers.iter().any(|n| n.id == *id));
        for n in notifiers {
            let (params, broken) = n.params();
            if broken.is_some() {
                continue;
            }
            let every = resend_ms(&params);
            let since = last.entry(n.id).or_insert(now);
            if now - *since < every {
                continue;
            }
            *since = now;
            let alerts = match store.firing_to_resend(n.id).await {
                Ok(a) if a.is_empty() => continue,
                Ok(a) => a,
                Err(e) => {
                    log::error!("notifier `{}`: cannot read its firing alerts: {e}", n.name);
                    continue;
                }
            };
            let ahead = now + 4 * every;
            let body: Vec<Value> = alerts.iter().filter_map(|a| ending(a, ahead)).collect();
            let count = body.len();
            let timeout = Duration::from_millis(u64::try_from(every).unwrap_or(1000)).min(
                Duration::from_secs(u64::from(
                    params.timeout.unwrap_or(super::DEFAULT_TIMEOUT_S).max(1),
                )),
            );
            let sent = match api_url(&n.address) {
                Ok(url) => {
                    deliverer
                        .post(
                            &url,
                            &[],
                            Value::Array(body).to_string().into_bytes(),
                            timeout,
                        )
                        .await
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(_) => log::debug!("notifier `{}`: {count} firing alerts sent again", n.name),
                Err(e) => log::warn!(
                    "notifier `{}`: {count} firing alerts not sent again: {e}",
                    n.name
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(state: &str, time: i64) -> AlertRecord {
        AlertRecord {
            kind: "target".into(),
            target: "web".into(),
            channel: "target".into(),
            state: state.into(),
            message: format!("web is {state}"),
            details: "Trace: ...".into(),
            time,
            ..Default::default()
        }
    }

    fn params() -> NotifierParams {
        NotifierParams {
            labels: [("team".to_string(), "ops".to_string())].into(),
            resend_interval: Some(10),
            ..Default::default()
        }
    }

    #[test]
    fn a_failure_fires_with_its_labels_and_its_end_four_intervals_ahead() {
        let (body, changes) = compose(&[target("FAIL", 1_000)], vec![], &params(), None, 2_000);
        assert_eq!(body.len(), 1);
        let a = &body[0];
        assert_eq!(
            a["labels"],
            json!({"alertname": "SkypunchTargetDown", "severity": "critical",
                   "target": "web", "team": "ops"})
        );
        assert_eq!(a["annotations"]["summary"], "web is FAIL");
        assert_eq!(a["annotations"]["description"], "Trace: ...");
        assert_eq!(a["startsAt"], time(1_000));
        assert_eq!(a["endsAt"], time(42_000));
        assert_eq!(changes.fire.len(), 1);
        assert_eq!(changes.fire[0].subject, "target:web");
        assert!(changes
            .resolve
            .contains(&("target:web".into(), TARGET_WARNING.into())));
    }

    #[test]
    fn a_recovery_resolves_what_fired_and_nothing_else() {
        let (_, fired) = compose(&[target("FAIL", 1_000)], vec![], &params(), None, 2_000);
        let (body, changes) = compose(&[target("PASS", 5_000)], fired.fire, &params(), None, 6_000);
        assert_eq!(body.len(), 1, "{body:?}");
        assert_eq!(body[0]["labels"]["alertname"], TARGET_DOWN);
        assert_eq!(body[0]["startsAt"], time(1_000));
        assert_eq!(body[0]["endsAt"], time(6_000));
        assert!(changes.fire.is_empty());
        assert_eq!(changes.resolve.len(), 2);
        // A recovery of something Alertmanager never heard of sends nothing.
        let (body, _) = compose(&[target("PASS", 5_000)], vec![], &params(), None, 6_000);
        assert!(body.is_empty());
    }

    #[test]
    fn a_service_whose_severity_changes_ends_the_old_alert_and_fires_the_new() {
        let service = |state: &str| AlertRecord {
            kind: "service".into(),
            server: "db1".into(),
            service: "disk".into(),
            channel: "service:state".into(),
            state: state.into(),
            time: 1_000,
            ..Default::default()
        };
        let (_, fired) = compose(&[service("FAIL")], vec![], &params(), None, 2_000);
        let (body, changes) = compose(&[service("WARN")], fired.fire, &params(), None, 3_000);
        let sev: Vec<_> = body
            .iter()
            .map(|a| (a["labels"]["severity"].clone(), a["endsAt"].clone()))
            .collect();
        assert_eq!(
            sev,
            [
                (json!("critical"), json!(time(3_000))),
                (json!("warning"), json!(time(43_000)))
            ]
        );
        assert_eq!(changes.fire.len(), 1);
        assert_eq!(body[1]["labels"]["server"], "db1");
        assert_eq!(body[1]["labels"]["service"], "disk");
    }

    #[tokio::test]
    async fn a_given_up_recovery_stops_the_resending_of_what_it_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&dir.path().join("t.db"), crate::store::Durability::Normal).unwrap();
        let row = NotifierRow {
            id: 0,
            name: "am".into(),
            kind: "alertmanager".into(),
            address: "http://127.0.0.1:9".into(),
            params: params().to_json(),
            enabled: true,
        };
        let id = store
            .add_notifier(row.clone(), crate::domain::target::Origin::Cli)
            .await
            .unwrap();
        let (_, fired) = compose(&[target("FAIL", 1_000)], vec![], &params(), None, 2_000);
        store.firing_apply(id, fired).await.unwrap();
        assert_eq!(store.firing_to_resend(id).await.unwrap().len(), 1);
        let d = crate::store::outbox::Delivery {
            ids: vec![],
            attempts: 9,
            created: 0,
            next_attempt: 0,
            notifier: NotifierRow { id, ..row },
            alerts: vec![target("PASS", 5_000)],
        };
        given_up(&store, &d).await;
        assert!(store.firing_to_resend(id).await.unwrap().is_empty());
    }

    #[test]
    fn events_without_recovery_are_sent_once_and_not_kept() {
        let api = AlertRecord {
            kind: "api".into(),
            server: "db1".into(),
            channel: "api".into(),
            event: "alert".into(),
            time: 1_000,
            ..Default::default()
        };
        let (body, changes) = compose(&[api], vec![], &params(), Some("http://m/ui/"), 2_000);
        assert_eq!(body[0]["labels"]["alertname"], API_ALERT);
        assert_eq!(body[0]["generatorURL"], "http://m/ui/");
        assert_eq!(changes, FiringChanges::default());
    }
}
