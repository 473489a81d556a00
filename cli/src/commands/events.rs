//! `events`: the daemon's lifecycle events as they happen (or replayed with
//! `--since`), one line each in the docker CLI's format:
//! `2026-11-29T01:05:23.139388753Z container die 8f3e… (exitCode=3, image=, name=web)`.

use std::io::{BufRead, Write};

use lexopt::prelude::*;
use serde_json::Value;

use super::logs::time_parameter;
use super::{help, usage_error, value, Filters};
use crate::api::{daemon_error, Api, CliError};

const EVENTS_HELP: &str = "\
Usage: orchestrate events [OPTIONS]

Print container events as they happen: create, start, die, kill, stop,
pause, unpause, rename, destroy.

Options:
      --since TIME          Replay events since TIME (RFC 3339, Unix seconds, or 10m)
      --until TIME          Stop at TIME
  -f, --filter KEY=VALUE    container=NAME|ID, event=ACTION, type=container, label=K[=V]
      --format json         One JSON object a line
";

pub fn events(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let mut query = Vec::new();
    let mut filters = Filters::default();
    let mut json_format = false;
    while let Some(arg) = parser.next().map_err(usage_error("events"))? {
        match arg {
            Long("since") => query.push(format!("since={}", time_parameter(&value("events", &mut parser)?)?)),
            Long("until") => query.push(format!("until={}", time_parameter(&value("events", &mut parser)?)?)),
            Short('f') | Long("filter") => filters.add("events", &value("events", &mut parser)?)?,
            Long("format") => json_format = value("events", &mut parser)? == "json",
            Short('h') | Long("help") => return help(EVENTS_HELP),
            other => return Err(usage_error("events")(other.unexpected())),
        }
    }
    query.extend(filters.query());
    let path = if query.is_empty() { "/events".to_string() } else { format!("/events?{}", query.join("&")) };
    let response = api.client.request_last("GET", &path, None)?;
    if response.status != 200 {
        return Err(daemon_error(response));
    }
    let mut stdout = std::io::stdout().lock();
    // Ends when the daemon ends the stream (`--until`) or goes away.
    for line in std::io::BufReader::new(response).lines() {
        let line = line?;
        let Ok(event) = serde_json::from_str::<Value>(line.trim()) else { continue };
        if json_format {
            writeln!(stdout, "{event}")?;
        } else {
            writeln!(stdout, "{}", describe(&event))?;
        }
        stdout.flush()?;
    }
    Ok(0)
}

/// The docker CLI's one-line form of an event.
fn describe(event: &Value) -> String {
    let nanos = event.get("timeNano").and_then(Value::as_i64).unwrap_or(0);
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let attributes =
        event.pointer("/Actor/Attributes").and_then(Value::as_object).cloned().unwrap_or_default();
    let attributes: Vec<String> =
        attributes.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
    format!(
        "{} {} {} {} ({})",
        common::time::format_rfc3339(nanos as i128),
        text("Type"),
        text("Action"),
        text("id"),
        attributes.join(", ")
    )
}
