//! Notifiers: their definitions, counters and parameters, and the alert as they are
//! given it (the outbox of deliveries is `outbox`).

use super::targets::{text, SyncReport};
use super::{Result, Store, StoreError};
use crate::domain::target::Origin;
use crate::secret::json_error;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A notifier's definition columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierRow {
    /// Row id.
    pub id: i64,
    /// Unique name; config entries are matched to rows by it.
    pub name: String,
    /// `smtp`, `command` or `webhook` (a row added by hand may hold anything).
    pub kind: String,
    /// E-mail addresses, a command line or a URL.
    pub address: String,
    /// [`NotifierParams`] as JSON.
    pub params: String,
    /// Whether alerts are delivered to it.
    pub enabled: bool,
}

impl NotifierRow {
    /// The parameters; a row whose JSON cannot be read gets the defaults and the reason.
    pub fn params(&self) -> (NotifierParams, Option<String>) {
        match serde_json::from_str(&self.params) {
            Ok(p) => (p, None),
            // The parameters hold header values (tokens): described, never quoted.
            Err(e) => (
                NotifierParams::default(),
                Some(format!("params are not valid: {}", json_error(&e))),
            ),
        }
    }
}

/// Whether two rows deliver the same way (everything but the name).
fn same_definition(a: &NotifierRow, b: &NotifierRow) -> bool {
    (&a.kind, &a.address, &a.params, a.enabled) == (&b.kind, &b.address, &b.params, b.enabled)
}

/// Settings beyond the columns, stored as JSON in `notifiers.params`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifierParams {
    /// Seconds one attempt may take (default 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Extra request headers (webhook).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Only alerts about these targets; empty = all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub only_targets: Vec<String>,
    /// Only alerts about these servers; empty = all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub only_servers: Vec<String>,
    /// Seconds after a message during which further alerts are held and then sent
    /// together as one; 0 = each alone. Default
    /// [`crate::domain::supervise::DEFAULT_GROUP_INTERVAL_S`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<u32>,
    /// Seconds an alert must stay unresolved and unacknowledged before this notifier
    /// hears of it (then also of its recovery); 0 or absent: at once (SPEC §15).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<u32>,
    /// Labels added to every alert (alertmanager).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Seconds between two sendings of the alerts that fire (alertmanager; default
    /// 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resend_interval: Option<u32>,
}

impl NotifierParams {
    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A notifier as `skypunchctl notifiers` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierInfo {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Whether alerts are delivered to it.
    pub enabled: bool,
    /// `smtp`, `command` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// E-mail addresses, a command line or a URL.
    pub address: String,
    /// Deliveries made.
    pub pass_count: i64,
    /// Attempts that failed.
    pub fail_count: i64,
    /// Deliveries waiting for it.
    pub pending: i64,
    /// The error of its latest failed attempt, if any.
    pub last_error: String,
}

/// An alert as the notifiers are given it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertRecord {
    /// Row id.
    pub id: i64,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// `target`, `service`, `api`, `notifier`, `test`.
    pub kind: String,
    /// The target's name (target alerts).
    pub target: String,
    /// The server (alerts from pushed data).
    pub server: String,
    /// The service, if the alert is about one.
    pub service: String,
    /// OverC's channel: `target`, `service:state`, `plugin`, `api`, `notifier`.
    pub channel: String,
    /// `FAILURE`, `RECOVERY`, the new state, `offline`, `online`, `alert`, ...
    pub event: String,
    /// The alert's first line.
    pub message: String,
    /// The source's state when it was raised (for the `Current:` line).
    pub state: String,
    /// The state before.
    pub previous: String,
    /// A target check's one-line description.
    pub description: String,
    /// Targets: the request, counters and trace; services: the current info.
    pub details: String,
}

/// Read with [`text`] and integer casts, so that no value typed in by hand makes a row
/// unreadable.
const INFO_COLUMNS: &str = "n.id, n.name, CAST(n.enabled AS INTEGER) != 0, \
     n.type, n.address, CAST(n.pass_count AS INTEGER), \
     CAST(n.fail_count AS INTEGER), (SELECT count(*) FROM deliveries d WHERE d.notifier_id = n.id \
     AND d.state = 'pending'), (SELECT d.last_error FROM deliveries d WHERE d.notifier_id = n.id \
     AND d.last_error != '' ORDER BY d.id DESC LIMIT 1)";

