//! `ps`: the container table, as the docker CLI draws it: columns padded to
//! their widest cell and three spaces apart, the command quoted and cut at 20
//! characters, times relative to now. `-q` prints IDs only, `--format json`
//! one JSON object a line.

use std::time::Duration;

use lexopt::prelude::*;
use serde_json::{json, Value};

use common::human_time::human_duration;
use common::ids::short;

use super::{aligned, help, usage_error, value, Filters};
use crate::api::{Api, CliError};

const PS_HELP: &str = "\
Usage: orchestrate ps [OPTIONS]

List containers (running ones, unless -a).

Options:
  -a, --all                 Show all containers
  -q, --quiet               Only display container IDs
  -f, --filter KEY=VALUE    Filter: status=exited, name=web, label=k=v, id=abc
      --format table|json   Output format (default table)
      --no-trunc            Do not truncate IDs and commands
";

pub fn ps(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let (mut all, mut quiet, mut json_format, mut no_trunc) = (false, false, false, false);
    let mut filters = Filters::default();
    while let Some(arg) = parser.next().map_err(usage_error("ps"))? {
        match arg {
            Short('a') | Long("all") => all = true,
            Short('q') | Long("quiet") => quiet = true,
            Long("no-trunc") => no_trunc = true,
            Short('f') | Long("filter") => filters.add("ps", &value("ps", &mut parser)?)?,
            Long("format") => match value("ps", &mut parser)?.as_str() {
                "json" | "{{json .}}" => json_format = true,
                "table" => json_format = false,
                other => {
                    return Err(CliError::usage(
                        "ps",
                        format!("unsupported --format {other:?}: use table or json"),
                    ))
                }
            },
            Short('h') | Long("help") => return help(PS_HELP),
            other => return Err(usage_error("ps")(other.unexpected())),
        }
    }
    let mut path = format!("/containers/json?all={}", u8::from(all));
    if let Some(filters) = filters.query() {
        path.push_str(&format!("&{filters}"));
    }
    let listing = api.json("GET", &path, None)?;
    let containers = listing.as_array().cloned().unwrap_or_default();
    if quiet {
        for container in &containers {
            let id = field(container, "Id");
            println!("{}", if no_trunc { id.as_str() } else { short(&id) });
        }
    } else if json_format {
        for container in &containers {
            println!("{}", json_line(container));
        }
    } else {
        print!("{}", table(&containers, no_trunc));
    }
    Ok(0)
}

fn field(container: &Value, key: &str) -> String {
    container.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn name_of(container: &Value) -> String {
    let names = container.get("Names").and_then(Value::as_array);
    names.and_then(|n| n.first()).and_then(Value::as_str).unwrap_or("").trim_start_matches('/').to_string()
}

fn created_ago(container: &Value) -> String {
    let created = container.get("Created").and_then(Value::as_i64).unwrap_or(0);
    let now = common::time::now_nanos() / 1_000_000_000;
    format!("{} ago", human_duration(Duration::from_secs((now as i64 - created).max(0) as u64)))
}

/// The docker CLI's `--format json` object for one container.
fn json_line(container: &Value) -> Value {
    let labels = container.get("Labels").and_then(Value::as_object).cloned().unwrap_or_default();
    let labels: Vec<String> =
        labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
    let created = container.get("Created").and_then(Value::as_i64).unwrap_or(0);
    json!({
        "ID": short(&field(container, "Id")),
        "Names": name_of(container),
        "Command": format!("\"{}\"", field(container, "Command")),
        "CreatedAt": common::time::format_rfc3339(created as i128 * 1_000_000_000),
        "RunningFor": created_ago(container),
        "Status": field(container, "Status"),
        "State": field(container, "State"),
        "Labels": labels.join(","),
    })
}

/// The table: a header row, then one row per container.
fn table(containers: &[Value], no_trunc: bool) -> String {
    let mut rows = vec![["CONTAINER ID", "COMMAND", "CREATED", "STATUS", "NAMES"].map(String::from).to_vec()];
    for container in containers {
        let id = field(container, "Id");
        let command = field(container, "Command");
        let command = if no_trunc || command.chars().count() <= 20 {
            command
        } else {
            format!("{}…", command.chars().take(19).collect::<String>())
        };
        rows.push(vec![
            if no_trunc { id.clone() } else { short(&id).to_string() },
            format!("\"{command}\""),
            created_ago(container),
            field(container, "Status"),
            name_of(container),
        ]);
    }
    aligned(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let now = common::time::now_nanos() / 1_000_000_000;
        let containers = [
            json!({"Id": "a".repeat(64), "Names": ["/web"], "Command": "sleep 100", "Created": now, "Status": "Up 2 seconds"}),
            json!({"Id": "b".repeat(64), "Names": ["/x"], "Command": "sh -c echo hi; echo err", "Created": now, "Status": "Created"}),
        ];
        let text = table(&containers, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let status_column = lines[0].find("STATUS").unwrap();
        assert_eq!(lines[1].find("Up 2 seconds"), Some(status_column));
        assert!(lines[2].contains("\"sh -c echo hi; echo…\""));
        assert!(lines[1].starts_with("aaaaaaaaaaaa   "));
    }
}
