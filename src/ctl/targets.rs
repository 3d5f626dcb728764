//! `skypunchctl targets ...`: tables and messages in Skypunch's words.

use super::{all_pages, expect_done, silences, unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::{NewTarget, Request, Response, TestReport};
use crate::control::protocol::{TargetInfo, TargetLine};
use crate::ctl::args::{AddTarget, TargetAction, TargetsArgs, TargetsCommand};
use crate::domain::target::CheckKind;
use crate::table::{cell, single_line, Table};

/// Runs a `targets` command.
pub async fn run(client: &mut Client, args: &TargetsArgs, out: &Out) -> Result<(), Failure> {
    match (&args.command, args.id, args.action) {
        (Some(TargetsCommand::Add(add)), _, _) => add_target(client, add, out).await,
        (Some(TargetsCommand::Remove { id }), _, _) => {
            let msg = expect_done(client.request(&Request::RemoveTarget { id: *id }).await?)?;
            out.message(&msg);
            Ok(())
        }
        (None, None, _) => list(client, out).await,
        (None, Some(id), None) => detail(client, id, out).await,
        (None, Some(id), Some(TargetAction::Test)) => test(client, id, out).await,
        (None, Some(id), Some(action)) => {
            let enabled = action == TargetAction::Enable;
            let t = one(client
                .request(&Request::SetTargetEnabled { id, enabled })
                .await?)?;
            if out.json {
                println!(
                    "{}",
                    serde_json::json!({ "id": t.id, "name": t.name, "enabled": t.enabled })
                );
            } else {
                let word = if enabled { "Enabled" } else { "Disabled" };
                println!("Target: {} has been {word}", t.name);
            }
            Ok(())
        }
    }
}

fn one(r: Response) -> Result<TargetInfo, Failure> {
    match r {
        Response::Target(t) => Ok(t),
        other => Err(unexpected(other)),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// The JSON form of a target; `last_trace` only in the detail view, and a target
/// never checked has `last_updated: null`.
pub fn target_json(t: &TargetInfo) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        if t.last_trace.is_none() {
            o.remove("last_trace");
        }
        if t.last_updated.is_empty() {
            o.insert("last_updated".into(), serde_json::Value::Null);
        }
    }
    v
}

async fn list(client: &mut Client, out: &Out) -> Result<(), Failure> {
    // Page by page: the whole list of a large fleet does not fit one frame. The table
    // asks for its columns only; JSON for every field.
    if out.json {
        let targets = all_pages(
            client,
            |last: Option<&TargetInfo>| Request::Targets {
                after: last.map_or(i64::MIN, |t| t.id),
            },
            |answer| match answer {
                Response::Targets(page) => Ok(page),
                other => Err(unexpected(other)),
            },
        )
        .await?;
        let quiet = silences::quiet(client).await?;
        let all: Vec<_> = targets
            .iter()
            .map(|t| {
                let mut v = target_json(t);
                quiet.of_target(t.id, &t.name).add_to(&mut v);
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(());
    }
    let mut lines = all_pages(
        client,
        |last: Option<&TargetLine>| Request::TargetLines {
            after: last.map_or(i64::MIN, |t| t.id),
        },
        |answer| match answer {
            Response::TargetLines(page) => Ok(page),
            other => Err(unexpected(other)),
        },
    )
    .await?;
    let quiet = silences::quiet(client).await?;
    for x in &mut lines {
        silences::mark(&mut x.status, &quiet.of_target(x.id, &x.name));
    }
    print!("{}", list_table(&lines));
    Ok(())
}

/// The target list: `ID | Name | Status | LastUpdated | Enabled | Pass Count | Fail Count`.
pub fn list_table(targets: &[TargetLine]) -> String {
    let mut t = Table::list(&[
        "ID",
        "Name",
        "Status",
        "LastUpdated",
        "Enabled",
        "Pass Count",
        "Fail Count",
    ]);
    for x in targets {
        let name = single_line(&x.name);
        let cells: [&dyn std::fmt::Display; 7] = [
            &x.id,
            &name,
            &x.status,
            &x.last_updated,
            &yes_no(x.enabled),
            &x.pass_count,
            &x.fail_count,
        ];
        t.row(&cells);
    }
    t.render()
}

/// The detail table with Skypunch's rows.
pub fn detail_table(x: &TargetInfo) -> String {
    let mut t = Table::detail();
    // A target that speaks no HTTP has no status to expect: "-" says so instead of
    // an HTTP default it does not use.
    let kind = CheckKind::of_url(&x.url).unwrap_or_default();
    let method = kind.shown(&x.method).to_string();
    let expected = match kind {
        CheckKind::Http => x.expect_status.to_string(),
        _ => "-".to_string(),
    };
    for (k, v) in [
        ("ID", x.id.to_string()),
        ("Name", cell(&x.name)),
        ("Status", x.status.clone()),
        ("Enabled", yes_no(x.enabled).into()),
        ("Status Description", cell(&x.status_description)),
        ("Last Updated", x.last_updated.clone()),
        ("Target URL", cell(&x.url)),
        ("Target Method", method),
        ("Authentication", x.auth_type.clone()),
        ("Expected Value", expected),
        ("Frequency (sec)", x.frequency.to_string()),
        ("Timeout (sec)", x.timeout.to_string()),
        ("Pass Count", x.pass_count.to_string()),
        ("Fail Count", x.fail_count.to_string()),
        ("200 Status Count", x.count200.to_string()),
        ("300 Status Count", x.count300.to_string()),
        ("400 Status Count", x.count400.to_string()),
        ("500 Status Count", x.count500.to_string()),
        ("Network Fail Count", x.network_fails.to_string()),
        ("Repeated Fail Count", x.repeated_fails.to_string()),
    ]
    .into_iter()
    // Skypunch's table, unless the target has been WARN.
    .chain((x.warn_count > 0).then(|| ("Warn Count", x.warn_count.to_string())))
    {
        t.row(&[k.to_string(), v]);
    }
    t.render()
}

async fn detail(client: &mut Client, id: i64, out: &Out) -> Result<(), Failure> {
    let mut t = one(client.request(&Request::Target { id }).await?)?;
    let marks = silences::quiet(client).await?.of_target(t.id, &t.name);
    if out.json {
        let mut v = target_json(&t);
        marks.add_to(&mut v);
        println!("{v}");
        return Ok(());
    }
    t.status = silences::marked(&t.status, &marks);
    print!("{}", detail_table(&t));
    for s in &marks.silences {
        println!("Silenced: {s}");
    }
    if let Some(a) = &marks.acked {
        println!(
            "Acknowledged: alert {} by {} at {} UTC: {}",
            a.alert_id,
            a.user,
            a.time,
            cell(&a.comment)
        );
    }
    match t.last_trace.as_deref().filter(|s| !s.is_empty()) {
        Some(trace) => print!("\nLast trace:\n{trace}"),
        None => println!("\nLast trace: none yet"),
    }
    Ok(())
}

async fn test(client: &mut Client, id: i64, out: &Out) -> Result<(), Failure> {
    let report: TestReport = match client.request(&Request::TestTarget { id }).await? {
        Response::Test(r) => r,
        other => return Err(unexpected(other)),
    };
    if out.json {
        println!(
            "{}",
            serde_json::json!({
                "id": report.id,
                "name": report.name,
                "result": report.verdict.as_str(),
                "description": report.description,
                "line": report.line,
                "trace": report.trace,
            })
        );
    } else {
        println!("{}", report.line);
        print!("{}", report.trace);
    }
    if report.verdict.passed() {
        Ok(())
    } else {
        Err(Failure::silent())
    }
}

/// Builds the request of `targets add`, refusing malformed options here.
pub fn new_target(a: &AddTarget) -> Result<NewTarget, Failure> {
    let mut options = a.options.clone();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("--header {h:?}: expected NAME:VALUE")))?;
        options
            .headers
            .insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(NewTarget {
        name: a.name.clone(),
        url: a.url.clone(),
        method: a.method.to_ascii_uppercase(),
        expect_status: a.expect_status,
        frequency: a.frequency,
        timeout: a.timeout,
        enabled: !a.disabled,
        authn: a.auth.to_ascii_uppercase(),
        authn_params: a.auth_params.clone(),
        options: options.to_json(),
    })
}

async fn add_target(client: &mut Client, add: &AddTarget, out: &Out) -> Result<(), Failure> {
    let new = new_target(add)?;
    let t = one(client.request(&Request::AddTarget(new)).await?)?;
    if out.json {
        println!("{}", target_json(&t));
    } else {
        println!("Target: {} has been added with id {}", t.name, t.id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> TargetInfo {
        TargetInfo {
            id: 1,
            name: "Google Dot COM".into(),
            status: "PASS".into(),
            status_description: "OK".into(),
            last_updated: "2013-07-11 06:28:39".into(),
            enabled: true,
            url: "https://www.google.com".into(),
            method: "GET".into(),
            auth_type: "NONE".into(),
            expect_status: 200,
            frequency: 10,
            timeout: 10,
            pass_count: 13048,
            fail_count: 0,
            warn_count: 0,
            count200: 13048,
            count300: 0,
            count400: 0,
            count500: 0,
            network_fails: 0,
            repeated_fails: 0,
            last_trace: None,
        }
    }

    #[test]
    fn detail_table_is_skypunchs() {
        let expected = "\
+---------------------+------------------------+
| ID                  | 1                      |
+---------------------+------------------------+
| Name                | Google Dot COM         |
+---------------------+------------------------+
| Status              | PASS                   |
+---------------------+------------------------+
| Enabled             | Yes                    |
+---------------------+------------------------+
| Status Description  | OK                     |
+---------------------+------------------------+
| Last Updated        | 2013-07-11 06:28:39    |
+---------------------+------------------------+
| Target URL          | https://www.google.com |
+---------------------+------------------------+
| Target Method       | GET                    |
+---------------------+------------------------+
| Authentication      | NONE                   |
+---------------------+------------------------+
| Expected Value      | 200                    |
+---------------------+------------------------+
| Frequency (sec)     | 10                     |
+---------------------+------------------------+
| Timeout (sec)       | 10                     |
+---------------------+------------------------+
| Pass Count          | 13048                  |
+---------------------+------------------------+
| Fail Count          | 0                      |
+---------------------+------------------------+
| 200 Status Count    | 13048                  |
+---------------------+------------------------+
| 300 Status Count    | 0                      |
+---------------------+------------------------+
| 400 Status Count    | 0                      |
+---------------------+------------------------+
| 500 Status Count    | 0                      |
+---------------------+------------------------+
| Network Fail Count  | 0                      |
+---------------------+------------------------+
| Repeated Fail Count | 0                      |
+---------------------+------------------------+
";
        assert_eq!(detail_table(&info()), expected);
    }

    #[test]
    fn list_header_is_skypunchs() {
        let t = info();
        let text = list_table(&[TargetLine {
            id: t.id,
            name: t.name,
            status: t.status,
            last_updated: t.last_updated,
            enabled: t.enabled,
            pass_count: t.pass_count,
            fail_count: t.fail_count,
        }]);
        let header = text.lines().nth(1).unwrap();
        assert_eq!(
            header,
            "| ID | Name           | Status | LastUpdated         | Enabled | Pass Count | Fail Count |"
        );
    }

    #[test]
    fn json_keys_are_the_specs() {
        let v = target_json(&info());
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "id",
            "name",
            "status",
            "status_description",
            "last_updated",
            "enabled",
            "url",
            "method",
            "auth_type",
            "expect_status",
            "frequency",
            "timeout",
            "pass_count",
            "fail_count",
            "count200",
            "count300",
            "count400",
            "count500",
            "network_fails",
            "repeated_fails",
            "warn_count",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert!(!keys.contains(&"last_trace"));
    }
}
