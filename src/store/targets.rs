//! Targets in the database: definitions, results, history and the alerts they raise.

use super::{in_savepoint, Result, Store, StoreError, Tx};
use crate::domain::time::now_ms;
use crate::supervise::{self, Progress, Status, TargetEvent, Thresholds};
use crate::target::{Origin, TargetRow};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An hour in milliseconds.
const HOUR_MS: i64 = 3_600_000;

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
    pub status_code: Option<i64>,
    pub response_ms: f64,
    pub description: String,
}

/// A target as `skypunchctl targets` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// NEW, PASS or FAIL.
    pub status: String,
    /// Description of the last check.
    pub status_description: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC) of the last check, empty before the first.
    pub last_updated: String,
    /// Checked or not.
    pub enabled: bool,
    /// URL.
    pub url: String,
    /// Method.
    pub method: String,
    /// NONE, BASIC or OPENSTACK.
    pub auth_type: String,
    /// Expected status.
    pub expect_status: i64,
    /// Seconds between checks.
    pub frequency: i64,
    /// Seconds per check.
    pub timeout: i64,
    /// Passed checks.
    pub pass_count: i64,
    /// Failed checks.
    pub fail_count: i64,
    /// Responses with a 2xx status.
    pub count200: i64,
    /// Responses with a 3xx status.
    pub count300: i64,
    /// Responses with a 4xx status.
    pub count400: i64,
    /// Responses with a 5xx status.
    pub count500: i64,
    /// Checks that got no HTTP response at all.
    pub network_fails: i64,
    /// Consecutive failed checks.
    pub repeated_fails: i64,
    /// The last check's trace (detail view only).
    pub last_trace: Option<String>,
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
    /// PASS or FAIL.
    pub passed: bool,
    /// Response status, if any.
    pub status_code: Option<u16>,
    /// Description.
    pub description: String,
    /// Duration.
    pub response_ms: f64,
    /// No HTTP response arrived.
    pub network_fail: bool,
    /// The trace's header line (the check's result line, unpadded) and its steps,
    /// shared with the daemon's in-memory latest traces; rendered and stored only for
    /// a FAIL or the PASS that ends one.
    pub trace: std::sync::Arc<(String, crate::domain::trace::Trace)>,
    /// The target's rules.
    pub thresholds: Thresholds,
    /// It may change the target's state (a FAIL, or the first PASS after a FAIL or a
    /// start): written without waiting to share a transaction.
    pub urgent: bool,
}

/// What `sync_config_targets` changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rows created.
    pub added: usize,
    /// Rows whose definition changed.
    pub updated: usize,
    /// Rows removed because their entry left the file.
    pub removed: usize,
}

/// Text columns are cast so that a value typed in by hand as a number or a blob is
/// read as text; whole-number columns are read as they are stored (see [`whole`]).
const DEF_COLUMNS: &str = "id, CAST(name AS TEXT), CAST(url AS TEXT), CAST(method AS TEXT), \
     CAST(authn AS TEXT), CAST(authn_params AS TEXT), expect_status, frequency, timeout, \
     enabled, CAST(options AS TEXT)";

fn def_row(r: &Row) -> rusqlite::Result<TargetRow> {
    let mut unreadable = None;
    let mut int = |i: usize, column: &str, what: &str| {
        let (n, problem) = whole(r.get_ref(i)?, column, what);
        if unreadable.is_none() {
            unreadable = problem;
        }
        Ok::<_, rusqlite::Error>(n)
    };
    let expect_status = int(6, "expect_status", "an HTTP status")?;
    let frequency = int(7, "frequency", "a whole number of seconds")?;
    let timeout = int(8, "timeout", "a whole number of seconds")?;
    let enabled = int(9, "enabled", "0 or 1")? != 0;
    Ok(TargetRow {
        id: r.get(0)?,
        name: text(r, 1)?,
        url: text(r, 2)?,
        method: text(r, 3)?,
        authn: text(r, 4)?,
        authn_params: text(r, 5)?,
        expect_status,
        frequency,
        timeout,
        enabled,
        options: text(r, 10)?,
        unreadable,
    })
}

/// A text column read after `CAST(... AS TEXT)`: NULL reads as empty, and bytes that
/// are not UTF-8 (a blob typed in by hand) are replaced, not refused.
pub(super) fn text(r: &Row, i: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    })
}

