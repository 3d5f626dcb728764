//! Silences over HTTP, for automation (SPEC §15): `GET /api/silences`,
//! `POST /api/silences` with a JSON body like `skypunchctl silence add`'s options, and
//! `DELETE /api/silences/<id>`. Changes need the `[push] ui_user` credentials and are
//! refused while none are set: an open listener must not let anyone silence alerts.

use super::{
    authentication_required, error, json, not_from_a_page, store_failed, ui_allowed, Ctx,
    BODY_TIMEOUT,
};
use crate::control::quiet::SilenceInfo;
use crate::domain::quiet::silence_end;
use crate::domain::time::now_ms;
use crate::store::silences::SilenceRequest;
use crate::store::StoreError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;

/// The largest body of a silence: its fields are short.
const MAX_BODY: usize = 16 * 1024;

/// `POST /api/silences`: what to silence and for how long.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// A target, by id (a number or a string) or name.
    #[serde(default)]
    target: Option<serde_json::Value>,
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "match")]
    matcher: Option<String>,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    comment: String,
}

/// Whether `path` is one of ours.
pub(super) fn is_ours(path: &str) -> bool {
    path == "/api/silences" || path.starts_with("/api/silences/")
}

/// Serves one request to `/api/silences[/<id>]`.
pub(super) async fn serve(
    ctx: &Ctx,
    req: Request<hyper::body::Incoming>,
    path: &str,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let user = ctx.config.borrow().push.ui_user.clone();
    let reading = parts.method == Method::GET || parts.method == Method::HEAD;
    if user.is_empty() && !reading {
        return error(
            StatusCode::FORBIDDEN,
            "Silences over HTTP need [push] ui_user and ui_password to be set",
        );
    }
    if !ui_allowed(ctx, &parts) {
        return authentication_required();
    }
    let now = now_ms();
    let id = path.strip_prefix("/api/silences/");
    match (&parts.method, id) {
        (m, None) if *m == Method::GET || *m == Method::HEAD => {
            match ctx.store.silences(false, now).await {
                Ok(rows) => json(
                    StatusCode::OK,
                    serde_json::json!(rows
                        .iter()
                        .map(|s| SilenceInfo::of(s, now))
                        .collect::<Vec<_>>()),
                ),
                Err(e) => store_failed(&e, "Cannot read the silences"),
            }
        }
        (m, None) if *m == Method::POST => {
            if let Some(refused) = not_from_a_page(&parts.headers) {
                return refused;
            }
            let bytes = match read(body).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            add(ctx, &bytes, format!("http:{user}"), now).await
        }
        (m, Some(id)) if *m == Method::DELETE => {
            if let Some(refused) = not_from_a_page(&parts.headers) {
                return refused;
            }
            let Ok(id) = id.parse::<i64>() else {
                return error(StatusCode::NOT_FOUND, format!("Not found: {path}"));
            };
            match ctx.store.remove_silence(id, now).await {
                Ok(()) => {
                    log::info!("silence #{id} removed by http:{user}");
                    json(StatusCode::OK, serde_json::json!({ "removed": id }))
                }
                Err(StoreError::NotFound(m)) => error(StatusCode::NOT_FOUND, m),
                Err(e) => store_failed(&e, "Cannot remove the silence"),
            }
        }
        (m, _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method {m} not allowed: {path} takes GET, POST (/api/silences) or DELETE (/api/silences/<id>)"),
        ),
    }
}

/// Reads a small body within the body timeout.
async fn read(body: hyper::body::Incoming) -> Result<Bytes, Response<Full<Bytes>>> {
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            "Timed out reading the request body",
        )),
        Ok(Err(_)) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("A silence's body is at most {MAX_BODY} bytes"),
        )),
        Ok(Ok(b)) => Ok(b.to_bytes()),
    }
}

async fn add(ctx: &Ctx, bytes: &[u8], created_by: String, now: i64) -> Response<Full<Bytes>> {
    let body: Body = match serde_json::from_slice(bytes) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("silence: {}", crate::secret::json_error(&e)),
            )
        }
    };
    let target = match body.target {
        None => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "silence: target must be an id or a name",
            )
        }
    };
    let tz = jiff::tz::TimeZone::system();
    let ends = match silence_end(body.for_.as_deref(), body.until.as_deref(), now, &tz) {
        Ok(ends) => ends,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("silence: {e}")),
    };
    let ask = SilenceRequest {
        target,
        server: body.server,
        service: body.service,
        matcher: body.matcher,
        ends,
        comment: body.comment,
        created_by,
    };
    match ctx.store.add_silence(ask, now).await {
        Ok((s, quieted)) => {
            log::info!(
                "silence {} added ({quieted} pending alerts held)",
                s.describe()
            );
            json(
                StatusCode::CREATED,
                serde_json::json!(SilenceInfo::of(&s, now)),
            )
        }
        Err(StoreError::Invalid(m)) => error(StatusCode::BAD_REQUEST, format!("silence: {m}")),
        Err(StoreError::NotFound(m)) => error(StatusCode::NOT_FOUND, format!("silence: {m}")),
        Err(e) => store_failed(&e, "Cannot add the silence"),
    }
}
