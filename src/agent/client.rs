//! The agent's side of the push API: POSTs of JSON to `<server>/api/...`.

use crate::probe::Prober;
use base64::Engine;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Time allowed for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server answered and refused the request (4xx): sending it again will not
    /// help. The message is the server's `error`.
    Refused {
        /// The HTTP status (400-499 but 408 and 429, which are retried).
        status: u16,
        /// What the server said was wrong.
        message: String,
    },
    /// The server could not be reached or failed (5xx): worth trying again later.
    Unavailable(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Refused { status, message } => write!(f, "refused ({status}): {message}"),
            SendError::Unavailable(why) => f.write_str(why),
        }
    }
}

/// Why a server URL cannot be used. The URL may carry a password: it is never quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerUrlError {
    /// It does not parse.
    #[error("the server URL is not valid: {0}")]
    Invalid(url::ParseError),
    /// It is not an http(s) URL with a host.
    #[error("the server URL must start with http:// or https://")]
    NotHttp,
}

/// A skypunchd (or OverC) push API.
pub struct PushClient {
    /// The server URL without credentials, ending with `/`.
    base: Url,
    /// `Authorization` from `user:password@` in the URL.
    authorization: Option<String>,
    prober: Prober,
}

impl PushClient {
    /// `server` is `http(s)://[user:password@]host[:port][/prefix]`.
    pub fn new(server: &str) -> Result<PushClient, ServerUrlError> {
        let mut base = Url::parse(server).map_err(ServerUrlError::Invalid)?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(ServerUrlError::NotHttp);
        }
        let authorization = if base.username().is_empty() {
            None
        } else {
            // The user-info part is percent-encoded (RFC 3986 §3.2.1), not form data:
            // a `+` is a plus, not a space.
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let pair = format!(
                "{}:{}",
                decode(base.username()),
                decode(base.password().unwrap_or(""))
            );
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
        };
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(PushClient {
            base,
            authorization,
            prober: Prober::new(),
        })
    }

    /// The server as shown in messages (without credentials).
    pub fn server(&self) -> &str {
        self.base.as_str()
    }

    /// POSTs `body` to `api/<path>` and returns the reply's JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, SendError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| SendError::Unavailable(format!("invalid path {path}: {e}")))?;
        let headers: Vec<(String, String)> = self
            .authorization
            .iter()
            .map(|a| ("authorization".to_string(), a.clone()))
            .collect();
        let sent = self
            .prober
            .post_json(&url, &headers, body.to_string().into_bytes());
        let (status, reason, reply) = match tokio::time::timeout(REQUEST_TIMEOUT, sent).await {
            Err(_) => {
                return Err(SendError::Unavailable(format!(
                    "cannot reach {url}: no answer within {} s",
                    REQUEST_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => return Err(SendError::Unavailable(format!("cannot reach {url}: {e}"))),
            Ok(Ok(r)) => r,
        };
        let doc: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        let said = doc
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&reply);
                let text: String = text.trim().chars().take(200).collect();
                if text.is_empty() {
                    format!("{status} {reason}")
                } else {
                    text
                }
            });
        match status {
            200..=299 => Ok(doc),
            // A timeout or "too many requests" asks to try again later.
            408 | 429 => Err(SendError::Unavailable(format!(
                "{url} answered {status} {reason}: {said}"
            ))),
            400..=499 => Err(SendError::Refused {
                status,
                message: said,
            }),
            _ => Err(SendError::Unavailable(format!(
                "{url} answered {status} {reason}: {said}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_for_a_header() {
        let c = PushClient::new("http://ops:p%40ss@127.0.0.1:5000").unwrap();
        assert_eq!(c.server(), "http://127.0.0.1:5000/");
        assert_eq!(
            c.authorization.as_deref(),
            Some("Basic b3BzOnBAc3M=") // ops:p@ss
        );
        let c = PushClient::new("https://mon.example/overc?x=1").unwrap();
        assert_eq!(c.server(), "https://mon.example/overc/");
        assert_eq!(c.base.join("api/ping").unwrap().path(), "/overc/api/ping");
        // `+` in the user-info is a plus (form decoding made it a space).
        let c = PushClient::new("http://ops:a+b%2Bc@127.0.0.1:5000").unwrap();
        assert_eq!(
            c.authorization.as_deref(),
            Some("Basic b3BzOmErYitj") // ops:a+b+c
        );
        let err = PushClient::new("ftp://ops:hunter2@mon.example/")
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(PushClient::new("mon.example:5000").is_err());
        assert!(PushClient::new("ftp://mon.example/").is_err());
    }
}
