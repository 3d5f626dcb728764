//! One HTTP(S) check: resolve → connect → TLS → send → response head → body →
//! verdict, each step timed into a [`Trace`].
//!
//! The probe drives hyper's HTTP/1 client connection itself (no pooling client) so
//! that every step is observable and every check measures a fresh connection, as an
//! operator's `curl` would. The socket is wrapped to note when the request's last
//! byte was written, which separates "send" from "waiting for the response". The
//! whole check runs under the target's timeout; a check cut off names the step it was
//! in.

mod auth;
mod tls;

use crate::config::Method;
pub use crate::domain::trace::Trace;
use crate::domain::trace::WriteMark;
use crate::target::TargetDef;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use url::Url;

/// Most body bytes read for judging; the rest is not read.
pub const MAX_BODY: usize = 1024 * 1024;
/// Most redirects followed.
const MAX_REDIRECTS: usize = 10;

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// PASS or FAIL.
    pub passed: bool,
    /// Status of the last response, if one arrived.
    pub status_code: Option<u16>,
    /// `OK`, `target status:503 != 200`, `connection refused`, ...
    pub description: String,
    /// Milliseconds from the start of the check to its end.
    pub response_ms: f64,
    /// No HTTP response arrived at all.
    pub network_fail: bool,
    /// Expiry of the server certificate (ms since the epoch), for https.
    pub cert_not_after: Option<i64>,
    /// The steps.
    pub trace: Trace,
}

impl CheckOutcome {
    /// `PASS` or `FAIL`.
    pub fn verdict(&self) -> &'static str {
        if self.passed {
            "PASS"
        } else {
            "FAIL"
        }
    }

    /// The log file's result line: `[8] <name padded to 30> GET <url> PASS (OK)`.
    pub fn result_line(&self, def: &TargetDef) -> String {
        self.line(def, 30)
    }

    /// The trace's header line: the result line without the padding.
    pub fn trace_header(&self, def: &TargetDef) -> String {
        self.line(def, 0)
    }

    fn line(&self, def: &TargetDef, name_width: usize) -> String {
        format!(
            "[{}] {:<name_width$} {} {} {} ({})",
            def.id,
            def.name,
            def.method,
            def.url,
            self.verdict(),
            self.description
        )
    }

    /// The whole trace, under its header line.
    pub fn trace_text(&self, def: &TargetDef) -> String {
        self.trace.render(&self.trace_header(def))
    }
}

/// Why a check failed before a verdict could be reached.
#[derive(Debug)]
struct Failure {
    description: String,
    /// No HTTP response arrived.
    network: bool,
}

impl Failure {
    fn network(description: impl Into<String>) -> Failure {
        Failure {
            description: description.into(),
            network: true,
        }
    }
    fn http(description: impl Into<String>) -> Failure {
        Failure {
            description: description.into(),
            network: false,
        }
    }
}

/// What came back.
struct Reply {
    status: u16,
    reason: String,
    headers: http::HeaderMap,
    body: Bytes,
    cert_not_after: Option<i64>,
}

