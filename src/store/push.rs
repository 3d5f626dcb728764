//! Pushed reports: servers, their keys, services, states and the alerts they raise.
//!
//! A server's key is stored as a salted SHA-256 and compared in constant time. Every
//! operation identifies the server inside the same transaction that records the
//! report, so a registration and its first report are committed together.

use super::alerts::{insert_alert, NewAlert};
use super::{Result, Store, Tx};
use crate::domain::report::{AlertReport, ServerId, ServiceReport};
use crate::domain::time::now_ms;
use crate::secret::Secret;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
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
struct Service {
    id: i64,
    state: &'static str,
    info: String,
    period: i64,
    timed_out: bool,
}

/// `[push] max_alerts_per_minute` until the configuration says otherwise.
pub(super) const DEFAULT_ALERT_LIMIT: u32 = 600;
/// The window of `max_alerts_per_minute`.
const FLOOD_WINDOW_MS: i64 = 60_000;

/// Creates the writer connection's per-server alert counters. A temporary table lives
/// only on that connection and in memory, and takes part in the writer's
/// transactions: a job that is rolled back (or run again) undoes its counting too.
pub(super) fn prepare_flood_gate(c: &Connection) -> rusqlite::Result<()> {
    c.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS alert_budget (
             server_id INTEGER PRIMARY KEY,
             server    TEXT    NOT NULL,
             since     INTEGER NOT NULL,
             raised    INTEGER NOT NULL,
             dropped   INTEGER NOT NULL
         )",
    )
}

