//! Jobs that report by pinging a URL (SPEC §17, Healthchecks-compatible): their
//! schedule (a period, or a five-field cron expression on the wall clock of a time
//! zone), when the next ping is due, and what a ping's path asks.

use chrono::{DateTime, TimeZone as _, Utc};
use croner::parser::{CronParser, Seconds, Year};

/// When a job is expected to ping.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every so many seconds after its latest ping.
    Every(u32),
    /// At the times a cron expression names, in a time zone.
    Cron {
        /// The expression as written.
        text: String,
        /// Its zone's name.
        zone: String,
        /// Parsed.
        cron: Box<croner::Cron>,
        /// The zone.
        tz: chrono_tz::Tz,
    },
}

/// Why a schedule, a time zone or a ping cannot be used; it names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {why}")]
pub struct BadJob {
    /// As written.
    pub text: String,
    /// What is wrong.
    pub why: String,
}

impl Schedule {
    /// A cron expression of five fields (`m h dom mon dow`: lists, ranges, `*/n`, names)
    /// in zone `zone` (an IANA name).
    pub fn cron(text: &str, zone: &str) -> Result<Schedule, BadJob> {
        let bad = |why: String| BadJob {
            text: text.to_string(),
            why,
        };
        if text.split_whitespace().count() != 5 {
            return Err(bad(
                "a cron expression has five fields: minute hour day-of-month month day-of-week"
                    .into(),
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(text)
            .map_err(|e| bad(e.to_string()))?;
        let tz: chrono_tz::Tz = zone.parse().map_err(|_| BadJob {
            text: zone.to_string(),
            why: "not a known time zone (an IANA name like Europe/Berlin)".into(),
        })?;
        let schedule = Schedule::Cron {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            zone: zone.to_string(),
            cron: Box::new(cron),
            tz,
        };
        // An expression that never fires (30 February) is refused now, not at a ping.
        schedule
            .next_due(Utc::now().timestamp_millis())
            .map(|_| schedule)
            .ok_or_else(|| bad("it never fires".into()))
    }

    /// When the next ping is due after one at `after_ms`: the period later, or the
    /// cron expression's next time after it. `None` when there is none.
    pub fn next_due(&self, after_ms: i64) -> Option<i64> {
        match self {
            Schedule::Every(s) => Some(after_ms.saturating_add(i64::from(*s) * 1000)),
            Schedule::Cron { cron, tz, .. } => {
                // From the whole second: croner keeps a start's fraction of a second.
                let at: DateTime<Utc> = DateTime::from_timestamp(after_ms.div_euclid(1000), 0)?;
                cron.find_next_occurrence(&tz.from_utc_datetime(&at.naive_utc()), false)
                    .ok()
                    .map(|t| t.timestamp_millis())
            }
        }
    }

    /// As shown: `every 1h 00m` or `*/5 * * * * (Europe/Berlin)`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(s) => format!("every {}", super::time::human_ms(i64::from(*s) * 1000)),
            Schedule::Cron { text, zone, .. } => format!("{text} ({zone})"),
        }
    }
}

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    /// `/ping/<id>`: the job succeeded.
    Success,
    /// `/start`: a run began.
    Start,
    /// `/fail`: the job failed.
    Fail,
    /// `/<0-255>`: the job exited with this status (0 success, else failure).
    Exit(u8),
    /// `/log`: a message, no change of state.
    Log,
}

impl PingKind {
    /// `success`, `start`, `fail`, `exit`, `log`, as kept with the ping.
    pub fn as_str(self) -> &'static str {
        match self {
            PingKind::Success => "success",
            PingKind::Start => "start",
            PingKind::Fail => "fail",
            PingKind::Exit(_) => "exit",
            PingKind::Log => "log",
        }
    }

    /// Whether it tells the outcome of a run: `Some(true)` success, `Some(false)`
    /// failure, `None` for a start or a log.
    pub fn outcome(self) -> Option<bool> {
        match self {
            PingKind::Success | PingKind::Exit(0) => Some(true),
            PingKind::Fail | PingKind::Exit(_) => Some(false),
            PingKind::Start | PingKind::Log => None,
        }
    }
}

/// Which job a ping names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingTarget {
    /// `/ping/<uuid>`.
    Uuid(String),
    /// `/ping/<ping_key>/<job name>`.
    Slug {
        /// The server's ping key.
        key: String,
        /// The job's name.
        name: String,
    },
}

/// Reads a ping's path (`/ping/...`, percent-decoded): its job and what it says;
/// `None` when it is not one.
pub fn parse_ping_path(path: &str) -> Option<(PingTarget, PingKind)> {
    let rest = path.strip_prefix("/ping/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let kind_of = |s: &str| match s {
        "start" => Some(PingKind::Start),
        "fail" => Some(PingKind::Fail),
        "log" => Some(PingKind::Log),
        n if !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()) => {
            n.parse::<u8>().ok().map(PingKind::Exit)
        }
        _ => None,
    };
    let uuid = |s: &str| {
        uuid::Uuid::try_parse(s)
            .ok()
            .map(|u| u.hyphenated().to_string())
    };
    match parts.as_slice() {
        [id] => Some((PingTarget::Uuid(uuid(id)?), PingKind::Success)),
        [id, what] if uuid(id).is_some() => Some((PingTarget::Uuid(uuid(id)?), kind_of(what)?)),
        [key, name] if !key.is_empty() && !name.is_empty() => Some((
            PingTarget::Slug {
                key: key.to_string(),
                name: name.to_string(),
            },
            PingKind::Success,
        )),
        [key, name, what] if !key.is_empty() && !name.is_empty() => Some((
            PingTarget::Slug {
                key: key.to_string(),
                name: name.to_string(),
            },
            kind_of(what)?,
        )),
        _ => None,
    }
}