impl Reply {
    fn header(&self, name: http::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Runs checks; holds what is expensive to build (TLS roots, Keystone tokens) and the
/// connections kept open for targets with `keep_alive`.
pub struct Prober {
    tls: tls::TlsConfigs,
    tokens: auth::Tokens,
    pool: Pool,
}

impl Default for Prober {
    fn default() -> Self {
        Prober::new()
    }
}

impl Prober {
    /// Loads the system's root certificates once.
    pub fn new() -> Prober {
        let tls = tls::TlsConfigs::load();
        log::debug!("tls: {} root certificates loaded", tls.roots);
        Prober {
            tls,
            tokens: auth::Tokens::default(),
            pool: Pool::default(),
        }
    }

    /// Checks a target once.
    pub async fn check(&self, def: &TargetDef) -> CheckOutcome {
        let mut trace = Trace::start();
        let limit = Duration::from_secs(u64::from(def.timeout));
        let run = match &def.invalid {
            Some(problem) => {
                trace.fail("configuration", problem.clone());
                Err(Failure::http(problem.clone()))
            }
            None => match tokio::time::timeout(limit, self.run(def, &mut trace)).await {
                Ok(r) => r,
                Err(_) => {
                    let reason = format!("timed out after {}s", def.timeout);
                    let description = format!("{reason} while {}", trace.doing());
                    trace.fail_current(reason);
                    Err(Failure::network(description))
                }
            },
        };
        let response_ms = trace.elapsed_ms();
        match run {
            Ok(reply) => verdict(def, reply, response_ms, trace),
            Err(f) => CheckOutcome {
                passed: false,
                status_code: None,
                description: f.description,
                response_ms,
                network_fail: f.network,
                cert_not_after: None,
                trace,
            },
        }
    }

    async fn run(&self, def: &TargetDef, trace: &mut Trace) -> Result<Reply, Failure> {
        let start = Url::parse(&def.url).map_err(|e| Failure::http(format!("invalid url: {e}")))?;
        let mut url = start.clone();
        let mut method = def.method;
        // `None` once a redirect has left the target's origin.
        let mut credentials = Some(auth::credential(self, def, trace).await?);
        for hop in 0..=MAX_REDIRECTS {
            let mut reply = self
                .exchange(def, method, &url, credentials.as_ref(), trace)
                .await?;
            if let Some(cred) = credentials
                .as_mut()
                .filter(|c| reply.status == 401 && c.is_cached_token())
            {
                // A revoked or expired token costs no failed check: one new login.
                trace.note("the target refused the cached keystone token; logging in again");
                auth::invalidate(self, cred);
                *cred = auth::credential(self, def, trace).await?;
                reply = self.exchange(def, method, &url, Some(cred), trace).await?;
            }
            let redirect = def.options.follow_redirects
                && (300..400).contains(&reply.status)
                && hop < MAX_REDIRECTS;
            let Some(location) = reply
                .header(http::header::LOCATION)
                .filter(|_| redirect)
                .map(str::to_string)
            else {
                return Ok(reply);
            };
            let next = url
                .join(&location)
                .map_err(|e| Failure::http(format!("bad redirect location {location:?}: {e}")))?;
            if url.scheme() == "https"
                && next.scheme() == "http"
                && !def.options.allow_insecure_redirect
            {
                let why = format!(
                    "redirect from https to {next} refused (allow_insecure_redirect = false)"
                );
                trace.fail("redirect", why.clone());
                return Err(Failure::http(why));
            }
            trace.ok(format!("redirect {} -> {next}", reply.status));
            if next.origin() != start.origin() && credentials.is_some() {
                // Another scheme, host or port is another party: the target's
                // credentials and configured headers are not theirs to see.
                trace.note("another origin: credentials and configured headers are not sent");
                credentials = None;
            }
            // 303 (and, as browsers do, 301/302 after POST) continue with GET.
            if reply.status == 303 || (matches!(reply.status, 301 | 302) && method == Method::Post)
            {
                method = Method::Get;
            }
            url = next;
        }
        Err(Failure::http(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    async fn exchange(
        &self,
        def: &TargetDef,
        method: Method,
        url: &Url,
        cred: Option<&auth::Credential>,
        trace: &mut Trace,
    ) -> Result<Reply, Failure> {
        // Without credentials (another origin), the configured headers stay home too.
        let own = cred.is_some();
        let auth_header = cred.and_then(auth::Credential::header);
        let keep = def.options.keep_alive;
        let origin = &url[..url::Position::AfterPort];
        if let Some(conn) = keep.then(|| self.pool.take(def.id, origin)).flatten() {
            trace.ok(format!("reuse connection to {}", conn.peer));
            let req = build_request(def, method, url, auth_header.clone(), own, keep)?;
            match send(conn, req, trace, keep, judges_body(def)).await {
                Ok((reply, conn)) => {
                    self.pool.put(def.id, conn);
                    return Ok(reply);
                }
                // The server closed the idle connection: a fresh one decides.
                Err(e) if e.before_response => {
                    trace.note("the reused connection was closed by the server; reconnecting")
                }
                // The body step already recorded its failure.
                Err(e) => return Err(e.failure),
            }
        }
        let conn = self
            .open(def.options.tls_verify, url, origin, trace)
            .await?;
        let req = build_request(def, method, url, auth_header, own, keep)?;
        match send(conn, req, trace, keep, judges_body(def)).await {
            Ok((reply, conn)) => {
                self.pool.put(def.id, conn);
                Ok(reply)
            }
            Err(e) => {
                if e.before_response {
                    trace.fail_current(e.failure.description.clone());
                }
                Err(e.failure)
            }
        }
    }

    /// Resolves, connects and (for https) secures a connection.
    async fn open(
        &self,
        tls_verify: bool,
        url: &Url,
        origin: &str,
        trace: &mut Trace,
    ) -> Result<Conn, Failure> {
        let host = url
            .host_str()
            .ok_or_else(|| Failure::http("invalid url: no host"))?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Failure::http("invalid url: no port"))?;
        let addrs = resolve(url, &host, port, trace).await?;
        let stream = connect(&addrs, trace).await?;
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| format!("{host}:{port}"));
        let wrote: WriteMark = Arc::new(Mutex::new(None));
        let io = Timed {
            inner: stream,
            wrote: wrote.clone(),
        };
        let (io, cert_not_after) = if url.scheme() == "https" {
            let (tls, not_after) = self.handshake(tls_verify, url, &host, io, trace).await?;
            (Io::Tls(Box::new(tls)), not_after)
        } else {
            (Io::Plain(io), None)
        };
        Ok(Conn {
            io,
            wrote,
            origin: origin.to_string(),
            peer,
            cert_not_after,
        })
    }

    /// Forgets pooled connections of targets that are no longer checked.
    pub fn retain_connections(&self, keep: impl Fn(i64) -> bool) {
        self.pool.retain(keep);
    }

    /// POSTs a JSON `body` to `url` on a new connection (certificates verified) with
    /// extra `headers`, and returns the status, its reason and the body. The error is a
    /// one-line description of the step that failed.
    pub async fn post_json(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(u16, String, Bytes), String> {
        let reply = self.post(url, headers, body).await?;
        Ok((reply.status, reply.reason, reply.body))
    }

    async fn post(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
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
            .map_err(|e| format!("invalid request: {e}"))?;
        for (k, v) in headers {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("invalid header name {k:?}"))?;
            let value = http::HeaderValue::from_str(v)
                .map_err(|_| format!("invalid value for header {k:?}"))?;
            req.headers_mut().insert(name, value);
        }
        // The steps are not a target's; only the outcome matters.
        let mut scratch = Trace::start();
        let origin = url[..url::Position::AfterPort].to_string();
        let conn = self
            .open(true, url, &origin, &mut scratch)
            .await
            .map_err(|f| f.description)?;
        let (reply, _) = send(conn, req, &mut scratch, false, true)
            .await
            .map_err(|e| e.failure.description)?;
        Ok(reply)
    }

    async fn handshake(
        &self,
        tls_verify: bool,
        url: &Url,
        host: &str,
        io: Timed,
        trace: &mut Trace,
    ) -> Result<(tokio_rustls::client::TlsStream<Timed>, Option<i64>), Failure> {
        use rustls::pki_types::ServerName;
        let name = match url.host() {
            Some(url::Host::Ipv4(ip)) => ServerName::from(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => ServerName::from(std::net::IpAddr::V6(ip)),
            _ => ServerName::try_from(host.to_string())
                .map_err(|e| Failure::network(format!("tls: invalid server name {host}: {e}")))?,
        };
        let config = if tls_verify {
            self.tls.verified.clone()
        } else {
            self.tls.insecure.clone()
        };
        let what = format!("tls handshake with {host}");
        trace.begin("tls handshake", what.clone());
        let stream = match tokio_rustls::TlsConnector::from(config)
            .connect(name, io)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let reason = tls::describe(&e, host);
                trace.fail(what, reason.clone());
                return Err(Failure::network(reason));
            }
        };
        let (_, session) = stream.get_ref();
        let version = session
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default();
        let not_after = session
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
            .map(|(_, cert)| cert.validity().not_after.timestamp() * 1000);
        let mut text = format!("tls {} {version}", host);
        if let Some(ms) = not_after {
            let days = (ms - crate::domain::time::now_ms()).div_euclid(86_400_000);
            let until = chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            text.push_str(&format!(", certificate valid until {until} ({days} days)"));
        }
        if !tls_verify {
            text.push_str(", not verified");
        }
        trace.ok(text);
        Ok((stream, not_after))
    }
}

async fn resolve(
    url: &Url,
    host: &str,
    port: u16,
    trace: &mut Trace,
) -> Result<Vec<SocketAddr>, Failure> {
    let what = format!("resolve {host}");
    trace.begin("resolving", what.clone());
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::from((ip, port))],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::from((ip, port))],
        _ => match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.collect(),
            Err(e) => {
                let reason = dns_error(&e);
                trace.fail(what, reason.clone());
                return Err(Failure::network(reason));
            }
        },
    };
    match addrs.first() {
        Some(a) => {
            trace.ok(format!("resolve {host} -> {}", a.ip()));
            Ok(addrs)
        }
        None => {
            trace.fail(what, "dns: no such host");
            Err(Failure::network("dns: no such host"))
        }
    }
}

