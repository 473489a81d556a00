//! `inspect`: the daemon's inspect documents, printed as one JSON array with
//! four-space indentation, as the docker CLI prints them.

use lexopt::prelude::*;
use serde_json::Value;

use super::{help, require, text, usage_error};
use crate::api::{container_path, Api, CliError};

const INSPECT_HELP: &str = "\
Usage: orchestrate inspect NAME...

Show the full configuration and state of one or more containers, as JSON.
";

pub fn inspect(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let mut names = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error("inspect"))? {
        match arg {
            Short('h') | Long("help") => return help(INSPECT_HELP),
            Value(name) => names.push(text("inspect", name)?),
            other => return Err(usage_error("inspect")(other.unexpected())),
        }
    }
    require("inspect", &names, 1)?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &names {
        match api.send("GET", &container_path(name, "/json"), None)? {
            Ok((_, bytes)) => found.push(
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| CliError::new(format!("bad JSON: {e}"), 1))?,
            ),
            Err(error) if error.status == 404 => missing.push(name.clone()),
            Err(error) => return Err(error.into_cli()),
        }
    }
    let mut out = String::new();
    pretty(&Value::Array(found), 0, &mut out);
    println!("{out}");
    if missing.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(format!("Error: No such container: {}", missing.join(", ")), 1))
    }
}

/// JSON with four-space indentation (serde_json's pretty printer uses two).
fn pretty(value: &Value, depth: usize, out: &mut String) {
    let indent = |depth: usize| "    ".repeat(depth);
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                pretty(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        Value::Object(fields) if !fields.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in fields.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                pretty(item, depth + 1, out);
                out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_space_indent() {
        let mut out = String::new();
        pretty(&serde_json::json!([{"Id": "x", "Args": [], "State": {"Running": true}}]), 0, &mut out);
        assert_eq!(
            out,
            "[\n    {\n        \"Args\": [],\n        \"Id\": \"x\",\n        \"State\": {\n            \"Running\": true\n        }\n    }\n]"
        );
    }
}
