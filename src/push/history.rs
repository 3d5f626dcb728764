//! The read side's history endpoints: `/api/report`, the 90-day bars and a target's
//! response-time chart.

use super::web::{params, rfc3339, ReadSide};
use super::{error, json};
use crate::domain::history::SourceKind;
use crate::domain::time::now_ms;
use crate::store::{ReportAsk, ReportError};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// Days in a bar.
pub const BAR_DAYS: usize = 90;

/// The history endpoint `path` names, if it is one.
pub async fn route(web: &ReadSide, path: &str, query: &str) -> Option<Response<Full<Bytes>>> {
    if path == "/api/report" {
        return Some(web.report(query).await);
    }
    if path == "/api/bars" {
        return Some(web.some_bars(query).await);
    }
    let (kind, rest) = if let Some(rest) = path.strip_prefix("/api/targets/") {
        (SourceKind::Target, rest)
    } else {
        (SourceKind::Service, path.strip_prefix("/api/services/")?)
    };
    let (id, what) = rest.split_once('/')?;
    let id: i64 = id.parse().ok()?;
    match (kind, what) {
        (_, "bars") => Some(web.bars(kind, id).await),
        (SourceKind::Target, "responses") => Some(web.responses(id, query).await),
        _ => None,
    }
}

/// A source the caller named that does not exist.
fn no_such(kind: SourceKind, id: i64) -> Response<Full<Bytes>> {
    error(
        StatusCode::NOT_FOUND,
        format!("No {} with id {id}", kind.as_str()),
    )
}

fn failed(e: impl std::fmt::Display) -> Response<Full<Bytes>> {
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

impl ReadSide {
    /// `GET /api/report?[target=ID|NAME | server=NAME[&service=NAME]][&month=YYYY-MM |
    /// &from=YYYY-MM-DD&to=YYYY-MM-DD]`: what `skypunchctl report --json` prints.
    pub async fn report(&self, query: &str) -> Response<Full<Bytes>> {
        let mut p = params(query);
        let ask = ReportAsk {
            target: p.remove("target"),
            server: p.remove("server"),
            service: p.remove("service"),
            month: p.remove("month"),
            from: p.remove("from"),
            to: p.remove("to"),
        };
        if let Some(unknown) = p.keys().next() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown parameter {unknown:?}: expected target, server, service, month, from, to"),
            );
        }
        match self.store.report_for(ask, now_ms()).await {
            Ok(report) => json(StatusCode::OK, json!(report)),
            Err(ReportError::Asked(m)) => error(StatusCode::BAD_REQUEST, m),
            Err(ReportError::NotFound(m)) => error(StatusCode::NOT_FOUND, m),
            Err(ReportError::Store(e)) => failed(e),
        }
    }

    fn last_days(&self) -> Vec<i32> {
        self.store.history().calendar.last_days(now_ms(), BAR_DAYS)
    }

    /// `GET /api/targets/<id>/bars`, `/api/services/<id>/bars`: the last 90 local days,
    /// oldest first.
    pub async fn bars(&self, kind: SourceKind, id: i64) -> Response<Full<Bytes>> {
        match self.store.bars(kind, id, self.last_days(), now_ms()).await {
            Ok(Some(bars)) => json(StatusCode::OK, json!(bars)),
            Ok(None) => no_such(kind, id),
            Err(e) => failed(e),
        }
    }

    /// `GET /api/bars[?ids=target:1,service:4,...]`: the bars of the sources named
    /// (the page asks for the rows it shows), or of every target and service, keyed
    /// `target:<id>` and `service:<id>`.
    pub async fn some_bars(&self, query: &str) -> Response<Full<Bytes>> {
        let which = match params(query).remove("ids") {
            None => None,
            Some(list) => {
                let mut which = Vec::new();
                for key in list.split(',').filter(|k| !k.is_empty()) {
                    let parsed = key
                        .split_once(':')
                        .and_then(|(kind, id)| Some((SourceKind::parse(kind)?, id.parse().ok()?)));
                    match parsed {
                        Some(k) => which.push(k),
                        None => {
                            return error(
                                StatusCode::BAD_REQUEST,
                                format!("ids: {key:?} is not target:<id> or service:<id>"),
                            )
                        }
                    }
                }
                Some(which)
            }
        };
        match self
            .store
            .some_bars(which, self.last_days(), now_ms())
            .await
        {
            Ok(all) => {
                let map: serde_json::Map<String, Value> =
                    all.into_iter().map(|(k, bars)| (k, json!(bars))).collect();
                json(StatusCode::OK, Value::Object(map))
            }
            Err(e) => failed(e),
        }
    }

    /// `GET /api/targets/<id>/responses?range=24h|7d|30d`: every check over the last
    /// 24 hours, or one point per hour over 7 or 30 days.
    pub async fn responses(&self, id: i64, query: &str) -> Response<Full<Bytes>> {
        let range = params(query)
            .remove("range")
            .unwrap_or_else(|| "24h".into());
        let (span, hourly) = match range.as_str() {
            "24h" => (24, false),
            "7d" => (7 * 24, true),
            "30d" => (30 * 24, true),
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("range {other:?}: expected 24h, 7d or 30d"),
                )
            }
        };
        let now = now_ms();
        let from = now - span * crate::domain::history::HOUR_MS;
        match self.store.responses(id, (from, now), hourly).await {
            Ok(Some(points)) => {
                let items: Vec<Value> = points
                    .into_iter()
                    .map(|p| {
                        let mut v = json!(p);
                        v["time"] = json!(rfc3339(p.time));
                        v
                    })
                    .collect();
                json(StatusCode::OK, json!({ "range": range, "points": items }))
            }
            Ok(None) => no_such(SourceKind::Target, id),
            Err(e) => failed(e),
        }
    }
}