fn dns_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("not known") || lower.contains("no address") || lower.contains("nodename") {
        "dns: no such host".into()
    } else if lower.contains("temporary failure") {
        "dns: temporary failure in name resolution".into()
    } else {
        format!("dns: {text}")
    }
}

async fn connect(addrs: &[SocketAddr], trace: &mut Trace) -> Result<TcpStream, Failure> {
    let mut last = None;
    for addr in addrs {
        trace.begin("connecting", format!("connect {addr}"));
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                trace.ok(format!("connect {addr}"));
                return Ok(s);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, e) = last.expect("resolve returns at least one address");
    let reason = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
        _ => format!("connect: {}", e.to_string().to_lowercase()),
    };
    trace.fail(format!("connect {addr}"), reason.clone());
    Err(Failure::network(reason))
}

fn build_request(
    def: &TargetDef,
    method: Method,
    url: &Url,
    auth: Option<(http::HeaderName, String)>,
    with_headers: bool,
    keep_alive: bool,
) -> Result<http::Request<Full<Bytes>>, Failure> {
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let host = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let mut b = http::Request::builder()
        .method(method.as_str())
        .uri(path)
        .header(http::header::HOST, host)
        .header(
            http::header::USER_AGENT,
            concat!("skypunch/", env!("CARGO_PKG_VERSION")),
        )
        .header(http::header::ACCEPT, "*/*");
    if !keep_alive {
        b = b.header(http::header::CONNECTION, "close");
    }
    if let Some((name, value)) = auth {
        b = b.header(name, value);
    }
    for (k, v) in def.options.headers.iter().filter(|_| with_headers) {
        b = b.header(k.as_str(), v.as_str());
    }
    let body = def.options.body.clone().unwrap_or_default();
    b.body(Full::new(Bytes::from(body)))
        .map_err(|e| Failure::http(format!("cannot build the request: {e}")))
}

