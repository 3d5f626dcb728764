//! A `[[target]]` entry: Skypunch's columns and the options beyond them, each declared
//! once.
//!
//! [`TargetOptions`] is at once the keys of a `[[target]]` entry (serde), the flags of
//! `skypunchctl targets add` (clap) and the JSON of the `targets.options` column, so an
//! option is added here, where its check reads it, and (if its values need more than
//! their type) to `target_validate.rs`.
//!
//! A `[[target]]` entry is read by hand ([`TargetConfig`]'s `Deserialize`) rather than
//! with serde's `flatten`, which cannot refuse unknown keys and loses the line of a
//! mistyped value: each option's value is checked where it is written, so the parser's
//! error names its key and line as for any other key.

use super::entries::{AuthConfig, Method};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

/// `flap_changes` unless set.
pub const DEFAULT_FLAP_CHANGES: u32 = 6;
/// `flap_minutes` unless set.
pub const DEFAULT_FLAP_MINUTES: u32 = 30;

/// Options beyond Skypunch's columns, stored as JSON in `targets.options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct TargetOptions {
    /// Extra request headers (on the command line: `--header`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[arg(skip)]
    pub headers: BTreeMap<String, String>,
    /// Request body
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub body: Option<String>,
    /// FAIL unless the body contains this text
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub body_contains: Option<String>,
    /// FAIL unless the body matches this regular expression
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub body_regex: Option<String>,
    /// Sent once connected (tcp://)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub send: Option<String>,
    /// FAIL unless the first reply contains this (tcp://)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub expect: Option<String>,
    /// FAIL when more echo requests are lost, in percent (icmp://; default 0)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub max_loss_percent: Option<u32>,
    /// FAIL when the response takes longer (milliseconds)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub max_response_ms: Option<u64>,
    /// FAIL when the certificate expires within this many days
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub cert_expiry_days: Option<u32>,
    /// WARN when the response takes longer (milliseconds)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub warn_response_ms: Option<u64>,
    /// WARN when the certificate expires within this many days
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub warn_cert_days: Option<u32>,
    /// Follow redirects (up to 10)
    #[arg(long)]
    pub follow_redirects: bool,
    /// Follow a redirect from https to http (refused by default)
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[arg(long)]
    pub allow_insecure_redirect: bool,
    /// Verify the TLS certificate.
    #[arg(
        long = "no-tls-verify",
        action = clap::ArgAction::SetFalse,
        help = "Do not verify the TLS certificate"
    )]
    pub tls_verify: bool,
    /// Reuse the connection between checks (for very frequent checks)
    #[arg(long)]
    pub keep_alive: bool,
    /// Failed checks (among the failure window) before the target is FAIL
    #[arg(long, default_value_t = TargetOptions::default().failure_threshold)]
    pub failure_threshold: u32,
    /// The latest checks the failure threshold is counted in (default: as many)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub failure_window: Option<u32>,
    /// Passed checks (among the success window) before a FAIL becomes PASS
    #[arg(long, default_value_t = TargetOptions::default().success_threshold)]
    pub success_threshold: u32,
    /// The latest checks the success threshold is counted in (default: as many)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub success_window: Option<u32>,
    /// Repeat a FAILURE notification every this many minutes (0 = never)
    #[arg(long, default_value_t = TargetOptions::default().renotify_minutes)]
    pub renotify_minutes: u32,
    /// State changes within the flapping period that make the target flapping (0 = off)
    #[arg(long, default_value_t = DEFAULT_FLAP_CHANGES)]
    pub flap_changes: u32,
    /// The flapping period, and how long a state must hold to settle (minutes)
    #[arg(long, default_value_t = DEFAULT_FLAP_MINUTES)]
    pub flap_minutes: u32,
    /// A parent: target:NAME, service:SERVER/SERVICE or server:NAME (repeatable); while
    /// one is down, this target's alerts are delivered to nobody
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[arg(long = "depends-on", value_name = "REF")]
    pub depends_on: Vec<String>,
}

impl TargetOptions {
    /// The JSON of `targets.options`: the options that differ from their defaults. A
    /// `targets` row is rewritten by every check and read whole by every list, and the
    /// defaults spelled out were two fifths of it.
    pub fn to_json(&self) -> String {
        static DEFAULTS: LazyLock<serde_json::Value> =
            LazyLock::new(|| serde_json::to_value(TargetOptions::default()).unwrap_or_default());
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let (Some(set), Some(defaults)) = (v.as_object_mut(), DEFAULTS.as_object()) {
            set.retain(|k, v| defaults.get(k) != Some(v));
        }
        v.to_string()
    }

