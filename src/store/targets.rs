//! Targets in the database: definitions, as typed in or synced from the file, and the
//! list and detail views. Their check results are in [`checks`](super::checks).

use super::{Result, Store, StoreError};
use crate::domain::target::{Origin, TargetRow};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// A target as `skypunchctl targets` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// NEW, PASS or FAIL.
    pub status: String,
    /// Description of the last check.
    pub status_description: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC) of the last check, empty before the first.
    pub last_updated: String,
    /// Checked or not.
    pub enabled: bool,
    /// URL.
    pub url: String,
    /// HTTP method (GET, PUT, POST, DELETE, HEAD, PATCH, OPTIONS).
    pub method: String,
    /// NONE, BASIC or OPENSTACK.
    pub auth_type: String,
    /// Expected status.
    pub expect_status: i64,
    /// Seconds between checks.
    pub frequency: i64,
    /// Seconds per check.
    pub timeout: i64,
    /// Checks PASS.
    pub pass_count: i64,
    /// Checks FAIL.
    pub fail_count: i64,
    /// Checks WARN.
    pub warn_count: i64,
    /// Responses with a 2xx status.
    pub count200: i64,
    /// Responses with a 3xx status.
    pub count300: i64,
    /// Responses with a 4xx status.
    pub count400: i64,
    /// Responses with a 5xx status.
    pub count500: i64,
    /// Checks that got no HTTP response at all.
    pub network_fails: i64,
    /// Consecutive failed checks.
    pub repeated_fails: i64,
    /// The last check's trace (detail view only).
    pub last_trace: Option<String>,
}

impl TargetInfo {
    /// At most how many bytes the row takes in a compact encoding (the control
    /// socket's: an integer, zigzagged, in 1 byte below 251, 3 below 2^16, 5 below 2^32,
    /// else 9; a text as its length so encoded and its bytes; one byte per flag and
    /// option tag), so a page of them can be cut to fit one frame.
    pub fn encoded_bound(&self) -> usize {
        let texts = [
            &self.name,
            &self.status,
            &self.status_description,
            &self.last_updated,
            &self.url,
            &self.method,
            &self.auth_type,
        ];
        let numbers = [
            self.id,
            self.expect_status,
            self.frequency,
            self.timeout,
            self.pass_count,
            self.fail_count,
            self.warn_count,
            self.count200,
            self.count300,
            self.count400,
            self.count500,
            self.network_fails,
            self.repeated_fails,
        ];
        texts.iter().map(|s| text_bound(s)).sum::<usize>()
            + numbers.iter().map(|&n| number_bound(n)).sum::<usize>()
            + 1
            + 1
            + self.last_trace.as_deref().map_or(0, text_bound)
    }
}

/// Reads `rows` until the `bound`s of those read pass `bytes` (at least one): a page of
/// a long list that fits one control frame.
pub(super) fn page_of<T>(
    mut rows: rusqlite::Rows<'_>,
    bytes: usize,
    read: impl Fn(&Row) -> rusqlite::Result<T>,
    bound: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let (mut page, mut size) = (Vec::new(), 0usize);
    while size < bytes {
        let Some(r) = rows.next()? else { break };
        let item = read(r)?;
        size = size.saturating_add(bound(&item));
        page.push(item);
    }
    Ok(page)
}

/// At most how many bytes an integer takes in a compact encoding (the control
/// socket's: zigzagged, 1 byte below 251, 3 below 2^16, 5 below 2^32, else 9).
fn number_bound(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    match z {
        0..=250 => 1,
        251..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// A text's length so encoded, and its bytes.
fn text_bound(s: &str) -> usize {
    number_bound(i64::try_from(s.len()).unwrap_or(i64::MAX)) + s.len()
}

/// A target as one line of the list's table: the columns it shows, read alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLine {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// NEW, PASS, WARN or FAIL.
    pub status: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC) of the last check, empty before the first.
    pub last_updated: String,
    /// Checked or not.
    pub enabled: bool,
    /// Checks PASS.
    pub pass_count: i64,
    /// Checks FAIL.
    pub fail_count: i64,
}