/// Whether `server` may raise one more alert at `now` under `limit` a minute; counts
/// it either way. A window that has ended with alerts dropped is first closed with
/// its `api/flood` alert.
fn admit_alert(c: &Tx, server_id: i64, server: &str, now: i64, limit: u32) -> Result<bool> {
    if limit == 0 {
        return Ok(true);
    }
    let window: Option<(i64, i64)> = c
        .prepare_cached("SELECT since, raised FROM alert_budget WHERE server_id = ?")?
        .query_row([server_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match window {
        Some((since, raised)) if now - since < FLOOD_WINDOW_MS => {
            let admitted = raised < i64::from(limit);
            c.prepare_cached(
                "UPDATE alert_budget SET raised = raised + ?, dropped = dropped + ? WHERE server_id = ?",
            )?
            .execute(params![i64::from(admitted), i64::from(!admitted), server_id])?;
            Ok(admitted)
        }
        ended => {
            if ended.is_some() {
                close_flood_windows(c, Some(server_id), now, limit)?;
            }
            c.prepare_cached(
                "INSERT OR REPLACE INTO alert_budget (server_id, server, since, raised, dropped)                  VALUES (?, ?, ?, 1, 0)",
            )?
            .execute(params![server_id, server, now])?;
            Ok(true)
        }
    }
}

/// Ends the windows (of one server, or all) that are over: one `api/flood` alert for
/// each that dropped alerts, saying how many.
fn close_flood_windows(c: &Tx, server_id: Option<i64>, now: i64, limit: u32) -> Result<()> {
    let over: Vec<(i64, String, i64)> = c
        .prepare_cached(
            "SELECT server_id, server, dropped FROM alert_budget              WHERE since <= ?1 AND (?2 IS NULL OR server_id = ?2)",
        )?
        .query_map(params![now - FLOOD_WINDOW_MS, server_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, server, dropped) in over {
        c.prepare_cached("DELETE FROM alert_budget WHERE server_id = ?")?
            .execute([id])?;
        if dropped == 0 {
            continue;
        }
        log::warn!("{server}: {dropped} alerts dropped (more than {limit} in a minute)");
        let message = format!(
            "Alert flood: {dropped} alerts dropped (more than max_alerts_per_minute = {limit} in a minute)"
        );
        insert_alert(
            c,
            &NewAlert {
                kind: "api",
                target_id: None,
                service_id: None,
                target: "",
                server: &server,
                service: "",
                channel: "api",
                event: "flood",
                message: &message,
                state: "",
                previous: "",
                description: "",
                details: "",
                time: now,
                exclude_notifier: None,
            },
            now,
        )?;
    }
    Ok(())
}

/// Entries kept before the cache starts over.
const KNOWN_MAX: usize = 100_000;

impl Known {
    /// The id of server `name` if `key` is the one verified for it.
    fn server(&self, name: &str, key: &Secret) -> Option<i64> {
        self.servers
            .get(name)
            .filter(|(_, known)| bool::from(known.as_slice().ct_eq(key.expose().as_bytes())))
            .map(|(id, _)| *id)
    }

    fn remember_server(&mut self, name: &str, id: i64, key: &Secret) {
        if self.servers.len() >= KNOWN_MAX {
            self.servers.clear();
        }
        self.servers
            .insert(name.to_string(), (id, key.expose().as_bytes().to_vec()));
    }

    fn remember_service(&mut self, server: i64, name: &str, service: Service) {
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

    fn service(&self, server: i64, name: &str) -> Option<Service> {
        self.services
            .get(&server)
            .and_then(|s| s.get(name))
            .cloned()
    }
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
fn identify(c: &Tx, id: &ServerId, auto_register: bool, now: i64) -> Result<Result<i64, Denied>> {
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

/// The service's row, creating it (as previously `OK`, per OverC) when new, and its
/// state as stored (`None` for a new one).
fn service(
    c: &Tx,
    server: i64,
    name: &str,
    period: i64,
    now: i64,
) -> Result<(Service, Option<Cow<'static, str>>)> {
    if let Some(found) = find_service(c, server, name)? {
        return Ok(found);
    }
    c.prepare_cached(
        "INSERT INTO services (server_id, name, state, period, last_report) VALUES (?, ?, 'OK', ?, ?)",
    )?
    .execute(params![server, name, period, now])?;
    let row = Service {
        id: c.last_insert_rowid(),
        state: "OK",
        info: String::new(),
        period,
        timed_out: false,
    };
    c.known().remember_service(server, name, row.clone());
    Ok((row, None))
}

/// A service of `server` that has reported, with its stored state; `None` for one that
/// never did.
fn find_service(
    c: &Tx,
    server: i64,
    name: &str,
) -> Result<Option<(Service, Option<Cow<'static, str>>)>> {
    let known = c.known().service(server, name);
    if let Some(known) = known {
        let state = known.state;
        return Ok(Some((known, Some(Cow::Borrowed(state)))));
    }
    let row: Option<(i64, String, String, i64, bool)> = c
        .prepare_cached(
            "SELECT id, state, info, period, timed_out FROM services WHERE server_id = ? AND name = ?",
        )?
        .query_row(params![server, name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    if let Some((id, stored, info, period, timed_out)) = row {
        let state = crate::domain::report::state(&stored);
        let row = Service {
            id,
            // A state set by hand to something else matches no report.
            state: state.unwrap_or(""),
            info,
            period,
            timed_out,
        };
        if let Some(state) = state {
            c.known().remember_service(server, name, row.clone());
            return Ok(Some((row, Some(Cow::Borrowed(state)))));
        }
        return Ok(Some((row, Some(Cow::Owned(stored)))));
    }
    Ok(None)
}

/// Moves `service_reports` into `service_states` (see the schema), service by service
/// so each service's page of the index is written once, and brings each service's
/// `last_report` up to its newest report. Reports of a service that no longer exists
/// (only rows written by hand can be) are dropped.
pub(super) fn file_reports(c: &Connection) -> Result<usize> {
    c.prepare_cached(
        "UPDATE services SET last_report = r.time          FROM (SELECT service_id, max(time) AS time FROM service_reports GROUP BY service_id) AS r          WHERE services.id = r.service_id AND services.last_report < r.time",
    )?
    .execute([])?;
    let filed = match c
        .prepare_cached(
            "INSERT INTO service_states (service_id, time, state, info)              SELECT service_id, time, state, info FROM service_reports ORDER BY service_id, id",
        )?
        .execute([])
    {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            c.prepare_cached(
                "INSERT INTO service_states (service_id, time, state, info)                  SELECT service_id, time, state, info FROM service_reports                  WHERE service_id IN (SELECT id FROM services) ORDER BY service_id, id",
            )?
            .execute([])?
        }
        other => other?,
    };
    c.prepare_cached("DELETE FROM service_reports")?
        .execute([])?;
    Ok(filed)
}

impl Store {
    /// Runs `record` for an identified server (registering it if allowed) in one write
    /// job; a refused server gets `Denied` and nothing is written. The job may be run
    /// again (see [`Store::write_again`]): it only writes rows and updates what the
    /// writer knows, which is forgotten when a job is undone.
    async fn as_server<F>(
        &self,
        id: ServerId,
        auto_register: bool,
        record: F,
    ) -> Result<Result<(), Denied>>
    where
        F: Fn(&Tx, &ServerId, i64, i64) -> Result<()> + Send + 'static,
    {
        self.write_again(move |c| {
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
        let limit = self.max_alerts_per_minute();
        self.as_server(id, auto_register, move |c, id, server, now| {
            for r in &reports {
                let at = r.time.unwrap_or(now);
                let (row, previous) = service(c, server, &r.name, r.period, at)?;
                let (sid, offline) = (row.id, row.timed_out);
                // A report replayed from an agent's spool, measured so long ago that it
                // was overdue already, goes into the history but does not bring an
                // offline service back (it would flip online, then offline again).
                let overdue = at.saturating_add(r.period.saturating_mul(1000)) < now;
                let still_offline = offline && overdue;
                // A report that changes nothing but the time leaves the row alone: the
                // filing brings `last_report` up to date (within a second).
                let unchanged = previous.is_some()
                    && row.state == r.state
                    && row.info == r.info
                    && row.period == r.period
                    && !row.timed_out;
                if !unchanged {
                    c.prepare_cached(
                        "UPDATE services SET state = ?, info = ?, period = ?, \
                         last_report = max(last_report, ?), timed_out = ? WHERE id = ?",
                    )?
                    .execute(params![r.state, r.info, r.period, at, still_offline, sid])?;
                    c.known().remember_service(
                        server,
                        &r.name,
                        Service {
                            id: sid,
                            state: r.state,
                            info: r.info.clone(),
                            period: r.period,
                            timed_out: still_offline,
                        },
                    );
                }
                c.prepare_cached(
                    "INSERT INTO service_reports (service_id, time, state, info) VALUES (?, ?, ?, ?)",
                )?
                .execute(params![sid, at, r.state, r.info])?;
                let raise = |channel: &str, event: &str, message: &str, prev: &str| {
                    if !admit_alert(c, server, &id.name, now, limit)? {
                        return Ok(());
                    }
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
                    .map(drop)
                };
                if offline && !still_offline {
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
        let limit = self.max_alerts_per_minute();
        self.as_server(id, auto_register, move |c, id, server, now| {
            for a in &alerts {
                if !admit_alert(c, server, &id.name, now, limit)? {
                    continue;
                }
                // The service's state and info as they are now, for the `Current:` line.
                // A service that never reported has none, and an alert does not create
                // it (it would go offline a minute later with nothing ever promised).
                let found = match &a.service {
                    Some(name) => find_service(c, server, name)?,
                    None => None,
                };
                let (sid, state, info) = match found {
                    Some((row, prev)) => (
                        Some(row.id),
                        prev.map(Cow::into_owned).unwrap_or_default(),
                        row.info,
                    ),
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

    /// Files the reports received, then marks services that missed their period as
    /// offline, each with a `plugin/offline` alert, in one transaction; returns
    /// (server, service) names.
    pub async fn mark_offline(&self, now: i64) -> Result<Vec<(String, String)>> {
        let limit = self.max_alerts_per_minute();
        self.write(move |c| {
            // A report not yet filed has not yet moved its service's `last_report`.
            file_reports(c)?;
            close_flood_windows(c, None, now, limit)?;
            let late: Vec<(i64, i64, String, String, String, String)> = c
                .prepare_cached(
                    "SELECT s.id, sv.id, sv.name, s.name, s.state, s.info FROM services s \
                     JOIN servers sv ON sv.id = s.server_id \
                     WHERE s.timed_out = 0 AND s.last_report + s.period * 1000 < ?",
                )?
                .query_map([now], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            if !late.is_empty() {
                c.forget();
            }
            for (id, server_id, server, service, state, info) in &late {
                c.prepare_cached("UPDATE services SET timed_out = 1 WHERE id = ?")?
                    .execute([id])?;
                if !admit_alert(c, *server_id, server, now, limit)? {
                    continue;
                }
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
            Ok(late.into_iter().map(|l| (l.2, l.3)).collect())
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
                        created: crate::domain::time::format_ms(r.get(3)?),
                        services: r.get(4)?,
                        last_report: r
                            .get::<_, Option<i64>>(5)?
                            .map(crate::domain::time::format_ms)
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
            if n == 0 || n > crate::domain::report::MAX_NAME {
                return Err(super::StoreError::Invalid(format!(
                    "a server name is 1 to {} characters",
                    crate::domain::report::MAX_NAME
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
            c.forget();
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

    /// Files the reports received since the last filing into `service_states`, in
    /// arrival order; returns how many.
    pub async fn file_reports(&self) -> Result<usize> {
        self.write(|c| file_reports(c)).await
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

    /// Deletes what pushing hosts left behind before `before_ms`: services offline
    /// since then, of servers that registered themselves, and such servers left with
    /// no service (a server added with `skypunchctl servers add` and its services stay
    /// until removed). Returns the services and servers deleted.
    pub async fn prune_abandoned(&self, before_ms: i64) -> Result<(usize, usize)> {
        let services = self
            .delete_in_slices(
                "DELETE FROM services WHERE id IN (SELECT s.id FROM services s \
                 JOIN servers sv ON sv.id = s.server_id AND sv.origin = 'auto' \
                 WHERE s.timed_out = 1 AND s.last_report < ?1 LIMIT ?2)",
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
                        last_report: crate::domain::time::format_ms(r.get(6)?),
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
            // Filed rows through their index; the few not yet filed by a scan.
            let mut s = c.prepare_cached(
                "SELECT time, state, info FROM ( \
                   SELECT time, state, info, 0 AS filed, id FROM service_reports WHERE service_id = ?1 \
                   UNION ALL \
                   SELECT * FROM (SELECT time, state, info, 1 AS filed, id FROM service_states \
                     WHERE service_id = ?1 ORDER BY time DESC, id DESC LIMIT ?2)) \
                 ORDER BY time DESC, filed, id DESC LIMIT ?2",
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
                        time: crate::domain::time::format_ms(r.get(1)?),
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

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("t.db"),
            crate::config::DatabaseSync::Normal,
        )
        .unwrap();
        (dir, store)
    }

    fn report(name: &str, state: &'static str) -> Vec<ServiceReport> {
        vec![ServiceReport {
            name: name.into(),
            state,
            info: String::new(),
            period: 60,
            time: None,
        }]
    }

    #[tokio::test]
    async fn rows_changed_by_hand_are_not_hidden_by_what_the_writer_knows() {
        let (dir, store) = temp_store();
        let path = dir.path().join("t.db");
        let web1 = || ServerId {
            name: "web1".into(),
            key: Secret::new("k"),
        };
        let push = |state| store.push_states(web1(), true, report("disk", state));
        assert_eq!(push("OK").await.unwrap(), Ok(()));
        // By hand, from another connection: the server goes, with its services.
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch("PRAGMA foreign_keys = ON; DELETE FROM servers;")
            .unwrap();
        assert_eq!(push("FAIL").await.unwrap(), Ok(()), "registered again");
        let (servers, state): (i64, String) = other
            .query_row(
                "SELECT (SELECT count(*) FROM servers), (SELECT state FROM services WHERE name = 'disk')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((servers, state.as_str()), (1, "FAIL"));
        let states: i64 = other
            .query_row("SELECT count(*) FROM service_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(states, 1, "the first report went with its server");
        // A state set by hand is the one a report is compared with.
        other
            .execute_batch("UPDATE services SET state = 'WARN'")
            .unwrap();
        assert_eq!(push("FAIL").await.unwrap(), Ok(()));
        let message: String = other
            .query_row(
                "SELECT message FROM alerts ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(message, "State changed: \"WARN\" -> \"FAIL\"");
        store.close().await;
    }

    #[tokio::test]
    async fn reports_are_history_before_and_after_filing() {
        let (dir, store) = temp_store();
        let id = || ServerId {
            name: "web1".into(),
            key: Secret::new("k"),
        };
        for state in ["OK", "WARN", "FAIL"] {
            store
                .push_states(id(), true, report("disk", state))
                .await
                .unwrap()
                .unwrap();
        }
        let sid = store.services(None).await.unwrap()[0].id;
        let states = |h: Vec<(i64, String, String)>| h.into_iter().map(|r| r.1).collect::<Vec<_>>();
        let before = states(store.service_history(sid, 10).await.unwrap().unwrap());
        assert_eq!(before, ["FAIL", "WARN", "OK"]);
        assert_eq!(store.file_reports().await.unwrap(), 3);
        assert_eq!(store.file_reports().await.unwrap(), 0);
        store
            .push_states(id(), true, report("disk", "OK"))
            .await
            .unwrap()
            .unwrap();
        let after = states(store.service_history(sid, 10).await.unwrap().unwrap());
        assert_eq!(after, ["OK", "FAIL", "WARN", "OK"]);
        assert_eq!(
            states(store.service_history(sid, 2).await.unwrap().unwrap()),
            ["OK", "FAIL"]
        );
        // A report written by hand for no service does not hold up the others.
        store
            .push_states(id(), true, report("disk", "WARN"))
            .await
            .unwrap()
            .unwrap();
        rusqlite::Connection::open(dir.path().join("t.db"))
            .unwrap()
            .execute_batch(
                "INSERT INTO service_reports (service_id, time, state, info) VALUES (999, 0, 'OK', '')",
            )
            .unwrap();
        // Filed: the OK above and this WARN.
        assert_eq!(store.file_reports().await.unwrap(), 2);
        assert_eq!(
            states(store.service_history(sid, 1).await.unwrap().unwrap()),
            ["WARN"]
        );
        // Reports of a service removed before they are filed are dropped with it.
        store
            .push_states(id(), true, report("disk", "OK"))
            .await
            .unwrap()
            .unwrap();
        store.remove_server("web1".into()).await.unwrap();
        assert_eq!(store.file_reports().await.unwrap(), 0);
        store.close().await;
    }

    #[tokio::test]
    async fn a_report_that_changes_only_the_time_reaches_last_report_by_the_filing() {
        let (_dir, store) = temp_store();
        let now = now_ms();
        let push = |info: &str, ago_s: i64| {
            let report = ServiceReport {
                name: "disk".into(),
                state: "OK",
                info: info.into(),
                period: 60,
                time: Some(now - ago_s * 1000),
            };
            let id = ServerId {
                name: "web1".into(),
                key: Secret::new("k"),
            };
            store.push_states(id, true, vec![report])
        };
        let row = || {
            store.read(|c| {
                Ok(
                    c.query_row("SELECT info, last_report FROM services", [], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                    })?,
                )
            })
        };
        push("fine", 100).await.unwrap().unwrap();
        push("fine", 10).await.unwrap().unwrap();
        assert_eq!(row().await.unwrap(), ("fine".into(), now - 100_000));
        // The check for missed periods files first: 100 s ago is late, 10 s is not.
        assert!(store.mark_offline(now).await.unwrap().is_empty());
        assert_eq!(row().await.unwrap(), ("fine".into(), now - 10_000));
        // A new info is written at once.
        push("slow", 5).await.unwrap().unwrap();
        assert_eq!(row().await.unwrap(), ("slow".into(), now - 5_000));
        // Silent for longer than its period: offline.
        assert_eq!(
            store.mark_offline(now + 70_000).await.unwrap(),
            [("web1".to_string(), "disk".to_string())]
        );
        store.close().await;
    }

    #[tokio::test]
    async fn replayed_old_reports_do_not_bring_an_offline_service_back() {
        let (_dir, store) = temp_store();
        let now = now_ms();
        let push = |state: &'static str, ago_s: i64| {
            let report = ServiceReport {
                name: "disk".into(),
                state,
                info: String::new(),
                period: 60,
                time: Some(now - ago_s * 1000),
            };
            let id = ServerId {
                name: "web1".into(),
                key: Secret::new("k"),
            };
            store.push_states(id, true, vec![report])
        };
        let events = || {
            store.read(|c| {
                let mut s =
                    c.prepare("SELECT event FROM alerts WHERE channel = 'plugin' ORDER BY id")?;
                let rows = s.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        };
        push("OK", 300).await.unwrap().unwrap();
        assert_eq!(store.mark_offline(now).await.unwrap().len(), 1);
        // The agent's spool replays what it measured during the outage: history, and
        // a state change is still one, but the service stays offline.
        push("OK", 200).await.unwrap().unwrap();
        push("FAIL", 150).await.unwrap().unwrap();
        assert!(store.mark_offline(now).await.unwrap().is_empty());
        assert_eq!(events().await.unwrap(), ["offline"]);
        // A report measured now brings it back, once.
        push("FAIL", 0).await.unwrap().unwrap();
        assert!(store.mark_offline(now).await.unwrap().is_empty());
        assert_eq!(events().await.unwrap(), ["offline", "online"]);
        store.close().await;
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
