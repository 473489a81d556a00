//! `run` and `create`: a container's configuration from flags, sent as
//! Docker's create body; `run` then starts it, and with `-a` waits for it and
//! exits with its code. The exit codes are the docker CLI's: 125 when the
//! daemon refuses, 127 / 126 when the command cannot be found / executed
//! (chosen from the error text, as the docker CLI does).

use std::collections::BTreeMap;

use lexopt::prelude::*;
use serde_json::{json, Value};

use super::{help, text, value};
use crate::api::{container_path, daemon_error, Api, CliError};
use crate::http_client::encode;

const CONTAINER_OPTIONS: &str = "
  --name NAME             Assign a name (default: a generated adjective_surname)
  --rm                    Remove the container when it exits
  -e, --env KEY=VALUE     Set an environment variable (KEY alone copies it from here)
  --env-file FILE         Read KEY=VALUE lines from a file
  -w, --workdir DIR       Working directory (default: the current directory)
  -l, --label KEY=VALUE   Set a label
  --restart POLICY        no | on-failure[:N] | always | unless-stopped
  --stop-signal SIGNAL    Signal that stops the container (default SIGTERM)
  --stop-timeout SECONDS  Grace period before SIGKILL on stop (default 10)
  --log-opt KEY=VALUE     Log options: max-size=10m, max-file=3
";

fn run_help() -> String {
    format!(
        "Usage: orchestrate run [OPTIONS] [--] COMMAND [ARG...]\n\n\
         Create and start a container. Prints its ID and returns, unless -a.\n\nOptions:\n  \
         -d, --detach            Run in the background and print the ID (the default)\n  \
         -a, --attach            Wait, print the container's output, and exit with its code\
         {CONTAINER_OPTIONS}"
    )
}

fn create_help() -> String {
    format!("Usage: orchestrate create [OPTIONS] [--] COMMAND [ARG...]\n\nCreate a container without starting it; prints its ID.\n\nOptions:{CONTAINER_OPTIONS}")
}

/// Everything `run` and `create` accept.
#[derive(Default)]
struct ContainerOptions {
    name: Option<String>,
    attach: bool,
    auto_remove: bool,
    env: Vec<String>,
    workdir: Option<String>,
    labels: BTreeMap<String, String>,
    restart: Option<(String, i64)>,
    stop_signal: Option<String>,
    stop_timeout: Option<i64>,
    log_options: BTreeMap<String, String>,
    command: Vec<String>,
}

pub fn run(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let Some(options) = parse("run", parser)? else { return help(&run_help()) };
    let id = create_container(api, &options).map_err(exit_125)?;
    if !options.attach {
        println!("{id}");
        start_container(api, &id)?;
        return Ok(0);
    }
    attach_and_start(api, &id, false, options.auto_remove)
}

pub fn create(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let Some(options) = parse("create", parser)? else { return help(&create_help()) };
    if options.attach {
        return Err(CliError::usage("create", "unknown flag: -a"));
    }
    let id = create_container(api, &options).map_err(exit_125)?;
    println!("{id}");
    Ok(0)
}

/// `start -a NAME`: attach, start, print the output as it comes, and exit
/// with the container's code.
pub fn start_attached(api: &mut Api, name: &str) -> Result<i32, CliError> {
    let inspect = api.json("GET", &container_path(name, "/json"), None)?;
    let tty = inspect.pointer("/Config/Tty").and_then(Value::as_bool).unwrap_or(false);
    let auto_remove = inspect.pointer("/HostConfig/AutoRemove").and_then(Value::as_bool).unwrap_or(false);
    attach_and_start(api, name, tty, auto_remove)
}

/// The docker CLI's attached run, on three connections: the attach (upgraded
/// to a raw stream, opened before the start so no output is missed), the wait
/// (its headers come back at once), and the start. Output is printed as it
/// arrives; the exit code comes from the wait.
fn attach_and_start(api: &mut Api, name: &str, tty: bool, auto_remove: bool) -> Result<i32, CliError> {
    let mut attacher = api.client.another();
    let attach_path = container_path(name, "/attach?stream=1&stdout=1&stderr=1");
    let output = attacher.request_upgrade(&attach_path)?;
    if output.status != 101 {
        return Err(daemon_error(output));
    }
    let mut waiter = api.client.another();
    let condition = if auto_remove { "removed" } else { "next-exit" };
    let wait_path = container_path(name, &format!("/wait?condition={condition}"));
    let wait_response = waiter.request_last("POST", &wait_path, None)?;
    if wait_response.status != 200 {
        return Err(daemon_error(wait_response));
    }
    start_container(api, name)?;
    // Ends when the daemon closes the stream: the container has stopped and
    // every byte was delivered.
    super::logs::print_output(output, tty, true)?;
    super::control::read_wait_answer(wait_response, 125)
}

/// Starts the container; a command that cannot run exits 127 or 126.
fn start_container(api: &mut Api, id: &str) -> Result<(), CliError> {
    match api.send("POST", &container_path(id, "/start"), None)? {
        Ok(_) => Ok(()),
        Err(error) => {
            let code = exit_code_for_start_error(&error.message);
            Err(CliError::new(error.into_cli().message, code))
        }
    }
}

/// The docker CLI's rule: the exit code comes from the error's text.
fn exit_code_for_start_error(message: &str) -> i32 {
    if message.contains("executable file not found") || message.contains("no such file or directory") {
        127
    } else if message.contains("permission denied") {
        126
    } else {
        125
    }
}

