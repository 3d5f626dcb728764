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
pub use metrics::{PushCounters, ENDPOINTS, PUSH_COUNTERS};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The status page, with its script and styles; nothing is loaded from elsewhere.
const PAGE: &str = include_str!("../../web/index.html");
/// How often uptime figures are recomputed (the first time shortly after start).
const UPTIME_EVERY: Duration = Duration::from_secs(30);
const UPTIME_FIRST: Duration = Duration::from_secs(3);
/// Targets in one `/api/status` answer unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 500;

mod metrics;

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
            "method": crate::domain::target::shown_method(&t.url, &t.method),
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
                quiet.of_service(s.id, &s.server, &s.name).add_to(&mut v);
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
    fn query_parameters() {
        let p = params("state=fail&q=web%20shop&limit=5");
        assert_eq!(p.get("q").map(String::as_str), Some("web shop"));
        assert_eq!(limit_of("limit=0"), 1);
        assert_eq!(limit_of(""), 100);
        assert_eq!(limit_of("limit=99999"), 10_000);
    }
}
