//! Servers that push: registration, keys, listing, removal.
//!
//! A server's key is stored as a salted SHA-256 and compared in constant time. Every
//! report identifies its server inside the transaction that records it, so a
//! registration and its first report are committed together.

use super::{Result, Store, Tx};
use crate::domain::report::ServerId;
use crate::domain::time::now_ms;
use crate::secret::Secret;
use rusqlite::{params, OptionalExtension};
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
pub(super) fn identify(
    c: &Tx,
    id: &ServerId,
    auto_register: bool,
    now: i64,
) -> Result<Result<i64, Denied>> {
    if let Some(server) = c.known().server(&id.name, &id.key) {
        return Ok(Ok(server));
    }
    let row: Option<(i64, String, String)> = c
        .prepare_cached("SELECT id, key_salt, key_hash FROM servers WHERE name = ?")?
        .query_row([&id.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((server, salt, hash)) => {
            let given = key_hash(&salt, &id.key);
            if bool::from(given.as_bytes().ct_eq(hash.as_bytes())) {
                c.known().remember_server(&id.name, server, &id.key);
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

/// Registers server `name` (refused when it exists or its name is too long or empty)
/// with a new random key, which is returned (and never stored).
pub(super) fn create_server(c: &super::Tx, name: &str) -> Result<String> {
    use ring::rand::SecureRandom;
    let n = name.chars().count();
    if n == 0 || n > crate::domain::report::MAX_NAME {
        return Err(super::StoreError::Invalid(format!(
            "a server name is 1 to {} characters",
            crate::domain::report::MAX_NAME
        )));
    }
    let exists: bool = c
        .query_row("SELECT 1 FROM servers WHERE name = ?", [name], |_| Ok(true))
        .optional()?
        .unwrap_or(false);
    if exists {
        return Err(super::StoreError::Invalid(format!(
            "server {name:?} already exists"
        )));
    }
    let mut raw = [0u8; 18];
    ring::rand::SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| super::StoreError::Invalid("no randomness available for a key".into()))?;
    let key = hex(&raw);
    let salt = new_salt()?;
    c.forget();
    c.execute(
        "INSERT INTO servers (name, key_salt, key_hash, origin, created) VALUES (?, ?, ?, 'cli', ?)",
        params![name, salt, key_hash(&salt, &Secret::new(key.clone())), now_ms()],
    )?;
    Ok(key)
}

impl Store {
    /// Servers, all or the one named.
    pub async fn servers(&self, name: Option<String>) -> Result<Vec<ServerInfo>> {
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT sv.id, sv.name, sv.origin, sv.created, count(s.id), max(s.last_report), \
                 coalesce(sv.ping_key, '') FROM servers sv LEFT JOIN services s ON s.server_id = sv.id \
                 WHERE ?1 IS NULL OR sv.name = ?1 GROUP BY sv.id ORDER BY sv.name",
            )?;
            let rows = s
                .query_map([&name], |r| {
                    Ok(ServerInfo {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        origin: r.get(2)?,
                        created: crate::domain::time::format_ms(r.get(3)?),
                        services: r.get(4)?,
                        last_report: r
                            .get::<_, Option<i64>>(5)?
                            .map(crate::domain::time::format_ms)
                            .unwrap_or_default(),
                        ping_key: r.get(6)?,
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
        self.write(move |c| create_server(c, &name)).await
    }

    /// Removes a server with its services and their history.
    pub async fn remove_server(&self, name: String) -> Result<()> {
        self.write(move |c| {
            c.forget();
            match c.execute("DELETE FROM servers WHERE name = ?", [&name])? {
                0 => Err(super::StoreError::NotFound(format!(
                    "server {name:?} does not exist"
                ))),
                _ => Ok(()),
            }
        })
        .await
    }

    /// Deletes what pushing hosts left behind before `before_ms`: services offline
    /// since then, of servers that registered themselves, and such servers left with
    /// no service (a server added with `skypunchctl servers add` and its services stay
    /// until removed). Returns the services and servers deleted.
    pub async fn prune_abandoned(&self, before_ms: i64) -> Result<(usize, usize)> {
        let services = self
            .delete_in_slices(
                "DELETE FROM services WHERE id IN (SELECT s.id FROM services s \
                 JOIN servers sv ON sv.id = s.server_id AND sv.origin = 'auto' \
                 WHERE s.timed_out = 1 AND s.last_report < ?1 \
                 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.service_id = s.id) LIMIT ?2)",
                before_ms,
            )
            .await?;
        let servers = self
            .delete_in_slices(
                "DELETE FROM servers WHERE id IN (SELECT sv.id FROM servers sv \
                 WHERE sv.origin = 'auto' AND sv.created < ?1 \
                 AND NOT EXISTS (SELECT 1 FROM services s WHERE s.server_id = sv.id) LIMIT ?2)",
                before_ms,
            )
            .await?;
        if services + servers > 0 {
            // What the writer remembers of them is gone with them.
            self.write(|c| {
                c.forget();
                Ok(())
            })
            .await?;
        }
        Ok((services, servers))
    }
}

/// A server as `skypunchctl servers` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// `auto` (first report) or `cli` (`servers add`).
    pub origin: String,
    /// When it was registered.
    pub created: String,
    /// How many services it reports.
    pub services: i64,
    /// Its latest report, empty if none.
    pub last_report: String,
    /// The key of its jobs' slug ping URLs (`/ping/<ping_key>/<job>`).
    pub ping_key: String,
}

#[cfg(test)]
mod tests {
    use super::super::temp_store;
    use super::*;

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[tokio::test]
    async fn old_alerts_and_abandoned_self_registered_servers_are_pruned() {
        let (_dir, store) = temp_store();
        store
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO servers (id, name, key_salt, key_hash, origin, created) VALUES
                         (1, 'gone', 's', 'h', 'auto', 0), (2, 'kept', 's', 'h', 'cli', 0),
                         (3, 'alive', 's', 'h', 'auto', 0), (4, 'empty', 's', 'h', 'auto', 0);
                     INSERT INTO services (id, server_id, name, period, last_report, timed_out) VALUES
                         (1, 1, 'old', 60, 1000, 1), (2, 2, 'old', 60, 1000, 1),
                         (3, 3, 'old', 60, 1000, 1), (4, 3, 'new', 60, 9000, 0);
                     INSERT INTO notifiers (id, name) VALUES (1, 'n');
                     INSERT INTO alerts (id, time, kind, channel, event, message, service_id) VALUES
                         (1, 1000, 'service', 'c', 'e', 'old', 1), (2, 9000, 'service', 'c', 'e', 'new', 4);
                     INSERT INTO deliveries (alert_id, notifier_id, next_attempt, created) VALUES
                         (1, 1, 0, 0), (2, 1, 0, 0);",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.prune_alerts(5000).await.unwrap(), 1);
        assert_eq!(store.prune_abandoned(5000).await.unwrap(), (2, 2));
        let left: (String, String, i64) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT group_concat(name) FROM (SELECT name FROM servers ORDER BY id)), \
                            (SELECT group_concat(id) FROM (SELECT id FROM services ORDER BY id)), \
                            (SELECT count(*) FROM deliveries)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(left, ("kept,alive".to_string(), "2,4".to_string(), 1));
        store.close().await;
    }
}
