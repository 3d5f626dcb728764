//! The OverC push protocol: request bodies into validated reports.
//!
//! Parsing works on `serde_json::Value` so every refusal can name the field that is
//! wrong, as OverC's own messages do (`Data: "period" should be an integer`).

use crate::domain::report::{
    AlertReport, ServerId, ServiceReport, ServiceState, MAX_INFO, MAX_ITEMS, MAX_KEY, MAX_NAME,
    MAX_PERIOD,
};
use crate::secret::Secret;
use serde_json::Value;

/// A 400 answer's message.
pub type Invalid = String;

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, Invalid> {
    v.as_object()
        .ok_or_else(|| format!("Data: \"{what}\" should be an object"))
}

fn string(v: Option<&Value>, what: &str, max: usize) -> Result<String, Invalid> {
    let s = v
        .ok_or_else(|| format!("Data: \"{what}\" key is missing"))?
        .as_str()
        .ok_or_else(|| format!("Data: \"{what}\" should be a string"))?;
    sized(s, what, max)
}

/// A server or service name: [`sized`], and nothing a reader cannot see. Names are
/// written into log lines, alert texts and tables; a control character could forge a
/// log line and a zero-width one makes two names look the same.
fn named(s: &str, what: &str) -> Result<String, Invalid> {
    if s.chars().any(invisible) {
        return Err(format!(
            "Data: \"{what}\" should not hold control or invisible characters"
        ));
    }
    sized(s, what, MAX_NAME)
}

/// Control characters, and the format characters that print as nothing (zero-width
/// spaces and joiners, direction marks and overrides, the byte-order mark, line and
/// paragraph separators, the soft hyphen).
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

fn sized(s: &str, what: &str, max: usize) -> Result<String, Invalid> {
    let n = s.chars().count();
    if n == 0 || n > max {
        return Err(format!(
            "Data: \"{what}\" should be 1 to {max} characters long"
        ));
    }
    Ok(s.to_string())
}

/// Parses the JSON body, refusing anything but an object.
pub fn body(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, Invalid> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("Invalid JSON: {e}"))?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err("Invalid data: should be JSON object".into()),
    }
}

/// Reads `server: {name, key}`.
pub fn server(data: &serde_json::Map<String, Value>) -> Result<ServerId, Invalid> {
    let s = object(
        data.get("server")
            .ok_or("Data: \"server\" key is missing")?,
        "server",
    )?;
    Ok(ServerId {
        name: named(
            &string(s.get("name"), "server.name", MAX_NAME)?,
            "server.name",
        )?,
        key: Secret::new(string(s.get("key"), "server.key", MAX_KEY)?),
    })
}

fn period(v: &Value, what: &str) -> Result<i64, Invalid> {
    let p = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("Data: \"{what}\" should be an integer"))?;
    period_in_range(p, what)
}

fn period_in_range(p: i64, what: &str) -> Result<i64, Invalid> {
    if !(1..=MAX_PERIOD).contains(&p) {
        return Err(format!(
            "Data: \"{what}\" should be 1 to {MAX_PERIOD} seconds"
        ));
    }
    Ok(p)
}

/// Reads `/api/set/service/status`: `period` and `services`. A service named twice
/// keeps its last entry. `now` and `oldest` bound the optional `time` field.
pub fn services(
    data: &serde_json::Map<String, Value>,
    now: i64,
    oldest: i64,
) -> Result<Vec<ServiceReport>, Invalid> {
    let default_period = period(
        data.get("period")
            .ok_or("Data: \"period\" key is missing")?,
        "period",
    )?;
    let list = data
        .get("services")
        .ok_or("Data: \"services\" key is missing")?
        .as_array()
        .ok_or("Data: \"services\" should be a list")?;
    if list.len() > MAX_ITEMS {
        return Err(format!(
            "Data: \"services\" has more than {MAX_ITEMS} entries"
        ));
    }
    let mut out: Vec<ServiceReport> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let at = |f: &str| format!("services[{i}].{f}");
        let s = object(s, &format!("services[{i}]"))?;
        for k in s.keys() {
            if !matches!(k.as_str(), "name" | "state" | "info" | "period" | "time") {
                return Err(format!("Data: \"{}\" is not a known key", at(k)));
            }
        }
        let name = named(&string(s.get("name"), &at("name"), MAX_NAME)?, &at("name"))?;
        let sent = s
            .get("state")
            .ok_or_else(|| format!("Data: \"{}\" key is missing", at("state")))?
            .as_str()
            .ok_or_else(|| format!("Data: \"{}\" should be a string", at("state")))?;
        let info = match s.get("info") {
            None | Some(Value::Null) => "",
            Some(Value::String(t)) => t.as_str(),
            Some(_) => return Err(format!("Data: \"{}\" should be a string", at("info"))),
        };
        let period = match s.get("period") {
            Some(p) => period(p, &at("period"))?,
            None => default_period,
        };
        let time = match s.get("time") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(t.as_str()),
            Some(_) => return Err(format!("Data: \"{}\" should be a string", at("time"))),
        };
        let report = report(name, sent, info, period, time, &at, (now, oldest))?;
        match out.iter_mut().find(|r| r.name == report.name) {
            Some(earlier) => *earlier = report,
            None => out.push(report),
        }
    }
    Ok(out)
}

