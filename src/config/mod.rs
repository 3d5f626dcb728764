//! `skypunchd.toml`: the file, its defaults, and its validation.
//!
//! Every key has a default so an empty file is a valid configuration. Unknown keys are
//! refused (serde's `deny_unknown_fields`); the TOML parser's error names the key, the
//! line and the column. Relative paths are taken relative to the directory of the file,
//! so a configuration can be moved together with its data.

mod entries;
mod maintenance;
mod notifiers;
mod rules;
mod sections;
mod target_entry;
mod target_validate;

pub use entries::*;
pub use maintenance::MaintenanceConfig;
pub use notifiers::*;
pub use rules::ServiceRuleConfig;
pub use sections::*;
pub use target_entry::{TargetConfig, TargetOptions, DEFAULT_FLAP_CHANGES, DEFAULT_FLAP_MINUTES};
pub use target_validate::{smtp_starttls, validate_target};

use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The configuration file used when neither `--config` nor `$SKYPUNCH_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/skypunch/skypunchd.toml";
/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SKYPUNCH_CONFIG";

/// What can go wrong while loading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// A value is well-formed but not acceptable.
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the section, entry and key.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[daemon]`: files, logging, retention.
    pub daemon: DaemonConfig,
    /// `[push]`: the HTTP listener.
    pub push: PushConfig,
    /// `[smtp]`: the mail relay used by `smtp` notifiers.
    pub smtp: SmtpConfig,
    /// `[history]`: how long what grows is kept.
    pub history: HistoryConfig,
    /// `[[target]]` entries.
    #[serde(rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// `[[notifier]]` entries.
    #[serde(rename = "notifier")]
    pub notifiers: Vec<NotifierConfig>,
    /// `[[service_rule]]` entries, in the order they are tried.
    #[serde(rename = "service_rule")]
    pub service_rules: Vec<ServiceRuleConfig>,
    /// `[[maintenance]]` windows.
    pub maintenance: Vec<MaintenanceConfig>,
    /// The file this was read from (absolute), or empty for built-in defaults.
    #[serde(skip)]
    pub path: PathBuf,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let abs = absolute(path);
        Config::parse(&text, &abs)
    }

    /// Parses `text` as if read from `path` (which anchors relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e.to_string()),
        })?;
        config.path = path.to_path_buf();
        config.resolve_paths();
        config.validate().map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(config)
    }

    /// Days of raw history kept: `[history] raw_days`, or its older name `[daemon]
    /// history_days`, or [`DEFAULT_RAW_DAYS`].
    pub fn raw_days(&self) -> u32 {
        self.history
            .raw_days
            .or(self.daemon.history_days)
            .unwrap_or(DEFAULT_RAW_DAYS)
    }

    /// The calendar of `[history] time_zone` (checked when the file was read), or the
    /// machine's.
    pub fn calendar(&self) -> crate::domain::history::Calendar {
        use crate::domain::history::Calendar;
        match &self.history.time_zone {
            Some(name) => Calendar::named(name).unwrap_or_else(|_| Calendar::system()),
            None => Calendar::system(),
        }
    }

    /// The directory relative paths are anchored to (and commands run from).
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    fn resolve_paths(&mut self) {
        let dir = self.dir();
        let d = &mut self.daemon;
        for p in [
            &mut d.socket,
            &mut d.pid_file,
            &mut d.database,
            &mut d.log_file,
        ] {
            if p.is_relative() {
                *p = normalize(&dir.join(&*p));
            }
        }
        if let Some(p) = d.log_config.as_mut() {
            if p.as_os_str().is_empty() {
                d.log_config = None;
            } else if p.is_relative() {
                *p = normalize(&dir.join(&*p));
            }
        }
    }

    fn validate(&self) -> Result<(), Invalid> {
        if !self.push.listen.is_empty() && self.push.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "[push] listen: {:?} is not an address like \"127.0.0.1:5000\" (use \"\" to disable)",
                self.push.listen
            ).into());
        }
        if self.push.max_body_bytes == 0 {
            return Err("[push] max_body_bytes must be at least 1".into());
        }
        if self.push.ui_user.is_empty() != self.push.ui_password.is_empty() {
            return Err("[push] ui_user and ui_password must be set together".into());
        }
        let clear = match self.smtp.starttls {
            StartTls::Never => Some("never"),
            StartTls::Opportunistic => Some("opportunistic"),
            StartTls::Required | StartTls::Tls => None,
        };
        if let Some(mode) = clear.filter(|_| !self.smtp.username.is_empty()) {
            return Err(format!(
                "[smtp] username: a login is sent only over an encrypted connection; with \
                 starttls = \"{mode}\" it could go in clear text (set starttls = \"required\" or \"tls\")"
            ).into());
        }
        if self.history.alerts_days == 0 {
            return Err("[history] alerts_days must be at least 1".into());
        }
        if self.daemon.history_days == Some(0) {
            return Err("[daemon] history_days must be at least 1".into());
        }
        if self.history.raw_days == Some(0) {
            return Err("[history] raw_days must be at least 1".into());
        }
        if let (Some(old), Some(new)) = (self.daemon.history_days, self.history.raw_days) {
            if old != new {
                return Err(format!(
                    "[daemon] history_days = {old} and [history] raw_days = {new} say the same \
                     thing differently: keep raw_days only"
                )
                .into());
            }
        }
        if self.history.rollup_days == 0 {
            return Err("[history] rollup_days must be at least 1".into());
        }
        if let Some(name) = &self.history.time_zone {
            crate::domain::history::Calendar::named(name)
                .map_err(|e| Invalid::from(format!("[history] time_zone: {e}")))?;
        }
        if self.daemon.log_rotate_bytes < 1024 {
            return Err("[daemon] log_rotate_bytes must be at least 1024".into());
        }
        if self.daemon.max_concurrent_checks == 0 {
            return Err("[daemon] max_concurrent_checks must be at least 1".into());
        }
        if self.daemon.delivery_retry_seconds == 0 {
            return Err("[daemon] delivery_retry_seconds must be at least 1".into());
        }
        if self.daemon.log_rotate_keep == 0 {
            return Err("[daemon] log_rotate_keep must be at least 1".into());
        }
        let mut names = HashSet::new();
        for t in &self.targets {
            validate_target(t).map_err(|e| format!("[[target]] {:?}: {e}", t.name))?;
            if !names.insert(t.name.as_str()) {
                return Err(format!(
                    "[[target]] {:?}: the name is used by another target",
                    t.name
                )
                .into());
            }
        }
        self.check_dependencies(&names)?;
        self.check_maintenance()?;
        let mut names = HashSet::new();
        for n in &self.notifiers {
            validate_notifier(n).map_err(|e| format!("[[notifier]] {:?}: {e}", n.name))?;
            for (name, _) in n.rows() {
                if !names.insert(name.clone()) {
                    return Err(format!(
                        "[[notifier]] {:?}: the name {name:?} is used by another notifier",
                        n.name
                    )
                    .into());
                }
            }
        }
        Ok(())
    }
}

