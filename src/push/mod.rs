//! The `[push]` HTTP listener: OverC's push API (and `/healthz`).
//!
//! Replies are JSON: 200 `{"pong": 1}` / `{"ok": 1}`, 400 `{"error": "<what is
//! wrong>"}`, 403 `{"error": "Invalid server key"}`, 404, 405, 408, 413. A reply is
//! sent only after the report is committed (the store's group commit batches
//! concurrent reports into one transaction). Stalled clients are bounded by header
//! and body read timeouts, and connections by a limit.

pub mod api;
pub mod history;
mod ping;
mod serve;
mod silences;
pub mod web;

use crate::config::Config;
use crate::domain::time::now_ms;
use crate::store::servers::Denied;
use crate::store::{Courier, Store};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 4096;
/// Connections served at once for one client address: one host (or one runaway
/// script) cannot take every connection slot.
const MAX_CONNECTIONS_PER_ADDRESS: usize = 256;
/// Request bodies held in memory at once, in KiB, whatever the number of connections
/// (4,096 connections with a 1 MiB body each would be 4 GiB). A body reserves its
/// announced length (or `max_body_bytes` when it announces none) before it is read.
const BODY_BUDGET_KIB: usize = 64 * 1024;
/// Time allowed for a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `/healthz` waits for a write to be committed.
const HEALTH_WRITE: Duration = Duration::from_secs(3);
/// How long the listener's thread stays awake, when it has nothing else to do, for
/// reports waiting on a commit (see [`Courier::spin_while_waiting`]).
const SPIN_FOR_COMMIT: Duration = Duration::from_micros(50);

/// Every second, files the reports received into the services' history and marks
/// services that missed their period as offline (OverC's `plugin/offline` alert);
/// reporting again brings them back online.
pub async fn watch_periods(store: Store, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = shutdown.cancelled() => true,
            _ = tick.tick() => false,
        };
        if stopping {
            if let Err(e) = store.file_reports().await {
                log::error!("push: cannot file the reports received: {e}");
            }
            return;
        }
        match store.mark_offline(now_ms()).await {
            Ok(late) => {
                for (server, service) in late {
                    log::warn!("{server} {service}: monitoring plugin offline (no report within its period)");
                }
            }
            Err(e) => log::error!("push: cannot check for offline services: {e}"),
        }
    }
}

/// Why the listener could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address is taken or not allowed.
    #[error("[push] listen: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Its socket, event loop or thread could not be set up.
    #[error("push listener: {what}: {source}")]
    Setup {
        /// What could not be done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// Binds the listener; a clear error when the address is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ListenError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError::Bind { addr, source })
}

/// Serves on a thread of its own, with its own single-threaded event loop, until
/// `shutdown`; `tracker` counts it until its connections are drained.
///
/// Reports are committed by the store's single writer thread anyway; keeping their
/// connections on one thread spares each request the hand-offs between the runtime's
/// workers, and a burst of reports never delays a check. The read side (status page,
/// JSON API, metrics), whose answers are computed from thousands of rows, is handed
/// to the daemon's main runtime so it never holds up a report.
pub fn spawn(
    listener: TcpListener,
    store: Store,
    scheduler: crate::scheduler::SchedulerHandle,
    config: watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(), ListenError> {
    let setup = |what| move |source| ListenError::Setup { what, source };
    let listener = listener
        .into_std()
        .map_err(setup("cannot take its socket"))?;
    let (courier, deliveries) = Courier::new();
    let waiting = courier.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .on_thread_park(move || waiting.spin_while_waiting(SPIN_FOR_COMMIT))
        .enable_all()
        .build()
        .map_err(setup("cannot start its event loop"))?;
    let web = Arc::new(web::ReadSide::new(store.clone(), scheduler));
    tracker.spawn(web.clone().keep_uptimes(shutdown.clone()));
    let main = tokio::runtime::Handle::current();
    let token = tracker.token();
    std::thread::Builder::new()
        .name("push".into())
        .spawn(move || {
            let connections = TaskTracker::new();
            runtime.block_on(async {
                tokio::spawn(deliveries.run());
                let ctx = Arc::new(Ctx {
                    bodies: Semaphore::new(BODY_BUDGET_KIB),
                    store: store.delivering_to(courier),
                    config,
                    web,
                    main,
                });
                match TcpListener::from_std(listener) {
                    Ok(l) => serve::serve(l, ctx, shutdown, connections.clone()).await,
                    Err(e) => log::error!("push listener: {e}"),
                }
                connections.close();
                connections.wait().await;
            });
            drop(token);
        })
        .map_err(setup("cannot start its thread"))?;
    Ok(())
}

/// What request handlers share.
struct Ctx {
    /// KiB of request bodies that may be held at once (see [`BODY_BUDGET_KIB`]).
    bodies: Semaphore,
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    web: Arc<web::ReadSide>,
    /// The daemon's main runtime, where read-side answers are computed.
    main: tokio::runtime::Handle,
}

/// Whether the request carries the `[push] ui_user` / `ui_password` credentials (or
/// none are configured).
fn ui_allowed(ctx: &Ctx, req: &http::request::Parts) -> bool {
    use base64::Engine;
    use subtle::ConstantTimeEq;
    let c = ctx.config.borrow();
    if c.push.ui_user.is_empty() {
        return true;
    }
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        c.push.ui_user,
        c.push.ui_password.expose()
    ));
    req.headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 §11.1): `basic` is as good.
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .is_some_and(|(_, given)| bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes())))
}

