//! Pushed reports: services, their states and the alerts they raise (OverC's rules).

use super::alerts::{insert_alert, NewAlert};
use super::filing::{file_offline, file_reports};
use super::flood::{admit_alert, close_flood_windows};
use super::known::Service;
use super::servers::{identify, Denied};
use super::service_rules::{judge_report, service_moved, suppression};
use super::{Result, Store, Tx};
use crate::domain::report::{AlertReport, ServerId, ServiceReport, ServiceState};
use crate::domain::rules::{rule_for, ServiceRule};
use crate::domain::time::now_ms;
use rusqlite::{params, OptionalExtension};
use std::borrow::Cow;

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
        state: Some(ServiceState::Ok),
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
        // Only rows whose state is one of the four are remembered.
        let state = known.state.map_or("", ServiceState::as_str);
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
        let state = ServiceState::parse(&stored);
        let row = Service {
            id,
            // A state set by hand to something else matches no report.
            state,
            info,
            period,
            timed_out,
        };
        if let Some(state) = state {
            c.known().remember_service(server, name, row.clone());
            return Ok(Some((row, Some(Cow::Borrowed(state.as_str())))));
        }
        return Ok(Some((row, Some(Cow::Owned(stored)))));
    }
    Ok(None)
}

/// Who sent a report: an agent's plugin (OverC), or a job's ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reporter {
    Plugin,
    Job,
}

/// Records one report of `server` (id, name) and raises the alerts of OverC's rules,
/// or of the `[[service_rule]]` governing the service: a state change, back online
/// after a missed period (`[plugin/online]`, or `[job/online]` for a job).
pub(super) fn record_report(
    c: &Tx,
    (server, server_name): (i64, &str),
    (r, by): (&ServiceReport, Reporter),
    rules: &[ServiceRule],
    limit: u32,
    now: i64,
) -> Result<()> {
    let at = r.time.unwrap_or(now);
    let state = r.state.as_str();
    let rule = rule_for(rules, server_name, &r.name).map(|(_, rule)| rule);
    let (row, previous) = service(c, server, &r.name, r.period, at)?;
    let (sid, offline) = (row.id, row.timed_out);
    // A report replayed from an agent's spool, measured so long ago that it
    // was overdue already, goes into the history but does not bring an
    // offline service back (it would flip online, then offline again).
    let grace = rule.map_or(0, |rule| i64::from(rule.offline_grace_s));
    let overdue = at.saturating_add(r.period.saturating_add(grace).saturating_mul(1000)) < now;
    let still_offline = offline && overdue;
    // A report that changes nothing but the time leaves the row alone: the
    // filing brings `last_report` up to date (within a second).
    let unchanged = previous.is_some()
        && row.state == Some(r.state)
        && row.info == r.info
        && row.period == r.period
        && !row.timed_out;
    if !unchanged {
        c.prepare_cached(
            "UPDATE services SET state = ?, info = ?, period = ?, \
             last_report = max(last_report, ?), timed_out = ? WHERE id = ?",
        )?
        .execute(params![state, r.info, r.period, at, still_offline, sid])?;
        c.known().remember_service(
            server,
            &r.name,
            Service {
                id: sid,
                state: Some(r.state),
                info: r.info.clone(),
                period: r.period,
                timed_out: still_offline,
            },
        );
        let was_down = offline || row.state == Some(ServiceState::Fail);
        let is_down = still_offline || r.state == ServiceState::Fail;
        let moved = (was_down, is_down);
        service_moved(c, rules, server_name, &r.name, moved, offline, at)?;
    }
    c.prepare_cached(
        "INSERT INTO service_reports (service_id, time, state, info) VALUES (?, ?, ?, ?)",
    )?
    .execute(params![sid, at, state, r.info])?;
    let raise = |channel: &str, event: &str, message: &str, prev: &str| {
        if !admit_alert(c, server, server_name, now, limit)? {
            return Ok(());
        }
        let suppressed = suppression(c, rule, sid)?;
        insert_alert(
            c,
            &NewAlert {
                kind: "service",
                target_id: None,
                service_id: Some(sid),
                target: "",
                server: server_name,
                service: &r.name,
                channel,
                event,
                message,
                state,
                previous: prev,
                description: "",
                details: &r.info,
                time: at,
                exclude_notifier: None,
                suppressed: &suppressed,
            },
            now,
        )
        .map(drop)
    };
    if offline && !still_offline {
        match by {
            Reporter::Plugin => raise("plugin", "online", "Monitoring plugin back online", state)?,
            Reporter::Job => raise("job", "online", "Job back on schedule", state)?,
        }
    }
    if let Some(rule) = rule {
        let stored = previous.as_deref().and_then(ServiceState::parse);
        if let Some(told) = judge_report(c, sid, rule, stored, r.state, at)? {
            raise("service:state", &told.event, &told.message, told.previous)?;
        }
        return Ok(());
    }
    let before = previous.as_deref().unwrap_or("OK");
    if before != state {
        let shown = previous.as_deref().unwrap_or("(?)");
        let message = format!("State changed: \"{shown}\" -> \"{state}\"");
        raise("service:state", state, &message, before)?;
    }
    Ok(())
}

