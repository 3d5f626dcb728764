//! `skypunchctl notifiers ...`: tables and messages in Skypunch's words.

use super::{expect_done, unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::NotifierInfo;
use crate::control::protocol::{NewNotifier, Request, Response};
use crate::ctl::args::{AddNotifier, NotifierAction, NotifiersArgs, NotifiersCommand};
use crate::store::notifiers::NotifierParams;
use crate::table::{cell, Table};

/// Runs a `notifiers` command.
pub async fn run(client: &mut Client, args: &NotifiersArgs, out: &Out) -> Result<(), Failure> {
    match (&args.command, args.id, args.action) {
        (Some(NotifiersCommand::Add(add)), _, _) => {
            let new = new_notifier(add)?;
            let n = one(client.request(&Request::AddNotifier(new)).await?)?;
            if out.json {
                println!("{}", notifier_json(&n));
            } else {
                println!("Notifier: {} has been added with id {}", n.name, n.id);
            }
            Ok(())
        }
        (Some(NotifiersCommand::Remove { id }), _, _) => {
            let msg = expect_done(client.request(&Request::RemoveNotifier { id: *id }).await?)?;
            out.message(&msg);
            Ok(())
        }
        (None, None, _) => {
            let all = match client.request(&Request::Notifiers).await? {
                Response::Notifiers(n) => n,
                other => return Err(unexpected(other)),
            };
            if out.json {
                let v: Vec<_> = all.iter().map(notifier_json).collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                print!("{}", list_table(&all));
            }
            Ok(())
        }
        (None, Some(id), None) => {
            let n = one(client.request(&Request::Notifier { id }).await?)?;
            if out.json {
                println!("{}", notifier_json(&n));
            } else {
                print!("{}", detail_table(&n));
                println!("\nPending deliveries: {}", n.pending);
                if !n.last_error.is_empty() {
                    println!("Last error: {}", n.last_error);
                }
            }
            Ok(())
        }
        (None, Some(id), Some(NotifierAction::Test)) => test(client, id, out).await,
        (None, Some(id), Some(action)) => {
            let enabled = action == NotifierAction::Enable;
            let n = one(client
                .request(&Request::SetNotifierEnabled { id, enabled })
                .await?)?;
            if out.json {
                println!(
                    "{}",
                    serde_json::json!({ "id": n.id, "name": n.name, "enabled": n.enabled })
                );
            } else {
                let word = if enabled { "Enabled" } else { "Disabled" };
                println!("Notifier: {} has been {word}", n.name);
            }
            Ok(())
        }
    }
}

fn one(r: Response) -> Result<NotifierInfo, Failure> {
    match r {
        Response::Notifier(n) => Ok(n),
        other => Err(unexpected(other)),
    }
}

async fn test(client: &mut Client, id: i64, out: &Out) -> Result<(), Failure> {
    let (name, delivered, message) = match client.request(&Request::TestNotifier { id }).await? {
        Response::NotifierTest {
            name,
            delivered,
            message,
        } => (name, delivered, message),
        other => return Err(unexpected(other)),
    };
    if out.json {
        println!(
            "{}",
            serde_json::json!({ "id": id, "name": name, "delivered": delivered, "message": message })
        );
    } else if delivered {
        println!("Notifier: {name}: test message delivered ({message})");
    } else {
        println!("Notifier: {name}: test message not delivered: {message}");
    }
    if delivered {
        Ok(())
    } else {
        Err(Failure::silent())
    }
}

/// The JSON form: `id, name, enabled, type, address, pass_count, fail_count`, and
/// `pending`, `last_error`.
pub fn notifier_json(n: &NotifierInfo) -> serde_json::Value {
    serde_json::to_value(n).unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_string()
}

/// `ID | Name | Enabled | Type | Address`.
pub fn list_table(all: &[NotifierInfo]) -> String {
    let mut t = Table::list(&["ID", "Name", "Enabled", "Type", "Address"]);
    for n in all {
        t.row(&[
            n.id.to_string(),
            cell(&n.name),
            yes_no(n.enabled),
            n.kind.clone(),
            cell(&n.address),
        ]);
    }
    t.render()
}

/// The list's rows, then Pass Count and Fail Count (SPEC §6).
pub fn detail_table(n: &NotifierInfo) -> String {
    let mut t = Table::detail();
    for (k, v) in [
        ("ID", n.id.to_string()),
        ("Name", cell(&n.name)),
        ("Enabled", yes_no(n.enabled)),
        ("Type", n.kind.clone()),
        ("Address", cell(&n.address)),
        ("Pass Count", n.pass_count.to_string()),
        ("Fail Count", n.fail_count.to_string()),
    ] {
        t.row(&[k.to_string(), v]);
    }
    t.render()
}

/// Builds the request of `notifiers add`, refusing what does not fit the type here.
pub fn new_notifier(a: &AddNotifier) -> Result<NewNotifier, Failure> {
    let (field, value) = match a.kind.to_ascii_lowercase().as_str() {
        "smtp" => ("--address", &a.address),
        "command" => ("--command", &a.command),
        "webhook" | "alertmanager" => ("--url", &a.url),
        other => {
            return Err(Failure::usage(format!(
                "--type {other:?}: expected smtp, command, webhook or alertmanager"
            )))
        }
    };
    let address = value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Failure::usage(format!("--type {} needs {field}", a.kind)))?;
    if a.timeout == 0 {
        return Err(Failure::usage("--timeout must be at least 1 second"));
    }
    let alertmanager = a.kind.eq_ignore_ascii_case("alertmanager");
    let mut params = NotifierParams {
        timeout: Some(a.timeout),
        only_targets: a.only_targets.clone(),
        only_servers: a.only_servers.clone(),
        group_interval: Some(a.group_interval.unwrap_or(match alertmanager {
            true => 0,
            false => crate::domain::supervise::DEFAULT_GROUP_INTERVAL_S,
        })),
        escalate_after: a.escalate_after.filter(|&s| s > 0),
        ..Default::default()
    };
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("--header {h:?}: expected NAME:VALUE")))?;
        params
            .headers
            .insert(k.trim().to_string(), v.trim().to_string());
    }
    for l in &a.labels {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--label {l:?}: expected NAME=VALUE")))?;
        params.labels.insert(k.trim().to_string(), v.to_string());
    }
    if alertmanager {
        params.resend_interval = Some(
            a.resend_interval
                .unwrap_or(crate::config::DEFAULT_RESEND_INTERVAL_S),
        );
    }
    Ok(NewNotifier {
        name: a.name.clone(),
        kind: a.kind.to_ascii_lowercase(),
        address,
        params: params.to_json(),
        enabled: !a.disabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> NotifierInfo {
        NotifierInfo {
            id: 3,
            name: "Operations".into(),
            enabled: true,
            kind: "smtp".into(),
            address: "ops@example.com".into(),
            pass_count: 2,
            fail_count: 1,
            pending: 0,
            last_error: String::new(),
        }
    }

    #[test]
    fn list_header_is_the_specs() {
        let text = list_table(&[info()]);
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "| ID | Name       | Enabled | Type | Address         |"
        );
        assert_eq!(
            text.lines().nth(3).unwrap(),
            "| 3  | Operations | Yes     | smtp | ops@example.com |"
        );
    }

    #[test]
    fn detail_rows_are_the_specs() {
        let rows: Vec<String> = detail_table(&info())
            .lines()
            .filter(|l| l.starts_with('|'))
            .map(|l| l.split('|').nth(1).unwrap().trim().to_string())
            .collect();
        assert_eq!(
            rows,
            [
                "ID",
                "Name",
                "Enabled",
                "Type",
                "Address",
                "Pass Count",
                "Fail Count"
            ]
        );
    }

    #[test]
    fn json_keys_are_the_specs() {
        let v = notifier_json(&info());
        for k in [
            "id",
            "name",
            "enabled",
            "type",
            "address",
            "pass_count",
            "fail_count",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
    }
}
