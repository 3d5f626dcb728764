//! Request authentication: HTTP Basic, and OpenStack Keystone tokens.

use super::{Failure, Trace};
use crate::target::{Auth, TargetDef};
use base64::Engine;

/// Produces the authentication header of a check.
#[derive(Default)]
pub struct Authenticator {}

impl Authenticator {
    /// The header to send, if the target authenticates.
    pub async fn header(
        &self,
        def: &TargetDef,
        trace: &mut Trace,
    ) -> Result<Option<(http::HeaderName, String)>, Failure> {
        match &def.auth {
            Auth::None => Ok(None),
            Auth::Basic { user, password } => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()));
                trace.ok(format!("auth basic as {user}"));
                Ok(Some((
                    http::header::AUTHORIZATION,
                    format!("Basic {token}"),
                )))
            }
            Auth::Openstack(k) => {
                let reason = "Openstack keystone authentication is not available in this version";
                trace.fail(format!("keystone token from {}", k.auth_url), reason);
                Err(Failure::http(reason))
            }
        }
    }
}
