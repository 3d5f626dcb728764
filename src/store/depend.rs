//! Dependencies in the write path: whether a target's parent is down when it raises
//! an alert, holding back its children's alerts not yet delivered when a parent goes
//! down, and telling what is still owed when a parent comes back (SPEC §14).
//!
//! A target's parents are the rows of `target_parents` (kept from `depends_on` by
//! triggers), looked up by an index in either direction; a service's are its rule's
//! (`[[service_rule]] depends_on`), and a service whose alert a parent held back is
//! marked (`services.held_back`). Each function runs only when a state changes.

use super::alerts::{insert_alert, NewAlert};
use super::{Result, Tx};
use crate::domain::depend::Parent;
use crate::domain::rules::{rule_for, ServiceRule};
use crate::domain::supervise::DEFAULT_GROUP_INTERVAL_S;
use rusqlite::{params, OptionalExtension};

/// `FAIL` or `offline` when `parent` is down, `None` when it is up or unknown.
fn down(c: &Tx, parent: &Parent) -> Result<Option<&'static str>> {
    Ok(match parent {
        Parent::Target(name) => {
            let status: Option<String> = c
                .prepare_cached(
                    "SELECT status FROM targets WHERE name = ? AND CAST(enabled AS INTEGER) != 0",
                )?
                .query_row([name], |r| r.get(0))
                .optional()?;
            (status.as_deref() == Some("FAIL")).then_some("FAIL")
        }
        Parent::Service { server, service } => {
            let row: Option<(String, bool)> = c
                .prepare_cached(
                    "SELECT s.state, s.timed_out != 0 FROM services s \
                     JOIN servers v ON v.id = s.server_id WHERE v.name = ? AND s.name = ?",
                )?
                .query_row([server, service], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match row {
                Some((_, true)) => Some("offline"),
                Some((state, false)) if state == "FAIL" => Some("FAIL"),
                _ => None,
            }
        }
        Parent::Server(name) => {
            let (services, offline): (i64, i64) = c
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(s.timed_out != 0), 0) FROM services s \
                     JOIN servers v ON v.id = s.server_id WHERE v.name = ?",
                )?
                .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
            (services > 0 && offline == services).then_some("offline")
        }
    })
}

/// Why target `id`'s alerts are held back now: `parent target:router is FAIL` for
/// its first parent that is down, or `None`.
pub(super) fn held_back(c: &Tx, id: i64) -> Result<Option<String>> {
    let parents: Vec<String> = c
        .prepare_cached("SELECT parent FROM target_parents WHERE target_id = ? ORDER BY parent")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // A reference that cannot be read was refused when the target was loaded.
    let parents: Vec<Parent> = parents
        .iter()
        .filter_map(|r| Parent::parse(r).ok())
        .collect();
    first_down(c, &parents)
}

/// `parent <ref> is <state>` for the first of `parents` that is down, or `None`.
fn first_down(c: &Tx, parents: &[Parent]) -> Result<Option<String>> {
    for parent in parents {
        if let Some(state) = down(c, parent)? {
            return Ok(Some(format!("parent {parent} is {state}")));
        }
    }
    Ok(None)
}

