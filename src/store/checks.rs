//! Check results: recording each (counters, state, history, hourly figures and the
//! alert a change of state raises, in one transaction), and reading them back.

use super::rollup::{close_incident, open_incident, Source, Tally};
use super::{in_savepoint, Result, Store, Tx};
use crate::domain::history::{Calendar, Condition, SourceKind, HOUR_MS};
use crate::domain::supervise::{
    self, Flap, Progress, Recent, Status, TargetEvent, Thresholds, Verdict, MAX_WINDOW,
};
use crate::domain::time::now_ms;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Share of passed checks; `None` without checks in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Uptime {
    /// The last 24 hours.
    pub day: Option<f64>,
    /// The last 7 days.
    pub week: Option<f64>,
    /// The last 30 days.
    pub month: Option<f64>,
}

/// One check of a target's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    /// Milliseconds since the epoch.
    pub time: i64,
    /// PASS or FAIL.
    pub result: String,
    /// The HTTP status; none when no response arrived.
    pub status_code: Option<i64>,
    /// How long the whole check took.
    pub response_ms: f64,
    /// The check's one-line description.
    pub description: String,
}

/// `target_results.result` of a check that passed: 0 and 1 take no bytes in a row.
pub(super) const PASSED: i64 = 0;
/// `target_results.result` of a check that failed.
const FAILED: i64 = 1;
/// `target_results.result` of a check that was WARN.
const WARNED: i64 = 2;

/// The `target_results.result` of a verdict.
fn result_code(v: Verdict) -> i64 {
    match v {
        Verdict::Pass => PASSED,
        Verdict::Fail => FAILED,
        Verdict::Warn => WARNED,
    }
}

/// The name of a `target_results.result`.
fn result_name(code: i64) -> &'static str {
    match code {
        PASSED => "PASS",
        WARNED => "WARN",
        _ => "FAIL",
    }
}

/// One check's result, as recorded.
#[derive(Debug, Clone)]
pub struct CheckRecord {
    /// The target.
    pub target_id: i64,
    /// Its name, for the alert.
    pub name: String,
    /// Its method and URL, for the alert.
    pub request: String,
    /// When the check began (ms since the epoch).
    pub time_ms: i64,
    /// PASS, WARN or FAIL.
    pub verdict: Verdict,
    /// Response status, if any.
    pub status_code: Option<u16>,
    /// One line: the HTTP reason on a PASS, or what failed.
    pub description: String,
    /// Milliseconds from the start of the check to its verdict.
    pub response_ms: f64,
    /// No HTTP response arrived.
    pub network_fail: bool,
    /// The trace's header line (the check's result line, unpadded) and its steps,
    /// shared with the daemon's in-memory latest traces; rendered and stored only for
    /// a FAIL or the PASS that ends one.
    pub trace: std::sync::Arc<(String, crate::domain::trace::Trace)>,
    /// The target's rules.
    pub thresholds: Thresholds,
    /// How often it is checked (ms): the previous state counts until this check, unless
    /// the gap is far longer (the daemon was stopped, or the target disabled).
    pub period_ms: i64,
    /// It may change the target's state (a FAIL, or the first PASS after a FAIL or a
    /// start): written without waiting to share a transaction.
    pub urgent: bool,
}

impl Store {
    /// Records one check: counters, state, history row, and when the state changes an
    /// alert with one delivery per enabled notifier, all in one transaction. Returns
    /// the event raised, if any. A target removed meanwhile is ignored.
    pub async fn record_check(&self, rec: CheckRecord) -> Result<Option<TargetEvent>> {
        let cal = self.history().calendar.clone();
        let rules = self.service_rules();
        self.write(move |c| record(c, &rec, &cal, &rules)).await
    }