/// A connected socket to a target, plain or TLS, between requests.
struct Conn {
    io: Io,
    wrote: WriteMark,
    /// `scheme://host:port` it was opened for.
    origin: String,
    /// The address it is connected to.
    peer: String,
    cert_not_after: Option<i64>,
}

/// Connections kept between checks of targets with `keep_alive`, one per target.
#[derive(Default)]
struct Pool(Mutex<HashMap<i64, Conn>>);

impl Pool {
    fn take(&self, id: i64, origin: &str) -> Option<Conn> {
        let conn = self.0.lock().ok()?.remove(&id)?;
        (conn.origin == origin).then_some(conn)
    }

    fn put(&self, id: i64, conn: Option<Conn>) {
        if let (Some(conn), Ok(mut m)) = (conn, self.0.lock()) {
            m.insert(id, conn);
        }
    }

    fn retain(&self, keep: impl Fn(i64) -> bool) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|id, _| keep(*id));
        }
    }
}

/// Why a request on a connection failed; `before_response` when nothing came back,
/// which on a reused connection means the server had closed it.
struct SendFailure {
    failure: Failure,
    before_response: bool,
}

/// Whether a target's verdict looks at the body; if not, its bytes are counted and
/// dropped as they arrive instead of being kept (up to [`MAX_BODY`] per check).
fn judges_body(def: &TargetDef) -> bool {
    def.options.body_contains.is_some() || def.body_regex.is_some()
}

