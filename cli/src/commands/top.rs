//! `top NAME`: the container's processes, as `docker top` prints them.

use lexopt::prelude::*;
use serde_json::Value;

use super::{aligned, help, text, usage_error};
use crate::api::{container_path, Api, CliError};

const TOP_HELP: &str = "\
Usage: orchestrate top NAME

Display the running processes of a container.
";

pub fn top(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let mut name = None;
    while let Some(arg) = parser.next().map_err(usage_error("top"))? {
        match arg {
            Short('h') | Long("help") => return help(TOP_HELP),
            Value(value) if name.is_none() => name = Some(text("top", value)?),
            other => return Err(usage_error("top")(other.unexpected())),
        }
    }
    let name =
        name.ok_or_else(|| CliError::usage("top", "\"orchestrate top\" requires exactly 1 argument."))?;
    let answer = api.json("GET", &container_path(&name, "/top"), None)?;
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| items.iter().map(|v| v.as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    let mut rows = vec![strings(&answer["Titles"])];
    rows.extend(answer["Processes"].as_array().into_iter().flatten().map(strings));
    print!("{}", aligned(&rows));
    Ok(0)
}
