//! What an alert says: the text given to commands and webhooks (OverC's for pushed
//! data), the e-mail subject and body, and the webhook's JSON object.

use crate::store::notifiers::AlertRecord;
use serde_json::{json, Value};

/// Whether the alert comes from pushed data (OverC's kinds).
fn is_pushed(a: &AlertRecord) -> bool {
    matches!(a.kind.as_str(), "service" | "api")
}

/// `<server> <service>` or `<server>` alone.
fn source(a: &AlertRecord) -> String {
    if a.service.is_empty() {
        a.server.clone()
    } else {
        format!("{} {}", a.server, a.service)
    }
}

/// The alert text. For pushed data exactly OverC's:
///
/// ```text
/// <server> <service>: [<channel>/<event>] <message>
/// Current: <state>: <info>
/// ```
///
/// For targets the message (`Skypunch FAILURE detected for <name>`) followed by the
/// details (description, counters, trace). Every line ends with `\n`.
pub fn text(a: &AlertRecord) -> String {
    let mut out = if is_pushed(a) {
        let mut s = format!("{}: [{}/{}] {}\n", source(a), a.channel, a.event, a.message);
        if !a.state.is_empty() {
            s.push_str(&format!("Current: {}: {}\n", a.state, a.details));
        }
        s
    } else if a.details.is_empty() {
        format!("{}\n", a.message)
    } else {
        format!("{}\n{}", a.message, a.details)
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The e-mail subject.
pub fn subject(a: &AlertRecord) -> String {
    match a.kind.as_str() {
        "target" => a.message.clone(),
        "service" | "api" => format!("skypunch: {}: {}/{}", source(a), a.channel, a.event),
        _ => format!("skypunch: {}", a.message),
    }
}

/// The e-mail body: the alert text, and when it was raised.
pub fn body(a: &AlertRecord) -> String {
    format!(
        "{}\nTime: {}\n",
        text(a),
        crate::domain::time::format_ms(a.time)
    )
}

/// The name the alert is about: the target, `<server> <service>`, or the message.
fn name(a: &AlertRecord) -> String {
    match a.kind.as_str() {
        "target" => a.target.clone(),
        "service" | "api" => source(a),
        _ => String::new(),
    }
}

/// The webhook's JSON object; `text` makes Slack- and Mattermost-style hooks work.
pub fn webhook_json(a: &AlertRecord) -> Value {
    let time = chrono::DateTime::from_timestamp_millis(a.time)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    json!({
        "id": a.id,
        "kind": a.kind,
        "name": name(a),
        "target": a.target,
        "server": a.server,
        "service": a.service,
        "channel": a.channel,
        "event": a.event,
        "state": a.state,
        "previous": a.previous,
        "message": a.message,
        "description": if a.kind == "target" { &a.description } else { &a.details },
        "text": text(a),
        "time": time,
    })
}

/// The subject of a group: `skypunch: <n> alerts (<k> FAILURE, <j> offline, ...)`,
/// the events counted in the order they first appear.
pub fn group_subject(alerts: &[AlertRecord]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for a in alerts {
        let event = if a.event.is_empty() {
            "alert"
        } else {
            &a.event
        };
        match counts.iter_mut().find(|(e, _)| *e == event) {
            Some((_, n)) => *n += 1,
            None => counts.push((event, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(e, n)| format!("{n} {e}")).collect();
    format!("skypunch: {} alerts ({})", alerts.len(), counts.join(", "))
}

/// A group's text (command stdin, webhook `text`): every alert's text in order, a
/// blank line between two.
pub fn group_text(alerts: &[AlertRecord]) -> String {
    alerts.iter().map(text).collect::<Vec<_>>().join("\n")
}

/// A group's e-mail body: every alert's body in order.
pub fn group_body(alerts: &[AlertRecord]) -> String {
    alerts.iter().map(body).collect::<Vec<_>>().join("\n")
}

/// A group's webhook object: `{"kind": "group", "count", "alerts", "text"}`, each
/// alert as [`webhook_json`] gives it alone.
pub fn group_webhook_json(alerts: &[AlertRecord]) -> Value {
    json!({
        "kind": "group",
        "count": alerts.len(),
        "alerts": alerts.iter().map(webhook_json).collect::<Vec<_>>(),
        "text": group_text(alerts),
    })
}

/// The alert a `notifiers ID test` sends.
pub fn test_alert(notifier: &str) -> AlertRecord {
    AlertRecord {
        kind: "test".into(),
        channel: "test".into(),
        event: "test".into(),
        message: format!("Test message from skypunch through notifier `{notifier}`"),
        time: crate::domain::time::now_ms(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(service: &str, state: &str, info: &str) -> AlertRecord {
        AlertRecord {
            kind: "service".into(),
            server: "a.example".into(),
            service: service.into(),
            channel: "service:state".into(),
            event: "FAIL".into(),
            message: r#"State changed: "OK" -> "FAIL""#.into(),
            state: state.into(),
            details: info.into(),
            ..Default::default()
        }
    }

    #[test]
    fn pushed_alert_text_is_overcs() {
        assert_eq!(
            text(&pushed("app", "FAIL", "disk full")),
            "a.example app: [service:state/FAIL] State changed: \"OK\" -> \"FAIL\"\n\
             Current: FAIL: disk full\n"
        );
        let api = AlertRecord {
            kind: "api".into(),
            server: "a.example".into(),
            channel: "api".into(),
            event: "alert".into(),
            message: "backup failed".into(),
            ..Default::default()
        };
        assert_eq!(text(&api), "a.example: [api/alert] backup failed\n");
        assert_eq!(subject(&api), "skypunch: a.example: api/alert");
        assert_eq!(
            subject(&pushed("app", "FAIL", "")),
            "skypunch: a.example app: service:state/FAIL"
        );
    }

    #[test]
    fn a_group_lists_every_alert_and_counts_its_events() {
        let failure = |name: &str| AlertRecord {
            kind: "target".into(),
            target: name.into(),
            event: "FAILURE".into(),
            message: format!("Skypunch FAILURE detected for {name}"),
            ..Default::default()
        };
        let mut offline = pushed("app", "", "");
        offline.event = "offline".into();
        let group = [failure("a"), offline, failure("b")];
        assert_eq!(
            group_subject(&group),
            "skypunch: 3 alerts (2 FAILURE, 1 offline)"
        );
        let text = group_text(&group);
        assert_eq!(
            text,
            "Skypunch FAILURE detected for a\n\n\
             a.example app: [service:state/offline] State changed: \"OK\" -> \"FAIL\"\n\n\
             Skypunch FAILURE detected for b\n"
        );
        let v = group_webhook_json(&group);
        assert_eq!(v["kind"], "group");
        assert_eq!(v["count"], 3);
        assert_eq!(v["alerts"][2]["name"], "b");
        assert_eq!(v["text"], text);
        assert_eq!(group_body(&group).matches("Time: ").count(), 3);
    }

    #[test]
    fn target_alert_text_and_subject() {
        let a = AlertRecord {
            kind: "target".into(),
            target: "web".into(),
            message: "Skypunch FAILURE detected for web".into(),
            description: "connection refused".into(),
            details: "Target: [1] web\nStatus: FAIL (connection refused)".into(),
            state: "FAIL".into(),
            previous: "PASS".into(),
            ..Default::default()
        };
        assert_eq!(subject(&a), "Skypunch FAILURE detected for web");
        assert_eq!(
            text(&a),
            "Skypunch FAILURE detected for web\nTarget: [1] web\nStatus: FAIL (connection refused)\n"
        );
        let v = webhook_json(&a);
        assert_eq!(v["name"], "web");
        assert_eq!(v["description"], "connection refused");
        assert_eq!(v["previous"], "PASS");
        assert_eq!(v["text"], text(&a));
    }
}
