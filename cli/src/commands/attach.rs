//! `attach NAME`: join a running container's output (and its stdin, when it
//! was created with `-i`) until it stops — then exit with its code — or
//! until the detach keys, which leave it running (docs/09-attach.md).

use lexopt::prelude::*;
use serde_json::Value;

use super::{help, text, usage_error, value};
use crate::api::{container_path, daemon_error, Api, CliError};
use crate::http_client::encode;
use crate::session::{self, Ended, SessionOptions};

const ATTACH_HELP: &str = "\
Usage: orchestrate attach [OPTIONS] NAME

Attach this terminal's input and output to a running container.

Options:
      --no-stdin           Do not attach stdin
      --detach-keys KEYS   Keys that detach and leave it running (default ctrl-p,ctrl-q)
";

pub fn attach(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let (mut no_stdin, mut keys, mut name) = (false, None, None);
    while let Some(arg) = parser.next().map_err(usage_error("attach"))? {
        match arg {
            Long("no-stdin") => no_stdin = true,
            Long("detach-keys") => keys = Some(value("attach", &mut parser)?),
            Short('h') | Long("help") => return help(ATTACH_HELP),
            Value(value) if name.is_none() => name = Some(text("attach", value)?),
            other => return Err(usage_error("attach")(other.unexpected())),
        }
    }
    let name =
        name.ok_or_else(|| CliError::usage("attach", "\"orchestrate attach\" requires exactly 1 argument."))?;
    let detach_keys =
        super::run::parse_detach_keys(keys.as_deref()).map_err(|e| CliError::new(e.message, 1))?;
    // As the docker CLI: look first, and refuse what cannot be attached to.
    let inspect = api.json("GET", &container_path(&name, "/json"), None)?;
    let flag = |pointer: &str| inspect.pointer(pointer).and_then(Value::as_bool).unwrap_or(false);
    if !flag("/State/Running") {
        return Err(CliError::new("You cannot attach to a stopped container, start it first", 1));
    }
    if flag("/State/Paused") {
        return Err(CliError::new("You cannot attach to a paused container, unpause it first", 1));
    }
    let options = SessionOptions {
        tty: flag("/Config/Tty"),
        stdin: !no_stdin && flag("/Config/OpenStdin"),
        detach_keys,
    };
    let mut query = String::from("stream=1&stdout=1&stderr=1");
    if options.stdin {
        query.push_str("&stdin=1");
    }
    if let Some(keys) = &keys {
        query.push_str(&format!("&detachKeys={}", encode(keys)));
    }
    let mut attacher = api.client.another();
    let stream = attacher.request_upgrade(&container_path(&name, &format!("/attach?{query}")), None)?;
    if stream.status != 101 {
        return Err(daemon_error(stream));
    }
    let resizer = super::run::resize_container(api.client.another(), &name);
    match session::run(stream, options, resizer)? {
        Ended::Detached => Ok(0),
        // The container stopped: its exit code is this command's.
        Ended::OutputEnded => super::control::wait_for_exit(api, &name, None),
    }
}
