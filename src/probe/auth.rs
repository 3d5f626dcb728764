//! Request authentication: HTTP Basic, and OpenStack Keystone tokens.
//!
//! Keystone tokens are cached per (endpoint, user, password, project, domain) and shared
//! by every target with those credentials. Each cache entry sits behind its own async mutex, so when
//! many targets need a token at the same moment exactly one login happens and the
//! others wait for its result. A token is used until shortly before it expires; when a
//! target answers 401 to a cached token (revoked, or the server's clock disagrees), the
//! check invalidates it and logs in once more.
//!
//! Keystone v2.0 (`tenant_id`): `POST <auth_url>/tokens`, token at `access.token.id`,
//! expiry at `access.token.expires`. v3 (`project_id`, or `project_name` + `domain`):
//! `POST <auth_url>/auth/tokens`, token in the `X-Subject-Token` header of a 201, expiry
//! at `token.expires_at`. Bodies are built with serde, so any character in a password
//! is sent as it is.

use super::{Failure, Prober, Trace};
use crate::secret::Secret;
use crate::target::{Auth, Keystone, KeystoneScope, TargetDef};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Cached tokens, by credentials.
#[derive(Default)]
pub(super) struct Tokens(Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<Option<Token>>>>>);

/// Everything a login depends on: a target whose password differs (a wrong one) never
/// shares another target's token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TokenKey {
    auth_url: String,
    user: String,
    /// SHA-256 of the password: the cache never holds the password itself.
    password: [u8; 32],
    scope: String,
}

struct Token {
    id: Secret,
    /// When to log in again (ms since the epoch), shortly before expiry.
    refresh_at: i64,
}

/// The authentication of one check.
pub(super) struct Credential {
    header: Option<(http::HeaderName, String)>,
    /// The Keystone token used, and whether it came from the cache.
    token: Option<(TokenKey, Secret, bool)>,
}

impl Credential {
    /// The header to send.
    pub(super) fn header(&self) -> Option<(http::HeaderName, String)> {
        self.header.clone()
    }

    /// True when a Keystone token from the cache was used (a 401 may mean it went stale).
    pub(super) fn is_cached_token(&self) -> bool {
        matches!(self.token, Some((_, _, true)))
    }
}

/// Works out the authentication of a check, logging in to Keystone if needed.
pub(super) async fn credential(
    prober: &Prober,
    def: &TargetDef,
    trace: &mut Trace,
) -> Result<Credential, Failure> {
    match &def.auth {
        Auth::None => Ok(Credential {
            header: None,
            token: None,
        }),
        Auth::Basic { user, password } => {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{user}:{}", password.expose()));
            trace.ok(format!("auth basic as {user}"));
            Ok(Credential {
                header: Some((http::header::AUTHORIZATION, format!("Basic {token}"))),
                token: None,
            })
        }
        Auth::Openstack(k) => keystone_token(prober, k, trace).await,
    }
}

/// Forgets the token a check used, unless another check already replaced it.
pub(super) fn invalidate(prober: &Prober, cred: &Credential) {
    let Some((key, used, _)) = &cred.token else {
        return;
    };
    let entry = prober
        .tokens
        .0
        .lock()
        .ok()
        .and_then(|m| m.get(key).cloned());
    if let Some(entry) = entry {
        if let Ok(mut slot) = entry.try_lock() {
            if slot.as_ref().is_some_and(|t| t.id == *used) {
                *slot = None;
            }
        }
    }
}

fn key_of(k: &Keystone) -> TokenKey {
    let scope = match &k.scope {
        KeystoneScope::Tenant(t) => format!("tenant:{t}"),
        KeystoneScope::ProjectId(p) => format!("project:{p}"),
        KeystoneScope::ProjectName { name, domain } => format!("project:{domain}/{name}"),
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, k.password.expose().as_bytes());
    let mut password = [0u8; 32];
    password.copy_from_slice(digest.as_ref());
    TokenKey {
        auth_url: k.auth_url.trim_end_matches('/').to_string(),
        user: k.user.clone(),
        password,
        scope,
    }
}

async fn keystone_token(
    prober: &Prober,
    k: &Keystone,
    trace: &mut Trace,
) -> Result<Credential, Failure> {
    let key = key_of(k);
    let entry = {
        let mut map = prober
            .tokens
            .0
            .lock()
            .map_err(|_| Failure::http("keystone token cache is unusable"))?;
        map.entry(key.clone()).or_default().clone()
    };
    let what = format!("keystone token for {} from {}", k.user, key.auth_url);
    trace.begin(None, "logging in to keystone", what.clone());
    let mut slot = entry.lock().await;
    let now = crate::domain::time::now_ms();
    if let Some(t) = slot.as_ref().filter(|t| t.refresh_at > now) {
        trace.ok(format!("{what} (cached)"));
        return Ok(token_credential(key, t.id.clone(), true));
    }
    let started = Instant::now();
    match login(prober, k, &key.auth_url).await {
        Ok(token) => {
            trace.ok(format!(
                "{what} fetched in {:.1} ms",
                started.elapsed().as_secs_f64() * 1000.0
            ));
            let id = token.id.clone();
            *slot = Some(token);
            Ok(token_credential(key, id, false))
        }
        Err(f) => {
            trace.fail(what, f.description.clone());
            Err(f)
        }
    }
}