/// Sends one request and reads the response, driving hyper's connection in this task.
/// Returns the socket when it may be used again (`keep`, body read completely, nothing
/// unexpected left in the buffer, server did not ask to close). The body is kept in
/// the reply only with `keep_body`.
async fn send(
    conn: Conn,
    req: http::Request<Full<Bytes>>,
    trace: &mut Trace,
    keep: bool,
    keep_body: bool,
) -> Result<(Reply, Option<Conn>), SendFailure> {
    let Conn {
        io,
        wrote,
        origin,
        peer,
        cert_not_after,
    } = conn;
    let early = |failure| SendFailure {
        failure,
        before_response: true,
    };
    // A fixed 4 KiB read buffer keeps each check's footprint small.
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .read_buf_exact_size(Some(4096))
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| early(Failure::network(http_error(&e))))?;
    let send_text = format!("send {} {}", req.method(), req.uri());
    let wait_text = format!("response to {} {}", req.method(), req.uri());
    trace.sending(send_text, wait_text, wrote.clone());
    let exchange = async move {
        let response = sender
            .send_request(req)
            .await
            .map_err(|e| early(Failure::network(http_error(&e))))?;
        drop(sender);
        Ok::<_, SendFailure>(response)
    };
    let driver = connection.without_shutdown();
    tokio::pin!(driver);
    tokio::pin!(exchange);
    // The connection must be polled while the request is in flight and while the
    // body is read; it finishes (handing the socket back) once both are done, which
    // may be before this task has looked at the response or read the body.
    let mut finished = None;
    let response = loop {
        tokio::select! {
            r = &mut exchange => break r?,
            r = &mut driver, if finished.is_none() => finished = Some(r),
        }
    };
    let status = response.status().as_u16();
    let reason = response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .or_else(|| response.status().canonical_reason().map(str::to_string))
        .unwrap_or_default();
    trace.ok(format!("response {status} {reason}"));
    let (head, mut body) = response.into_parts();
    let closing = head
        .headers
        .get(http::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    trace.begin("reading the body", "body");
    let mut buf = Vec::new();
    let mut read = 0;
    let mut truncated = false;
    loop {
        let frame = tokio::select! {
            f = body.frame() => f,
            r = &mut driver, if finished.is_none() => {
                finished = Some(r);
                continue;
            }
        };
        let Some(frame) = frame else { break };
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                let reason = format!("http: error reading the body after {read} bytes: {e}");
                trace.fail(format!("body {read} bytes"), reason.clone());
                return Err(SendFailure {
                    failure: Failure::http(reason),
                    before_response: false,
                });
            }
        };
        if let Ok(data) = frame.into_data() {
            let room = MAX_BODY - read;
            let taken = data.len().min(room);
            if keep_body {
                buf.extend_from_slice(&data[..taken]);
            }
            read += taken;
            if data.len() > room {
                truncated = true;
                break;
            }
        }
    }
    drop(body);
    if truncated {
        trace.ok(format!("body {MAX_BODY} bytes read, the rest skipped"));
    } else {
        trace.ok(format!("body {read} bytes"));
    }
    let reply = Reply {
        status,
        reason,
        headers: head.headers,
        body: Bytes::from(buf),
        cert_not_after,
    };
    if !keep || truncated || closing {
        return Ok((reply, None));
    }
    let finished = match finished {
        Some(r) => r,
        None => driver.await,
    };
    let again = match finished {
        Ok(parts) if parts.read_buf.is_empty() => Some(Conn {
            io: parts.io.into_inner(),
            wrote,
            origin,
            peer,
            cert_not_after,
        }),
        _ => None,
    };
    Ok((reply, again))
}

fn http_error(e: &hyper::Error) -> String {
    if e.is_incomplete_message() {
        "http: connection closed before a response".into()
    } else if e.is_parse() {
        format!("http: invalid response: {e}")
    } else {
        format!("http: {e}")
    }
}

/// Judges a reply against the target's expectations.
fn verdict(def: &TargetDef, reply: Reply, response_ms: f64, mut trace: Trace) -> CheckOutcome {
    let o = &def.options;
    let body = String::from_utf8_lossy(&reply.body);
    let days_left = reply
        .cert_not_after
        .map(|ms| (ms - crate::domain::time::now_ms()).div_euclid(86_400_000));
    let failure = if reply.status != def.expect_status {
        Some(format!(
            "target status:{} != {}",
            reply.status, def.expect_status
        ))
    } else if let Some(needle) = o
        .body_contains
        .as_ref()
        .filter(|n| !body.contains(n.as_str()))
    {
        Some(format!("body does not contain {needle:?}"))
    } else if let Some(re) = def.body_regex.as_ref().filter(|re| !re.is_match(&body)) {
        Some(format!("body does not match /{}/", re.as_str()))
    } else if let Some(max) = o.max_response_ms.filter(|&m| response_ms > m as f64) {
        Some(format!("response took {response_ms:.0} ms > {max} ms"))
    } else if let (Some(min), Some(left)) = (o.cert_expiry_days, days_left) {
        (left < i64::from(min))
            .then(|| format!("tls: certificate expires in {left} days (< {min})"))
    } else {
        None
    };
    let (passed, description) = match failure {
        Some(f) => (false, f),
        None => (
            true,
            if reply.reason.is_empty() {
                "OK".into()
            } else {
                reply.reason.clone()
            },
        ),
    };
    trace.note(format!(
        "verdict {}: {description}",
        if passed { "PASS" } else { "FAIL" }
    ));
    CheckOutcome {
        passed,
        status_code: Some(reply.status),
        description,
        response_ms,
        network_fail: false,
        cert_not_after: reply.cert_not_after,
        trace,
    }
}

/// A target's socket: plain TCP or TLS over it.
enum Io {
    Plain(Timed),
    Tls(Box<tokio_rustls::client::TlsStream<Timed>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TCP stream that remembers when it last wrote, to time the "send" step.
pub struct Timed {
    inner: TcpStream,
    wrote: WriteMark,
}

impl AsyncRead for Timed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Timed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 {
                if let Ok(mut w) = this.wrote.lock() {
                    *w = Some(Instant::now());
                }
            }
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    /// A no-op: the check is over and the socket is about to be closed, which sends
    /// the FIN anyway; a separate `shutdown(2)` would only cost a system call.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
