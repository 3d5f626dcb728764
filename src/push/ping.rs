//! Ping URLs for jobs (SPEC §17), Healthchecks-compatible: `/ping/<uuid>` and
//! `/ping/<ping_key>/<job>`, with `/start`, `/fail`, `/log` or an exit status; any of
//! GET, HEAD and POST, any Content-Type; the body (its first 100 KiB; the rest is read
//! and dropped) is kept with the ping. `200 OK` once the ping is committed, `404 not
//! found` for a job nobody registered, as Healthchecks answers.

use super::{Ctx, BODY_TIMEOUT};
use crate::domain::jobs::parse_ping_path;
use crate::store::jobs::MAX_PING_BODY;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};

/// Whether `path` is a ping.
pub(super) fn is_ping(path: &str) -> bool {
    path.starts_with("/ping/")
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .unwrap_or_default()
}

/// Serves one ping.
pub(super) async fn serve(
    ctx: &Ctx,
    req: Request<hyper::body::Incoming>,
    path: &str,
) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::POST) {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let Some((target, kind)) = parse_ping_path(&decoded) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let create = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "create=1"));
    let body = match tokio::time::timeout(BODY_TIMEOUT, read_capped(req.into_body())).await {
        Ok(Some(b)) => b,
        Ok(None) => return plain(StatusCode::BAD_REQUEST, "cannot read the body"),
        Err(_) => return plain(StatusCode::REQUEST_TIMEOUT, "timed out reading the body"),
    };
    match ctx.store.ping(target, kind, body, create).await {
        Ok(true) => plain(StatusCode::OK, "OK"),
        Ok(false) => plain(StatusCode::NOT_FOUND, "not found"),
        Err(e) if e.is_unavailable() => {
            let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, "try again later");
            r.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("5"),
            );
            r
        }
        Err(e) => {
            log::error!("ping {path}: {e}");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The body's first [`MAX_PING_BODY`] bytes as text (invalid UTF-8 replaced); the rest
/// is read (within the body's timeout) and dropped, never refused. `None` when it
/// cannot be read.
async fn read_capped(mut body: hyper::body::Incoming) -> Option<String> {
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.ok()?;
        if let Ok(data) = frame.into_data() {
            let room = MAX_PING_BODY.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Some(String::from_utf8_lossy(&kept).into_owned())
}
