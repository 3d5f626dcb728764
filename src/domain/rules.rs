//! Rules for pushed services (`[[service_rule]]`, SPEC §14): which services a rule
//! governs (globs on the server's and the service's names, the first rule that
//! matches wins), and what it asks: thresholds and windows over reports, flap
//! detection, a grace period before offline, parents, and whether anyone is told.
//! A service no rule matches keeps OverC's behaviour exactly.

use super::depend::Parent;
use super::report::ServiceState;
use super::supervise::{Status, Thresholds, Verdict};

/// One `[[service_rule]]`, checked.
#[derive(Debug, Clone)]
pub struct ServiceRule {
    /// `match` as written: `<server glob>/<service glob>`.
    pub pattern: String,
    server: glob::Pattern,
    service: glob::Pattern,
    /// Thresholds, windows and flap detection, counted in reports.
    pub thresholds: Thresholds,
    /// Seconds after the promised period before a service is offline.
    pub offline_grace_s: u32,
    /// Parents: while one is down, the service's alerts are delivered to nobody.
    pub depends_on: Vec<Parent>,
    /// Whether notifiers are told (false: alerts are recorded only).
    pub notify: bool,
}

/// Why a `match` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("match {pattern:?}: {why}")]
pub struct BadPattern {
    /// As written.
    pub pattern: String,
    /// What is wrong.
    pub why: String,
}

impl ServiceRule {
    /// A rule for `pattern` (`<server glob>/<service glob>`, split at the first `/`).
    pub fn new(
        pattern: &str,
        thresholds: Thresholds,
        offline_grace_s: u32,
        depends_on: Vec<Parent>,
        notify: bool,
    ) -> Result<ServiceRule, BadPattern> {
        let bad = |why: String| BadPattern {
            pattern: pattern.to_string(),
            why,
        };
        let (server, service) = pattern
            .split_once('/')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .ok_or_else(|| {
                bad("expected \"<server glob>/<service glob>\", e.g. \"db*/replication*\"".into())
            })?;
        let compile = |g: &str| glob::Pattern::new(g).map_err(|e| bad(format!("{g:?}: {e}")));
        Ok(ServiceRule {
            pattern: pattern.to_string(),
            server: compile(server)?,
            service: compile(service)?,
            thresholds,
            offline_grace_s,
            depends_on,
            notify,
        })
    }

    /// Whether the rule governs `server`'s `service`.
    pub fn matches(&self, server: &str, service: &str) -> bool {
        self.server.matches(server) && self.service.matches(service)
    }
}

/// The rule governing `server`'s `service`: the first that matches.
pub fn rule_for<'a>(
    rules: &'a [ServiceRule],
    server: &str,
    service: &str,
) -> Option<(usize, &'a ServiceRule)> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.matches(server, service))
}

/// A report as a check's verdict: OK passes, WARN is degraded, anything else (FAIL,
/// UNK) is a non-OK report that counts towards a failure.
pub fn verdict_of(state: ServiceState) -> Verdict {
    match state {
        ServiceState::Ok => Verdict::Pass,
        ServiceState::Warn => Verdict::Warn,
        ServiceState::Fail | ServiceState::Unk => Verdict::Fail,
    }
}

/// A judged state in OverC's words, for `State changed: "<before>" -> "<now>"`.
pub fn overc_name(status: Status) -> &'static str {
    match status {
        Status::New => "(?)",
        Status::Pass => "OK",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str) -> ServiceRule {
        ServiceRule::new(p, Thresholds::default(), 0, Vec::new(), true).unwrap()
    }

    #[test]
    fn globs_match_server_and_service_and_the_first_rule_wins() {
        let rules = [rule("db*/replication*"), rule("*/*")];
        assert_eq!(rule_for(&rules, "db1", "replication-lag").unwrap().0, 0);
        assert_eq!(rule_for(&rules, "web1", "replication").unwrap().0, 1);
        assert_eq!(rule_for(&rules, "db1", "disk").unwrap().0, 1);
        assert!(rule_for(&rules[..1], "db1", "disk").is_none());
        // The service glob takes the rest: a service name may hold a slash.
        assert!(rule("h/a/b").matches("h", "a/b"));
        assert!(rule("h?/[ab]x").matches("h1", "bx"));
    }

    #[test]
    fn bad_patterns_say_why() {
        for (p, why) in [("db*", "expected"), ("/x", "expected"), ("db[/x", "db[")] {
            let e = ServiceRule::new(p, Thresholds::default(), 0, Vec::new(), true)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{p}: {e}");
        }
    }

    #[test]
    fn non_ok_reports_count_as_failures() {
        assert_eq!(verdict_of(ServiceState::Unk), Verdict::Fail);
        assert_eq!(verdict_of(ServiceState::Warn), Verdict::Warn);
        assert_eq!(overc_name(Status::New), "(?)");
    }
}
