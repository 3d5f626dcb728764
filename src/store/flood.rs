//! Flood control: at most `[push] max_alerts_per_minute` alerts per pushing server
//! and minute; the rest are dropped and counted in one `api/flood` alert.

use super::alerts::{insert_alert, NewAlert};
use super::{Result, Tx};
use rusqlite::{params, Connection, OptionalExtension};

/// `[push] max_alerts_per_minute` until the configuration says otherwise.
pub(super) const DEFAULT_ALERT_LIMIT: u32 = 600;
/// The window of `max_alerts_per_minute`.
const FLOOD_WINDOW_MS: i64 = 60_000;

/// Creates the writer connection's per-server alert counters. A temporary table lives
/// only on that connection and in memory, and takes part in the writer's
/// transactions: a job that is rolled back (or run again) undoes its counting too.
pub(super) fn prepare_flood_gate(c: &Connection) -> rusqlite::Result<()> {
    c.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS alert_budget (
             server_id INTEGER PRIMARY KEY,
             server    TEXT    NOT NULL,
             since     INTEGER NOT NULL,
             raised    INTEGER NOT NULL,
             dropped   INTEGER NOT NULL
         )",
    )
}

/// Whether `server` may raise one more alert at `now` under `limit` a minute; counts
/// it either way. A window that has ended with alerts dropped is first closed with
/// its `api/flood` alert.
pub(super) fn admit_alert(
    c: &Tx,
    server_id: i64,
    server: &str,
    now: i64,
    limit: u32,
) -> Result<bool> {
    if limit == 0 {
        return Ok(true);
    }
    let window: Option<(i64, i64)> = c
        .prepare_cached("SELECT since, raised FROM alert_budget WHERE server_id = ?")?
        .query_row([server_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match window {
        Some((since, raised)) if now - since < FLOOD_WINDOW_MS => {
            let admitted = raised < i64::from(limit);
            c.prepare_cached(
                "UPDATE alert_budget SET raised = raised + ?, dropped = dropped + ? WHERE server_id = ?",
            )?
            .execute(params![i64::from(admitted), i64::from(!admitted), server_id])?;
            Ok(admitted)
        }
        ended => {
            if ended.is_some() {
                close_flood_windows(c, Some(server_id), now, limit)?;
            }
            c.prepare_cached(
                "INSERT OR REPLACE INTO alert_budget (server_id, server, since, raised, dropped)                  VALUES (?, ?, ?, 1, 0)",
            )?
            .execute(params![server_id, server, now])?;
            Ok(true)
        }
    }
}

/// Ends the windows (of one server, or all) that are over: one `api/flood` alert for
/// each that dropped alerts, saying how many.
pub(super) fn close_flood_windows(
    c: &Tx,
    server_id: Option<i64>,
    now: i64,
    limit: u32,
) -> Result<()> {
    let over: Vec<(i64, String, i64)> = c
        .prepare_cached(
            "SELECT server_id, server, dropped FROM alert_budget              WHERE since <= ?1 AND (?2 IS NULL OR server_id = ?2)",
        )?
        .query_map(params![now - FLOOD_WINDOW_MS, server_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, server, dropped) in over {
        c.prepare_cached("DELETE FROM alert_budget WHERE server_id = ?")?
            .execute([id])?;
        if dropped == 0 {
            continue;
        }
        log::warn!("{server}: {dropped} alerts dropped (more than {limit} in a minute)");
        let message = format!(
            "Alert flood: {dropped} alerts dropped (more than max_alerts_per_minute = {limit} in a minute)"
        );
        insert_alert(
            c,
            &NewAlert {
                kind: "api",
                target_id: None,
                service_id: None,
                target: "",
                server: &server,
                service: "",
                channel: "api",
                event: "flood",
                message: &message,
                state: "",
                previous: "",
                description: "",
                details: "",
                time: now,
                exclude_notifier: None,
                suppressed: "",
            },
            now,
        )?;
    }
    Ok(())
}
