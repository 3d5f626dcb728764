//! Unit tests of target definitions.

use super::*;
use crate::config::BASIC_PARAMS_ERROR;

fn row(authn: &str, params: &str) -> TargetRow {
    TargetRow {
        method: "get".into(),
        authn: authn.into(),
        authn_params: params.into(),
        frequency: 10,
        ..TargetRow::of_url(8, "n", "http://127.0.0.1/")
    }
}

#[test]
fn skypunch_basic_params_string() {
    let d = TargetDef::from_row(&row("BASIC", "user=freebeer,password=forall"));
    assert_eq!(d.invalid, None);
    match d.auth {
        Auth::Basic { user, password } => {
            assert_eq!((user.as_str(), password.expose()), ("freebeer", "forall"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.method, Method::Get);
}

#[test]
fn missing_params_give_skypunch_messages() {
    let d = TargetDef::from_row(&row("BASIC", "user=freebeer"));
    assert_eq!(d.invalid.as_deref(), Some(BASIC_PARAMS_ERROR));
    let d = TargetDef::from_row(&row("OPENSTACK", "user=u,password=p,tenantid=t"));
    assert_eq!(d.invalid.as_deref(), Some(OPENSTACK_PARAMS_ERROR));
    let d = TargetDef::from_row(&row(
        "OPENSTACK",
        "user=u,password=p,osauthendpoint=http://k:5000/v2.0,tenantid=t",
    ));
    assert_eq!(d.invalid, None);
    assert!(matches!(
        d.auth,
        Auth::Openstack(Keystone { scope: KeystoneScope::Tenant(ref t), .. }) if t == "t"
    ));
}

#[test]
fn bad_rows_are_invalid_not_errors() {
    let mut r = row("NONE", "");
    r.method = "FETCH".into();
    assert!(TargetDef::from_row(&r).invalid.unwrap().contains("FETCH"));
    let mut r = row("NONE", "");
    r.url = "localhost".into();
    assert!(TargetDef::from_row(&r).invalid.unwrap().contains("url"));
    let mut r = row("NONE", "");
    r.options = "{\"body_regex\": \"(\"}".into();
    assert!(TargetDef::from_row(&r)
        .invalid
        .unwrap()
        .contains("body_regex"));
    let mut r = row("NONE", "");
    r.options = "{\"bogus\": 1}".into();
    assert!(TargetDef::from_row(&r).invalid.unwrap().contains("bogus"));
    let mut r = row("NONE", "");
    r.frequency = 0;
    assert!(TargetDef::from_row(&r)
        .invalid
        .unwrap()
        .contains("frequency"));
}

#[test]
fn authn_problems_never_quote_a_password() {
    for (authn, params) in [
        ("BASIC", "user=u,password=hunter2,tail"),
        ("BASIC", "user=u,password=hunter2,x=tail"),
        ("OPENSTACK", "user=u,password=hunter2,tail=x"),
        ("BASIC", r#"{"user": "u", "password": 918273645}"#),
        ("BASIC", r#"{"user": "u", "password": "hunter2"#),
    ] {
        let problem = TargetDef::from_row(&row(authn, params)).invalid.unwrap();
        for secret in ["hunter2", "tail", "918273645"] {
            assert!(!problem.contains(secret), "{params}: {problem}");
        }
        assert!(problem.contains("authn"), "{problem}");
    }
}

#[test]
fn out_of_range_numbers_are_invalid_not_clamped() {
    let mut r = row("NONE", "");
    r.frequency = i64::from(u32::MAX) + 2;
    assert!(TargetDef::from_row(&r)
        .invalid
        .unwrap()
        .contains("frequency"));
    let mut r = row("NONE", "");
    r.timeout = -1;
    assert!(TargetDef::from_row(&r).invalid.unwrap().contains("timeout"));
    let mut r = row("NONE", "");
    r.url = "http://[::1/".into();
    assert!(TargetDef::from_row(&r).invalid.unwrap().contains("url"));
    let mut r = row("NONE", "");
    r.unreadable = Some("invalid frequency 0.5 (a whole number of seconds)".into());
    assert_eq!(
        TargetDef::from_row(&r).invalid.as_deref(),
        Some("invalid frequency 0.5 (a whole number of seconds)")
    );
}

#[test]
fn config_round_trips_through_a_row() {
    let text = "[[target]]\nname = \"a\"\nurl = \"https://x/\"\nmethod = \"POST\"\n\
                auth = { type = \"basic\", user = \"u\", password = \"p,=q\" }\n\
                headers = { X-A = \"1\" }\nbody_contains = \"ok\"\nfailure_threshold = 3\n\
                success_window = 4\nwarn_cert_days = 20\nflap_changes = 0\n";
    let c = crate::config::Config::parse(text, std::path::Path::new("/x.toml")).unwrap();
    let mut r = row_from_config(&c.targets[0]);
    r.id = 1;
    let d = TargetDef::from_row(&r);
    assert_eq!(d.invalid, None);
    assert_eq!(d.method, Method::Post);
    assert_eq!(
        d.auth,
        Auth::Basic {
            user: "u".into(),
            password: Secret::new("p,=q")
        }
    );
    assert_eq!(d.options.failure_threshold, 3);
    assert_eq!(d.options.headers["X-A"], "1");
    assert_eq!(d.options.warn_cert_days, Some(20));
    let t = d.options.thresholds();
    assert_eq!(
        (t.failure, t.failure_window),
        (3, 3),
        "consecutive unless a window is set"
    );
    assert_eq!((t.success, t.success_window, t.flap_changes), (1, 4, 0));
}