fn token_credential(key: TokenKey, id: Secret, cached: bool) -> Credential {
    Credential {
        header: Some((
            http::HeaderName::from_static("x-auth-token"),
            id.expose().to_string(),
        )),
        token: Some((key, id, cached)),
    }
}

/// The login request's body.
fn login_body(k: &Keystone) -> Value {
    let password = k.password.expose();
    match &k.scope {
        KeystoneScope::Tenant(tenant) => json!({
            "auth": {
                "passwordCredentials": { "username": k.user, "password": password },
                "tenantId": tenant,
            }
        }),
        KeystoneScope::ProjectId(id) => json!({
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": { "user": { "name": k.user, "domain": { "id": "default" }, "password": password } }
                },
                "scope": { "project": { "id": id } }
            }
        }),
        KeystoneScope::ProjectName { name, domain } => json!({
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": { "user": { "name": k.user, "domain": { "name": domain }, "password": password } }
                },
                "scope": { "project": { "name": name, "domain": { "name": domain } } }
            }
        }),
    }
}

/// Logs in and reads the token and its expiry.
async fn login(prober: &Prober, k: &Keystone, auth_url: &str) -> Result<Token, Failure> {
    let v2 = matches!(k.scope, KeystoneScope::Tenant(_));
    let endpoint = if v2 {
        format!("{auth_url}/tokens")
    } else {
        format!("{auth_url}/auth/tokens")
    };
    let unreachable =
        |why: &str| Failure::network(format!("Openstack keystone {endpoint} unreachable: {why}"));
    let url = url::Url::parse(&endpoint).map_err(|e| unreachable(&format!("invalid url: {e}")))?;
    let body = serde_json::to_vec(&login_body(k)).map_err(|e| unreachable(&e.to_string()))?;
    // The login's own steps are not the target's; its outcome is one step of the trace.
    let reply = prober
        .post(&url, &[], body)
        .await
        .map_err(|e| unreachable(&e.to_string()))?;
    if !(200..300).contains(&reply.status) {
        return Err(Failure::http(format!(
            "Openstack keystone auth failure {} {}",
            reply.status, reply.reason
        )));
    }
    let doc: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    let (id, expires) = if v2 {
        (
            doc.pointer("/access/token/id")
                .and_then(Value::as_str)
                .map(str::to_string),
            doc.pointer("/access/token/expires").and_then(Value::as_str),
        )
    } else {
        (
            reply
                .header(http::HeaderName::from_static("x-subject-token"))
                .map(str::to_string),
            doc.pointer("/token/expires_at").and_then(Value::as_str),
        )
    };
    let id = id.filter(|t| !t.is_empty()).ok_or_else(|| {
        Failure::http(format!(
            "Openstack keystone answered {} {} without a token",
            reply.status, reply.reason
        ))
    })?;
    Ok(Token {
        id: Secret::new(id),
        refresh_at: refresh_at(crate::domain::time::now_ms(), expires.and_then(parse_time)),
    })
}

/// Keystone writes `2026-11-21T06:00:00Z`, `...00.000000Z` or, in old versions, no zone.
fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// When to log in again: a minute before expiry, or halfway for short-lived tokens;
/// ten minutes when Keystone did not say.
fn refresh_at(now: i64, expires: Option<i64>) -> i64 {
    match expires {
        Some(e) => e - ((e - now) / 2).clamp(0, 60_000),
        None => now + 600_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_identity_api() {
        let k = |scope| Keystone {
            auth_url: "http://k:5000/v3".into(),
            user: "u\"ser".into(),
            password: Secret::new("p,w=\"d"),
            scope,
        };
        let v2 = login_body(&k(KeystoneScope::Tenant("t1".into())));
        assert_eq!(v2["auth"]["passwordCredentials"]["password"], "p,w=\"d");
        assert_eq!(v2["auth"]["tenantId"], "t1");
        let v3 = login_body(&k(KeystoneScope::ProjectName {
            name: "demo".into(),
            domain: "Default".into(),
        }));
        assert_eq!(v3["auth"]["identity"]["methods"][0], "password");
        assert_eq!(v3["auth"]["identity"]["password"]["user"]["name"], "u\"ser");
        assert_eq!(v3["auth"]["scope"]["project"]["domain"]["name"], "Default");
        let v3 = login_body(&k(KeystoneScope::ProjectId("abc".into())));
        assert_eq!(v3["auth"]["scope"]["project"]["id"], "abc");
    }

    #[test]
    fn times_and_refresh() {
        assert_eq!(parse_time("1970-01-01T00:01:00Z"), Some(60_000));
        assert_eq!(parse_time("1970-01-01T00:01:00.000000Z"), Some(60_000));
        assert_eq!(parse_time("1970-01-01T00:01:00"), Some(60_000));
        assert_eq!(parse_time("soon"), None);
        // An hour-long token is refreshed a minute early, a 4-second one after 2 s.
        assert_eq!(refresh_at(0, Some(3_600_000)), 3_540_000);
        assert_eq!(refresh_at(0, Some(4_000)), 2_000);
        assert_eq!(refresh_at(0, Some(-5)), -5);
        assert_eq!(refresh_at(0, None), 600_000);
    }
}
