//! What keeps an alert quiet (SPEC §15): which sources a silence or a maintenance
//! window covers (`target:<glob>`, `server:<glob>`, `<server glob>/<service glob>`),
//! when a recurring window is open (`Sun 02:00-04:00` on the wall clock of a time
//! zone, through daylight-saving changes), and which alerts tell that a source is
//! back (the end of what an acknowledgement or an escalation waits for).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// What a silence or a window covers.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `target:<glob>`: targets by name.
    Target(glob::Pattern),
    /// `server:<glob>`: everything a pushing server raises.
    Server(glob::Pattern),
    /// `<server glob>/<service glob>`: pushed services.
    Service {
        /// Glob on the server's name.
        server: glob::Pattern,
        /// Glob on the service's name.
        service: glob::Pattern,
    },
}

/// Why a text is not a matcher or a schedule; it names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {why}")]
pub struct BadQuiet {
    /// As written.
    pub text: String,
    /// What is wrong.
    pub why: String,
}

fn bad(text: &str, why: impl Into<String>) -> BadQuiet {
    BadQuiet {
        text: text.to_string(),
        why: why.into(),
    }
}

/// The source an alert is about, by name.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// `target`, `service`, `api`, `notifier`.
    pub kind: &'a str,
    /// The target's name (target alerts).
    pub target: &'a str,
    /// The server's name (pushed alerts).
    pub server: &'a str,
    /// The service's name (pushed alerts about one service).
    pub service: &'a str,
}

impl Matcher {
    /// Reads `target:<glob>`, `server:<glob>` or `<server glob>/<service glob>`.
    pub fn parse(text: &str) -> Result<Matcher, BadQuiet> {
        let compile = |g: &str| {
            if g.is_empty() {
                return Err(bad(text, "a glob must not be empty"));
            }
            glob::Pattern::new(g).map_err(|e| bad(text, format!("{g:?}: {e}")))
        };
        if let Some(g) = text.strip_prefix("target:") {
            return Ok(Matcher::Target(compile(g)?));
        }
        if let Some(g) = text.strip_prefix("server:") {
            return Ok(Matcher::Server(compile(g)?));
        }
        match text.split_once('/') {
            Some((server, service)) => Ok(Matcher::Service {
                server: compile(server)?,
                service: compile(service)?,
            }),
            None => Err(bad(
                text,
                "expected \"target:<glob>\", \"server:<glob>\" or \"<server glob>/<service glob>\"",
            )),
        }
    }

    /// The matcher of exactly one target, server or service, whatever its name holds.
    pub fn exact(target: Option<&str>, server: Option<&str>, service: Option<&str>) -> String {
        let e = glob::Pattern::escape;
        match (target, server, service) {
            (Some(t), _, _) => format!("target:{}", e(t)),
            (None, Some(s), Some(v)) => format!("{}/{}", e(s), e(v)),
            (None, Some(s), None) => format!("server:{}", e(s)),
            (None, None, _) => String::new(),
        }
    }

    /// Whether it covers `source`. A notifier's own alerts are never covered.
    pub fn covers(&self, source: &Source) -> bool {
        match self {
            Matcher::Target(p) => source.kind == "target" && p.matches(source.target),
            Matcher::Server(p) => {
                !source.server.is_empty() && source.kind != "target" && p.matches(source.server)
            }
            Matcher::Service { server, service } => {
                !source.service.is_empty()
                    && server.matches(source.server)
                    && service.matches(source.service)
            }
        }
    }
}

/// Days and a span of the wall clock: `Sun 02:00-04:00`, `Mon,Wed 22:00-01:00`
/// (past midnight: it ends the next day), `Mon-Fri 12:00-13:00`, `daily 03:00-03:30`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Monday first: the days a window opens.
    days: [bool; 7],
    /// Minutes after midnight.
    start: u16,
    end: u16,
}

