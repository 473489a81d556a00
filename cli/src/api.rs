//! The CLI's view of the daemon: requests whose failures become `CliError`s
//! with the docker CLI's wording (`Error response from daemon: …`) and exit
//! codes (SPEC §8). The one place a daemon status becomes a CLI error.

use std::path::Path;

use serde_json::Value;

use crate::http_client::{encode, Client};

/// A failed command: what to print on stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub exit_code: i32,
}

impl CliError {
    pub fn new(message: impl Into<String>, exit_code: i32) -> CliError {
        CliError { message: message.into(), exit_code }
    }

    /// A usage mistake, reported with a hint to the command's help.
    pub fn usage(command: &str, message: impl std::fmt::Display) -> CliError {
        CliError::new(format!("{message}\nSee 'orchestrate {command} --help'."), 1)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::new(error.to_string(), 1)
    }
}

/// The daemon, through one keep-alive connection.
pub struct Api {
    pub client: Client,
}

/// A non-2xx answer from the daemon.
#[derive(Debug)]
pub struct DaemonError {
    pub status: u16,
    pub message: String,
}

impl DaemonError {
    /// As the docker CLI prints it, with exit code 1.
    pub fn into_cli(self) -> CliError {
        CliError::new(format!("Error response from daemon: {}", self.message), 1)
    }
}

impl Api {
    pub fn new(socket: &Path) -> Api {
        Api { client: Client::new(socket) }
    }

    /// Sends a request; 2xx and 304 are success, anything else a `DaemonError`.
    /// The outer error is a transport failure (no daemon, broken connection).
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Result<(u16, Vec<u8>), DaemonError>, CliError> {
        let (status, bytes) = self.client.call(method, path, body)?;
        if (200..300).contains(&status) || status == 304 {
            return Ok(Ok((status, bytes)));
        }
        Ok(Err(DaemonError { status, message: daemon_message(&bytes) }))
    }

    /// `send`, with a daemon error turned into the usual exit-1 CLI error.
    pub fn expect(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), CliError> {
        self.send(method, path, body)?.map_err(DaemonError::into_cli)
    }

    /// A successful JSON answer.
    pub fn json(&mut self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, CliError> {
        let (_, bytes) = self.expect(method, path, body)?;
        serde_json::from_slice(&bytes).map_err(|e| CliError::new(format!("bad JSON from daemon: {e}"), 1))
    }
}

/// `/containers/{reference}` with the reference percent-encoded.
pub fn container_path(reference: &str, rest: &str) -> String {
    format!("/containers/{}{rest}", encode(reference))
}

/// Runs `action` for each named container, as the docker CLI does for `stop
/// a b`: each success prints the name, each failure its error, and the
/// command fails (exit 1) if any did.
pub fn for_each(
    names: &[String],
    mut action: impl FnMut(&str) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut failed = false;
    for name in names {
        match action(name) {
            Ok(()) => println!("{name}"),
            Err(error) => {
                eprintln!("{}", error.message);
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::new("", 1))
    } else {
        Ok(())
    }
}

/// The `message` of an error body, or the body itself when it is not JSON.
fn daemon_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string())
}

/// A failed streaming answer (logs, events, wait, attach) as the docker CLI
/// prints it: `Error response from daemon: …`, exit code 1.
pub fn daemon_error(mut response: crate::http_client::Response<'_>) -> CliError {
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(&mut response, &mut body);
    CliError::new(format!("Error response from daemon: {}", daemon_message(&body)), 1)
}
