//! `dns://[server[:port]]/name?type=A&expect=value` targets (SPEC §19): what the URL
//! asks, read once for the configuration's checks and the probe's query alike.

use hickory_proto::rr::{Name, RecordType};
use url::Url;

/// The record types a check may ask for.
pub const TYPES: &str = "A, AAAA, CNAME, MX, TXT or NS";

/// Why a `dns://` URL cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DnsUrlError(String);

/// What a `dns://` URL asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuestion {
    /// The server, if the URL names one (`None`: the system's).
    pub server: Option<(String, u16)>,
    /// The name asked for.
    pub name: String,
    /// `A`, `AAAA`, ...
    pub record_type: RecordType,
    /// A value that must be among the answers.
    pub expect: Option<String>,
}

/// Reads a `dns://` URL; the error names what is wrong.
pub fn question(url: &Url) -> Result<DnsQuestion, DnsUrlError> {
    let server = url.host_str().filter(|h| !h.is_empty()).map(|h| {
        let h = h.trim_start_matches('[').trim_end_matches(']');
        (h.to_string(), url.port().unwrap_or(53))
    });
    let name = url.path().trim_start_matches('/');
    if name.is_empty() {
        return Err(DnsUrlError("names no domain (dns://[server]/name)".into()));
    }
    Name::from_ascii(name)
        .map_err(|e| DnsUrlError(format!("{name:?} is not a domain name: {e}")))?;
    let mut record_type = RecordType::A;
    let mut expect = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "type" => {
                record_type = match v.to_ascii_uppercase().as_str() {
                    "A" => RecordType::A,
                    "AAAA" => RecordType::AAAA,
                    "CNAME" => RecordType::CNAME,
                    "MX" => RecordType::MX,
                    "TXT" => RecordType::TXT,
                    "NS" => RecordType::NS,
                    other => return Err(DnsUrlError(format!("type={other} is not {TYPES}"))),
                }
            }
            "expect" => expect = Some(v.into_owned()),
            other => {
                return Err(DnsUrlError(format!(
                    "{other:?} is not a query key of dns:// (type, expect)"
                )))
            }
        }
    }
    Ok(DnsQuestion {
        server,
        name: name.to_string(),
        record_type,
        expect,
    })
}

/// Whether `want` is one of `values`, a name with or without its final dot.
pub fn among(values: &[String], want: &str) -> bool {
    let bare = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    values.iter().any(|v| v == want || bare(v) == bare(want))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(url: &str) -> Result<DnsQuestion, String> {
        question(&Url::parse(url).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn dns_urls_name_a_server_a_name_a_type_and_an_expectation() {
        let a = q("dns://127.0.0.1:5353/web.test?type=mx&expect=10%20mx.test").unwrap();
        assert_eq!(a.server, Some(("127.0.0.1".into(), 5353)));
        assert_eq!(a.name, "web.test");
        assert_eq!(a.record_type, RecordType::MX);
        assert_eq!(a.expect.as_deref(), Some("10 mx.test"));
        let b = q("dns:///example.com").unwrap();
        assert_eq!((b.server, b.record_type), (None, RecordType::A));
        assert_eq!(
            q("dns://[::1]/x.test").unwrap().server,
            Some(("::1".into(), 53))
        );
        for (url, says) in [
            ("dns://127.0.0.1/", "names no domain"),
            ("dns://127.0.0.1/x?type=SRV", "type=SRV is not A, AAAA"),
            ("dns://127.0.0.1/x?port=1", "\"port\" is not a query key"),
        ] {
            assert!(q(url).unwrap_err().contains(says), "{url}");
        }
    }

    #[test]
    fn expected_names_match_with_or_without_their_final_dot() {
        let v = vec!["10 mx.test.".to_string(), "mail.test.".to_string()];
        assert!(among(&v, "10 mx.test"));
        assert!(among(&v, "MAIL.test."));
        assert!(!among(&v, "mx.test"));
    }
}
