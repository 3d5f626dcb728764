//! History arithmetic: how a stretch of time is shared out among the hours and local
//! days it covers, the calendar days and months are counted in, response-time
//! histograms, and the figures of a report. No I/O and no clock: times are passed in.

use super::varint::{put_varint, take_varint};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

/// An hour in milliseconds; hourly figures are kept per UTC hour (`ms / HOUR_MS`).
pub const HOUR_MS: i64 = 3_600_000;

/// What a source was doing for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Passing, or OK.
    Up,
    /// WARN: working, but not as it should.
    Degraded,
    /// FAIL.
    Down,
    /// UNK: the host could not tell.
    Unknown,
    /// A pushing host missed its period.
    Offline,
}

impl Condition {
    /// The condition a stored service state stands for; `OFFLINE` is what the history
    /// of a service that missed its period shows.
    pub fn of_service_state(state: &str) -> Option<Condition> {
        Some(match state {
            "OK" => Condition::Up,
            "WARN" => Condition::Degraded,
            "FAIL" => Condition::Down,
            "UNK" => Condition::Unknown,
            OFFLINE => Condition::Offline,
            _ => return None,
        })
    }

    /// Whether this condition is an incident (counted in Downtime).
    pub fn is_outage(self) -> bool {
        matches!(self, Condition::Down | Condition::Offline)
    }
}

/// What a history is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A polled target.
    Target,
    /// A pushed service.
    Service,
}

impl SourceKind {
    /// `target` or `service`, as URLs, keys and reports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Target => "target",
            SourceKind::Service => "service",
        }
    }

    /// The kind [`as_str`](Self::as_str) names.
    pub fn parse(s: &str) -> Option<SourceKind> {
        [SourceKind::Target, SourceKind::Service]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The state stored in a service's history for a period it was offline.
pub const OFFLINE: &str = "OFFLINE";

/// Milliseconds spent in each condition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Spent {
    /// Up (PASS, OK).
    pub up: i64,
    /// Degraded (WARN).
    pub degraded: i64,
    /// Down (FAIL).
    pub down: i64,
    /// Unknown (UNK).
    pub unknown: i64,
    /// Offline (missed period).
    pub offline: i64,
}

impl Spent {
    /// `ms` of `condition`.
    pub fn of(condition: Condition, ms: i64) -> Spent {
        let mut s = Spent::default();
        s.add(condition, ms);
        s
    }

    /// Adds `ms` of `condition`.
    pub fn add(&mut self, condition: Condition, ms: i64) {
        match condition {
            Condition::Up => self.up += ms,
            Condition::Degraded => self.degraded += ms,
            Condition::Down => self.down += ms,
            Condition::Unknown => self.unknown += ms,
            Condition::Offline => self.offline += ms,
        }
    }

    /// Adds every condition of `other`.
    pub fn merge(&mut self, other: &Spent) {
        self.up += other.up;
        self.degraded += other.degraded;
        self.down += other.down;
        self.unknown += other.unknown;
        self.offline += other.offline;
    }

    /// Time for which something is known.
    pub fn covered(&self) -> i64 {
        self.up + self.degraded + self.down + self.unknown + self.offline
    }

    /// FAIL and offline time.
    pub fn downtime(&self) -> i64 {
        self.down + self.offline
    }
}

/// `[start, end)` cut at UTC hour boundaries: `(hour, start of the piece, length)`.
pub fn hour_pieces(start: i64, end: i64) -> impl Iterator<Item = (i64, i64, i64)> {
    let mut at = start;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let hour = at.div_euclid(HOUR_MS);
        let piece_end = ((hour + 1) * HOUR_MS).min(end);
        let piece = (hour, at, piece_end - at);
        at = piece_end;
        Some(piece)
    })
}

/// A day, a month or a range of dates that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not `YYYY-MM`.
    #[error("month {0:?}: expected YYYY-MM, like 2026-11")]
    Month(String),
    /// Not `YYYY-MM-DD`.
    #[error("date {0:?}: expected YYYY-MM-DD, like 2026-11-30")]
    Date(String),
    /// `--to` before `--from`.
    #[error("the range ends ({to}) before it starts ({from})")]
    Backwards {
        /// First day.
        from: String,
        /// Last day.
        to: String,
    },
    /// Not a time zone this machine knows.
    #[error("time zone {0:?} is not known here (expected a name like Europe/Berlin, or UTC)")]
    Zone(String),
}

/// The time zone days and months are counted in: the 90-day bars and `--month` follow
/// the operator's calendar, daylight saving time included.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
}

impl Calendar {
    /// UTC.
    pub fn utc() -> Calendar {
        Calendar { tz: TimeZone::UTC }
    }

