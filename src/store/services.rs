//! Reading pushed services back: the list (whole, or in pages that fit a control
//! frame) and one service's states.

use super::filing::state_name;
use super::samples::newest_samples;
use super::{Result, Store};
use crate::domain::history::SourceKind;
use rusqlite::params;
use serde::{Deserialize, Serialize};

impl Store {
    /// Services, of every server or of one.
    pub async fn services(&self, server: Option<String>) -> Result<Vec<ServiceInfo>> {
        self.services_after(server, None, usize::MAX).await
    }

    /// Services (of one server, or all) by server and service name after `after`,
    /// until their text passes `bytes` (at least one): a page of the list that fits a
    /// control frame (an info may be 64 KiB).
    pub async fn services_after(
        &self,
        server: Option<String>,
        after: Option<(String, String)>,
        bytes: usize,
    ) -> Result<Vec<ServiceInfo>> {
        self.read(move |c| {
            let (after_server, after_name) = after.unzip();
            let mut s = c.prepare_cached(
                "SELECT s.id, sv.name, s.name, s.state, s.info, s.period, s.last_report, s.timed_out \
                 FROM services s JOIN servers sv ON sv.id = s.server_id \
                 WHERE (?1 IS NULL OR sv.name = ?1) AND (?2 IS NULL OR (sv.name, s.name) > (?2, ?3)) \
                 ORDER BY sv.name, s.name",
            )?;
            let service = |r: &rusqlite::Row| {
                Ok(ServiceInfo {
                    id: r.get(0)?,
                    server: r.get(1)?,
                    name: r.get(2)?,
                    state: r.get(3)?,
                    info: r.get(4)?,
                    period: r.get(5)?,
                    last_report: crate::domain::time::format_ms(r.get(6)?),
                    last_report_ms: r.get(6)?,
                    timed_out: r.get(7)?,
                })
            };
            // Its text, and at most 100 bytes of numbers and lengths once encoded.
            let bound = |s: &ServiceInfo| {
                100 + s.server.len() + s.name.len() + s.state.len() + s.info.len()
                    + s.last_report.len()
            };
            let rows = s.query(params![server, after_server, after_name])?;
            let page = super::targets::page_of(rows, bytes, service, bound)?;
            Ok(page)
        })
        .await
    }

    /// A service's states, newest first: its changes, samples and reports not yet
    /// filed; `None` when there is no such service.
    pub async fn service_history(
        &self,
        id: i64,
        limit: u32,
    ) -> Result<Option<Vec<(i64, String, String)>>> {
        self.read(move |c| {
            if !super::report::exists(c, SourceKind::Service, id)? {
                return Ok(None);
            }
            // Filed rows through their key; the few not yet filed by a scan.
            let mut s = c.prepare_cached(
                "SELECT time, state, code, info FROM ( \
                   SELECT time, state, NULL AS code, info, 0 AS filed, id FROM service_reports \
                     WHERE service_id = ?1 \
                   UNION ALL \
                   SELECT * FROM (SELECT time, NULL, state, info, 1 AS filed, 0 FROM service_states \
                     WHERE service_id = ?1 ORDER BY time DESC LIMIT ?2)) \
                 ORDER BY time DESC, filed, id DESC LIMIT ?2",
            )?;
            let mut rows: Vec<(i64, String, String)> = s
                .query_map(params![id, limit], |r| {
                    let state = match r.get::<_, Option<String>>(1)? {
                        Some(state) => state,
                        None => state_name(r.get(2)?).to_string(),
                    };
                    Ok((r.get(0)?, state, r.get(3)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let samples = newest_samples(c, id, limit)?;
            rows.extend(
                samples
                    .into_iter()
                    .map(|s| (s.time, state_name(s.state.into()).to_string(), s.info)),
            );
            // Stable: at the same millisecond, the order above comes first.
            rows.sort_by_key(|r| std::cmp::Reverse(r.0));
            rows.truncate(limit as usize);
            Ok(Some(rows))
        })
        .await
    }
}

/// A service as `skypunchctl services` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Row id.
    pub id: i64,
    /// Its server.
    pub server: String,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// OK, WARN, FAIL or UNK.
    pub state: String,
    /// The last info.
    pub info: String,
    /// Seconds within which it promised to report.
    pub period: i64,
    /// Its latest report.
    pub last_report: String,
    /// The same, in ms since the epoch.
    pub last_report_ms: i64,
    /// It missed its period.
    pub timed_out: bool,
}
