//! The commands that act on existing containers: start, stop, restart, kill,
//! rm, prune, wait, rename. Each is a thin loop over `POST
//! /containers/{name}/…` with the docker CLI's output.

use lexopt::prelude::*;
use serde_json::Value;

use super::{help, require, text, usage_error, value};
use crate::api::{container_path, daemon_error, for_each, Api, CliError};
use crate::http_client::encode;

const START_HELP: &str = "\
Usage: orchestrate start [-a] [-i] NAME...

Start one or more created or stopped containers.

Options:
  -a, --attach        Attach to the container's output and exit with its code
  -i, --interactive   Attach this terminal's input too (a container created with -i)
";

pub fn start(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let (mut attach, mut interactive, mut names) = (false, false, Vec::new());
    while let Some(arg) = parser.next().map_err(usage_error("start"))? {
        match arg {
            Short('a') | Long("attach") => attach = true,
            Short('i') | Long("interactive") => interactive = true,
            Short('h') | Long("help") => return help(START_HELP),
            Value(name) => names.push(text("start", name)?),
            other => return Err(usage_error("start")(other.unexpected())),
        }
    }
    require("start", &names, 1)?;
    if attach || interactive {
        if names.len() > 1 {
            return Err(CliError::usage("start", "you cannot start and attach multiple containers at once"));
        }
        return super::run::start_attached(api, &names[0], interactive);
    }
    let result = for_each(&names, |name| api.expect("POST", &container_path(name, "/start"), None).map(drop));
    result
        .map(|()| 0)
        .map_err(|_| CliError::new(format!("Error: failed to start containers: {}", names.join(", ")), 1))
}

const STOP_HELP: &str = "\
Usage: orchestrate stop [-t SECONDS] [-s SIGNAL] NAME...

Stop one or more running containers: the stop signal (SIGTERM unless the
container sets another), then SIGKILL after the grace period.

Options:
  -t, --time SECONDS    Seconds to wait before killing (default 10)
  -s, --signal SIGNAL   Signal to send first
";

pub fn stop(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    act_on_each(parser, api, "stop", STOP_HELP, &[TIME_OPTION, SIGNAL_OPTION])
}

const RESTART_HELP: &str = "\
Usage: orchestrate restart [-t SECONDS] NAME...

Restart one or more containers (stop if running, then start).

Options:
  -t, --time SECONDS   Seconds to wait before killing (default 10)
";

pub fn restart(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    act_on_each(parser, api, "restart", RESTART_HELP, &[TIME_OPTION])
}

const KILL_HELP: &str = "\
Usage: orchestrate kill [-s SIGNAL] NAME...

Send a signal (default SIGKILL) to one or more running containers.

Options:
  -s, --signal SIGNAL   Signal to send: a name (TERM, SIGUSR1) or a number
";

pub fn kill(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    act_on_each(parser, api, "kill", KILL_HELP, &[SIGNAL_OPTION])
}

const RM_HELP: &str = "\
Usage: orchestrate rm [-f] NAME...

Remove one or more containers.

Options:
  -f, --force   Kill a running container first (and ignore missing ones)
";

pub fn rm(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let (mut force, mut names) = (false, Vec::new());
    while let Some(arg) = parser.next().map_err(usage_error("rm"))? {
        match arg {
            Short('f') | Long("force") => force = true,
            Short('h') | Long("help") => return help(RM_HELP),
            Value(name) => names.push(text("rm", name)?),
            other => return Err(usage_error("rm")(other.unexpected())),
        }
    }
    require("rm", &names, 1)?;
    let path = |name: &str| container_path(name, if force { "?force=1" } else { "" });
    let mut failed = false;
    for name in &names {
        match api.send("DELETE", &path(name), None)? {
            Ok(_) => println!("{name}"),
            Err(error) => {
                // As the docker CLI: with -f, a missing container is reported
                // but does not fail the command.
                failed |= !(force && error.status == 404);
                eprintln!("{}", error.into_cli().message);
            }
        }
    }
    Ok(i32::from(failed))
}

const PRUNE_HELP: &str = "\
Usage: orchestrate prune [-f]

Remove all stopped (created or exited) containers.

Options:
  -f, --force   Accepted for compatibility: prune never asks
";

