//! `[[service_rule]]` entries, and the dependencies of the whole file: every
//! `target:` parent names a target of the file, and nothing depends on itself, through
//! targets or through the rules that govern the services they name.

use super::entries::{check_flap_minutes, window_of};
use super::{Config, Invalid, DEFAULT_FLAP_CHANGES, DEFAULT_FLAP_MINUTES};
use crate::domain::depend::{find_cycle, parse_all, Parent};
use crate::domain::rules::{rule_for, ServiceRule};
use crate::domain::supervise::Thresholds;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// `[[service_rule]]`: how the pushed services it matches are judged and told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRuleConfig {
    /// `<server glob>/<service glob>`.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Non-OK reports (among `failure_window`) before a state-change alert.
    #[serde(default = "one")]
    pub failure_threshold: u32,
    /// The latest reports `failure_threshold` is counted in (default: as many).
    #[serde(default)]
    pub failure_window: Option<u32>,
    /// OK reports (among `success_window`) before the recovery is told.
    #[serde(default = "one")]
    pub success_threshold: u32,
    /// The latest reports `success_threshold` is counted in (default: as many).
    #[serde(default)]
    pub success_window: Option<u32>,
    /// Seconds after the promised period before the service is offline.
    #[serde(default)]
    pub offline_grace: u32,
    /// State changes within `flap_minutes` that make the service flapping; 0 = off.
    #[serde(default = "default_flap_changes")]
    pub flap_changes: u32,
    /// The flapping period, and how long a state must hold to settle.
    #[serde(default = "default_flap_minutes")]
    pub flap_minutes: u32,
    /// Parents: while one is down, the services' alerts are delivered to nobody.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// false: alerts are recorded, and delivered to nobody.
    #[serde(default = "yes")]
    pub notify: bool,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_flap_changes() -> u32 {
    DEFAULT_FLAP_CHANGES
}
fn default_flap_minutes() -> u32 {
    DEFAULT_FLAP_MINUTES
}

impl ServiceRuleConfig {
    /// The checked rule, or what is wrong with the entry.
    pub fn rule(&self) -> Result<ServiceRule, Invalid> {
        let mut windows = [0; 2];
        for (i, (key, threshold, window)) in [
            ("failure", self.failure_threshold, self.failure_window),
            ("success", self.success_threshold, self.success_window),
        ]
        .into_iter()
        .enumerate()
        {
            if threshold == 0 {
                return Err(format!("{key}_threshold must be at least 1").into());
            }
            windows[i] = window_of(key, threshold, window, "reports")?;
        }
        check_flap_minutes(self.flap_minutes)?;
        let parents = parse_all(&self.depends_on).map_err(|e| Invalid::from(e.to_string()))?;
        let thresholds = Thresholds {
            failure: self.failure_threshold,
            failure_window: windows[0],
            success: self.success_threshold,
            success_window: windows[1],
            renotify_minutes: 0,
            flap_changes: self.flap_changes,
            flap_minutes: self.flap_minutes,
        };
        ServiceRule::new(
            &self.pattern,
            thresholds,
            self.offline_grace,
            parents.into_iter().collect(),
            self.notify,
        )
        .map_err(|e| Invalid::from(e.to_string()))
    }
}

impl Config {
    /// The `[[service_rule]]` entries, in order (checked when the file was loaded).
    pub fn service_rules(&self) -> Vec<ServiceRule> {
        self.service_rules
            .iter()
            .filter_map(|r| r.rule().ok())
            .collect()
    }

    /// Checks the rules, the `target:` parents (each a target of the file) and that
    /// nothing depends on itself. `names` are the file's targets.
    pub(super) fn check_dependencies(&self, names: &HashSet<&str>) -> Result<(), Invalid> {
        let mut rules = Vec::new();
        for r in &self.service_rules {
            let rule = r
                .rule()
                .map_err(|e| format!("[[service_rule]] {:?}: {e}", r.pattern))?;
            rules.push(rule);
        }
        let rule_node = |i: usize| format!("[[service_rule]] {:?}", rules[i].pattern);
        // Each source's node, and the nodes of what it depends on.
        let node_of = |p: &Parent| match p {
            Parent::Target(name) => Some(format!("target:{name}")),
            Parent::Service { server, service } => {
                rule_for(&rules, server, service).map(|(i, _)| rule_node(i))
            }
            Parent::Server(_) => None,
        };
        let unknown = |p: &Parent| match p {
            Parent::Target(name) if !names.contains(name.as_str()) => Some(name.clone()),
            _ => None,
        };
        let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in &self.targets {
            let parents = parse_all(&t.options.depends_on)
                .map_err(|e| format!("[[target]] {:?}: {e}", t.name))?;
            if let Some(name) = parents.iter().find_map(unknown) {
                return Err(format!(
                    "[[target]] {:?}: depends_on \"target:{name}\": no target of that name in this file",
                    t.name
                )
                .into());
            }
            edges.insert(
                format!("target:{}", t.name),
                parents.iter().filter_map(node_of).collect(),
            );
        }
        for (i, rule) in rules.iter().enumerate() {
            if let Some(name) = rule.depends_on.iter().find_map(unknown) {
                return Err(format!(
                    "[[service_rule]] {:?}: depends_on \"target:{name}\": no target of that name in this file",
                    rule.pattern
                )
                .into());
            }
            edges
                .entry(rule_node(i))
                .or_default()
                .extend(rule.depends_on.iter().filter_map(node_of));
        }
        match find_cycle(&edges) {
            Some(cycle) => {
                let first = match cycle[0].strip_prefix("target:") {
                    Some(name) => format!("[[target]] {name:?}"),
                    None => cycle[0].clone(),
                };
                Err(format!("{first}: depends_on makes a cycle: {}", cycle.join(" -> ")).into())
            }
            None => Ok(()),
        }
    }
}