/// A new job's ping id.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zoned: &str) -> i64 {
        zoned
            .parse::<jiff::Zoned>()
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn periods_and_cron_expressions_give_the_next_due_time() {
        let now = at("2026-11-30T12:34:56+00:00[UTC]");
        assert_eq!(Schedule::Every(3600).next_due(now), Some(now + 3_600_000));
        let every5 = Schedule::cron("*/5 * * * *", "UTC").unwrap();
        assert_eq!(
            every5.next_due(now),
            Some(at("2026-11-30T12:35:00+00:00[UTC]"))
        );
        let weekdays = Schedule::cron("30 8 * * mon-fri", "Europe/Berlin").unwrap();
        // Monday 30 November, 12:34 UTC: the next is Tuesday 08:30 CET = 07:30 UTC.
        assert_eq!(
            weekdays.next_due(now),
            Some(at("2026-12-01T07:30:00+00:00[UTC]"))
        );
        // POSIX weekdays: 0 and 7 are Sunday.
        let sunday = Schedule::cron("0 3 * * 0", "UTC").unwrap();
        assert_eq!(
            sunday.next_due(now),
            Some(at("2026-12-06T03:00:00+00:00[UTC]"))
        );
        assert_eq!(weekdays.describe(), "30 8 * * mon-fri (Europe/Berlin)");
        assert_eq!(Schedule::Every(90).describe(), "every 1m 30s");
    }

    #[test]
    fn a_cron_schedule_keeps_its_wall_clock_across_daylight_saving() {
        let daily = Schedule::cron("30 2 * * *", "Europe/Berlin").unwrap();
        // 29 March 2026: 02:30 does not exist in Berlin; the run is due when the clock
        // has jumped, at 03:00 CEST (01:00 UTC).
        let before = at("2026-03-28T12:00:00+00:00[UTC]");
        let sat = daily.next_due(before).unwrap();
        assert_eq!(sat, at("2026-03-29T03:00:00+02:00[Europe/Berlin]"));
        // The next day it is 02:30 CEST again (00:30 UTC).
        assert_eq!(
            daily.next_due(sat),
            Some(at("2026-03-30T02:30:00+02:00[Europe/Berlin]"))
        );
        // 25 October 2026: 02:30 happens twice; the run is due once, at the first.
        let oct = daily
            .next_due(at("2026-10-24T12:00:00+00:00[UTC]"))
            .unwrap();
        assert_eq!(oct, at("2026-10-25T02:30:00+02:00[Europe/Berlin]"));
        assert_eq!(
            daily.next_due(oct),
            Some(at("2026-10-26T02:30:00+01:00[Europe/Berlin]"))
        );
    }

    #[test]
    fn bad_schedules_are_refused_naming_them() {
        assert!(Schedule::cron("* * * *", "UTC")
            .unwrap_err()
            .why
            .contains("five fields"));
        assert!(Schedule::cron("0 0 * * * *", "UTC").is_err());
        assert!(Schedule::cron("61 * * * *", "UTC").is_err());
        assert!(Schedule::cron("0 0 30 2 *", "UTC")
            .unwrap_err()
            .why
            .contains("never"));
        assert_eq!(
            Schedule::cron("* * * * *", "Mars/Olympus")
                .unwrap_err()
                .text,
            "Mars/Olympus"
        );
    }

    #[test]
    fn ping_paths() {
        let id = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
        let uuid = || PingTarget::Uuid(id.into());
        let p = |s: &str| parse_ping_path(s);
        assert_eq!(p(&format!("/ping/{id}")), Some((uuid(), PingKind::Success)));
        assert_eq!(
            p(&format!("/ping/{id}/start")),
            Some((uuid(), PingKind::Start))
        );
        assert_eq!(
            p(&format!("/ping/{id}/fail")),
            Some((uuid(), PingKind::Fail))
        );
        assert_eq!(p(&format!("/ping/{id}/log")), Some((uuid(), PingKind::Log)));
        assert_eq!(
            p(&format!("/ping/{id}/0")),
            Some((uuid(), PingKind::Exit(0)))
        );
        assert_eq!(
            p(&format!("/ping/{id}/255")),
            Some((uuid(), PingKind::Exit(255)))
        );
        assert_eq!(p(&format!("/ping/{id}/256")), None);
        assert_eq!(p(&format!("/ping/{id}/other")), None);
        let slug = PingTarget::Slug {
            key: "k3y".into(),
            name: "backup".into(),
        };
        assert_eq!(
            p("/ping/k3y/backup"),
            Some((slug.clone(), PingKind::Success))
        );
        assert_eq!(p("/ping/k3y/backup/2"), Some((slug, PingKind::Exit(2))));
        assert_eq!(p("/ping/"), None);
        assert_eq!(p("/ping/not-a-uuid"), None);
        assert_eq!(p("/ping/a/b/c/d"), None);
        assert_eq!(PingKind::Exit(0).outcome(), Some(true));
        assert_eq!(PingKind::Exit(3).outcome(), Some(false));
        assert_eq!(PingKind::Log.outcome(), None);
    }
}
