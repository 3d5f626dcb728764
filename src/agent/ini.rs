//! overcli's INI files, read unchanged:
//!
//! ```ini
//! [overc]
//! server = http://localhost:5000/
//! my-name = web1
//! my-key = 1234
//!
//! [service:app]
//! period = 60
//! command = ./plugin.d/app.sh "httpd"
//! max-lag = 10
//! ```
//!
//! Values are taken as written (no quote or escape processing, as Python's
//! configparser does); keys are case-insensitive. Besides overcli's keys a service
//! may set `timeout`, and `[overc]` may set `spool`.

use ini::{Ini, ParseOption};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One `[service:<name>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDef {
    /// The service's name, as the server will show it.
    pub name: String,
    /// Seconds between runs.
    pub period: u64,
    /// Run with `/bin/sh -c` from the file's directory.
    pub command: String,
    /// Seconds a report may be late before the server calls the service offline; the
    /// period reported is `period + max_lag`.
    pub max_lag: u64,
    /// Time the command may take.
    pub timeout: Duration,
}

impl ServiceDef {
    /// The period promised to the server.
    pub fn reported_period(&self) -> u64 {
        self.period + self.max_lag
    }
}

/// A whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentConfig {
    /// `[overc] server`: the push API's base URL (`-s` overrides it).
    pub server: Option<String>,
    /// `[overc] my-name`: the server name reported as (`-i` overrides it).
    pub name: Option<String>,
    /// `[overc] my-key`: its key.
    pub key: Option<String>,
    /// Where reports wait while the server cannot be reached.
    pub spool: Option<PathBuf>,
    /// The `[service:<name>]` sections, in file order.
    pub services: Vec<ServiceDef>,
    /// The file's directory, where commands run.
    pub dir: PathBuf,
}

/// The default `max-lag`: a tenth of the period, at least 5 s and at most 5 min.
pub fn default_max_lag(period: u64) -> u64 {
    (period / 10).clamp(5, 300)
}

/// What is wrong in an INI text, naming the section and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IniProblem(String);

/// Why an INI file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IniError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file says something wrong.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What, where.
        problem: IniProblem,
    },
}

/// Reads and checks an INI file; errors name the file, section and key.
pub fn load(path: &Path) -> Result<AgentConfig, IniError> {
    let text = std::fs::read_to_string(path).map_err(|source| IniError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, dir).map_err(|problem| IniError::Invalid {
        path: path.to_path_buf(),
        problem,
    })
}

/// Parses the text of an INI file whose commands run in `dir`.
pub fn parse(text: &str, dir: PathBuf) -> Result<AgentConfig, IniProblem> {
    let opt = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..Default::default()
    };
    let ini = Ini::load_from_str_opt(text, opt).map_err(|e| IniProblem(e.to_string()))?;
    let mut config = AgentConfig {
        dir: dir.clone(),
        ..Default::default()
    };
    for (section, props) in ini.iter() {
        let Some(section) = section else {
            if let Some((k, _)) = props.iter().next() {
                return Err(IniProblem(format!("{k:?} is outside any section")));
            }
            continue;
        };
        if section == "overc" {
            for (k, v) in props.iter() {
                let v = v.trim().to_string();
                match k.to_ascii_lowercase().as_str() {
                    "server" => config.server = Some(v),
                    "my-name" => config.name = Some(v),
                    "my-key" => config.key = Some(v),
                    "spool" => config.spool = Some(dir.join(v)),
                    _ => {
                        return Err(IniProblem(format!(
                            "[overc] {k}: unknown key (server, my-name, my-key, spool)"
                        )))
                    }
                }
            }
        } else if let Some(name) = section.strip_prefix("service:") {
            config.services.push(service(name.trim(), props)?);
        } else {
            return Err(IniProblem(format!(
                "[{section}]: unknown section ([overc] or [service:<name>])"
            )));
        }
    }
    if config.services.is_empty() {
        return Err(IniProblem("no [service:<name>] sections".into()));
    }
    Ok(config)
}

fn service(name: &str, props: &ini::Properties) -> Result<ServiceDef, IniProblem> {
    let at = |k: &str| format!("[service:{name}] {k}");
    if name.is_empty() || name.chars().count() > 128 {
        return Err(IniProblem(format!(
            "[service:{name}]: a name of 1 to 128 characters"
        )));
    }
    let (mut period, mut command, mut max_lag, mut timeout) = (None, None, None, None);
    let seconds = |k: &str, v: &str, min: u64| -> Result<u64, IniProblem> {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= min && *n <= 366 * 86_400)
            .ok_or_else(|| {
                IniProblem(format!(
                    "{}: {v:?} is not a number of seconds >= {min}",
                    at(k)
                ))
            })
    };
    for (k, v) in props.iter() {
        match k.to_ascii_lowercase().as_str() {
            "period" => period = Some(seconds(k, v, 1)?),
            "command" => command = Some(v.trim().to_string()),
            "max-lag" => max_lag = Some(seconds(k, v, 0)?),
            "timeout" => timeout = Some(seconds(k, v, 1)?),
            _ => {
                return Err(IniProblem(format!(
                    "{}: unknown key (period, command, max-lag, timeout)",
                    at(k)
                )))
            }
        }
    }
    let period = period.ok_or_else(|| IniProblem(format!("{}: missing", at("period"))))?;
    let max_lag = max_lag.unwrap_or_else(|| default_max_lag(period));
    // The server refuses a promise beyond a year, and would refuse every report.
    let promised = period.saturating_add(max_lag);
    if promised > crate::domain::report::MAX_PERIOD as u64 {
        return Err(IniProblem(format!(
            "{}: period + max-lag = {promised} s, more than the server accepts ({} s, a year)",
            at("period"),
            crate::domain::report::MAX_PERIOD
        )));
    }
    let command = command
        .filter(|c| !c.is_empty())
        .ok_or_else(|| IniProblem(format!("{}: missing", at("command"))))?;
    Ok(ServiceDef {
        name: name.to_string(),
        period,
        command,
        max_lag,
        timeout: Duration::from_secs(timeout.unwrap_or(period)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_the_server_would_refuse_is_refused_here() {
        let ini = |period: &str, lag: &str| {
            let text = format!(
                "[overc]\nserver = http://127.0.0.1:5000/\nmy-name = h\nmy-key = k\n\
                 [service:s]\nperiod = {period}\ncommand = true\n{lag}"
            );
            parse(&text, std::path::PathBuf::from("/etc/skypunch"))
        };
        let err = ini("31536000", "").unwrap_err().to_string();
        assert!(err.contains("more than the server accepts"), "{err}");
        let err = ini("31535990", "max-lag = 20\n").unwrap_err().to_string();
        assert!(err.contains("period + max-lag"), "{err}");
        assert!(ini("31535000", "max-lag = 1000\n").is_ok());
    }

    #[test]
    fn reads_overclis_files_unchanged() {
        let c = parse(
            "[overc]\nserver=http://localhost:5000/\nmy-name=web1\nmy-key=1234\n\n\
             ; a comment\n[service:app]\nperiod=5\ncommand=./plugin.d/pid-check.sh \"httpd\"\n\n\
             [service:echo]\nperiod = 60\ncommand = echo 1 # not a comment\nmax-lag = 0\ntimeout = 3\n",
            PathBuf::from("/etc/agent"),
        )
        .unwrap();
        assert_eq!(c.server.as_deref(), Some("http://localhost:5000/"));
        assert_eq!(
            (c.name.as_deref(), c.key.as_deref()),
            (Some("web1"), Some("1234"))
        );
        assert_eq!(c.services.len(), 2);
        assert_eq!(c.services[0].command, "./plugin.d/pid-check.sh \"httpd\"");
        assert_eq!(c.services[0].timeout, Duration::from_secs(5));
        assert_eq!(c.services[0].reported_period(), 10);
        assert_eq!(c.services[1].command, "echo 1 # not a comment");
        assert_eq!(c.services[1].reported_period(), 60);
        assert_eq!(c.services[1].timeout, Duration::from_secs(3));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| parse(text, PathBuf::from("/")).unwrap_err().to_string();
        assert_eq!(
            err("[service:a]\ncommand=x\n"),
            "[service:a] period: missing"
        );
        assert_eq!(
            err("[service:a]\nperiod=0\ncommand=x\n"),
            "[service:a] period: \"0\" is not a number of seconds >= 1"
        );
        assert!(err("[service:a]\nperiod=1\ncommand=x\nperiod_s=2\n").contains("unknown key"));
        assert!(err("[overc]\nserver=x\n").contains("no [service:<name>] sections"));
        assert!(err("[services:a]\nperiod=1\n").contains("unknown section"));
    }
}
