//! Jobs that ping (SPEC §17): a job is a service of its server with a `jobs` row (its
//! ping id, schedule and grace), so history, alerts, rules, silences and reports treat
//! it as any service. A success or failure ping is recorded as that service's report,
//! by the code of pushed reports, with the period until the schedule's next due time:
//! the offline check of every service then tells a late job (`job/late`).

use super::push::{record_report, Reporter};
use super::servers::create_server;
use super::{Result, Store, StoreError, Tx};
use crate::domain::jobs::{new_uuid, BadJob, PingKind, PingTarget, Schedule};
use crate::domain::report::{ServiceReport, ServiceState};
use crate::domain::time::now_ms;
use rusqlite::{params, OptionalExtension};

/// The most of a ping's body kept; the rest is dropped.
pub const MAX_PING_BODY: usize = 100 * 1024;
/// Longest info taken from a ping's first line.
const MAX_INFO: usize = 200;
/// What a job registered by `?create=1` promises: a ping a day, an hour late at most.
const CREATED_PERIOD_S: u32 = 86_400;
const CREATED_GRACE_S: u32 = 3_600;

/// A job to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewJob {
    /// Its server (created when it does not exist).
    pub server: String,
    /// Its name, unique among the server's services.
    pub name: String,
    /// Seconds between pings, or
    pub period: Option<u32>,
    /// a five-field cron expression,
    pub cron: Option<String>,
    /// in this zone (default: the host's).
    pub tz: Option<String>,
    /// Seconds after the due time before it is late.
    pub grace: u32,
}

/// A job as stored, with its service's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Its service's id.
    pub id: i64,
    /// Its server.
    pub server: String,
    /// Its name.
    pub name: String,
    /// Its ping id.
    pub uuid: String,
    /// `every 1h 00m` or `0 3 * * * (Europe/Berlin)`.
    pub schedule: String,
    /// Seconds after the due time before it is late.
    pub grace: u32,
    /// Its latest ping (ms), `None` before the first.
    pub last_ping: Option<i64>,
    /// When its next ping is due (ms).
    pub next_due: Option<i64>,
    /// `NEW` (never pinged), `OK`, `FAIL`, `LATE` (offline), `RUNNING` (started).
    pub status: String,
    /// The latest run's time from `/start` to its end (ms).
    pub run_ms: Option<i64>,
}

/// The schedule a row (or a new job) describes.
fn schedule_of(period: u32, cron: &str, tz: &str) -> std::result::Result<Schedule, BadJob> {
    if cron.is_empty() {
        return Ok(Schedule::Every(period.max(1)));
    }
    Schedule::cron(cron, tz)
}

/// The seconds until the next due time after `now`, as the service's period.
fn period_until_due(schedule: &Schedule, now: i64) -> i64 {
    let due = schedule.next_due(now).unwrap_or(now + 86_400_000);
    ((due - now) + 999).div_euclid(1000).max(1)
}

/// The host's time zone, by name (cron schedules default to it).
fn host_zone() -> String {
    jiff::tz::TimeZone::system()
        .iana_name()
        .unwrap_or("UTC")
        .to_string()
}

/// Adds job `name` to server `server_id` and returns its service id.
fn insert_job(
    c: &Tx,
    server_id: i64,
    name: &str,
    (period, cron, tz): (u32, &str, &str),
    grace: u32,
    now: i64,
) -> Result<i64> {
    let schedule = schedule_of(period, cron, tz).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let taken: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM services WHERE server_id = ? AND name = ?)")?
        .query_row(params![server_id, name], |r| r.get(0))?;
    if taken {
        return Err(StoreError::Invalid(format!(
            "the server already has a service or job named {name:?}"
        )));
    }
    c.prepare_cached(
        "INSERT INTO services (server_id, name, state, period, last_report) VALUES (?, ?, 'OK', ?, ?)",
    )?
    .execute(params![server_id, name, period_until_due(&schedule, now), now])?;
    let id = c.last_insert_rowid();
    c.prepare_cached(
        "INSERT INTO jobs (service_id, uuid, period, cron, tz, grace, created) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![id, new_uuid(), period, cron, tz, grace, now])?;
    c.forget();
    Ok(id)
}