fn info_row(r: &Row) -> rusqlite::Result<NotifierInfo> {
    Ok(NotifierInfo {
        id: r.get(0)?,
        name: text(r, 1)?,
        enabled: r.get(2)?,
        kind: text(r, 3)?,
        address: text(r, 4)?,
        pass_count: r.get(5)?,
        fail_count: r.get(6)?,
        pending: r.get(7)?,
        last_error: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
    })
}

/// Read with [`text`] and integer casts, so that no value typed in by hand makes a row
/// unreadable.
const DEF_COLUMNS: &str = "id, name, type, address, \
     params, CAST(enabled AS INTEGER) != 0";

fn def_row(r: &Row) -> rusqlite::Result<NotifierRow> {
    Ok(NotifierRow {
        id: r.get(0)?,
        name: text(r, 1)?,
        kind: text(r, 2)?,
        address: text(r, 3)?,
        params: text(r, 4)?,
        enabled: r.get(5)?,
    })
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("id: {id} does not exist"))
}

pub(super) fn name_of(c: &Connection, id: i64) -> Result<String> {
    c.query_row("SELECT name FROM notifiers WHERE id = ?", [id], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| not_found(id))
}

fn insert_row(c: &Connection, row: &NotifierRow, origin: Origin) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO notifiers (name, type, address, params, enabled, origin) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        row.name,
        row.kind,
        row.address,
        row.params,
        row.enabled,
        origin.as_str()
    ])?;
    Ok(c.last_insert_rowid())
}

impl Store {
    /// All notifiers for the list view.
    pub async fn list_notifiers(&self) -> Result<Vec<NotifierInfo>> {
        self.read(|c| {
            let mut s = c.prepare(&format!(
                "SELECT {INFO_COLUMNS} FROM notifiers n ORDER BY id"
            ))?;
            let rows = s
                .query_map([], info_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// The enabled Alertmanager notifiers, whose firing alerts are sent again.
    pub async fn alertmanager_notifiers(&self) -> Result<Vec<NotifierRow>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {DEF_COLUMNS} FROM notifiers \
                 WHERE type = 'alertmanager' AND CAST(enabled AS INTEGER) != 0 ORDER BY id"
            ))?;
            let rows = s.query_map([], def_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// One notifier with its counters.
    pub async fn notifier_info(&self, id: i64) -> Result<NotifierInfo> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {INFO_COLUMNS} FROM notifiers n WHERE id = ?"),
                [id],
                info_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
        })
        .await
    }