    /// The rules its checks are judged by.
    pub fn thresholds(&self) -> crate::domain::supervise::Thresholds {
        crate::domain::supervise::Thresholds {
            failure: self.failure_threshold,
            failure_window: self.failure_window.unwrap_or(self.failure_threshold),
            success: self.success_threshold,
            success_window: self.success_window.unwrap_or(self.success_threshold),
            renotify_minutes: self.renotify_minutes,
            flap_changes: self.flap_changes,
            flap_minutes: self.flap_minutes,
        }
    }
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            headers: BTreeMap::new(),
            body: None,
            body_contains: None,
            body_regex: None,
            send: None,
            expect: None,
            max_loss_percent: None,
            max_response_ms: None,
            cert_expiry_days: None,
            warn_response_ms: None,
            warn_cert_days: None,
            follow_redirects: false,
            allow_insecure_redirect: false,
            tls_verify: true,
            keep_alive: false,
            failure_threshold: 1,
            failure_window: None,
            success_threshold: 1,
            success_window: None,
            renotify_minutes: 0,
            flap_changes: DEFAULT_FLAP_CHANGES,
            flap_minutes: DEFAULT_FLAP_MINUTES,
            depends_on: Vec::new(),
        }
    }
}

/// `[[target]]`: one check, as the file, `skypunchctl targets add` and a stored row
/// describe it.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// Unique name; config entries are matched to database rows by it.
    pub name: String,
    /// URL to check.
    pub url: String,
    /// HTTP method (default GET).
    pub method: Method,
    /// Status that means PASS (default 200).
    pub expect_status: u16,
    /// Seconds between checks (default 10).
    pub frequency: u32,
    /// Seconds for the whole check (default 10).
    pub timeout: u32,
    /// Whether the target is checked (default yes).
    pub enabled: bool,
    /// How the request authenticates (`none`, `basic`, `openstack`).
    pub auth: AuthConfig,
    /// Every other key.
    pub options: TargetOptions,
}

impl TargetConfig {
    /// A target with every other key at its default.
    pub fn new(name: String, url: String) -> TargetConfig {
        TargetConfig {
            name,
            url,
            method: Method::default(),
            expect_status: 200,
            frequency: 10,
            timeout: 10,
            enabled: true,
            auth: AuthConfig::default(),
            options: TargetOptions::default(),
        }
    }
}

/// The keys of a `[[target]]` entry that are not options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Url,
    Method,
    ExpectStatus,
    Frequency,
    Timeout,
    Enabled,
    Auth,
}

impl Column {
    /// In the order an error lists them.
    const ALL: [Column; 8] = [
        Column::Name,
        Column::Url,
        Column::Method,
        Column::ExpectStatus,
        Column::Frequency,
        Column::Timeout,
        Column::Enabled,
        Column::Auth,
    ];

    fn key(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Url => "url",
            Column::Method => "method",
            Column::ExpectStatus => "expect_status",
            Column::Frequency => "frequency",
            Column::Timeout => "timeout",
            Column::Enabled => "enabled",
            Column::Auth => "auth",
        }
    }
}

/// Every key of a `[[target]]` entry: the columns', then the options' field names as
/// serde's derive hands them to the deserializer.
static KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut keys: Vec<&'static str> = Column::ALL.iter().map(|c| c.key()).collect();
    if let Err(Fields(options)) = TargetOptions::deserialize(FieldNames) {
        keys.extend(options);
    }
    keys
});

fn option_keys() -> &'static [&'static str] {
    &KEYS[Column::ALL.len()..]
}

/// A deserializer that stops at the struct's field list and returns it as its error.
struct FieldNames;

#[derive(Debug)]
struct Fields(&'static [&'static str]);

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the field names of a struct")
    }
}

impl std::error::Error for Fields {}

impl de::Error for Fields {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Fields(&[])
    }
}