    /// Records the checks `recs[from..]` in one write job (each as
    /// [`record_check`](Self::record_check) would) and returns the events raised and
    /// where it stopped. A record that cannot be written is logged and skipped without
    /// failing the others.
    ///
    /// It stops before the end when it has held the writer for [`YIELD_AFTER`] and
    /// other writes are queued behind it: what it wrote is committed with them, and the
    /// caller sends the rest (from [`Recorded::next`]) again. A second's results can
    /// then share one transaction without a push or a command waiting for all of them.
    pub async fn record_checks(
        &self,
        recs: std::sync::Arc<[CheckRecord]>,
        from: usize,
    ) -> Result<Recorded> {
        let cal = self.history().calendar.clone();
        let rules = self.service_rules();
        self.write(move |c| {
            let started = Instant::now();
            // Usually every record goes in: one savepoint for all of them. Only when one
            // fails are they redone each in its own savepoint, so the bad one is skipped
            // (a savepoint per record costs a copy of every page it touches).
            let all = in_savepoint(c, |c| {
                record_from(c, &recs, from, started, |c, rec| {
                    record(c, rec, &cal, &rules)
                })
            });
            if let Ok(done) = all {
                return Ok(done);
            }
            record_from(c, &recs, from, started, |c, rec| {
                match in_savepoint(c, |c| record(c, rec, &cal, &rules)) {
                    Ok(event) => Ok(event),
                    Err(e) => {
                        log::error!(
                            "[{}] {}: cannot store the result: {e}",
                            rec.target_id,
                            rec.name
                        );
                        Ok(None)
                    }
                }
            })
        })
        .await
    }