/// Builds one service's report from fields of the right types, with the checks both
/// readers apply; `at` names a field, `bounds` is (now, oldest) for `time`.
fn report(
    name: String,
    sent: &str,
    info: &str,
    period: i64,
    time: Option<&str>,
    at: &dyn Fn(&str) -> String,
    (now, oldest): (i64, i64),
) -> Result<ServiceReport, Invalid> {
    if info.len() > MAX_INFO {
        return Err(format!(
            "Data: \"{}\" is longer than {MAX_INFO} bytes",
            at("info")
        ));
    }
    let mut info = info.to_string();
    let state = ServiceState::parse(sent).unwrap_or_else(|| {
        info.push_str(&format!(" (sent unsupported state: \"{sent}\")"));
        ServiceState::Unk
    });
    let time = match time {
        None => None,
        Some(t) => {
            let ms = chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| format!("Data: \"{}\" is not an RFC 3339 time: {e}", at("time")))?
                .timestamp_millis();
            if ms > now + 60_000 {
                return Err(format!("Data: \"{}\" is in the future", at("time")));
            }
            if ms < oldest {
                return Err(format!(
                    "Data: \"{}\" is older than the history kept",
                    at("time")
                ));
            }
            Some(ms)
        }
    };
    Ok(ServiceReport {
        name,
        state,
        info,
        period,
        time,
    })
}

/// Reads `/api/set/service/status`: the server and its reports. A well-formed body
/// is read in one typed pass; anything that pass does not take (a wrong type, an
/// unknown key, a key given twice, a value out of range) is read again field by
/// field, which accepts exactly what it accepted before and names what is wrong.
pub fn status_report(
    bytes: &[u8],
    now: i64,
    oldest: i64,
) -> Result<(ServerId, Vec<ServiceReport>), Invalid> {
    if let Some(read) = typed::status(bytes, now, oldest) {
        return Ok(read);
    }
    let data = body(bytes)?;
    let server = server(&data)?;
    Ok((server, services(&data, now, oldest)?))
}

/// The typed pass of [`status_report`]: `None` for anything it does not take.
mod typed {
    use super::{ServerId, ServiceReport};
    use crate::secret::Secret;
    use serde::de::{self, Deserializer, Visitor};
    use serde::Deserialize;
    use std::borrow::Cow;

