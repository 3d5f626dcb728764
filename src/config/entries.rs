//! The entries of the file: `[[target]]` and `[[notifier]]`, their types and their
//! validation, shared with `skypunchctl targets add` / `notifiers add` and rows read
//! from the database.

use super::options::TargetOptions;
use crate::domain::supervise::MAX_WINDOW;
use crate::domain::target::CheckKind;
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

/// `[[target]]`: one check, as the file, `skypunchctl targets add` and a stored row
/// describe it. Read from the file by `options.rs`, which also holds its options.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// Unique name; config entries are matched to database rows by it.
    pub name: String,
    /// URL to check.
    pub url: String,
    /// HTTP method (default GET).
    pub method: Method,
    /// Status that means PASS (default 200).
    pub expect_status: u16,
    /// Seconds between checks (default 10).
    pub frequency: u32,
    /// Seconds for the whole check (default 10).
    pub timeout: u32,
    /// Whether the target is checked (default yes).
    pub enabled: bool,
    /// How the request authenticates (`none`, `basic`, `openstack`).
    pub auth: AuthConfig,
    /// Every other key.
    pub options: TargetOptions,
}

impl TargetConfig {
    /// A target with every other key at its default.
    pub fn new(name: String, url: String) -> TargetConfig {
        TargetConfig {
            name,
            url,
            method: Method::default(),
            expect_status: 200,
            frequency: 10,
            timeout: 10,
            enabled: true,
            auth: AuthConfig::default(),
            options: TargetOptions::default(),
        }
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

/// Checks the values of one target (shared by the file and `skypunchctl targets add`).
pub fn validate_target(t: &TargetConfig) -> Result<(), Invalid> {
    if t.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    let Some(kind) = CheckKind::of_url(&t.url) else {
        return Err(format!("url {:?} must start with {}", t.url, CheckKind::SCHEMES).into());
    };
    let url = match url::Url::parse(&t.url) {
        // A dns:// target without a server asks the system's.
        Ok(u) if kind == CheckKind::Dns || u.host_str().is_some_and(|h| !h.is_empty()) => u,
        Ok(_) => return Err(format!("url {:?} has no host", t.url).into()),
        Err(e) => return Err(format!("url {:?} is not a valid URL: {e}", t.url).into()),
    };
    super::kinds::validate(kind, &url, t)?;
    if !(100..=599).contains(&t.expect_status) {
        return Err(format!(
            "expect_status {} is not an HTTP status (100-599)",
            t.expect_status
        )
        .into());
    }
    if !(1..=MAX_FREQUENCY).contains(&t.frequency) {
        return Err(format!("frequency must be 1 to {MAX_FREQUENCY} seconds (a year)").into());
    }
    if t.timeout == 0 {
        return Err("timeout must be at least 1 second".into());
    }
    if t.options.failure_threshold == 0 || t.options.success_threshold == 0 {
        return Err("failure_threshold and success_threshold must be at least 1".into());
    }
    for (key, threshold, window) in [
        (
            "failure",
            t.options.failure_threshold,
            t.options.failure_window,
        ),
        (
            "success",
            t.options.success_threshold,
            t.options.success_window,
        ),
    ] {
        window_of(key, threshold, window, "checks")?;
    }
    check_flap_minutes(t.options.flap_minutes)?;
    match crate::domain::depend::parse_all(&t.options.depends_on) {
        Ok(parents) if parents.contains(&crate::domain::depend::Parent::Target(t.name.clone())) => {
            return Err(format!(
                "depends_on \"target:{}\": a target cannot depend on itself",
                t.name
            )
            .into())
        }
        Ok(_) => {}
        Err(e) => return Err(e.to_string().into()),
    }
    t.auth.validate().map_err(Invalid::from)
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