    /// Uptime (passes / checks) per target over the last 24 hours, 7 days and 30 days
    /// (whole hours), from the hourly counts.
    pub async fn uptimes(&self, now_ms: i64) -> Result<HashMap<i64, Uptime>> {
        self.read(move |c| {
            let hour = now_ms.div_euclid(HOUR_MS);
            let mut s = c.prepare_cached(
                "SELECT target_id, \
                   sum(CASE WHEN hour > ?1 THEN checks END), sum(CASE WHEN hour > ?1 THEN passes END), \
                   sum(CASE WHEN hour > ?2 THEN checks END), sum(CASE WHEN hour > ?2 THEN passes END), \
                   sum(checks), sum(passes) \
                 FROM target_hours WHERE hour > ?3 GROUP BY target_id",
            )?;
            let ratio = |checks: Option<i64>, passes: Option<i64>| match (checks, passes) {
                (Some(c), Some(p)) if c > 0 => Some(p as f64 / c as f64),
                _ => None,
            };
            let rows = s
                .query_map(params![hour - 24, hour - 24 * 7, hour - 24 * 30], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        Uptime {
                            day: ratio(r.get(1)?, r.get(2)?),
                            week: ratio(r.get(3)?, r.get(4)?),
                            month: ratio(r.get(5)?, r.get(6)?),
                        },
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// A target's checks, newest first. `None` when the target does not exist.
    pub async fn target_history(&self, id: i64, limit: u32) -> Result<Option<Vec<HistoryRow>>> {
        self.read(move |c| {
            if !super::report::exists(c, SourceKind::Target, id)? {
                return Ok(None);
            }
            let mut s = c.prepare_cached(
                "SELECT time, result, status_code, response_us / 1000.0, description FROM target_results \
                 WHERE target_id = ? ORDER BY time DESC LIMIT ?",
            )?;
            let rows = s
                .query_map(params![id, limit], |r| {
                    Ok(HistoryRow {
                        time: r.get(0)?,
                        result: result_name(r.get(1)?).into(),
                        status_code: r.get(2)?,
                        response_ms: r.get(3)?,
                        description: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Some(rows))
        })
        .await
    }
}

/// What one [`Store::record_checks`] job wrote.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The events raised, with the target's id and name.
    pub events: Vec<(i64, String, TargetEvent)>,
    /// The first record not written: the length of the records when all were.
    pub next: usize,
}

/// How long a job of check results holds the writer, at most, while other writes
/// wait behind it.
pub const YIELD_AFTER: Duration = Duration::from_millis(10);

/// Writes `recs[from..]` with `one` until the end, or until the job has run for
/// [`YIELD_AFTER`] (from `started`) with other jobs waiting; at least one is written.
fn record_from(
    c: &Tx,
    recs: &[CheckRecord],
    from: usize,
    started: Instant,
    mut one: impl FnMut(&Tx, &CheckRecord) -> Result<Option<TargetEvent>>,
) -> Result<Recorded> {
    let mut events = Vec::new();
    for (i, rec) in recs.iter().enumerate().skip(from) {
        if i > from && c.others_waiting() && started.elapsed() >= YIELD_AFTER {
            return Ok(Recorded { events, next: i });
        }
        if let Some(e) = one(c, rec)? {
            events.push((rec.target_id, rec.name.clone(), e));
        }
    }
    Ok(Recorded {
        events,
        next: recs.len(),
    })
}

/// What judging a target needs from its row: its progress, and when its latest
/// check began.
fn progress(c: &Tx, id: i64) -> Result<Option<(Progress, Option<i64>)>> {
    let found = c
        .prepare_cached(
            "SELECT status, repeated_fails, repeated_passes, last_notified, last_check, \
             recent_fails, recent_warns, recent_seen, state_changes, flapping_since \
             FROM targets WHERE id = ?",
        )?
        .query_row([id], |r| {
            let count = |i: usize| r.get::<_, i64>(i).map(|n| u32::try_from(n).unwrap_or(0));
            Ok((
                Progress {
                    status: Status::parse(&r.get::<_, String>(0)?),
                    repeated_fails: count(1)?,
                    repeated_passes: count(2)?,
                    last_notified: r.get(3)?,
                    // The masks are kept as SQLite's signed integers, bit for bit.
                    recent: Recent {
                        fails: r.get::<_, i64>(5)? as u64,
                        warns: r.get::<_, i64>(6)? as u64,
                        seen: count(7)?.min(MAX_WINDOW),
                    },
                    flap: Flap {
                        changes: Flap::parse_changes(&r.get::<_, String>(8)?),
                        since: r.get(9)?,
                    },
                },
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    Ok(found)
}

/// `rules`: the services' rules, whose parents may include this target.
fn record(
    c: &Tx,
    rec: &CheckRecord,
    cal: &Calendar,
    rules: &[crate::domain::rules::ServiceRule],
) -> Result<Option<TargetEvent>> {
    let Some((prev, last_check)) = progress(c, rec.target_id)? else {
        return Ok(None);
    };
    let (next, event) = supervise::judge(&prev, rec.verdict, rec.thresholds, rec.time_ms);
    let class = rec.status_code.map(|s| s / 100);
    let is = |k: u16| i64::from(class == Some(k));
    // The daemon holds every latest trace in memory; the database keeps the last one
    // that failed or changed the state, which is what survives a restart. A passing
    // check of a passing target writes none.
    let keep_trace = rec.verdict != Verdict::Pass || prev.status != Status::Pass;
    let trace = if keep_trace {
        rec.trace.1.render(&rec.trace.0)
    } else {
        String::new()
    };
    c.prepare_cached(
        "UPDATE targets SET status = ?, status_description = ?, last_updated = ?, \
         pass_count = pass_count + ?, fail_count = fail_count + ?, warn_count = warn_count + ?, \
         count200 = count200 + ?, count300 = count300 + ?, count400 = count400 + ?, \
         count500 = count500 + ?, network_fails = network_fails + ?, \
         repeated_fails = ?, repeated_passes = ?, last_notified = ?, \
         recent_fails = ?, recent_warns = ?, recent_seen = ?, state_changes = ?, flapping_since = ?, \
         last_check = max(coalesce(last_check, ?), ?) WHERE id = ?",
    )?
    .execute(params![
        next.status.as_str(),
        rec.description,
        crate::domain::time::format_ms(rec.time_ms),
        i64::from(rec.verdict == Verdict::Pass),
        i64::from(rec.verdict == Verdict::Fail),
        i64::from(rec.verdict == Verdict::Warn),
        is(2),
        is(3),
        is(4),
        is(5),
        i64::from(rec.network_fail),
        next.repeated_fails,
        next.repeated_passes,
        next.last_notified,
        next.recent.fails as i64,
        next.recent.warns as i64,
        next.recent.seen,
        next.flap.changes_text(),
        next.flap.since,
        rec.time_ms,
        rec.time_ms,
        rec.target_id
    ])?;
    if keep_trace {
        c.prepare_cached(
            "INSERT INTO target_traces (target_id, trace) VALUES (?, ?) \
             ON CONFLICT (target_id) DO UPDATE SET trace = excluded.trace",
        )?
        .execute(params![rec.target_id, trace])?;
    }
    c.prepare_cached(
        "INSERT INTO target_results (target_id, time, result, status_code, response_us, description) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        rec.target_id,
        rec.time_ms,
        result_code(rec.verdict),
        rec.status_code,
        super::rollup::micros(rec.response_ms),
        rec.description
    ])?;
    tally(rec, prev.status, last_check, cal).write(c, Source::Target(rec.target_id))?;
    let source = Source::Target(rec.target_id);
    let me = || crate::domain::depend::Parent::Target(rec.name.clone());
    match (prev.status == Status::Fail, next.status == Status::Fail) {
        (false, true) => {
            open_incident(c, source, rec.time_ms)?;
            super::depend::parent_went_down(c, &me(), "FAIL", rules, now_ms())?;
        }
        (true, false) => close_incident(c, source, rec.time_ms)?,
        _ => {}
    }
    if let Some(event) = event {
        let note = if event == TargetEvent::Flapping {
            Some(format!(
                "State is flapping ({}); no alert until one state has held for {} min",
                next.flap.described(),
                rec.thresholds.flap_minutes
            ))
        } else if prev.flap.since.is_some() {
            Some(format!(
                "Settled after flapping: {} for {} min",
                next.status.as_str(),
                rec.thresholds.flap_minutes
            ))
        } else {
            None
        };
        let states = (prev.status, next.status);
        raise_target_alert(c, rec, &trace, states, event, note)?;
    }
    // After its own RECOVERY, so that is what its children's news follows.
    if prev.status == Status::Fail && next.status != Status::Fail {
        super::depend::parent_came_back(c, &me(), rules, now_ms())?;
    }
    Ok(event)
}

/// The figures one check adds: the stretch since the previous check, spent in the
/// state the target was in, and the check itself.
fn tally(rec: &CheckRecord, before: Status, last_check: Option<i64>, cal: &Calendar) -> Tally {
    let mut tally = Tally::default();
    let condition = match before {
        Status::Pass => Some(Condition::Up),
        Status::Warn => Some(Condition::Degraded),
        Status::Fail => Some(Condition::Down),
        Status::New => None,
    };
    if let (Some(condition), Some(last)) = (condition, last_check) {
        // A gap far longer than the period is no data, except the period after the
        // last check, which that check stood for.
        let longest = 2 * rec.period_ms + 30_000;
        let end = if rec.time_ms - last > longest {
            last + rec.period_ms
        } else {
            rec.time_ms
        };
        tally.spend(cal, condition, last, end);
    }
    let verdict = (rec.verdict.passed(), rec.verdict == Verdict::Warn);
    tally.count(cal, rec.time_ms, verdict, Some(rec.response_ms));
    tally
}

fn raise_target_alert(
    c: &Tx,
    rec: &CheckRecord,
    trace: &str,
    (previous, state): (Status, Status),
    event: TargetEvent,
    note: Option<String>,
) -> Result<()> {
    let counters: String = c.query_row(
        "SELECT printf('Pass Count: %d, Fail Count: %d, 2xx: %d, 3xx: %d, 4xx: %d, 5xx: %d, \
         Network Fails: %d, Repeated Fails: %d, Warn Count: %d', pass_count, fail_count, count200, \
         count300, count400, count500, network_fails, repeated_fails, warn_count) FROM targets WHERE id = ?",
        [rec.target_id],
        |r| r.get(0),
    )?;
    let message = format!("Skypunch {} detected for {}", event.as_str(), rec.name);
    let suppressed = super::depend::held_back(c, rec.target_id)?.unwrap_or_default();
    let note = note.map(|n| format!("{n}\n")).unwrap_or_default();
    let details = format!(
        "{note}Target: [{}] {}\nRequest: {}\nStatus: {} ({})\n{counters}\n\n{}",
        rec.target_id,
        rec.name,
        rec.request,
        state.as_str(),
        rec.description,
        trace
    );
    super::alerts::insert_alert(
        c,
        &super::alerts::NewAlert {
            kind: "target",
            target_id: Some(rec.target_id),
            service_id: None,
            target: &rec.name,
            server: "",
            service: "",
            channel: "target",
            event: event.as_str(),
            message: &message,
            state: state.as_str(),
            previous: previous.as_str(),
            description: &rec.description,
            details: &details,
            time: rec.time_ms,
            exclude_notifier: None,
            suppressed: &suppressed,
        },
        now_ms(),
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
