//! Alerts and their outbox rows, shared by everything that raises one.

use super::quiet::{covered, remember, resolution, silences_in_force};
use super::{Result, Store, Tx};
use crate::domain::quiet::{is_resolution, Source};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// An alert about to be stored.
pub(super) struct NewAlert<'a> {
    /// `target`, `service`, `api`, `notifier`.
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
    /// For targets: the check's description.
    pub description: &'a str,
    /// For targets: description, counters, trace. For services: the current info.
    pub details: &'a str,
    pub time: i64,
    /// A notifier that must not be told (the one the alert is about).
    pub exclude_notifier: Option<i64>,
    /// Why nobody is told (`parent target:x is FAIL`); empty: the notifiers are.
    pub suppressed: &'a str,
}

/// Whether notifier `n` lets an alert about target `target` and server `server` (SQL
/// expressions) through its filters: `only_targets` applies to target alerts,
/// `only_servers` to alerts from pushed data; unreadable params filter nothing.
pub(super) fn passes_filters(n: &str, target: &str, server: &str) -> String {
    format!(
        "({target} = '' OR NOT json_valid({n}.params) \
          OR coalesce(json_array_length({n}.params, '$.only_targets'), 0) = 0 \
          OR {target} IN (SELECT value FROM json_each({n}.params, '$.only_targets'))) \
         AND ({server} = '' OR NOT json_valid({n}.params) \
          OR coalesce(json_array_length({n}.params, '$.only_servers'), 0) = 0 \
          OR {server} IN (SELECT value FROM json_each({n}.params, '$.only_servers')))"
    )
}

/// A notifier `n`'s `escalate_after` in seconds (0 when it has none), in SQL.
pub(super) fn escalate_after(n: &str) -> String {
    format!(
        "coalesce(json_extract(CASE WHEN json_valid({n}.params) THEN {n}.params END, \
         '$.escalate_after'), 0)"
    )
}

/// Stores the alert with one pending delivery per enabled notifier whose filters let
/// it through, in the caller's transaction, so an alert is never committed without
/// its deliveries or vice versa. A suppressed alert (the caller's reason, or a
/// silence, a window or an acknowledgement: [`quiet_reason`]) is stored with its
/// reason and no delivery. A notifier with `escalate_after` is left to the escalation
/// sweep, except for a recovery of what it was told. An alert that tells its source is
/// back clears the source's acknowledgement.
pub(super) fn insert_alert(c: &Tx, a: &NewAlert, now: i64) -> Result<i64> {
    let quiet = match a.suppressed {
        "" => quiet_reason(c, a, now)?,
        _ => None,
    };
    let suppressed = quiet.as_deref().unwrap_or(a.suppressed);
    c.prepare_cached(
        "INSERT INTO alerts (time, kind, target_id, service_id, target, server, service, channel, \
         event, message, state, previous, description, details, suppressed) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        a.description,
        a.details,
        suppressed
    ])?;
    let alert = c.last_insert_rowid();
    let source = match (a.target_id, a.service_id) {
        (Some(id), _) if a.kind == "target" => Some(("target_id", id)),
        (_, Some(id)) if a.kind == "service" => Some(("service_id", id)),
        _ => None,
    };
    let resolves = is_resolution(a.kind, a.event, a.state);
    if let (true, Some((column, id))) = (resolves, source) {
        c.prepare_cached(&format!(
            "UPDATE acks SET cleared = ? WHERE {column} = ? AND cleared IS NULL"
        ))?
        .execute(params![now, id])?;
    }
    if !suppressed.is_empty() {
        return Ok(alert);
    }
    let mut n = c
        .prepare_cached(&format!(
            "INSERT INTO deliveries (alert_id, notifier_id, next_attempt, created) \
             SELECT ?1, id, ?2, ?2 FROM notifiers n WHERE enabled AND id IS NOT ?3 \
             AND {} = 0 AND {}",
            escalate_after("n"),
            passes_filters("n", "?4", "?5")
        ))?
        .execute(params![alert, now, a.exclude_notifier, a.target, a.server])?;
    if let (true, Some((column, id))) = (resolves, source) {
        // An escalating notifier hears of a recovery when it was told of the problem
        // (or will be: its delivery is still pending).
        n += c
            .prepare_cached(&format!(
                "INSERT INTO deliveries (alert_id, notifier_id, next_attempt, created) \
                 SELECT ?1, id, ?2, ?2 FROM notifiers n WHERE enabled AND {} > 0 AND {} \
                 AND (SELECT d.state IN ('pending', 'delivered') AND NOT {} \
                      FROM deliveries d JOIN alerts p ON p.id = d.alert_id \
                      WHERE d.notifier_id = n.id AND p.{column} = ?5 AND p.id < ?1 \
                      ORDER BY p.id DESC LIMIT 1)",
                escalate_after("n"),
                passes_filters("n", "?3", "?4"),
                resolution("p")
            ))?
            .execute(params![alert, now, a.target, a.server, id])?;
    }
    if n > 0 {
        c.raised();
    }
    Ok(alert)
}

