//! `run` and `create`: a container's configuration from flags, sent as
//! Docker's create body; `run` then starts it, and with `-a`, `-i` or `-t`
//! stays attached (an attached session, `session.rs`) and exits with its code. The exit codes are the docker CLI's: 125 when the
//! daemon refuses, 127 / 126 when the command cannot be found / executed
//! (chosen from the error text, as the docker CLI does).

use std::collections::BTreeMap;
use std::io::IsTerminal;

use lexopt::prelude::*;
use serde_json::{json, Value};

use common::detach_keys::{self, DetachKeys};
use common::sys::WindowSize;

use super::{help, text, value};
use crate::api::{container_path, daemon_error, Api, CliError};
use crate::http_client::encode;
use crate::session::{self, Ended, SessionOptions};

const CONTAINER_OPTIONS: &str = "
  -i, --interactive       Keep stdin open; attached, send this terminal's input to it
  -t, --tty               Give the container a terminal (with -i: an interactive session)
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
         -d, --detach            Run in the background and print the ID (the default without -a, -i, -t)\n  \
         -a, --attach            Wait, print the container's output, and exit with its code\n  \
         --detach-keys KEYS      Keys that detach and leave it running (default ctrl-p,ctrl-q)\
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
    /// `-d` was given: not attached, whatever `-i` and `-t` say.
    detach: bool,
    interactive: bool,
    tty: bool,
    detach_keys: Option<String>,
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
    let attached = !options.detach && (options.attach || options.interactive || options.tty);
    let detach_keys = parse_detach_keys(options.detach_keys.as_deref())?;
    if attached && options.interactive && options.tty && !std::io::stdin().is_terminal() {
        return Err(CliError::new("the input device is not a TTY", 1));
    }
    let id = create_container(api, &options).map_err(exit_125)?;
    if !attached {
        println!("{id}");
        start_container(api, &id)?;
        return Ok(0);
    }
    let session = SessionOptions { tty: options.tty, stdin: options.interactive, detach_keys };
    attach_and_start(api, &id, session, options.auto_remove)
}

/// `--detach-keys`, checked here so a typo fails before anything is created.
pub(super) fn parse_detach_keys(keys: Option<&str>) -> Result<DetachKeys, CliError> {
    DetachKeys::parse(keys.unwrap_or(detach_keys::DEFAULT)).map_err(|message| CliError::new(message, 125))
}

pub fn create(parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let Some(options) = parse("create", parser)? else { return help(&create_help()) };
    if options.attach || options.detach || options.detach_keys.is_some() {
        return Err(CliError::usage("create", "-a, -d and --detach-keys are for run"));
    }
    let id = create_container(api, &options).map_err(exit_125)?;
    println!("{id}");
    Ok(0)
}

/// `start -a [-i] NAME`: attach, start, print the output as it comes (and
/// send stdin with `-i`), and exit with the container's code.
pub fn start_attached(api: &mut Api, name: &str, interactive: bool) -> Result<i32, CliError> {
    let inspect = api.json("GET", &container_path(name, "/json"), None)?;
    let flag = |pointer: &str| inspect.pointer(pointer).and_then(Value::as_bool).unwrap_or(false);
    let session = SessionOptions {
        tty: flag("/Config/Tty"),
        stdin: interactive && flag("/Config/OpenStdin"),
        detach_keys: parse_detach_keys(None)?,
    };
    attach_and_start(api, name, session, flag("/HostConfig/AutoRemove"))
}

/// The docker CLI's attached run, on three connections: the attach (upgraded
/// to a raw stream, opened before the start so no output is missed), the wait
/// (its headers come back at once), and the start. Output is printed as it
/// arrives, input sent with `-i`; the exit code comes from the wait. A detach
/// leaves the container running and exits 0.
fn attach_and_start(
    api: &mut Api,
    name: &str,
    session: SessionOptions,
    auto_remove: bool,
) -> Result<i32, CliError> {
    let mut attacher = api.client.another();
    let stdin = if session.stdin { "&stdin=1" } else { "" };
    let attach_path = container_path(name, &format!("/attach?stream=1&stdout=1&stderr=1{stdin}"));
    let output = attacher.request_upgrade(&attach_path, None)?;
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
    // every byte was delivered (or the user detached).
    let resizer = api.client.another();
    match session::run(output, session, resize_container(resizer, name))? {
        Ended::Detached => Ok(0),
        Ended::OutputEnded => super::control::read_wait_answer(wait_response, 125),
    }
}

/// Sends the terminal's size to the container (`POST …/resize`); a container
/// that already stopped refuses with 409, which the docker CLI ignores too.
pub(super) fn resize_container(
    mut client: crate::http_client::Client,
    name: &str,
) -> impl FnMut(WindowSize) + Send + 'static {
    let name = name.to_string();
    move |size| {
        let path = container_path(&name, &format!("/resize?h={}&w={}", size.rows, size.columns));
        let _ = client.call("POST", &path, None);
    }
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

/// `StdinOnce` as the docker CLI sets it: the first attached client's
/// end-of-input closes the container's stdin — for an attached `run -i`,
/// and for `create -i`, whose stdin is meant for `start -a -i`.
fn command_attaches(options: &ContainerOptions) -> bool {
    !options.detach
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
        "Tty": options.tty,
        "OpenStdin": options.interactive,
        "StdinOnce": options.interactive && command_attaches(options),
        "AttachStdin": options.interactive,
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
            Short('d') | Long("detach") => options.detach = true,
            Short('a') | Long("attach") => options.attach = true,
            Short('i') | Long("interactive") => options.interactive = true,
            Short('t') | Long("tty") => options.tty = true,
            Long("detach-keys") => options.detach_keys = Some(value(command, &mut parser)?),
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
