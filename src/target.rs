//! Targets: what is checked, validated once at the border.
//!
//! A target lives as a row of the `targets` table whatever made it (the config file,
//! `skypunchctl targets add`, or an `INSERT` by hand). [`TargetRow`] is that row's
//! definition columns as stored; [`TargetDef`] is the checked, typed form the probe
//! uses. A row that cannot be checked (a bad URL or method, missing authentication
//! parameters) still becomes a `TargetDef`, with [`TargetDef::invalid`] saying why, so
//! that it shows up as a FAIL with that description instead of vanishing.

use crate::config::{
    validate_target, AuthConfig, AuthKind, Invalid, Method, TargetConfig, DEFAULT_FLAP_CHANGES,
    DEFAULT_FLAP_MINUTES, MAX_FREQUENCY, OPENSTACK_PARAMS_ERROR,
};
use crate::domain::target::{CheckKind, TargetRow};
use crate::secret::{json_error, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

/// The options of a target that sets none.
static DEFAULT_OPTIONS: LazyLock<Arc<TargetOptions>> =
    LazyLock::new(|| Arc::new(TargetOptions::default()));

/// Options beyond Skypunch's columns, stored as JSON in `targets.options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetOptions {
    /// Extra request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// FAIL unless the body contains this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// FAIL unless the body matches this regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    /// What a `tcp://` target sends once connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// FAIL unless a `tcp://` target's first reply contains this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// FAIL when an `icmp://` target loses more of its echo requests (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_loss_percent: Option<u32>,
    /// FAIL when the whole response takes longer, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_response_ms: Option<u64>,
    /// FAIL when the certificate expires within this many days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_expiry_days: Option<u32>,
    /// WARN when the whole response takes longer, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_response_ms: Option<u64>,
    /// WARN when the certificate expires within this many days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_cert_days: Option<u32>,
    /// Follow 3xx redirects (up to 10).
    pub follow_redirects: bool,
    /// Follow a redirect from https to http.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_redirect: bool,
    /// Verify the TLS certificate.
    pub tls_verify: bool,
    /// Reuse the target's connection between checks.
    pub keep_alive: bool,
    /// Failed checks (among `failure_window`) before the state becomes FAIL.
    pub failure_threshold: u32,
    /// The latest checks `failure_threshold` is counted in; none = as many
    /// (consecutive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_window: Option<u32>,
    /// Passed checks (among `success_window`) before FAIL becomes PASS.
    pub success_threshold: u32,
    /// The latest checks `success_threshold` is counted in; none = as many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_window: Option<u32>,
    /// Repeat a FAILURE this often while it lasts; 0 = never.
    pub renotify_minutes: u32,
    /// State changes within `flap_minutes` that make the target flapping; 0 = off.
    pub flap_changes: u32,
    /// The flapping period, and how long a state must hold to settle.
    pub flap_minutes: u32,
    /// Parents whose being down holds this target's alerts back.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl TargetOptions {
    /// The rules its checks are judged by.
    pub fn thresholds(&self) -> crate::domain::supervise::Thresholds {
        crate::domain::supervise::Thresholds {
            failure: self.failure_threshold,
            failure_window: self.failure_window.unwrap_or(self.failure_threshold),
            success: self.success_threshold,
            success_window: self.success_window.unwrap_or(self.success_threshold),
            renotify_minutes: self.renotify_minutes,
            flap_changes: self.flap_changes,
            flap_minutes: self.flap_minutes,
        }
    }
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            headers: BTreeMap::new(),
            body: None,
            body_contains: None,
            body_regex: None,
            send: None,
            expect: None,
            max_loss_percent: None,
            max_response_ms: None,
            cert_expiry_days: None,
            warn_response_ms: None,
            warn_cert_days: None,
            follow_redirects: false,
            allow_insecure_redirect: false,
            tls_verify: true,
            keep_alive: false,
            failure_threshold: 1,
            failure_window: None,
            success_threshold: 1,
            success_window: None,
            renotify_minutes: 0,
            flap_changes: DEFAULT_FLAP_CHANGES,
            flap_minutes: DEFAULT_FLAP_MINUTES,
            depends_on: Vec::new(),
        }
    }
}