impl Store {
    /// Alerts, newest first.
    pub async fn alerts(&self, since_ms: Option<i64>, limit: u32) -> Result<Vec<AlertInfo>> {
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT id, time, server, service, target, channel, event, message, suppressed, \
                 (SELECT max(group_size) FROM deliveries d WHERE d.alert_id = a.id \
                  AND d.state = 'delivered') FROM alerts a \
                 WHERE time >= ?1 ORDER BY time DESC, id DESC LIMIT ?2",
            )?;
            let rows = s
                .query_map(params![since_ms.unwrap_or(i64::MIN), limit], |r| {
                    Ok(AlertInfo {
                        id: r.get(0)?,
                        time: crate::domain::time::format_ms(r.get(1)?),
                        server: r.get(2)?,
                        service: r.get(3)?,
                        target: r.get(4)?,
                        channel: r.get(5)?,
                        event: r.get(6)?,
                        message: r.get(7)?,
                        suppressed: r.get(8)?,
                        group_size: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Deletes alerts raised before `before_ms`, with their deliveries, in slices so
    /// writers are not held up; returns the number of alerts deleted.
    pub async fn prune_alerts(&self, before_ms: i64) -> Result<usize> {
        self.delete_in_slices(
            "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE time < ?1 LIMIT ?2)",
            before_ms,
        )
        .await
    }
}

/// An alert as `skypunchctl alerts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInfo {
    /// Row id.
    pub id: i64,
    /// When it was raised (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub time: String,
    /// Server (pushed alerts).
    pub server: String,
    /// Service (pushed alerts).
    pub service: String,
    /// Target (check alerts).
    pub target: String,
    /// `target`, `service:state`, `plugin`, `api`.
    pub channel: String,
    /// `FAILURE`, `RECOVERY`, the new state, `offline`, `online`, `alert`.
    pub event: String,
    /// The message.
    pub message: String,
    /// Why it was delivered to nobody (`parent target:router is FAIL`); empty if not.
    pub suppressed: String,
    /// The most alerts a message that delivered it listed (1: alone; 0: not delivered).
    pub group_size: i64,
}

/// Why alert `a` is delivered to nobody now, besides what its caller knows (parents,
/// rules): a silence or a window covering its source, or, for a target's repeated
/// FAILURE (`renotify_minutes`), an open acknowledgement. A covered source is
/// remembered so the end of its cover finds it.
pub(super) fn quiet_reason(c: &Tx, a: &NewAlert, now: i64) -> Result<Option<String>> {
    if a.kind == "notifier" {
        return Ok(None);
    }
    let source = Source {
        kind: a.kind,
        target: a.target,
        server: a.server,
        service: a.service,
    };
    let windows = c.quiet().windows.clone();
    let silences = silences_in_force(c, now)?;
    if let Some(why) = covered(&silences, &windows, &source, now) {
        remember(c, &source, (a.target_id, a.service_id), &why)?;
        return Ok(Some(why));
    }
    let renotified = a.kind == "target" && a.event == "FAILURE" && a.previous == "FAIL";
    if let (true, Some(id)) = (renotified, a.target_id) {
        let by: Option<String> = c
            .prepare_cached("SELECT user FROM acks WHERE target_id = ? AND cleared IS NULL")?
            .query_row([id], |r| r.get(0))
            .ok();
        if let Some(by) = by {
            return Ok(Some(format!("acknowledged by {by}")));
        }
    }
    Ok(None)
}