/// A whole-number column as stored, which for a row typed in by hand may be anything
/// (`0.5`, `'often'`): such a value reads as 0, with a description naming the column.
pub(super) fn whole(
    v: rusqlite::types::ValueRef,
    column: &str,
    what: &str,
) -> (i64, Option<String>) {
    use rusqlite::types::ValueRef;
    let shown = match v {
        ValueRef::Integer(n) => return (n, None),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Null => "NULL".into(),
        ValueRef::Blob(_) => "a blob".into(),
    };
    (0, Some(format!("invalid {column} {shown} ({what})")))
}

/// Every column read so that no value typed in by hand can make a row unreadable
/// (the list of targets must never fail because of one bad row).
const INFO_COLUMNS: &str = "id, CAST(name AS TEXT), CAST(status AS TEXT), \
     CAST(status_description AS TEXT), CAST(COALESCE(last_updated, '') AS TEXT), \
     CAST(enabled AS INTEGER), CAST(url AS TEXT), CAST(method AS TEXT), CAST(authn AS TEXT), \
     CAST(expect_status AS INTEGER), CAST(frequency AS INTEGER), CAST(timeout AS INTEGER), \
     CAST(pass_count AS INTEGER), CAST(fail_count AS INTEGER), CAST(count200 AS INTEGER), \
     CAST(count300 AS INTEGER), CAST(count400 AS INTEGER), CAST(count500 AS INTEGER), \
     CAST(network_fails AS INTEGER), CAST(repeated_fails AS INTEGER)";

fn info_row(r: &Row, with_trace: bool) -> rusqlite::Result<TargetInfo> {
    Ok(TargetInfo {
        id: r.get(0)?,
        name: text(r, 1)?,
        status: text(r, 2)?,
        status_description: text(r, 3)?,
        last_updated: text(r, 4)?,
        enabled: r.get::<_, Option<i64>>(5)?.unwrap_or(0) != 0,
        url: text(r, 6)?,
        method: text(r, 7)?.to_ascii_uppercase(),
        auth_type: text(r, 8)?.to_ascii_uppercase(),
        expect_status: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
        frequency: r.get::<_, Option<i64>>(10)?.unwrap_or(0),
        timeout: r.get::<_, Option<i64>>(11)?.unwrap_or(0),
        pass_count: r.get(12)?,
        fail_count: r.get(13)?,
        count200: r.get(14)?,
        count300: r.get(15)?,
        count400: r.get(16)?,
        count500: r.get(17)?,
        network_fails: r.get(18)?,
        repeated_fails: r.get(19)?,
        last_trace: if with_trace {
            text(r, 20).map(Some)?
        } else {
            None
        },
    })
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("id: {id} does not exist"))
}

fn insert_row(c: &Connection, row: &TargetRow, origin: Origin) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO targets (name, url, method, authn, authn_params, expect_status, frequency, \
         timeout, enabled, options, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        row.name,
        row.url,
        row.method,
        row.authn,
        row.authn_params,
        row.expect_status,
        row.frequency,
        row.timeout,
        row.enabled,
        row.options,
        origin.as_str()
    ])?;
    Ok(c.last_insert_rowid())
}

