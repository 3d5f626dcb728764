//! `smtp` notifiers: one e-mail to the notifier's addresses through `[smtp]`.

use crate::config::{SmtpConfig, StartTls};
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// Sends `subject` and `body` as a plain-text e-mail to every address of `to`
/// (comma-separated); returns the relay's answer.
pub async fn send(
    smtp: &SmtpConfig,
    to: &str,
    subject: &str,
    body: &str,
    timeout: Duration,
) -> Result<String, super::Undelivered> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("[smtp] from {:?} is not an e-mail address: {e}", smtp.from))?;
    let mut message = Message::builder().from(from).subject(subject);
    for address in to.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let mailbox: Mailbox = address
            .parse()
            .map_err(|e| format!("address {address:?} is not an e-mail address: {e}"))?;
        message = message.to(mailbox);
    }
    let message = message
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| format!("cannot build the e-mail: {e}"))?;
    let relay = transport(smtp, timeout)?;
    let sent = relay.send(message).await.map_err(|e| super::Undelivered {
        reason: format!("smtp {}: {e}", smtp.server),
        // A 5xx answer refuses this message for good.
        permanent: e.is_permanent(),
    })?;
    let answer = sent.message().collect::<Vec<_>>().join(" ");
    Ok(format!("{} {answer}", sent.code()).trim().to_string())
}

/// The relay of `[smtp]`: `host:port` (port 25, or 465 for `tls`), its TLS mode and
/// optional login.
fn transport(
    smtp: &SmtpConfig,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, super::Undelivered> {
    let (host, port) = split_server(&smtp.server, smtp.starttls)?;
    let params = || {
        TlsParameters::new(host.clone()).map_err(|e| {
            super::Undelivered::from(format!("[smtp] TLS setup for {host} failed: {e}"))
        })
    };
    let tls = match smtp.starttls {
        StartTls::Never => Tls::None,
        StartTls::Opportunistic => Tls::Opportunistic(params()?),
        StartTls::Required => Tls::Required(params()?),
        StartTls::Tls => Tls::Wrapper(params()?),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    if !smtp.username.is_empty() {
        b = b.credentials(Credentials::new(
            smtp.username.clone(),
            smtp.password.expose().to_string(),
        ));
    }
    Ok(b.build())
}

fn split_server(server: &str, mode: StartTls) -> Result<(String, u16), super::Undelivered> {
    let default_port = if mode == StartTls::Tls { 465 } else { 25 };
    match server.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.starts_with('[') => {
            let port = port.parse().map_err(|_| {
                super::Undelivered::from(format!(
                    "[smtp] server {server:?}: {port:?} is not a port"
                ))
            })?;
            Ok((host.trim_matches(['[', ']']).to_string(), port))
        }
        _ => Ok((server.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_with_and_without_ports() {
        assert_eq!(
            split_server("mail.example:587", StartTls::Required),
            Ok(("mail.example".into(), 587))
        );
        assert_eq!(
            split_server("mail.example", StartTls::Tls),
            Ok(("mail.example".into(), 465))
        );
        assert_eq!(
            split_server("[::1]:2525", StartTls::Never),
            Ok(("::1".into(), 2525))
        );
        assert!(split_server("mail:x", StartTls::Never).is_err());
    }
}
