//! Hourly and daily figures per source, and incidents: written in the same transaction
//! as the raw history they sum up, so they survive whatever it survives.

use super::{Result, Tx};
use crate::domain::history::{
    bucket, hour_pieces, pack_histogram, unpack_histogram, Calendar, Condition, SourceKind, Spent,
};
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

/// What the figures are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A polled target.
    Target(i64),
    /// A pushed service.
    Service(i64),
}

/// What one hour or day gains.
#[derive(Debug, Clone, Copy, Default)]
struct Gain {
    /// Checks or reports.
    checks: i64,
    passes: i64,
    warns: i64,
    failures: i64,
    spent: Spent,
    total_us: i64,
    fastest: Option<f64>,
    slowest: Option<f64>,
    histogram: [i64; 12],
}

/// Figures gathered for one source before they are written: one row per hour and per
/// day touched, however many checks or reports they come from.
#[derive(Debug, Default)]
pub(super) struct Tally {
    hours: Vec<(i64, Gain)>,
    days: Vec<(i32, Gain)>,
    /// The local day of the last hour looked up: a time zone lookup per hour, not per
    /// check.
    day_of_hour: Option<(i64, i32)>,
}

/// The gain of `key` in `list`, kept sorted by key (time mostly moves forward, so the
/// key is usually the last one or a new last one).
fn entry<K: Ord + Copy>(list: &mut Vec<(K, Gain)>, key: K) -> &mut Gain {
    let at = match list.last() {
        Some((last, _)) if *last == key => list.len() - 1,
        Some((last, _)) if *last < key => {
            list.push((key, Gain::default()));
            list.len() - 1
        }
        None => {
            list.push((key, Gain::default()));
            0
        }
        Some(_) => match list.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => i,
            Err(i) => {
                list.insert(i, (key, Gain::default()));
                i
            }
        },
    };
    &mut list[at].1
}

impl Tally {
    /// The local day `at` falls in; days change on the hour (zones whose offset is
    /// not whole hours count the hour that holds midnight to the day it began in).
    fn day(&mut self, cal: &Calendar, at: i64) -> i32 {
        let hour = at.div_euclid(crate::domain::history::HOUR_MS);
        match self.day_of_hour {
            Some((h, day)) if h == hour => day,
            _ => {
                let day = cal.day(hour * crate::domain::history::HOUR_MS);
                self.day_of_hour = Some((hour, day));
                day
            }
        }
    }

    /// Counts `[start, end)` as spent in `condition`, in each hour and local day it
    /// covers.
    pub(super) fn spend(&mut self, cal: &Calendar, condition: Condition, start: i64, end: i64) {
        for (hour, at, ms) in hour_pieces(start, end) {
            entry(&mut self.hours, hour).spent.add(condition, ms);
            let day = self.day(cal, at);
            entry(&mut self.days, day).spent.add(condition, ms);
        }
    }

    /// Counts one check (with its response time) or one report made at `at`: `passed`
    /// when every hard condition was met, `warned` when a soft one was not.
    pub(super) fn count(
        &mut self,
        cal: &Calendar,
        at: i64,
        (passed, warned): (bool, bool),
        response_ms: Option<f64>,
    ) {
        let hour = at.div_euclid(crate::domain::history::HOUR_MS);
        let g = entry(&mut self.hours, hour);
        g.checks += 1;
        g.passes += i64::from(passed);
        g.warns += i64::from(warned);
        g.failures += i64::from(!passed);
        if let Some(ms) = response_ms {
            g.total_us += micros(ms);
            g.fastest = Some(g.fastest.map_or(ms, |f| f.min(ms)));
            g.slowest = Some(g.slowest.map_or(ms, |s| s.max(ms)));
            g.histogram[bucket(ms)] += 1;
        }
        let day = self.day(cal, at);
        let day = entry(&mut self.days, day);
        day.checks += 1;
        day.failures += i64::from(!passed);
    }

    /// Adds what was gathered to the source's rows. A service's rows hold only its time
    /// not up (see `service_hours` in the schema): a gain of up time alone writes none.
    pub(super) fn write(&self, c: &Tx, source: Source) -> Result<()> {
        let not_up = |s: &Spent| s.covered() > s.up;
        for (hour, g) in &self.hours {
            let s = &g.spent;
            match source {
                Source::Target(id) => c.prepare_cached(TARGET_HOUR)?.execute(params![
                    id,
                    hour,
                    g.checks,
                    g.passes,
                    g.warns,
                    g.total_us,
                    g.fastest.map(micros),
                    g.slowest.map(micros),
                    pack_histogram(&g.histogram),
                    s.up,
                    s.degraded,
                    s.down,
                    s.unknown,
                    s.offline
                ])?,
                Source::Service(id) if not_up(s) => c
                    .prepare_cached(SERVICE_HOUR)?
                    .execute(params![id, hour, s.degraded, s.down, s.unknown, s.offline])?,
                Source::Service(_) => 0,
            };
        }
        for (day, g) in &self.days {
            let s = &g.spent;
            match source {
                Source::Target(id) => c.prepare_cached(TARGET_DAY)?.execute(params![
                    id, day, g.checks, g.failures, s.up, s.degraded, s.down, s.unknown, s.offline
                ])?,
                Source::Service(id) if not_up(s) => c
                    .prepare_cached(SERVICE_DAY)?
                    .execute(params![id, day, s.degraded, s.down, s.unknown, s.offline])?,
                Source::Service(_) => 0,
            };
        }
        Ok(())
    }
}

