//! A string that must never be printed: passwords, server keys, tokens.
//!
//! `Debug` and `Display` print `***`, so a secret that ends up in a log line, a trace,
//! an error or CLI output by accident is harmless. The value is reached only through
//! [`Secret::expose`], which makes every real use easy to find.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret string. Empty means "not set".
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that needs it (a hash, a header, a login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Describes why a JSON document was refused without quoting any value from it.
///
/// serde's own messages quote the offending value (``invalid type: integer `1234`,
/// expected a string``), and the documents read here (authentication parameters,
/// target options, notifier parameters) hold passwords and header values. Field
/// names are kept, since they say what is wrong and are never secret.
pub fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!("not valid JSON ({at})"),
        Category::Data => {
            let text = e.to_string();
            let names_a_field = ["unknown field", "missing field", "duplicate field"]
                .iter()
                .any(|p| text.starts_with(p));
            if names_a_field {
                let field = text.split(',').next().unwrap_or(&text);
                return format!("{field} ({at})");
            }
            match text.split_once(", expected ") {
                Some((_, expected)) => {
                    let expected = expected.rsplit_once(" at line").map_or(expected, |p| p.0);
                    format!("a value of the wrong type or range, expected {expected} ({at})")
                }
                None => format!("a value of the wrong type or range ({at})"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_fields_but_never_values() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct P {
            password: Option<String>,
        }
        let err = |text: &str| json_error(&serde_json::from_str::<P>(text).unwrap_err());
        let wrong = err(r#"{"password": 918273645}"#);
        assert!(!wrong.contains("918273645"), "{wrong}");
        assert!(wrong.contains("expected a string"), "{wrong}");
        let unknown = err(r#"{"pasword": "s3cret"}"#);
        assert!(unknown.contains("unknown field `pasword`"), "{unknown}");
        assert!(!unknown.contains("s3cret"), "{unknown}");
        let broken = err(r#"{"password": "s3cret"#);
        assert!(!broken.contains("s3cret"), "{broken}");
        assert!(broken.starts_with("not valid JSON"), "{broken}");
    }

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }
}
