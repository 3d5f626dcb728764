//! The answer types of jobs (SPEC §17), beside [`super::protocol`].

use serde::{Deserialize, Serialize};

/// A job to add, as `skypunchctl jobs add` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    /// Its name, unique among the server's services.
    pub name: String,
    /// Its server (created when it does not exist).
    pub server: String,
    /// Seconds between pings, or
    pub period_s: Option<u32>,
    /// a five-field cron expression,
    pub cron: Option<String>,
    /// in this zone (default: the daemon host's).
    pub tz: Option<String>,
    /// Seconds after the due time before it is late.
    pub grace_s: u32,
}

/// A job, as `skypunchctl jobs` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Its service's id.
    pub id: i64,
    /// Its server.
    pub server: String,
    /// Its name.
    pub name: String,
    /// `every 1h 00m` or `0 3 * * * (Europe/Berlin)`.
    pub schedule: String,
    /// Seconds after the due time before it is late.
    pub grace_s: u32,
    /// Its latest ping (`YYYY-MM-DD HH:MM:SS`, UTC), empty before the first.
    pub last_ping: String,
    /// When the next ping is due (UTC), empty when never.
    pub next_due: String,
    /// `NEW`, `OK`, `FAIL`, `LATE`, `RUNNING`.
    pub status: String,
    /// The latest run's time from `/start` to its end (ms).
    pub run_ms: Option<i64>,
    /// Its ping URL.
    pub ping_url: String,
}

impl JobInfo {
    /// The answer for `row`, its ping URL under `base`.
    pub fn of(row: crate::store::jobs::JobRow, base: &str) -> JobInfo {
        use crate::domain::time::format_ms;
        JobInfo {
            id: row.id,
            ping_url: format!("{base}/ping/{}", row.uuid),
            server: row.server,
            name: row.name,
            schedule: row.schedule,
            grace_s: row.grace,
            last_ping: row.last_ping.map(format_ms).unwrap_or_default(),
            next_due: row.next_due.map(format_ms).unwrap_or_default(),
            status: row.status,
            run_ms: row.run_ms,
        }
    }
}