/// A job a ping names, with what recording it needs.
struct Hit {
    service_id: i64,
    name: String,
    server_id: i64,
    server: String,
    period: u32,
    cron: String,
    tz: String,
    started: Option<i64>,
    first_ping: Option<i64>,
}

/// The job whose row `filter` (SQL over `jobs`, with `args`) selects, with its
/// service's and server's names. Single-table lookups: as one join, SQLite prepared
/// the statement again at every execution.
fn hit_where(c: &Tx, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Option<Hit>> {
    let found = c
        .prepare_cached(&format!(
            "SELECT service_id, period, cron, tz, started, first_ping FROM jobs WHERE {filter}"
        ))?
        .query_row(args, |r| {
            Ok(Hit {
                service_id: r.get(0)?,
                period: r.get(1)?,
                cron: r.get(2)?,
                tz: r.get(3)?,
                started: r.get(4)?,
                first_ping: r.get(5)?,
                name: String::new(),
                server_id: 0,
                server: String::new(),
            })
        })
        .optional()?;
    let Some(mut hit) = found else {
        return Ok(None);
    };
    (hit.name, hit.server_id) = c
        .prepare_cached("SELECT name, server_id FROM services WHERE id = ?")?
        .query_row([hit.service_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    hit.server = c
        .prepare_cached("SELECT name FROM servers WHERE id = ?")?
        .query_row([hit.server_id], |r| r.get(0))?;
    Ok(Some(hit))
}

/// The job `target` names; with `create`, a slug naming an unknown job of a known
/// ping key registers it (`--period 1d --grace 1h`).
fn find_job(c: &Tx, target: &PingTarget, create: bool, now: i64) -> Result<Option<Hit>> {
    match target {
        PingTarget::Uuid(uuid) => hit_where(c, "uuid = ?", &[uuid]),
        PingTarget::Slug { key, name } => {
            let found = hit_where(
                c,
                "service_id = (SELECT s.id FROM servers v JOIN services s ON s.server_id = v.id \
                 WHERE v.ping_key = ? AND s.name = ?)",
                &[key, name],
            )?;
            if found.is_some() || !create {
                return Ok(found);
            }
            let server: Option<i64> = c
                .prepare_cached("SELECT id FROM servers WHERE ping_key = ?")?
                .query_row([key], |r| r.get(0))
                .optional()?;
            let Some(server) = server else {
                return Ok(None);
            };
            let created = (CREATED_PERIOD_S, "", "");
            insert_job(c, server, name, created, CREATED_GRACE_S, now)?;
            log::info!("job {name:?} registered by its first ping (?create=1)");
            find_job(c, target, false, now)
        }
    }
}

/// The service's info from a ping: its body's first line, after the exit status of a
/// failure.
fn info_of(kind: PingKind, body: &str) -> String {
    let line: String = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(MAX_INFO)
        .collect();
    match (kind, line.is_empty()) {
        (PingKind::Exit(n @ 1..), true) => format!("exit status {n}"),
        (PingKind::Exit(n @ 1..), false) => format!("exit status {n}: {line}"),
        _ => line,
    }
}

impl Store {
    /// Adds a job (and its server when it does not exist yet); returns it.
    pub async fn add_job(&self, new: NewJob) -> Result<JobRow> {
        let zone = new.tz.clone().unwrap_or_else(host_zone);
        self.write(move |c| {
            let now = now_ms();
            let n = new.name.chars().count();
            if n == 0 || n > crate::domain::report::MAX_NAME || new.name.contains('/') {
                return Err(StoreError::Invalid(format!(
                    "a job name is 1 to {} characters, without '/'",
                    crate::domain::report::MAX_NAME
                )));
            }
            let cron = new.cron.as_deref().unwrap_or("");
            let period = match (new.period, cron.is_empty()) {
                (Some(p), true) if p > 0 => p,
                (None, false) => 0,
                _ => {
                    return Err(StoreError::Invalid(
                        "give a period (of at least 1 s) or a cron expression, not both".into(),
                    ))
                }
            };
            let server: Option<i64> = c
                .prepare_cached("SELECT id FROM servers WHERE name = ?")?
                .query_row([&new.server], |r| r.get(0))
                .optional()?;
            let server = match server {
                Some(id) => id,
                None => {
                    create_server(c, &new.server)?;
                    c.last_insert_rowid()
                }
            };
            let tz = if cron.is_empty() { "" } else { zone.as_str() };
            let id = insert_job(c, server, &new.name, (period, cron, tz), new.grace, now)?;
            jobs_where(
                c,
                "j.service_id = ?1",
                rusqlite::types::Value::Integer(id),
                now,
            )?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("job {id} does not exist")))
        })
        .await
    }

    /// The jobs, all or those of one server, by server and name.
    pub async fn jobs(&self, server: Option<String>) -> Result<Vec<JobRow>> {
        self.read(move |c| {
            let now = now_ms();
            let rows = match &server {
                Some(name) => {
                    let v = rusqlite::types::Value::Text(name.clone());
                    jobs_where(c, "v.name = ?1", v, now)?
                }
                None => jobs_where(c, "?1 IS NULL", rusqlite::types::Value::Null, now)?,
            };
            if let (Some(name), true) = (&server, rows.is_empty()) {
                let known: bool = c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM servers WHERE name = ?)",
                    [name],
                    |r| r.get(0),
                )?;
                if !known {
                    return Err(StoreError::NotFound(format!(
                        "server {name:?} does not exist"
                    )));
                }
            }
            Ok(rows)
        })
        .await
    }

    /// Removes job `id` with its history; returns its name.
    pub async fn remove_job(&self, id: i64) -> Result<String> {
        self.write(move |c| {
            let name: Option<String> = c
                .prepare_cached(
                    "SELECT s.name FROM jobs j JOIN services s ON s.id = j.service_id \
                     WHERE j.service_id = ?",
                )?
                .query_row([id], |r| r.get(0))
                .optional()?;
            let Some(name) = name else {
                return Err(StoreError::NotFound(format!("job {id} does not exist")));
            };
            c.forget();
            c.execute("DELETE FROM services WHERE id = ?", [id])?;
            Ok(name)
        })
        .await
    }

    /// Records a ping: `false` when it names no job. A success or a failure is the
    /// job's report (state, info from the body's first line, period until its next
    /// due time); a start is remembered for the run time; a body (at most
    /// [`MAX_PING_BODY`]) is kept with the ping. Committed before it returns.
    pub async fn ping(
        &self,
        target: PingTarget,
        kind: PingKind,
        body: String,
        create: bool,
    ) -> Result<bool> {
        let limit = self.max_alerts_per_minute();
        let rules = self.service_rules();
        self.write_repeatable(move |c| {
            let now = now_ms();
            let Some(job) = find_job(c, &target, create, now)? else {
                return Ok(false);
            };
            let (exit, keep) = match kind {
                PingKind::Exit(n) => (Some(i64::from(n)), !body.is_empty() || n != 0),
                PingKind::Fail => (None, true),
                _ => (None, !body.is_empty()),
            };
            if keep {
                c.prepare_cached(
                    "INSERT INTO job_pings (service_id, time, kind, exit, body) VALUES (?, ?, ?, ?, ?)",
                )?
                .execute(params![job.service_id, now, kind.as_str(), exit, body])?;
            }
            if job.first_ping.is_none() {
                c.prepare_cached("UPDATE jobs SET first_ping = ? WHERE service_id = ?")?
                    .execute(params![now, job.service_id])?;
            }
            let Some(ok) = kind.outcome() else {
                if kind == PingKind::Start {
                    c.prepare_cached("UPDATE jobs SET started = ? WHERE service_id = ?")?
                        .execute(params![now, job.service_id])?;
                }
                return Ok(true);
            };
            if let Some(start) = job.started {
                c.prepare_cached(
                    "UPDATE jobs SET started = NULL, run_ms = ? WHERE service_id = ?",
                )?
                .execute(params![now - start, job.service_id])?;
            }
            // A schedule stored by an older build or by hand that cannot be read is
            // taken as a daily one rather than refusing the ping.
            let schedule = schedule_of(job.period, &job.cron, &job.tz)
                .unwrap_or(Schedule::Every(CREATED_PERIOD_S));
            let report = ServiceReport {
                name: job.name.clone(),
                state: if ok { ServiceState::Ok } else { ServiceState::Fail },
                info: info_of(kind, &body),
                period: period_until_due(&schedule, now),
                time: None,
            };
            let by = (&report, Reporter::Job);
            record_report(c, (job.server_id, &job.server), by, &rules, limit, now)?;
            Ok(true)
        })
        .await
    }
}