    /// The machine's time zone (`TZ`, else `/etc/localtime`; UTC when neither is set).
    pub fn system() -> Calendar {
        Calendar {
            tz: TimeZone::system(),
        }
    }

    /// A named zone from the system's time zone database (`Europe/Berlin`, `UTC`).
    pub fn named(name: &str) -> Result<Calendar, CalendarError> {
        TimeZone::get(name)
            .map(|tz| Calendar { tz })
            .map_err(|_| CalendarError::Zone(name.into()))
    }

    /// The zone's name, as shown in reports.
    pub fn zone_name(&self) -> String {
        self.tz.iana_name().unwrap_or("local").to_string()
    }

    /// The local date of `ms`, as the number `YYYYMMDD`.
    pub fn day(&self, ms: i64) -> i32 {
        let Ok(ts) = Timestamp::from_millisecond(ms) else {
            return 0;
        };
        number(self.tz.to_datetime(ts).date())
    }

    /// `ms` as local time, `YYYY-MM-DD HH:MM`.
    pub fn local(&self, ms: i64) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(ts) => self
                .tz
                .to_datetime(ts)
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// When local day `day` (`YYYYMMDD`) starts, in ms since the epoch.
    pub fn day_start(&self, day: i32) -> i64 {
        self.start_of(date_of(day))
    }

    /// The local day after `day` (`YYYYMMDD`).
    pub fn day_after(&self, day: i32) -> i32 {
        date_of(day).tomorrow().map(number).unwrap_or(day)
    }

    fn start_of(&self, date: Date) -> i64 {
        date.to_zoned(self.tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    }

    /// `[from, to)` of a month written `YYYY-MM`.
    pub fn month(&self, text: &str) -> Result<(i64, i64), CalendarError> {
        let bad = || CalendarError::Month(text.into());
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let first = Date::new(year, month, 1).map_err(|_| bad())?;
        let next = first.last_of_month().tomorrow().map_err(|_| bad())?;
        Ok((self.start_of(first), self.start_of(next)))
    }

    /// `[from, to)` covering the local dates `from` to `to`, both included.
    pub fn dates(&self, from: &str, to: &str) -> Result<(i64, i64), CalendarError> {
        let parse = |t: &str| {
            t.parse::<Date>()
                .ok()
                .filter(|_| t.len() == 10)
                .ok_or_else(|| CalendarError::Date(t.into()))
        };
        let (first, last) = (parse(from)?, parse(to)?);
        if last < first {
            return Err(CalendarError::Backwards {
                from: from.into(),
                to: to.into(),
            });
        }
        let after = last
            .tomorrow()
            .map_err(|_| CalendarError::Date(to.into()))?;
        Ok((self.start_of(first), self.start_of(after)))
    }

    /// A report's range: a month (`YYYY-MM`), or dates (`YYYY-MM-DD`, both included),
    /// or else the 30 days up to `now`.
    pub fn range(
        &self,
        month: Option<&str>,
        dates: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(i64, i64), CalendarError> {
        match (month, dates) {
            (Some(m), _) => self.month(m),
            (None, Some((from, to))) => self.dates(from, to),
            (None, None) => Ok((now - 30 * 24 * HOUR_MS, now)),
        }
    }

    /// The `n` local days ending with the one `now` falls in, oldest first (`YYYYMMDD`).
    pub fn last_days(&self, now: i64, n: usize) -> Vec<i32> {
        let Ok(ts) = Timestamp::from_millisecond(now) else {
            return Vec::new();
        };
        let mut day = self.tz.to_datetime(ts).date();
        let mut days = Vec::with_capacity(n);
        for _ in 0..n {
            days.push(number(day));
            match day.yesterday() {
                Ok(d) => day = d,
                Err(_) => break,
            }
        }
        days.reverse();
        days
    }
}

fn number(d: Date) -> i32 {
    i32::from(d.year()) * 10_000 + i32::from(d.month()) * 100 + i32::from(d.day())
}

fn date_of(day: i32) -> Date {
    let (y, m, d) = (day / 10_000, day / 100 % 100, day % 100);
    Date::new(y as i16, m as i8, d as i8).unwrap_or(Date::constant(1970, 1, 1))
}

/// Upper bounds (ms) of the response-time histogram kept per hour; the last is open.
pub const BUCKETS: [f64; 12] = [
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1000.0,
    2500.0,
    5000.0,
    10_000.0,
    30_000.0,
    f64::INFINITY,
];

/// The histogram bucket of a response time.
pub fn bucket(ms: f64) -> usize {
    BUCKETS
        .iter()
        .position(|&b| ms <= b)
        .unwrap_or(BUCKETS.len() - 1)
}

/// A histogram as kept in one column: each bucket that holds something, as its index
/// (one byte) and its count (LEB128). An hour's responses mostly fall in one or two
/// buckets, so this takes 2 to 6 bytes where twelve columns took 14 or more.
pub fn pack_histogram(counts: &[i64; 12]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    for (i, &n) in counts.iter().enumerate() {
        if n <= 0 {
            continue;
        }
        out.push(i as u8);
        put_varint(&mut out, n as u64);
    }
    out
}

/// The counts of a packed histogram; `None` when the bytes are not one.
pub fn unpack_histogram(bytes: &[u8]) -> Option<[i64; 12]> {
    let mut counts = [0i64; 12];
    let mut rest = bytes;
    while let Some((&i, tail)) = rest.split_first() {
        rest = tail;
        let slot = counts.get_mut(usize::from(i))?;
        let n = i64::try_from(take_varint(&mut rest)?).ok()?;
        *slot = slot.checked_add(n)?;
    }
    Some(counts)
}

/// The `q` quantile (0..1) of a histogram: linear within its bucket, kept within the
/// fastest and slowest response seen. `None` without responses.
pub fn quantile(counts: &[i64; 12], fastest: f64, slowest: f64, q: f64) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0i64;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && (below + n) as f64 >= rank {
            let low = if i == 0 { 0.0 } else { BUCKETS[i - 1] }.max(fastest);
            let high = BUCKETS[i].min(slowest).max(low);
            let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            return Some(low + (high - low) * within);
        }
        below += n;
    }
    Some(slowest)
}

