//! Dependencies between sources (SPEC §14): a target's `depends_on` names its parents;
//! while a parent is down (a target FAIL, a service FAIL or offline, a server with
//! every service offline) the child's alerts are recorded and delivered to nobody.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A parent, as written in `depends_on`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Parent {
    /// `target:<name>`.
    Target(String),
    /// `service:<server>/<service>`.
    Service {
        /// The pushing server's name.
        server: String,
        /// The service's name.
        service: String,
    },
    /// `server:<name>`: down when every service it pushes is offline.
    Server(String),
}

/// Why a reference cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("depends_on {reference:?}: {why}")]
pub struct BadReference {
    /// The reference as written.
    pub reference: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl Parent {
    /// Reads `target:<name>`, `service:<server>/<service>` or `server:<name>`.
    pub fn parse(s: &str) -> Result<Parent, BadReference> {
        let bad = |why| BadReference {
            reference: s.to_string(),
            why,
        };
        let (kind, name) = s.split_once(':').ok_or_else(|| {
            bad("expected target:<name>, service:<server>/<service> or server:<name>")
        })?;
        if name.trim().is_empty() {
            return Err(bad("the name is empty"));
        }
        match kind {
            "target" => Ok(Parent::Target(name.to_string())),
            "server" => Ok(Parent::Server(name.to_string())),
            "service" => match name.split_once('/') {
                Some((server, service)) if !server.is_empty() && !service.is_empty() => {
                    Ok(Parent::Service {
                        server: server.to_string(),
                        service: service.to_string(),
                    })
                }
                _ => Err(bad("a service is named service:<server>/<service>")),
            },
            _ => Err(bad("the kind must be target, service or server")),
        }
    }
}

impl fmt::Display for Parent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parent::Target(n) => write!(f, "target:{n}"),
            Parent::Service { server, service } => write!(f, "service:{server}/{service}"),
            Parent::Server(n) => write!(f, "server:{n}"),
        }
    }
}

/// A cycle among targets' `depends_on`, as the names around it (the first repeated
/// last: `a -> b -> a`); `None` when there is none. `edges` maps a target's name to
/// the targets it depends on.
pub fn find_cycle(edges: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    // Depth-first without recursion: (node, index of the next edge to follow).
    for start in edges.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Open);
        while let Some((node, next)) = path.last_mut() {
            let children = edges.get(*node).map(Vec::as_slice).unwrap_or(&[]);
            let Some(child) = children.get(*next) else {
                marks.insert(node, Mark::Done);
                path.pop();
                continue;
            };
            *next += 1;
            match marks.get(child.as_str()) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    let from = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(child.clone());
                    return Some(cycle);
                }
                None => {
                    marks.insert(child, Mark::Open);
                    path.push((child, 0));
                }
            }
        }
    }
    None
}

/// The distinct parents of `refs`, or the first that cannot be read.
pub fn parse_all(refs: &[String]) -> Result<BTreeSet<Parent>, BadReference> {
    refs.iter().map(|r| Parent::parse(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_bad_ones_say_why() {
        for s in [
            "target:core-router",
            "service:db1/replication",
            "server:db1",
        ] {
            assert_eq!(Parent::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Parent::parse("service:db1/a/b").unwrap(),
            Parent::Service {
                server: "db1".into(),
                service: "a/b".into()
            }
        );
        for (s, why) in [
            ("router", "expected target:"),
            ("host:x", "the kind must be"),
            ("target:", "empty"),
            ("service:db1", "service:<server>/<service>"),
        ] {
            let e = Parent::parse(s).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(s), "{s}: {e}");
        }
    }

    #[test]
    fn cycles_are_found_and_named() {
        let edges = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect()
        };
        let tree = edges(&[("a", &["b", "c"]), ("b", &["c"]), ("c", &[]), ("d", &["c"])]);
        assert_eq!(find_cycle(&tree), None);
        let cycle = edges(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
        assert_eq!(find_cycle(&cycle).unwrap(), ["a", "b", "c", "a"]);
        let own = edges(&[("a", &["a"])]);
        assert_eq!(find_cycle(&own).unwrap(), ["a", "a"]);
        // An edge to a name with no entry is a leaf.
        assert_eq!(find_cycle(&edges(&[("a", &["zz"])])), None);
    }
}