/// Keystone project scoping, which also selects the API version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeystoneScope {
    /// v2.0: `tenantId`.
    Tenant(String),
    /// v3: project by id.
    ProjectId(String),
    /// v3: project by name within a domain (also the user's domain).
    ProjectName {
        /// Project name.
        name: String,
        /// Domain name.
        domain: String,
    },
}

/// Keystone credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystone {
    /// Identity endpoint, e.g. `https://keystone:5000/v2.0` or `.../v3`.
    pub auth_url: String,
    /// User name.
    pub user: String,
    /// Never printed (see [`Secret`](crate::secret::Secret)).
    pub password: Secret,
    /// Project scope.
    pub scope: KeystoneScope,
}

/// Authentication of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials are sent.
    None,
    /// HTTP Basic.
    Basic {
        /// The user name sent with the password.
        user: String,
        /// Never printed (see [`Secret`](crate::secret::Secret)).
        password: Secret,
    },
    /// An OpenStack Keystone token.
    Openstack(Keystone),
}

impl Auth {
    /// The name shown in the `Authentication` row: `NONE`, `BASIC`, `OPENSTACK`.
    pub fn label(&self) -> &'static str {
        match self {
            Auth::None => "NONE",
            Auth::Basic { .. } => "BASIC",
            Auth::Openstack(_) => "OPENSTACK",
        }
    }
}

/// A target ready to be checked.
#[derive(Debug, Clone)]
pub struct TargetDef {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// URL as written.
    pub url: String,
    /// What its scheme asks to be checked.
    pub kind: CheckKind,
    /// HTTP method (GET, PUT, POST, DELETE, HEAD, PATCH, OPTIONS).
    pub method: Method,
    /// How the request authenticates (none, Basic, Keystone).
    pub auth: Auth,
    /// Expected status.
    pub expect_status: u16,
    /// Seconds between checks (at least 1).
    pub frequency: u32,
    /// Seconds per check (at least 1).
    pub timeout: u32,
    /// Checked or not.
    pub enabled: bool,
    /// Further options; the defaults are one value shared by every target that has
    /// them (most do: ~250 bytes a target otherwise).
    pub options: Arc<TargetOptions>,
    /// Compiled `body_regex`.
    pub body_regex: Option<regex::Regex>,
    /// Why this row cannot be checked; such a target FAILs with this description.
    pub invalid: Option<String>,
}

impl TargetDef {
    /// Validates a stored row. Never fails: problems end up in `invalid`.
    pub fn from_row(row: &TargetRow) -> TargetDef {
        let method = Method::parse(&row.method);
        let mut def = TargetDef {
            id: row.id,
            name: row.name.clone(),
            url: row.url.clone(),
            kind: CheckKind::of_url(&row.url).unwrap_or_default(),
            method: method.unwrap_or_default(),
            auth: Auth::None,
            expect_status: u16::try_from(row.expect_status).unwrap_or(0),
            frequency: u32::try_from(row.frequency).unwrap_or(0).max(1),
            timeout: u32::try_from(row.timeout).unwrap_or(0).max(1),
            enabled: row.enabled,
            options: DEFAULT_OPTIONS.clone(),
            body_regex: None,
            invalid: None,
        };
        if let Err(problem) = def.fill(row, method) {
            def.invalid = Some(problem.to_string());
        }
        def
    }

    /// The first `target:` parent that names none of `names` (the targets there are),
    /// as the reason this target cannot be checked.
    pub fn unknown_parent(&self, names: &std::collections::HashSet<&str>) -> Option<String> {
        self.options.depends_on.iter().find_map(|r| {
            let name = r.strip_prefix("target:")?;
            (!names.contains(name)).then(|| format!("depends_on \"{r}\": no target of that name"))
        })
    }

