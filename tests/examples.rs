//! The shipped example files stay valid.

mod common;

use common::*;

#[test]
fn example_config_is_valid() {
    let out = std::process::Command::new(SKYPUNCHD)
        .args(["--check-config", "--config"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/etc/skypunchd.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
}

#[test]
fn example_log4rs_yaml_is_accepted_and_used() {
    let f = Fixture::new("");
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/etc/log4rs.yaml"))
        .unwrap()
        .replace(
            "/var/log/skypunch/",
            &format!("{}/yamllog/", f.dir.path().display()),
        );
    std::fs::write(f.path("log4rs.yaml"), yaml).unwrap();
    f.write_config("log_config = \"log4rs.yaml\"");
    f.start();
    let log = f.path("yamllog/skypunch.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains(" INFO skypunchd "), "{text}");
    assert!(f.ctl(&["stop"]).status.success());
}

#[test]
fn example_data_sql_loads_into_a_daemon_made_database() {
    let f = Fixture::new("");
    f.start();
    assert!(f.ctl(&["stop"]).status.success());
    // The operator's way: the sqlite3 shell, the file on its standard input.
    let data = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/data.sql")).unwrap();
    let out = std::process::Command::new("sqlite3")
        .arg(f.database())
        .stdin(data)
        .output()
        .expect("the sqlite3 shell (apt-get install sqlite3)");
    assert!(out.status.success(), "{:?}", text(&out));
    let conn = rusqlite::Connection::open(f.database()).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM targets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    let (method, freq): (String, i64) = conn
        .query_row(
            "SELECT method, timeout FROM targets WHERE name = 'Localhost nginx test'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((method.as_str(), freq), ("GET", 10));
}
