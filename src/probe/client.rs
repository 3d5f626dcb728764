//! A small HTTP client for what the daemon and the agent send themselves: webhooks,
//! Keystone logins and pushed reports. It reuses the check's connection layer (so
//! certificates are verified the same way) with a scratch trace.

use super::conn::send;
use super::{Prober, Reply};
use crate::domain::trace::Trace;
use bytes::Bytes;
use http_body_util::Full;
use url::Url;

/// Why a request made nothing of a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The request cannot be built (a header name or value that HTTP refuses);
    /// names the header, never its value.
    #[error("{0}")]
    Request(String),
    /// The exchange failed: the step that failed, in one line (`connection refused`,
    /// `tls: certificate expired`, ...).
    #[error("{0}")]
    Exchange(String),
}

impl Prober {
    /// POSTs a JSON `body` to `url` on a new connection (certificates verified) with
    /// extra `headers`, and returns the status, its reason and the body. The error is a
    /// one-line description of the step that failed.
    pub async fn post_json(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(u16, String, Bytes), PostError> {
        let reply = self.post(url, headers, body).await?;
        Ok((reply.status, reply.reason, reply.body))
    }

    pub(super) async fn post(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Reply, PostError> {
        use http::header;
        let mut req = http::Request::builder()
            .method("POST")
            .uri(&url[url::Position::BeforePath..url::Position::AfterQuery])
            .header(
                header::HOST,
                &url[url::Position::BeforeHost..url::Position::AfterPort],
            )
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("skypunch/", env!("CARGO_PKG_VERSION")),
            )
            .header(header::CONNECTION, "close")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| PostError::Request(format!("invalid request: {e}")))?;
        for (k, v) in headers {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| PostError::Request(format!("invalid header name {k:?}")))?;
            let value = http::HeaderValue::from_str(v)
                .map_err(|_| PostError::Request(format!("invalid value for header {k:?}")))?;
            req.headers_mut().insert(name, value);
        }
        // The steps are not a target's; only the outcome matters.
        let mut scratch = Trace::start();
        let origin = url[..url::Position::AfterPort].to_string();
        let conn = self
            .open(true, url, &origin, &mut scratch)
            .await
            .map_err(|f| PostError::Exchange(f.description))?;
        let (reply, _) = send(conn, req, &mut scratch, false, true)
            .await
            .map_err(|e| PostError::Exchange(e.failure.description))?;
        Ok(reply)
    }
}