/// A stretch in FAIL or offline; `end` is none while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incident {
    /// When it began.
    pub start: i64,
    /// When it ended.
    pub end: Option<i64>,
}

/// A source's figures over a range: a row of `skypunchctl report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Time in the range for which something is known (ms); the rest had no data.
    pub covered_ms: i64,
    /// Time with no data (ms): not counted as up.
    pub no_data_ms: i64,
    /// Share of the covered time not in FAIL or offline, in percent.
    pub uptime_pct: Option<f64>,
    /// Share of the covered time in WARN, in percent.
    pub degraded_pct: Option<f64>,
    /// FAIL and offline time (ms).
    pub downtime_ms: i64,
    /// Incidents that overlap the range.
    pub incidents: u32,
    /// The longest of them, within the range (ms).
    pub longest_ms: i64,
    /// Mean time to recover of those that ended within the range (ms).
    pub mttr_ms: Option<i64>,
    /// 95th percentile of response times (targets), from the hourly histograms.
    pub p95_ms: Option<f64>,
}

/// Response times over a range: the hourly histograms added up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Responses {
    /// Count per [`BUCKETS`] entry.
    pub counts: [i64; 12],
    /// Fastest.
    pub fastest: f64,
    /// Slowest.
    pub slowest: f64,
}

impl Default for Responses {
    fn default() -> Self {
        Responses {
            counts: [0; 12],
            fastest: f64::INFINITY,
            slowest: 0.0,
        }
    }
}

/// The figures of a source over `[from, to)` as known at `now`: time per condition
/// (from the hourly figures), its incidents (any that overlap), and its responses.
pub fn figures(
    spent: &Spent,
    (from, to): (i64, i64),
    now: i64,
    incidents: &[Incident],
    responses: &Responses,
) -> Figures {
    let covered = spent.covered();
    // Time after `now` is not missing data: it has not happened yet.
    let span = (to.min(now) - from).max(0);
    let pct = |ms: i64| (covered > 0).then(|| 100.0 * ms as f64 / covered as f64);
    let mut longest = 0;
    let mut recovered = Vec::new();
    let mut count = 0;
    for i in incidents {
        let end = i.end.unwrap_or(now);
        let (a, b) = (i.start.max(from), end.min(to).min(now));
        if end < from || i.start >= to {
            continue;
        }
        count += 1;
        longest = longest.max(b - a);
        if let Some(e) = i.end.filter(|&e| e >= from && e < to) {
            recovered.push(e - i.start);
        }
    }
    let mttr =
        (!recovered.is_empty()).then(|| recovered.iter().sum::<i64>() / recovered.len() as i64);
    Figures {
        covered_ms: covered,
        no_data_ms: (span - covered).max(0),
        uptime_pct: pct(covered - spent.downtime()),
        degraded_pct: pct(spent.degraded),
        downtime_ms: spent.downtime(),
        incidents: count,
        longest_ms: longest,
        mttr_ms: mttr,
        p95_ms: quantile(
            &responses.counts,
            responses.fastest,
            responses.slowest,
            0.95,
        ),
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
