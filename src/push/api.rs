//! The OverC push protocol: request bodies into validated reports.
//!
//! Parsing works on `serde_json::Value` so every refusal can name the field that is
//! wrong, as OverC's own messages do (`Data: "period" should be an integer`).

use crate::secret::Secret;
use serde_json::Value;

/// Longest server or service name, in characters.
pub const MAX_NAME: usize = 128;
/// Longest server key.
pub const MAX_KEY: usize = 256;
/// Longest `info`, in bytes.
pub const MAX_INFO: usize = 64 * 1024;
/// Most services or alerts in one request.
pub const MAX_ITEMS: usize = 1000;
/// Longest period: a year.
pub const MAX_PERIOD: i64 = 365 * 86_400;

/// A 400 answer's message.
pub type Invalid = String;

/// The `server` object.
#[derive(Debug, Clone)]
pub struct ServerId {
    /// Name.
    pub name: String,
    /// Key, as sent.
    pub key: Secret,
}

/// One service's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReport {
    /// Name.
    pub name: String,
    /// `OK`, `WARN`, `FAIL` or `UNK`.
    pub state: &'static str,
    /// Info, with OverC's note appended for an unsupported state.
    pub info: String,
    /// Seconds within which it promises to report again.
    pub period: i64,
    /// When it was measured (ms since the epoch), if the agent said.
    pub time: Option<i64>,
}

/// One pushed alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertReport {
    /// Message.
    pub message: String,
    /// Service it is about, if any.
    pub service: Option<String>,
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, Invalid> {
    v.as_object()
        .ok_or_else(|| format!("Data: \"{what}\" should be an object"))
}

fn string(v: Option<&Value>, what: &str, max: usize) -> Result<String, Invalid> {
    let s = v
        .ok_or_else(|| format!("Data: \"{what}\" key is missing"))?
        .as_str()
        .ok_or_else(|| format!("Data: \"{what}\" should be a string"))?;
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
        name: string(s.get("name"), "server.name", MAX_NAME)?,
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
    if !(1..=MAX_PERIOD).contains(&p) {
        return Err(format!(
            "Data: \"{what}\" should be 1 to {MAX_PERIOD} seconds"
        ));
    }
    Ok(p)
}

/// Maps a sent state to a stored one: OK, WARN, FAIL, UNK (case-insensitive), ERR = FAIL.
pub fn state(sent: &str) -> Option<&'static str> {
    match sent.to_ascii_uppercase().as_str() {
        "OK" => Some("OK"),
        "WARN" => Some("WARN"),
        "FAIL" | "ERR" => Some("FAIL"),
        "UNK" => Some("UNK"),
        _ => None,
    }
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
        let name = string(s.get("name"), &at("name"), MAX_NAME)?;
        let sent = s
            .get("state")
            .ok_or_else(|| format!("Data: \"{}\" key is missing", at("state")))?
            .as_str()
            .ok_or_else(|| format!("Data: \"{}\" should be a string", at("state")))?;
        let mut info = match s.get("info") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err(format!("Data: \"{}\" should be a string", at("info"))),
        };
        if info.len() > MAX_INFO {
            return Err(format!(
                "Data: \"{}\" is longer than {MAX_INFO} bytes",
                at("info")
            ));
        }
        let state = state(sent).unwrap_or_else(|| {
            info.push_str(&format!(" (sent unsupported state: \"{sent}\")"));
            "UNK"
        });
        let period = match s.get("period") {
            Some(p) => period(p, &at("period"))?,
            None => default_period,
        };
        let time = match s.get("time") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => {
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
            Some(_) => return Err(format!("Data: \"{}\" should be a string", at("time"))),
        };
        let report = ServiceReport {
            name,
            state,
            info,
            period,
            time,
        };
        match out.iter_mut().find(|r| r.name == report.name) {
            Some(earlier) => *earlier = report,
            None => out.push(report),
        }
    }
    Ok(out)
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
                s => Some(string(s, &format!("alerts[{i}].service"), MAX_NAME)?),
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
            ("a", "WARN", 5)
        );
        assert_eq!((s[1].state, s[1].period), ("FAIL", 60));
        assert_eq!(s[2].state, "UNK");
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
