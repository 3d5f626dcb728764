//! The connection layer of a check: resolve, connect, TLS, the keep-alive pool, and one
//! request sent and its response read over hyper's client connection, each step timed
//! into the trace.

use super::{tls, Failure, Prober, Reply, MAX_BODY};
use crate::domain::trace::{Phase, Trace, WriteMark};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use url::Url;

impl Prober {
    /// Resolves, connects and (for https) secures a connection.
    pub(super) async fn open(
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

    pub(super) async fn handshake(
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
        trace.begin(Some(Phase::Tls), "tls handshake", what.clone());
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

pub(super) async fn resolve(
    url: &Url,
    host: &str,
    port: u16,
    trace: &mut Trace,
) -> Result<Vec<SocketAddr>, Failure> {
    let what = format!("resolve {host}");
    trace.begin(Some(Phase::Resolve), "resolving", what.clone());
    // A URL of a scheme the url crate does not know (tcp://, tls://) keeps an IPv4
    // address as a name: parsed here, it costs no trip through getaddrinfo on the
    // blocking pool.
    let literal = host.parse::<std::net::IpAddr>().ok();
    let addrs: Vec<SocketAddr> = match (url.host(), literal) {
        (_, Some(ip)) => vec![SocketAddr::new(ip, port)],
        (Some(url::Host::Ipv4(ip)), _) => vec![SocketAddr::from((ip, port))],
        (Some(url::Host::Ipv6(ip)), _) => vec![SocketAddr::from((ip, port))],
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

pub(super) async fn connect(addrs: &[SocketAddr], trace: &mut Trace) -> Result<TcpStream, Failure> {
    let mut last = None;
    for addr in addrs {
        let what = format!("connect {addr}");
        trace.begin(Some(Phase::Connect), "connecting", what.clone());
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                trace.ok(what);
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

/// A connected socket to a target, plain or TLS, between requests.
pub(super) struct Conn {
    pub(super) io: Io,
    pub(super) wrote: WriteMark,
    /// `scheme://host:port` it was opened for.
    pub(super) origin: String,
    /// The address it is connected to.
    pub(super) peer: String,
    pub(super) cert_not_after: Option<i64>,
}

/// Connections kept between checks of targets with `keep_alive`, one per target.
#[derive(Default)]
pub(super) struct Pool(Mutex<HashMap<i64, Conn>>);

impl Pool {
    pub(super) fn take(&self, id: i64, origin: &str) -> Option<Conn> {
        let conn = self.0.lock().ok()?.remove(&id)?;
        (conn.origin == origin).then_some(conn)
    }

    pub(super) fn put(&self, id: i64, conn: Option<Conn>) {
        if let (Some(conn), Ok(mut m)) = (conn, self.0.lock()) {
            m.insert(id, conn);
        }
    }

    pub(super) fn retain(&self, keep: impl Fn(i64) -> bool) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|id, _| keep(*id));
        }
    }
}

/// Why a request on a connection failed; `before_response` when nothing came back,
/// which on a reused connection means the server had closed it.
pub(super) struct SendFailure {
    pub(super) failure: Failure,
    pub(super) before_response: bool,
}

/// Sends one request and reads the response, driving hyper's connection in this task.
/// Returns the socket when it may be used again (`keep`, body read completely, nothing
/// unexpected left in the buffer, server did not ask to close). The body is kept in
/// the reply only with `keep_body`.
pub(super) async fn send(
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
    trace.begin(Some(Phase::Transfer), "reading the body", "body");
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

/// A target's socket: plain TCP or TLS over it.
pub(super) enum Io {
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

impl Timed {
    /// `stream`, its writes not yet marked.
    pub(super) fn new(stream: TcpStream) -> Timed {
        Timed {
            inner: stream,
            wrote: Arc::new(Mutex::new(None)),
        }
    }

    /// Ends the connection with a reset when dropped, as HAProxy's health checks do: the
    /// side that closes first keeps a TIME_WAIT socket for 60 s, and at thousands of
    /// checks a second against one peer those fill the ephemeral ports and make every
    /// connect search for a free one. Only for exchanges that are over: a reset throws
    /// away what was sent and not yet read.
    pub(super) fn reset_on_close(&self) {
        let _ = self.inner.set_zero_linger();
    }
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
