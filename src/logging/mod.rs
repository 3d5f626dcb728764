//! Logging through log4rs.
//!
//! The built-in setup writes `2026-11-21 06:10:57,053 INFO <message>` lines (UTC) to
//! `[daemon] log_file`, rotated by size (INFO lines in bursts, see [`batch`]), and in
//! the foreground also to stderr. A `log_config` YAML file replaces it entirely.
//! [`Logging::reload`] rebuilds the appenders, which reopens the files: that is how
//! SIGHUP cooperates with logrotate.

use crate::config::DaemonConfig;
use log4rs::append::console::{ConsoleAppender, Target};
use log4rs::append::rolling_file::policy::compound::roll::fixed_window::FixedWindowRoller;
use log4rs::append::rolling_file::policy::compound::trigger::size::SizeTrigger;
use log4rs::append::rolling_file::policy::compound::CompoundPolicy;
use log4rs::append::rolling_file::RollingFileAppender;
use log4rs::config::{Appender, Config, Root};
use log4rs::encode::{Encode, Write as EncodeWrite};
use std::path::PathBuf;

mod batch;

/// The line format of the built-in setup, as a log4rs pattern (what `etc/log4rs.yaml`
/// uses to reproduce it).
pub const PATTERN: &str = "{d(%Y-%m-%d %H:%M:%S,%3f)(utc)} {l} {m}{n}";

/// Writes [`PATTERN`]'s lines without interpreting a pattern for every record: with
/// ten thousand checks a second, the log line is on the hot path.
#[derive(Debug)]
pub struct LineEncoder;

impl Encode for LineEncoder {
    fn encode(&self, w: &mut dyn EncodeWrite, record: &log::Record) -> anyhow::Result<()> {
        let stamp =
            crate::domain::time::format(chrono::Utc::now(), crate::domain::time::Fraction::Millis);
        writeln!(w, "{stamp} {} {}", record.level(), record.args())?;
        Ok(())
    }
}

/// Errors of setting logging up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log file could not be opened.
    #[error("cannot open log file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The log4rs YAML could not be used.
    #[error("log_config {path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// A logger was already installed in this process.
    #[error("logging is already initialised: {0}")]
    Init(String),
}

/// The installed logger; reconfigure it with [`Logging::reload`].
pub struct Logging {
    handle: log4rs::Handle,
    foreground: bool,
}

impl Logging {
    /// Installs the process-wide logger.
    pub fn init(daemon: &DaemonConfig, foreground: bool) -> Result<Logging, LogError> {
        let config = build(daemon, foreground)?;
        let handle = log4rs::init_config(config).map_err(|e| LogError::Init(e.to_string()))?;
        Ok(Logging { handle, foreground })
    }

    /// Applies a new configuration and reopens the log files.
    pub fn reload(&self, daemon: &DaemonConfig) -> Result<(), LogError> {
        self.handle.set_config(build(daemon, self.foreground)?);
        Ok(())
    }
}

/// Logs to standard error only, in the daemon's line format (for the agent).
pub fn init_stderr(level: log::LevelFilter) -> Result<(), LogError> {
    let stderr = ConsoleAppender::builder()
        .target(Target::Stderr)
        .encoder(Box::new(LineEncoder))
        .build();
    let config = Config::builder()
        .appender(Appender::builder().build("stderr", Box::new(stderr)))
        .build(Root::builder().appender("stderr").build(level))
        .map_err(|e| LogError::Init(e.to_string()))?;
    log4rs::init_config(config).map_err(|e| LogError::Init(e.to_string()))?;
    Ok(())
}

fn build(daemon: &DaemonConfig, foreground: bool) -> Result<Config, LogError> {
    if let Some(path) = &daemon.log_config {
        return log4rs::config::load_config_file(path, Default::default()).map_err(|e| {
            LogError::Yaml {
                path: path.clone(),
                message: e.to_string(),
            }
        });
    }
    let path = &daemon.log_file;
    let file_err = |message: String| LogError::File {
        path: path.clone(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| file_err(format!("cannot create {}: {e}", dir.display())))?;
    }
    let roll_pattern = format!("{}.{{}}", path.display());
    let roller = FixedWindowRoller::builder()
        .build(&roll_pattern, daemon.log_rotate_keep)
        .map_err(|e| file_err(e.to_string()))?;
    let policy = CompoundPolicy::new(
        Box::new(SizeTrigger::new(daemon.log_rotate_bytes)),
        Box::new(roller),
    );
    let file = RollingFileAppender::builder()
        .encoder(Box::new(batch::Verbatim))
        .build(path, Box::new(policy))
        .map_err(|e| file_err(e.to_string()))?;
    let file = batch::Batched::new(Box::new(file));
    let mut builder = Config::builder().appender(Appender::builder().build("file", Box::new(file)));
    let mut root = Root::builder().appender("file");
    if foreground {
        let stderr = ConsoleAppender::builder()
            .target(Target::Stderr)
            .encoder(Box::new(LineEncoder))
            .build();
        builder = builder.appender(Appender::builder().build("stderr", Box::new(stderr)));
        root = root.appender("stderr");
    }
    builder
        .build(root.build(daemon.log_level.into()))
        .map_err(|e| file_err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Buf(Vec<u8>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl EncodeWrite for Buf {}

    fn line(encoder: &dyn Encode) -> String {
        let mut buf = Buf(Vec::new());
        let args = format_args!("[1] x GET http://a/ PASS (OK)");
        let record = log::Record::builder()
            .level(log::Level::Info)
            .args(args)
            .build();
        encoder.encode(&mut buf, &record).unwrap();
        String::from_utf8(buf.0).unwrap()
    }

    #[test]
    fn line_encoder_matches_the_pattern() {
        let fast = line(&LineEncoder);
        let pattern = line(&log4rs::encode::pattern::PatternEncoder::new(PATTERN));
        // Same shape; the time stamps may differ in their last digits.
        let shape = |s: &str| {
            s.chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect::<String>()
        };
        assert_eq!(shape(&fast), shape(&pattern));
        assert!(
            fast.ends_with(" INFO [1] x GET http://a/ PASS (OK)\n"),
            "{fast}"
        );
        assert_eq!(fast.find(',').unwrap(), 19, "{fast}");
    }
}