impl TargetLine {
    /// As [`TargetInfo::encoded_bound`].
    pub fn encoded_bound(&self) -> usize {
        [&self.name, &self.status, &self.last_updated]
            .iter()
            .map(|s| text_bound(s))
            .sum::<usize>()
            + [self.id, self.pass_count, self.fail_count]
                .iter()
                .map(|&n| number_bound(n))
                .sum::<usize>()
            + 1
    }
}

/// What `sync_config_targets` changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rows created.
    pub added: usize,
    /// Rows whose definition changed.
    pub updated: usize,
    /// Rows removed because their entry left the file.
    pub removed: usize,
}

/// Text columns are read with [`text`], whole-number columns as they are stored (see
/// [`whole`]): a value typed in by hand of another type never fails the read.
const DEF_COLUMNS: &str = "id, name, url, method, \
     authn, authn_params, expect_status, frequency, timeout, \
     enabled, options";

fn def_row(r: &Row) -> rusqlite::Result<TargetRow> {
    let mut unreadable = None;
    let mut int = |i: usize, column: &str, what: &str| {
        let (n, problem) = whole(r.get_ref(i)?, column, what);
        if unreadable.is_none() {
            unreadable = problem;
        }
        Ok::<_, rusqlite::Error>(n)
    };
    let expect_status = int(6, "expect_status", "an HTTP status")?;
    let frequency = int(7, "frequency", "a whole number of seconds")?;
    let timeout = int(8, "timeout", "a whole number of seconds")?;
    let enabled = int(9, "enabled", "0 or 1")? != 0;
    Ok(TargetRow {
        id: r.get(0)?,
        name: text(r, 1)?,
        url: text(r, 2)?,
        method: text(r, 3)?,
        authn: text(r, 4)?,
        authn_params: text(r, 5)?,
        expect_status,
        frequency,
        timeout,
        enabled,
        options: text(r, 10)?,
        unreadable,
    })
}

/// A text column whatever it holds: a number as its digits, NULL as empty, and bytes
/// that are not UTF-8 (a blob typed in by hand) replaced, not refused.
pub(super) fn text(r: &Row, i: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    })
}

/// A whole-number column as stored, which for a row typed in by hand may be anything
/// (`0.5`, `'often'`): such a value reads as 0, with a description naming the column.
pub(super) fn whole(
    v: rusqlite::types::ValueRef,
    column: &str,
    what: &str,
) -> (i64, Option<String>) {
    use rusqlite::types::ValueRef;
    let shown = match v {
        ValueRef::Integer(n) => return (n, None),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Null => "NULL".into(),
        ValueRef::Blob(_) => "a blob".into(),
    };
    (0, Some(format!("invalid {column} {shown} ({what})")))
}

/// Every column read so that no value typed in by hand can make a row unreadable
/// (the list of targets must never fail because of one bad row).
const INFO_COLUMNS: &str = "id, name, status, \
     status_description, last_updated, \
     CAST(enabled AS INTEGER), url, method, authn, \
     CAST(expect_status AS INTEGER), CAST(frequency AS INTEGER), CAST(timeout AS INTEGER), \
     CAST(pass_count AS INTEGER), CAST(fail_count AS INTEGER), CAST(count200 AS INTEGER), \
     CAST(count300 AS INTEGER), CAST(count400 AS INTEGER), CAST(count500 AS INTEGER), \
     CAST(network_fails AS INTEGER), CAST(repeated_fails AS INTEGER), CAST(warn_count AS INTEGER)";

