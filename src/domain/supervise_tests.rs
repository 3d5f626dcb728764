//! Unit tests of judging checks into states and events.

use super::*;

#[test]
fn flap_memory_round_trips_and_describes_itself() {
    let flap = Flap {
        changes: vec![60_000, 90_000, 125_000],
        since: None,
    };
    assert_eq!(flap.changes_text(), "60000,90000,125000");
    assert_eq!(Flap::parse_changes("60000, 90000,x,125000"), flap.changes);
    assert_eq!(Flap::parse_changes(""), Vec::<i64>::new());
    assert_eq!(flap.described(), "3 changes in 2 min");
}
use Verdict::{Fail as F, Pass as P, Warn as W};

const ONE: Thresholds = Thresholds {
    failure: 1,
    failure_window: 1,
    success: 1,
    success_window: 1,
    renotify_minutes: 0,
    flap_changes: 0,
    flap_minutes: 30,
};

/// Judges `verdicts` one a minute from a new target.
fn run(t: Thresholds, verdicts: &[Verdict]) -> Vec<(Status, Option<TargetEvent>)> {
    let mut p = Progress::default();
    verdicts
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (n, e) = judge(&p, v, t, i as i64 * 60_000);
            p = n;
            (p.status, e)
        })
        .collect()
}

fn events(got: &[(Status, Option<TargetEvent>)]) -> Vec<&'static str> {
    got.iter()
        .filter_map(|x| x.1.map(TargetEvent::as_str))
        .collect()
}

fn states(got: &[(Status, Option<TargetEvent>)]) -> Vec<&'static str> {
    got.iter().map(|x| x.0.as_str()).collect()
}

#[test]
fn new_to_pass_tells_nobody_and_new_to_fail_does() {
    assert_eq!(run(ONE, &[P]), vec![(Status::Pass, None)]);
    assert_eq!(
        run(ONE, &[F]),
        vec![(Status::Fail, Some(TargetEvent::Failure))]
    );
}

#[test]
fn failure_and_recovery_once_each() {
    use TargetEvent::*;
    let got: Vec<_> = run(ONE, &[P, F, F, P, P])
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(got, vec![None, Some(Failure), None, Some(Recovery), None]);
}

#[test]
fn warn_is_its_own_state_with_its_own_alerts() {
    let got = run(ONE, &[P, W, W, P, F, W, P]);
    assert_eq!(
        states(&got),
        ["PASS", "WARN", "WARN", "PASS", "FAIL", "WARN", "PASS"]
    );
    assert_eq!(
        events(&got),
        ["WARNING", "RECOVERY", "FAILURE", "RECOVERY", "RECOVERY"],
        "PASS->WARN warns, WARN->PASS and FAIL->WARN recover"
    );
    assert_eq!(
        events(&run(ONE, &[W])),
        ["WARNING"],
        "a new target already slow"
    );
}

#[test]
fn thresholds_delay_both_ways() {
    let t = Thresholds {
        failure: 3,
        failure_window: 3,
        success: 2,
        success_window: 2,
        ..ONE
    };
    let got = run(t, &[P, F, F, P, F, F, F, P, P]);
    assert_eq!(
        states(&got),
        ["PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "FAIL", "FAIL", "PASS"]
    );
    assert_eq!(events(&got), ["FAILURE", "RECOVERY"]);
}

#[test]
fn x_of_y_windows_count_failures_that_are_not_consecutive() {
    let t = Thresholds {
        failure: 3,
        failure_window: 5,
        success: 3,
        success_window: 5,
        ..ONE
    };
    // One check in three failing: never three in five.
    let third: Vec<Verdict> = (0..60).map(|i| if i % 3 == 0 { F } else { P }).collect();
    assert_eq!(events(&run(t, &third)), Vec::<&str>::new());
    // Three in five, never two in a row: FAIL at the third.
    let got = run(t, &[P, F, P, F, P, F, P, P, P]);
    assert_eq!(events(&got), ["FAILURE", "RECOVERY"]);
    assert_eq!(got[5].0, Status::Fail);
    assert_eq!(got[7].0, Status::Fail, "two passes of the three needed");
    assert_eq!(got[8].0, Status::Pass);
    // Consecutive counting would never fail this target.
    let consecutive = Thresholds {
        failure_window: 3,
        ..t
    };
    assert!(events(&run(consecutive, &[P, F, P, F, P, F, P])).is_empty());
}

#[test]
fn new_target_below_failure_threshold_stays_new() {
    let t = Thresholds {
        failure: 2,
        failure_window: 2,
        ..ONE
    };
    assert_eq!(run(t, &[F])[0], (Status::New, None));
}

#[test]
fn renotify_repeats_failure_while_it_lasts() {
    let t = Thresholds {
        renotify_minutes: 1,
        ..ONE
    };
    let mut p = Progress::default();
    let mut events = vec![];
    for s in 0..=150 {
        let (n, e) = judge(&p, F, t, s * 1000);
        p = n;
        if e.is_some() {
            events.push(s);
        }
    }
    assert_eq!(events, vec![0, 60, 120]);
}

#[test]
fn a_flapping_target_alerts_once_then_once_more_when_it_settles() {
    let t = Thresholds {
        flap_changes: 6,
        flap_minutes: 30,
        renotify_minutes: 15,
        ..ONE
    };
    // Alternating for 20 minutes, then failing for 40.
    let verdicts: Vec<Verdict> = (0..60)
        .map(|i| if i < 20 && i % 2 == 1 { P } else { F })
        .collect();
    let got = run(t, &verdicts);
    let told: Vec<(usize, &str)> = got
        .iter()
        .enumerate()
        .filter_map(|(i, x)| x.1.map(|e| (i, e.as_str())))
        .collect();
    // Changes at minutes 1..=6 (the first FAIL at 0 is NEW taking a state): the
    // sixth change flaps. FAIL from minute 20 on settles 30 minutes later.
    assert_eq!(
        told,
        [
            (0, "FAILURE"),
            (1, "RECOVERY"),
            (2, "FAILURE"),
            (3, "RECOVERY"),
            (4, "FAILURE"),
            (5, "RECOVERY"),
            (6, "FLAPPING"),
            (50, "FAILURE")
        ],
        "{got:?}"
    );
    // Its state kept moving while nobody was told.
    assert_eq!(got[19].0, Status::Pass);
    assert_eq!(got[49].0, Status::Fail);
}

#[test]
fn changes_spread_wider_than_the_flap_period_do_not_flap() {
    let t = Thresholds {
        flap_changes: 3,
        flap_minutes: 2,
        ..ONE
    };
    let got = run(t, &[P, F, P, P, F, P, P, F]);
    assert!(!events(&got).contains(&"FLAPPING"), "{got:?}");
    assert_eq!(
        events(&run(t, &[P, F, P, F])),
        ["FAILURE", "RECOVERY", "FLAPPING"]
    );
}

#[test]
fn counters_saturate_instead_of_overflowing() {
    let p = Progress {
        repeated_fails: u32::MAX,
        status: Status::Fail,
        ..Progress::default()
    };
    assert_eq!(judge(&p, F, ONE, 0).0.repeated_fails, u32::MAX);
}

#[test]
fn a_window_of_64_checks_counts_them_all() {
    let mut r = Recent::default();
    for _ in 0..100 {
        r.push(F);
    }
    assert_eq!((r.failed(64), r.not_failed(64), r.seen), (64, 0, 64));
    r.push(P);
    assert_eq!((r.failed(1), r.not_failed(1), r.clean(1)), (0, 1, 1));
}
