//! A service's sampled reports in `service_samples`, packed (see
//! [`crate::domain::samples`]): adding one to its hour's row, reading the newest back,
//! and the SQL aggregate migration 16 packs the rows it moves with.

use super::{Result, Tx};
use crate::domain::samples::{joins, latest_time, push_sample, unpack_samples, Sample};
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::{params, Connection, OptionalExtension};

/// Keeps a sampled report of service `id` measured at `time`, at or after the service's
/// latest sample: in its latest row while that row's hour and room allow, else in a new
/// row.
pub(super) fn add_sample(c: &Tx, id: i64, time: i64, state: i64, info: &str) -> Result<()> {
    let state = u8::try_from(state).unwrap_or(3);
    let latest: Option<(i64, i64, Vec<u8>)> = c
        .prepare_cached(
            "SELECT time, count, packed FROM service_samples WHERE service_id = ? \
             ORDER BY time DESC LIMIT 1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((first, count, mut packed)) = latest {
        if let Some(after) = latest_time(first, &packed).filter(|&t| t <= time) {
            if joins(first, usize::try_from(count).unwrap_or(usize::MAX), time) {
                push_sample(&mut packed, after, time, state, info);
                c.prepare_cached(
                    "UPDATE service_samples SET count = count + 1, packed = ? \
                     WHERE service_id = ? AND time = ?",
                )?
                .execute(params![packed, id, first])?;
                return Ok(());
            }
        }
    }
    let mut packed = Vec::with_capacity(16 + info.len());
    push_sample(&mut packed, time, time, state, info);
    // A row already starting at that millisecond is a full one: the next is free.
    let mut insert = c.prepare_cached(
        "INSERT INTO service_samples (service_id, time, count, packed) VALUES (?, ?, 1, ?) \
         ON CONFLICT DO NOTHING",
    )?;
    let mut at = time;
    while insert.execute(params![id, at, packed])? == 0 {
        at += 1;
    }
    Ok(())
}

/// At least the `limit` newest samples of service `id` (every sample of the rows they
/// are in), newest first.
pub(super) fn newest_samples(c: &Connection, id: i64, limit: u32) -> Result<Vec<Sample>> {
    let mut newest_first = c.prepare_cached(
        "SELECT time, packed FROM service_samples WHERE service_id = ? ORDER BY time DESC",
    )?;
    let mut rows = newest_first.query([id])?;
    let mut out = Vec::new();
    while out.len() < limit as usize {
        let Some(row) = rows.next()? else { break };
        let first: i64 = row.get(0)?;
        let packed: Vec<u8> = row.get(1)?;
        let samples = unpack_samples(first, &packed).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Blob,
                format!("service {id}: the samples from {first} are not packed samples").into(),
            )
        })?;
        out.extend(samples.into_iter().rev());
    }
    Ok(out)
}

/// Registers `samples_pack(time, state, info)`, the aggregate that packs rows given in
/// time order (`ORDER BY time` in the call) into one row's `packed`.
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_aggregate_function(
        "samples_pack",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        SamplesPack,
    )
}

/// `samples_pack`: the packed bytes and the latest time so far.
struct SamplesPack;

impl Aggregate<(Option<i64>, Vec<u8>), Vec<u8>> for SamplesPack {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<(Option<i64>, Vec<u8>)> {
        Ok((None, Vec::new()))
    }

    fn step(
        &self,
        ctx: &mut Context<'_>,
        acc: &mut (Option<i64>, Vec<u8>),
    ) -> rusqlite::Result<()> {
        let time: i64 = ctx.get(0)?;
        let state = u8::try_from(ctx.get::<i64>(1)?).unwrap_or(3);
        let info: String = ctx.get(2)?;
        let after = acc.0.unwrap_or(time);
        push_sample(&mut acc.1, after, time, state, &info);
        acc.0 = Some(time.max(after));
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<(Option<i64>, Vec<u8>)>,
    ) -> rusqlite::Result<Vec<u8>> {
        Ok(acc.map(|(_, packed)| packed).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{temp_store, HistorySettings};
    use crate::domain::history::HOUR_MS;
    use crate::domain::report::{ServerId, ServiceReport, ServiceState};
    use crate::secret::Secret;

    fn at(state: &str, time: i64) -> ServiceReport {
        ServiceReport {
            name: "disk".into(),
            state: ServiceState::parse(state).unwrap(),
            info: format!("{state} at {time}"),
            period: 3600,
            time: Some(time),
        }
    }

    #[tokio::test]
    async fn samples_are_packed_by_hour_and_read_back_with_the_changes() {
        let (_dir, store) = temp_store();
        store.set_history(HistorySettings {
            sample_ms: 0,
            ..HistorySettings::default()
        });
        let hour = (crate::domain::time::now_ms() / HOUR_MS - 3) * HOUR_MS;
        let next = hour + HOUR_MS;
        // 70 OKs a second apart (the first is a change), a FAIL, then in the next hour
        // an OK (a change) and one more.
        let mut reports: Vec<ServiceReport> = (0..70).map(|i| at("OK", hour + i * 1000)).collect();
        reports.push(at("FAIL", hour + 100_000));
        reports.push(at("OK", next + 1));
        reports.push(at("OK", next + 2));
        let pushed: Vec<i64> = reports.iter().filter_map(|r| r.time).collect();
        let web1 = ServerId {
            name: "web1".into(),
            key: Secret::new("k"),
        };
        assert_eq!(
            store.push_states(web1, true, reports).await.unwrap(),
            Ok(())
        );
        assert_eq!(store.file_reports().await.unwrap(), 73);
        let rows = |sql: &'static str| {
            let store = store.clone();
            async move {
                store
                    .read(move |c| {
                        let mut s = c.prepare(sql)?;
                        let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                        Ok(rows.collect::<rusqlite::Result<Vec<(i64, i64)>>>()?)
                    })
                    .await
                    .unwrap()
            }
        };
        let changes = rows("SELECT time, state FROM service_states ORDER BY time").await;
        assert_eq!(changes, [(hour, 0), (hour + 100_000, 2), (next + 1, 0)]);
        // 69 samples in the first hour: a full row of 64 and the rest; one in the next.
        let packed = rows("SELECT time, count FROM service_samples ORDER BY time").await;
        assert_eq!(
            packed,
            [(hour + 1000, 64), (hour + 65_000, 5), (next + 2, 1)]
        );

        let sid = store.services(None).await.unwrap()[0].id;
        let newest = store.service_history(sid, 3).await.unwrap().unwrap();
        let newest: Vec<(i64, &str)> = newest.iter().map(|h| (h.0, h.1.as_str())).collect();
        assert_eq!(
            newest,
            [(next + 2, "OK"), (next + 1, "OK"), (hour + 100_000, "FAIL")]
        );
        let all = store.service_history(sid, 100).await.unwrap().unwrap();
        let mut times: Vec<i64> = all.iter().map(|h| h.0).collect();
        assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
        times.reverse();
        assert_eq!(times, pushed);
        assert_eq!(
            all[40].2,
            format!("OK at {}", all[40].0),
            "each with its info"
        );

        // Raw history up to a moment of the next hour: the first hour's rows go whole,
        // the next hour's row stays until that hour is over.
        let pruned = store.prune_history(next + 10, 0).await.unwrap();
        assert_eq!(pruned.states, 3 + 2);
        let packed = rows("SELECT time, count FROM service_samples").await;
        assert_eq!(packed, [(next + 2, 1)]);
        store.close().await;
    }
}
