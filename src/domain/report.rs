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
    /// The state, mapped from what was sent.
    pub state: ServiceState,
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

/// A pushed service's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceState {
    /// Fine.
    Ok,
    /// Degraded: worth a look, not an outage.
    Warn,
    /// Failing (`ERR` is taken as this).
    Fail,
    /// Unknown: the check could not tell (or sent a state OverC does not know).
    Unk,
}

impl ServiceState {
    /// Reads a sent state: OK, WARN, FAIL, UNK (any case), ERR = FAIL.
    pub fn parse(sent: &str) -> Option<ServiceState> {
        match sent.to_ascii_uppercase().as_str() {
            "OK" => Some(ServiceState::Ok),
            "WARN" => Some(ServiceState::Warn),
            "FAIL" | "ERR" => Some(ServiceState::Fail),
            "UNK" => Some(ServiceState::Unk),
            _ => None,
        }
    }

    /// As stored and shown: `OK`, `WARN`, `FAIL`, `UNK`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Ok => "OK",
            ServiceState::Warn => "WARN",
            ServiceState::Fail => "FAIL",
            ServiceState::Unk => "UNK",
        }
    }
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