    /// One notifier's definition.
    pub async fn notifier_row(&self, id: i64) -> Result<NotifierRow> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {DEF_COLUMNS} FROM notifiers WHERE id = ?"),
                [id],
                def_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
        })
        .await
    }

    /// Adds a notifier; returns its id.
    pub async fn add_notifier(&self, row: NotifierRow, origin: Origin) -> Result<i64> {
        self.write(move |c| {
            let taken: bool = c.query_row(
                "SELECT EXISTS (SELECT 1 FROM notifiers WHERE name = ?)",
                [&row.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(StoreError::Invalid(format!(
                    "a notifier named {:?} already exists",
                    row.name
                )));
            }
            insert_row(c, &row, origin)
        })
        .await
    }

    /// Removes a notifier and its pending deliveries; returns its name.
    pub async fn remove_notifier(&self, id: i64) -> Result<String> {
        self.write(move |c| {
            let name = name_of(c, id)?;
            c.execute("DELETE FROM notifiers WHERE id = ?", [id])?;
            Ok(name)
        })
        .await
    }

    /// Enables or disables a notifier; returns its name.
    pub async fn set_notifier_enabled(&self, id: i64, enabled: bool) -> Result<String> {
        self.write(move |c| {
            let name = name_of(c, id)?;
            c.execute(
                "UPDATE notifiers SET enabled = ? WHERE id = ? AND enabled != ?",
                params![enabled, id, enabled],
            )?;
            Ok(name)
        })
        .await
    }

    /// Makes the `config` notifiers match the file's entries, by name (as for targets).
    pub async fn sync_config_notifiers(&self, rows: Vec<NotifierRow>) -> Result<SyncReport> {
        self.write(move |c| {
            let mut report = SyncReport::default();
            let existing: Vec<NotifierRow> = c
                .prepare(&format!(
                    "SELECT {DEF_COLUMNS} FROM notifiers WHERE origin = 'config'"
                ))?
                .query_map([], def_row)?
                .collect::<rusqlite::Result<_>>()?;
            let kept = |e: &NotifierRow| rows.iter().any(|w| w.name == e.name);
            // Rows whose entry left the file; one may come back under a new name.
            let mut leaving: Vec<&NotifierRow> = existing.iter().filter(|e| !kept(e)).collect();
            for want in &rows {
                match existing.iter().find(|e| e.name == want.name) {
                    // A new name for the same definition is a rename: the row, its
                    // counters and its pending deliveries stay.
                    None if leaving.iter().any(|g| same_definition(g, want)) => {
                        let at = leaving.iter().position(|g| same_definition(g, want));
                        let renamed = leaving.remove(at.unwrap_or(0));
                        c.execute(
                            "UPDATE notifiers SET name = ? WHERE id = ?",
                            params![want.name, renamed.id],
                        )?;
                        report.updated += 1;
                    }
                    None => {
                        insert_row(c, want, Origin::Config)?;
                        report.added += 1;
                    }
                    Some(have) if !same_definition(have, want) => {
                        c.execute(
                            "UPDATE notifiers SET type = ?, address = ?, params = ?, enabled = ? \
                             WHERE id = ?",
                            params![want.kind, want.address, want.params, want.enabled, have.id],
                        )?;
                        report.updated += 1;
                    }
                    Some(_) => {}
                }
            }
            for gone in leaving {
                c.execute("DELETE FROM notifiers WHERE id = ?", [gone.id])?;
                report.removed += 1;
            }
            Ok(report)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_and_leave_out_defaults() {
        let p = NotifierParams {
            timeout: Some(5),
            only_targets: vec!["web".into()],
            ..Default::default()
        };
        assert_eq!(p.to_json(), r#"{"timeout":5,"only_targets":["web"]}"#);
        let row = NotifierRow {
            id: 1,
            name: "x".into(),
            kind: "command".into(),
            address: "true".into(),
            params: p.to_json(),
            enabled: true,
        };
        assert_eq!(row.params(), (p, None));
        let bad = NotifierRow {
            params: "{".into(),
            ..row
        };
        assert!(bad.params().1.unwrap().contains("not valid"));
    }

    #[tokio::test]
    async fn renaming_a_notifier_in_the_file_keeps_its_pending_deliveries() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&dir.path().join("t.db"), crate::store::Durability::Normal).unwrap();
        let row = |name: &str, address: &str| NotifierRow {
            id: 0,
            name: name.into(),
            kind: "command".into(),
            address: address.into(),
            params: "{}".into(),
            enabled: true,
        };
        store
            .sync_config_notifiers(vec![row("ops", "./page.sh"), row("old", "./mail.sh")])
            .await
            .unwrap();
        store
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO alerts (id, time, kind, channel, event, message) VALUES (1, 0, 'test', 'c', 'e', 'm');
                     INSERT INTO deliveries (alert_id, notifier_id, next_attempt, created) VALUES (1, 1, 0, 0), (1, 2, 0, 0);",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        // "ops" is renamed; "old" leaves and a new notifier with another command comes.
        let report = store
            .sync_config_notifiers(vec![
                row("operations", "./page.sh"),
                row("new", "./other.sh"),
            ])
            .await
            .unwrap();
        assert_eq!((report.added, report.updated, report.removed), (1, 1, 1));
        let kept: Vec<(i64, String)> = store
            .read(|c| {
                let mut s = c.prepare(
                    "SELECT d.notifier_id, n.name FROM deliveries d JOIN notifiers n ON n.id = d.notifier_id",
                )?;
                let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
            .unwrap();
        assert_eq!(kept, [(1, "operations".to_string())]);
    }
}
