//! Builds a year of history for `bench/history.sh` through skypunch's own store, with a
//! fixed clock and a fixed seed: the same database every run.
//!
//!     history_gen DATABASE END_MS [TARGETS [SERVERS [SERVICES_PER_SERVER]]]
//!
//! Targets are checked every 60 s; 1 % of their checks fail, in bursts of 5 to 55
//! checks. Each server's services report every `REPORT_SECONDS` (environment; default
//! 300, the default `service_sample_seconds`, so the filing keeps every report sent:
//! the reports a 60 s agent sends in between change no stored row, which
//! `REPORT_SECONDS=60` shows at five times the cost), with 1 % of the time in FAIL
//! bursts of 15 to 45 minutes.
//!
//! The last `RAW_DAYS` go through the live write path (`record_checks`, `push_states`
//! and the filing); the days before, whose raw rows would be pruned by now, through
//! `record_past`, which writes the same hourly and daily figures and incidents.

use skypunch::domain::history::{Calendar, Condition, SourceKind};
use skypunch::domain::report::{ServerId, ServiceReport, ServiceState};
use skypunch::domain::supervise::{Thresholds, Verdict};
use skypunch::domain::trace::Trace;
use skypunch::secret::Secret;
use skypunch::store::checks::CheckRecord;
use skypunch::store::{Durability, HistorySettings, Past, Store};
use std::sync::Arc;
use std::time::Instant;

const DAY: i64 = 86_400_000;
const YEAR_DAYS: i64 = 365;
const RAW_DAYS: i64 = 7;
const CHECK_MS: i64 = 60_000;
/// The daemon's default `service_sample_seconds`, in ms.
const SAMPLE_MS: i64 = 300_000;

/// xorshift64*: a fixed, reproducible sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pass or fail, check after check: a failing burst starts so that 1 % of checks fail.
struct Bursts {
    left: u64,
    start_chance: f64,
}

impl Bursts {
    fn new(mean_len: f64) -> Bursts {
        Bursts {
            left: 0,
            start_chance: 0.01 / mean_len,
        }
    }

    fn passes(&mut self, rng: &mut Rng, min: u64, max: u64) -> bool {
        if self.left == 0 && rng.unit() < self.start_chance {
            self.left = min + rng.below(max - min + 1);
        }
        if self.left > 0 {
            self.left -= 1;
            return false;
        }
        true
    }
}

fn response_ms(rng: &mut Rng, passed: bool) -> f64 {
    if passed {
        2.0 + rng.unit() * 8.0 + if rng.below(50) == 0 { 200.0 } else { 0.0 }
    } else if rng.below(10) == 0 {
        10_000.0
    } else {
        0.5
    }
}