impl<'de> Deserializer<'de> for FieldNames {
    type Error = Fields;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
        Err(Fields(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Fields> {
        Err(Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// A key of the entry, refused (where it is written) unless it is one of [`KEYS`].
enum Field {
    Column(Column),
    Option(String),
}

struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key of [[target]]")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
        if let Some(column) = Column::ALL.into_iter().find(|c| c.key() == key) {
            Ok(Field::Column(column))
        } else if option_keys().contains(&key) {
            Ok(Field::Option(key.to_string()))
        } else {
            Err(de::Error::unknown_field(key, &KEYS[..]))
        }
    }
}

/// An option's value, checked against the option's type where it is written.
struct OptionValue<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for OptionValue<'_> {
    type Value = toml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<toml::Value, D::Error> {
        let value = toml::Value::deserialize(d)?;
        let alone = toml::Table::from_iter([(self.0.to_string(), value.clone())]);
        TargetOptions::deserialize(toml::Value::Table(alone)).map_err(de::Error::custom)?;
        Ok(value)
    }
}

struct Entry;

impl<'de> Visitor<'de> for Entry {
    type Value = TargetConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [[target]] table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TargetConfig, A::Error> {
        let (mut name, mut url) = (None, None);
        let mut t = TargetConfig::new(String::new(), String::new());
        let mut options = toml::Table::new();
        while let Some(field) = map.next_key_seed(Key)? {
            match field {
                Field::Column(Column::Name) => name = Some(map.next_value()?),
                Field::Column(Column::Url) => url = Some(map.next_value()?),
                Field::Column(Column::Method) => t.method = map.next_value()?,
                Field::Column(Column::ExpectStatus) => t.expect_status = map.next_value()?,
                Field::Column(Column::Frequency) => t.frequency = map.next_value()?,
                Field::Column(Column::Timeout) => t.timeout = map.next_value()?,
                Field::Column(Column::Enabled) => t.enabled = map.next_value()?,
                Field::Column(Column::Auth) => t.auth = map.next_value()?,
                Field::Option(key) => {
                    let value = map.next_value_seed(OptionValue(&key))?;
                    options.insert(key, value);
                }
            }
        }
        t.name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        t.url = url.ok_or_else(|| de::Error::missing_field("url"))?;
        if !options.is_empty() {
            t.options = TargetOptions::deserialize(toml::Value::Table(options))
                .map_err(de::Error::custom)?;
        }
        Ok(t)
    }
}

impl<'de> Deserialize<'de> for TargetConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("TargetConfig", &KEYS, Entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Result<TargetConfig, String> {
        toml::from_str(&format!("name = \"t\"\nurl = \"https://x/\"\n{text}"))
            .map_err(|e: toml::de::Error| e.to_string())
    }

    #[test]
    fn every_option_is_a_key_of_the_entry_and_a_flag_of_targets_add() {
        let flags: Vec<String> =
            <TargetOptions as clap::Args>::augment_args(clap::Command::new("x"))
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect();
        for key in option_keys() {
            let flag = match *key {
                "headers" => "header".to_string(),
                "tls_verify" => "no-tls-verify".to_string(),
                k => k.replace('_', "-"),
            };
            // `--header` is `targets add`'s own: NAME:VALUE into the map.
            assert!(flag == "header" || flags.contains(&flag), "--{flag}");
        }
        assert!(option_keys().starts_with(&["headers", "body"]));
        assert!(option_keys().ends_with(&["depends_on"]));
        assert_eq!(KEYS.len(), Column::ALL.len() + option_keys().len());
    }

    #[test]
    fn options_are_read_beside_the_columns_with_their_defaults() {
        let t = entry("frequency = 5\nmax_loss_percent = 3\nkeep_alive = true\n").unwrap();
        assert_eq!((t.frequency, t.timeout, t.enabled), (5, 10, true));
        assert_eq!(t.options.max_loss_percent, Some(3));
        assert!(t.options.keep_alive && t.options.tls_verify);
        assert_eq!(t.options.flap_minutes, DEFAULT_FLAP_MINUTES);
    }

    #[test]
    fn stored_options_are_those_set_and_read_back_whole() {
        assert_eq!(TargetOptions::default().to_json(), "{}");
        let t = entry("failure_threshold = 3\ntls_verify = false\nbody = \"x\"\n").unwrap();
        let json = t.options.to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"failure_threshold": 3, "tls_verify": false, "body": "x"})
        );
        let back: TargetOptions = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t.options);
    }

    #[test]
    fn a_wrong_option_is_named_with_its_line() {
        let e = entry("frequency = 5\nmax_loss_percent = \"x\"\n").unwrap_err();
        assert!(e.contains("line 4") && e.contains("expected u32"), "{e}");
        let e = entry("frequency = 5\n\nbogus = 1\n").unwrap_err();
        assert!(
            e.contains("line 5") && e.contains("unknown field `bogus`, expected one of `name`"),
            "{e}"
        );
        assert!(e.contains("`depends_on`"), "{e}");
        let e: toml::de::Error = toml::from_str::<TargetConfig>("url = \"x\"").unwrap_err();
        assert!(e.to_string().contains("missing field `name`"), "{e}");
    }
}