/// Milliseconds as the whole microseconds the rows keep.
pub(super) fn micros(ms: f64) -> i64 {
    (ms * 1000.0).round() as i64
}

const TARGET_HOUR: &str = "INSERT INTO target_hours (target_id, hour, checks, passes, warns, \
    total_us, min_us, max_us, histogram, up_ms, warn_ms, down_ms, unknown_ms, offline_ms) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
    ON CONFLICT (target_id, hour) DO UPDATE SET checks = checks + excluded.checks, \
    passes = passes + excluded.passes, warns = warns + excluded.warns, total_us = total_us + excluded.total_us, \
    min_us = coalesce(min(min_us, excluded.min_us), min_us, excluded.min_us), \
    max_us = coalesce(max(max_us, excluded.max_us), max_us, excluded.max_us), \
    histogram = histogram_add(histogram, excluded.histogram), \
    up_ms = up_ms + excluded.up_ms, warn_ms = warn_ms + excluded.warn_ms, \
    down_ms = down_ms + excluded.down_ms, unknown_ms = unknown_ms + excluded.unknown_ms, \
    offline_ms = offline_ms + excluded.offline_ms";

const SERVICE_HOUR: &str = "INSERT INTO service_hours (service_id, hour, \
    warn_ms, down_ms, unknown_ms, offline_ms) VALUES (?, ?, ?, ?, ?, ?) \
    ON CONFLICT (service_id, hour) DO UPDATE SET warn_ms = warn_ms + excluded.warn_ms, \
    down_ms = down_ms + excluded.down_ms, unknown_ms = unknown_ms + excluded.unknown_ms, \
    offline_ms = offline_ms + excluded.offline_ms";

const TARGET_DAY: &str = "INSERT INTO target_days (target_id, day, checks, failures, \
    up_ms, warn_ms, down_ms, unknown_ms, offline_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
    ON CONFLICT (target_id, day) DO UPDATE SET checks = checks + excluded.checks, \
    failures = failures + excluded.failures, \
    up_ms = up_ms + excluded.up_ms, warn_ms = warn_ms + excluded.warn_ms, \
    down_ms = down_ms + excluded.down_ms, unknown_ms = unknown_ms + excluded.unknown_ms, \
    offline_ms = offline_ms + excluded.offline_ms";

const SERVICE_DAY: &str = "INSERT INTO service_days (service_id, day, \
    warn_ms, down_ms, unknown_ms, offline_ms) VALUES (?, ?, ?, ?, ?, ?) \
    ON CONFLICT (service_id, day) DO UPDATE SET warn_ms = warn_ms + excluded.warn_ms, \
    down_ms = down_ms + excluded.down_ms, unknown_ms = unknown_ms + excluded.unknown_ms, \
    offline_ms = offline_ms + excluded.offline_ms";

/// Registers the SQL functions of packed histograms (see `target_hours` in the schema):
/// `histogram_add(a, b)` adds two (an hour's row gains a check's), the aggregate
/// `histogram_sum(h)` adds a column's (a report's hours), and `histogram_of(h0, ...,
/// h11)` packs twelve counts (migration 8 uses it).
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("histogram_add", 2, flags, |ctx| {
        let (a, b) = (histogram_arg(ctx, 0)?, histogram_arg(ctx, 1)?);
        let mut sum = [0i64; 12];
        for (i, slot) in sum.iter_mut().enumerate() {
            *slot = a[i].saturating_add(b[i]);
        }
        Ok(pack_histogram(&sum))
    })?;
    conn.create_aggregate_function("histogram_sum", 1, flags, HistogramSum)?;
    conn.create_scalar_function("histogram_of", 12, flags, |ctx| {
        let mut counts = [0i64; 12];
        for (i, slot) in counts.iter_mut().enumerate() {
            *slot = ctx.get::<Option<i64>>(i)?.unwrap_or(0);
        }
        Ok(pack_histogram(&counts))
    })
}

/// `histogram_sum`: the counts of every row added up; no rows is an empty histogram.
struct HistogramSum;

impl Aggregate<[i64; 12], Vec<u8>> for HistogramSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<[i64; 12]> {
        Ok([0; 12])
    }

    fn step(&self, ctx: &mut Context<'_>, sum: &mut [i64; 12]) -> rusqlite::Result<()> {
        for (slot, n) in sum.iter_mut().zip(histogram_arg(ctx, 0)?) {
            *slot = slot.saturating_add(n);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, sum: Option<[i64; 12]>) -> rusqlite::Result<Vec<u8>> {
        Ok(pack_histogram(&sum.unwrap_or_default()))
    }
}

