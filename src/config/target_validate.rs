//! What a `[[target]]` may say, judged the same for the file, `skypunchctl targets
//! add` and a stored row: its values, the settings that apply to one kind only, and
//! what a `tcp://`, `tls://`, `smtp://`, `dns://` or `icmp://` URL may say (SPEC §19).
//! A setting that means nothing to a target's kind is refused by name rather than
//! ignored.

use super::entries::{check_flap_minutes, window_of, AuthKind, Invalid, Method, MAX_FREQUENCY};
use super::target_entry::TargetConfig;
use crate::domain::target::CheckKind;
use url::Url;

/// Checks the values of one target (shared by the file and `skypunchctl targets add`).
pub fn validate_target(t: &TargetConfig) -> Result<(), Invalid> {
    if t.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    let Some(kind) = CheckKind::of_url(&t.url) else {
        return Err(format!("url {:?} must start with {}", t.url, CheckKind::SCHEMES).into());
    };
    let url = match url::Url::parse(&t.url) {
        // A dns:// target without a server asks the system's.
        Ok(u) if kind == CheckKind::Dns || u.host_str().is_some_and(|h| !h.is_empty()) => u,
        Ok(_) => return Err(format!("url {:?} has no host", t.url).into()),
        Err(e) => return Err(format!("url {:?} is not a valid URL: {e}", t.url).into()),
    };
    validate_kind(kind, &url, t)?;
    if !(100..=599).contains(&t.expect_status) {
        return Err(format!(
            "expect_status {} is not an HTTP status (100-599)",
            t.expect_status
        )
        .into());
    }
    if !(1..=MAX_FREQUENCY).contains(&t.frequency) {
        return Err(format!("frequency must be 1 to {MAX_FREQUENCY} seconds (a year)").into());
    }
    if t.timeout == 0 {
        return Err("timeout must be at least 1 second".into());
    }
    if t.options.failure_threshold == 0 || t.options.success_threshold == 0 {
        return Err("failure_threshold and success_threshold must be at least 1".into());
    }
    for (key, threshold, window) in [
        (
            "failure",
            t.options.failure_threshold,
            t.options.failure_window,
        ),
        (
            "success",
            t.options.success_threshold,
            t.options.success_window,
        ),
    ] {
        window_of(key, threshold, window, "checks")?;
    }
    check_flap_minutes(t.options.flap_minutes)?;
    match crate::domain::depend::parse_all(&t.options.depends_on) {
        Ok(parents) if parents.contains(&crate::domain::depend::Parent::Target(t.name.clone())) => {
            return Err(format!(
                "depends_on \"target:{}\": a target cannot depend on itself",
                t.name
            )
            .into())
        }
        Ok(_) => {}
        Err(e) => return Err(e.to_string().into()),
    }
    t.auth.validate().map_err(Invalid::from)
}

/// Checks what the kind of a target decides.
fn validate_kind(kind: CheckKind, url: &Url, t: &TargetConfig) -> Result<(), Invalid> {
    if kind == CheckKind::Http {
        if t.options.send.is_some() || t.options.expect.is_some() {
            return Err(
                "send and expect apply to tcp:// targets (http: body, body_contains)".into(),
            );
        }
        if t.options.max_loss_percent.is_some() {
            return Err("max_loss_percent applies to icmp:// targets".into());
        }
        return Ok(());
    }
    let scheme = url.scheme();
    let http_only = [
        ("method", t.method != Method::Get),
        ("expect_status", t.expect_status != 200),
        ("headers", !t.options.headers.is_empty()),
        ("body", t.options.body.is_some()),
        ("body_contains", t.options.body_contains.is_some()),
        ("body_regex", t.options.body_regex.is_some()),
        ("follow_redirects", t.options.follow_redirects),
        ("allow_insecure_redirect", t.options.allow_insecure_redirect),
        ("keep_alive", t.options.keep_alive),
        ("auth", t.auth.kind != AuthKind::None),
    ];
    if let Some((key, _)) = http_only.iter().find(|(_, set)| *set) {
        return Err(
            format!("{key} applies to http:// and https:// targets, not {scheme}://").into(),
        );
    }
    match kind {
        CheckKind::Dns => {
            crate::domain::dns::question(url).map_err(|e| format!("url {:?}: {e}", t.url))?;
        }
        CheckKind::Icmp => {
            crate::domain::target::icmp_count(url).map_err(|e| format!("url {:?}: {e}", t.url))?;
            if url.port().is_some() {
                return Err(format!("url {:?}: an icmp:// target has no port", t.url).into());
            }
        }
        _ => {}
    }
    match (kind, t.options.max_loss_percent) {
        (CheckKind::Icmp, Some(p)) if p > 100 => {
            return Err(format!("max_loss_percent {p} is not 0 to 100").into())
        }
        (CheckKind::Icmp, _) | (_, None) => {}
        (_, Some(_)) => {
            return Err(
                format!("max_loss_percent applies to icmp:// targets, not {scheme}://").into(),
            )
        }
    }
    if matches!(kind, CheckKind::Tcp | CheckKind::Tls) && url.port().is_none() {
        return Err(format!("url {:?} needs a port ({scheme}://host:port)", t.url).into());
    }
    if kind != CheckKind::Dns && !matches!(url.path(), "" | "/") {
        return Err(format!(
            "url {:?}: a {scheme}:// target is a host and port, without a path",
            t.url
        )
        .into());
    }
    let starttls = smtp_starttls(url).map_err(|e| format!("url {:?}: {e}", t.url))?;
    if matches!(kind, CheckKind::Tcp | CheckKind::Tls) && url.query().is_some() {
        return Err(format!("url {:?}: a {scheme}:// target takes no query", t.url).into());
    }
    if kind != CheckKind::Tcp && (t.options.send.is_some() || t.options.expect.is_some()) {
        let dns = match kind {
            CheckKind::Dns => " (dns:// takes ?expect= in its URL)",
            _ => "",
        };
        return Err(
            format!("send and expect apply to tcp:// targets, not {scheme}://{dns}").into(),
        );
    }
    let certificate = match kind {
        CheckKind::Tls => true,
        CheckKind::Smtp => starttls,
        _ => false,
    };
    if !certificate && (t.options.cert_expiry_days.is_some() || t.options.warn_cert_days.is_some())
    {
        let why = match kind {
            CheckKind::Smtp => "an smtp:// target without ?starttls=true sees no certificate",
            _ => "only tls:// and smtp:// with STARTTLS see a certificate",
        };
        return Err(format!("cert_expiry_days and warn_cert_days: {why}").into());
    }
    Ok(())
}

