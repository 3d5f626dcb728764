//! Silences, acknowledgements and maintenance windows as the daemon asks for them
//! (SPEC §15): adding a silence (which takes effect on what is still owed in the same
//! transaction), ending one, acknowledging an alert, the rows read back, and the
//! once-a-second sweep (windows that open, covers that end, escalations).

use super::depend::{held_back, release, Child};
use super::escalate::escalate;
use super::quiet::{covered, quiet_pending, resolution, silences_in_force};
use super::service_rules::suppression;
use super::{Result, Store, StoreError, Tx};
use crate::domain::quiet::{Matcher, Source, Window};
use crate::domain::rules::{rule_for, ServiceRule};
use rusqlite::{params, OptionalExtension};
use std::sync::Arc;

/// A silence as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// Row id.
    pub id: i64,
    /// What it covers (`target:<glob>`, `server:<glob>`, `<server glob>/<service glob>`).
    pub matcher: String,
    /// When it began and ends (ms).
    pub starts: i64,
    /// When it ends (ms).
    pub ends: i64,
    /// Why.
    pub comment: String,
    /// Who added it.
    pub created_by: String,
    /// When it was taken back before its end (ms).
    pub removed: Option<i64>,
}

impl Silence {
    /// `#3 target:api until 2026-11-30 14:00:00 UTC by alice: patching`, for the log.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "#{} {} until {} UTC by {}",
            self.id,
            self.matcher,
            crate::domain::time::format_ms(self.ends),
            self.created_by
        );
        if !self.comment.is_empty() {
            text.push_str(": ");
            text.push_str(&self.comment);
        }
        text
    }
}

/// A silence asked for: one of `target` (an id or a name), `server` (with or without
/// `service`) or `matcher`, until `ends` (ms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SilenceRequest {
    /// A target, by id or name.
    pub target: Option<String>,
    /// A server, by name.
    pub server: Option<String>,
    /// One service of `server`.
    pub service: Option<String>,
    /// `target:<glob>`, `server:<glob>` or `<server glob>/<service glob>`.
    pub matcher: Option<String>,
    /// When it ends (ms).
    pub ends: i64,
    /// Why.
    pub comment: String,
    /// Who asks.
    pub created_by: String,
}

/// An open acknowledgement, with the names of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The alert acknowledged.
    pub alert_id: i64,
    /// Its target.
    pub target_id: Option<i64>,
    /// Its service.
    pub service_id: Option<i64>,
    /// The target's name.
    pub target: String,
    /// The server's name.
    pub server: String,
    /// The service's name.
    pub service: String,
    /// Who acknowledged it.
    pub user: String,
    /// Why.
    pub comment: String,
    /// When (ms).
    pub time: i64,
}

/// What an acknowledgement acknowledged: the alert's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// The alert's message.
    pub message: String,
}