    /// A JSON object read as `T` (a derived struct would also take an array).
    struct Obj<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = Obj<T>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
                }
            }
            d.deserialize_map(V(std::marker::PhantomData))
        }
    }

    #[derive(Deserialize)]
    struct Status<'a> {
        #[serde(borrow)]
        server: Obj<Server<'a>>,
        period: Period,
        #[serde(borrow)]
        services: Vec<Obj<Service<'a>>>,
    }

    #[derive(Deserialize)]
    struct Server<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow)]
        key: Cow<'a, str>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Service<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow)]
        state: Cow<'a, str>,
        #[serde(default, borrow)]
        info: Option<Cow<'a, str>>,
        #[serde(default)]
        period: Period,
        #[serde(default, borrow)]
        time: Option<Cow<'a, str>>,
    }

    /// An integer, or a string holding one; `null` and anything else are refused
    /// here (the field-by-field reader says why).
    #[derive(Default)]
    enum Period {
        #[default]
        Absent,
        Seconds(Option<i64>),
    }

    impl<'de> Deserialize<'de> for Period {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Period;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an integer or a string holding one")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Period, E> {
                    Ok(Period::Seconds(Some(v)))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Period, E> {
                    Ok(Period::Seconds(i64::try_from(v).ok()))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Period, E> {
                    Ok(Period::Seconds(v.trim().parse().ok()))
                }
            }
            d.deserialize_any(V)
        }
    }

    impl Period {
        fn seconds(&self) -> Option<i64> {
            match self {
                Period::Seconds(Some(p)) => super::period_in_range(*p, "period").ok(),
                _ => None,
            }
        }
    }

    pub(super) fn status(
        bytes: &[u8],
        now: i64,
        oldest: i64,
    ) -> Option<(ServerId, Vec<ServiceReport>)> {
        let Obj(status): Obj<Status> = serde_json::from_slice(bytes).ok()?;
        let Obj(server) = &status.server;
        let server = ServerId {
            name: super::named(&server.name, "").ok()?,
            key: Secret::new(super::sized(&server.key, "", super::MAX_KEY).ok()?),
        };
        let default_period = status.period.seconds()?;
        if status.services.len() > super::MAX_ITEMS {
            return None;
        }
        let mut out: Vec<ServiceReport> = Vec::with_capacity(status.services.len());
        for Obj(s) in &status.services {
            let period = match s.period {
                Period::Absent => default_period,
                ref p => p.seconds()?,
            };
            let report = super::report(
                super::named(&s.name, "").ok()?,
                &s.state,
                s.info.as_deref().unwrap_or(""),
                period,
                s.time.as_deref(),
                &|f: &str| f.to_string(),
                (now, oldest),
            )
            .ok()?;
            match out.iter_mut().find(|r| r.name == report.name) {
                Some(earlier) => *earlier = report,
                None => out.push(report),
            }
        }
        Some((server, out))
    }
}

