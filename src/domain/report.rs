//! What a pushing host reports, as read from OverC's protocol: the server it speaks
//! for, its services' states and its alerts, and the protocol's limits. The push
//! listener reads these from request bodies; the store records them.

use crate::secret::Secret;

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

/// The `server` object.
#[derive(Debug, Clone)]
pub struct ServerId {
    /// As sent; servers and services are identified by name.
    pub name: String,
    /// Key, as sent.
    pub key: Secret,
}

/// One service's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReport {
    /// As sent; servers and services are identified by name.
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
    /// The text of the alert, as sent.
    pub message: String,
    /// Service it is about, if any.
    pub service: Option<String>,
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
