//! What the entries of the file share: a target's method and authentication, the
//! error that names a wrong value, the limits, and the checks of windows and flap
//! periods that targets and service rules both have.

use crate::domain::supervise::MAX_WINDOW;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::fmt;

/// HTTP methods a target may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    #[default]
    Get,
    /// PUT.
    Put,
    /// POST.
    Post,
    /// DELETE.
    Delete,
    /// HEAD.
    Head,
    /// PATCH.
    Patch,
    /// OPTIONS.
    Options,
}

impl Method {
    /// Every method, for messages and parsing.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Head,
        Method::Patch,
        Method::Options,
    ];

    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
        }
    }

    /// Parses a method name, case-insensitively.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Authentication of a target, as written in the file.
///
/// Every field is optional here so that a missing one produces Skypunch's own message
/// (`invalid BASIC authn params ...`) rather than a parser error.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `none`, `basic` or `openstack`.
    #[serde(rename = "type", default)]
    pub kind: AuthKind,
    /// User name (basic, openstack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Password (basic, openstack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Keystone endpoint (Skypunch's `osauthendpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    /// Keystone v2.0 tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Keystone v3 project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Keystone v3 project name (with `domain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Keystone v3 user and project domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// Authentication schemes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// No authentication.
    #[default]
    None,
    /// HTTP Basic.
    Basic,
    /// OpenStack Keystone token.
    Openstack,
}

/// What is wrong with a value, naming the key (and, for an entry, what it should be).
/// The same rules judge the file, `skypunchctl targets add` / `notifiers add` and rows
/// read from the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(String);

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Invalid(message.to_string())
    }
}

/// Longest time between two checks of a target: a year.
pub const MAX_FREQUENCY: u32 = 365 * 86_400;

/// Skypunch's message for an incomplete BASIC setup.
pub const BASIC_PARAMS_ERROR: &str = "invalid BASIC authn params (user and password required)";
/// Skypunch's message for an incomplete Keystone setup.
pub const OPENSTACK_PARAMS_ERROR: &str =
    "invalid Openstack / Keystone authn params (user,password,tenantid,osauthendpoint)";

impl AuthConfig {
    /// Checks that the scheme has the parameters it needs, with Skypunch's messages.
    pub fn validate(&self) -> Result<(), &'static str> {
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        let has_password = self.password.as_ref().is_some_and(|p| !p.is_empty());
        match self.kind {
            AuthKind::None => Ok(()),
            AuthKind::Basic if has(&self.user) && has_password => Ok(()),
            AuthKind::Basic => Err(BASIC_PARAMS_ERROR),
            AuthKind::Openstack => {
                let project = has(&self.tenant_id)
                    || has(&self.project_id)
                    || (has(&self.project_name) && has(&self.domain));
                if has(&self.user) && has_password && has(&self.auth_url) && project {
                    Ok(())
                } else {
                    Err(OPENSTACK_PARAMS_ERROR)
                }
            }
        }
    }
}

/// A span written as `"15m"` (or a number of seconds) into seconds.
pub(super) fn duration_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Span {
        Seconds(u32),
        Text(String),
    }
    match Span::deserialize(d)? {
        Span::Seconds(s) => Ok(s),
        Span::Text(t) => crate::domain::time::duration_ms(&t)
            .map_err(serde::de::Error::custom)
            .and_then(|ms| {
                u32::try_from(ms / 1000)
                    .map_err(|_| serde::de::Error::custom(format!("{t:?} is too long")))
            }),
    }
}

pub(super) fn yes() -> bool {
    true
}

/// A `<key>_window` (default: its threshold), checked to span from its threshold to
/// [`MAX_WINDOW`] `unit` (checks, reports). Shared by targets and service rules.
pub(super) fn window_of(
    key: &str,
    threshold: u32,
    window: Option<u32>,
    unit: &str,
) -> Result<u32, Invalid> {
    let window = window.unwrap_or(threshold);
    if window < threshold || window > MAX_WINDOW {
        return Err(format!(
            "{key}_window must be from {key}_threshold ({threshold}) to {MAX_WINDOW} {unit}, not {window}"
        )
        .into());
    }
    Ok(window)
}

/// `flap_minutes` is at least 1 (shared by targets and service rules).
pub(super) fn check_flap_minutes(minutes: u32) -> Result<(), Invalid> {
    if minutes == 0 {
        return Err(
            "flap_minutes must be at least 1 (flap_changes = 0 turns flap detection off)".into(),
        );
    }
    Ok(())
}
