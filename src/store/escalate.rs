//! Escalation (SPEC §15): a notifier with `escalate_after` is not given an alert when
//! it is raised; once a second, the alerts raised `escalate_after` ago that are still
//! unresolved (no later alert of their source tells it is back), unacknowledged and
//! not kept quiet are given to it. Its recoveries are given with the alert
//! (`alerts::insert_alert`), when it was told of the problem.
//!
//! Each sweep looks at the alerts raised since the last one (with a minute of overlap:
//! a sweep whose transaction was undone is made up for), by the `alerts(time)` index;
//! an alert already given to the notifier is never given twice.

use super::alerts::{escalate_after, passes_filters};
use super::quiet::{covered, resolution, silences_in_force};
use super::{Result, Tx};
use crate::domain::quiet::Source;
use rusqlite::params;

/// How far back the first sweep after a start looks, beyond `escalate_after`.
const FIRST_LOOK_MS: i64 = 600_000;
/// How much each sweep looks again at what the last one saw.
const OVERLAP_MS: i64 = 60_000;

/// Gives each escalating notifier the alerts that have waited long enough.
pub(super) fn escalate(c: &Tx, now: i64) -> Result<()> {
    let notifiers: Vec<(i64, i64)> = c
        .prepare_cached(&format!(
            "SELECT id, {} FROM notifiers n WHERE CAST(enabled AS INTEGER) != 0 AND {} > 0",
            escalate_after("n"),
            escalate_after("n")
        ))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if notifiers.is_empty() {
        return Ok(());
    }
    let silences = silences_in_force(c, now)?;
    let windows = c.quiet().windows.clone();
    for (notifier, after_s) in notifiers {
        let upto = now - after_s.saturating_mul(1000);
        let from = c
            .quiet()
            .escalated_to
            .get(&notifier)
            .map_or(upto - FIRST_LOOK_MS, |t| t - OVERLAP_MS);
        let due: Vec<(i64, String, String, String, String)> = c
            .prepare_cached(&format!(
                "SELECT a.id, a.kind, a.target, a.server, a.service FROM alerts a \
                 JOIN notifiers n ON n.id = ?1 \
                 WHERE a.time > ?2 AND a.time <= ?3 AND a.suppressed = '' \
                 AND a.kind != 'notifier' AND NOT {resolved} AND {filters} \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d \
                                 WHERE d.alert_id = a.id AND d.notifier_id = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM alerts b WHERE b.id > a.id AND {later} \
                                 AND {resolved_b}) \
                 AND NOT EXISTS (SELECT 1 FROM acks k WHERE k.cleared IS NULL \
                                 AND (k.target_id = a.target_id OR k.service_id = a.service_id)) \
                 ORDER BY a.id",
                resolved = resolution("a"),
                resolved_b = resolution("b"),
                filters = passes_filters("n", "a.target", "a.server"),
                later = "((a.kind = 'target' AND b.target_id = a.target_id) \
                          OR (a.kind = 'service' AND b.service_id = a.service_id))",
            ))?
            .query_map(params![notifier, from, upto], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (alert, kind, target, server, service) in due {
            let source = Source {
                kind: &kind,
                target: &target,
                server: &server,
                service: &service,
            };
            if covered(&silences, &windows, &source, now).is_some() {
                continue;
            }
            c.prepare_cached(
                "INSERT INTO deliveries (alert_id, notifier_id, next_attempt, created) \
                 VALUES (?1, ?2, ?3, ?3)",
            )?
            .execute(params![alert, notifier, now])?;
            c.raised();
        }
        c.quiet().escalated_to.insert(notifier, upto);
    }
    Ok(())
}
