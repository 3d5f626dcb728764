//! Pruning what grows with time: raw history after `[history] raw_days`; hourly and
//! daily figures and ended incidents after `rollup_days`. Alerts, deliveries and
//! abandoned servers have their own (`alerts`, `servers`). Every delete runs in slices
//! (see [`Store::delete_in_slices`]).

use super::{Result, Store};

/// Rows deleted by one pruning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Check results.
    pub results: usize,
    /// Rows of kept service reports (a row of packed samples counts once), and jobs'
    /// ping bodies.
    pub states: usize,
    /// Hourly and daily rows.
    pub rollups: usize,
    /// Ended incidents.
    pub incidents: usize,
}

impl Store {
    /// Deletes raw history from before `raw_before` and figures and incidents from
    /// before `rollup_before` (ms since the epoch).
    pub async fn prune_history(&self, raw_before: i64, rollup_before: i64) -> Result<Pruned> {
        // Source by source, through each table's key.
        let results = self
            .delete_in_slices(
                "DELETE FROM target_results WHERE (target_id, time) IN (SELECT r.target_id, r.time \
                 FROM targets t JOIN target_results r ON r.target_id = t.id AND r.time < ?1 LIMIT ?2)",
                raw_before,
            )
            .await?;
        // A row of samples holds one UTC hour: it goes once the whole hour is older.
        let hour_start = raw_before - raw_before.rem_euclid(crate::domain::history::HOUR_MS);
        let mut states = 0;
        for (sql, before) in [
            (
                "DELETE FROM service_states WHERE (service_id, time) IN \
                 (SELECT ss.service_id, ss.time FROM services s \
                 JOIN service_states ss ON ss.service_id = s.id AND ss.time < ?1 LIMIT ?2)",
                raw_before,
            ),
            (
                "DELETE FROM service_samples WHERE (service_id, time) IN \
                 (SELECT ss.service_id, ss.time FROM services s \
                 JOIN service_samples ss ON ss.service_id = s.id AND ss.time < ?1 LIMIT ?2)",
                hour_start,
            ),
            // What jobs' pings carried goes with the raw history.
            (
                "DELETE FROM job_pings WHERE id IN \
                 (SELECT id FROM job_pings WHERE time < ?1 LIMIT ?2)",
                raw_before,
            ),
        ] {
            states += self.delete_in_slices(sql, before).await?;
        }
        let hour = rollup_before.div_euclid(crate::domain::history::HOUR_MS);
        let day = i64::from(self.history().calendar.day(rollup_before));
        let mut rollups = 0;
        for (sql, before) in [
            (
                "DELETE FROM target_hours WHERE (target_id, hour) IN (SELECT h.target_id, h.hour \
                 FROM targets t JOIN target_hours h ON h.target_id = t.id AND h.hour < ?1 LIMIT ?2)",
                hour,
            ),
            (
                "DELETE FROM service_hours WHERE (service_id, hour) IN (SELECT h.service_id, h.hour \
                 FROM services s JOIN service_hours h ON h.service_id = s.id AND h.hour < ?1 LIMIT ?2)",
                hour,
            ),
            (
                "DELETE FROM target_days WHERE (target_id, day) IN (SELECT d.target_id, d.day \
                 FROM targets t JOIN target_days d ON d.target_id = t.id AND d.day < ?1 LIMIT ?2)",
                day,
            ),
            (
                "DELETE FROM service_days WHERE (service_id, day) IN (SELECT d.service_id, d.day \
                 FROM services s JOIN service_days d ON d.service_id = s.id AND d.day < ?1 LIMIT ?2)",
                day,
            ),
        ] {
            rollups += self.delete_in_slices(sql, before).await?;
        }
        let mut incidents = 0;
        for sql in [
            "DELETE FROM target_incidents WHERE (target_id, started) IN (SELECT i.target_id, i.started \
             FROM targets t JOIN target_incidents i ON i.target_id = t.id AND i.started < ?1 \
             AND i.ended < ?1 LIMIT ?2)",
            "DELETE FROM service_incidents WHERE (service_id, started) IN (SELECT i.service_id, i.started \
             FROM services s JOIN service_incidents i ON i.service_id = s.id AND i.started < ?1 \
             AND i.ended < ?1 LIMIT ?2)",
        ] {
            incidents += self.delete_in_slices(sql, rollup_before).await?;
        }
        Ok(Pruned {
            results,
            states,
            rollups,
            incidents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{temp_store, HistorySettings};
    use crate::domain::history::{Calendar, HOUR_MS};

    #[tokio::test]
    async fn raw_history_and_figures_are_pruned_by_their_own_limits() {
        let (_dir, store) = temp_store();
        store.set_history(HistorySettings {
            calendar: Calendar::utc(),
            sample_ms: 0,
        });
        let day = 24 * HOUR_MS;
        store
            .write(move |c| {
                c.execute("INSERT INTO targets (name, url) VALUES ('t1', 'http://x/')", [])?;
                let mut s = c.prepare(
                    "INSERT INTO target_results (target_id, time, result, response_us) VALUES (1, ?, 0, 1000)",
                )?;
                for t in 0..12_000 {
                    s.execute([t])?;
                }
                for h in 0..72 {
                    c.execute("INSERT INTO target_hours (target_id, hour) VALUES (1, ?)", [h])?;
                }
                c.execute_batch(
                    "INSERT INTO target_days (target_id, day) VALUES (1, 19700101), (1, 19700102), (1, 19700103);
                     INSERT INTO target_incidents (target_id, started, ended) VALUES (1, 0, 10), (1, 20, NULL);",
                )?;
                let _ = day;
                Ok(())
            })
            .await
            .unwrap();
        let pruned = store.prune_history(11_000, day + 1).await.unwrap();
        assert_eq!(pruned.results, 11_000);
        assert_eq!(pruned.rollups, 24 + 1, "the first day's hours, and its day");
        assert_eq!(pruned.incidents, 1, "the open one stays");
        let left: (i64, i64, i64) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT count(*) FROM target_results), (SELECT min(hour) FROM target_hours), \
                     (SELECT min(day) FROM target_days)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(left, (1000, 24, 19700102));
        assert_eq!(
            store.prune_history(11_000, day + 1).await.unwrap(),
            super::Pruned::default()
        );
    }
}
