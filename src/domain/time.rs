//! The clock, and UTC time stamps in the three forms skypunch writes, without
//! interpreting a strftime pattern each time (they are written for every check).

use chrono::{DateTime, Datelike, Timelike, Utc};
use std::fmt::{self, Write};

/// Current time in milliseconds since the Unix epoch: every time the daemon stores.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Skypunch's `LastUpdated` form (`YYYY-MM-DD HH:MM:SS`, UTC) of a time in
/// milliseconds; empty for a time out of range.
pub fn format_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| format(t, Fraction::None))
        .unwrap_or_default()
}

/// How much of the second to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// `2026-11-21 06:10:57` (database, tables).
    None,
    /// `2026-11-21 06:10:57,053` (log lines, like Python's logging).
    Millis,
    /// `2026-11-21 06:10:57.053123` (traces).
    Micros,
}

/// Writes `t` as `YYYY-MM-DD HH:MM:SS` and the fraction asked for.
pub fn write(out: &mut impl Write, t: DateTime<Utc>, fraction: Fraction) -> fmt::Result {
    write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )?;
    let nanos = t.nanosecond() % 1_000_000_000;
    match fraction {
        Fraction::None => Ok(()),
        Fraction::Millis => write!(out, ",{:03}", nanos / 1_000_000),
        Fraction::Micros => write!(out, ".{:06}", nanos / 1000),
    }
}

/// [`write`] into a new string.
pub fn format(t: DateTime<Utc>, fraction: Fraction) -> String {
    let mut s = String::with_capacity(26);
    let _ = write(&mut s, t, fraction);
    s
}

/// A wait that doubles after each failure, up to a ceiling: how the daemon and the
/// agent try again (an accept, a write the database refused, a server away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: std::time::Duration,
    max: std::time::Duration,
}

impl Backoff {
    /// Starts at `first`, doubling up to `max`.
    pub const fn new(first: std::time::Duration, max: std::time::Duration) -> Backoff {
        Backoff { next: first, max }
    }

    /// The wait before the next try; the one after it is twice as long (up to the
    /// ceiling).
    pub fn next_wait(&mut self) -> std::time::Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }
}

/// Why a text is not a duration; it names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No number first.
    #[error("{0:?}: expected a duration like 30s, 10m, 2h or 7d")]
    NotADuration(String),
    /// A number, then something that is not a unit.
    #[error("{0:?}: the unit must be s, m, h or d")]
    UnknownUnit(String),
}

/// `30s`, `10m`, `2h`, `7d` (a bare number is seconds) into milliseconds.
pub fn duration_ms(d: &str) -> Result<i64, DurationError> {
    let d = d.trim();
    let (num, unit) = d.split_at(d.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| DurationError::NotADuration(d.to_string()))?;
    let scale = match unit {
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(DurationError::UnknownUnit(d.to_string())),
    };
    Ok(n.saturating_mul(scale))
}

/// A span of time the way an operator reads it: `0s`, `45s`, `12m 30s`, `3h 05m`,
/// `2d 4h` (two units at most, rounded down).
pub fn human_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec:02}s"),
        (0, _, _) => format!("{h}h {m:02}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_spans() {
        assert_eq!(human_ms(0), "0s");
        assert_eq!(human_ms(45_999), "45s");
        assert_eq!(human_ms(750_000), "12m 30s");
        assert_eq!(human_ms(3 * 3_600_000 + 300_000), "3h 05m");
        assert_eq!(human_ms(2 * 86_400_000 + 4 * 3_600_000 + 1), "2d 4h");
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        use std::time::Duration;
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        let waits: Vec<u128> = (0..5).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
    }

    #[test]
    fn matches_strftime() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T04:44:25.053123Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            format(t, Fraction::None),
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        );
        assert_eq!(format(t, Fraction::Millis), "2026-11-21 04:44:25,053");
        assert_eq!(format(t, Fraction::Micros), "2026-11-21 04:44:25.053123");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("30s"), Ok(30_000));
        assert_eq!(duration_ms("10m"), Ok(600_000));
        assert_eq!(duration_ms("2h"), Ok(7_200_000));
        assert_eq!(duration_ms("7d"), Ok(604_800_000));
        assert_eq!(duration_ms("45"), Ok(45_000));
        assert!(duration_ms("soon").is_err());
        assert!(duration_ms("5y").is_err());
    }
}
