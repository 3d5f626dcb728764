//! What each Alertmanager notifier was told is firing (`firing`), so it can be sent
//! again until its source is back: Alertmanager closes an alert that is not sent
//! again before its end (SPEC §18).
//!
//! The rows change with the delivery that told them ([`Store::delivery_done`]), in
//! its transaction: a row exists exactly when Alertmanager was last told it fires.

use super::notifiers::AlertRecord;
use super::{Result, Store};
use rusqlite::params;

/// One alert an Alertmanager notifier was told fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// Its source: [`subject`] of the alert that raised it.
    pub subject: String,
    /// `SkypunchTargetDown`, ...
    pub alertname: String,
    /// The alert as Alertmanager takes it (labels, annotations, `startsAt`,
    /// `generatorURL`), without `endsAt`, which each sending sets.
    pub alert: String,
}

/// How a delivery to an Alertmanager notifier changes what it was told fires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiringChanges {
    /// Firing now (replacing a row of the same subject and name).
    pub fire: Vec<Firing>,
    /// Resolved: `(subject, alertname)`.
    pub resolve: Vec<(String, String)>,
}

/// The source an alert is about, as `firing.subject` holds it: `target:<name>`, or
/// `service:<server>/<service>` for pushed services (and `server:<name>` for a
/// server's own alerts).
pub fn subject(a: &AlertRecord) -> String {
    match a.kind.as_str() {
        "target" => format!("target:{}", a.target),
        _ if a.service.is_empty() => format!("server:{}", a.server),
        _ => format!("service:{}/{}", a.server, a.service),
    }
}

/// [`subject`] in SQL, over `alerts a`.
const SUBJECT_SQL: &str = "CASE WHEN a.kind = 'target' THEN 'target:' || a.target \
     WHEN a.service = '' THEN 'server:' || a.server \
     ELSE 'service:' || a.server || '/' || a.service END";

/// Applies `changes` for `notifier`, in the delivery's transaction.
pub(super) fn apply(
    c: &rusqlite::Connection,
    notifier: i64,
    changes: &FiringChanges,
) -> Result<()> {
    let mut fire = c.prepare_cached(
        "INSERT OR REPLACE INTO firing (notifier_id, subject, alertname, alert) VALUES (?, ?, ?, ?)",
    )?;
    for f in &changes.fire {
        fire.execute(params![notifier, f.subject, f.alertname, f.alert])?;
    }
    let mut resolve = c.prepare_cached(
        "DELETE FROM firing WHERE notifier_id = ? AND subject = ? AND alertname = ?",
    )?;
    for (subject, alertname) in &changes.resolve {
        resolve.execute(params![notifier, subject, alertname])?;
    }
    Ok(())
}

impl Store {
    /// Applies `changes` for `notifier` outside a delivery (its alerts given up).
    pub async fn firing_apply(&self, notifier: i64, changes: FiringChanges) -> Result<()> {
        self.write(move |c| apply(c, notifier, &changes)).await
    }

    /// What `notifier` was told fires about the sources of `alerts`.
    pub async fn firing_of(&self, notifier: i64, alerts: &[AlertRecord]) -> Result<Vec<Firing>> {
        let mut subjects: Vec<String> = alerts.iter().map(subject).collect();
        subjects.sort();
        subjects.dedup();
        self.read(move |c| {
            let mut s = c.prepare_cached(
                "SELECT subject, alertname, alert FROM firing WHERE notifier_id = ? AND subject = ?",
            )?;
            let mut all = Vec::new();
            for subject in subjects {
                let rows = s.query_map(params![notifier, subject], |r| {
                    Ok(Firing {
                        subject: r.get(0)?,
                        alertname: r.get(1)?,
                        alert: r.get(2)?,
                    })
                })?;
                for row in rows {
                    all.push(row?);
                }
            }
            Ok(all)
        })
        .await
    }

    /// The alerts `notifier` was told fire, to be sent again: all but those whose
    /// source has a delivery still owed to it, which carries newer news (a recovery
    /// sent after a resend would be undone by it).
    pub async fn firing_to_resend(&self, notifier: i64) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT f.alert FROM firing f WHERE f.notifier_id = ?1 AND NOT EXISTS ( \
                     SELECT 1 FROM deliveries d JOIN alerts a ON a.id = d.alert_id \
                     WHERE d.notifier_id = ?1 AND d.state = 'pending' AND {SUBJECT_SQL} = f.subject) \
                 ORDER BY f.subject, f.alertname"
            ))?;
            let rows = s
                .query_map([notifier], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_source_as_the_sql_does() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let cases = [
            ("target", "web", "", ""),
            ("service", "", "db1", "disk"),
            ("api", "", "db1", ""),
        ];
        for (kind, target, server, service) in cases {
            let a = AlertRecord {
                kind: kind.into(),
                target: target.into(),
                server: server.into(),
                service: service.into(),
                ..Default::default()
            };
            let sql: String = c
                .query_row(
                    &format!(
                        "SELECT {SUBJECT_SQL} FROM (SELECT ?1 AS kind, ?2 AS target, \
                         ?3 AS server, ?4 AS service) a"
                    ),
                    params![kind, target, server, service],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(subject(&a), sql);
        }
    }
}