/// `401` asking for the `[push] ui_user` credentials (HTTP Basic).
fn authentication_required() -> Response<Full<Bytes>> {
    let mut r = error(StatusCode::UNAUTHORIZED, "Authentication required");
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"skypunch\""),
    );
    r
}

/// The read side: the status page, its JSON API and the metrics, GET only, behind
/// `ui_user` / `ui_password` when set.
async fn read_side(ctx: &Ctx, req: &http::request::Parts, path: &str) -> Response<Full<Bytes>> {
    let known = matches!(
        path,
        "/ui/" | "/api/status" | "/api/alerts" | "/metrics" | "/api/report" | "/api/bars"
    ) || path.starts_with("/api/targets/")
        || path.starts_with("/api/services/");
    if !known {
        return error(StatusCode::NOT_FOUND, format!("Not found: {path}"));
    }
    if req.method != Method::GET && req.method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method {} not allowed: {path} takes GET", req.method),
        );
    }
    if !ui_allowed(ctx, req) {
        return authentication_required();
    }
    let query = req.uri.query().unwrap_or("");
    let web = &ctx.web;
    if path == "/ui/" {
        return web.page();
    }
    if path == "/api/status" {
        let config = ctx.config.borrow().clone();
        return web.status(query, &config).await;
    }
    if path == "/api/alerts" {
        return web.alerts(query).await;
    }
    if path == "/metrics" {
        let location = ctx.config.borrow().daemon.location.clone();
        return web.metrics(&location).await;
    }
    if let Some(found) = history::route(web, path, query).await {
        return found;
    }
    if let Some(rest) = path.strip_prefix("/api/targets/") {
        return match rest.split_once('/') {
            None => match rest.parse() {
                Ok(id) => {
                    let config = ctx.config.borrow().clone();
                    web.target(id, &config).await
                }
                Err(_) => error(StatusCode::NOT_FOUND, format!("Not found: {path}")),
            },
            Some((id, "history")) => match id.parse() {
                Ok(id) => web.target_history(id, query).await,
                Err(_) => error(StatusCode::NOT_FOUND, format!("Not found: {path}")),
            },
            Some(_) => error(StatusCode::NOT_FOUND, format!("Not found: {path}")),
        };
    }
    match path.strip_prefix("/api/services/") {
        Some(rest) => service_history(ctx, req, rest).await,
        None => error(StatusCode::NOT_FOUND, format!("Not found: {path}")),
    }
}

/// `GET /api/services/<id>/history[?limit=N]`: newest first, `time` (RFC 3339),
/// `state`, `info`.
async fn service_history(
    ctx: &Ctx,
    req: &http::request::Parts,
    rest: &str,
) -> Response<Full<Bytes>> {
    let Some(id) = rest
        .strip_suffix("/history")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return error(
            StatusCode::NOT_FOUND,
            format!("Not found: /api/services/{rest}"),
        );
    };
    let limit = req
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("limit=")))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(100)
        .clamp(1, 10_000);
    match ctx.store.service_history(id, limit).await {
        Ok(Some(rows)) => {
            let items: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|(t, state, info)| {
                    let time = chrono::DateTime::from_timestamp_millis(t)
                        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                        .unwrap_or_default();
                    serde_json::json!({ "time": time, "state": state, "info": info })
                })
                .collect();
            json(StatusCode::OK, serde_json::Value::Array(items))
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("No service with id {id}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// A 200 with a fixed JSON body.
fn fixed(body: &'static [u8]) -> Response<Full<Bytes>> {
    Response::builder()
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap_or_default()
}

/// `{"error": "<message>"}`, spaced as SPEC.md §4 writes it.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response<Full<Bytes>> {
    let message = serde_json::Value::String(message.into());
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(format!("{{\"error\": {message}}}"))))
        .unwrap_or_default()
}

async fn route(ctx: Arc<Ctx>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let api = web::ENDPOINTS.contains(&path.as_str());
    if path == "/healthz" {
        return health(&ctx).await;
    }
    if path == "/" || path == "/ui" {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header(http::header::LOCATION, "/ui/")
            .body(Full::new(Bytes::new()))
            .unwrap_or_default();
    }
    if ping::is_ping(&path) {
        return ping::serve(&ctx, req, &path).await;
    }
    if silences::is_ours(&path) {
        return silences::serve(&ctx, req, &path).await;
    }
    if !api {
        let (parts, _) = req.into_parts();
        let main = ctx.main.clone();
        // A client that hangs up drops this request; the work on the main runtime
        // (thousands of rows read and rendered) is dropped with it.
        let work = AbortOnDrop(main.spawn(async move { read_side(&ctx, &parts, &path).await }));
        return work
            .await
            .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
    }
    let response = push(&ctx, req, &path).await;
    web::PUSH_COUNTERS.count(&path, response.status());
    response
}