/// Adds `[a, b)` in `condition` to `spans`, joining it to the last one when they match.
fn span(spans: &mut Vec<(i64, i64, Condition)>, a: i64, b: i64, condition: Condition) {
    match spans.last_mut() {
        Some(last) if last.2 == condition && last.1 == a => last.1 = b,
        _ => spans.push((a, b, condition)),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: history_gen DATABASE END_MS [TARGETS [SERVERS [SERVICES_PER_SERVER]]]");
        std::process::exit(2);
    }
    let arg = |i: usize, default: i64| args.get(i).map_or(Ok(default), |a| a.parse());
    let end: i64 = args[2].parse()?;
    let (targets, servers, per_server) = (arg(3, 1000)?, arg(4, 2000)?, arg(5, 10)?);
    let start = end - YEAR_DAYS * DAY;
    let raw_from = end - RAW_DAYS * DAY;
    let store = Store::open(std::path::Path::new(&args[1]), Durability::Normal)?;
    store.set_history(HistorySettings {
        calendar: Calendar::utc(),
        sample_ms: SAMPLE_MS,
    });
    let report_ms = match std::env::var("REPORT_SECONDS") {
        Ok(s) => s.parse::<i64>()?.clamp(1, 300) * 1000,
        Err(_) => SAMPLE_MS,
    };
    // A FAIL burst is 15 to 45 minutes (3 to 9 reports 5 minutes apart) whatever the
    // reporting period.
    let per_burst = (SAMPLE_MS / report_ms) as u64;
    let mut rng = Rng(0x5eed_0f5b_7ec4_a1d3);

    store
        .write(move |c| {
            let mut s = c.prepare(
                "INSERT INTO targets (name, url, frequency) VALUES (?, 'http://127.0.0.1:18091/', 60)",
            )?;
            for i in 1..=targets {
                s.execute([format!("t{i}")])?;
            }
            Ok(())
        })
        .await?;

    // Targets, the year before the raw days.
    let began = Instant::now();
    let mut bursts: Vec<Bursts> = (0..targets).map(|_| Bursts::new(30.0)).collect();
    for id in 1..=targets {
        let b = &mut bursts[(id - 1) as usize];
        let mut past = Past::default();
        let mut failing_since = None;
        let mut t = start;
        while t < raw_from {
            let passed = b.passes(&mut rng, 5, 55);
            let ms = response_ms(&mut rng, passed);
            past.checks.push((t, passed, Some(ms)));
            let condition = if passed {
                Condition::Up
            } else {
                Condition::Down
            };
            span(&mut past.spans, t, t + CHECK_MS, condition);
            match (passed, failing_since) {
                (false, None) => failing_since = Some(t),
                (true, Some(since)) => {
                    past.incidents.push((since, t));
                    failing_since = None;
                }
                _ => {}
            }
            t += CHECK_MS;
        }
        if let Some(since) = failing_since {
            past.incidents.push((since, raw_from));
        }
        store.record_past(SourceKind::Target, id, past).await?;
    }
    eprintln!("targets, past: {:.1} s", began.elapsed().as_secs_f64());

    // Targets, the raw days: every check through the live path, a minute at a time.
    let began = Instant::now();
    let trace = Arc::new((String::new(), Trace::start()));
    let mut t = raw_from;
    let mut checks = 0u64;
    while t < end {
        let mut batch = Vec::with_capacity(targets as usize);
        for id in 1..=targets {
            let passed = bursts[(id - 1) as usize].passes(&mut rng, 5, 55);
            batch.push(CheckRecord {
                target_id: id,
                name: format!("t{id}"),
                request: "GET http://127.0.0.1:18091/".into(),
                // Spread over the minute, as the scheduler does.
                time_ms: t + id * CHECK_MS / targets,
                verdict: if passed { Verdict::Pass } else { Verdict::Fail },
                status_code: passed.then_some(200),
                description: if passed { "OK" } else { "connection refused" }.into(),
                response_ms: response_ms(&mut rng, passed),
                network_fail: !passed,
                trace: trace.clone(),
                thresholds: Thresholds::default(),
                period_ms: CHECK_MS,
                urgent: !passed,
            });
        }
        checks += batch.len() as u64;
        let batch: std::sync::Arc<[_]> = batch.into();
        let mut from = 0;
        while from < batch.len() {
            from = store.record_checks(batch.clone(), from).await?.next;
        }
        t += CHECK_MS;
    }
    let took = began.elapsed().as_secs_f64();
    eprintln!(
        "targets, raw days: {checks} checks in {took:.1} s ({:.0} checks/s through record_checks)",
        checks as f64 / took
    );

    // Services: registered by their first report at the start of the raw days.
    let began = Instant::now();
    let mut states: Vec<Bursts> = (0..servers * per_server)
        .map(|_| Bursts::new(6.0 * per_burst as f64))
        .collect();
    let server_id = |s: i64| ServerId {
        name: format!("host{s}"),
        key: Secret::new(format!("key{s}")),
    };
    let mut t = raw_from;
    let mut reports = 0u64;
    while t < end {
        let mut pushes = Vec::with_capacity(servers as usize);
        for s in 0..servers {
            let list: Vec<ServiceReport> = (0..per_server)
                .map(|k| {
                    let ok = states[(s * per_server + k) as usize].passes(
                        &mut rng,
                        3 * per_burst,
                        9 * per_burst,
                    );
                    ServiceReport {
                        name: format!("svc{k}"),
                        state: if ok {
                            ServiceState::Ok
                        } else {
                            ServiceState::Fail
                        },
                        info: format!("load {:.2}", rng.unit() * 4.0),
                        period: report_ms / 1000,
                        time: Some(t + s * report_ms / servers),
                    }
                })
                .collect();
            reports += list.len() as u64;
            let store = store.clone();
            let id = server_id(s);
            pushes.push(tokio::spawn(async move {
                store.push_states(id, true, list).await
            }));
        }
        for p in pushes {
            if let Err(denied) = p.await?? {
                return Err(format!("push refused: {denied:?}").into());
            }
        }
        store.file_reports().await?;
        t += report_ms;
    }
    let took = began.elapsed().as_secs_f64();
    eprintln!(
        "services, raw days: {reports} reports in {took:.1} s ({:.0} reports/s through push_states and the filing)",
        reports as f64 / took
    );

    // Services, the year before the raw days.
    let began = Instant::now();
    let ids: Vec<i64> = store
        .read(|c| {
            let mut s = c.prepare("SELECT id FROM services ORDER BY id")?;
            let ids = s.query_map([], |r| r.get(0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        })
        .await?;
    for id in ids {
        let mut past = Past::default();
        let mut burst = Bursts::new(6.0);
        let mut failing_since = None;
        let mut t = start;
        while t < raw_from {
            let ok = burst.passes(&mut rng, 3, 9);
            let condition = if ok { Condition::Up } else { Condition::Down };
            span(&mut past.spans, t, t + SAMPLE_MS, condition);
            match (ok, failing_since) {
                (false, None) => failing_since = Some(t),
                (true, Some(since)) => {
                    past.incidents.push((since, t));
                    failing_since = None;
                }
                _ => {}
            }
            t += SAMPLE_MS;
        }
        if let Some(since) = failing_since {
            past.incidents.push((since, raw_from));
        }
        store.record_past(SourceKind::Service, id, past).await?;
    }
    eprintln!("services, past: {:.1} s", began.elapsed().as_secs_f64());
    store.close().await;
    Ok(())
}
