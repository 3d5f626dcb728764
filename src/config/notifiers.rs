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
    /// one message (0 = each alert alone).
    #[serde(default = "default_group_interval")]
    pub group_interval: u32,
    /// Seconds an alert must stay unresolved and unacknowledged before this notifier
    /// hears of it (`"15m"`; 0 = at once).
    #[serde(default, deserialize_with = "duration_s")]
    pub escalate_after: u32,
}

impl NotifierConfig {
    /// What goes into the notifier's `address` column for its kind.
    pub fn address(&self) -> &str {
        match self.kind {
            NotifierKind::Smtp => &self.address,
            NotifierKind::Command => &self.command,
            NotifierKind::Webhook => &self.url,
        }
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
}

impl NotifierKind {
    /// The name used in the file, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifierKind::Smtp => "smtp",
            NotifierKind::Command => "command",
            NotifierKind::Webhook => "webhook",
        }
    }

    /// Parses a stored or typed kind.
    pub fn parse(s: &str) -> Option<NotifierKind> {
        match s.to_ascii_lowercase().as_str() {
            "smtp" => Some(NotifierKind::Smtp),
            "command" => Some(NotifierKind::Command),
            "webhook" => Some(NotifierKind::Webhook),
            _ => None,
        }
    }
}

fn default_command_timeout() -> u32 {
    30
}
fn default_group_interval() -> u32 {
    crate::domain::supervise::DEFAULT_GROUP_INTERVAL_S
}
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
        _ if n.timeout == 0 => Err("timeout must be at least 1 second".into()),
        _ => check_notifier_address(n.kind, n.address()),
    }
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
        NotifierKind::Webhook => match url::Url::parse(address) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
            _ => Err(format!("url {address:?} must be an http:// or https:// URL").into()),
        },
    }
}
