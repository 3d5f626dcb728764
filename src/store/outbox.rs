//! The outbox: one `deliveries` row per (alert, notifier), written with the alert.
//!
//! The delivery loop takes, per notifier, the oldest pending row (so a notifier hears
//! of a FAILURE before its RECOVERY), attempts it when it is due, alone or with every
//! other row the notifier is owed (a group, §14), and records the outcome here:
//! delivered, or failed with the next attempt after a doubling backoff, or given up
//! once it has been retried for `[daemon] delivery_retry_seconds`.

use super::alerts::{insert_alert, NewAlert};
use super::firing::FiringChanges;
use super::notifiers::{name_of, AlertRecord, NotifierRow};
use super::targets::text;
use super::{Result, Store};
use crate::domain::time::now_ms;
use rusqlite::{params, OptionalExtension, Row};

/// First retry delay; it doubles after each failed attempt.
const FIRST_RETRY_MS: i64 = 1_000;
/// Longest delay between two attempts.
const MAX_RETRY_MS: i64 = 3_600_000;

/// What one attempt delivers to one notifier: one alert, or a group of them.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Rows in `deliveries`, in the order of `alerts`.
    pub ids: Vec<i64>,
    /// Attempts made so far (the most of any row).
    pub attempts: u32,
    /// When the oldest alert was raised (ms): rows are given up once retried long enough.
    pub created: i64,
    /// When it may be attempted (ms).
    pub next_attempt: i64,
    /// Through which notifier.
    pub notifier: NotifierRow,
    /// What to deliver, oldest first; never empty.
    pub alerts: Vec<AlertRecord>,
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Tried again at this time (ms).
    At(i64),
    /// Retried long enough: given up, and the other notifiers told.
    GaveUp,
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff_ms(attempts: u32) -> i64 {
    let shift = attempts.saturating_sub(1).min(32);
    FIRST_RETRY_MS
        .saturating_mul(1_i64 << shift)
        .min(MAX_RETRY_MS)
}

/// The alert columns read by [`alert_record`], for a query that joins `alerts a`.
const ALERT_COLUMNS: &str = "a.id, a.time, a.kind, a.target, a.server, a.service, a.channel, \
     a.event, a.message, a.state, a.previous, a.description, a.details";

/// Reads [`ALERT_COLUMNS`] starting at column `at`.
fn alert_record(r: &Row, at: usize) -> rusqlite::Result<AlertRecord> {
    Ok(AlertRecord {
        id: r.get(at)?,
        time: r.get(at + 1)?,
        kind: r.get(at + 2)?,
        target: r.get(at + 3)?,
        server: r.get(at + 4)?,
        service: r.get(at + 5)?,
        channel: r.get(at + 6)?,
        event: r.get(at + 7)?,
        message: r.get(at + 8)?,
        state: r.get(at + 9)?,
        previous: r.get(at + 10)?,
        description: r.get(at + 11)?,
        details: r.get(at + 12)?,
    })
}

