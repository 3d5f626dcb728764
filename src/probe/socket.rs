//! Checks that speak less than HTTP (SPEC §19), over the same resolve, connect and
//! TLS steps as HTTP checks: a TCP connection with an optional string sent and a reply
//! expected (`tcp://`), a TLS handshake and its certificate (`tls://`), an SMTP
//! conversation up to EHLO and optionally STARTTLS (`smtp://`).

use super::conn::{connect, resolve, Timed};
use super::{Failure, Found, Prober};
use crate::domain::target::CheckKind;
use crate::domain::trace::{Phase, Trace};
use crate::target::TargetDef;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use url::Url;

/// Most bytes of a reply read while looking for `expect` or an SMTP reply's end.
const MAX_REPLY: usize = 64 * 1024;
/// SMTP's port when the URL names none.
const SMTP_PORT: u16 = 25;

impl Prober {
    /// A `tcp://`, `tls://` or `smtp://` check, up to what its conditions judge.
    pub(super) async fn socket_check(
        &self,
        def: &TargetDef,
        trace: &mut Trace,
    ) -> Result<Found, Failure> {
        let (url, host) = super::url_and_host(def)?;
        let port = match (url.port(), def.kind) {
            (Some(p), _) => p,
            (None, CheckKind::Smtp) => SMTP_PORT,
            (None, _) => return Err(Failure::http("invalid url: no port")),
        };
        let addrs = resolve(&url, &host, port, trace).await?;
        let stream = Timed::new(connect(&addrs, trace).await?);
        // TLS and SMTP are boxed: inline, their state would size (and be copied with)
        // every plain TCP check too.
        match def.kind {
            CheckKind::Tcp => tcp(def, stream, trace).await,
            CheckKind::Tls => {
                let (_, not_after) =
                    Box::pin(self.handshake(def.options.tls_verify, &url, &host, stream, trace))
                        .await?;
                Ok(Found::ok(not_after))
            }
            CheckKind::Smtp => {
                let starttls = crate::config::smtp_starttls(&url)
                    .map_err(|e| Failure::http(format!("invalid url: {e}")))?;
                Box::pin(self.smtp(def, &url, &host, stream, starttls, trace)).await
            }
            CheckKind::Http | CheckKind::Dns | CheckKind::Icmp => Err(Failure::http(format!(
                "{} is not a socket check",
                def.kind.as_str()
            ))),
        }
    }

    /// Banner, EHLO, and with `starttls` STARTTLS and the handshake; QUIT at the end.
    async fn smtp(
        &self,
        def: &TargetDef,
        url: &Url,
        host: &str,
        mut stream: Timed,
        starttls: bool,
        trace: &mut Trace,
    ) -> Result<Found, Failure> {
        trace.begin(Some(Phase::Banner), "waiting for the banner", "banner");
        let (code, text) = reply(&mut stream, trace, "banner").await?;
        if code != 220 {
            return Ok(refused(trace, "banner", code, &text));
        }
        trace.ok(format!("banner {code} {}", first_line(&text)));
        command(&mut stream, "EHLO skypunch", trace).await?;
        trace.begin(Some(Phase::Ehlo), "waiting for the answer to EHLO", "ehlo");
        let (code, text) = reply(&mut stream, trace, "ehlo").await?;
        if code != 250 {
            return Ok(refused(trace, "ehlo", code, &text));
        }
        let extensions: Vec<&str> = text.lines().skip(1).collect();
        trace.ok(format!("ehlo {code} {}", extensions.join(", ")));
        if !starttls {
            let _ = command(&mut stream, "QUIT", trace).await;
            return Ok(Found::ok(None));
        }
        if !extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case("STARTTLS"))
        {
            let why = "the server does not offer STARTTLS".to_string();
            trace.fail("starttls", why.clone());
            return Ok(Found::failed(why));
        }
        command(&mut stream, "STARTTLS", trace).await?;
        trace.begin(
            Some(Phase::Tls),
            "waiting for the answer to STARTTLS",
            "starttls",
        );
        let (code, text) = reply(&mut stream, trace, "starttls").await?;
        if code != 220 {
            return Ok(refused(trace, "starttls", code, &text));
        }
        trace.ok(format!("starttls {code} {}", first_line(&text)));
        let (mut tls, not_after) = self
            .handshake(def.options.tls_verify, url, host, stream, trace)
            .await?;
        // A polite end; the check is decided already.
        let _ = tls.write_all(b"QUIT\r\n").await;
        Ok(Found::ok(not_after))
    }
}