fn info_row(r: &Row, with_trace: bool) -> rusqlite::Result<TargetInfo> {
    Ok(TargetInfo {
        id: r.get(0)?,
        name: text(r, 1)?,
        status: text(r, 2)?,
        status_description: text(r, 3)?,
        last_updated: text(r, 4)?,
        enabled: r.get::<_, Option<i64>>(5)?.unwrap_or(0) != 0,
        url: text(r, 6)?,
        method: text(r, 7)?.to_ascii_uppercase(),
        auth_type: text(r, 8)?.to_ascii_uppercase(),
        expect_status: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
        frequency: r.get::<_, Option<i64>>(10)?.unwrap_or(0),
        timeout: r.get::<_, Option<i64>>(11)?.unwrap_or(0),
        pass_count: r.get(12)?,
        fail_count: r.get(13)?,
        count200: r.get(14)?,
        count300: r.get(15)?,
        count400: r.get(16)?,
        count500: r.get(17)?,
        network_fails: r.get(18)?,
        repeated_fails: r.get(19)?,
        warn_count: r.get::<_, Option<i64>>(20)?.unwrap_or(0),
        last_trace: if with_trace {
            text(r, 21).map(Some)?
        } else {
            None
        },
    })
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("id: {id} does not exist"))
}

fn insert_row(c: &Connection, row: &TargetRow, origin: Origin) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO targets (name, url, method, authn, authn_params, expect_status, frequency, \
         timeout, enabled, options, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        row.name,
        row.url,
        row.method,
        row.authn,
        row.authn_params,
        row.expect_status,
        row.frequency,
        row.timeout,
        row.enabled,
        row.options,
        origin.as_str()
    ])?;
    Ok(c.last_insert_rowid())
}

