//! Pushed services under `[[service_rule]]` (SPEC §14): their reports judged like a
//! target's checks (thresholds and windows counted in reports, flap detection), the
//! alerts they raise held back by the rule (`notify = false`, a parent down), and the
//! dependents told when a service goes down or comes back (`service_moved`, for every
//! service). A service no rule governs is not judged here: it keeps OverC's behaviour.

use super::depend::{parent_came_back, parent_went_down, rule_held_back};
use super::{Result, Store, Tx};
use crate::domain::depend::Parent;
use crate::domain::report::ServiceState;
use crate::domain::rules::{overc_name, rule_for, verdict_of, ServiceRule};
use crate::domain::supervise::{judge, Flap, Progress, Recent, Status, TargetEvent, MAX_WINDOW};
use rusqlite::{params, OptionalExtension};
use std::sync::Arc;

/// An alert a judged report raises: its event, message, and the state before.
pub(super) struct Told {
    pub event: String,
    pub message: String,
    pub previous: &'static str,
}

/// Judges one report of service `id` under `rule`; `before` is its stored state
/// (`None` for a new service), which a service judged for the first time starts from.
pub(super) fn judge_report(
    c: &Tx,
    id: i64,
    rule: &ServiceRule,
    before: Option<ServiceState>,
    state: ServiceState,
    at: i64,
) -> Result<Option<Told>> {
    let row = c
        .prepare_cached(
            "SELECT judged, recent_fails, recent_warns, recent_seen, state_changes, \
             flapping_since, grace FROM services WHERE id = ?",
        )?
        .query_row([id], |r| {
            let count = |i: usize| r.get::<_, i64>(i).map(|n| u32::try_from(n).unwrap_or(0));
            Ok((
                r.get::<_, Option<String>>(0)?,
                Recent {
                    // The masks are kept as SQLite's signed integers, bit for bit.
                    fails: r.get::<_, i64>(1)? as u64,
                    warns: r.get::<_, i64>(2)? as u64,
                    seen: count(3)?.min(MAX_WINDOW),
                },
                Flap {
                    changes: Flap::parse_changes(&r.get::<_, String>(4)?),
                    since: r.get(5)?,
                },
                r.get::<_, i64>(6)?,
            ))
        })
        .optional()?;
    let Some((judged, recent, flap, grace)) = row else {
        return Ok(None);
    };
    let status = match (judged, before) {
        (Some(j), _) => Status::parse(&j),
        (None, None) => Status::New,
        (None, Some(ServiceState::Ok)) => Status::Pass,
        (None, Some(ServiceState::Warn)) => Status::Warn,
        (None, Some(_)) => Status::Fail,
    };
    let prev = Progress {
        status,
        recent,
        flap,
        ..Progress::default()
    };
    let (next, event) = judge(&prev, verdict_of(state), rule.thresholds, at);
    let grace_now = i64::from(rule.offline_grace_s);
    if (next.status, &next.recent, &next.flap) != (prev.status, &prev.recent, &prev.flap)
        || grace != grace_now
    {
        c.prepare_cached(
            "UPDATE services SET judged = ?, recent_fails = ?, recent_warns = ?, recent_seen = ?, \
             state_changes = ?, flapping_since = ?, grace = ? WHERE id = ?",
        )?
        .execute(params![
            next.status.as_str(),
            next.recent.fails as i64,
            next.recent.warns as i64,
            next.recent.seen,
            next.flap.changes_text(),
            next.flap.since,
            grace_now,
            id
        ])?;
    }
    let minutes = rule.thresholds.flap_minutes;
    Ok(event.map(|e| {
        let previous = overc_name(prev.status);
        match e {
            TargetEvent::Flapping => Told {
                event: "flapping".into(),
                message: format!("State is flapping ({})", next.flap.described()),
                previous,
            },
            _ if prev.flap.since.is_some() => Told {
                event: state.as_str().into(),
                message: format!(
                    "Settled after flapping: \"{}\" for {minutes} min",
                    state.as_str()
                ),
                previous,
            },
            _ => Told {
                event: state.as_str().into(),
                message: format!("State changed: \"{previous}\" -> \"{}\"", state.as_str()),
                previous,
            },
        }
    }))
}

