//! `[[maintenance]]` entries (SPEC §15): recurring windows during which the alerts of
//! what they match are recorded and delivered to nobody.

use super::{Config, Invalid};
use crate::domain::quiet::{Matcher, Schedule, Window};
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::collections::HashSet;

/// `[[maintenance]]`: a window that recurs on the wall clock of a time zone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Its name, shown as `maintenance <name>` on the alerts it holds.
    pub name: String,
    /// What it covers: `target:<glob>`, `server:<glob>`, `<server glob>/<service glob>`.
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    /// `Sun 02:00-04:00`, `Mon,Wed 22:00-01:00`, `Mon-Fri 12:00-13:00`, `daily 03:00-03:30`.
    pub schedule: String,
    /// IANA time zone of the schedule; the host's when absent.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl MaintenanceConfig {
    /// The checked window, or what is wrong with the entry.
    pub fn window(&self) -> Result<Window, Invalid> {
        if self.name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        if self.matches.is_empty() {
            return Err("match must list at least one source, e.g. [\"server:db*\"]".into());
        }
        let matchers = self
            .matches
            .iter()
            .map(|m| Matcher::parse(m).map_err(|e| Invalid::from(format!("match: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let schedule =
            Schedule::parse(&self.schedule).map_err(|e| Invalid::from(format!("schedule: {e}")))?;
        let tz = match &self.timezone {
            Some(name) => TimeZone::get(name).map_err(|_| {
                Invalid::from(format!("timezone: {name:?} is not a known time zone"))
            })?,
            None => TimeZone::system(),
        };
        Ok(Window {
            name: self.name.clone(),
            matchers,
            schedule,
            tz,
        })
    }

    /// The zone's name as shown (`local` for the host's when it has none).
    pub fn zone_name(&self) -> String {
        self.timezone
            .clone()
            .unwrap_or_else(|| crate::domain::history::Calendar::system().zone_name())
    }
}

impl Config {
    /// The `[[maintenance]]` windows (checked when the file was loaded).
    pub fn maintenance_windows(&self) -> Vec<Window> {
        self.maintenance
            .iter()
            .filter_map(|m| m.window().ok())
            .collect()
    }

    /// Checks every window and that no two share a name.
    pub(super) fn check_maintenance(&self) -> Result<(), Invalid> {
        let mut names = HashSet::new();
        for m in &self.maintenance {
            m.window()
                .map_err(|e| format!("[[maintenance]] {:?}: {e}", m.name))?;
            if !names.insert(m.name.as_str()) {
                return Err(format!(
                    "[[maintenance]] {:?}: the name is used by another window",
                    m.name
                )
                .into());
            }
        }
        Ok(())
    }
}
