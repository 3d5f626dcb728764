//! Silences and maintenance windows in the write path (SPEC §15): whether an alert
//! being raised is covered (then it is recorded, marked `silenced #ID` or
//! `maintenance <name>`, and delivered to nobody), the deliveries still owed when a
//! silence is added or a window opens, and, once a second, the sources whose cover
//! ended: each is told its current story once, as a parent's return tells its children
//! (`depend::release`).
//!
//! Silences are rows (`silences`), read when an alert is raised: there are few, and a
//! silence added is in force in the very transaction that commits it. Windows come
//! from the configuration and live in the writer's state (`Tx::quiet`).

use super::alerts::NewAlert;
use super::depend::{held_back, release, Child};
use super::service_rules::suppression;
use super::{Result, Tx};
use crate::domain::quiet::{Matcher, Source, Window};
use crate::domain::rules::{rule_for, ServiceRule};
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

/// Notes that the latest alert of `source` was kept quiet, if it is a target or a
/// service (`ids`: its target and service ids).
fn remember(c: &Tx, source: &Source, ids: (Option<i64>, Option<i64>), why: &str) -> Result<()> {
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

/// Once a second: windows that opened since the last sweep keep what is still owed
/// for their sources quiet, and each remembered source nothing covers any more is told
/// its story once (unless a parent or its rule holds it back: that has its own end).
pub(super) fn sweep(c: &Tx, rules: &[ServiceRule], now: i64) -> Result<()> {
    let windows = c.quiet().windows.clone();
    let open: Vec<String> = windows
        .iter()
        .filter(|w| w.open(now))
        .map(|w| w.name.clone())
        .collect();
    let opened: Vec<&Window> = {
        let was = &c.quiet().open;
        windows
            .iter()
            .filter(|w| open.contains(&w.name) && !was.contains(&w.name))
            .collect()
    };
    for w in opened {
        quiet_pending(c, &w.matchers, &format!("maintenance {}", w.name), now)?;
    }
    c.quiet().open = open;
    let remembered: Vec<(String, i64, String, String, String)> = c
        .prepare_cached("SELECT kind, source_id, target, server, service FROM quieted")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if remembered.is_empty() {
        return Ok(());
    }
    let silences = silences_in_force(c, now)?;
    for (kind, id, target, server, service) in remembered {
        let source = Source {
            kind: &kind,
            target: &target,
            server: &server,
            service: &service,
        };
        if covered(&silences, &windows, &source, now).is_some() {
            continue;
        }
        c.prepare_cached("DELETE FROM quieted WHERE kind = ? AND source_id = ?")?
            .execute(params![kind, id])?;
        let (child, held) = if kind == "target" {
            (Child::Target(id), held_back(c, id)?.is_some())
        } else {
            let rule = rule_for(rules, &server, &service).map(|(_, r)| r);
            (Child::Service(id), !suppression(c, rule, id)?.is_empty())
        };
        if !held {
            release(c, child, "that is over now", now)?;
        }
    }
    Ok(())
}