/// Monday first; a day is written as three letters or more of its name.
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Schedule {
    /// Reads `<days> HH:MM-HH:MM`; days are `daily`, names (`Sun`), lists (`Mon,Wed`)
    /// and ranges (`Mon-Fri` or `Mon..Fri`).
    pub fn parse(text: &str) -> Result<Schedule, BadQuiet> {
        let (days_text, span) = text.trim().split_once(char::is_whitespace).ok_or_else(|| {
            bad(
                text,
                "expected \"<days> HH:MM-HH:MM\", e.g. \"Sun 02:00-04:00\"",
            )
        })?;
        let day = |d: &str| {
            let d = d.trim().to_ascii_lowercase();
            DAYS.iter()
                .position(|full| d.len() >= 3 && full.starts_with(&d))
                .ok_or_else(|| bad(text, format!("{d:?} is not a day (Mon..Sun or daily)")))
        };
        let mut days = [false; 7];
        if days_text.eq_ignore_ascii_case("daily") {
            days = [true; 7];
        } else {
            for part in days_text.split(',') {
                let range = part.split_once("..").or_else(|| part.split_once('-'));
                match range {
                    Some((a, b)) => {
                        let (a, b) = (day(a)?, day(b)?);
                        let mut d = a;
                        loop {
                            days[d] = true;
                            if d == b {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                    }
                    None => days[day(part)?] = true,
                }
            }
        }
        let (start, end) = span
            .trim()
            .split_once('-')
            .ok_or_else(|| bad(text, "expected a span like 02:00-04:00"))?;
        let minute = |t: &str| {
            let (h, m) = t
                .trim()
                .split_once(':')
                .ok_or_else(|| bad(text, format!("{t:?} is not HH:MM")))?;
            match (h.parse::<u16>(), m.parse::<u16>()) {
                (Ok(h), Ok(m)) if (h < 24 && m < 60) || (h == 24 && m == 0) => Ok(h * 60 + m),
                _ => Err(bad(text, format!("{t:?} is not a time of day (HH:MM)"))),
            }
        };
        let (start, end) = (minute(start)?, minute(end)?);
        if start == end {
            return Err(bad(text, "the window is empty (it ends when it starts)"));
        }
        Ok(Schedule {
            days,
            start: start % 1440,
            end,
        })
    }

    /// Whether the window is open at the wall-clock time `t`.
    pub fn open_at(&self, t: DateTime) -> bool {
        let today = usize::from(t.weekday().to_monday_zero_offset().unsigned_abs());
        let yesterday = (today + 6) % 7;
        let m = u16::try_from(t.hour()).unwrap_or(0) * 60 + u16::try_from(t.minute()).unwrap_or(0);
        if self.start < self.end {
            self.days[today] && self.start <= m && m < self.end
        } else {
            (self.days[today] && m >= self.start) || (self.days[yesterday] && m < self.end)
        }
    }
}

/// One `[[maintenance]]` window, checked.
#[derive(Debug, Clone)]
pub struct Window {
    /// Its name, shown as `maintenance <name>`.
    pub name: String,
    /// What it covers.
    pub matchers: Vec<Matcher>,
    /// When it is open, on the wall clock of `tz`.
    pub schedule: Schedule,
    /// Its time zone.
    pub tz: TimeZone,
}

impl Window {
    /// Whether it is open at `now_ms` (the wall clock of its zone decides, so a
    /// window keeps its local hours across a daylight-saving change).
    pub fn open(&self, now_ms: i64) -> bool {
        Timestamp::from_millisecond(now_ms)
            .map(|t| {
                self.schedule
                    .open_at(t.to_zoned(self.tz.clone()).datetime())
            })
            .unwrap_or(false)
    }

    /// Whether it covers `source` (open or not).
    pub fn covers(&self, source: &Source) -> bool {
        self.matchers.iter().any(|m| m.covers(source))
    }
}

/// When a silence asked for `for_` (`90s`, `15m`, `2h`, `3d`) or `until` (RFC 3339,
/// or `YYYY-MM-DD HH:MM` on the wall clock of `tz`) ends, in ms; exactly one is given.
pub fn silence_end(
    for_: Option<&str>,
    until: Option<&str>,
    now_ms: i64,
    tz: &TimeZone,
) -> Result<i64, BadQuiet> {
    match (for_, until) {
        (Some(d), None) => {
            let ms = super::time::duration_ms(d).map_err(|e| bad(d, e.to_string()))?;
            if ms <= 0 {
                return Err(bad(d, "a silence lasts at least one second"));
            }
            Ok(now_ms.saturating_add(ms))
        }
        (None, Some(t)) => {
            if let Ok(ts) = t.trim().parse::<Timestamp>() {
                return Ok(ts.as_millisecond());
            }
            let civil: DateTime = t.trim().parse().map_err(|_| {
                bad(
                    t,
                    "expected RFC 3339 (2026-12-01T06:00:00Z) or YYYY-MM-DD HH:MM (local time)",
                )
            })?;
            civil
                .to_zoned(tz.clone())
                .map(|z| z.timestamp().as_millisecond())
                .map_err(|e| bad(t, e.to_string()))
        }
        (Some(_), Some(_)) => Err(bad("for/until", "give a duration or an end time, not both")),
        (None, None) => Err(bad(
            "for/until",
            "give a duration (for) or an end time (until)",
        )),
    }
}

/// Whether an alert tells that its source is back: a target's RECOVERY, a service
/// reported OK (not merely online again in another state).
pub fn is_resolution(kind: &str, event: &str, state: &str) -> bool {
    match kind {
        "target" => event == "RECOVERY",
        "service" => state == "OK" && event != "offline" && event != "flapping",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zoned: &str) -> i64 {
        zoned
            .parse::<jiff::Zoned>()
            .expect("a zoned time")
            .timestamp()
            .as_millisecond()
    }

    fn window(schedule: &str, tz: &str) -> Window {
        Window {
            name: "w".into(),
            matchers: vec![Matcher::parse("server:db*").unwrap()],
            schedule: Schedule::parse(schedule).unwrap(),
            tz: TimeZone::get(tz).unwrap(),
        }
    }

    #[test]
    fn matchers_cover_their_sources() {
        let t = Source {
            kind: "target",
            target: "api-eu",
            server: "",
            service: "",
        };
        let s = Source {
            kind: "service",
            target: "",
            server: "db1",
            service: "replication",
        };
        let flood = Source {
            kind: "api",
            target: "",
            server: "db1",
            service: "",
        };
        let m = |t: &str| Matcher::parse(t).unwrap();
        assert!(m("target:api*").covers(&t));
        assert!(!m("target:api*").covers(&s));
        assert!(m("server:db*").covers(&s) && m("server:db*").covers(&flood));
        assert!(!m("server:db*").covers(&t));
        assert!(m("db*/repl*").covers(&s) && !m("db*/repl*").covers(&flood));
        assert!(!m("db2/*").covers(&s));
        assert!(Matcher::parse("db1").is_err());
        assert!(Matcher::parse("target:").is_err());
        assert!(Matcher::parse("target:[").is_err());
    }

    #[test]
    fn exact_matchers_escape_names() {
        let m = Matcher::exact(Some("a*b"), None, None);
        assert_eq!(m, "target:a[*]b");
        let p = Matcher::parse(&m).unwrap();
        let src = |target| Source {
            kind: "target",
            target,
            server: "",
            service: "",
        };
        assert!(p.covers(&src("a*b")) && !p.covers(&src("axb")));
        assert_eq!(Matcher::exact(None, Some("db1"), Some("disk")), "db1/disk");
        assert_eq!(Matcher::exact(None, Some("db1"), None), "server:db1");
    }

    #[test]
    fn schedules_read_days_and_spans() {
        let s = Schedule::parse("Sun 02:00-04:00").unwrap();
        assert_eq!(s.days, [false, false, false, false, false, false, true]);
        assert_eq!((s.start, s.end), (120, 240));
        let s = Schedule::parse("Mon,Wed 22:00-01:00").unwrap();
        assert_eq!(s.days, [true, false, true, false, false, false, false]);
        assert_eq!(
            Schedule::parse("Mon-Fri 12:00-13:00").unwrap().days[..6],
            [true, true, true, true, true, false]
        );
        assert_eq!(
            Schedule::parse("Sat..Mon 00:00-24:00").unwrap().days,
            [true, false, false, false, false, true, true]
        );
        assert_eq!(
            Schedule::parse("daily 03:00-03:30").unwrap().days,
            [true; 7]
        );
        for wrong in [
            "Sun",
            "Sun 02:00",
            "Sun 2-4",
            "Sun 25:00-26:00",
            "Sunny 02:00-04:00",
            "Sun 02:00-02:00",
        ] {
            assert!(Schedule::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_window_past_midnight_ends_the_next_day() {
        let w = window("Mon 22:00-01:00", "UTC");
        assert!(w.open(at("2026-11-30T22:30:00+00:00[UTC]"))); // a Monday
        assert!(w.open(at("2026-12-01T00:59:00+00:00[UTC]")));
        assert!(!w.open(at("2026-12-01T01:00:00+00:00[UTC]")));
        assert!(!w.open(at("2026-12-01T22:30:00+00:00[UTC]")));
        assert!(!w.open(at("2026-11-30T21:59:00+00:00[UTC]")));
    }

    #[test]
    fn a_window_follows_the_wall_clock_across_daylight_saving() {
        let w = window("Sun 02:00-04:00", "Europe/Berlin");
        // 29 March 2026: clocks go from 02:00 CET to 03:00 CEST. The window opens when
        // the wall clock passes 02:00 (it jumps to 03:00) and closes at 04:00 CEST.
        assert!(!w.open(at("2026-03-29T01:59:00+01:00[Europe/Berlin]")));
        assert!(w.open(at("2026-03-29T03:00:00+02:00[Europe/Berlin]")));
        assert!(w.open(at("2026-03-29T03:59:00+02:00[Europe/Berlin]")));
        assert!(!w.open(at("2026-03-29T04:00:00+02:00[Europe/Berlin]")));
        // In UTC that is 01:00 to 02:00: one hour long.
        assert!(w.open(at("2026-03-29T01:30:00+00:00[UTC]")));
        assert!(!w.open(at("2026-03-29T02:00:00+00:00[UTC]")));
        // 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:00-04:00 lasts three hours,
        // 00:00 to 03:00 UTC.
        assert!(!w.open(at("2026-10-24T23:59:00+00:00[UTC]")));
        assert!(w.open(at("2026-10-25T00:00:00+00:00[UTC]")));
        assert!(w.open(at("2026-10-25T02:59:00+00:00[UTC]")));
        assert!(!w.open(at("2026-10-25T03:00:00+00:00[UTC]")));
        // A week later it is 01:00 to 03:00 UTC again, the same local hours.
        assert!(w.open(at("2026-11-01T01:00:00+00:00[UTC]")));
        assert!(!w.open(at("2026-11-01T00:59:00+00:00[UTC]")));
    }

    #[test]
    fn silences_end_after_a_duration_or_at_a_time() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let now = at("2026-11-30T12:00:00+00:00[UTC]");
        assert_eq!(silence_end(Some("90s"), None, now, &tz), Ok(now + 90_000));
        assert_eq!(
            silence_end(Some("3d"), None, now, &tz),
            Ok(now + 3 * 86_400_000)
        );
        assert_eq!(
            silence_end(None, Some("2026-12-01T06:00:00Z"), now, &tz),
            Ok(at("2026-12-01T06:00:00+00:00[UTC]"))
        );
        assert_eq!(
            silence_end(None, Some("2026-12-01 06:00"), now, &tz),
            Ok(at("2026-12-01T05:00:00+00:00[UTC]"))
        );
        assert!(silence_end(Some("soon"), None, now, &tz).is_err());
        assert!(silence_end(Some("0s"), None, now, &tz).is_err());
        assert!(silence_end(None, Some("tomorrow"), now, &tz).is_err());
        assert!(silence_end(Some("1h"), Some("2026-12-01 06:00"), now, &tz).is_err());
        assert!(silence_end(None, None, now, &tz).is_err());
    }

    #[test]
    fn resolutions() {
        assert!(is_resolution("target", "RECOVERY", "PASS"));
        assert!(!is_resolution("target", "FAILURE", "FAIL"));
        assert!(is_resolution("service", "OK", "OK"));
        assert!(is_resolution("service", "online", "OK"));
        assert!(!is_resolution("service", "online", "ERROR"));
        assert!(!is_resolution("service", "offline", "OK"));
        assert!(!is_resolution("api", "alert", "OK"));
    }
}
