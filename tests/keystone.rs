//! OpenStack Keystone authentication of targets, against a Keystone-shaped server that
//! implements the v2.0 and v3 Identity APIs.

mod common;

use common::keystone::{self as ks, Keystone};
use common::*;

fn os_target(name: &str, url: &str, auth: &str) -> String {
    format!(
        "[[target]]\nname = \"{name}\"\nurl = \"{url}\"\nfrequency = 1\ntimeout = 3\n\
         auth = {{ type = \"openstack\", user = \"{}\", password = '{}', {auth} }}\n",
        ks::USER,
        ks::PASSWORD
    )
}

fn status(v: &serde_json::Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

fn passes(v: &serde_json::Value) -> i64 {
    v["pass_count"].as_i64().unwrap_or(0)
}

#[test]
fn v2_and_v3_logins_pass_and_targets_share_one_token_per_credential() {
    let k = Keystone::start();
    let mut config = String::new();
    for i in 0..10 {
        config += &os_target(
            &format!("v2 {i}"),
            &k.service_url(),
            &format!(
                "auth_url = \"{}\", tenant_id = \"{}\"",
                k.v2_url(),
                ks::TENANT
            ),
        );
    }
    config += &os_target(
        "v3 by id",
        &k.service_url(),
        &format!(
            "auth_url = \"{}/\", project_id = \"{}\"",
            k.v3_url(),
            ks::PROJECT_ID
        ),
    );
    config += &os_target(
        "v3 by name",
        &k.service_url(),
        &format!(
            "auth_url = \"{}\", project_name = \"{}\", domain = \"{}\"",
            k.v3_url(),
            ks::PROJECT_NAME,
            ks::DOMAIN
        ),
    );
    let f = Fixture::new(&config);
    f.start();
    for id in 1..=12 {
        let t = f.wait_target(id, "three passes", |v| passes(v) >= 3);
        assert_eq!(t["fail_count"], 0, "{t}");
        assert_eq!(t["auth_type"], "OPENSTACK");
    }
    // One login per credential set, however many targets and checks.
    assert_eq!(k.issued(), 3, "tokens issued");
    let trace = f.json(&["targets", "1"])["last_trace"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        trace.contains(&format!(
            "keystone token for demo from {} (cached) [OK]",
            k.v2_url()
        )),
        "{trace}"
    );
    // Neither the password nor any token leaks.
    let detail = text(&f.ctl(&["targets", "11"])).0;
    let json = f.json(&["targets"]).to_string() + &f.json(&["targets", "12"]).to_string();
    for place in [f.log(), detail, json] {
        assert!(!place.contains(ks::PASSWORD), "password leaked");
        for token in k.token_ids() {
            assert!(!place.contains(&token), "token leaked");
        }
    }
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn a_revoked_token_costs_no_failed_check() {
    let k = Keystone::start();
    let f = Fixture::new(&os_target(
        "svc",
        &k.service_url(),
        &format!(
            "auth_url = \"{}\", tenant_id = \"{}\"",
            k.v2_url(),
            ks::TENANT
        ),
    ));
    f.start();
    f.wait_target(1, "a pass", |v| passes(v) >= 1);
    assert_eq!(k.issued(), 1);
    k.revoke_all();
    let t = f.wait_target(1, "a new token", |_| k.issued() == 2);
    let t = f.wait_target(1, "passes after the revocation", |v| {
        passes(v) >= passes(&t) + 2
    });
    assert_eq!(t["fail_count"], 0, "{t}");
    assert_eq!(status(&t), "PASS");
    assert_eq!(k.issued(), 2, "one new login, not one per check");
    assert!(
        f.log().contains("[1] svc") && !f.log().contains("FAIL"),
        "{}",
        f.log()
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn tokens_are_renewed_before_they_expire() {
    let k = Keystone::start();
    k.set_lifetime_ms(3000);
    let f = Fixture::new(&os_target(
        "svc",
        &k.service_url(),
        &format!(
            "auth_url = \"{}\", project_id = \"{}\"",
            k.v3_url(),
            ks::PROJECT_ID
        ),
    ));
    f.start();
    let t = f.wait_target(1, "eight passes", |v| passes(v) >= 8);
    assert_eq!(t["fail_count"], 0, "{t}");
    // Renewed halfway through each 3 s lifetime: several logins, far fewer than checks.
    let issued = k.issued() as i64;
    assert!(
        issued >= 3 && issued < passes(&t),
        "issued {issued} for {} checks",
        passes(&t)
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn bad_credentials_and_an_unreachable_keystone_are_failures_that_say_so() {
    let k = Keystone::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/v2.0", closed.local_addr().unwrap());
    drop(closed);
    let wrong = format!(
        "[[target]]\nname = \"wrong\"\nurl = \"{}\"\nfrequency = 1\n\
         auth = {{ type = \"openstack\", user = \"demo\", password = \"nope\", auth_url = \"{}\", tenant_id = \"{}\" }}\n",
        k.service_url(),
        k.v2_url(),
        ks::TENANT
    );
    let f = Fixture::new(
        &(wrong
            + &os_target(
                "dead",
                &k.service_url(),
                &format!("auth_url = \"{dead}\", tenant_id = \"t\""),
            )),
    );
    f.start();
    let t = f.wait_target(1, "a FAIL", |v| status(v) == "FAIL");
    assert_eq!(
        t["status_description"],
        "Openstack keystone auth failure 401 Unauthorized"
    );
    let trace = t["last_trace"].as_str().unwrap();
    assert!(
        trace.contains("keystone token for demo from http://")
            && trace.contains("[FAIL] reason: Openstack keystone auth failure 401 Unauthorized"),
        "{trace}"
    );
    let t = f.wait_target(2, "a FAIL", |v| status(v) == "FAIL");
    assert_eq!(
        t["status_description"],
        format!("Openstack keystone {dead}/tokens unreachable: connection refused")
    );
    assert_eq!(
        k.service_requests(),
        0,
        "the service was called without a token"
    );
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn skypunch_parameter_strings_work_from_the_cli_and_missing_ones_are_refused() {
    let k = Keystone::start();
    let f = Fixture::new("");
    f.start();
    let params = format!(
        "user={},password={},osauthendpoint={},tenantid={}",
        ks::PLAIN_USER,
        ks::PLAIN_PASSWORD,
        k.v2_url(),
        ks::TENANT
    );
    let out = f.ctl(&[
        "targets",
        "add",
        "--name",
        "cli",
        "--url",
        &k.service_url(),
        "--frequency",
        "1",
        "--auth",
        "openstack",
        "--auth-params",
        &params,
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let t = f.wait_target(1, "a PASS", |v| status(v) != "NEW");
    assert_eq!(
        (status(&t), t["status_description"].as_str()),
        ("PASS", Some("OK")),
        "{t}"
    );
    // The same string in a row inserted by hand.
    rusqlite::Connection::open(f.database())
        .unwrap()
        .execute(
            "INSERT INTO targets (name, url, frequency, authn, authn_params) VALUES ('sql', ?, 1, 'OPENSTACK', ?)",
            [k.service_url(), params.clone()],
        )
        .unwrap();
    let t = f.wait_target(2, "a PASS", |v| status(v) != "NEW");
    assert_eq!(status(&t), "PASS", "{t}");
    assert!(
        !f.log().contains(ks::PLAIN_PASSWORD),
        "password leaked into the log"
    );

    let out = f.ctl(&[
        "targets",
        "add",
        "--name",
        "x",
        "--url",
        &k.service_url(),
        "--auth",
        "openstack",
        "--auth-params",
        "user=u,password=p",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(
            "invalid Openstack / Keystone authn params (user,password,tenantid,osauthendpoint)"
        ),
        "{:?}",
        text(&out)
    );
    assert!(f.ctl(&["stop"]).status.success());

    let g = Fixture::new("[[target]]\nname = \"o\"\nurl = \"http://127.0.0.1/\"\nauth = { type = \"openstack\", user = \"u\", password = \"p\" }");
    let out = g.ctl(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains(
        "invalid Openstack / Keystone authn params (user,password,tenantid,osauthendpoint)"
    ));
}

#[test]
fn a_wrong_password_never_borrows_another_targets_token() {
    let k = Keystone::start();
    let right = os_target(
        "right",
        &k.service_url(),
        &format!(
            "auth_url = \"{}\", tenant_id = \"{}\"",
            k.v2_url(),
            ks::TENANT
        ),
    );
    let wrong = format!(
        "[[target]]\nname = \"wrong\"\nurl = \"{}\"\nfrequency = 1\ntimeout = 3\n\
         auth = {{ type = \"openstack\", user = \"{}\", password = \"not-the-password\", \
         auth_url = \"{}\", tenant_id = \"{}\" }}\n",
        k.service_url(),
        ks::USER,
        k.v2_url(),
        ks::TENANT
    );
    let f = Fixture::new(&(right + &wrong));
    f.start();
    f.wait_target(1, "a pass with the right password", |v| passes(v) >= 1);
    // Checks of the wrong password made while the right one's token is cached.
    let t = f.wait_target(2, "three checks after the token was cached", |v| {
        v["fail_count"].as_i64().unwrap_or(0) + passes(v) >= 4
    });
    assert_eq!(passes(&t), 0, "the wrong password passed: {t}");
    assert_eq!(
        t["status_description"],
        "Openstack keystone auth failure 401 Unauthorized"
    );
    assert!(f.ctl(&["stop"]).status.success());
}