/// Argument `i` as a packed histogram; NULL is an empty one.
fn histogram_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<[i64; 12]> {
    let bytes = match ctx.get_raw(i) {
        ValueRef::Null => &[][..],
        ValueRef::Blob(b) => b,
        _ => return Err(not_a_histogram()),
    };
    unpack_histogram(bytes).ok_or_else(not_a_histogram)
}

/// Column `i` of a row as a packed histogram.
pub(super) fn histogram(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<[i64; 12]> {
    let bytes: Option<Vec<u8>> = row.get(i)?;
    unpack_histogram(bytes.as_deref().unwrap_or_default()).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            "not a packed response-time histogram".into(),
        )
    })
}

fn not_a_histogram() -> rusqlite::Error {
    rusqlite::Error::UserFunctionError("not a packed response-time histogram".into())
}

/// Opens an incident of `source` at `at`, unless its latest is still open.
pub(super) fn open_incident(c: &Tx, source: Source, at: i64) -> Result<()> {
    let sql = match source {
        Source::Target(_) => {
            "INSERT INTO target_incidents (target_id, started) SELECT ?1, ?2 \
             WHERE coalesce((SELECT ended IS NOT NULL FROM target_incidents WHERE target_id = ?1 \
               ORDER BY started DESC LIMIT 1), 1) \
             ON CONFLICT (target_id, started) DO UPDATE SET ended = NULL"
        }
        Source::Service(_) => {
            "INSERT INTO service_incidents (service_id, started) SELECT ?1, ?2 \
             WHERE coalesce((SELECT ended IS NOT NULL FROM service_incidents WHERE service_id = ?1 \
               ORDER BY started DESC LIMIT 1), 1) \
             ON CONFLICT (service_id, started) DO UPDATE SET ended = NULL"
        }
    };
    c.prepare_cached(sql)?.execute(params![source.id(), at])?;
    Ok(())
}

/// Ends the open incident of `source`, if any, at `at`.
pub(super) fn close_incident(c: &Tx, source: Source, at: i64) -> Result<()> {
    let sql = match source {
        Source::Target(_) => {
            "UPDATE target_incidents SET ended = max(started, ?2) WHERE target_id = ?1 AND ended IS NULL"
        }
        Source::Service(_) => {
            "UPDATE service_incidents SET ended = max(started, ?2) WHERE service_id = ?1 AND ended IS NULL"
        }
    };
    c.prepare_cached(sql)?.execute(params![source.id(), at])?;
    Ok(())
}

impl Source {
    fn id(self) -> i64 {
        match self {
            Source::Target(id) | Source::Service(id) => id,
        }
    }
}

/// A stretch of a source's past as its checks or reports would have recorded it, for
/// tools that build a history (`bench/history.sh`): the figures and incidents are
/// written by the same code as live results; no raw rows are (they would have been
/// pruned long since).
#[derive(Debug, Clone, Default)]
pub struct Past {
    /// The time it spent in each condition: `(from, to, condition)`.
    pub spans: Vec<(i64, i64, Condition)>,
    /// Its checks or reports: `(time, passed, response ms)`.
    pub checks: Vec<(i64, bool, Option<f64>)>,
    /// Its incidents, ended.
    pub incidents: Vec<(i64, i64)>,
}

impl super::Store {
    /// Writes `past` for a target or service; a service's time is accounted for from
    /// the first span on.
    pub async fn record_past(&self, kind: SourceKind, id: i64, past: Past) -> Result<()> {
        let cal = self.history().calendar.clone();
        self.write(move |c| {
            let source = match kind {
                SourceKind::Target => Source::Target(id),
                SourceKind::Service => Source::Service(id),
            };
            let mut tally = Tally::default();
            for &(a, b, condition) in &past.spans {
                tally.spend(&cal, condition, a, b);
            }
            for &(at, passed, ms) in &past.checks {
                tally.count(&cal, at, (passed, false), ms);
            }
            tally.write(c, source)?;
            let sql = match source {
                Source::Target(_) => {
                    "INSERT INTO target_incidents (target_id, started, ended) VALUES (?, ?, ?)"
                }
                Source::Service(_) => {
                    "INSERT INTO service_incidents (service_id, started, ended) VALUES (?, ?, ?)"
                }
            };
            for &(a, b) in &past.incidents {
                c.prepare_cached(sql)?.execute(params![source.id(), a, b])?;
            }
            if let (Source::Service(id), Some(first)) = (source, past.spans.first()) {
                c.prepare_cached(
                    "UPDATE services SET first_report = min(coalesce(first_report, ?1), ?1) WHERE id = ?2",
                )?
                .execute(params![first.0, id])?;
            }
            Ok(())
        })
        .await
    }
}