impl Store {
    /// A number that changes whenever any target or notifier definition changes.
    pub async fn definitions_version(&self) -> Result<i64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT value FROM meta WHERE key = 'definitions'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Every target's definition columns.
    pub async fn target_rows(&self) -> Result<Vec<TargetRow>> {
        self.read(|c| {
            let mut s = c.prepare(&format!("SELECT {DEF_COLUMNS} FROM targets ORDER BY id"))?;
            let rows = s.query_map([], def_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// One target's definition columns.
    pub async fn target_row(&self, id: i64) -> Result<TargetRow> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {DEF_COLUMNS} FROM targets WHERE id = ?"),
                [id],
                def_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
        })
        .await
    }

    /// All targets for the list view.
    pub async fn list_targets(&self) -> Result<Vec<TargetInfo>> {
        self.read(|c| {
            let mut s = c.prepare(&format!("SELECT {INFO_COLUMNS} FROM targets ORDER BY id"))?;
            let rows = s
                .query_map([], |r| info_row(r, false))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Targets with an id above `after`, in id order, until their text passes `bytes`
    /// (at least one): a page of the list that fits a control frame.
    pub async fn list_targets_after(&self, after: i64, bytes: usize) -> Result<Vec<TargetInfo>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {INFO_COLUMNS} FROM targets WHERE id > ? ORDER BY id"
            ))?;
            let page = page_of(
                s.query([after])?,
                bytes,
                |r| info_row(r, false),
                TargetInfo::encoded_bound,
            )?;
            Ok(page)
        })
        .await
    }

    /// As [`list_targets_after`](Self::list_targets_after), the table's columns only.
    pub async fn list_target_lines_after(
        &self,
        after: i64,
        bytes: usize,
    ) -> Result<Vec<TargetLine>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(
                "SELECT id, name, status, last_updated, CAST(enabled AS INTEGER), \
                 CAST(pass_count AS INTEGER), CAST(fail_count AS INTEGER) FROM targets \
                 WHERE id > ? ORDER BY id",
            )?;
            let line = |r: &Row| {
                Ok(TargetLine {
                    id: r.get(0)?,
                    name: text(r, 1)?,
                    status: text(r, 2)?,
                    last_updated: text(r, 3)?,
                    enabled: r.get::<_, Option<i64>>(4)?.unwrap_or(0) != 0,
                    pass_count: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                    fail_count: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
                })
            };
            let page = page_of(s.query([after])?, bytes, line, TargetLine::encoded_bound)?;
            Ok(page)
        })
        .await
    }

    /// One target with its last trace.
    pub async fn target_info(&self, id: i64) -> Result<TargetInfo> {
        self.read(move |c| {
            c.query_row(
                &format!(
                    "SELECT {INFO_COLUMNS}, coalesce((SELECT trace FROM target_traces \
                     WHERE target_id = targets.id), '') FROM targets WHERE id = ?"
                ),
                [id],
                |r| info_row(r, true),
            )
            .optional()?
            .ok_or_else(|| not_found(id))
        })
        .await
    }

    /// Adds a target; returns its id.
    pub async fn add_target(&self, row: TargetRow, origin: Origin) -> Result<i64> {
        self.write(move |c| insert_row(c, &row, origin)).await
    }

    /// Removes a target and its history; returns its name.
    pub async fn remove_target(&self, id: i64) -> Result<String> {
        self.write(move |c| {
            let name: String = c
                .query_row("SELECT name FROM targets WHERE id = ?", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| not_found(id))?;
            c.execute("DELETE FROM targets WHERE id = ?", [id])?;
            Ok(name)
        })
        .await
    }

    /// Enables or disables a target; returns its name.
    pub async fn set_target_enabled(&self, id: i64, enabled: bool) -> Result<String> {
        self.write(move |c| {
            let name: String = c
                .query_row("SELECT name FROM targets WHERE id = ?", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| not_found(id))?;
            c.execute(
                "UPDATE targets SET enabled = ? WHERE id = ? AND enabled != ?",
                params![enabled, id, enabled],
            )?;
            Ok(name)
        })
        .await
    }

    /// Makes the `config` rows match the file's entries, by name: creates the new,
    /// updates the changed, removes those no longer listed. Other rows are untouched.
    pub async fn sync_config_targets(&self, rows: Vec<TargetRow>) -> Result<SyncReport> {
        self.write(move |c| {
            let mut report = SyncReport::default();
            let existing: Vec<TargetRow> = c
                .prepare(&format!(
                    "SELECT {DEF_COLUMNS} FROM targets WHERE origin = 'config'"
                ))?
                .query_map([], def_row)?
                .collect::<rusqlite::Result<_>>()?;
            for want in &rows {
                match existing.iter().find(|e| e.name == want.name) {
                    None => {
                        insert_row(c, want, Origin::Config)?;
                        report.added += 1;
                    }
                    Some(have) if !same_definition(have, want) => {
                        c.execute(
                            "UPDATE targets SET url = ?, method = ?, authn = ?, authn_params = ?, \
                             expect_status = ?, frequency = ?, timeout = ?, enabled = ?, options = ? \
                             WHERE id = ?",
                            params![
                                want.url,
                                want.method,
                                want.authn,
                                want.authn_params,
                                want.expect_status,
                                want.frequency,
                                want.timeout,
                                want.enabled,
                                want.options,
                                have.id
                            ],
                        )?;
                        report.updated += 1;
                    }
                    Some(_) => {}
                }
            }
            for gone in existing.iter().filter(|e| !rows.iter().any(|w| w.name == e.name)) {
                c.execute("DELETE FROM targets WHERE id = ?", [gone.id])?;
                report.removed += 1;
            }
            Ok(report)
        })
        .await
    }
}

fn same_definition(a: &TargetRow, b: &TargetRow) -> bool {
    (
        &a.url,
        &a.method,
        &a.authn,
        &a.authn_params,
        a.expect_status,
        a.frequency,
        a.timeout,
        a.enabled,
        &a.options,
    ) == (
        &b.url,
        &b.method,
        &b.authn,
        &b.authn_params,
        b.expect_status,
        b.frequency,
        b.timeout,
        b.enabled,
        &b.options,
    )
}
