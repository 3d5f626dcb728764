//! Pushed reports: servers, their keys, services, states and the alerts they raise.
//!
//! A server's key is stored as a salted SHA-256 and compared in constant time. Every
//! operation identifies the server inside the same transaction that records the
//! report, so a registration and its first report are committed together.

use super::alerts::{insert_alert, NewAlert};
use super::{now_ms, Result, Store};
use crate::push::api::{AlertReport, ServerId, ServiceReport};
use crate::secret::Secret;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Why a report was refused (403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The name is registered with another key.
    WrongKey,
    /// The name is unknown and `auto_register` is off.
    Unknown,
}

impl Denied {
    /// The 403 body's message.
    pub fn message(&self) -> &'static str {
        match self {
            Denied::WrongKey => "Invalid server key",
            Denied::Unknown => "Unknown server: register it with skypunchctl servers add NAME",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Keys verified lately, by server name: (stored hash, the key). A key matching the
/// cached one is accepted without hashing as long as the stored hash is still the one
/// it was verified against, so a server removed or re-keyed (by the CLI or by hand)
/// is checked afresh. Only the writer thread identifies servers.
struct Verified {
    hash: String,
    key: Vec<u8>,
}

/// Entries kept before the cache starts over.
const VERIFIED_MAX: usize = 100_000;

thread_local! {
    static VERIFIED: std::cell::RefCell<std::collections::HashMap<String, Verified>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn cached_key_matches(name: &str, hash: &str, key: &Secret) -> bool {
    VERIFIED.with(|v| {
        v.borrow().get(name).is_some_and(|e| {
            e.hash == hash && bool::from(e.key.as_slice().ct_eq(key.expose().as_bytes()))
        })
    })
}

fn remember_key(name: &str, hash: &str, key: &Secret) {
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= VERIFIED_MAX {
            v.clear();
        }
        v.insert(
            name.to_string(),
            Verified {
                hash: hash.to_string(),
                key: key.expose().as_bytes().to_vec(),
            },
        );
    });
}

fn key_hash(salt: &str, key: &Secret) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(salt.as_bytes());
    ctx.update(key.expose().as_bytes());
    hex(ctx.finish().as_ref())
}

fn new_salt() -> Result<String> {
    use ring::rand::SecureRandom;
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| super::StoreError::Invalid("no randomness available for a key salt".into()))?;
    Ok(hex(&salt))
}

