//! A real HTTP(S) server for the daemon to check, on 127.0.0.1 with a port of its own.
//!
//! Routes:
//! - `/ok` → 200 `hello skypunch`
//! - `/status/N` → status N
//! - `/flip` → the status set with [`Server::set_flip`] (200 at first)
//! - `/slow/MS` → 200 after MS milliseconds
//! - `/lag` → 200 after the delay set with [`Server::set_lag`] (none at first)
//! - `/hang` → never answers
//! - `/basic` → 200 with `Authorization: Basic freebeer:forall`, else 401
//! - `/redirect` → 301 to `/ok`
//! - `/goto?to=URL` → 302 to URL (written as it is, not decoded)
//! - `/echo...` → 200, the body describes the request (method, path, query, headers, body)
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct State {
    flip: AtomicU16,
    lag_ms: AtomicU64,
    hits: AtomicUsize,
    connections: AtomicUsize,
    requests: Mutex<Vec<String>>,
}

/// A running server; it stops with the test process.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

/// Certificates for TLS tests.
pub struct Certs {
    /// PEM of the CA, for `SSL_CERT_FILE`.
    pub ca_pem: String,
    pub valid: rustls::ServerConfig,
    pub expired: rustls::ServerConfig,
    /// Valid for 5 more days only.
    pub expiring: rustls::ServerConfig,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// A certificate for localhost and 127.0.0.1 signed by `ca`, expiring in `days_left`
/// days, and its key.
fn leaf_cert(
    ca: &rcgen::Issuer<'_, rcgen::KeyPair>,
    days_left: i64,
) -> (rcgen::Certificate, rcgen::KeyPair) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(400);
    params.not_after = now + time::Duration::days(days_left);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, ca).expect("sign");
    (cert, key)
}

fn leaf(ca: &rcgen::Issuer<'_, rcgen::KeyPair>, days_left: i64) -> rustls::ServerConfig {
    let (cert, key) = leaf_cert(ca, days_left);
    let der = cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key_der)
        .expect("server config")
}

impl Certs {
    pub fn new() -> Certs {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "skypunch test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca_pem = ca_cert.pem();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        Certs {
            ca_pem,
            valid: leaf(&issuer, 365),
            expired: leaf(&issuer, -2),
            expiring: leaf(&issuer, 5),
            issuer,
        }
    }

    /// PEM of a certificate for localhost and 127.0.0.1 expiring in `days_left` days,
    /// and of its key, for servers that read files (aiosmtpd).
    pub fn leaf_pem(&self, days_left: i64) -> (String, String) {
        let (cert, key) = leaf_cert(&self.issuer, days_left);
        (cert.pem(), key.serialize_pem())
    }
}

impl Server {
    /// Plain HTTP.
    pub fn start() -> Server {
        Server::spawn(None)
    }

    /// HTTPS with the given configuration.
    pub fn start_tls(config: rustls::ServerConfig) -> Server {
        Server::spawn(Some(Arc::new(config)))
    }

    fn spawn(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let state = Arc::new(State::default());
        state.flip.store(200, Ordering::SeqCst);
        let (counted, served) = (state.clone(), state.clone());
        let (addr, runtime) = serve(
            tls,
            move || {
                counted.connections.fetch_add(1, Ordering::SeqCst);
            },
            move |req| handle(served.clone(), req),
        );
        Server {
            addr,
            state,
            _runtime: runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }

    pub fn set_flip(&self, status: u16) {
        self.state.flip.store(status, Ordering::SeqCst);
    }

    pub fn set_lag(&self, ms: u64) {
        self.state.lag_ms.store(ms, Ordering::SeqCst);
    }

    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The `/echo` requests seen so far, as their echoed bodies.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

/// Serves `handler` over HTTP/1 (TLS when `tls` is given) on a new 127.0.0.1 port,
/// on a runtime of its own; `on_accept` runs for every accepted connection.
pub fn serve<H, F>(
    tls: Option<Arc<rustls::ServerConfig>>,
    on_accept: impl Fn() + Send + 'static,
    handler: H,
) -> (SocketAddr, tokio::runtime::Runtime)
where
    H: Fn(Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Result<Response<Full<Bytes>>, std::convert::Infallible>>
        + Send
        + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            on_accept();
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(handler);
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(s), svc).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    (addr, runtime)
}

async fn handle(
    st: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    st.hits.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    let reply = |status: u16, body: String| {
        Ok(Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body)))
            .unwrap())
    };
    if path == "/ok" {
        return reply(200, "hello skypunch".into());
    }
    if let Some(code) = path.strip_prefix("/status/") {
        return reply(code.parse().unwrap_or(500), format!("status {code}"));
    }
    if path == "/flip" {
        return reply(st.flip.load(Ordering::SeqCst), "flip".into());
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        return reply(200, "slow".into());
    }
    if path == "/lag" {
        let ms = st.lag_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return reply(200, "lag".into());
    }
    if path == "/hang" {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if path == "/basic" {
        let ok = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some("Basic ZnJlZWJlZXI6Zm9yYWxs");
        return reply(if ok { 200 } else { 401 }, "basic".into());
    }
    if path == "/redirect" {
        return Ok(Response::builder()
            .status(301)
            .header("location", "/ok")
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    if path == "/goto" {
        let to = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("to="))
            .unwrap_or("/ok")
            .to_string();
        return Ok(Response::builder()
            .status(302)
            .header("location", to)
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    if path.starts_with("/echo") {
        let mut text = format!(
            "{} {}\n",
            req.method(),
            req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("")
        );
        for (k, v) in req.headers() {
            text.push_str(&format!("{}: {}\n", k, v.to_str().unwrap_or("?")));
        }
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        text.push_str(&format!("\n{}", String::from_utf8_lossy(&body)));
        st.requests.lock().unwrap().push(text.clone());
        return reply(200, text);
    }
    reply(404, "not found".into())
}

/// A bare TCP server that answers one request per connection with `200 ok` and then
/// closes the socket without saying so (no `Connection: close`), as a server whose
/// idle timeout has passed does. Returns its address and its connection counter.
pub fn start_closing_server() -> (SocketAddr, Arc<AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                std::thread::sleep(Duration::from_millis(100));
            });
        }
    });
    (addr, count)
}
