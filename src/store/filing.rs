//! The filing of pushed reports: once a second, in slices, the journal
//! (`service_reports`) is counted in each service's figures, the reports that change a
//! state are kept in `service_states` and those due as a sample in `service_samples`;
//! and a service that missed its period is filed as offline.

use super::rollup::{close_incident, open_incident, Source, Tally};
use super::samples::add_sample;
use super::{HistorySettings, Result, Store, Tx};
use crate::domain::history::{Calendar, Condition, OFFLINE};
use rusqlite::{params, OptionalExtension};

/// Reports filed in one write job at most: the filing never holds the writer for long.
const FILING_SLICE: usize = 2000;

/// A report waiting in `service_reports`.
struct Waiting {
    id: i64,
    service: i64,
    time: i64,
    state: String,
    info: String,
}

/// Files up to `limit` reports from `service_reports`, oldest first: each is counted in
/// its service's hourly and daily figures, kept in `service_states` when it changes the
/// state (or came after a later one) and in `service_samples` when a sample is due, and
/// brings the service's `last_report` up to date.
/// Reports of a service that no longer exists (only rows written by hand can be) are
/// dropped. Returns how many reports were taken from the journal, and how many of them
/// were filed.
pub(super) fn file_reports(
    c: &Tx,
    history: &HistorySettings,
    limit: usize,
) -> Result<(usize, usize)> {
    let mut waiting: Vec<Waiting> = c
        .prepare_cached(
            "SELECT id, service_id, time, state, info FROM service_reports ORDER BY id LIMIT ?",
        )?
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(Waiting {
                id: r.get(0)?,
                service: r.get(1)?,
                time: r.get(2)?,
                state: r.get(3)?,
                info: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let Some(last) = waiting.last().map(|w| w.id) else {
        return Ok((0, 0));
    };
    let taken = waiting.len();
    waiting.sort_by_key(|w| (w.service, w.time, w.id));
    let mut filed = 0;
    for reports in waiting.chunk_by(|a, b| a.service == b.service) {
        if file_service(c, history, reports)? {
            filed += reports.len();
        }
    }
    c.prepare_cached("DELETE FROM service_reports WHERE id <= ?")?
        .execute([last])?;
    Ok((taken, filed))
}

/// The time an in-order report measured at `time` is kept at: its own, or just after
/// the latest row kept at or after it, so a burst of reports within a millisecond keeps
/// its order at the cost of one index seek per filing pass (`cursor`: the previous
/// report's slot in this pass) rather than one probe per row already there.
fn slot(c: &Tx, id: i64, time: i64, cursor: &mut Option<i64>) -> Result<i64> {
    let latest = match *cursor {
        Some(t) => Some(t),
        None => c
            .prepare_cached(
                "SELECT max(time) FROM service_states WHERE service_id = ? AND time >= ?",
            )?
            .query_row(params![id, time], |r| r.get::<_, Option<i64>>(0))?,
    };
    let at = latest.map_or(time, |t| time.max(t + 1));
    *cursor = Some(at);
    Ok(at)
}

/// Keeps a report in `service_states` at `time`, or at the first free millisecond
/// after it: a service's kept rows have distinct times, in the order they arrived.
fn keep(c: &Tx, id: i64, time: i64, state: &str, info: &str) -> Result<()> {
    let mut insert = c.prepare_cached(
        "INSERT INTO service_states (service_id, time, state, info) VALUES (?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )?;
    let mut at = time;
    while insert.execute(params![id, at, state_code(state), info])? == 0 {
        at += 1;
    }
    Ok(())
}

/// `service_states.state`: a state as the small number it is kept as (OK takes no byte
/// in a row). A state other than these (only a row written by hand can have one) is
/// kept as UNK.
pub(super) fn state_code(state: &str) -> i64 {
    match state {
        "OK" => 0,
        "WARN" => 1,
        "FAIL" => 2,
        OFFLINE => 4,
        _ => 3,
    }
}

/// The state a `service_states.state` stands for.
pub(super) fn state_name(code: i64) -> &'static str {
    match code {
        0 => "OK",
        1 => "WARN",
        2 => "FAIL",
        4 => OFFLINE,
        _ => "UNK",
    }
}

/// What the filing has reached for a service (see `services.filed_at`).
struct Filed {
    period_ms: i64,
    at: Option<i64>,
    state: Option<String>,
    sampled: Option<i64>,
}

/// Files one service's reports, in time order; false when the service is gone.
fn file_service(c: &Tx, history: &HistorySettings, reports: &[Waiting]) -> Result<bool> {
    let id = reports[0].service;
    let found = c
        .prepare_cached(
            "SELECT period, filed_at, filed_state, sampled_at FROM services WHERE id = ?",
        )?
        .query_row([id], |r| {
            Ok(Filed {
                period_ms: r.get::<_, i64>(0)?.saturating_mul(1000),
                at: r.get(1)?,
                state: r.get(2)?,
                sampled: r.get(3)?,
            })
        })
        .optional()?;
    let Some(mut filed) = found else {
        return Ok(false);
    };
    let cal = &history.calendar;
    let fresh = filed.at.is_none();
    let mut tally = Tally::default();
    let mut newest = i64::MIN;
    let mut cursor = None;
    for r in reports {
        newest = newest.max(r.time);
        // A report measured before the newest one filed (an agent's spool replayed late)
        // is history, but the time it falls in is counted already.
        let in_order = filed.at.is_none_or(|at| r.time >= at);
        let changed = filed.state.as_deref() != Some(r.state.as_str());
        if in_order {
            let before = filed.state.as_deref().and_then(Condition::of_service_state);
            if let (Some(condition), Some(at)) = (before, filed.at) {
                spend_until(&mut tally, cal, condition, at, r.time, filed.period_ms);
            }
            tally.count(cal, r.time, (r.state != "FAIL", r.state == "WARN"), None);
            let now_out = Condition::of_service_state(&r.state).is_some_and(Condition::is_outage);
            match (before.is_some_and(Condition::is_outage), now_out) {
                (false, true) => open_incident(c, Source::Service(id), r.time)?,
                (true, false) => close_incident(c, Source::Service(id), r.time)?,
                _ => {}
            }
        }
        let due = history.sample_ms == 0
            || filed
                .sampled
                .is_none_or(|s| r.time - s >= history.sample_ms);
        if in_order && due && !changed {
            add_sample(c, id, r.time, state_code(&r.state), &r.info)?;
            filed.sampled = Some(r.time);
        } else if changed || !in_order {
            let at = match in_order {
                true => slot(c, id, r.time, &mut cursor)?,
                false => r.time,
            };
            keep(c, id, at, &r.state, &r.info)?;
            if in_order {
                filed.sampled = Some(r.time);
            }
        }
        if in_order {
            filed.at = Some(r.time);
            filed.state = Some(r.state.clone());
        }
    }
    tally.write(c, Source::Service(id))?;
    // Its time is accounted for from its first report filed.
    let first = fresh.then(|| reports[0].time);
    c.prepare_cached(
        "UPDATE services SET filed_at = ?, filed_state = ?, sampled_at = ?, \
         last_report = max(last_report, ?), first_report = coalesce(first_report, ?) WHERE id = ?",
    )?
    .execute(params![
        filed.at,
        filed.state,
        filed.sampled,
        newest,
        first,
        id
    ])?;
    Ok(true)
}

/// Counts `[from, to)` for a service last seen in `condition`: that condition for at
/// most its period, offline for the rest.
fn spend_until(
    tally: &mut Tally,
    cal: &Calendar,
    condition: Condition,
    from: i64,
    to: i64,
    period_ms: i64,
) {
    let kept = if condition == Condition::Offline {
        to
    } else {
        to.min(from.saturating_add(period_ms))
    };
    tally.spend(cal, condition, from, kept);
    tally.spend(cal, Condition::Offline, kept, to);
}

/// Marks a service offline from `at` (its last report and period): the time since its
/// last filed report is counted, its history shows `OFFLINE`, and an incident opens.
pub(super) fn file_offline(c: &Tx, cal: &Calendar, id: i64, at: i64) -> Result<()> {
    let found: Option<(i64, Option<i64>, Option<String>)> = c
        .prepare_cached("SELECT period, filed_at, filed_state FROM services WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((period, filed_at, filed_state)) = found else {
        return Ok(());
    };
    let mut tally = Tally::default();
    let before = filed_state.as_deref().and_then(Condition::of_service_state);
    if let (Some(condition), Some(from)) = (before, filed_at) {
        spend_until(
            &mut tally,
            cal,
            condition,
            from,
            at,
            period.saturating_mul(1000),
        );
    }
    tally.write(c, Source::Service(id))?;
    keep(c, id, at, OFFLINE, "")?;
    c.prepare_cached(
        "UPDATE services SET filed_at = max(coalesce(filed_at, ?1), ?1), filed_state = ?2, \
         sampled_at = ?1 WHERE id = ?3",
    )?
    .execute(params![at, OFFLINE, id])?;
    open_incident(c, Source::Service(id), at)
}

impl Store {
    /// Files the reports received since the last filing (see `service_reports` in the
    /// schema), in slices so pushed reports are not held up; returns how many.
    pub async fn file_reports(&self) -> Result<usize> {
        // An idle daemon takes no write lock for nothing (an operator's `sqlite3` does
        // not wait for one by default).
        let waiting = self
            .read(|c| {
                Ok(
                    c.query_row("SELECT EXISTS (SELECT 1 FROM service_reports)", [], |r| {
                        r.get::<_, bool>(0)
                    })?,
                )
            })
            .await?;
        if !waiting {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let history = self.history();
            let (taken, filed) = self
                .write(move |c| file_reports(c, &history, FILING_SLICE))
                .await?;
            total += filed;
            if taken < FILING_SLICE {
                return Ok(total);
            }
        }
    }
}
