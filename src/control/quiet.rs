//! The answer types of silences, acknowledgements and maintenance windows (SPEC §15),
//! beside [`super::protocol`]: what `skypunchctl silence`, `ack` and the `Silenced` /
//! `Acked` markers of `status`, `targets` and `services` are made from.

use serde::{Deserialize, Serialize};

/// A silence to add, as `skypunchctl silence add` (or `POST /api/silences`) describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSilence {
    /// One target, by id or name.
    pub target: Option<String>,
    /// One server, by name (all of its services, or `service`).
    pub server: Option<String>,
    /// One service of `server`.
    pub service: Option<String>,
    /// A glob: `target:<glob>`, `server:<glob>` or `<server glob>/<service glob>`.
    pub matcher: Option<String>,
    /// When it ends (ms since the epoch).
    pub ends_ms: i64,
    /// Why.
    pub comment: String,
}

/// A silence, as `skypunchctl silence list` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceInfo {
    /// Row id.
    pub id: i64,
    /// What it covers.
    pub matches: String,
    /// When it began (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub starts: String,
    /// When it ends or ended.
    pub ends: String,
    /// Why.
    pub comment: String,
    /// Who added it: a local user (socket peer) or `http:<user>`.
    pub created_by: String,
    /// `active`, `expired` or `removed`.
    pub state: String,
}

/// An open acknowledgement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckInfo {
    /// The alert acknowledged.
    pub alert_id: i64,
    /// Its target (target alerts).
    pub target_id: Option<i64>,
    /// Its service (pushed alerts).
    pub service_id: Option<i64>,
    /// The target's name.
    pub target: String,
    /// The server's name.
    pub server: String,
    /// The service's name.
    pub service: String,
    /// Who acknowledged it.
    pub user: String,
    /// Why.
    pub comment: String,
    /// When (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub time: String,
}

/// A `[[maintenance]]` window of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowInfo {
    /// Its name.
    pub name: String,
    /// What it covers.
    pub matches: Vec<String>,
    /// When it recurs (`Sun 02:00-04:00`).
    pub schedule: String,
    /// The time zone of its schedule.
    pub timezone: String,
    /// Whether it is open now.
    pub open: bool,
}

/// Everything that keeps alerts quiet now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietInfo {
    /// Silences in force.
    pub silences: Vec<SilenceInfo>,
    /// Maintenance windows, open or not.
    pub windows: Vec<WindowInfo>,
    /// Open acknowledgements.
    pub acked: Vec<AckInfo>,
}

impl SilenceInfo {
    /// The answer for `s`, as it stands at `now` (ms).
    pub fn of(s: &crate::store::silences::Silence, now: i64) -> SilenceInfo {
        use crate::domain::time::format_ms;
        let state = match s.removed {
            Some(_) => "removed",
            None if s.ends <= now => "expired",
            None => "active",
        };
        SilenceInfo {
            id: s.id,
            matches: s.matcher.clone(),
            starts: format_ms(s.starts),
            ends: format_ms(s.removed.unwrap_or(s.ends)),
            comment: s.comment.clone(),
            created_by: s.created_by.clone(),
            state: state.into(),
        }
    }
}

impl From<crate::store::silences::Ack> for AckInfo {
    fn from(a: crate::store::silences::Ack) -> AckInfo {
        AckInfo {
            alert_id: a.alert_id,
            target_id: a.target_id,
            service_id: a.service_id,
            target: a.target,
            server: a.server,
            service: a.service,
            user: a.user,
            comment: a.comment,
            time: crate::domain::time::format_ms(a.time),
        }
    }
}

/// Everything that keeps alerts quiet at `now`: the silences in force, the windows of
/// `config`, the open acknowledgements.
pub async fn gather(
    store: &crate::store::Store,
    config: &crate::config::Config,
    now: i64,
) -> Result<QuietInfo, crate::store::StoreError> {
    let silences = store.silences(false, now).await?;
    let acked = store.acks().await?;
    let windows = config
        .maintenance
        .iter()
        .map(|m| WindowInfo {
            name: m.name.clone(),
            matches: m.matches.clone(),
            schedule: m.schedule.clone(),
            timezone: m.zone_name(),
            open: m.window().is_ok_and(|w| w.open(now)),
        })
        .collect();
    Ok(QuietInfo {
        silences: silences.iter().map(|s| SilenceInfo::of(s, now)).collect(),
        windows,
        acked: acked.into_iter().map(AckInfo::from).collect(),
    })
}

impl QuietInfo {
    /// The marker of a target (`Silenced`, `Acked`, empty) and what it lists: the
    /// silences and windows covering it, and who acknowledged it.
    pub fn of_target(&self, id: i64, name: &str) -> Marks {
        self.marks(
            &crate::domain::quiet::Source {
                kind: "target",
                target: name,
                server: "",
                service: "",
            },
            |a| a.target_id == Some(id),
        )
    }

    /// [`QuietInfo::of_target`] for a pushed service.
    pub fn of_service(&self, id: i64, server: &str, service: &str) -> Marks {
        self.marks(
            &crate::domain::quiet::Source {
                kind: "service",
                target: "",
                server,
                service,
            },
            |a| a.service_id == Some(id),
        )
    }

    fn marks(
        &self,
        source: &crate::domain::quiet::Source,
        acked: impl Fn(&AckInfo) -> bool,
    ) -> Marks {
        use crate::domain::quiet::Matcher;
        let covers = |m: &str| Matcher::parse(m).is_ok_and(|m| m.covers(source));
        let mut silences: Vec<String> = self
            .silences
            .iter()
            .filter(|s| covers(&s.matches))
            .map(|s| format!("silenced #{}", s.id))
            .collect();
        silences.extend(
            self.windows
                .iter()
                .filter(|w| w.open && w.matches.iter().any(|m| covers(m)))
                .map(|w| format!("maintenance {}", w.name)),
        );
        Marks {
            silences,
            acked: self.acked.iter().find(|a| acked(a)).cloned(),
        }
    }
}

/// What keeps one source's alerts quiet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Marks {
    /// `silenced #3`, `maintenance sunday-patching`.
    pub silences: Vec<String>,
    /// Its open acknowledgement.
    pub acked: Option<AckInfo>,
}

impl Marks {
    /// Adds the keys `silences` (what covers it) and `acked` (its acknowledgement or
    /// null) to a JSON object, as `--json` and `/api/status` show a source.
    pub fn add_to(&self, v: &mut serde_json::Value) {
        if let Some(o) = v.as_object_mut() {
            o.insert("silences".into(), serde_json::json!(self.silences));
            o.insert("acked".into(), serde_json::json!(self.acked));
        }
    }

    /// `Silenced`, `Acked`, both, or empty: the marker shown after a state.
    pub fn marker(&self) -> &'static str {
        match (self.silences.is_empty(), self.acked.is_some()) {
            (true, false) => "",
            (false, false) => "Silenced",
            (true, true) => "Acked",
            (false, true) => "Silenced, Acked",
        }
    }
}
