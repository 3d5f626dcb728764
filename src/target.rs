//! Targets: what is checked, validated once at the border.
//!
//! A target lives as a row of the `targets` table whatever made it (the config file,
//! `skypunchctl targets add`, or an `INSERT` by hand). [`TargetRow`] is that row's
//! definition columns as stored; [`TargetDef`] is the checked, typed form the probe
//! uses. A row that cannot be checked (a bad URL or method, missing authentication
//! parameters) still becomes a `TargetDef`, with [`TargetDef::invalid`] saying why, so
//! that it shows up as a FAIL with that description instead of vanishing.

use crate::config::{
    validate_target, AuthConfig, AuthKind, Invalid, Method, TargetConfig, TargetOptions,
    MAX_FREQUENCY, OPENSTACK_PARAMS_ERROR,
};
use crate::domain::target::{CheckKind, TargetRow};
use crate::secret::{json_error, Secret};
use std::sync::{Arc, LazyLock};

/// The options of a target that sets none.
static DEFAULT_OPTIONS: LazyLock<Arc<TargetOptions>> =
    LazyLock::new(|| Arc::new(TargetOptions::default()));

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
            options: (*self.options).clone(),
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
        options: t.options.to_json(),
        unreadable: None,
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