    fn fill(&mut self, row: &TargetRow, method: Option<Method>) -> Result<(), Invalid> {
        if let Some(problem) = &row.unreadable {
            return Err(problem.clone().into());
        }
        if method.is_none() {
            return Err(format!(
                "invalid method {:?} (GET PUT POST DELETE HEAD PATCH OPTIONS)",
                row.method
            )
            .into());
        }
        if !(1..=i64::from(MAX_FREQUENCY)).contains(&row.frequency) {
            return Err(format!(
                "invalid frequency {} (1 to {MAX_FREQUENCY} seconds)",
                row.frequency
            )
            .into());
        }
        if !(1..=i64::from(u32::MAX)).contains(&row.timeout) {
            return Err(format!("invalid timeout {} (at least 1 second)", row.timeout).into());
        }
        if !row.options.trim().is_empty() {
            let options: TargetOptions = serde_json::from_str(&row.options)
                .map_err(|e| format!("invalid options: {}", json_error(&e)))?;
            if options != **DEFAULT_OPTIONS {
                self.options = Arc::new(options);
            }
        }
        let auth = parse_authn(&row.authn, &row.authn_params)?;
        let config = TargetConfig {
            name: self.name.clone(),
            url: self.url.clone(),
            method: self.method,
            expect_status: self.expect_status,
            frequency: self.frequency,
            timeout: self.timeout,
            enabled: self.enabled,
            auth: auth.clone(),
            headers: self.options.headers.clone(),
            body: self.options.body.clone(),
            body_contains: self.options.body_contains.clone(),
            body_regex: self.options.body_regex.clone(),
            send: self.options.send.clone(),
            expect: self.options.expect.clone(),
            max_loss_percent: self.options.max_loss_percent,
            max_response_ms: self.options.max_response_ms,
            cert_expiry_days: self.options.cert_expiry_days,
            warn_response_ms: self.options.warn_response_ms,
            warn_cert_days: self.options.warn_cert_days,
            follow_redirects: self.options.follow_redirects,
            allow_insecure_redirect: self.options.allow_insecure_redirect,
            tls_verify: self.options.tls_verify,
            keep_alive: self.options.keep_alive,
            failure_threshold: self.options.failure_threshold,
            failure_window: self.options.failure_window,
            success_threshold: self.options.success_threshold,
            success_window: self.options.success_window,
            renotify_minutes: self.options.renotify_minutes,
            flap_changes: self.options.flap_changes,
            flap_minutes: self.options.flap_minutes,
            depends_on: self.options.depends_on.clone(),
        };
        validate_target(&config)?;
        self.auth = typed_auth(&auth);
        if let Some(re) = &self.options.body_regex {
            self.body_regex =
                Some(regex::Regex::new(re).map_err(|e| format!("invalid body_regex: {e}"))?);
        }
        Ok(())
    }
}

/// Turns validated [`AuthConfig`] into [`Auth`].
fn typed_auth(a: &AuthConfig) -> Auth {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let password = a.password.clone().unwrap_or_default();
    match a.kind {
        AuthKind::None => Auth::None,
        AuthKind::Basic => Auth::Basic {
            user: s(&a.user),
            password,
        },
        AuthKind::Openstack => {
            let scope = if let Some(t) = a.tenant_id.clone().filter(|t| !t.is_empty()) {
                KeystoneScope::Tenant(t)
            } else if let Some(p) = a.project_id.clone().filter(|p| !p.is_empty()) {
                KeystoneScope::ProjectId(p)
            } else {
                KeystoneScope::ProjectName {
                    name: s(&a.project_name),
                    domain: s(&a.domain),
                }
            };
            Auth::Openstack(Keystone {
                auth_url: s(&a.auth_url),
                user: s(&a.user),
                password,
                scope,
            })
        }
    }
}

