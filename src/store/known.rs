//! What the writer thread knows of pushed servers and services, kept in its
//! [`WriterState`](super::writer) and handed to each job through [`Tx`](super::Tx).

use crate::domain::report::ServiceState;
use crate::secret::Secret;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// What the writer thread knows of servers and services, so that a report from a
/// known server about a known service costs no lookups: by server name, its id and
/// the key verified against its stored hash; by server id and service name, the
/// service's row as it stands (id, state, info, period, whether it is offline).
///
/// It is forgotten whenever it might be stale: when another connection commits (a
/// row edited by hand, seen through `PRAGMA data_version`), when a write job or a
/// commit fails (its changes are rolled back), when a server is added or removed,
/// and when services are marked offline.
#[derive(Default)]
pub(super) struct Known {
    servers: HashMap<String, (i64, Vec<u8>)>,
    services: HashMap<i64, HashMap<String, Service>>,
    service_count: usize,
}

/// A service's row, but for its `last_report`.
#[derive(Clone)]
pub(super) struct Service {
    pub(super) id: i64,
    /// `None` for a state set by hand to something no report can have.
    pub(super) state: Option<ServiceState>,
    pub(super) info: String,
    pub(super) period: i64,
    pub(super) timed_out: bool,
}

/// Entries kept before the cache starts over.
const KNOWN_MAX: usize = 100_000;

impl Known {
    /// The id of server `name` if `key` is the one verified for it.
    pub(super) fn server(&self, name: &str, key: &Secret) -> Option<i64> {
        self.servers
            .get(name)
            .filter(|(_, known)| bool::from(known.as_slice().ct_eq(key.expose().as_bytes())))
            .map(|(id, _)| *id)
    }

    pub(super) fn remember_server(&mut self, name: &str, id: i64, key: &Secret) {
        if self.servers.len() >= KNOWN_MAX {
            self.servers.clear();
        }
        self.servers
            .insert(name.to_string(), (id, key.expose().as_bytes().to_vec()));
    }

    pub(super) fn remember_service(&mut self, server: i64, name: &str, service: Service) {
        if self.service_count >= KNOWN_MAX {
            self.services.clear();
            self.service_count = 0;
        }
        if self
            .services
            .entry(server)
            .or_default()
            .insert(name.to_string(), service)
            .is_none()
        {
            self.service_count += 1;
        }
    }

    pub(super) fn service(&self, server: i64, name: &str) -> Option<Service> {
        self.services
            .get(&server)
            .and_then(|s| s.get(name))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Tx;
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn a_known_key_holds_until_forgotten() {
        let conn = Connection::open_in_memory().unwrap();
        let state = super::super::writer::WriterState::default();
        let tx = Tx::new(&conn, &state);
        let key = Secret::new("s3cret");
        assert_eq!(tx.known().server("web1", &key), None);
        tx.known().remember_server("web1", 7, &key);
        assert_eq!(tx.known().server("web1", &key), Some(7));
        assert_eq!(tx.known().server("web1", &Secret::new("other")), None);
        assert_eq!(tx.known().server("web2", &key), None);
        tx.forget();
        assert_eq!(tx.known().server("web1", &key), None);
    }
}