/// Refuses what a web page could send: a browser may post a `text/plain` or form
/// body to any address without asking (a "simple" request), and always says where
/// the page came from in `Origin`. Agents send JSON and no `Origin`; a request
/// without a `Content-Type` is taken (older clients send none).
fn not_from_a_page(headers: &http::HeaderMap) -> Option<Response<Full<Bytes>>> {
    let json = |v: &http::HeaderValue| {
        let essence = v.to_str().unwrap_or("").split(';').next().unwrap_or("");
        let essence = essence.trim().to_ascii_lowercase();
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    };
    let typed_otherwise = headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| !json(v));
    (headers.contains_key(http::header::ORIGIN) || typed_otherwise).then(|| {
        error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        )
    })
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// One push API request (a POST to one of [`web::ENDPOINTS`]).
async fn push(ctx: &Ctx, req: Request<hyper::body::Incoming>, path: &str) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method {} not allowed: {path} takes POST", req.method()),
        );
    }
    if let Some(refused) = not_from_a_page(req.headers()) {
        return refused;
    }
    let (limit, auto_register, history_days) = {
        let c = ctx.config.borrow();
        (c.push.max_body_bytes, c.push.auto_register, c.raw_days())
    };
    let announced = hyper::body::Body::size_hint(req.body()).exact();
    let reserve = announced.map_or(limit, |n| usize::try_from(n).unwrap_or(limit).min(limit));
    let kib = u32::try_from(reserve / 1024 + 1).unwrap_or(u32::MAX);
    let Ok(_budget) = ctx
        .bodies
        .acquire_many(kib.min(BODY_BUDGET_KIB as u32))
        .await
    else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "The listener is stopping");
    };
    let body =
        match tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), limit).collect())
            .await
        {
            Err(_) => {
                return error(
                    StatusCode::REQUEST_TIMEOUT,
                    "Timed out reading the request body",
                )
            }
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Request body larger than {limit} bytes"),
                )
            }
            Ok(Err(e)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("Cannot read the body: {e}"),
                )
            }
            Ok(Ok(b)) => b.to_bytes(),
        };
    let stored = if path == "/api/set/service/status" {
        let now = now_ms();
        let oldest = now - i64::from(history_days) * 86_400_000;
        match api::status_report(&body, now, oldest) {
            Ok((server, reports)) => ctx.store.push_states(server, auto_register, reports).await,
            Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
        }
    } else {
        let parsed = api::body(&body).and_then(|data| {
            let server = api::server(&data)?;
            Ok((data, server))
        });
        let (data, server) = match parsed {
            Ok(p) => p,
            Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
        };
        if path == "/api/ping" {
            ctx.store.push_ping(server, auto_register).await
        } else {
            match api::alerts(&data) {
                Ok(alerts) => ctx.store.push_alerts(server, auto_register, alerts).await,
                Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
            }
        }
    };
    match stored {
        Ok(Ok(())) if path == "/api/ping" => fixed(b"{\"pong\": 1}"),
        Ok(Ok(())) => fixed(b"{\"ok\": 1}"),
        Ok(Err(denied @ (Denied::WrongKey | Denied::Unknown))) => {
            error(StatusCode::FORBIDDEN, denied.message())
        }
        Err(e) => {
            log::error!("push: {path}: {e}");
            store_failed(&e, "Cannot store the report")
        }
    }
}

/// The answer to a request the store could not serve: `503` with `Retry-After: 5`
/// while the database is unavailable (the client keeps its report and sends it
/// again), else `500`.
fn store_failed(e: &crate::store::StoreError, what: &str) -> Response<Full<Bytes>> {
    if !e.is_unavailable() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: {e}"));
    }
    unavailable(format!(
        "{what}: the database is unavailable for now ({e}); try again later"
    ))
}

/// `503` with `Retry-After: 5` and `{"error": message}`.
fn unavailable(message: String) -> Response<Full<Bytes>> {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("5"),
    );
    r
}

/// `/healthz`: 200 once a write has gone through the writer and been committed, 503
/// when it is not done within [`HEALTH_WRITE`] (the writer thread is stuck or gone,
/// or the database refuses writes). An empty transaction changes nothing on disk.
async fn health(ctx: &Ctx) -> Response<Full<Bytes>> {
    match tokio::time::timeout(HEALTH_WRITE, ctx.store.write(|_| Ok(()))).await {
        Ok(Ok(())) => fixed(b"{\"status\": \"ok\"}"),
        Ok(Err(e)) => store_failed(&e, "The database refuses writes"),
        Err(_) => unavailable(format!(
            "The database writer has not committed within {} s",
            HEALTH_WRITE.as_secs()
        )),
    }
}
