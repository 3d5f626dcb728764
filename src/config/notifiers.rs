//! `[[notifier]]` entries: who is told about failures and recoveries, and how.

use super::entries::{duration_s, yes, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[[notifier]]`: who is told about failures and recoveries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierConfig {
    /// Unique name.
    pub name: String,
    /// Delivery kind.
    #[serde(rename = "type")]
    pub kind: NotifierKind,
    /// E-mail addresses, comma-separated (smtp).
    #[serde(default)]
    pub address: String,
    /// Command line (command).
    #[serde(default)]
    pub command: String,
    /// Seconds a command may run (command).
    #[serde(default = "default_command_timeout")]
    pub timeout: u32,
    /// Endpoint (webhook).
    #[serde(default)]
    pub url: String,
    /// Extra headers (webhook).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Every Alertmanager of a cluster, each sent every alert (alertmanager).
    #[serde(default)]
    pub urls: Vec<String>,
    /// Labels added to every alert (alertmanager).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How often firing alerts are sent again, `"1m"` or seconds (alertmanager).
    #[serde(default = "default_resend_interval", deserialize_with = "duration_s")]
    pub resend_interval: u32,
    /// Whether the notifier is used.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Only alerts about these targets (by name); empty = all.
    #[serde(default)]
    pub only_targets: Vec<String>,
    /// Only alerts about these servers (by name); empty = all.
    #[serde(default)]
    pub only_servers: Vec<String>,
    /// Seconds after a message during which further alerts are held, then sent as
    /// one message (0 = each alert alone); see [`NotifierConfig::group_interval`].
    #[serde(default, rename = "group_interval")]
    pub group_interval_s: Option<u32>,
    /// Seconds an alert must stay unresolved and unacknowledged before this notifier
    /// hears of it (`"15m"`; 0 = at once).
    #[serde(default, deserialize_with = "duration_s")]
    pub escalate_after: u32,
}

impl NotifierConfig {
    /// The rows this entry stands for, as (name, address column): one, or for an
    /// Alertmanager cluster one per URL, named `<name>@<host:port>`, so that each
    /// Alertmanager has its own outbox, retries and counters.
    pub fn rows(&self) -> Vec<(String, String)> {
        let one = |address: &str| vec![(self.name.clone(), address.to_string())];
        match self.kind {
            NotifierKind::Smtp => one(&self.address),
            NotifierKind::Command => one(&self.command),
            NotifierKind::Webhook => one(&self.url),
            NotifierKind::Alertmanager if self.urls.len() == 1 => one(&self.urls[0]),
            NotifierKind::Alertmanager => self
                .urls
                .iter()
                .map(|u| {
                    let at = u.split_once("://").map_or(u.as_str(), |(_, rest)| rest);
                    (
                        format!("{}@{}", self.name, at.trim_end_matches('/')),
                        u.clone(),
                    )
                })
                .collect(),
        }
    }

    /// Seconds during which alerts after a message are held and then sent together:
    /// as configured, else 30 s, or 0 for Alertmanager, which groups alerts itself
    /// (whatever is owed still goes in one request).
    pub fn group_interval(&self) -> u32 {
        self.group_interval_s.unwrap_or(match self.kind {
            NotifierKind::Alertmanager => 0,
            _ => crate::domain::supervise::DEFAULT_GROUP_INTERVAL_S,
        })
    }
}

/// Notifier kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifierKind {
    /// E-mail through `[smtp]`.
    Smtp,
    /// A program reading the alert text on stdin.
    Command,
    /// An HTTP POST of JSON.
    Webhook,
    /// Alerts for Alertmanager's v2 API, resent while they fire.
    Alertmanager,
}

impl NotifierKind {
    /// The name used in the file, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifierKind::Smtp => "smtp",
            NotifierKind::Command => "command",
            NotifierKind::Webhook => "webhook",
            NotifierKind::Alertmanager => "alertmanager",
        }
    }

    /// Parses a stored or typed kind.
    pub fn parse(s: &str) -> Option<NotifierKind> {
        match s.to_ascii_lowercase().as_str() {
            "smtp" => Some(NotifierKind::Smtp),
            "command" => Some(NotifierKind::Command),
            "webhook" => Some(NotifierKind::Webhook),
            "alertmanager" => Some(NotifierKind::Alertmanager),
            _ => None,
        }
    }
}

fn default_command_timeout() -> u32 {
    30
}
fn default_resend_interval() -> u32 {
    DEFAULT_RESEND_INTERVAL_S
}

/// How often an Alertmanager notifier sends its firing alerts again by default.
pub const DEFAULT_RESEND_INTERVAL_S: u32 = 60;

/// Labels an Alertmanager notifier sets itself, which `labels` may not replace.
pub const ALERTMANAGER_OWN_LABELS: [&str; 5] =
    ["alertname", "severity", "target", "server", "service"];

pub(super) fn validate_notifier(n: &NotifierConfig) -> Result<(), Invalid> {
    if n.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    match n.kind {
        NotifierKind::Smtp if n.address.trim().is_empty() => {
            Err("type \"smtp\" needs address".into())
        }
        NotifierKind::Command if n.command.trim().is_empty() => {
            Err("type \"command\" needs command".into())
        }
        NotifierKind::Webhook if n.url.trim().is_empty() => {
            Err("type \"webhook\" needs url".into())
        }
        NotifierKind::Alertmanager if !n.url.is_empty() => {
            Err("type \"alertmanager\" takes urls, a list (url is for webhooks)".into())
        }
        NotifierKind::Alertmanager if n.urls.is_empty() => {
            Err("type \"alertmanager\" needs urls".into())
        }
        _ if n.timeout == 0 => Err("timeout must be at least 1 second".into()),
        NotifierKind::Alertmanager => {
            let mut seen = std::collections::HashSet::new();
            for u in &n.urls {
                check_notifier_address(n.kind, u)?;
                if !seen.insert(u.trim_end_matches('/')) {
                    return Err(format!("urls lists {u:?} twice").into());
                }
            }
            check_alertmanager_params(&n.labels, n.resend_interval)
        }
        _ => n
            .rows()
            .iter()
            .try_for_each(|(_, address)| check_notifier_address(n.kind, address)),
    }
}

/// Checks an Alertmanager notifier's own labels and resend interval (shared by the
/// file and `skypunchctl notifiers add`).
pub fn check_alertmanager_params(
    labels: &BTreeMap<String, String>,
    resend_interval: u32,
) -> Result<(), Invalid> {
    for (name, value) in labels {
        let mut chars = name.chars();
        let first = chars
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
        if !first || !chars.all(|c| c == '_' || c.is_ascii_alphanumeric()) || name.starts_with("__")
        {
            return Err(format!(
                "labels: {name:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
            )
            .into());
        }
        if ALERTMANAGER_OWN_LABELS.contains(&name.as_str()) {
            return Err(format!("labels: {name:?} is set by skypunch itself").into());
        }
        if value.is_empty() {
            return Err(format!("labels: {name:?} has an empty value").into());
        }
    }
    if resend_interval == 0 {
        return Err("resend_interval must be at least 1 second".into());
    }
    Ok(())
}

/// Checks a notifier's address column: e-mail addresses, a command line or a URL
/// (shared by the file and `skypunchctl notifiers add`).
pub fn check_notifier_address(kind: NotifierKind, address: &str) -> Result<(), Invalid> {
    match kind {
        NotifierKind::Smtp => {
            for a in address.split(',').map(str::trim) {
                if a.parse::<lettre::Address>().is_err() {
                    return Err(format!("address {a:?} is not an e-mail address").into());
                }
            }
            Ok(())
        }
        NotifierKind::Command => match shell_words::split(address) {
            Ok(words) if !words.is_empty() => Ok(()),
            Ok(_) => Err("command is empty".into()),
            Err(e) => Err(format!("command {address:?} cannot be split into words: {e}").into()),
        },
        NotifierKind::Webhook | NotifierKind::Alertmanager => match url::Url::parse(address) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
            _ => Err(format!("url {address:?} must be an http:// or https:// URL").into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn notifier(body: &str) -> Result<Config, String> {
        let text = format!("[[notifier]]\nname = \"am\"\ntype = \"alertmanager\"\n{body}\n");
        Config::parse(&text, Path::new("/etc/skypunch/skypunchd.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_alertmanager_cluster_is_one_row_per_url() {
        let c = notifier("urls = [\"http://am1:9093\", \"https://am2:9093/am/\"]").unwrap();
        let n = &c.notifiers[0];
        assert_eq!(
            n.rows(),
            [
                ("am@am1:9093".to_string(), "http://am1:9093".to_string()),
                (
                    "am@am2:9093/am".to_string(),
                    "https://am2:9093/am/".to_string()
                )
            ]
        );
        assert_eq!((n.group_interval(), n.resend_interval), (0, 60));
        let one = notifier("urls = [\"http://am1:9093\"]\nresend_interval = \"2m\"").unwrap();
        assert_eq!(one.notifiers[0].rows()[0].0, "am");
        assert_eq!(one.notifiers[0].resend_interval, 120);
    }

    #[test]
    fn alertmanager_settings_that_cannot_work_are_refused_by_name() {
        for (body, says) in [
            ("", "needs urls"),
            ("url = \"http://am1:9093\"", "takes urls, a list"),
            (
                "urls = [\"am1:9093\"]",
                "must be an http:// or https:// URL",
            ),
            (
                "urls = [\"http://a:1\", \"http://a:1/\"]",
                "lists \"http://a:1/\" twice",
            ),
            (
                "urls = [\"http://a:1\"]\nlabels = { \"9x\" = \"v\" }",
                "\"9x\" is not a label name",
            ),
            (
                "urls = [\"http://a:1\"]\nlabels = { __x = \"v\" }",
                "\"__x\" is not a label name",
            ),
            (
                "urls = [\"http://a:1\"]\nlabels = { severity = \"v\" }",
                "set by skypunch itself",
            ),
            (
                "urls = [\"http://a:1\"]\nlabels = { team = \"\" }",
                "empty value",
            ),
            (
                "urls = [\"http://a:1\"]\nresend_interval = 0",
                "at least 1 second",
            ),
        ] {
            let e = notifier(body).unwrap_err();
            assert!(
                e.contains("[[notifier]] \"am\"") && e.contains(says),
                "{body}: {e}"
            );
        }
    }
}