fn exit_125(error: CliError) -> CliError {
    CliError { exit_code: if error.exit_code == 0 { 0 } else { 125 }, ..error }
}

fn create_container(api: &mut Api, options: &ContainerOptions) -> Result<String, CliError> {
    let cwd = match &options.workdir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?.to_string_lossy().into_owned(),
    };
    let (restart_name, retries) = options.restart.clone().unwrap_or(("no".to_string(), 0));
    let body = json!({
        "Cmd": options.command,
        "Env": options.env,
        "WorkingDir": cwd,
        "Labels": options.labels,
        "Image": "",
        "StopSignal": options.stop_signal,
        "StopTimeout": options.stop_timeout,
        "HostConfig": {
            "AutoRemove": options.auto_remove,
            "RestartPolicy": { "Name": restart_name, "MaximumRetryCount": retries },
            "LogConfig": { "Type": "json-file", "Config": options.log_options },
        },
    });
    let path = match &options.name {
        Some(name) => format!("/containers/create?name={}", encode(name)),
        None => "/containers/create".to_string(),
    };
    let answer = api.json("POST", &path, Some(&body))?;
    answer
        .get("Id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| CliError::new("the daemon's create answer has no Id", 125))
}

/// Reads the flags; `None` when `--help` was asked for.
fn parse(command: &'static str, mut parser: lexopt::Parser) -> Result<Option<ContainerOptions>, CliError> {
    let mut options = ContainerOptions::default();
    let bad = |message: String| CliError { exit_code: 125, ..CliError::usage(command, message) };
    while let Some(arg) = parser.next().map_err(|e| bad(e.to_string()))? {
        match arg {
            Long("name") => options.name = Some(value(command, &mut parser)?),
            Short('d') | Long("detach") if command == "run" => options.attach = false,
            Short('a') | Long("attach") if command == "run" => options.attach = true,
            Long("rm") => options.auto_remove = true,
            Short('e') | Long("env") => {
                let entry = value(command, &mut parser)?;
                options.env.extend(environment_entry(&entry));
            }
            Long("env-file") => {
                let path = value(command, &mut parser)?;
                let content = std::fs::read_to_string(&path).map_err(|e| bad(format!("open {path}: {e}")))?;
                for line in content.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                    options.env.extend(environment_entry(line));
                }
            }
            Short('w') | Long("workdir") => options.workdir = Some(value(command, &mut parser)?),
            Short('l') | Long("label") => {
                let label = value(command, &mut parser)?;
                let (key, value) = label.split_once('=').unwrap_or((&label, ""));
                options.labels.insert(key.to_string(), value.to_string());
            }
            Long("restart") => {
                options.restart = Some(parse_restart(&value(command, &mut parser)?).map_err(bad)?)
            }
            Long("stop-signal") => options.stop_signal = Some(value(command, &mut parser)?),
            Long("stop-timeout") => {
                let seconds = value(command, &mut parser)?;
                options.stop_timeout =
                    Some(seconds.parse().map_err(|_| bad(format!("invalid --stop-timeout: {seconds}")))?);
            }
            Long("log-opt") => {
                let option = value(command, &mut parser)?;
                let (key, value) = option
                    .split_once('=')
                    .ok_or_else(|| bad(format!("invalid --log-opt {option:?}: want KEY=VALUE")))?;
                options.log_options.insert(key.to_string(), value.to_string());
            }
            Short('h') | Long("help") => return Ok(None),
            Value(first) => {
                options.command.push(text(command, first)?);
                for rest in parser.raw_args().map_err(|e| bad(e.to_string()))? {
                    options.command.push(text(command, rest)?);
                }
            }
            other => return Err(bad(other.unexpected().to_string())),
        }
    }
    if options.command.is_empty() {
        return Err(bad(format!("\"orchestrate {command}\" requires a command to run")));
    }
    Ok(Some(options))
}

/// `-e KEY=VALUE` as is; `-e KEY` takes KEY's value from this environment, or
/// is left out when unset (the docker CLI's rule).
fn environment_entry(entry: &str) -> Option<String> {
    if entry.contains('=') {
        return Some(entry.to_string());
    }
    std::env::var(entry).ok().map(|value| format!("{entry}={value}"))
}

fn parse_restart(policy: &str) -> Result<(String, i64), String> {
    let (name, count) = policy.split_once(':').unwrap_or((policy, ""));
    match (name, count) {
        ("no" | "always" | "unless-stopped", "") => Ok((name.to_string(), 0)),
        ("on-failure", "") => Ok((name.to_string(), 0)),
        ("on-failure", count) => count
            .parse()
            .map(|n| (name.to_string(), n))
            .map_err(|_| format!("invalid restart policy {policy:?}")),
        _ => Err(format!(
            "invalid restart policy {policy:?}: want no, on-failure[:N], always or unless-stopped"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_error_text() {
        assert_eq!(exit_code_for_start_error("exec: \"x\": executable file not found in $PATH"), 127);
        assert_eq!(exit_code_for_start_error("stat /x: no such file or directory"), 127);
        assert_eq!(exit_code_for_start_error("exec: \"/x\": permission denied"), 126);
        assert_eq!(exit_code_for_start_error("something else"), 125);
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart("on-failure:3"), Ok(("on-failure".to_string(), 3)));
        assert_eq!(parse_restart("always"), Ok(("always".to_string(), 0)));
        assert!(parse_restart("sometimes").is_err());
    }
}