/// The targets that depend on `parent`.
fn children(c: &Tx, parent: &Parent) -> Result<Vec<i64>> {
    Ok(
        c.prepare_cached("SELECT target_id FROM target_parents WHERE parent = ?")?
            .query_map([parent.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
    )
}

/// `parent` has just gone down (`state`): the alerts its children (targets, and
/// services whose rule in `rules` names it) raised in the last group interval that no
/// notifier has been sent yet are held back too, so a child found failing a moment
/// before its parent is not announced on its own.
pub(super) fn parent_went_down(
    c: &Tx,
    parent: &Parent,
    state: &str,
    rules: &[ServiceRule],
    now: i64,
) -> Result<()> {
    let kids = children(c, parent)?;
    let rules_name_it = rules.iter().any(|r| r.depends_on.contains(parent));
    if kids.is_empty() && !rules_name_it {
        return Ok(());
    }
    let window_ms: i64 = c
        .prepare_cached(
            "SELECT coalesce(max(coalesce(json_extract(CASE WHEN json_valid(params) THEN params END, \
             '$.group_interval'), ?1)), ?1) FROM notifiers WHERE CAST(enabled AS INTEGER) != 0",
        )?
        .query_row([DEFAULT_GROUP_INTERVAL_S], |r| r.get::<_, i64>(0))?
        .saturating_mul(1000);
    let since = now - window_ms;
    // Raised, owed to someone, and not yet attempted by anyone.
    const UNSENT: &str = "a.suppressed = '' AND a.time >= ?2 \
         AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id) \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id \
                         AND (d.state != 'pending' OR d.attempts > 0))";
    let mut held: Vec<i64> = Vec::new();
    for kid in kids {
        let mut s = c.prepare_cached(&format!(
            "SELECT a.id FROM alerts a WHERE a.target_id = ?1 AND {UNSENT}"
        ))?;
        for id in s.query_map(params![kid, since], |r| r.get(0))? {
            held.push(id?);
        }
    }
    if rules_name_it {
        let recent: Vec<(i64, i64, String, String)> = c
            .prepare_cached(&format!(
                "SELECT a.id, a.service_id, a.server, a.service FROM alerts a \
                 WHERE a.kind = ?1 AND a.service_id IS NOT NULL AND {UNSENT}"
            ))?
            .query_map(params!["service", since], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (alert, service, server, name) in recent {
            let ruled = rule_for(rules, &server, &name).map(|(_, r)| r);
            if ruled.is_some_and(|r| r.depends_on.contains(parent)) {
                held.push(alert);
                c.prepare_cached("UPDATE services SET held_back = 1 WHERE id = ?")?
                    .execute([service])?;
            }
        }
    }
    let reason = format!("parent {parent} is {state}");
    for alert in held {
        c.prepare_cached("UPDATE alerts SET suppressed = ? WHERE id = ?")?
            .execute(params![reason, alert])?;
        c.prepare_cached(
            "UPDATE deliveries SET state = 'suppressed', finished = ? \
             WHERE alert_id = ? AND state = 'pending'",
        )?
        .execute(params![now, alert])?;
    }
    Ok(())
}

/// `parent` is up again: each child whose alerts were held back and whose notifiers
/// were last told another story (it failed since, or it recovered since) is told once,
/// with its latest alert, unless another of its parents is still down. Children are
/// targets (`target_parents`) and services whose rule (`rules`) names the parent.
pub(super) fn parent_came_back(
    c: &Tx,
    parent: &Parent,
    rules: &[ServiceRule],
    now: i64,
) -> Result<()> {
    for kid in children(c, parent)? {
        if held_back(c, kid)?.is_none() {
            release(c, Child::Target(kid), &format!("{parent} is back now"), now)?;
        }
    }
    let held: Vec<(i64, String, String)> = c
        .prepare_cached(
            "SELECT s.id, v.name, s.name FROM services s JOIN servers v ON v.id = s.server_id \
             WHERE s.held_back != 0",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, server, service) in held {
        let rule = rule_for(rules, &server, &service).map(|(_, r)| r);
        match rule {
            Some(rule) if !rule.depends_on.contains(parent) => continue,
            Some(rule) if rule_held_back(c, rule)?.is_some() => continue,
            Some(_) => release(c, Child::Service(id), &format!("{parent} is back now"), now)?,
            // Its rule is gone: nothing holds it back any more, and nothing is owed.
            None => {}
        }
        c.prepare_cached("UPDATE services SET held_back = 0 WHERE id = ?")?
            .execute([id])?;
    }
    Ok(())
}

/// Why the alerts of a service governed by `rule` are held back now: its first parent
/// that is down, or `None`.
pub(super) fn rule_held_back(c: &Tx, rule: &ServiceRule) -> Result<Option<String>> {
    first_down(c, &rule.depends_on)
}

/// A source whose alerts a parent (or a silence) can hold back.
#[derive(Clone, Copy)]
pub(super) enum Child {
    Target(i64),
    Service(i64),
}

/// Raises `child`'s latest alert again if it was held back and tells another story
/// than the latest one delivered; `over` says what held it back no longer does
/// (`target:router is back now`).
pub(super) fn release(c: &Tx, child: Child, over: &str, now: i64) -> Result<()> {
    let (column, id) = match child {
        Child::Target(id) => ("target_id", id),
        Child::Service(id) => ("service_id", id),
    };
    let latest: Option<LatestAlert> = c
        .prepare_cached(&format!(
            "SELECT state, suppressed, target, event, message, previous, description, details, \
             kind, server, service, channel FROM alerts WHERE {column} = ? \
             ORDER BY id DESC LIMIT 1"
        ))?
        .query_row([id], |r| {
            Ok(LatestAlert {
                state: r.get(0)?,
                suppressed: r.get(1)?,
                target: r.get(2)?,
                event: r.get(3)?,
                message: r.get(4)?,
                previous: r.get(5)?,
                description: r.get(6)?,
                details: r.get(7)?,
                kind: r.get(8)?,
                server: r.get(9)?,
                service: r.get(10)?,
                channel: r.get(11)?,
            })
        })
        .optional()?;
    let Some(latest) = latest.filter(|l| !l.suppressed.is_empty()) else {
        return Ok(());
    };
    let told: Option<(String, String)> = c
        .prepare_cached(&format!(
            "SELECT state, event FROM alerts WHERE {column} = ? AND suppressed = '' \
             ORDER BY id DESC LIMIT 1"
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let failing = |state: &str, event: &str| match child {
        Child::Target(_) => state == "FAIL",
        Child::Service(_) => event == "offline" || (!state.is_empty() && state != "OK"),
    };
    let told_failing = told.is_some_and(|(state, event)| failing(&state, &event));
    if failing(&latest.state, &latest.event) == told_failing {
        return Ok(());
    }
    let note = format!("Held back ({}); {over}.", latest.suppressed);
    // A target's note leads its details; a service's alert keeps OverC's two lines.
    let (message, details) = match child {
        Child::Target(_) => (
            latest.message.clone(),
            format!("{note}\n{}", latest.details),
        ),
        Child::Service(_) => (
            format!("{} ({note})", latest.message),
            latest.details.clone(),
        ),
    };
    insert_alert(
        c,
        &NewAlert {
            kind: &latest.kind,
            target_id: matches!(child, Child::Target(_)).then_some(id),
            service_id: matches!(child, Child::Service(_)).then_some(id),
            target: &latest.target,
            server: &latest.server,
            service: &latest.service,
            channel: &latest.channel,
            event: &latest.event,
            message: &message,
            state: &latest.state,
            previous: &latest.previous,
            description: &latest.description,
            details: &details,
            time: now,
            exclude_notifier: None,
            suppressed: "",
        },
        now,
    )?;
    Ok(())
}

/// A child's latest alert, as it is raised again.
struct LatestAlert {
    state: String,
    suppressed: String,
    target: String,
    event: String,
    message: String,
    previous: String,
    description: String,
    details: String,
    kind: String,
    server: String,
    service: String,
    channel: String,
}