pub fn prune(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    while let Some(arg) = parser.next().map_err(usage_error("prune"))? {
        match arg {
            Short('f') | Long("force") => {}
            Short('h') | Long("help") => return help(PRUNE_HELP),
            other => return Err(usage_error("prune")(other.unexpected())),
        }
    }
    let answer = api.json("POST", "/containers/prune", None)?;
    let deleted = answer.get("ContainersDeleted").and_then(Value::as_array).cloned().unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for id in deleted.iter().filter_map(Value::as_str) {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: 0B");
    Ok(0)
}

const WAIT_HELP: &str = "\
Usage: orchestrate wait NAME...

Block until one or more containers stop, then print their exit codes.
";

pub fn wait(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let mut names = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error("wait"))? {
        match arg {
            Short('h') | Long("help") => return help(WAIT_HELP),
            Value(name) => names.push(text("wait", name)?),
            other => return Err(usage_error("wait")(other.unexpected())),
        }
    }
    require("wait", &names, 1)?;
    let mut failed = false;
    for name in &names {
        match wait_for_exit(api, name, None) {
            Ok(code) => println!("{code}"),
            Err(error) => {
                eprintln!("{}", error.message);
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// `POST /containers/{name}/wait[?condition=…]`; the container's exit code.
pub fn wait_for_exit(api: &mut Api, name: &str, condition: Option<&str>) -> Result<i32, CliError> {
    let query = condition.map(|c| format!("?condition={c}")).unwrap_or_default();
    // A wait can last long: `Connection: close` lets the daemon's HTTP layer
    // release the connection's reader at once (docs/06-daemon-threads.md).
    let response = api.client.request_last("POST", &container_path(name, &format!("/wait{query}")), None)?;
    if response.status != 200 {
        return Err(daemon_error(response));
    }
    read_wait_answer(response, 1)
}

/// The body of a `wait` answer, `{"Error":null,"StatusCode":N}`: the exit
/// code, or — as the docker CLI has it — exit 125 with `Error waiting for
/// container: …`. A body that is no such answer fails with `failure_code`.
pub fn read_wait_answer(
    mut response: crate::http_client::Response<'_>,
    failure_code: i32,
) -> Result<i32, CliError> {
    let mut body = Vec::new();
    // A daemon that went away mid-wait: the docker CLI's wording and code.
    std::io::Read::read_to_end(&mut response, &mut body)
        .map_err(|error| CliError::new(format!("error waiting for container: {error}"), failure_code))?;
    let bad = |why: String| CliError::new(format!("bad wait answer: {why}"), failure_code);
    let answer: Value = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    if let Some(message) = answer.pointer("/Error/Message").and_then(Value::as_str) {
        return Err(CliError::new(format!("Error waiting for container: {message}"), 125));
    }
    let code =
        answer.get("StatusCode").and_then(Value::as_i64).ok_or_else(|| bad("no StatusCode".to_string()))?;
    Ok(code as i32)
}

const RENAME_HELP: &str = "\
Usage: orchestrate rename OLD NEW

Rename a container.
";

pub fn rename(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let mut names = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error("rename"))? {
        match arg {
            Short('h') | Long("help") => return help(RENAME_HELP),
            Value(name) => names.push(text("rename", name)?),
            other => return Err(usage_error("rename")(other.unexpected())),
        }
    }
    if names.len() != 2 {
        return Err(CliError::usage("rename", "\"orchestrate rename\" requires exactly 2 arguments."));
    }
    let path = container_path(&names[0], &format!("/rename?name={}", encode(&names[1])));
    api.expect("POST", &path, None).map_err(|error| {
        CliError::new(format!("{}\nError: failed to rename container named {}", error.message, names[0]), 1)
    })?;
    Ok(0)
}

fn query_string(parts: &[String]) -> String {
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

const PAUSE_HELP: &str = "\
Usage: orchestrate pause NAME...

Freeze every process of one or more running containers (SIGSTOP).
";

const UNPAUSE_HELP: &str = "\
Usage: orchestrate unpause NAME...

Let the processes of one or more paused containers run again (SIGCONT).
";

pub fn pause(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    act_on_each(parser, api, "pause", PAUSE_HELP, &[])
}

pub fn unpause(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    act_on_each(parser, api, "unpause", UNPAUSE_HELP, &[])
}

/// A flag that becomes a query parameter: short name, long names, parameter.
type QueryOption = (char, &'static [&'static str], &'static str);
const TIME_OPTION: QueryOption = ('t', &["time", "timeout"], "t");
const SIGNAL_OPTION: QueryOption = ('s', &["signal"], "signal");

/// `POST /containers/{name}/{action}?…` for each name, the `options` given
/// on the command line passed on as query parameters.
fn act_on_each(
    mut parser: lexopt::Parser,
    api: &mut Api,
    action: &'static str,
    usage: &str,
    options: &[QueryOption],
) -> Result<i32, CliError> {
    let (mut query, mut names) = (Vec::new(), Vec::new());
    while let Some(arg) = parser.next().map_err(usage_error(action))? {
        let option = options.iter().find(|(short, longs, _)| match &arg {
            Short(c) => c == short,
            Long(name) => longs.contains(name),
            _ => false,
        });
        match arg {
            _ if option.is_some() => {
                let (_, _, key) = option.expect("invariant: checked just above");
                query.push(format!("{key}={}", encode(&value(action, &mut parser)?)));
            }
            Short('h') | Long("help") => return help(usage),
            Value(name) => names.push(text(action, name)?),
            other => return Err(usage_error(action)(other.unexpected())),
        }
    }
    require(action, &names, 1)?;
    let path = |name: &str| container_path(name, &format!("/{action}{}", query_string(&query)));
    for_each(&names, |name| api.expect("POST", &path(name), None).map(drop)).map(|()| 0)
}
