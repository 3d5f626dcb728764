//! The read side of the `[push]` listener: the status page (`/ui/`), its JSON API
//! and Prometheus metrics.
//!
//! Uptime figures come from the hourly counts, recomputed in the background every
//! 30 seconds so a page load never aggregates history. Latest response times and check
//! phases come from the scheduler's memory.

use super::{error, json};
use crate::config::Config;
use crate::control::quiet::QuietInfo;
use crate::domain::time::now_ms;
use crate::scheduler::SchedulerHandle;
use crate::store::checks::Uptime;
use crate::store::services::ServiceInfo;
use crate::store::targets::TargetInfo;
use crate::store::Store;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The status page, with its script and styles; nothing is loaded from elsewhere.
const PAGE: &str = include_str!("../../web/index.html");
/// How often uptime figures are recomputed (the first time shortly after start).
const UPTIME_EVERY: Duration = Duration::from_secs(30);
const UPTIME_FIRST: Duration = Duration::from_secs(3);
/// Targets in one `/api/status` answer unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 500;

/// Push requests answered, by endpoint and outcome, for `/metrics`.
pub struct PushCounters {
    counts: [[AtomicU64; 3]; 3],
}

/// The endpoints counted.
pub const ENDPOINTS: [&str; 3] = ["/api/ping", "/api/set/service/status", "/api/set/alerts"];
const OUTCOMES: [&str; 3] = ["ok", "refused", "error"];

impl PushCounters {
    const fn new() -> PushCounters {
        #[allow(clippy::declare_interior_mutable_const)]
        const Z: AtomicU64 = AtomicU64::new(0);
        #[allow(clippy::declare_interior_mutable_const)]
        const ROW: [AtomicU64; 3] = [Z, Z, Z];
        PushCounters {
            counts: [ROW, ROW, ROW],
        }
    }

    /// Counts one answer to `path` with `status`.
    pub fn count(&self, path: &str, status: StatusCode) {
        let Some(e) = ENDPOINTS.iter().position(|p| *p == path) else {
            return;
        };
        let o = if status.is_success() {
            0
        } else if status.is_client_error() {
            1
        } else {
            2
        };
        self.counts[e][o].fetch_add(1, Ordering::Relaxed);
    }
}

/// Answers since the daemon started.
pub static PUSH_COUNTERS: PushCounters = PushCounters::new();

/// What the read side needs.
pub struct ReadSide {
    /// Where states, history and alerts are read.
    pub store: Store,
    /// Where the latest results and traces, held in memory, are read.
    pub scheduler: SchedulerHandle,
    uptimes: RwLock<Arc<HashMap<i64, Uptime>>>,
}

impl ReadSide {
    /// The read side over `store` and `scheduler`; uptimes are filled in by
    /// [`ReadSide::keep_uptimes`].
    pub fn new(store: Store, scheduler: SchedulerHandle) -> ReadSide {
        ReadSide {
            store,
            scheduler,
            uptimes: RwLock::new(Arc::new(HashMap::new())),
        }
    }

    /// Recomputes uptime figures now and then every minute, until cancelled.
    pub async fn keep_uptimes(self: Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        let start = tokio::time::Instant::now() + UPTIME_FIRST;
        let mut every = tokio::time::interval_at(start, UPTIME_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            match self.store.uptimes(now_ms()).await {
                Ok(u) => {
                    if let Ok(mut w) = self.uptimes.write() {
                        *w = Arc::new(u);
                    }
                }
                Err(e) => log::error!("status page: cannot compute uptimes: {e}"),
            }
        }
    }

    fn uptimes(&self) -> Arc<HashMap<i64, Uptime>> {
        self.uptimes.read().map(|u| u.clone()).unwrap_or_default()
    }

    /// `GET /ui/`.
    pub fn page(&self) -> Response<Full<Bytes>> {
        Response::builder()
            .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(http::header::CACHE_CONTROL, "no-cache")
            .header(
                "content-security-policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src 'self' data:",
            )
            .body(Full::new(Bytes::from_static(PAGE.as_bytes())))
            .unwrap_or_default()
    }

