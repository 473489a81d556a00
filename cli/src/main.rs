//! `orchestrate [--socket PATH] COMMAND`: the CLI. Every command is an HTTP
//! request to the daemon over its Unix socket, printed the way the docker CLI
//! prints it (SPEC §8). `main` reads the global options, picks the command,
//! and turns its error into a message and an exit code.
#![forbid(unsafe_code)]

mod api;
mod commands;
mod http_client;
mod session;
mod terminal;

use std::path::PathBuf;

use api::{Api, CliError};

const USAGE: &str = "\
Usage: orchestrate [--socket PATH] COMMAND [OPTIONS]

Docker's CLI for plain processes: talks to orchestratord over its Unix socket.

Options:
  --socket PATH   daemon socket (env ORCHESTRATOR_SOCKET, default /tmp/orchestrator.sock)
  -h, --help      print this help

Commands:
  run       Create and start a container
  create    Create a container
  attach    Attach to a running container's input and output
  exec      Run a command in a running container
  start     Start one or more stopped containers
  stop      Stop one or more running containers
  restart   Restart one or more containers
  kill      Kill one or more running containers
  rm        Remove one or more containers
  prune     Remove all stopped containers
  pause     Freeze all processes of one or more containers
  unpause   Let paused containers run again
  ps        List containers
  inspect   Show details of one or more containers
  logs      Fetch the output of a container
  wait      Block until containers stop, then print their exit codes
  rename    Rename a container
  events    Print container events as they happen
  top       Display the running processes of a container
  version   Show client and daemon versions
  info      Show daemon-wide information

Run 'orchestrate COMMAND --help' for more information on a command.
";

fn main() {
    common::sys::restore_default_action(libc::SIGPIPE);
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut socket = std::env::var_os("ORCHESTRATOR_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(common::paths::DEFAULT_SOCKET));
    // Global options come before the command name.
    while let Some(first) = args.first().and_then(|a| a.to_str()).map(str::to_string) {
        if first == "--socket" && args.len() > 1 {
            socket = PathBuf::from(args.remove(1));
            args.remove(0);
        } else if let Some(path) = first.strip_prefix("--socket=") {
            socket = PathBuf::from(path);
            args.remove(0);
        } else {
            break;
        }
    }
    let Some(command) = args.first().and_then(|a| a.to_str()).map(str::to_string) else {
        print!("{USAGE}");
        std::process::exit(0);
    };
    if command == "-h" || command == "--help" || command == "help" {
        print!("{USAGE}");
        std::process::exit(0);
    }
    let mut api = Api::new(&socket);
    let result = commands::run(&command, &args[1..], &mut api);
    std::process::exit(match result {
        Ok(code) => code,
        Err(CliError { message, exit_code }) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            exit_code
        }
    });
}
