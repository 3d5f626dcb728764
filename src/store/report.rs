//! Reading the figures back: a report per source over a range (`skypunchctl report`,
//! `/api/report`) and the daily bars of the status page. Every read goes through the
//! source's own key, so its cost does not grow with other sources' history.

use super::rollup::histogram;
use super::{Result, Store};
use crate::domain::history::{
    figures, Condition, Figures, Incident, Responses, SourceKind, Spent, HOUR_MS,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Which sources a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFilter {
    /// Every target and every service.
    All,
    /// One target, by id or name.
    Target(String),
    /// The services of a server, or one of them.
    Server {
        /// The server's name.
        server: String,
        /// One service's name.
        service: Option<String>,
    },
}

/// A report as asked for: which sources, and a month (`YYYY-MM`) or dates
/// (`YYYY-MM-DD`, both included); the last 30 days without either.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportAsk {
    /// One target, by id or name.
    pub target: Option<String>,
    /// One server's services.
    pub server: Option<String>,
    /// One service of that server.
    pub service: Option<String>,
    /// A month.
    pub month: Option<String>,
    /// First date.
    pub from: Option<String>,
    /// Last date.
    pub to: Option<String>,
}

/// A report: its range and one row per source (the JSON of `/api/report` and of
/// `skypunchctl report --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Start of the range, local time `YYYY-MM-DD HH:MM`.
    pub from: String,
    /// End of the range (excluded), local time.
    pub to: String,
    /// The time zone of both.
    pub time_zone: String,
    /// One row per source.
    pub rows: Vec<ReportRow>,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request does not make sense; the text says why.
    #[error("{0}")]
    Asked(String),
    /// The target, server or service named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

