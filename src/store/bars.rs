//! The status page's history reads: a source's 90-day bar (one cell per local day)
//! and a target's response times, each through the source's own key.

use super::checks::PASSED;
use super::report::{exists, find, Found};
use super::rollup::histogram;
use super::{Result, Store};
use crate::domain::history::{Calendar, SourceKind, Spent, HOUR_MS};
use rusqlite::{params, Connection};
use serde::Serialize;

/// One day of a source's bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// The local date, `YYYY-MM-DD`.
    pub day: String,
    /// A target's checks that day (services: none; their rows count time only).
    pub checks: Option<i64>,
    /// A target's failed checks that day.
    pub failures: Option<i64>,
    /// Time with data (ms).
    pub covered_ms: i64,
    /// FAIL and offline time (ms).
    pub downtime_ms: i64,
    /// WARN time (ms).
    pub degraded_ms: i64,
    /// Share of the covered time not down, in percent; none without data.
    pub uptime_pct: Option<f64>,
}

/// One point of a target's response-time chart: one check, or one hour of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The check's time, or the hour's start (ms since the epoch).
    pub time: i64,
    /// Checks it stands for.
    pub checks: i64,
    /// Failed checks among them.
    pub failures: i64,
    /// Mean response time.
    pub avg_ms: f64,
    /// Fastest.
    pub min_ms: Option<f64>,
    /// Slowest.
    pub max_ms: Option<f64>,
    /// 95th percentile (hours only, from the histogram).
    pub p95_ms: Option<f64>,
}

impl Store {
    /// A target's or service's daily bars for `days` (`YYYYMMDD`,
    /// oldest first, as [`Calendar::last_days`] gives them) as known at `now`; days
    /// without data are there, empty. `None` for an unknown source.
    pub async fn bars(
        &self,
        kind: SourceKind,
        id: i64,
        days: Vec<i32>,
        now: i64,
    ) -> Result<Option<Vec<Bar>>> {
        let cal = self.history().calendar.clone();
        self.read(move |c| match find(c, kind, id)? {
            Some(found) => Ok(Some(day_bars(c, &found, &days, &cal, now)?)),
            None => Ok(None),
        })
        .await
    }

    /// Daily bars for `days` of the sources named (every target and service when
    /// `None`), keyed `target:<id>` and `service:<id>`; unknown ones are left out.
    pub async fn some_bars(
        &self,
        which: Option<Vec<(SourceKind, i64)>>,
        days: Vec<i32>,
        now: i64,
    ) -> Result<Vec<(String, Vec<Bar>)>> {
        let cal = self.history().calendar.clone();
        self.read(move |c| {
            let which = match which {
                Some(list) => list,
                None => {
                    let mut all = Vec::new();
                    for (kind, sql) in [
                        (SourceKind::Target, "SELECT id FROM targets ORDER BY id"),
                        (SourceKind::Service, "SELECT id FROM services ORDER BY id"),
                    ] {
                        let ids: Vec<i64> = c
                            .prepare_cached(sql)?
                            .query_map([], |r| r.get(0))?
                            .collect::<rusqlite::Result<_>>()?;
                        all.extend(ids.into_iter().map(|id| (kind, id)));
                    }
                    all
                }
            };
            let mut out = Vec::with_capacity(which.len());
            for (kind, id) in which {
                if let Some(found) = find(c, kind, id)? {
                    out.push((
                        format!("{}:{id}", kind.as_str()),
                        day_bars(c, &found, &days, &cal, now)?,
                    ));
                }
            }
            Ok(out)
        })
        .await
    }