/// Turns a relative path into an absolute one without touching the file system.
pub fn absolute(path: &Path) -> PathBuf {
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Removes `.` and `..` components lexically (`/etc/../var/x` → `/var/x`), so the
/// paths an operator reads in logs and messages are the plain ones.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            // The parent of the root is the root; a relative path keeps leading `..`.
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// Folds the parser's multi-line message (with its source excerpt) into one line.
fn one_line(msg: &str) -> String {
    let lines: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
        .collect();
    lines.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/skypunch/skypunchd.toml"))
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = parse("").unwrap();
        assert_eq!(
            c.daemon.socket,
            PathBuf::from("/run/skypunch/skypunchd.sock")
        );
        assert_eq!(c.push.listen, "127.0.0.1:5000");
        assert!(c.push.auto_register);
        assert_eq!(c.smtp.starttls, StartTls::Opportunistic);
        assert!(c.targets.is_empty());
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let c =
            parse("[daemon]\ndatabase = \"data/s.db\"\nlog_config = \"log4rs.yaml\"\n").unwrap();
        assert_eq!(c.daemon.database, PathBuf::from("/etc/skypunch/data/s.db"));
        assert_eq!(
            c.daemon.log_config,
            Some(PathBuf::from("/etc/skypunch/log4rs.yaml"))
        );
    }

    #[test]
    fn relative_paths_are_normalised() {
        let c = parse("[daemon]\ndatabase = \"../var/./lib/s.db\"\n").unwrap();
        assert_eq!(c.daemon.database, PathBuf::from("/etc/var/lib/s.db"));
        assert_eq!(normalize(Path::new("/a/b/../../../c")), PathBuf::from("/c"));
    }

    #[test]
    fn empty_log_config_means_none() {
        let c = parse("[daemon]\nlog_config = \"\"\n").unwrap();
        assert_eq!(c.daemon.log_config, None);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse("[daemon]\nsocket = \"/tmp/s\"\nsokcet = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sokcet"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unknown_section_is_refused() {
        let err = parse("[deamon]\n").unwrap_err().to_string();
        assert!(err.contains("deamon"), "{err}");
    }

    #[test]
    fn alert_windows_are_checked() {
        let target = |extra: &str| {
            parse(&format!(
                "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1/\"\n{extra}\n"
            ))
        };
        let c =
            target("failure_threshold = 3\nfailure_window = 5\nwarn_response_ms = 800").unwrap();
        let t = &c.targets[0];
        assert_eq!(
            (t.options.failure_threshold, t.options.failure_window),
            (3, Some(5))
        );
        assert_eq!(
            (
                t.options.success_window,
                t.options.flap_changes,
                t.options.flap_minutes
            ),
            (None, 6, 30)
        );
        assert_eq!(t.options.warn_response_ms, Some(800));
        for (extra, named) in [
            (
                "failure_threshold = 3\nfailure_window = 2",
                "failure_window must be from failure_threshold (3) to 64",
            ),
            (
                "success_window = 65",
                "success_window must be from success_threshold (1) to 64 checks, not 65",
            ),
            ("flap_minutes = 0", "flap_minutes must be at least 1"),
        ] {
            let err = target(extra).unwrap_err().to_string();
            assert!(err.contains(named), "{extra}: {err}");
        }
    }

    #[test]
    fn target_with_defaults() {
        let c = parse("[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1/\"\n").unwrap();
        let t = &c.targets[0];
        assert_eq!(
            (t.method, t.expect_status, t.enabled),
            (Method::Get, 200, true)
        );
    }

    #[test]
    fn basic_auth_without_password_uses_skypunch_message() {
        let err = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://x/\"\nauth = { type = \"basic\", user = \"u\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(BASIC_PARAMS_ERROR), "{err}");
    }

    #[test]
    fn openstack_without_tenant_uses_skypunch_message() {
        let err = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://x/\"\nauth = { type = \"openstack\", user = \"u\", password = \"p\", auth_url = \"http://k/v2.0\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(OPENSTACK_PARAMS_ERROR), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = parse("[[target]]\nname = \"a\"\nurl = \"ftp://x/\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"a\"") && err.contains("url"), "{err}");
        let err = parse("[push]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[push] listen"), "{err}");
        let err = parse("[daemon]\nlog_level = \"loud\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("loud") && err.contains("line 2"), "{err}");
        let err = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://x/\"\n[[target]]\nname = \"a\"\nurl = \"http://y/\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("used by another target"), "{err}");
    }

    #[test]
    fn an_smtp_login_needs_an_encrypted_connection() {
        for mode in ["never", "opportunistic"] {
            let err = parse(&format!(
                "[smtp]\nusername = \"u\"\npassword = \"hunter2\"\nstarttls = \"{mode}\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("[smtp] username") && err.contains(mode),
                "{err}"
            );
            assert!(!err.contains("hunter2"), "{err}");
        }
        let err = parse("[smtp]\nusername = \"u\"\n").unwrap_err().to_string();
        assert!(
            err.contains("opportunistic"),
            "the default mode is refused too: {err}"
        );
        for mode in ["required", "tls"] {
            parse(&format!(
                "[smtp]\nusername = \"u\"\nstarttls = \"{mode}\"\n"
            ))
            .unwrap();
        }
    }

    #[test]
    fn target_urls_and_frequencies_are_checked_whole() {
        let err = parse("[[target]]\nname = \"a\"\nurl = \"http://[::1/\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid URL"), "{err}");
        let err = parse("[[target]]\nname = \"a\"\nurl = \"http://x/\"\nfrequency = 4000000000\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("frequency"), "{err}");
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let c = parse("[smtp]\npassword = \"hunter2\"\n").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