/// Whether an `smtp://` URL asks for STARTTLS (`?starttls=true`); any other query is
/// refused.
pub fn smtp_starttls(url: &Url) -> Result<bool, Invalid> {
    let mut starttls = false;
    for (k, v) in url.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("starttls", "true") => starttls = true,
            ("starttls", "false") => starttls = false,
            ("starttls", other) => {
                return Err(format!("starttls={other:?} is neither true nor false").into())
            }
            (other, _) if url.scheme() == "smtp" => {
                return Err(format!("{other:?} is not a query key of smtp:// (starttls)").into())
            }
            _ => {}
        }
    }
    Ok(starttls)
}

#[cfg(test)]
mod tests {
    use crate::config::{validate_target, TargetConfig};

    fn target(url: &str, extra: &str) -> Result<(), String> {
        let text = format!("name = \"t\"\nurl = \"{url}\"\n{extra}");
        let t: TargetConfig = toml::from_str(&text).unwrap();
        validate_target(&t).map_err(|e| e.to_string())
    }

    #[test]
    fn the_new_kinds_take_what_they_use() {
        for (url, extra) in [
            ("tcp://db:5432", "send = \"PING\\r\\n\"\nexpect = \"PONG\""),
            (
                "tls://www.example.com:443",
                "warn_cert_days = 10\ncert_expiry_days = 3",
            ),
            ("smtp://mx.example.com", ""),
            (
                "smtp://mx.example.com:587?starttls=true",
                "warn_cert_days = 10",
            ),
            (
                "tcp://[::1]:22/",
                "max_response_ms = 100\nwarn_response_ms = 50",
            ),
            ("dns:///example.com", ""),
            (
                "icmp://gw.example.com?count=5",
                "max_loss_percent = 20\nmax_response_ms = 50",
            ),
            (
                "dns://127.0.0.1:5353/web.test?type=TXT&expect=v%3D1",
                "max_response_ms = 50",
            ),
        ] {
            assert_eq!(target(url, extra), Ok(()), "{url}");
        }
    }

    #[test]
    fn what_a_kind_cannot_use_is_refused_by_name() {
        for (url, extra, says) in [
            (
                "ftp://x/",
                "",
                "must start with http://, https://, tcp://, tls://, smtp://, dns:// or icmp://",
            ),
            ("tcp://db", "", "needs a port (tcp://host:port)"),
            ("tcp://db:1/x", "", "without a path"),
            ("tls://x:443?a=b", "", "takes no query"),
            ("smtp://mx?starttls=yes", "", "starttls=\"yes\" is neither"),
            ("smtp://mx?tls=true", "", "\"tls\" is not a query key"),
            (
                "tls://x:443",
                "expect = \"x\"",
                "send and expect apply to tcp://",
            ),
            (
                "https://x/",
                "send = \"x\"",
                "send and expect apply to tcp://",
            ),
            (
                "tcp://x:1",
                "warn_cert_days = 3",
                "only tls:// and smtp:// with STARTTLS",
            ),
            ("dns://127.0.0.1/", "", "names no domain"),
            ("icmp://gw:7", "", "an icmp:// target has no port"),
            ("icmp://gw?count=99", "", "count=99 is not 1 to 20"),
            (
                "icmp://gw",
                "max_loss_percent = 101",
                "max_loss_percent 101 is not 0 to 100",
            ),
            (
                "tcp://gw:1",
                "max_loss_percent = 5",
                "max_loss_percent applies to icmp://",
            ),
            (
                "https://gw/",
                "max_loss_percent = 5",
                "max_loss_percent applies to icmp://",
            ),
            ("dns:///x.test?type=SRV", "", "type=SRV is not"),
            (
                "dns:///x.test",
                "expect = \"1.2.3.4\"",
                "dns:// takes ?expect= in its URL",
            ),
            (
                "smtp://mx",
                "cert_expiry_days = 3",
                "without ?starttls=true",
            ),
            (
                "tcp://x:1",
                "method = \"POST\"",
                "method applies to http://",
            ),
            (
                "tls://x:1",
                "body_contains = \"a\"",
                "body_contains applies to http://",
            ),
            ("tcp://x:1", "expect_status = 204", "expect_status applies"),
        ] {
            let e = target(url, extra).unwrap_err();
            assert!(e.contains(says), "{url} {extra}: {e}");
        }
    }
}