/// Finds the server and checks its key; registers it when allowed.
fn identify(
    c: &Connection,
    id: &ServerId,
    auto_register: bool,
    now: i64,
) -> Result<Result<i64, Denied>> {
    let row: Option<(i64, String, String)> = c
        .prepare_cached("SELECT id, key_salt, key_hash FROM servers WHERE name = ?")?
        .query_row([&id.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((server, _, hash)) if cached_key_matches(&id.name, &hash, &id.key) => Ok(Ok(server)),
        Some((server, salt, hash)) => {
            let given = key_hash(&salt, &id.key);
            if bool::from(given.as_bytes().ct_eq(hash.as_bytes())) {
                remember_key(&id.name, &hash, &id.key);
                Ok(Ok(server))
            } else {
                Ok(Err(Denied::WrongKey))
            }
        }
        None if auto_register => {
            let salt = new_salt()?;
            c.prepare_cached(
                "INSERT INTO servers (name, key_salt, key_hash, origin, created) VALUES (?, ?, ?, 'auto', ?)",
            )?
            .execute(params![id.name, salt, key_hash(&salt, &id.key), now])?;
            log::info!("server {:?} registered on its first report", id.name);
            Ok(Ok(c.last_insert_rowid()))
        }
        None => Ok(Err(Denied::Unknown)),
    }
}

/// The service's id, creating it (as previously `OK`, per OverC) when new; returns
/// (id, previous state or `None` when new, whether it was offline).
fn service(
    c: &Connection,
    server: i64,
    name: &str,
    period: i64,
    now: i64,
) -> Result<(i64, Option<String>, bool)> {
    let row: Option<(i64, String, bool)> = c
        .prepare_cached(
            "SELECT id, state, timed_out FROM services WHERE server_id = ? AND name = ?",
        )?
        .query_row(params![server, name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if let Some((id, state, timed_out)) = row {
        return Ok((id, Some(state), timed_out));
    }
    c.prepare_cached(
        "INSERT INTO services (server_id, name, state, period, last_report) VALUES (?, ?, 'OK', ?, ?)",
    )?
    .execute(params![server, name, period, now])?;
    Ok((c.last_insert_rowid(), None, false))
}

impl Store {
    /// Runs `record` for an identified server (registering it if allowed) in one write
    /// job; a refused server gets `Denied` and nothing is written.
    async fn as_server<F>(
        &self,
        id: ServerId,
        auto_register: bool,
        record: F,
    ) -> Result<Result<(), Denied>>
    where
        F: FnOnce(&Connection, &ServerId, i64, i64) -> Result<()> + Send + 'static,
    {
        self.write(move |c| {
            let now = now_ms();
            match identify(c, &id, auto_register, now)? {
                Ok(server) => record(c, &id, server, now).map(Ok),
                Err(denied) => Ok(Err(denied)),
            }
        })
        .await
    }

    /// `/api/ping`: identifies (and perhaps registers) the server.
    pub async fn push_ping(&self, id: ServerId, auto_register: bool) -> Result<Result<(), Denied>> {
        self.as_server(id, auto_register, |_, _, _, _| Ok(())).await
    }

    /// `/api/set/service/status`: records each state and raises the alerts of OverC's
    /// rules (state change; back online after a missed period).
    pub async fn push_states(
        &self,
        id: ServerId,
        auto_register: bool,
        reports: Vec<ServiceReport>,
    ) -> Result<Result<(), Denied>> {
        self.as_server(id, auto_register, move |c, id, server, now| {
            for r in &reports {
                let at = r.time.unwrap_or(now);
                let (sid, previous, offline) = service(c, server, &r.name, r.period, at)?;
                c.prepare_cached(
                    "UPDATE services SET state = ?, info = ?, period = ?, \
                     last_report = max(last_report, ?), timed_out = 0 WHERE id = ?",
                )?
                .execute(params![r.state, r.info, r.period, at, sid])?;
                c.prepare_cached(
                    "INSERT INTO service_states (service_id, time, state, info) VALUES (?, ?, ?, ?)",
                )?
                .execute(params![sid, at, r.state, r.info])?;
                let raise = |channel: &str, event: &str, message: &str, prev: &str| {
                    insert_alert(
                        c,
                        &NewAlert {
                            kind: "service",
                            target_id: None,
                            service_id: Some(sid),
                            target: "",
                            server: &id.name,
                            service: &r.name,
                            channel,
                            event,
                            message,
                            state: r.state,
                            previous: prev,
                            description: "",
                            details: &r.info,
                            time: at,
                            exclude_notifier: None,
                        },
                        now,
                    )
                };
                if offline {
                    raise("plugin", "online", "Monitoring plugin back online", r.state)?;
                }
                let before = previous.as_deref().unwrap_or("OK");
                if before != r.state {
                    let shown = previous.as_deref().unwrap_or("(?)");
                    let message = format!("State changed: \"{shown}\" -> \"{}\"", r.state);
                    raise("service:state", r.state, &message, before)?;
                }
            }
            Ok(())
        })
        .await
    }

    /// `/api/set/alerts`: one `api/alert` alert per entry.
    pub async fn push_alerts(
        &self,
        id: ServerId,
        auto_register: bool,
        alerts: Vec<AlertReport>,
    ) -> Result<Result<(), Denied>> {
        self.as_server(id, auto_register, move |c, id, server, now| {
            for a in &alerts {
                // The service's state and info as they are now, for the `Current:` line;
                // a service first named by this alert has none.
                let (sid, state, info) = match &a.service {
                    Some(name) => {
                        let (sid, prev, _) = service(c, server, name, 60, now)?;
                        let info: String = match prev {
                            Some(_) => c
                                .prepare_cached("SELECT info FROM services WHERE id = ?")?
                                .query_row([sid], |r| r.get(0))?,
                            None => String::new(),
                        };
                        (Some(sid), prev.unwrap_or_default(), info)
                    }
                    None => (None, String::new(), String::new()),
                };
                insert_alert(
                    c,
                    &NewAlert {
                        kind: "api",
                        target_id: None,
                        service_id: sid,
                        target: "",
                        server: &id.name,
                        service: a.service.as_deref().unwrap_or(""),
                        channel: "api",
                        event: "alert",
                        message: &a.message,
                        state: &state,
                        previous: "",
                        description: "",
                        details: &info,
                        time: now,
                        exclude_notifier: None,
                    },
                    now,
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Marks services that missed their period as offline, each with a
    /// `plugin/offline` alert, in one transaction; returns (server, service) names.
    pub async fn mark_offline(&self, now: i64) -> Result<Vec<(String, String)>> {
        self.write(move |c| {
            let late: Vec<(i64, String, String, String, String)> = c
                .prepare_cached(
                    "SELECT s.id, sv.name, s.name, s.state, s.info FROM services s \
                     JOIN servers sv ON sv.id = s.server_id \
                     WHERE s.timed_out = 0 AND s.last_report + s.period * 1000 < ?",
                )?
                .query_map([now], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (id, server, service, state, info) in &late {
                c.prepare_cached("UPDATE services SET timed_out = 1 WHERE id = ?")?
                    .execute([id])?;
                insert_alert(
                    c,
                    &NewAlert {
                        kind: "service",
                        target_id: None,
                        service_id: Some(*id),
                        target: "",
                        server,
                        service,
                        channel: "plugin",
                        event: "offline",
                        message: "Monitoring plugin offline",
                        state,
                        previous: state,
                        description: "",
                        details: info,
                        time: now,
                        exclude_notifier: None,
                    },
                    now,
                )?;
            }
            Ok(late.into_iter().map(|l| (l.1, l.2)).collect())
        })
        .await
    }

    /// Servers, all or the one named.
    pub async fn servers(&self, name: Option<String>) -> Result<Vec<ServerInfo>> {
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT sv.id, sv.name, sv.origin, sv.created, count(s.id), max(s.last_report) \
                 FROM servers sv LEFT JOIN services s ON s.server_id = sv.id \
                 WHERE ?1 IS NULL OR sv.name = ?1 GROUP BY sv.id ORDER BY sv.name",
            )?;
            let rows = s
                .query_map([&name], |r| {
                    Ok(ServerInfo {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        origin: r.get(2)?,
                        created: super::targets::format_time(r.get(3)?),
                        services: r.get(4)?,
                        last_report: r
                            .get::<_, Option<i64>>(5)?
                            .map(super::targets::format_time)
                            .unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if let (Some(n), true) = (&name, rows.is_empty()) {
                return Err(super::StoreError::NotFound(format!(
                    "server {n:?} does not exist"
                )));
            }
            Ok(rows)
        })
        .await
    }

    /// Registers a server with a new random key, which is returned (and never stored).
    pub async fn add_server(&self, name: String) -> Result<String> {
        self.write(move |c| {
            use ring::rand::SecureRandom;
            let n = name.chars().count();
            if n == 0 || n > crate::push::api::MAX_NAME {
                return Err(super::StoreError::Invalid(format!(
                    "a server name is 1 to {} characters",
                    crate::push::api::MAX_NAME
                )));
            }
            let exists: bool = c
                .query_row("SELECT 1 FROM servers WHERE name = ?", [&name], |_| Ok(true))
                .optional()?
                .unwrap_or(false);
            if exists {
                return Err(super::StoreError::Invalid(format!("server {name:?} already exists")));
            }
            let mut raw = [0u8; 18];
            ring::rand::SystemRandom::new()
                .fill(&mut raw)
                .map_err(|_| super::StoreError::Invalid("no randomness available for a key".into()))?;
            let key = hex(&raw);
            let salt = new_salt()?;
            c.execute(
                "INSERT INTO servers (name, key_salt, key_hash, origin, created) VALUES (?, ?, ?, 'cli', ?)",
                params![name, salt, key_hash(&salt, &Secret::new(key.clone())), now_ms()],
            )?;
            Ok(key)
        })
        .await
    }

    /// Removes a server with its services and their history.
    pub async fn remove_server(&self, name: String) -> Result<()> {
        self.write(
            move |c| match c.execute("DELETE FROM servers WHERE name = ?", [&name])? {
                0 => Err(super::StoreError::NotFound(format!(
                    "server {name:?} does not exist"
                ))),
                _ => Ok(()),
            },
        )
        .await
    }

    /// Deletes report history older than `before_ms`, service by service (through the
    /// `(service_id, time)` index) in slices; returns the number of rows deleted.
    pub async fn prune_service_states(&self, before_ms: i64) -> Result<usize> {
        self.delete_in_slices(
            "DELETE FROM service_states WHERE id IN (SELECT ss.id FROM services s \
             JOIN service_states ss ON ss.service_id = s.id AND ss.time < ?1 LIMIT ?2)",
            before_ms,
        )
        .await
    }

    /// Services, of every server or of one.
    pub async fn services(&self, server: Option<String>) -> Result<Vec<ServiceInfo>> {
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT s.id, sv.name, s.name, s.state, s.info, s.period, s.last_report, s.timed_out \
                 FROM services s JOIN servers sv ON sv.id = s.server_id \
                 WHERE ?1 IS NULL OR sv.name = ?1 ORDER BY sv.name, s.name",
            )?;
            let rows = s
                .query_map([&server], |r| {
                    Ok(ServiceInfo {
                        id: r.get(0)?,
                        server: r.get(1)?,
                        name: r.get(2)?,
                        state: r.get(3)?,
                        info: r.get(4)?,
                        period: r.get(5)?,
                        last_report: super::targets::format_time(r.get(6)?),
                        timed_out: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// A service's states, newest first; `None` when there is no such service.
    pub async fn service_history(
        &self,
        id: i64,
        limit: u32,
    ) -> Result<Option<Vec<(i64, String, String)>>> {
        self.read(move |c| {
            let exists = c
                .query_row("SELECT 1 FROM services WHERE id = ?", [id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Ok(None);
            }
            let mut s = c.prepare_cached(
                "SELECT time, state, info FROM service_states WHERE service_id = ? \
                 ORDER BY time DESC, id DESC LIMIT ?",
            )?;
            let rows = s
                .query_map(params![id, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Some(rows))
        })
        .await
    }

    /// Alerts, newest first.
    pub async fn alerts(&self, since_ms: Option<i64>, limit: u32) -> Result<Vec<AlertInfo>> {
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT id, time, server, service, target, channel, event, message FROM alerts \
                 WHERE time >= ?1 ORDER BY time DESC, id DESC LIMIT ?2",
            )?;
            let rows = s
                .query_map(params![since_ms.unwrap_or(i64::MIN), limit], |r| {
                    Ok(AlertInfo {
                        id: r.get(0)?,
                        time: super::targets::format_time(r.get(1)?),
                        server: r.get(2)?,
                        service: r.get(3)?,
                        target: r.get(4)?,
                        channel: r.get(5)?,
                        event: r.get(6)?,
                        message: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

/// A server as `skypunchctl servers` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `auto` (first report) or `cli` (`servers add`).
    pub origin: String,
    /// When it was registered.
    pub created: String,
    /// How many services it reports.
    pub services: i64,
    /// Its latest report, empty if none.
    pub last_report: String,
}

/// A service as `skypunchctl services` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Row id.
    pub id: i64,
    /// Its server.
    pub server: String,
    /// Name.
    pub name: String,
    /// OK, WARN, FAIL or UNK.
    pub state: String,
    /// The last info.
    pub info: String,
    /// Seconds within which it promised to report.
    pub period: i64,
    /// Its latest report.
    pub last_report: String,
    /// It missed its period.
    pub timed_out: bool,
}

/// An alert as `skypunchctl alerts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInfo {
    /// Row id.
    pub id: i64,
    /// When.
    pub time: String,
    /// Server (pushed alerts).
    pub server: String,
    /// Service (pushed alerts).
    pub service: String,
    /// Target (check alerts).
    pub target: String,
    /// `target`, `service:state`, `plugin`, `api`.
    pub channel: String,
    /// `FAILURE`, `RECOVERY`, the new state, `offline`, `online`, `alert`.
    pub event: String,
    /// The message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[test]
    fn a_cached_key_holds_only_while_the_stored_hash_is_unchanged() {
        let key = Secret::new("s3cret");
        assert!(!cached_key_matches("web1", "h1", &key));
        remember_key("web1", "h1", &key);
        assert!(cached_key_matches("web1", "h1", &key));
        assert!(!cached_key_matches("web1", "h1", &Secret::new("other")));
        assert!(!cached_key_matches("web1", "h2", &key), "re-keyed by hand");
        assert!(!cached_key_matches("web2", "h1", &key));
    }
}
