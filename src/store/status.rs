//! Figures for `skypunchctl status`.

use super::{Result, Store};
use serde::{Deserialize, Serialize};

/// How much the daemon is looking after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// All targets.
    pub targets: u64,
    /// Targets that are enabled.
    pub targets_enabled: u64,
    /// Targets whose state is FAIL.
    pub targets_failing: u64,
    /// Servers that push.
    pub servers: u64,
    /// Services reported by them.
    pub services: u64,
    /// Deliveries not yet made.
    pub pending_alerts: u64,
}

impl Store {
    /// Counts targets, services and pending deliveries.
    pub async fn counts(&self) -> Result<Counts> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT
                   (SELECT count(*) FROM targets),
                   (SELECT count(*) FROM targets WHERE enabled),
                   (SELECT count(*) FROM targets WHERE status = 'FAIL'),
                   (SELECT count(*) FROM servers),
                   (SELECT count(*) FROM services),
                   (SELECT count(*) FROM deliveries WHERE state = 'pending')",
                [],
                |r| {
                    Ok(Counts {
                        targets: r.get::<_, i64>(0)? as u64,
                        targets_enabled: r.get::<_, i64>(1)? as u64,
                        targets_failing: r.get::<_, i64>(2)? as u64,
                        servers: r.get::<_, i64>(3)? as u64,
                        services: r.get::<_, i64>(4)? as u64,
                        pending_alerts: r.get::<_, i64>(5)? as u64,
                    })
                },
            )?)
        })
        .await
    }
}
