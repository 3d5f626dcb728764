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
    include_str!("../../sql/migrations/0007_rollups.sql"),
    include_str!("../../sql/migrations/0008_smaller_history.sql"),
    include_str!("../../sql/migrations/0009_warn_and_flap.sql"),
    include_str!("../../sql/migrations/0010_dependencies.sql"),
    include_str!("../../sql/migrations/0011_service_rules.sql"),
    include_str!("../../sql/migrations/0012_silences.sql"),
    include_str!("../../sql/migrations/0013_jobs.sql"),
    include_str!("../../sql/migrations/0014_alertmanager.sql"),
    include_str!("../../sql/migrations/0015_target_traces.sql"),
    include_str!("../../sql/migrations/0016_service_samples.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1 + MIGRATIONS.len() as u32;

/// Brings the database at `path` to [`SCHEMA_VERSION`], or refuses a newer one.
/// `conn` must have the store's SQL functions (`register_functions`, as every
/// connection the store opens has): migrations 8 and 16 pack with them.
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

    /// A connection with the functions the migrations use, as the store opens it.
    fn open(path: &Path) -> Connection {
        let c = Connection::open(path).unwrap();
        super::super::register_functions(&c).unwrap();
        c
    }

    #[test]
    fn new_database_gets_latest_version_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut c = open(&path);
        prepare(&mut c, &path).unwrap();
        prepare(&mut c, &path).unwrap();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    /// Every row `sql` selects, each made by `row`.
    fn all<T>(
        c: &Connection,
        sql: &str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Vec<T> {
        c.prepare(sql)
            .unwrap()
            .query_map([], row)
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Tables with their columns, and index names: what a database's schema is made of.
    fn shape(c: &Connection) -> Vec<String> {
        let items: Vec<(String, String)> = all(
            c,
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            |r| Ok((r.get(0)?, r.get(1)?)),
        );
        let mut shape = Vec::new();
        for (kind, name) in items {
            let mut line = format!("{kind} {name}");
            if kind == "table" {
                let sql = format!(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')"
                );
                let mut cols: Vec<String> = all(c, &sql, |r| {
                    Ok(format!(
                        "{} {} {} {:?} {}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?
                    ))
                });
                cols.sort();
                line = format!("{line}: {}", cols.join(", "));
            }
            shape.push(line);
        }
        shape
    }

    #[test]
    fn a_version_1_database_upgrades_to_the_schema_of_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("new.db");
        let mut c = open(&fresh);
        prepare(&mut c, &fresh).unwrap();
        let expected = shape(&c);
        let path = dir.path().join("old.db");
        let mut c = open(&path);
        c.execute_batch(include_str!("testdata/schema-v1.sql"))
            .unwrap();
        c.execute_batch("INSERT INTO alerts (time, kind, channel, event, message) VALUES (1, 'test', 'test', 'test', 'kept')")
            .unwrap();
        c.execute_batch(
            "INSERT INTO targets (name, url, last_trace) VALUES ('a', 'http://a/', 'GET http://a/ FAIL'), ('b', 'http://b/', '')",
        )
        .unwrap();
        prepare(&mut c, &path).unwrap();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        // Columns added by ALTER TABLE come last; their order aside, the same schema.
        assert_eq!(shape(&c), expected);
        let (message, description): (String, String) = c
            .query_row("SELECT message, description FROM alerts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((message.as_str(), description.as_str()), ("kept", ""));
        // Only the target that had a trace has one, moved out of its row.
        let traces: Vec<(i64, String)> =
            all(&c, "SELECT target_id, trace FROM target_traces", |r| {
                Ok((r.get(0)?, r.get(1)?))
            });
        assert_eq!(traces, [(1, "GET http://a/ FAIL".to_string())]);
    }

    #[test]
    fn version_6_history_is_summed_up_into_figures_and_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut c = open(&path);
        c.execute_batch(include_str!("testdata/schema-v6.sql"))
            .unwrap();
        let h: i64 = 3_600_000;
        // A target checked every minute: PASS, FAIL (now FAIL); a service OK, WARN,
        // OK, and silent for longer than its period since.
        c.execute_batch(&format!(
            "INSERT INTO targets (name, url, status, last_notified) VALUES ('t1', 'http://x/', 'FAIL', {f});
             INSERT INTO target_results (target_id, time, result, response_ms) VALUES
                 (1, {a}, 'PASS', 5), (1, {b}, 'FAIL', 700), (1, {f}, 'FAIL', 800);
             INSERT INTO target_hours (target_id, hour, checks, passes, total_ms) VALUES (1, 10, 3, 1, 1505);
             INSERT INTO servers (name, key_salt, key_hash, created) VALUES ('web1', '', '', 0);
             INSERT INTO services (server_id, name, state, period, last_report, timed_out)
                 VALUES (1, 'disk', 'OK', 60, {w2}, 1);
             INSERT INTO service_states (service_id, time, state) VALUES (1, {a}, 'OK'), (1, {w}, 'WARN'), (1, {w2}, 'OK');",
            a = 10 * h,
            b = 10 * h + 60_000,
            f = 10 * h + 120_000,
            w = 10 * h + 30_000,
            w2 = 10 * h + 50_000,
        ))
        .unwrap();
        prepare(&mut c, &path).unwrap();
        let target: (i64, i64, f64, f64, i64, i64) = c
            .query_row(
                "SELECT up_ms, down_ms, min_us / 1000.0, max_us / 1000.0, histogram FROM target_hours \
                 WHERE target_id = 1",
                [],
                |r| {
                    let h = super::super::rollup::histogram(r, 4)?;
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, h[0], h[6]))
                },
            )
            .unwrap();
        assert_eq!(target, (60_000, 60_000, 5.0, 800.0, 1, 2));
        let days: i64 = c
            .query_row("SELECT sum(checks) FROM target_days", [], |r| r.get(0))
            .unwrap();
        assert_eq!(days, 3);
        // Only the time not up has a row: the WARN's 20 s.
        let service: Vec<(i64, i64, i64)> = all(
            &c,
            "SELECT hour, warn_ms, offline_ms FROM service_hours WHERE service_id = 1",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        );
        assert_eq!(service, [(10, 20_000, 0)]);
        let filed: (i64, String, i64) = c
            .query_row(
                "SELECT filed_at, filed_state, first_report FROM services",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(filed, (10 * h + 50_000, "OFFLINE".to_string(), 10 * h));
        let incidents: (i64, i64, i64, i64) = c
            .query_row(
                "SELECT t.target_id, t.started, s.service_id, s.started \
                 FROM target_incidents t, service_incidents s WHERE t.ended IS NULL AND s.ended IS NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(incidents, (1, 10 * h + 120_000, 1, 10 * h + 110_000));
    }

    #[test]
    fn version_15_samples_are_packed_and_the_changes_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut c = open(&path);
        prepare(&mut c, &path).unwrap();
        // Version 15 kept every report as a row in service_states.
        c.execute_batch(
            "DROP TABLE service_samples; PRAGMA user_version = 15;
             INSERT INTO servers (name, key_salt, key_hash, created) VALUES ('web1', '', '', 0);
             INSERT INTO services (server_id, name, period, last_report) VALUES (1, 'disk', 60, 0), (1, 'load', 60, 0);",
        )
        .unwrap();
        let h: i64 = 3_600_000;
        let mut rows = vec![
            // disk: OK, two unchanged, FAIL, one unchanged, OFFLINE twice, then OK in
            // the next hour and one unchanged.
            (1, 10 * h, 0),
            (1, 10 * h + 300_000, 0),
            (1, 10 * h + 600_000, 0),
            (1, 10 * h + 900_000, 2),
            (1, 10 * h + 1_200_000, 2),
            (1, 10 * h + 1_500_000, 4),
            (1, 10 * h + 1_800_000, 4),
            (1, 11 * h + 5, 0),
            (1, 11 * h + 10, 0),
        ];
        // load: an OK and 70 unchanged a second apart, one hour.
        rows.extend((0..71).map(|i| (2, 20 * h + i * 1000, 0)));
        for (service, time, state) in &rows {
            c.execute(
                "INSERT INTO service_states (service_id, time, state, info) VALUES (?, ?, ?, ?)",
                rusqlite::params![service, time, state, format!("{time}")],
            )
            .unwrap();
        }
        prepare(&mut c, &path).unwrap();
        let stayed: Vec<(i64, i64)> = all(
            &c,
            "SELECT service_id, time FROM service_states ORDER BY service_id, time",
            |r| Ok((r.get(0)?, r.get(1)?)),
        );
        let at = |i: usize| (rows[i].0, rows[i].1);
        assert_eq!(stayed, [at(0), at(3), at(5), at(6), at(7), at(9)]);
        let packed: Vec<(i64, i64, i64, Vec<u8>)> = all(
            &c,
            "SELECT service_id, time, count, packed FROM service_samples ORDER BY service_id, time",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        );
        let heads: Vec<(i64, i64, i64)> = packed.iter().map(|p| (p.0, p.1, p.2)).collect();
        assert_eq!(
            heads,
            [
                (1, 10 * h + 300_000, 3),
                (1, 11 * h + 10, 1),
                (2, 20 * h + 1000, 64),
                (2, 20 * h + 65_000, 6)
            ]
        );
        // Every moved row comes back whole from its packed row.
        let mut moved: Vec<(i64, i64, i64, String)> = Vec::new();
        for (service, first, _, bytes) in &packed {
            let samples = crate::domain::samples::unpack_samples(*first, bytes).unwrap();
            moved.extend(
                samples
                    .into_iter()
                    .map(|s| (*service, s.time, i64::from(s.state), s.info)),
            );
        }
        let want: Vec<(i64, i64, i64, String)> = rows
            .iter()
            .filter(|r| !stayed.contains(&(r.0, r.1)))
            .map(|&(service, time, state)| (service, time, state, format!("{time}")))
            .collect();
        assert_eq!(moved, want);
    }

    #[test]
    fn newer_database_is_refused_with_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut c = open(&path);
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .unwrap();
        let err = prepare(&mut c, &path).unwrap_err().to_string();
        assert!(err.contains(&(SCHEMA_VERSION + 7).to_string()), "{err}");
        assert!(err.contains(&format!("({SCHEMA_VERSION})")), "{err}");
    }
}