/// Why the alert service `id` raises now is delivered to nobody (empty: it is
/// delivered): its rule's `notify = false`, or a parent of its rule down. Remembers
/// whether a parent is the reason, so the parent's return finds the service. A service
/// no rule governs is never held back.
pub(super) fn suppression(c: &Tx, rule: Option<&ServiceRule>, id: i64) -> Result<String> {
    let Some(rule) = rule else {
        return Ok(String::new());
    };
    if !rule.notify {
        mark_held_back(c, id, false)?;
        return Ok(format!(
            "notify = false in [[service_rule]] {:?}",
            rule.pattern
        ));
    }
    let why = rule_held_back(c, rule)?;
    mark_held_back(c, id, why.is_some())?;
    Ok(why.unwrap_or_default())
}

fn mark_held_back(c: &Tx, id: i64, held: bool) -> Result<()> {
    c.prepare_cached("UPDATE services SET held_back = ?1 WHERE id = ?2 AND held_back != ?1")?
        .execute(params![held, id])?;
    Ok(())
}

/// A service's being down changed (`(before, after)`) or it went offline or came back
/// online (`was_offline` and its row updated already): the targets depending on it, or
/// on its server, and the services whose rule names it, are told (dependencies, SPEC
/// §14). Costs nothing when nothing depends on anything.
pub(super) fn service_moved(
    c: &Tx,
    rules: &[ServiceRule],
    server: &str,
    service: &str,
    (was_down, is_down): (bool, bool),
    was_offline: bool,
    now: i64,
) -> Result<()> {
    let rules_have_parents = rules.iter().any(|r| !r.depends_on.is_empty());
    if was_down == is_down || !(rules_have_parents || has_dependencies(c)?) {
        return Ok(());
    }
    let parent = Parent::Service {
        server: server.to_string(),
        service: service.to_string(),
    };
    let server_parent = Parent::Server(server.to_string());
    // A server is down while every service it pushes is offline.
    let online: i64 = c
        .prepare_cached(
            "SELECT count(*) FROM services s JOIN servers v ON v.id = s.server_id \
             WHERE v.name = ? AND s.timed_out = 0",
        )?
        .query_row([server], |r| r.get(0))?;
    if is_down {
        let offline: bool = c
            .prepare_cached(
                "SELECT s.timed_out != 0 FROM services s JOIN servers v ON v.id = s.server_id \
                 WHERE v.name = ? AND s.name = ?",
            )?
            .query_row([server, service], |r| r.get(0))
            .optional()?
            .unwrap_or(false);
        let state = if offline { "offline" } else { "FAIL" };
        parent_went_down(c, &parent, state, rules, now)?;
        if online == 0 {
            parent_went_down(c, &server_parent, "offline", rules, now)?;
        }
    } else {
        parent_came_back(c, &parent, rules, now)?;
        if was_offline && online == 1 {
            parent_came_back(c, &server_parent, rules, now)?;
        }
    }
    Ok(())
}

/// Whether any target depends on anything (one look at an index).
fn has_dependencies(c: &Tx) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM target_parents)")?
            .query_row([], |r| r.get(0))?,
    )
}

impl Store {
    /// Puts `rules` in force, and brings every service's grace and judged state in line
    /// with them: a service that no rule governs any more is judged no more.
    pub async fn set_service_rules(&self, rules: Vec<ServiceRule>) -> Result<()> {
        let rules: Arc<[ServiceRule]> = Arc::from(rules);
        match self.inner.service_rules.write() {
            Ok(mut r) => *r = rules.clone(),
            Err(poisoned) => *poisoned.into_inner() = rules.clone(),
        }
        self.write(move |c| {
            let rows: Vec<(i64, String, String, i64, bool)> = c
                .prepare(
                    "SELECT s.id, v.name, s.name, s.grace, s.judged IS NOT NULL FROM services s \
                     JOIN servers v ON v.id = s.server_id",
                )?
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (id, server, service, grace, judged) in rows {
                match rule_for(&rules, &server, &service) {
                    Some((_, rule)) if grace != i64::from(rule.offline_grace_s) => {
                        c.prepare_cached("UPDATE services SET grace = ? WHERE id = ?")?
                            .execute(params![rule.offline_grace_s, id])?;
                    }
                    Some(_) => {}
                    None if grace != 0 || judged => {
                        c.prepare_cached(
                            "UPDATE services SET grace = 0, judged = NULL, recent_fails = 0, \
                             recent_warns = 0, recent_seen = 0, state_changes = '', \
                             flapping_since = NULL, held_back = 0 WHERE id = ?",
                        )?
                        .execute([id])?;
                    }
                    None => {}
                }
            }
            Ok(())
        })
        .await
    }
}