/// Reads the `authn` / `authn_params` columns.
///
/// `authn_params` is either a JSON object with the keys of the config file's `auth`
/// table, or Skypunch's `user=..,password=..,osauthendpoint=..,tenantid=..` string.
pub fn parse_authn(authn: &str, params: &str) -> Result<AuthConfig, Invalid> {
    let kind = match authn.trim().to_ascii_uppercase().as_str() {
        "" | "NONE" => AuthKind::None,
        "BASIC" => AuthKind::Basic,
        "OPENSTACK" | "KEYSTONE" => AuthKind::Openstack,
        other => return Err(format!("invalid authn {other:?} (NONE, BASIC or OPENSTACK)").into()),
    };
    let params = params.trim();
    let mut auth = if params.starts_with('{') {
        let mut a: AuthConfig = serde_json::from_str(params)
            .map_err(|e| format!("invalid authn_params: {}", json_error(&e)))?;
        a.kind = kind;
        a
    } else {
        let mut a = AuthConfig {
            kind,
            ..AuthConfig::default()
        };
        for pair in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            // A piece without `=` is most likely the tail of a value that holds a
            // comma (a password): it is described, never quoted.
            let Some((k, v)) = pair.split_once('=') else {
                return Err(
                    "invalid authn_params: a parameter without \"=\" (a value holding a comma \
                     needs the JSON form, {\"user\": ..., \"password\": ...})"
                        .into(),
                );
            };
            let v = Some(v.trim().to_string());
            match k.trim().to_ascii_lowercase().as_str() {
                "user" | "username" => a.user = v,
                "password" => a.password = v.map(Secret::new),
                "osauthendpoint" | "auth_url" => a.auth_url = v,
                "tenantid" | "tenant_id" => a.tenant_id = v,
                "project_id" | "projectid" => a.project_id = v,
                "project_name" | "projectname" => a.project_name = v,
                "domain" => a.domain = v,
                // Not quoted: after a comma inside a password, the "name" is part
                // of the password.
                _ => {
                    let known = "user, password, osauthendpoint, tenantid, project_id, \
                                 project_name, domain; a value holding a comma needs the JSON form";
                    return Err(if kind == AuthKind::Openstack {
                        format!("{OPENSTACK_PARAMS_ERROR}: unknown parameter (known: {known})")
                    } else {
                        format!("invalid authn_params: unknown parameter (known: {known})")
                    }
                    .into());
                }
            }
        }
        a
    };
    if auth.kind == AuthKind::None {
        auth = AuthConfig::default();
    }
    auth.validate().map_err(Invalid::from)?;
    Ok(auth)
}

/// The definition columns for a target described by a config entry (or by
/// `skypunchctl targets add`, which builds the same structure).
pub fn row_from_config(t: &TargetConfig) -> TargetRow {
    let authn = match t.auth.kind {
        AuthKind::None => "NONE",
        AuthKind::Basic => "BASIC",
        AuthKind::Openstack => "OPENSTACK",
    };
    let authn_params = if t.auth.kind == AuthKind::None {
        String::new()
    } else {
        let mut params = t.auth.clone();
        params.kind = AuthKind::None;
        let mut v = serde_json::to_value(&params).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("type");
        }
        v.to_string()
    };
    let options = TargetOptions {
        headers: t.headers.clone(),
        body: t.body.clone(),
        body_contains: t.body_contains.clone(),
        body_regex: t.body_regex.clone(),
        send: t.send.clone(),
        expect: t.expect.clone(),
        max_loss_percent: t.max_loss_percent,
        max_response_ms: t.max_response_ms,
        cert_expiry_days: t.cert_expiry_days,
        warn_response_ms: t.warn_response_ms,
        warn_cert_days: t.warn_cert_days,
        follow_redirects: t.follow_redirects,
        allow_insecure_redirect: t.allow_insecure_redirect,
        tls_verify: t.tls_verify,
        keep_alive: t.keep_alive,
        failure_threshold: t.failure_threshold,
        failure_window: t.failure_window,
        success_threshold: t.success_threshold,
        success_window: t.success_window,
        renotify_minutes: t.renotify_minutes,
        flap_changes: t.flap_changes,
        flap_minutes: t.flap_minutes,
        depends_on: t.depends_on.clone(),
    };
    TargetRow {
        id: 0,
        name: t.name.clone(),
        url: t.url.clone(),
        method: t.method.as_str().to_string(),
        authn: authn.to_string(),
        authn_params,
        expect_status: i64::from(t.expect_status),
        frequency: i64::from(t.frequency),
        timeout: i64::from(t.timeout),
        enabled: t.enabled,
        options: serde_json::to_string(&options).unwrap_or_else(|_| "{}".into()),
        unreadable: None,
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
