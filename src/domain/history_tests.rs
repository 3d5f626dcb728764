//! Unit tests of hours, days and figures.

use super::*;

const H: i64 = HOUR_MS;

#[test]
fn a_stretch_is_cut_at_hour_boundaries() {
    let pieces: Vec<_> = hour_pieces(H - 1000, 3 * H + 5).collect();
    assert_eq!(
        pieces,
        [(0, H - 1000, 1000), (1, H, H), (2, 2 * H, H), (3, 3 * H, 5)]
    );
    assert_eq!(hour_pieces(5, 5).count(), 0);
    assert_eq!(hour_pieces(5, 1).count(), 0);
}

#[test]
fn months_follow_daylight_saving_time() {
    let berlin = Calendar::named("Europe/Berlin").unwrap();
    // March 2026 loses an hour (last Sunday, 02:00 -> 03:00); October gains one.
    let (a, b) = berlin.month("2026-03").unwrap();
    assert_eq!((b - a) / H, 31 * 24 - 1);
    assert_eq!(a, 1_772_319_600_000, "2026-02-28T23:00:00Z");
    assert_eq!(berlin.local(a), "2026-03-01 00:00");
    assert_eq!(berlin.local(b), "2026-04-01 00:00");
    let (a, b) = berlin.month("2026-10").unwrap();
    assert_eq!((b - a) / H, 31 * 24 + 1);
    // Consecutive months meet exactly, across the year too.
    assert_eq!(
        berlin.month("2026-12").unwrap().1,
        berlin.month("2027-01").unwrap().0
    );
    let utc = Calendar::utc();
    let (a, b) = utc.month("2028-02").unwrap();
    assert_eq!((b - a) / H, 29 * 24, "a leap year's February");
    for bad in ["2026-13", "2026-3", "26-03", "2026/03", "", "2026-00"] {
        assert_eq!(
            utc.month(bad),
            Err(CalendarError::Month(bad.into())),
            "{bad}"
        );
    }
}

#[test]
fn date_ranges_include_both_days() {
    let utc = Calendar::utc();
    let (a, b) = utc.dates("2026-11-01", "2026-11-30").unwrap();
    assert_eq!(b - a, 30 * 24 * H);
    assert_eq!(
        utc.dates("2026-11-05", "2026-11-05").unwrap().1 - a,
        5 * 24 * H
    );
    assert!(matches!(
        utc.dates("2026-11-05", "2026-11-04"),
        Err(CalendarError::Backwards { .. })
    ));
    assert!(matches!(
        utc.dates("2026-11-5", "2026-11-06"),
        Err(CalendarError::Date(_))
    ));
    assert!(matches!(
        Calendar::named("Mars/Olympus"),
        Err(CalendarError::Zone(_))
    ));
}

#[test]
fn local_days_change_at_local_midnight() {
    let berlin = Calendar::named("Europe/Berlin").unwrap();
    let (start, _) = berlin.month("2026-07").unwrap();
    assert_eq!(berlin.day(start), 20260701);
    assert_eq!(berlin.day(start - 1), 20260630);
    assert_eq!(berlin.day_start(20260701), start);
    assert_eq!(berlin.day_after(20261231), 20270101);
    assert_eq!(berlin.day_after(20280228), 20280229);
    let days = berlin.last_days(start + 1000, 3);
    assert_eq!(days, [20260629, 20260630, 20260701]);
    assert_eq!(Calendar::utc().last_days(0, 2), [19691231, 19700101]);
}

#[test]
fn histograms_pack_small_and_back() {
    let mut counts = [0i64; 12];
    assert_eq!(pack_histogram(&counts), Vec::<u8>::new());
    assert_eq!(unpack_histogram(&[]), Some(counts));
    counts[0] = 59;
    counts[3] = 1;
    assert_eq!(pack_histogram(&counts), vec![0, 59, 3, 1]);
    counts[11] = 3600;
    counts[5] = i64::from(u32::MAX);
    assert_eq!(unpack_histogram(&pack_histogram(&counts)), Some(counts));
    assert_eq!(unpack_histogram(&[12, 1]), None, "no thirteenth bucket");
    assert_eq!(unpack_histogram(&[0, 0x80]), None, "a count cut short");
}

#[test]
fn quantiles_come_from_the_histogram() {
    let mut counts = [0i64; 12];
    // 95 fast (under 10 ms), 5 slow (between 500 ms and 1 s).
    counts[bucket(3.0)] = 95;
    counts[bucket(700.0)] = 5;
    assert_eq!(bucket(10.0), 0);
    assert_eq!(bucket(1e9), 11);
    let p95 = quantile(&counts, 1.0, 900.0, 0.95).unwrap();
    assert!((1.0..=10.0).contains(&p95), "{p95}");
    let p99 = quantile(&counts, 1.0, 900.0, 0.99).unwrap();
    assert!((500.0..=900.0).contains(&p99), "{p99}");
    assert_eq!(quantile(&[0; 12], 0.0, 0.0, 0.95), None);
}

#[test]
fn figures_count_gaps_as_no_data_not_as_up() {
    let day = 24 * H;
    // Ten days asked for; data for four, of which one hour down.
    let spent = Spent {
        up: 4 * day - H,
        down: H,
        ..Spent::default()
    };
    let incidents = [
        // Began before the range: counted, clipped.
        Incident {
            start: -2 * H,
            end: Some(H),
        },
        // Inside.
        Incident {
            start: 5 * H,
            end: Some(5 * H + 60_000),
        },
        // Still going at `now`.
        Incident {
            start: 9 * day,
            end: None,
        },
        // After the range.
        Incident {
            start: 11 * day,
            end: Some(11 * day + 1),
        },
    ];
    let f = figures(
        &spent,
        (0, 10 * day),
        9 * day + 2 * H,
        &incidents,
        &Responses::default(),
    );
    assert_eq!(f.covered_ms, 4 * day);
    assert_eq!(f.no_data_ms, 5 * day + 2 * H, "up to now, not to the end");
    let up = f.uptime_pct.unwrap();
    assert!((up - 100.0 * (96.0 - 1.0) / 96.0).abs() < 1e-9, "{up}");
    assert_eq!(f.degraded_pct, Some(0.0));
    assert_eq!(f.incidents, 3);
    assert_eq!(f.longest_ms, 2 * H);
    assert_eq!(f.mttr_ms, Some((3 * H + 60_000) / 2));
    assert_eq!(f.p95_ms, None);
    let none = figures(
        &Spent::default(),
        (0, day),
        2 * day,
        &[],
        &Responses::default(),
    );
    assert_eq!((none.uptime_pct, none.no_data_ms), (None, day));
}