/// Sends `send` (if any) and, with `expect`, reads until the reply contains it.
async fn tcp(def: &TargetDef, mut stream: Timed, trace: &mut Trace) -> Result<Found, Failure> {
    let o = &def.options;
    // With `expect` the reply read is the end; with nothing sent there is nothing to lose.
    if o.send.is_none() || o.expect.is_some() {
        stream.reset_on_close();
    }
    if let Some(send) = &o.send {
        let what = format!("send {} bytes", send.len());
        trace.begin(Some(Phase::Send), "sending", what.clone());
        if let Err(e) = stream.write_all(send.as_bytes()).await {
            let reason = format!("send: {}", e.to_string().to_lowercase());
            trace.fail(what, reason.clone());
            return Err(Failure::network(reason));
        }
        trace.ok(what);
    }
    let Some(expect) = &o.expect else {
        return Ok(Found::ok(None));
    };
    trace.begin(Some(Phase::Receive), "waiting for the reply", "receive");
    let mut got: Vec<u8> = Vec::new();
    // On the heap: on the stack it would be part of every tcp:// check's future.
    let mut buf = vec![0u8; 4096];
    loop {
        if String::from_utf8_lossy(&got).contains(expect.as_str()) {
            trace.ok(format!("receive {} bytes: {}", got.len(), preview(&got)));
            return Ok(Found::ok(None));
        }
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let reason = format!("receive: {}", e.to_string().to_lowercase());
                trace.fail("receive", reason.clone());
                return Err(Failure::network(reason));
            }
        };
        if n == 0 || got.len() >= MAX_REPLY {
            let why = match got.is_empty() {
                true => format!("no reply (closed), expected {expect:?}"),
                false => format!("reply does not contain {expect:?}"),
            };
            trace.fail(
                format!("receive {} bytes: {}", got.len(), preview(&got)),
                why.clone(),
            );
            return match got.is_empty() {
                true => Err(Failure::network(why)),
                false => Ok(Found::failed(why)),
            };
        }
        got.extend_from_slice(&buf[..n]);
        // A timeout while more is awaited shows what did arrive.
        let what = format!("receive {} bytes: {}", got.len(), preview(&got));
        trace.begin(Some(Phase::Receive), "waiting for the reply", what);
    }
}

/// Sends one SMTP command line.
async fn command<S: AsyncWrite + Unpin>(
    stream: &mut S,
    line: &str,
    trace: &mut Trace,
) -> Result<(), Failure> {
    trace.begin(Some(Phase::Send), "sending", line.to_string());
    if let Err(e) = stream.write_all(format!("{line}\r\n").as_bytes()).await {
        let reason = format!("send: {}", e.to_string().to_lowercase());
        trace.fail(line.to_string(), reason.clone());
        return Err(Failure::network(reason));
    }
    trace.ok(line.to_string());
    Ok(())
}

/// Reads one SMTP reply (its lines `250-...` up to `250 ...`): the code, and the lines
/// without their codes.
async fn reply<S: AsyncRead + Unpin>(
    stream: &mut S,
    trace: &mut Trace,
    step: &str,
) -> Result<(u16, String), Failure> {
    let mut got: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(done) = parse_reply(&got) {
            return Ok(done);
        }
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let reason = format!("{step}: {}", e.to_string().to_lowercase());
                trace.fail(step.to_string(), reason.clone());
                return Err(Failure::network(reason));
            }
        };
        if n == 0 || got.len() >= MAX_REPLY {
            let reason = match n {
                0 => format!("{step}: the server closed the connection"),
                _ => format!("{step}: a reply longer than {MAX_REPLY} bytes"),
            };
            trace.fail(format!("{step}: {}", preview(&got)), reason.clone());
            return Err(Failure::network(reason));
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// A whole SMTP reply in `got`, if it has arrived.
fn parse_reply(got: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(got).ok()?;
    let mut lines = Vec::new();
    for line in text.split_inclusive("\r\n") {
        let line = line.strip_suffix("\r\n")?;
        let code: u16 = line.get(..3)?.parse().ok()?;
        lines.push(line.get(4..).unwrap_or("").to_string());
        if line.as_bytes().get(3) != Some(&b'-') {
            return Some((code, lines.join("\n")));
        }
    }
    None
}

/// The step of an SMTP reply that was not the one hoped for: a FAIL with the
/// server's words (it answered: not a network failure).
fn refused(trace: &mut Trace, step: &str, code: u16, text: &str) -> Found {
    let why = format!("{step}: {code} {}", first_line(text));
    trace.fail(step.to_string(), why.clone());
    Found::failed(why)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Up to 80 characters of received bytes, control characters escaped.
fn preview(got: &[u8]) -> String {
    let text = String::from_utf8_lossy(got);
    let shown: String = text
        .chars()
        .take(80)
        .flat_map(char::escape_default)
        .collect();
    match text.chars().count() > 80 {
        true => format!("\"{shown}\"..."),
        false => format!("\"{shown}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_replies_end_at_the_line_without_a_dash() {
        assert_eq!(
            parse_reply(b"220 mx ESMTP\r\n"),
            Some((220, "mx ESMTP".into()))
        );
        assert_eq!(
            parse_reply(b"250-mx\r\n250-SIZE 10\r\n250 STARTTLS\r\n"),
            Some((250, "mx\nSIZE 10\nSTARTTLS".into()))
        );
        assert_eq!(parse_reply(b"250-mx\r\n250-SIZE"), None);
        assert_eq!(parse_reply(b"250-mx\r\n"), None);
        assert_eq!(parse_reply(b"xyz\r\n"), None);
    }

    #[test]
    fn previews_escape_and_cut() {
        assert_eq!(preview(b"PONG\r\n"), "\"PONG\\r\\n\"");
        assert!(preview(&[b'a'; 100]).ends_with("\"..."));
    }
}