/// Reads `/api/set/alerts`: `alerts: [{message, service?}]`.
pub fn alerts(data: &serde_json::Map<String, Value>) -> Result<Vec<AlertReport>, Invalid> {
    let list = data
        .get("alerts")
        .ok_or("Data: \"alerts\" key is missing")?
        .as_array()
        .ok_or("Data: \"alerts\" should be a list")?;
    if list.len() > MAX_ITEMS {
        return Err(format!(
            "Data: \"alerts\" has more than {MAX_ITEMS} entries"
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let a = object(a, &format!("alerts[{i}]"))?;
            let message = string(a.get("message"), &format!("alerts[{i}].message"), MAX_INFO)?;
            let service = match a.get("service") {
                None | Some(Value::Null) => None,
                s => {
                    let what = format!("alerts[{i}].service");
                    Some(named(&string(s, &what, MAX_NAME)?, &what)?)
                }
            };
            Ok(AlertReport { message, service })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> serde_json::Map<String, Value> {
        body(s.as_bytes()).unwrap()
    }

    #[test]
    fn states_like_overc() {
        let d = parse(
            r#"{"period": "60", "services": [
            {"name": "a", "state": "ok"}, {"name": "b", "state": "ERR", "info": "x"},
            {"name": "c", "state": "BROKEN", "info": "i"}, {"name": "a", "state": "WARN", "period": 5}]}"#,
        );
        let s = services(&d, 0, -1).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].name.as_str(), s[0].state, s[0].period),
            ("a", ServiceState::Warn, 5)
        );
        assert_eq!((s[1].state, s[1].period), (ServiceState::Fail, 60));
        assert_eq!(s[2].state, ServiceState::Unk);
        assert_eq!(s[2].info, "i (sent unsupported state: \"BROKEN\")");
    }

    #[test]
    fn errors_name_the_field() {
        let e = |s: &str| services(&parse(s), 0, -1).unwrap_err();
        assert_eq!(e(r#"{"services": []}"#), "Data: \"period\" key is missing");
        assert_eq!(
            e(r#"{"period": "x", "services": []}"#),
            "Data: \"period\" should be an integer"
        );
        assert!(e(r#"{"period": 0, "services": []}"#).contains("\"period\" should be 1 to"));
        assert_eq!(
            e(r#"{"period": 1, "services": {}}"#),
            "Data: \"services\" should be a list"
        );
        assert_eq!(
            e(r#"{"period": 1, "services": [{"state": "OK"}]}"#),
            "Data: \"services[0].name\" key is missing"
        );
        assert_eq!(
            e(r#"{"period": 1, "services": [{"name": "a"}]}"#),
            "Data: \"services[0].state\" key is missing"
        );
        assert!(
            e(r#"{"period": 1, "services": [{"name": "a", "state": "OK", "x": 1}]}"#)
                .contains("services[0].x")
        );
        let long = "n".repeat(129);
        assert!(e(&format!(
            r#"{{"period": 1, "services": [{{"name": "{long}", "state": "OK"}}]}}"#
        ))
        .contains("1 to 128"));
        assert!(server(&parse(r#"{"server": {"name": "a"}}"#))
            .unwrap_err()
            .contains("server.key"));
        assert_eq!(
            body(b"[1]").unwrap_err(),
            "Invalid data: should be JSON object"
        );
        assert!(body(b"{").unwrap_err().starts_with("Invalid JSON"));
    }

    /// Both readers of a status report: the typed pass takes a body only when it
    /// reads it exactly as the field-by-field reader does.
    #[test]
    fn the_typed_pass_agrees_with_the_field_by_field_reader() {
        let srv = r#""server": {"name": "web1", "key": "k", "extra": 1}"#;
        let bodies = [
            format!(r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK"}}]}}"#),
            format!(
                r#"{{{srv}, "period": "60", "services": [{{"name": "a\u00e9", "state": "warn", "info": "x\ny"}}]}}"#
            ),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "odd", "info": null, "time": null}}]}}"#
            ),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK", "period": 5}}, {{"name": "a", "state": "ERR"}}]}}"#
            ),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK", "time": "1970-01-01T00:00:10Z"}}]}}"#
            ),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK", "time": "1970-01-01T05:00:10Z"}}]}}"#
            ),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK", "period": null}}]}}"#
            ),
            format!(r#"{{{srv}, "period": 60.0, "services": []}}"#),
            format!(r#"{{{srv}, "period": 0, "services": []}}"#),
            format!(r#"{{{srv}, "period": -3, "services": []}}"#),
            format!(r#"{{{srv}, "period": 18446744073709551615, "services": []}}"#),
            format!(r#"{{{srv}, "period": 60, "services": [["a", "OK"]]}}"#),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK", "x": 1}}]}}"#
            ),
            format!(r#"{{{srv}, "period": 60, "services": [{{"name": "", "state": "OK"}}]}}"#),
            format!(r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": 1}}]}}"#),
            format!(r#"{{{srv}, "period": 60, "period": 30, "services": []}}"#),
            format!(r#"{{{srv}, "period": 60, "services": {{}}}}"#),
            r#"{"server": ["web1", "k"], "period": 60, "services": []}"#.to_string(),
            r#"{"server": {"name": "web1"}, "period": 60, "services": []}"#.to_string(),
            format!(r#"[{srv}]"#),
            r#"{"period": 60, "services": []}"#.to_string(),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK", "info": "{}"}}]}}"#,
                "i".repeat(MAX_INFO + 1)
            ),
            format!(
                r#"{{{srv}, "period": 60, "services": [{{"name": "a", "state": "OK"}}], "extra": [1]}}"#
            ),
            "{".to_string(),
        ];
        let (now, oldest) = (20_000, 0);
        let mut typed_took = 0;
        for b in &bodies {
            let slow =
                body(b.as_bytes()).and_then(|d| Ok((server(&d)?, services(&d, now, oldest)?)));
            let both = status_report(b.as_bytes(), now, oldest);
            let show = |r: &Result<(ServerId, Vec<ServiceReport>), Invalid>| {
                r.as_ref()
                    .map(|(s, v)| (s.name.clone(), s.key.expose().to_string(), v.clone()))
                    .map_err(Clone::clone)
            };
            assert_eq!(show(&both), show(&slow), "{b}");
            if let Some((s, v)) = typed::status(b.as_bytes(), now, oldest) {
                typed_took += 1;
                assert_eq!(
                    Ok((s.name, s.key.expose().to_string(), v)),
                    show(&slow),
                    "{b}"
                );
            }
        }
        assert_eq!(
            typed_took, 6,
            "the well-formed bodies are read by the typed pass"
        );
    }

    #[test]
    fn times_are_bounded() {
        let d = |t: &str| {
            parse(&format!(
                r#"{{"period": 1, "services": [{{"name": "a", "state": "OK", "time": "{t}"}}]}}"#
            ))
        };
        assert_eq!(
            services(&d("1970-01-01T00:00:10Z"), 20_000, 0).unwrap()[0].time,
            Some(10_000)
        );
        assert!(services(&d("1970-01-01T01:00:00Z"), 0, 0)
            .unwrap_err()
            .contains("future"));
        assert!(services(&d("1970-01-01T00:00:10Z"), 20_000, 15_000)
            .unwrap_err()
            .contains("older"));
    }
}