/// The jobs `filter` (SQL over `j`, `s`, `v`, with `?1` bound to `value`) selects.
fn jobs_where(
    c: &rusqlite::Connection,
    filter: &str,
    value: rusqlite::types::Value,
    now: i64,
) -> Result<Vec<JobRow>> {
    let mut s = c.prepare_cached(&format!(
        "SELECT j.service_id, v.name, s.name, j.uuid, j.period, j.cron, j.tz, j.grace, \
         j.first_ping, s.last_report, s.state, s.timed_out, j.started, j.run_ms \
         FROM jobs j JOIN services s ON s.id = j.service_id \
         JOIN servers v ON v.id = s.server_id WHERE {filter} ORDER BY v.name, s.name"
    ))?;
    let rows = s
        .query_map([value], |r| {
            let period: u32 = r.get(4)?;
            let cron: String = r.get(5)?;
            let tz: String = r.get(6)?;
            let first_ping: Option<i64> = r.get(8)?;
            let last_report: i64 = r.get(9)?;
            let state: String = r.get(10)?;
            let timed_out: bool = r.get(11)?;
            let started: Option<i64> = r.get(12)?;
            let schedule = schedule_of(period, &cron, &tz);
            let last_ping = first_ping.map(|_| last_report);
            let status = match (first_ping, timed_out, started) {
                (_, true, _) => "LATE".to_string(),
                (None, _, _) => "NEW".to_string(),
                (_, _, Some(_)) => "RUNNING".to_string(),
                _ => state,
            };
            Ok(JobRow {
                id: r.get(0)?,
                server: r.get(1)?,
                name: r.get(2)?,
                uuid: r.get(3)?,
                schedule: schedule
                    .as_ref()
                    .map_or_else(|e| format!("unreadable: {e}"), Schedule::describe),
                grace: r.get(7)?,
                last_ping,
                next_due: schedule
                    .ok()
                    .and_then(|s| s.next_due(last_ping.unwrap_or(last_report).min(now))),
                status,
                run_ms: r.get(13)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::super::temp_store;
    use super::*;

    #[tokio::test]
    async fn a_cron_job_is_late_once_its_due_time_and_grace_have_passed() {
        let (_dir, store) = temp_store();
        let job = store
            .add_job(NewJob {
                server: "db1".into(),
                name: "minutely".into(),
                cron: Some("*/1 * * * *".into()),
                tz: Some("Europe/Berlin".into()),
                grace: 10,
                ..NewJob::default()
            })
            .await
            .unwrap();
        assert_eq!(job.status, "NEW");
        let due = job.next_due.unwrap();
        assert_eq!(due % 60_000, 0, "due on a minute");
        // The clock is passed in: a second before the grace is over, then after it.
        assert!(store.mark_offline(due + 9_000).await.unwrap().is_empty());
        let late = store.mark_offline(due + 11_500).await.unwrap();
        assert_eq!(late, [("db1".to_string(), "minutely".to_string())]);
        let told: String = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT '[' || channel || '/' || event || '] ' || message FROM alerts",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        let due_text = crate::domain::time::format_ms(due);
        assert_eq!(
            told,
            format!("[job/late] Job missed its schedule (due {due_text} UTC, grace 10s)")
        );
        assert_eq!(store.jobs(None).await.unwrap()[0].status, "LATE");
    }

    #[test]
    fn the_info_is_the_bodys_first_line_after_the_exit_status() {
        assert_eq!(
            info_of(PingKind::Success, "\n  done: 3 files\nmore"),
            "done: 3 files"
        );
        assert_eq!(info_of(PingKind::Exit(2), ""), "exit status 2");
        assert_eq!(
            info_of(PingKind::Exit(2), "no space"),
            "exit status 2: no space"
        );
        assert_eq!(info_of(PingKind::Exit(0), "fine"), "fine");
        assert_eq!(info_of(PingKind::Fail, &"x".repeat(500)).len(), MAX_INFO);
    }
}
