//! Schema creation and `PRAGMA user_version` migrations.
//!
//! `sql/schema.sql` is the latest schema; a new database gets it whole. An older
//! database is moved up one version at a time by the files in `sql/migrations/`, each
//! in its own transaction with its version bump, so an interrupted upgrade resumes
//! where it stopped.

use super::{Result, StoreError};
use rusqlite::Connection;
use std::path::Path;

/// The latest schema.
const SCHEMA: &str = include_str!("../../sql/schema.sql");

/// Upgrades, in order: entry `i` moves a database from version `i + 1` to `i + 2`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../sql/migrations/0002_alert_description.sql"),
    include_str!("../../sql/migrations/0003_target_hours.sql"),
    include_str!("../../sql/migrations/0004_service_states_prune.sql"),
    include_str!("../../sql/migrations/0005_service_reports.sql"),
    include_str!("../../sql/migrations/0006_prune_indexes.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1 + MIGRATIONS.len() as u32;

/// Brings the database at `path` to [`SCHEMA_VERSION`], or refuses a newer one.
pub(super) fn prepare(conn: &mut Connection, path: &Path) -> Result<()> {
    let fail = |message: String| StoreError::Schema {
        path: path.to_path_buf(),
        message,
    };
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| fail(format!("cannot read the schema version: {e}")))?;
    if version > SCHEMA_VERSION {
        return Err(fail(format!(
            "schema version {version} is newer than this skypunchd supports ({SCHEMA_VERSION}); \
             upgrade skypunchd or use the database it was made for"
        )));
    }
    if version == 0 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)
            .map_err(|e| fail(format!("cannot create the schema: {e}")))?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        return Ok(());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize - 1) {
        let to = i as u32 + 2;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| fail(format!("upgrade to schema version {to} failed: {e}")))?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
        log::info!(
            "database {}: upgraded to schema version {to}",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_database_gets_latest_version_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut c = Connection::open(&path).unwrap();
        prepare(&mut c, &path).unwrap();
        prepare(&mut c, &path).unwrap();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn version_1_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE alerts (id INTEGER PRIMARY KEY, message TEXT NOT NULL, service_id INTEGER);
             CREATE TABLE deliveries (id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL);
             CREATE TABLE services (id INTEGER PRIMARY KEY);
             CREATE TABLE service_states (id INTEGER PRIMARY KEY, service_id INTEGER, time INTEGER, state TEXT, info TEXT);
             INSERT INTO alerts (message) VALUES ('kept');
             PRAGMA user_version = 1;",
        )
        .unwrap();
        prepare(&mut c, &path).unwrap();
        let (message, description): (String, String) = c
            .query_row("SELECT message, description FROM alerts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((message.as_str(), description.as_str()), ("kept", ""));
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn newer_database_is_refused_with_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .unwrap();
        let err = prepare(&mut c, &path).unwrap_err().to_string();
        assert!(err.contains(&(SCHEMA_VERSION + 7).to_string()), "{err}");
        assert!(err.contains(&format!("({SCHEMA_VERSION})")), "{err}");
    }
}
