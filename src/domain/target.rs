//! A target as stored: the definition columns of its row, as read (whatever was typed
//! in), and where it came from. `target::TargetDef` is the validated form.

/// Where a target row came from; reloads only touch `Config` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `[[target]]` entry of the config file.
    Config,
    /// `skypunchctl targets add`.
    Cli,
    /// Anything else (an `INSERT` by hand).
    Sql,
}

impl Origin {
    /// The value stored in the `origin` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Cli => "cli",
            Origin::Sql => "sql",
        }
    }
}

/// The definition columns of a `targets` row, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRow {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// URL.
    pub url: String,
    /// Method as stored (any case).
    pub method: String,
    /// `NONE`, `BASIC` or `OPENSTACK` (any case).
    pub authn: String,
    /// Skypunch's `user=..,password=..` string or a JSON object.
    pub authn_params: String,
    /// Expected status.
    pub expect_status: i64,
    /// Seconds between checks.
    pub frequency: i64,
    /// Seconds per check.
    pub timeout: i64,
    /// Checked or not.
    pub enabled: bool,
    /// JSON of the further options (`target::TargetOptions`).
    pub options: String,
    /// A column typed in by hand that does not hold its type (`frequency = 0.5`),
    /// named with what it should hold; such a row is checked as a FAIL saying so.
    pub unreadable: Option<String>,
}

#[cfg(test)]
impl TargetRow {
    /// A row as `INSERT INTO targets (id, name, url)` would make it.
    pub fn of_url(id: i64, name: &str, url: &str) -> TargetRow {
        TargetRow {
            id,
            name: name.into(),
            url: url.into(),
            method: "GET".into(),
            authn: "NONE".into(),
            authn_params: String::new(),
            expect_status: 200,
            frequency: 60,
            timeout: 10,
            enabled: true,
            options: "{}".into(),
            unreadable: None,
        }
    }
}

/// What a target's URL asks to be checked, by its scheme (SPEC §19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckKind {
    /// `http://`, `https://`: a request and its response.
    #[default]
    Http,
    /// `tcp://host:port`: a connection, and optionally a string sent and a reply.
    Tcp,
    /// `tls://host:port`: a TLS handshake and the server's certificate.
    Tls,
    /// `smtp://host[:port][?starttls=true]`: the banner, EHLO, and optionally STARTTLS.
    Smtp,
    /// `dns://[server[:port]]/name?type=A&expect=value`: one query and its answer.
    Dns,
    /// `icmp://host?count=3`: echo requests, their loss and round trips.
    Icmp,
}

impl CheckKind {
    /// The schemes, as an error message lists them.
    pub const SCHEMES: &'static str =
        "http://, https://, tcp://, tls://, smtp://, dns:// or icmp://";

    /// The kind a URL's scheme names, if any.
    pub fn of_url(url: &str) -> Option<CheckKind> {
        let (scheme, rest) = url.split_once("://")?;
        if rest.is_empty() {
            return None;
        }
        match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Some(CheckKind::Http),
            "tcp" => Some(CheckKind::Tcp),
            "tls" => Some(CheckKind::Tls),
            "smtp" => Some(CheckKind::Smtp),
            "dns" => Some(CheckKind::Dns),
            "icmp" => Some(CheckKind::Icmp),
            _ => None,
        }
    }

    /// What its targets show where HTTP targets show their `method`.
    pub fn shown(self, method: &str) -> &str {
        match self {
            CheckKind::Http => method,
            other => other.as_str(),
        }
    }

    /// Its word in the log's result line where HTTP targets show their method.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Http => "HTTP",
            CheckKind::Tcp => "TCP",
            CheckKind::Tls => "TLS",
            CheckKind::Smtp => "SMTP",
            CheckKind::Dns => "DNS",
            CheckKind::Icmp => "ICMP",
        }
    }
}

/// What a target shows where an HTTP target shows its method: the method, or the
/// kind of check (`TCP`, `DNS`, ...) for a URL that speaks no HTTP.
pub fn shown_method<'a>(url: &str, method: &'a str) -> &'a str {
    CheckKind::of_url(url).unwrap_or_default().shown(method)
}

/// Echo requests an `icmp://` target sends when its URL does not say.
pub const DEFAULT_ICMP_COUNT: u16 = 3;
/// The most one check sends.
pub const MAX_ICMP_COUNT: u16 = 20;

/// Why a target's URL cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetUrlError(String);

/// How many echo requests an `icmp://` URL asks for (`?count=`, 1 to 20, default 3).
pub fn icmp_count(url: &url::Url) -> Result<u16, TargetUrlError> {
    let mut count = DEFAULT_ICMP_COUNT;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "count" => {
                count = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ICMP_COUNT).contains(n))
                    .ok_or_else(|| {
                        TargetUrlError(format!("count={v} is not 1 to {MAX_ICMP_COUNT}"))
                    })?;
            }
            other => {
                return Err(TargetUrlError(format!(
                    "{other:?} is not a query key of icmp:// (count)"
                )))
            }
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_one_to_twenty_and_the_only_key() {
        let c = |u: &str| icmp_count(&url::Url::parse(u).unwrap()).map_err(|e| e.to_string());
        assert_eq!(c("icmp://h"), Ok(3));
        assert_eq!(c("icmp://h?count=20"), Ok(20));
        assert!(c("icmp://h?count=0")
            .unwrap_err()
            .contains("count=0 is not 1 to 20"));
        assert!(c("icmp://h?size=9")
            .unwrap_err()
            .contains("\"size\" is not a query key"));
    }

    #[test]
    fn the_scheme_chooses_the_check() {
        for (url, kind) in [
            ("https://x/", Some(CheckKind::Http)),
            ("HTTP://x/", Some(CheckKind::Http)),
            ("tcp://db:5432", Some(CheckKind::Tcp)),
            ("tls://x:443", Some(CheckKind::Tls)),
            ("smtp://mx?starttls=true", Some(CheckKind::Smtp)),
            ("dns:///example.com?type=MX", Some(CheckKind::Dns)),
            ("icmp://gw?count=5", Some(CheckKind::Icmp)),
            ("ftp://x/", None),
            ("tcp://", None),
            ("x", None),
        ] {
            assert_eq!(CheckKind::of_url(url), kind, "{url}");
        }
    }
}
