//! Alerts and their outbox rows, shared by everything that raises one.

use super::Result;
use rusqlite::{params, Connection};

/// An alert about to be stored.
pub(super) struct NewAlert<'a> {
    /// `target`, `service`, `api`.
    pub kind: &'a str,
    pub target_id: Option<i64>,
    pub service_id: Option<i64>,
    pub target: &'a str,
    pub server: &'a str,
    pub service: &'a str,
    pub channel: &'a str,
    pub event: &'a str,
    pub message: &'a str,
    /// The state at the time of the alert and the one before.
    pub state: &'a str,
    pub previous: &'a str,
    /// For targets: description, counters, trace. For services: the current info.
    pub details: &'a str,
    pub time: i64,
}

/// Stores the alert with one pending delivery per enabled notifier, in the caller's
/// transaction, so an alert is never committed without its deliveries or vice versa.
pub(super) fn insert_alert(c: &Connection, a: &NewAlert, now: i64) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO alerts (time, kind, target_id, service_id, target, server, service, channel, \
         event, message, state, previous, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        a.time,
        a.kind,
        a.target_id,
        a.service_id,
        a.target,
        a.server,
        a.service,
        a.channel,
        a.event,
        a.message,
        a.state,
        a.previous,
        a.details
    ])?;
    let alert = c.last_insert_rowid();
    c.prepare_cached(
        "INSERT INTO deliveries (alert_id, notifier_id, next_attempt, created) \
         SELECT ?, id, ?, ? FROM notifiers WHERE enabled",
    )?
    .execute(params![alert, now, now])?;
    Ok(alert)
}