    /// A target's response times over `[from, to)`: every check (`hourly` false, from
    /// the raw history) or one point per hour. `None` for an unknown target.
    pub async fn responses(
        &self,
        id: i64,
        (from, to): (i64, i64),
        hourly: bool,
    ) -> Result<Option<Vec<Point>>> {
        self.read(move |c| {
            if !exists(c, SourceKind::Target, id)? {
                return Ok(None);
            }
            let points = if hourly {
                let mut s = c.prepare_cached(
                    "SELECT hour, checks, checks - passes, total_us / 1000.0, min_us / 1000.0, max_us / 1000.0, \
                     histogram FROM target_hours \
                     WHERE target_id = ? AND hour >= ? AND hour < ? ORDER BY hour",
                )?;
                let rows = s.query_map(
                    params![id, from.div_euclid(HOUR_MS), to.div_euclid(HOUR_MS) + 1],
                    |r| {
                        let checks: i64 = r.get(1)?;
                        let (min, max): (Option<f64>, Option<f64>) = (r.get(4)?, r.get(5)?);
                        let counts = histogram(r, 6)?;
                        Ok(Point {
                            time: r.get::<_, i64>(0)? * HOUR_MS,
                            checks,
                            failures: r.get(2)?,
                            avg_ms: r.get::<_, f64>(3)? / checks.max(1) as f64,
                            min_ms: min,
                            max_ms: max,
                            p95_ms: crate::domain::history::quantile(
                                &counts,
                                min.unwrap_or(0.0),
                                max.unwrap_or(0.0),
                                0.95,
                            ),
                        })
                    },
                )?;
                rows.collect::<rusqlite::Result<_>>()?
            } else {
                let mut s = c.prepare_cached(
                    "SELECT time, result, response_us / 1000.0 FROM target_results \
                     WHERE target_id = ? AND time >= ? AND time < ? ORDER BY time",
                )?;
                let rows = s.query_map(params![id, from, to], |r| {
                    let ms: f64 = r.get(2)?;
                    Ok(Point {
                        time: r.get(0)?,
                        checks: 1,
                        failures: i64::from(r.get::<_, i64>(1)? != PASSED),
                        avg_ms: ms,
                        min_ms: Some(ms),
                        max_ms: Some(ms),
                        p95_ms: None,
                    })
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            Ok(Some(points))
        })
        .await
    }
}

fn day_bars(c: &Connection, s: &Found, days: &[i32], cal: &Calendar, now: i64) -> Result<Vec<Bar>> {
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return Ok(Vec::new());
    };
    let sql = match s.kind {
        SourceKind::Target => {
            "SELECT day, checks, failures, up_ms, warn_ms, down_ms, unknown_ms, offline_ms \
             FROM target_days WHERE target_id = ? AND day BETWEEN ? AND ?"
        }
        SourceKind::Service => {
            "SELECT day, NULL, NULL, 0, warn_ms, down_ms, unknown_ms, offline_ms \
             FROM service_days WHERE service_id = ? AND day BETWEEN ? AND ?"
        }
    };
    let mut found = std::collections::HashMap::new();
    let mut q = c.prepare_cached(sql)?;
    let rows = q.query_map(params![s.id, first, last], |r| {
        Ok((
            r.get::<_, i32>(0)?,
            (
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                Spent {
                    up: r.get(3)?,
                    degraded: r.get(4)?,
                    down: r.get(5)?,
                    unknown: r.get(6)?,
                    offline: r.get(7)?,
                },
            ),
        ))
    })?;
    for row in rows {
        let (day, figures) = row?;
        found.insert(day, figures);
    }
    let target = s.kind == SourceKind::Target;
    Ok(days
        .iter()
        .map(|&day| {
            let (checks, failures, mut spent) = found.get(&day).copied().unwrap_or((
                target.then_some(0),
                target.then_some(0),
                Spent::default(),
            ));
            let range = (cal.day_start(day), cal.day_start(cal.day_after(day)));
            s.fill_up(&mut spent, range);
            spent.merge(&s.tail(range, now));
            let covered = spent.covered();
            Bar {
                day: format!(
                    "{:04}-{:02}-{:02}",
                    day / 10_000,
                    day / 100 % 100,
                    day % 100
                ),
                checks,
                failures,
                covered_ms: covered,
                downtime_ms: spent.downtime(),
                degraded_ms: spent.degraded,
                uptime_pct: (covered > 0)
                    .then(|| 100.0 * (covered - spent.downtime()) as f64 / covered as f64),
            }
        })
        .collect())
}