impl ReportAsk {
    fn filter(&self) -> std::result::Result<SourceFilter, ReportError> {
        let asked = |m: &str| Err(ReportError::Asked(m.into()));
        match (&self.target, &self.server, &self.service) {
            (Some(_), Some(_), _) => asked("a report is of a target or of a server, not both"),
            (Some(_), None, Some(_)) => asked("a service is named with its server"),
            (None, None, Some(_)) => asked("a service is named with its server"),
            (Some(t), None, None) => Ok(SourceFilter::Target(t.clone())),
            (None, Some(server), service) => Ok(SourceFilter::Server {
                server: server.clone(),
                service: service.clone(),
            }),
            (None, None, None) => Ok(SourceFilter::All),
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// A target's or a service's.
    pub kind: SourceKind,
    /// The target's or service's id.
    pub id: i64,
    /// The target's name, or `server/service`.
    pub source: String,
    /// Its figures over the range.
    #[serde(flatten)]
    pub figures: Figures,
}

/// A source as found, with what its figures need besides its rows.
pub(super) struct Found {
    pub(super) kind: SourceKind,
    pub(super) id: i64,
    name: String,
    /// Its last check or report: when, in what condition, and how long that stands.
    last: Option<(i64, Condition, i64)>,
    /// A service's time accounted for without a gap: from its first report to its
    /// newest filed one (its rows hold only the part of it that was not up).
    accounted: Option<(i64, i64)>,
}

fn overlap((a, b): (i64, i64), (c, d): (i64, i64)) -> i64 {
    (b.min(d) - a.max(c)).max(0)
}

impl Found {
    /// The time after its last check or report, within `range` and before `now`: the
    /// last state for as long as it stands; then, for a service, offline (a target
    /// not checked for that long is a gap with no data).
    pub(super) fn tail(&self, range: (i64, i64), now: i64) -> Spent {
        let mut spent = Spent::default();
        if let Some((at, condition, stands)) = self.last {
            let until = at.saturating_add(stands);
            spent.add(condition, overlap((at, until.min(now)), range));
            if self.kind == SourceKind::Service {
                spent.add(Condition::Offline, overlap((until, now), range));
            }
        }
        spent
    }

    /// Sets a service's up time within `window`: its accounted time there that the
    /// rows do not count as something else.
    pub(super) fn fill_up(&self, spent: &mut Spent, window: (i64, i64)) {
        if let Some(accounted) = self.accounted {
            spent.up = (overlap(accounted, window) - (spent.covered() - spent.up)).max(0);
        }
    }
}

impl Store {
    /// The report `ask` describes, as known at `now`, in the calendar of the
    /// `[history]` settings.
    pub async fn report_for(
        &self,
        ask: ReportAsk,
        now: i64,
    ) -> std::result::Result<Report, ReportError> {
        let filter = ask.filter()?;
        let cal = self.history().calendar.clone();
        let dates = match (&ask.from, &ask.to) {
            (Some(a), Some(b)) => Some((a.as_str(), b.as_str())),
            (None, None) => None,
            _ => {
                return Err(ReportError::Asked(
                    "a range of dates needs both from and to".into(),
                ))
            }
        };
        if ask.month.is_some() && dates.is_some() {
            return Err(ReportError::Asked(
                "a report covers a month or a range of dates, not both".into(),
            ));
        }
        let (from, to) = cal
            .range(ask.month.as_deref(), dates, now)
            .map_err(|e| ReportError::Asked(e.to_string()))?;
        let Some(rows) = self.report(filter.clone(), (from, to), now).await? else {
            let what = match filter {
                SourceFilter::Target(t) => format!("no target {t:?}"),
                SourceFilter::Server {
                    server,
                    service: None,
                } => format!("no server {server:?} (or it never reported)"),
                SourceFilter::Server {
                    server,
                    service: Some(s),
                } => format!("server {server:?} has no service {s:?}"),
                SourceFilter::All => String::new(),
            };
            return Err(ReportError::NotFound(what));
        };
        Ok(Report {
            from: cal.local(from),
            to: cal.local(to),
            time_zone: cal.zone_name(),
            rows,
        })
    }

    /// Figures per source over `[from, to)` as known at `now`; `None` when the filter
    /// names a target, server or service that does not exist.
    pub async fn report(
        &self,
        filter: SourceFilter,
        (from, to): (i64, i64),
        now: i64,
    ) -> Result<Option<Vec<ReportRow>>> {
        self.read(move |c| {
            let Some(sources) = sources(c, &filter)? else {
                return Ok(None);
            };
            let mut rows = Vec::with_capacity(sources.len());
            for s in sources {
                let (mut spent, responses, window) = hours(c, &s, from, to)?;
                s.fill_up(&mut spent, window);
                spent.merge(&s.tail((from, to), now));
                let incidents = incidents(c, &s, from, to)?;
                rows.push(ReportRow {
                    kind: s.kind,
                    id: s.id,
                    source: s.name,
                    figures: figures(&spent, (from, to), now, &incidents, &responses),
                });
            }
            Ok(Some(rows))
        })
        .await
    }
}

/// Read as their types whatever a row typed in by hand holds: such a row is a FAIL
/// naming its bad column, and must not fail the reports and bars of the others.
const TARGETS: &str = "SELECT id, CAST(name AS TEXT), status, last_check, \
    CAST(frequency AS INTEGER) FROM targets";
const SERVICES: &str = "SELECT s.id, sv.name || '/' || s.name, s.filed_at, s.filed_state, \
    s.period, s.first_report FROM services s JOIN servers sv ON sv.id = s.server_id";

fn target(r: &rusqlite::Row) -> rusqlite::Result<Found> {
    let (id, name, status, last, frequency): (i64, String, String, Option<i64>, i64) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    let condition = match status.as_str() {
        "PASS" => Some(Condition::Up),
        "FAIL" => Some(Condition::Down),
        _ => None,
    };
    Ok(Found {
        kind: SourceKind::Target,
        id,
        name,
        // As when the next check is recorded: a gap longer than this is no data.
        last: last
            .zip(condition)
            .map(|(at, cond)| (at, cond, 2 * frequency * 1000 + 30_000)),
        accounted: None,
    })
}

fn service(r: &rusqlite::Row) -> rusqlite::Result<Found> {
    let (id, name, at, state, period, first): (
        i64,
        String,
        Option<i64>,
        Option<String>,
        i64,
        Option<i64>,
    ) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    );
    let condition = state.as_deref().and_then(Condition::of_service_state);
    Ok(Found {
        kind: SourceKind::Service,
        id,
        name,
        last: at
            .zip(condition)
            .map(|(at, cond)| (at, cond, period * 1000)),
        accounted: Some(first.zip(at).unwrap_or((0, 0))),
    })
}

/// Whether a target or service with this id exists, whatever its other columns hold
/// (a row typed in by hand still has its history read).
pub(super) fn exists(c: &Connection, kind: SourceKind, id: i64) -> Result<bool> {
    let sql = match kind {
        SourceKind::Target => "SELECT 1 FROM targets WHERE id = ?",
        SourceKind::Service => "SELECT 1 FROM services WHERE id = ?",
    };
    Ok(c.prepare_cached(sql)?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// One target or service by id.
pub(super) fn find(c: &Connection, kind: SourceKind, id: i64) -> Result<Option<Found>> {
    let found = match kind {
        SourceKind::Target => c
            .prepare_cached(&format!("{TARGETS} WHERE id = ?"))?
            .query_row([id], target)
            .optional()?,
        SourceKind::Service => c
            .prepare_cached(&format!("{SERVICES} WHERE s.id = ?"))?
            .query_row([id], service)
            .optional()?,
    };
    Ok(found)
}

/// The sources a filter names; `None` when it names one that does not exist.
fn sources(c: &Connection, filter: &SourceFilter) -> Result<Option<Vec<Found>>> {
    let found = match filter {
        SourceFilter::All => {
            let mut all: Vec<Found> = c
                .prepare_cached(&format!("{TARGETS} ORDER BY name, id"))?
                .query_map([], target)?
                .collect::<rusqlite::Result<_>>()?;
            let services: Vec<Found> = c
                .prepare_cached(&format!("{SERVICES} ORDER BY sv.name, s.name"))?
                .query_map([], service)?
                .collect::<rusqlite::Result<_>>()?;
            all.extend(services);
            all
        }
        SourceFilter::Target(key) => {
            let by_id = key.parse::<i64>().ok();
            c.prepare_cached(&format!(
                "{TARGETS} WHERE id = ?1 OR (?1 IS NULL AND name = ?2) ORDER BY id LIMIT 1"
            ))?
            .query_map(params![by_id, key], target)?
            .collect::<rusqlite::Result<_>>()?
        }
        SourceFilter::Server {
            server,
            service: one,
        } => c
            .prepare_cached(&format!(
                "{SERVICES} WHERE sv.name = ?1 AND (?2 IS NULL OR s.name = ?2) ORDER BY s.name"
            ))?
            .query_map(params![server, one], service)?
            .collect::<rusqlite::Result<_>>()?,
    };
    if found.is_empty() && *filter != SourceFilter::All {
        return Ok(None);
    }
    Ok(Some(found))
}

/// Time per condition and response times over `[from, to)`, from the hours that
/// overlap it (a range that does not start on the hour takes all of its first hour),
/// with that window of whole hours.
fn hours(c: &Connection, s: &Found, from: i64, to: i64) -> Result<(Spent, Responses, (i64, i64))> {
    let (first, end) = (
        from.div_euclid(HOUR_MS),
        (to + HOUR_MS - 1).div_euclid(HOUR_MS),
    );
    let sql = match s.kind {
        SourceKind::Target => {
            "SELECT sum(up_ms), sum(warn_ms), sum(down_ms), sum(unknown_ms), sum(offline_ms), \
             min(min_us) / 1000.0, max(max_us) / 1000.0, histogram_sum(histogram) \
             FROM target_hours WHERE target_id = ? AND hour >= ? AND hour < ?"
        }
        SourceKind::Service => {
            "SELECT 0, sum(warn_ms), sum(down_ms), sum(unknown_ms), sum(offline_ms), NULL, NULL, \
             NULL FROM service_hours WHERE service_id = ? AND hour >= ? AND hour < ?"
        }
    };
    let row = c
        .prepare_cached(sql)?
        .query_row(params![s.id, first, end], |r| {
            let n = |i: usize| r.get::<_, Option<i64>>(i).map(Option::unwrap_or_default);
            Ok((
                Spent {
                    up: n(0)?,
                    degraded: n(1)?,
                    down: n(2)?,
                    unknown: n(3)?,
                    offline: n(4)?,
                },
                Responses {
                    counts: histogram(r, 7)?,
                    fastest: r.get::<_, Option<f64>>(5)?.unwrap_or(f64::INFINITY),
                    slowest: r.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
                },
            ))
        })?;
    Ok((row.0, row.1, (first * HOUR_MS, end * HOUR_MS)))
}

/// The source's incidents that overlap `[from, to)`.
fn incidents(c: &Connection, s: &Found, from: i64, to: i64) -> Result<Vec<Incident>> {
    let sql = match s.kind {
        SourceKind::Target => {
            "SELECT started, ended FROM target_incidents WHERE target_id = ?1 AND started < ?3 \
             AND (ended IS NULL OR ended >= ?2) ORDER BY started"
        }
        SourceKind::Service => {
            "SELECT started, ended FROM service_incidents WHERE service_id = ?1 AND started < ?3 \
             AND (ended IS NULL OR ended >= ?2) ORDER BY started"
        }
    };
    let rows = c
        .prepare_cached(sql)?
        .query_map(params![s.id, from, to], |r| {
            Ok(Incident {
                start: r.get(0)?,
                end: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
