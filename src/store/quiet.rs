//! Silences and maintenance windows in the write path (SPEC §15): what covers a source
//! (an alert raised then is recorded, marked `silenced #ID` or `maintenance <name>`,
//! and delivered to nobody: `alerts::quiet_reason`), the sources kept quiet, and the
//! deliveries still owed when a silence is added or a window opens. The sources whose
//! cover ended are told by `silences::sweep`. Nothing here raises an alert, so the
//! alerts' write path can ask it without a cycle.
//!
//! Silences are rows (`silences`), read when an alert is raised: there are few, and a
//! silence added is in force in the very transaction that commits it. Windows come
//! from the configuration and live in the writer's state (`Tx::quiet`).

use super::{Result, Tx};
use crate::domain::quiet::{Matcher, Source, Window};
use rusqlite::params;

/// The SQL form of [`crate::domain::quiet::is_resolution`] for the alert aliased `a`.
pub(super) fn resolution(a: &str) -> String {
    format!(
        "(({a}.kind = 'target' AND {a}.event = 'RECOVERY') OR ({a}.kind = 'service' \
         AND {a}.state = 'OK' AND {a}.event NOT IN ('offline', 'flapping')))"
    )
}

/// The silences in force at `now`: (id, what it covers). A matcher typed in by hand
/// that cannot be read covers nothing.
pub(super) fn silences_in_force(c: &Tx, now: i64) -> Result<Vec<(i64, Matcher)>> {
    let rows: Vec<(i64, String)> = c
        .prepare_cached(
            "SELECT id, matcher FROM silences WHERE removed IS NULL AND ends > ?1 \
             AND starts <= ?1 ORDER BY id",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, m)| Matcher::parse(&m).ok().map(|m| (id, m)))
        .collect())
}

/// What covers `source` at `now`: `silenced #ID` for the oldest silence, else
/// `maintenance <name>` for the first open window.
pub(super) fn covered(
    silences: &[(i64, Matcher)],
    windows: &[Window],
    source: &Source,
    now: i64,
) -> Option<String> {
    if let Some((id, _)) = silences.iter().find(|(_, m)| m.covers(source)) {
        return Some(format!("silenced #{id}"));
    }
    windows
        .iter()
        .find(|w| w.covers(source) && w.open(now))
        .map(|w| format!("maintenance {}", w.name))
}

/// Notes that the latest alert of `source` was kept quiet, if it is a target or a
/// service (`ids`: its target and service ids).
pub(super) fn remember(
    c: &Tx,
    source: &Source,
    ids: (Option<i64>, Option<i64>),
    why: &str,
) -> Result<()> {
    let (kind, id) = match (source.kind, ids) {
        ("target", (Some(id), _)) => ("target", id),
        ("service", (_, Some(id))) => ("service", id),
        _ => return Ok(()),
    };
    c.prepare_cached(
        "INSERT OR REPLACE INTO quieted (kind, source_id, target, server, service, reason) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        kind,
        id,
        source.target,
        source.server,
        source.service,
        why
    ])?;
    Ok(())
}

/// A silence was added or a window opened: the deliveries still pending for the
/// sources `matchers` cover are not made (`reason` says why), and those sources are
/// remembered. Returns the number of alerts kept quiet.
pub(super) fn quiet_pending(c: &Tx, matchers: &[Matcher], reason: &str, now: i64) -> Result<usize> {
    type Owed = (
        i64,
        String,
        Option<i64>,
        Option<i64>,
        String,
        String,
        String,
    );
    let owed: Vec<Owed> = c
        .prepare_cached(
            "SELECT a.id, a.kind, a.target_id, a.service_id, a.target, a.server, a.service \
             FROM alerts a WHERE a.id IN (SELECT alert_id FROM deliveries WHERE state = 'pending') \
             AND a.kind != 'notifier' ORDER BY a.id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut quieted = 0;
    for (id, kind, target_id, service_id, target, server, service) in owed {
        let source = Source {
            kind: &kind,
            target: &target,
            server: &server,
            service: &service,
        };
        if !matchers.iter().any(|m| m.covers(&source)) {
            continue;
        }
        c.prepare_cached(
            "UPDATE deliveries SET state = 'suppressed', finished = ? \
             WHERE alert_id = ? AND state = 'pending'",
        )?
        .execute(params![now, id])?;
        c.prepare_cached(
            "UPDATE alerts SET suppressed = ? WHERE id = ? AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.alert_id = alerts.id AND d.state = 'delivered')",
        )?
        .execute(params![reason, id])?;
        remember(c, &source, (target_id, service_id), reason)?;
        quieted += 1;
    }
    Ok(quieted)
}