    fn target_json(
        &self,
        t: &TargetInfo,
        uptimes: &HashMap<i64, Uptime>,
        quiet: &QuietInfo,
    ) -> Value {
        let live = self.scheduler.live(t.id);
        let marks = quiet.of_target(t.id, &t.name);
        json!({
            "silences": marks.silences,
            "acked": marks.acked,
            "id": t.id,
            "name": t.name,
            "status": t.status,
            "enabled": t.enabled,
            "description": t.status_description,
            "last_updated": t.last_updated,
            "url": t.url,
            "method": t.method,
            "frequency": t.frequency,
            "uptime": uptimes.get(&t.id).copied().unwrap_or_default(),
            "response_ms": live.as_ref().map(|l| l.response_ms),
            "spark": live.map(|l| l.spark).unwrap_or_default(),
        })
    }

    /// `GET /api/status[?state=FAIL&q=text&limit=N&offset=N]`: targets (filtered,
    /// paginated), every service, the latest alerts, and counts.
    /// With the silences in force, the maintenance windows of `config` and the open
    /// acknowledgements, each target and service listing what covers it.
    pub async fn status(&self, query: &str, config: &Config) -> Response<Full<Bytes>> {
        let params = params(query);
        let (targets, services, alerts, counts, quiet) = match tokio::try_join!(
            self.store.list_targets(),
            self.store.services(None),
            self.store.alerts(None, 20),
            self.store.counts(),
            crate::control::quiet::gather(&self.store, config, now_ms())
        ) {
            Ok(all) => all,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let state = params.get("state").map(|s| s.to_ascii_uppercase());
        let q = params
            .get("q")
            .map(|s| s.to_lowercase())
            .unwrap_or_default();
        let limit = params
            .get("limit")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, 10_000);
        let offset = params
            .get("offset")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let mut by_state: HashMap<&str, usize> = HashMap::new();
        for t in &targets {
            *by_state.entry(target_state(t)).or_default() += 1;
        }
        let matched: Vec<&TargetInfo> = targets
            .iter()
            .filter(|t| state.as_deref().is_none_or(|s| target_state(t) == s))
            .filter(|t| {
                q.is_empty()
                    || t.name.to_lowercase().contains(&q)
                    || t.url.to_lowercase().contains(&q)
            })
            .collect();
        let uptimes = self.uptimes();
        let items: Vec<Value> = matched
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| self.target_json(t, &uptimes, &quiet))
            .collect();
        let services: Vec<Value> = services
            .iter()
            .map(|s| {
                let mut v = service_json(s);
                let marks = quiet.of_service(s.id, &s.server, &s.name);
                if let Some(o) = v.as_object_mut() {
                    o.insert("silences".into(), json!(marks.silences));
                    o.insert("acked".into(), json!(marks.acked));
                }
                v
            })
            .collect();
        json(
            StatusCode::OK,
            json!({
                "version": crate::VERSION,
                "generated": rfc3339(now_ms()),
                "counts": counts,
                "targets": {
                    "total": targets.len(),
                    "by_state": by_state,
                    "matched": matched.len(),
                    "offset": offset,
                    "limit": limit,
                    "items": items,
                },
                "services": services,
                "alerts": alerts,
                "silences": quiet.silences,
                "maintenance": quiet.windows,
                "acked": quiet.acked,
            }),
        )
    }

    /// `GET /api/targets/<id>`: one target with its last trace and latest figures.
    pub async fn target(&self, id: i64, config: &Config) -> Response<Full<Bytes>> {
        let quiet = match crate::control::quiet::gather(&self.store, config, now_ms()).await {
            Ok(q) => q,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        match self.store.target_info(id).await {
            Ok(t) => {
                let mut v = self.target_json(&t, &self.uptimes(), &quiet);
                let trace = self
                    .scheduler
                    .last_trace(id)
                    .or(t.last_trace.clone())
                    .unwrap_or_default();
                v["last_trace"] = json!(trace);
                v["counters"] = json!({
                    "pass": t.pass_count, "fail": t.fail_count, "warn": t.warn_count, "count200": t.count200,
                    "count300": t.count300, "count400": t.count400, "count500": t.count500,
                    "network_fails": t.network_fails, "repeated_fails": t.repeated_fails,
                });
                json(StatusCode::OK, v)
            }
            Err(crate::store::StoreError::NotFound(_)) => {
                error(StatusCode::NOT_FOUND, format!("No target with id {id}"))
            }
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    /// `GET /api/targets/<id>/history[?limit=N]`: newest first.
    pub async fn target_history(&self, id: i64, query: &str) -> Response<Full<Bytes>> {
        let limit = limit_of(query);
        match self.store.target_history(id, limit).await {
            Ok(Some(rows)) => {
                let items: Vec<Value> = rows
                    .into_iter()
                    .map(|r| {
                        json!({
                            "time": rfc3339(r.time),
                            "result": r.result,
                            "status_code": r.status_code,
                            "response_ms": r.response_ms,
                            "description": r.description,
                        })
                    })
                    .collect();
                json(StatusCode::OK, Value::Array(items))
            }
            Ok(None) => error(StatusCode::NOT_FOUND, format!("No target with id {id}")),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    /// `GET /api/alerts[?limit=N&since=2h]`: newest first.
    pub async fn alerts(&self, query: &str) -> Response<Full<Bytes>> {
        let params = params(query);
        let since = match params.get("since") {
            Some(d) => match crate::domain::time::duration_ms(d) {
                Ok(ms) => Some(now_ms() - ms),
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("since: {e}")),
            },
            None => None,
        };
        match self.store.alerts(since, limit_of(query)).await {
            Ok(a) => json(StatusCode::OK, json!(a)),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    /// `GET /metrics`: Prometheus text format.
    pub async fn metrics(&self) -> Response<Full<Bytes>> {
        let (targets, services, counts) = match tokio::try_join!(
            self.store.list_targets(),
            self.store.services(None),
            self.store.counts()
        ) {
            Ok(all) => all,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let text = self.metrics_text(&targets, &services, counts.pending_alerts);
        Response::builder()
            .header(
                http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .body(Full::new(Bytes::from(text)))
            .unwrap_or_default()
    }

    fn metrics_text(
        &self,
        targets: &[TargetInfo],
        services: &[ServiceInfo],
        pending: u64,
    ) -> String {
        let mut m = Metrics::default();
        let lives: Vec<_> = targets
            .iter()
            .map(|t| (t, self.scheduler.live(t.id)))
            .collect();
        let label = |t: &TargetInfo| format!("id=\"{}\",target=\"{}\"", t.id, escape(&t.name));
        m.family(
            "skypunch_probe_success",
            "gauge",
            "Whether the target is up: PASS or WARN (1), or FAIL (0).",
        );
        for (t, _) in lives.iter().filter(|(t, _)| t.status != "NEW") {
            m.sample(
                "skypunch_probe_success",
                &label(t),
                f64::from(u8::from(t.status != "FAIL")),
            );
        }
        m.family(
            "skypunch_target_warn",
            "gauge",
            "Whether the target is WARN (1): up, but slow or its certificate expiring soon.",
        );
        for (t, _) in lives.iter().filter(|(t, _)| t.status != "NEW") {
            m.sample(
                "skypunch_target_warn",
                &label(t),
                f64::from(u8::from(t.status == "WARN")),
            );
        }
        m.family(
            "skypunch_probe_duration_seconds",
            "gauge",
            "Duration of the latest check.",
        );
        for (t, l) in &lives {
            if let Some(l) = l {
                m.sample(
                    "skypunch_probe_duration_seconds",
                    &label(t),
                    l.response_ms / 1000.0,
                );
            }
        }
        m.family(
            "skypunch_probe_http_duration_seconds",
            "gauge",
            "Duration of the latest check by phase.",
        );
        for (t, l) in &lives {
            for (phase, secs) in l.iter().flat_map(|l| l.phases.iter()) {
                m.sample(
                    "skypunch_probe_http_duration_seconds",
                    &format!("{},phase=\"{phase}\"", label(t)),
                    *secs,
                );
            }
        }
        m.family(
            "skypunch_probe_http_status_code",
            "gauge",
            "HTTP status of the latest check (0: no response).",
        );
        for (t, l) in &lives {
            if let Some(l) = l {
                m.sample(
                    "skypunch_probe_http_status_code",
                    &label(t),
                    f64::from(l.status_code.unwrap_or(0)),
                );
            }
        }
        m.family(
            "skypunch_probe_ssl_earliest_cert_expiry",
            "gauge",
            "Expiry of the server certificate, Unix seconds.",
        );
        for (t, l) in &lives {
            if let Some(exp) = l.as_ref().and_then(|l| l.cert_not_after) {
                m.sample(
                    "skypunch_probe_ssl_earliest_cert_expiry",
                    &label(t),
                    exp as f64 / 1000.0,
                );
            }
        }
        m.family(
            "skypunch_target_checks_total",
            "counter",
            "Checks of the target by result.",
        );
        for t in targets {
            m.sample(
                "skypunch_target_checks_total",
                &format!("{},result=\"pass\"", label(t)),
                t.pass_count as f64,
            );
            m.sample(
                "skypunch_target_checks_total",
                &format!("{},result=\"fail\"", label(t)),
                t.fail_count as f64,
            );
            m.sample(
                "skypunch_target_checks_total",
                &format!("{},result=\"warn\"", label(t)),
                t.warn_count as f64,
            );
        }
        m.family(
            "skypunch_target_enabled",
            "gauge",
            "Whether the target is checked.",
        );
        for t in targets {
            m.sample(
                "skypunch_target_enabled",
                &label(t),
                f64::from(u8::from(t.enabled)),
            );
        }
        let slabel = |s: &ServiceInfo| {
            format!(
                "server=\"{}\",service=\"{}\"",
                escape(&s.server),
                escape(&s.name)
            )
        };
        m.family(
            "skypunch_service_state",
            "gauge",
            "The service's latest state, one series per state (1 for the current one).",
        );
        for s in services {
            for state in ["OK", "WARN", "FAIL", "UNK"] {
                m.sample(
                    "skypunch_service_state",
                    &format!("{},state=\"{state}\"", slabel(s)),
                    f64::from(u8::from(s.state == state)),
                );
            }
        }
        m.family(
            "skypunch_service_online",
            "gauge",
            "Whether the service reported within its period.",
        );
        for s in services {
            m.sample(
                "skypunch_service_online",
                &slabel(s),
                f64::from(u8::from(!s.timed_out)),
            );
        }
        m.family(
            "skypunch_push_requests_total",
            "counter",
            "Push API requests answered, by endpoint and outcome.",
        );
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let n = PUSH_COUNTERS.counts[e][o].load(Ordering::Relaxed);
                m.sample(
                    "skypunch_push_requests_total",
                    &format!("endpoint=\"{endpoint}\",outcome=\"{outcome}\""),
                    n as f64,
                );
            }
        }
        m.family(
            "skypunch_alerts_pending",
            "gauge",
            "Alert deliveries not yet made.",
        );
        m.sample("skypunch_alerts_pending", "", pending as f64);
        m.text
    }
}

#[derive(Default)]
struct Metrics {
    text: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{{{labels}}} {value}");
        }
    }
}

/// A label value as the text format wants it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// NEW, PASS, FAIL, or DISABLED for a target that is not checked.
fn target_state(t: &TargetInfo) -> &str {
    if t.enabled {
        t.status.as_str()
    } else {
        "DISABLED"
    }
}

fn service_json(s: &ServiceInfo) -> Value {
    json!({
        "id": s.id,
        "server": s.server,
        "name": s.name,
        "state": s.state,
        "info": s.info,
        "period": s.period,
        "last_report": s.last_report,
        "online": !s.timed_out,
    })
}

pub(super) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The query string's `key=value` pairs, percent-decoded.
pub(super) fn params(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// `limit=N` (default 100, at most 10,000).
pub fn limit_of(query: &str) -> u32 {
    params(query)
        .get("limit")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(100)
        .clamp(1, 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn query_parameters() {
        let p = params("state=fail&q=web%20shop&limit=5");
        assert_eq!(p.get("q").map(String::as_str), Some("web shop"));
        assert_eq!(limit_of("limit=0"), 1);
        assert_eq!(limit_of(""), 100);
        assert_eq!(limit_of("limit=99999"), 10_000);
    }
}