impl Store {
    /// Runs `record` for an identified server (registering it if allowed) in one write
    /// job; a refused server gets `Denied` and nothing is written. The job may be run
    /// again (see [`Store::write_repeatable`]): it only writes rows and updates what the
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
        self.write_repeatable(move |c| {
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
        let rules = self.service_rules();
        self.as_server(id, auto_register, move |c, id, server, now| {
            for r in &reports {
                record_report(
                    c,
                    (server, &id.name),
                    (r, Reporter::Plugin),
                    &rules,
                    limit,
                    now,
                )?;
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
                        suppressed: "",
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
        let rules = self.service_rules();
        // A report not yet filed has not yet moved its service's `last_report`: most
        // are filed in slices first, the few that arrive meanwhile with the check.
        self.file_reports().await?;
        let history = self.history();
        self.write(move |c| {
            file_reports(c, &history, usize::MAX)?;
            close_flood_windows(c, None, now, limit)?;
            let late: Vec<Late> = c
                .prepare_cached(
                    "SELECT s.id, sv.id, sv.name, s.name, s.state, s.info, \
                     s.last_report + s.period * 1000, j.grace, j.started FROM services s \
                     JOIN servers sv ON sv.id = s.server_id \
                     LEFT JOIN jobs j ON j.service_id = s.id \
                     WHERE s.timed_out = 0 \
                     AND (s.last_report + (s.period + s.grace + coalesce(j.grace, 0)) * 1000 < ?1 \
                          OR j.started + j.grace * 1000 < ?1)",
                )?
                .query_map([now], |r| {
                    Ok(Late {
                        id: r.get(0)?,
                        server_id: r.get(1)?,
                        server: r.get(2)?,
                        service: r.get(3)?,
                        state: r.get(4)?,
                        info: r.get(5)?,
                        due: r.get(6)?,
                        job_grace: r.get(7)?,
                        started: r.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            if !late.is_empty() {
                c.forget();
            }
            for l in &late {
                let (id, server, service, state) = (&l.id, &l.server, &l.service, &l.state);
                c.prepare_cached("UPDATE services SET timed_out = 1 WHERE id = ?")?
                    .execute([id])?;
                let was_down = state == "FAIL";
                service_moved(c, &rules, server, service, (was_down, true), false, now)?;
                let (channel, event, message, since) = l.told(now);
                file_offline(c, &history.calendar, *id, since)?;
                if !admit_alert(c, l.server_id, server, now, limit)? {
                    continue;
                }
                let rule = rule_for(&rules, server, service).map(|(_, rule)| rule);
                let suppressed = suppression(c, rule, *id)?;
                insert_alert(
                    c,
                    &NewAlert {
                        kind: "service",
                        target_id: None,
                        service_id: Some(*id),
                        target: "",
                        server,
                        service,
                        channel,
                        event,
                        message: &message,
                        state,
                        previous: state,
                        description: "",
                        details: &l.info,
                        time: now,
                        exclude_notifier: None,
                        suppressed: &suppressed,
                    },
                    now,
                )?;
            }
            Ok(late.into_iter().map(|l| (l.server, l.service)).collect())
        })
        .await
    }
}

/// A service that missed its period (or a job its schedule), as the offline check
/// finds it.
struct Late {
    id: i64,
    server_id: i64,
    server: String,
    service: String,
    state: String,
    info: String,
    /// When its report was due (ms).
    due: i64,
    /// A job's grace (seconds); `None` for a service that is not a job.
    job_grace: Option<i64>,
    /// When a job's run began without ending, if it did.
    started: Option<i64>,
}

impl Late {
    /// Its alert's channel, event and message, and when it went offline: OverC's
    /// `plugin/offline`, or for a job `job/late`.
    fn told(&self, now: i64) -> (&'static str, &'static str, String, i64) {
        use crate::domain::time::{format_ms, human_ms};
        let Some(grace_s) = self.job_grace else {
            return (
                "plugin",
                "offline",
                "Monitoring plugin offline".into(),
                self.due,
            );
        };
        let grace = human_ms(grace_s * 1000);
        match self.started {
            Some(start) if start + grace_s * 1000 < now => (
                "job",
                "late",
                format!(
                    "Job started at {} UTC and did not finish within its grace ({grace})",
                    format_ms(start)
                ),
                start,
            ),
            _ => (
                "job",
                "late",
                format!(
                    "Job missed its schedule (due {} UTC, grace {grace})",
                    format_ms(self.due)
                ),
                self.due,
            ),
        }
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
