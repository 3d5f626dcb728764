//! One HTTP(S) check: resolve → connect → TLS → send → response head → body →
//! verdict, each step timed into a [`Trace`].
//!
//! The probe drives hyper's HTTP/1 client connection itself (no pooling client) so
//! that every step is observable and every check measures a fresh connection, as an
//! operator's `curl` would. The socket is wrapped to note when the request's last
//! byte was written, which separates "send" from "waiting for the response". The
//! whole check runs under the target's timeout; a check cut off names the step it was
//! in.
//!
//! `conn` is the connection layer (resolve, connect, TLS, the keep-alive pool, one
//! request and its response); this module is the check itself (the request, redirects,
//! conditions, the verdict); `client` is the small HTTP client used by webhooks, the
//! Keystone login and the agent.

mod auth;
mod client;
pub use client::PostError;
mod conn;
mod dns;
mod icmp;
mod socket;
mod tls;

use crate::config::Method;
use crate::domain::supervise::Verdict;
use crate::domain::target::CheckKind;
use crate::domain::trace::Phase;
pub use crate::domain::trace::Trace;
use crate::target::TargetDef;
use bytes::Bytes;
use conn::{send, Pool};
use http_body_util::Full;
use std::time::Duration;
use url::Url;

/// Most body bytes read for judging; the rest is not read.
pub const MAX_BODY: usize = 1024 * 1024;
/// Most redirects followed.
const MAX_REDIRECTS: usize = 10;

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// PASS, WARN or FAIL.
    pub verdict: Verdict,
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
    /// Every hard condition was met (PASS or WARN).
    pub fn passed(&self) -> bool {
        self.verdict.passed()
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
            def.kind.shown(def.method.as_str()),
            def.url,
            self.verdict.as_str(),
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

/// A target's URL and its host (an IPv6 address without its brackets), for the
/// checks that are not HTTP requests.
fn url_and_host(def: &TargetDef) -> Result<(Url, String), Failure> {
    let url = Url::parse(&def.url).map_err(|e| Failure::http(format!("invalid url: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::http("invalid url: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((url, host))
}

/// An identifier for a DNS query or an ICMP echo: it only has to differ between the
/// checks in flight, not to be unpredictable.
fn small_random() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    NEXT.fetch_add(1, Ordering::Relaxed) ^ (nanos >> 8) as u16
}

/// What a check found, for the target's conditions to judge.
struct Found {
    /// The HTTP status, for HTTP checks.
    status_code: Option<u16>,
    /// What a pass says (`OK`, or the HTTP reason phrase).
    said: String,
    /// A hard condition of the check's own that is not met (an HTTP status, a body,
    /// an expected reply): the FAIL's description.
    failure: Option<String>,
    /// The server certificate's expiry (ms since the epoch).
    cert_not_after: Option<i64>,
    /// What the check measured as its response time when that is not its duration
    /// (an ICMP check's mean round trip).
    response_ms: Option<f64>,
}

impl Found {
    fn ok(cert_not_after: Option<i64>) -> Found {
        Found {
            status_code: None,
            said: "OK".into(),
            failure: None,
            cert_not_after,
            response_ms: None,
        }
    }

    fn failed(why: String) -> Found {
        Found {
            failure: Some(why),
            ..Found::ok(None)
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
    pingers: icmp::Pingers,
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
            pingers: icmp::Pingers::default(),
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
            None => match tokio::time::timeout(limit, self.by_kind(def, &mut trace)).await {
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
            Ok(found) => verdict(def, found, response_ms, trace),
            Err(f) => CheckOutcome {
                verdict: Verdict::Fail,
                status_code: None,
                description: f.description,
                response_ms,
                network_fail: f.network,
                cert_not_after: None,
                trace,
            },
        }
    }

    /// The check its URL's scheme asks for. Each kind's state machine is boxed on its
    /// own: held inline, the largest (an HTTP exchange over TLS, ~5 KB) sized every
    /// check's future, and each check copied that much when it was boxed for its task.
    async fn by_kind(&self, def: &TargetDef, trace: &mut Trace) -> Result<Found, Failure> {
        match def.kind {
            CheckKind::Http => {
                let reply = Box::pin(self.run(def, trace)).await?;
                Ok(http_found(def, reply))
            }
            CheckKind::Dns => Box::pin(dns::check(def, trace)).await,
            CheckKind::Icmp => Box::pin(self.icmp(def, trace)).await,
            _ => Box::pin(self.socket_check(def, trace)).await,
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
            trace.begin(None, "following a redirect", next.to_string());
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
            trace.begin(
                Some(Phase::Connect),
                "reusing a connection",
                conn.peer.clone(),
            );
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

    /// Forgets pooled connections of targets that are no longer checked.
    pub fn retain_connections(&self, keep: impl Fn(i64) -> bool) {
        self.pool.retain(keep);
    }
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

/// Whether a target's verdict looks at the body; if not, its bytes are counted and
/// dropped as they arrive instead of being kept (up to [`MAX_BODY`] per check).
fn judges_body(def: &TargetDef) -> bool {
    def.options.body_contains.is_some() || def.body_regex.is_some()
}

/// What an HTTP reply says of the target's HTTP conditions.
fn http_found(def: &TargetDef, reply: Reply) -> Found {
    let o = &def.options;
    let body = String::from_utf8_lossy(&reply.body);
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
    } else {
        def.body_regex
            .as_ref()
            .filter(|re| !re.is_match(&body))
            .map(|re| format!("body does not match /{}/", re.as_str()))
    };
    Found {
        status_code: Some(reply.status),
        said: match reply.reason.is_empty() {
            true => "OK".into(),
            false => reply.reason,
        },
        failure,
        cert_not_after: reply.cert_not_after,
        response_ms: None,
    }
}

/// Judges what a check found against the target's conditions.
fn verdict(def: &TargetDef, found: Found, response_ms: f64, mut trace: Trace) -> CheckOutcome {
    let o = &def.options;
    let response_ms = found.response_ms.unwrap_or(response_ms);
    let days_left = found
        .cert_not_after
        .map(|ms| (ms - crate::domain::time::now_ms()).div_euclid(86_400_000));
    let failure = if let Some(f) = found.failure {
        Some(f)
    } else if let Some(max) = o.max_response_ms.filter(|&m| response_ms > m as f64) {
        Some(format!("response took {response_ms:.0} ms > {max} ms"))
    } else if let (Some(min), Some(left)) = (o.cert_expiry_days, days_left) {
        (left < i64::from(min))
            .then(|| format!("tls: certificate expires in {left} days (< {min})"))
    } else {
        None
    };
    // Soft conditions: met or not, the target is up; not met, it is degraded.
    let warning = if let Some(w) = o.warn_response_ms.filter(|&w| response_ms > w as f64) {
        Some(format!("slow: {response_ms:.0} ms > {w} ms"))
    } else if let (Some(days), Some(left)) = (o.warn_cert_days, days_left) {
        (left < i64::from(days)).then(|| format!("certificate expires in {left} days"))
    } else {
        None
    };
    let (verdict, description) = match (failure, warning) {
        (Some(f), _) => (Verdict::Fail, f),
        (None, Some(w)) => (Verdict::Warn, w),
        (None, None) => (Verdict::Pass, found.said),
    };
    trace.note(format!("verdict {}: {description}", verdict.as_str()));
    CheckOutcome {
        verdict,
        status_code: found.status_code,
        description,
        response_ms,
        network_fail: false,
        cert_not_after: found.cert_not_after,
        trace,
    }
}