impl Store {
    /// Adds a silence from `now` to its end and keeps quiet, in the same transaction,
    /// the deliveries still pending for what it covers. A target given by id is
    /// silenced by its name. Returns the silence and how many alerts it kept quiet.
    pub async fn add_silence(&self, ask: SilenceRequest, now: i64) -> Result<(Silence, usize)> {
        if ask.ends <= now {
            return Err(StoreError::Invalid(
                "the silence would end before it begins: give a later time".into(),
            ));
        }
        self.write(move |c| {
            let matcher = match (&ask.target, &ask.server, &ask.service, &ask.matcher) {
                (Some(t), None, None, None) => {
                    let by_id: Option<String> = match t.parse::<i64>() {
                        Ok(id) => c
                            .prepare_cached("SELECT name FROM targets WHERE id = ?")?
                            .query_row([id], |r| r.get(0))
                            .optional()?,
                        Err(_) => None,
                    };
                    let named: bool = c
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM targets WHERE name = ?)")?
                        .query_row([t], |r| r.get(0))?;
                    match (named, by_id) {
                        (true, _) => Matcher::exact(Some(t), None, None),
                        (false, Some(name)) => Matcher::exact(Some(&name), None, None),
                        (false, None) => {
                            return Err(StoreError::NotFound(format!(
                                "target {t:?} does not exist (give its id or name)"
                            )))
                        }
                    }
                }
                (None, Some(server), service, None) => {
                    Matcher::exact(None, Some(server), service.as_deref())
                }
                (None, None, None, Some(m)) => m.clone(),
                (_, None, Some(_), _) => {
                    return Err(StoreError::Invalid(
                        "a service is given with its server".into(),
                    ))
                }
                _ => {
                    return Err(StoreError::Invalid(
                        "give one of: a target, a server (and a service), or a match".into(),
                    ))
                }
            };
            let parsed =
                Matcher::parse(&matcher).map_err(|e| StoreError::Invalid(e.to_string()))?;
            c.prepare_cached(
                "INSERT INTO silences (matcher, starts, ends, comment, created_by, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?2)",
            )?
            .execute(params![matcher, now, ask.ends, ask.comment, ask.created_by])?;
            let id = c.last_insert_rowid();
            let why = format!("silenced #{id}");
            let quieted = quiet_pending(c, std::slice::from_ref(&parsed), &why, now)?;
            Ok((
                Silence {
                    id,
                    matcher,
                    starts: now,
                    ends: ask.ends,
                    comment: ask.comment.clone(),
                    created_by: ask.created_by.clone(),
                    removed: None,
                },
                quieted,
            ))
        })
        .await
    }

    /// Ends silence `id` now; the next sweep tells what it covered. An unknown id, or
    /// a silence already over, is `NotFound`.
    pub async fn remove_silence(&self, id: i64, now: i64) -> Result<()> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE silences SET removed = ?2 WHERE id = ?1 AND removed IS NULL \
                     AND ends > ?2",
                )?
                .execute(params![id, now])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "silence {id} does not exist or is over"
                )));
            }
            Ok(())
        })
        .await
    }

    /// The silences in force at `now`, or (`all`) every one kept, newest first.
    pub async fn silences(&self, all: bool, now: i64) -> Result<Vec<Silence>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(
                "SELECT id, matcher, starts, ends, comment, created_by, removed FROM silences \
                 WHERE ?1 OR (removed IS NULL AND ends > ?2 AND starts <= ?2) ORDER BY id DESC",
            )?;
            let rows = s
                .query_map(params![all, now], |r| {
                    Ok(Silence {
                        id: r.get(0)?,
                        matcher: r.get(1)?,
                        starts: r.get(2)?,
                        ends: r.get(3)?,
                        comment: r.get(4)?,
                        created_by: r.get(5)?,
                        removed: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Acknowledges alert `alert` for its source until the source recovers. Refused
    /// (`Invalid`) for an alert that is not about a target or a service, one that tells
    /// of a recovery, and one whose source has recovered since.
    pub async fn ack(&self, alert: i64, user: String, comment: String, now: i64) -> Result<Acked> {
        self.write(move |c| {
            type Row = (String, String, String, Option<i64>, Option<i64>, String);
            let row: Option<Row> = c
                .prepare_cached(
                    "SELECT kind, event, state, target_id, service_id, message FROM alerts \
                     WHERE id = ?",
                )?
                .query_row([alert], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .optional()?;
            let Some((kind, event, state, target_id, service_id, message)) = row else {
                return Err(StoreError::NotFound(format!(
                    "alert {alert} does not exist"
                )));
            };
            let (column, id) = match (kind.as_str(), target_id, service_id) {
                ("target", Some(id), _) => ("target_id", id),
                ("service", _, Some(id)) => ("service_id", id),
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "alert {alert} is not about a target or a service: nothing to acknowledge"
                    )))
                }
            };
            if crate::domain::quiet::is_resolution(&kind, &event, &state) {
                return Err(StoreError::Invalid(format!(
                    "alert {alert} tells of a recovery ({event}): nothing to acknowledge"
                )));
            }
            let recovered: bool = c
                .prepare_cached(&format!(
                    "SELECT EXISTS (SELECT 1 FROM alerts a WHERE a.{column} = ?1 AND a.id > ?2 \
                     AND {})",
                    resolution("a")
                ))?
                .query_row(params![id, alert], |r| r.get(0))?;
            if recovered {
                return Err(StoreError::Invalid(format!(
                    "alert {alert}: its source has recovered since; nothing to acknowledge"
                )));
            }
            c.prepare_cached(&format!(
                "UPDATE acks SET cleared = ?2 WHERE {column} = ?1 AND cleared IS NULL"
            ))?
            .execute(params![id, now])?;
            c.prepare_cached(&format!(
                "INSERT OR REPLACE INTO acks (alert_id, {column}, user, comment, time) \
                 VALUES (?, ?, ?, ?, ?)"
            ))?
            .execute(params![alert, id, user, comment, now])?;
            Ok(Acked { message })
        })
        .await
    }

    /// The open acknowledgements, oldest first.
    pub async fn acks(&self) -> Result<Vec<Ack>> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT k.alert_id, k.target_id, k.service_id, a.target, a.server, a.service, \
                 k.user, k.comment, k.time FROM acks k JOIN alerts a ON a.id = k.alert_id \
                 WHERE k.cleared IS NULL ORDER BY k.time, k.alert_id",
            )?;
            let rows = s
                .query_map([], |r| {
                    Ok(Ack {
                        alert_id: r.get(0)?,
                        target_id: r.get(1)?,
                        service_id: r.get(2)?,
                        target: r.get(3)?,
                        server: r.get(4)?,
                        service: r.get(5)?,
                        user: r.get(6)?,
                        comment: r.get(7)?,
                        time: r.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Sets the `[[maintenance]]` windows alerts are held to from now on.
    pub async fn set_maintenance(&self, windows: Arc<[Window]>) -> Result<()> {
        self.write(move |c| {
            c.quiet().windows = windows.clone();
            Ok(())
        })
        .await
    }

    /// Once a second: windows that opened keep what is owed for their sources quiet,
    /// sources whose silence or window is over are told their story once, and
    /// escalating notifiers are given the alerts that waited long enough.
    pub async fn sweep_alerts(&self, now: i64) -> Result<()> {
        let rules = self.service_rules();
        self.write(move |c| {
            sweep(c, &rules, now)?;
            escalate(c, now)
        })
        .await
    }
}

/// Once a second: windows that opened since the last sweep keep what is still owed
/// for their sources quiet, and each remembered source nothing covers any more is told
/// its story once (unless a parent or its rule holds it back: that has its own end).
fn sweep(c: &Tx, rules: &[ServiceRule], now: i64) -> Result<()> {
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