impl Store {
    /// A number that changes whenever any target or notifier definition changes.
    pub async fn definitions_version(&self) -> Result<i64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT value FROM meta WHERE key = 'definitions'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Every target's definition columns.
    pub async fn target_rows(&self) -> Result<Vec<TargetRow>> {
        self.read(|c| {
            let mut s = c.prepare(&format!("SELECT {DEF_COLUMNS} FROM targets ORDER BY id"))?;
            let rows = s.query_map([], def_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// One target's definition columns.
    pub async fn target_row(&self, id: i64) -> Result<TargetRow> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {DEF_COLUMNS} FROM targets WHERE id = ?"),
                [id],
                def_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
        })
        .await
    }

    /// All targets for the list view.
    pub async fn list_targets(&self) -> Result<Vec<TargetInfo>> {
        self.read(|c| {
            let mut s = c.prepare(&format!("SELECT {INFO_COLUMNS} FROM targets ORDER BY id"))?;
            let rows = s
                .query_map([], |r| info_row(r, false))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// One target with its last trace.
    pub async fn target_info(&self, id: i64) -> Result<TargetInfo> {
        self.read(move |c| {
            c.query_row(
                &format!(
                    "SELECT {INFO_COLUMNS}, CAST(last_trace AS TEXT) FROM targets WHERE id = ?"
                ),
                [id],
                |r| info_row(r, true),
            )
            .optional()?
            .ok_or_else(|| not_found(id))
        })
        .await
    }

    /// Adds a target; returns its id.
    pub async fn add_target(&self, row: TargetRow, origin: Origin) -> Result<i64> {
        self.write(move |c| insert_row(c, &row, origin)).await
    }

    /// Removes a target and its history; returns its name.
    pub async fn remove_target(&self, id: i64) -> Result<String> {
        self.write(move |c| {
            let name: String = c
                .query_row("SELECT name FROM targets WHERE id = ?", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| not_found(id))?;
            c.execute("DELETE FROM targets WHERE id = ?", [id])?;
            Ok(name)
        })
        .await
    }

    /// Enables or disables a target; returns its name.
    pub async fn set_target_enabled(&self, id: i64, enabled: bool) -> Result<String> {
        self.write(move |c| {
            let name: String = c
                .query_row("SELECT name FROM targets WHERE id = ?", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| not_found(id))?;
            c.execute(
                "UPDATE targets SET enabled = ? WHERE id = ? AND enabled != ?",
                params![enabled, id, enabled],
            )?;
            Ok(name)
        })
        .await
    }

    /// Makes the `config` rows match the file's entries, by name: creates the new,
    /// updates the changed, removes those no longer listed. Other rows are untouched.
    pub async fn sync_config_targets(&self, rows: Vec<TargetRow>) -> Result<SyncReport> {
        self.write(move |c| {
            let mut report = SyncReport::default();
            let existing: Vec<TargetRow> = c
                .prepare(&format!(
                    "SELECT {DEF_COLUMNS} FROM targets WHERE origin = 'config'"
                ))?
                .query_map([], def_row)?
                .collect::<rusqlite::Result<_>>()?;
            for want in &rows {
                match existing.iter().find(|e| e.name == want.name) {
                    None => {
                        insert_row(c, want, Origin::Config)?;
                        report.added += 1;
                    }
                    Some(have) if !same_definition(have, want) => {
                        c.execute(
                            "UPDATE targets SET url = ?, method = ?, authn = ?, authn_params = ?, \
                             expect_status = ?, frequency = ?, timeout = ?, enabled = ?, options = ? \
                             WHERE id = ?",
                            params![
                                want.url,
                                want.method,
                                want.authn,
                                want.authn_params,
                                want.expect_status,
                                want.frequency,
                                want.timeout,
                                want.enabled,
                                want.options,
                                have.id
                            ],
                        )?;
                        report.updated += 1;
                    }
                    Some(_) => {}
                }
            }
            for gone in existing.iter().filter(|e| !rows.iter().any(|w| w.name == e.name)) {
                c.execute("DELETE FROM targets WHERE id = ?", [gone.id])?;
                report.removed += 1;
            }
            Ok(report)
        })
        .await
    }

    /// Records one check: counters, state, history row, and when the state changes an
    /// alert with one delivery per enabled notifier, all in one transaction. Returns
    /// the event raised, if any. A target removed meanwhile is ignored.
    pub async fn record_check(&self, rec: CheckRecord) -> Result<Option<TargetEvent>> {
        self.write(move |c| record(c, &rec)).await
    }

    /// Records many checks in one write job (each as [`record_check`](Self::record_check)
    /// would); returns the events raised with the target's id and name. A record that
    /// cannot be written is logged and skipped without failing the others.
    pub async fn record_checks(
        &self,
        recs: Vec<CheckRecord>,
    ) -> Result<Vec<(i64, String, TargetEvent)>> {
        self.write(move |c| {
            // Usually every record goes in: one savepoint for all of them. Only when one
            // fails are they redone each in its own savepoint, so the bad one is skipped
            // (a savepoint per record costs a copy of every page it touches).
            let all = in_savepoint(c, |c| {
                let mut events = Vec::new();
                for rec in &recs {
                    if let Some(e) = record(c, rec)? {
                        events.push((rec.target_id, rec.name.clone(), e));
                    }
                }
                Ok(events)
            });
            if let Ok(events) = all {
                return Ok(events);
            }
            let mut events = Vec::new();
            for rec in &recs {
                match in_savepoint(c, |c| record(c, rec)) {
                    Ok(Some(e)) => events.push((rec.target_id, rec.name.clone(), e)),
                    Ok(None) => {}
                    Err(e) => log::error!(
                        "[{}] {}: cannot store the result: {e}",
                        rec.target_id,
                        rec.name
                    ),
                }
            }
            Ok(events)
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
            let exists = c
                .query_row("SELECT 1 FROM targets WHERE id = ?", [id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Ok(None);
            }
            let mut s = c.prepare_cached(
                "SELECT time, result, status_code, response_ms, description FROM target_results \
                 WHERE target_id = ? ORDER BY time DESC LIMIT ?",
            )?;
            let rows = s
                .query_map(params![id, limit], |r| {
                    Ok(HistoryRow {
                        time: r.get(0)?,
                        result: r.get(1)?,
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

    /// Deletes check history older than `before_ms`, in slices so writers are not
    /// held up; returns the number of rows deleted.
    pub async fn prune_target_results(&self, before_ms: i64) -> Result<usize> {
        self.write(move |c| {
            Ok(c.execute(
                "DELETE FROM target_hours WHERE hour < ?",
                [before_ms.div_euclid(HOUR_MS)],
            )?)
        })
        .await?;
        self.delete_in_slices(
            "DELETE FROM target_results WHERE id IN \
             (SELECT id FROM target_results WHERE time < ?1 LIMIT ?2)",
            before_ms,
        )
        .await
    }
}

fn same_definition(a: &TargetRow, b: &TargetRow) -> bool {
    (
        &a.url,
        &a.method,
        &a.authn,
        &a.authn_params,
        a.expect_status,
        a.frequency,
        a.timeout,
        a.enabled,
        &a.options,
    ) == (
        &b.url,
        &b.method,
        &b.authn,
        &b.authn_params,
        b.expect_status,
        b.frequency,
        b.timeout,
        b.enabled,
        &b.options,
    )
}

fn record(c: &Tx, rec: &CheckRecord) -> Result<Option<TargetEvent>> {
    let prev = c
        .prepare_cached(
            "SELECT status, repeated_fails, repeated_passes, last_notified FROM targets WHERE id = ?",
        )?
        .query_row([rec.target_id], |r| {
            Ok(Progress {
                status: Status::parse(&r.get::<_, String>(0)?),
                repeated_fails: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                repeated_passes: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                last_notified: r.get(3)?,
            })
        })
        .optional()?;
    let Some(prev) = prev else {
        return Ok(None);
    };
    let (next, event) = supervise::judge(prev, rec.passed, rec.thresholds, rec.time_ms);
    let class = rec.status_code.map(|s| s / 100);
    let is = |k: u16| i64::from(class == Some(k));
    // A passing check of a passing target keeps the row small and its page cold: the
    // daemon holds every latest trace in memory; the database keeps the last one that
    // failed or changed the state, which is what survives a restart.
    let keep_trace = !rec.passed || prev.status != Status::Pass;
    let trace = if keep_trace {
        rec.trace.1.render(&rec.trace.0)
    } else {
        String::new()
    };
    c.prepare_cached(
        "UPDATE targets SET status = ?, status_description = ?, last_updated = ?, \
         pass_count = pass_count + ?, fail_count = fail_count + ?, \
         count200 = count200 + ?, count300 = count300 + ?, count400 = count400 + ?, \
         count500 = count500 + ?, network_fails = network_fails + ?, \
         repeated_fails = ?, repeated_passes = ?, last_notified = ?, \
         last_trace = CASE WHEN ? THEN ? ELSE last_trace END WHERE id = ?",
    )?
    .execute(params![
        next.status.as_str(),
        rec.description,
        crate::domain::time::format_ms(rec.time_ms),
        i64::from(rec.passed),
        i64::from(!rec.passed),
        is(2),
        is(3),
        is(4),
        is(5),
        i64::from(rec.network_fail),
        next.repeated_fails,
        next.repeated_passes,
        next.last_notified,
        keep_trace,
        trace,
        rec.target_id
    ])?;
    c.prepare_cached(
        "INSERT INTO target_results (target_id, time, result, status_code, response_ms, description) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        rec.target_id,
        rec.time_ms,
        if rec.passed { "PASS" } else { "FAIL" },
        rec.status_code,
        rec.response_ms,
        rec.description
    ])?;
    c.prepare_cached(
        "INSERT INTO target_hours (target_id, hour, checks, passes, total_ms) VALUES (?1, ?2, 1, ?3, ?4) \
         ON CONFLICT (target_id, hour) DO UPDATE SET checks = checks + 1, \
         passes = passes + excluded.passes, total_ms = total_ms + excluded.total_ms",
    )?
    .execute(params![
        rec.target_id,
        rec.time_ms.div_euclid(HOUR_MS),
        i64::from(rec.passed),
        rec.response_ms
    ])?;
    if let Some(event) = event {
        raise_target_alert(c, rec, &trace, prev.status, next.status, event)?;
    }
    Ok(event)
}

fn raise_target_alert(
    c: &Tx,
    rec: &CheckRecord,
    trace: &str,
    previous: Status,
    state: Status,
    event: TargetEvent,
) -> Result<()> {
    let counters: String = c.query_row(
        "SELECT printf('Pass Count: %d, Fail Count: %d, 2xx: %d, 3xx: %d, 4xx: %d, 5xx: %d, \
         Network Fails: %d, Repeated Fails: %d', pass_count, fail_count, count200, count300, \
         count400, count500, network_fails, repeated_fails) FROM targets WHERE id = ?",
        [rec.target_id],
        |r| r.get(0),
    )?;
    let message = format!("Skypunch {} detected for {}", event.as_str(), rec.name);
    let details = format!(
        "Target: [{}] {}\nRequest: {}\nStatus: {} ({})\n{counters}\n\n{}",
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
        },
        now_ms(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseSync;

    fn rec(target_id: i64, passed: bool) -> CheckRecord {
        CheckRecord {
            target_id,
            name: format!("t{target_id}"),
            request: "GET http://x/".into(),
            time_ms: now_ms(),
            passed,
            status_code: Some(if passed { 200 } else { 503 }),
            description: if passed {
                "OK".into()
            } else {
                "target status:503 != 200".into()
            },
            response_ms: 1.5,
            network_fail: false,
            trace: std::sync::Arc::new((String::new(), crate::domain::trace::Trace::start())),
            thresholds: Thresholds {
                failure: 1,
                success: 1,
                renotify_minutes: 0,
            },
            urgent: !passed,
        }
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_written_is_skipped_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), DatabaseSync::Normal).unwrap();
        store
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO targets (name, url) VALUES ('t1', 'http://x/'), ('t2', 'http://x/'), ('t3', 'http://x/');
                     CREATE TRIGGER refuse AFTER INSERT ON target_results WHEN new.target_id = 2
                     BEGIN SELECT RAISE(ABORT, 'refused'); END;",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let events = store
            .record_checks(vec![rec(1, false), rec(2, false), rec(3, true)])
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "t1 NEW->FAIL raised; t2 was not stored");
        let stored: Vec<(i64, String, i64)> = store
            .read(|c| {
                let mut s = c.prepare(
                    "SELECT t.id, t.status, (SELECT count(*) FROM target_results r WHERE r.target_id = t.id) \
                     FROM targets t ORDER BY t.id",
                )?;
                let rows = s
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            })
            .await
            .unwrap();
        assert_eq!(
            stored,
            [
                (1, "FAIL".into(), 1),
                (2, "NEW".into(), 0),
                (3, "PASS".into(), 1)
            ]
        );
        let (checks, passes): (i64, i64) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT sum(checks), sum(passes) FROM target_hours",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!((checks, passes), (2, 1));
        let up = store.uptimes(now_ms()).await.unwrap();
        assert_eq!(up[&3].day, Some(1.0));
        assert_eq!(up[&1].month, Some(0.0));
        assert!(!up.contains_key(&2));
    }

    #[tokio::test]
    async fn old_history_is_pruned_in_slices() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), DatabaseSync::Normal).unwrap();
        store
            .write(|c| {
                c.execute("INSERT INTO targets (name, url) VALUES ('t1', 'http://x/')", [])?;
                let mut s = c.prepare(
                    "INSERT INTO target_results (target_id, time, result, response_ms) VALUES (1, ?, 'PASS', 1)",
                )?;
                for t in 0..12_000 {
                    s.execute([t])?;
                }
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.prune_target_results(11_000).await.unwrap(), 11_000);
        let left: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM target_results", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(left, 1000);
    }
}
