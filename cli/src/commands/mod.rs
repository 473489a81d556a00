//! One module per family of commands. Each command parses its own flags with
//! `lexopt`, prints `--help`, makes its requests through `Api`, and returns
//! the exit code (SPEC §8).

use std::ffi::OsString;

use crate::api::{Api, CliError};

mod attach;
mod control;
mod events;
mod exec;
mod inspect;
mod logs;
mod ps;
mod run;
mod system;
mod top;

pub use logs::print_output;

/// Runs `command` with its arguments; returns the process exit code.
pub fn run(command: &str, args: &[OsString], api: &mut Api) -> Result<i32, CliError> {
    let parser = lexopt::Parser::from_args(args.iter().cloned());
    match command {
        "run" => run::run(parser, api),
        "attach" => attach::attach(parser, api),
        "exec" => exec::exec(parser, api),
        "create" => run::create(parser, api),
        "start" => control::start(parser, api),
        "stop" => control::stop(parser, api),
        "restart" => control::restart(parser, api),
        "kill" => control::kill(parser, api),
        "rm" => control::rm(parser, api),
        "prune" => control::prune(parser, api),
        "pause" => control::pause(parser, api),
        "unpause" => control::unpause(parser, api),
        "wait" => control::wait(parser, api),
        "rename" => control::rename(parser, api),
        "ps" => ps::ps(parser, api),
        "inspect" => inspect::inspect(parser, api),
        "logs" => logs::logs(parser, api),
        "events" => events::events(parser, api),
        "top" => top::top(parser, api),
        "version" => system::version(parser, api),
        "info" => system::info(parser, api),
        other => Err(CliError::new(
            format!("orchestrate: '{other}' is not an orchestrate command.\nSee 'orchestrate --help'"),
            1,
        )),
    }
}

/// Prints a command's help and ends it successfully.
fn help(text: &str) -> Result<i32, CliError> {
    print!("{text}");
    Ok(0)
}

/// The text of an option value or positional argument.
fn text(command: &str, value: OsString) -> Result<String, CliError> {
    value.into_string().map_err(|v| CliError::usage(command, format!("argument is not valid UTF-8: {v:?}")))
}

/// A flag's value as text.
fn value(command: &str, parser: &mut lexopt::Parser) -> Result<String, CliError> {
    let raw = parser.value().map_err(|e| CliError::usage(command, e))?;
    text(command, raw)
}

/// Turns a lexopt error into a usage error of `command`.
fn usage_error(command: &str) -> impl Fn(lexopt::Error) -> CliError + '_ {
    move |error| CliError::usage(command, error)
}

/// Fails unless at least `minimum` names were given.
fn require(command: &str, names: &[String], minimum: usize) -> Result<(), CliError> {
    if names.len() < minimum {
        let what = if minimum == 1 { "1 argument".to_string() } else { format!("{minimum} arguments") };
        return Err(CliError::usage(command, format!("\"orchestrate {command}\" requires at least {what}.")));
    }
    Ok(())
}

/// Docker's `filters` query parameter, gathered from `--filter KEY=VALUE`
/// flags: URL-encoded JSON `{"key":{"value":true}}`.
#[derive(Default)]
struct Filters(std::collections::BTreeMap<String, std::collections::BTreeMap<String, bool>>);

impl Filters {
    /// Adds one `KEY=VALUE` flag.
    fn add(&mut self, command: &str, flag: &str) -> Result<(), CliError> {
        let (key, wanted) = flag.split_once('=').ok_or_else(|| {
            CliError::usage(command, format!("bad format of filter (expected name=value): {flag}"))
        })?;
        self.0.entry(key.to_string()).or_default().insert(wanted.to_string(), true);
        Ok(())
    }

    /// `filters=…`, or `None` when no filter was given.
    fn query(&self) -> Option<String> {
        let json = serde_json::to_string(&self.0).expect("invariant: a map of strings serializes");
        (!self.0.is_empty()).then(|| format!("filters={}", crate::http_client::encode(&json)))
    }
}

/// Rows as the docker CLI prints tables: each column as wide as its widest
/// cell, three spaces apart, no trailing blanks.
fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if column + 1 < columns {
                line.push_str(&" ".repeat(widths[column] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