impl Store {
    /// The next pending delivery of every enabled notifier, due or not: its oldest
    /// about a target (or a notifier, or a test) if it has one, else its oldest. A
    /// flood of pushed-service alerts never holds up a target's FAILURE; each source's
    /// alerts still go out in order, since a source's alerts are all of one kind.
    pub async fn delivery_heads(&self) -> Result<Vec<Delivery>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT d.id, d.attempts, d.created, d.next_attempt, \
                        n.id, n.name, n.type, n.address, n.params, {ALERT_COLUMNS} \
                 FROM (SELECT coalesce(min(CASE WHEN pa.kind != 'service' AND pa.kind != 'api' \
                                                THEN pd.id END), min(pd.id)) AS id \
                       FROM deliveries pd JOIN alerts pa ON pa.id = pd.alert_id \
                       WHERE pd.state = 'pending' GROUP BY pd.notifier_id) h \
                 JOIN deliveries d ON d.id = h.id \
                 JOIN notifiers n ON n.id = d.notifier_id \
                 JOIN alerts a ON a.id = d.alert_id \
                 WHERE CAST(n.enabled AS INTEGER) != 0"
            ))?;
            let rows = s
                .query_map([], |r| {
                    Ok(Delivery {
                        ids: vec![r.get(0)?],
                        attempts: r.get(1)?,
                        created: r.get(2)?,
                        next_attempt: r.get(3)?,
                        notifier: NotifierRow {
                            id: r.get(4)?,
                            name: text(r, 5)?,
                            kind: text(r, 6)?,
                            address: text(r, 7)?,
                            params: text(r, 8)?,
                            enabled: true,
                        },
                        alerts: vec![alert_record(r, 9)?],
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Everything `head`'s notifier is owed and may be attempted now, as one group of
    /// at most `limit` alerts in the order they were raised: target alerts are taken
    /// first when there are more, as for the head. `head` alone when nothing else is due.
    pub async fn delivery_group(&self, head: Delivery, limit: usize) -> Result<Delivery> {
        let notifier = head.notifier.id;
        let rows: Vec<(i64, u32, i64, i64, AlertRecord)> = self
            .read(move |c| {
                let mut s = c.prepare_cached(&format!(
                    "SELECT d.id, d.attempts, d.created, d.next_attempt, {ALERT_COLUMNS} \
                     FROM deliveries d JOIN alerts a ON a.id = d.alert_id \
                     WHERE d.notifier_id = ?1 AND d.state = 'pending' AND d.next_attempt <= ?2 \
                     ORDER BY a.kind IN ('service', 'api'), d.id LIMIT ?3"
                ))?;
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let rows = s
                    .query_map(params![notifier, now_ms(), limit], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            alert_record(r, 4)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await?;
        if rows.len() < 2 {
            return Ok(head);
        }
        let mut rows = rows;
        rows.sort_by_key(|r| r.0);
        Ok(Delivery {
            attempts: rows.iter().map(|r| r.1).max().unwrap_or(0),
            created: rows.iter().map(|r| r.2).min().unwrap_or(head.created),
            next_attempt: rows.iter().map(|r| r.3).max().unwrap_or(head.next_attempt),
            ids: rows.iter().map(|r| r.0).collect(),
            alerts: rows.into_iter().map(|r| r.4).collect(),
            notifier: head.notifier,
        })
    }

    /// Records a delivery made (every row of a group), with what it changed of the
    /// alerts an Alertmanager notifier was told fire.
    pub async fn delivery_done(
        &self,
        deliveries: Vec<i64>,
        notifier: i64,
        firing: FiringChanges,
    ) -> Result<()> {
        self.write(move |c| {
            super::firing::apply(c, notifier, &firing)?;
            let now = now_ms();
            let mut made: i64 = 0;
            let mut done = c.prepare_cached(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, \
                 finished = ?, last_error = '', group_size = ? WHERE id = ? AND state = 'pending'",
            )?;
            let size = i64::try_from(deliveries.len()).unwrap_or(i64::MAX);
            for id in &deliveries {
                made += i64::try_from(done.execute(params![now, size, id])?).unwrap_or(0);
            }
            if made > 0 {
                c.prepare_cached("UPDATE notifiers SET pass_count = pass_count + ? WHERE id = ?")?
                    .execute(params![made, notifier])?;
            }
            Ok(())
        })
        .await
    }

    /// Records a failed attempt: schedules the next one, or gives up on the notifier's
    /// deliveries that have been retried for `retry_for_ms` (0: these alone, at once,
    /// for a refusal for good) and raises ``Notifier `<name>` failed: <error>`` to the
    /// other notifiers.
    pub async fn delivery_failed(
        &self,
        deliveries: Vec<i64>,
        notifier: i64,
        error: String,
        retry_for_ms: i64,
    ) -> Result<Retry> {
        self.write(move |c| {
            let now = now_ms();
            let mut pending = Vec::with_capacity(deliveries.len());
            {
                let mut read = c.prepare_cached(
                    "SELECT d.attempts, d.created, a.kind FROM deliveries d \
                     JOIN alerts a ON a.id = d.alert_id WHERE d.id = ? AND d.state = 'pending'",
                )?;
                for &id in &deliveries {
                    let row: Option<(u32, i64, String)> = read
                        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()?;
                    if let Some(row) = row {
                        pending.push((id, row));
                    }
                }
            }
            if pending.is_empty() {
                return Ok(Retry::GaveUp);
            }
            let attempts = 1 + pending.iter().map(|p| p.1 .0).max().unwrap_or(0);
            let created = pending.iter().map(|p| p.1 .1).min().unwrap_or(now);
            // A failure to pass on a notifier failure is not passed on again.
            let about_notifiers = pending.iter().all(|p| p.1 .2 == "notifier");
            c.prepare_cached("UPDATE notifiers SET fail_count = fail_count + 1 WHERE id = ?")?
                .execute([notifier])?;
            if now - created < retry_for_ms {
                let at = now + backoff_ms(attempts);
                let mut later = c.prepare_cached(
                    "UPDATE deliveries SET attempts = ?, next_attempt = ?, last_error = ? \
                     WHERE id = ?",
                )?;
                for (id, _) in &pending {
                    later.execute(params![attempts, at, error, id])?;
                }
                return Ok(Retry::At(at));
            }
            {
                let mut failed = c.prepare_cached(
                    "UPDATE deliveries SET attempts = ?, last_error = ?, state = 'failed', \
                     finished = ? WHERE id = ?",
                )?;
                for (id, _) in &pending {
                    failed.execute(params![attempts, error, now, id])?;
                }
            }
            // Everything else this notifier has been owed as long is given up with
            // them; a refusal for good (no retrying) gives up these alone.
            if retry_for_ms > 0 {
                c.prepare_cached(
                    "UPDATE deliveries SET state = 'failed', finished = ? \
                     WHERE notifier_id = ? AND state = 'pending' AND created <= ?",
                )?
                .execute(params![now, notifier, now - retry_for_ms])?;
            }
            if !about_notifiers {
                let name = name_of(c, notifier)?;
                let message = format!("Notifier `{name}` failed: {error}");
                insert_alert(
                    c,
                    &NewAlert {
                        kind: "notifier",
                        target_id: None,
                        service_id: None,
                        target: "",
                        server: "",
                        service: "",
                        channel: "notifier",
                        event: "failed",
                        message: &message,
                        state: "",
                        previous: "",
                        description: &error,
                        details: "",
                        time: now,
                        exclude_notifier: Some(notifier),
                        suppressed: "",
                    },
                    now,
                )?;
            }
            Ok(Retry::GaveUp)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_an_hour() {
        let delays: Vec<i64> = (1..=14).map(backoff_ms).collect();
        assert_eq!(&delays[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(delays[11], 2_048_000);
        assert_eq!(delays[12], 3_600_000);
        assert_eq!(backoff_ms(1000), 3_600_000);
    }
}
