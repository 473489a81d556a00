//! `exec NAME -- CMD…`: run a command in a running container, as the docker
//! CLI does: create the exec (`POST /containers/NAME/exec`), start it on an
//! upgraded connection (`POST /exec/ID/start`), relay its input and output,
//! then read its exit code (`GET /exec/ID/json`) and exit with it
//! (docs/11-exec.md).

use lexopt::prelude::*;
use serde_json::{json, Value};

use super::{help, text, usage_error, value};
use crate::api::{container_path, daemon_error, Api, CliError};
use crate::session::{self, Ended, SessionOptions};

const EXEC_HELP: &str = "\
Usage: orchestrate exec [OPTIONS] NAME [--] COMMAND [ARG...]

Run a command in a running container; exit with its code.

Options:
  -d, --detach            Run it in the background
  -i, --interactive       Send this terminal's input to it
  -t, --tty               Give it a terminal
  -e, --env KEY=VALUE     Set an environment variable
  -w, --workdir DIR       Working directory (default: the container's)
      --detach-keys KEYS  Keys that detach and leave it running (default ctrl-p,ctrl-q)
";

pub fn exec(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let (mut detach, mut interactive, mut tty) = (false, false, false);
    let (mut env, mut workdir, mut keys) = (Vec::new(), String::new(), None);
    let mut name = None;
    let mut command = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error("exec"))? {
        match arg {
            Short('d') | Long("detach") => detach = true,
            Short('i') | Long("interactive") => interactive = true,
            Short('t') | Long("tty") => tty = true,
            Short('e') | Long("env") => env.push(value("exec", &mut parser)?),
            Short('w') | Long("workdir") => workdir = value("exec", &mut parser)?,
            Long("detach-keys") => keys = Some(value("exec", &mut parser)?),
            Short('h') | Long("help") => return help(EXEC_HELP),
            Value(value) if name.is_none() => name = Some(text("exec", value)?),
            Value(first) => {
                command.push(text("exec", first)?);
                for rest in parser.raw_args().map_err(usage_error("exec"))? {
                    command.push(text("exec", rest)?);
                }
            }
            other => return Err(usage_error("exec")(other.unexpected())),
        }
    }
    let Some(name) = name.filter(|_| !command.is_empty()) else {
        return Err(CliError::usage("exec", "\"orchestrate exec\" requires at least 2 arguments."));
    };
    let detach_keys =
        super::run::parse_detach_keys(keys.as_deref()).map_err(|e| CliError::new(e.message, 1))?;
    if interactive && tty && !detach && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(CliError::new("the input device is not a TTY", 1));
    }
    let body = json!({
        "User": "",
        "Privileged": false,
        "Tty": tty,
        "AttachStdin": interactive && !detach,
        "AttachStdout": !detach,
        "AttachStderr": !detach,
        "Detach": detach,
        "DetachKeys": keys.unwrap_or_default(),
        "Env": env,
        "WorkingDir": workdir,
        "Cmd": command,
    });
    let created = api.json("POST", &container_path(&name, "/exec"), Some(&body))?;
    let id = created.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
    let start_path = format!("/exec/{id}/start");
    if detach {
        api.expect("POST", &start_path, Some(&json!({ "Detach": true, "Tty": tty })))?;
        return Ok(0);
    }

    let mut starter = api.client.another();
    let stream = starter.request_upgrade(&start_path, Some(&json!({ "Detach": false, "Tty": tty })))?;
    if stream.status != 101 {
        return Err(daemon_error(stream));
    }
    let mut resizer = api.client.another();
    let resize_id = id.clone();
    let resize = move |size: common::sys::WindowSize| {
        let path = format!("/exec/{resize_id}/resize?h={}&w={}", size.rows, size.columns);
        let _ = resizer.call("POST", &path, None);
    };
    let ended = session::run(stream, SessionOptions { tty, stdin: interactive, detach_keys }, resize)?;
    if ended == Ended::Detached {
        return Ok(0);
    }
    // A new connection: the old keep-alive one may have died with a daemon
    // that went away during the session, which then says so plainly.
    let mut asker = Api { client: api.client.another() };
    let inspect = asker.json("GET", &format!("/exec/{id}/json"), None)?;
    Ok(inspect.get("ExitCode").and_then(Value::as_i64).unwrap_or(0) as i32)
}
