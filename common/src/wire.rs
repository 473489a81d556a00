//! Wire types shared by two processes: the container's configuration as stored
//! in `meta.json` (daemon → shim, daemon → restarted daemon), the `exit` record
//! (shim → daemon), and the messages of the shim's control protocol. Each is
//! JSON, built and read with `serde_json::Value` so the format is visible here
//! field by field (docs/04-shim.md has the protocol).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// `HostConfig.RestartPolicy`: `no`, `on-failure` (with a maximum retry count),
/// `always`, `unless-stopped`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i64,
}

/// `HostConfig.LogConfig` options of the json-file log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// `max-size`, as given (`10m`); empty for the default.
    pub max_size: String,
    /// `max-file`, as given (`3`); empty for the default.
    pub max_file: String,
}

/// The log cap when a container sets none: at most this many bytes a file...
pub const DEFAULT_LOG_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// ...and this many files (`log`, `log.1`, … `log.4`): 50 MiB on disk at most.
pub const DEFAULT_LOG_MAX_FILES: u32 = 5;

impl LogOptions {
    /// Bytes a log file may reach before it is rotated.
    pub fn max_size_bytes(&self) -> u64 {
        parse_size(&self.max_size).unwrap_or(DEFAULT_LOG_MAX_SIZE)
    }

    /// How many files (the live one included) are kept.
    pub fn max_files(&self) -> u32 {
        self.max_file.parse().ok().filter(|&n| n >= 1).unwrap_or(DEFAULT_LOG_MAX_FILES)
    }
}

/// `10m`, `512k`, `1g`, `100` (bytes) as a byte count, as Docker reads `max-size`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let number: u64 = digits.parse().ok()?;
    let multiplier = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1024,
        "m" | "mb" => 1024 * 1024,
        "g" | "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(multiplier).filter(|&bytes| bytes > 0)
}

/// A container's configuration: the content of `meta.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerConfig {
    pub id: String,
    pub name: String,
    /// The image name the client gave, recorded and never pulled.
    pub image: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// Absolute working directory of the process.
    pub cwd: String,
    /// The whole environment of the process, `KEY=value` each.
    pub env: Vec<String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub labels: BTreeMap<String, String>,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub log: LogOptions,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    pub created_at: String,
    /// Empty until the first start.
    pub started_at: String,
    /// Restarts made by the restart policy (Docker's `RestartCount`); kept
    /// here so `on-failure:N` still counts after a daemon restart.
    pub restart_count: u64,
    /// Stopped by `stop`: `unless-stopped` and `on-failure` leave it stopped,
    /// even across daemon restarts; a `start` clears it.
    pub manually_stopped: bool,
}

impl ContainerConfig {
    /// The argument vector of the container's main process: entrypoint, then cmd.
    pub fn argv(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "entrypoint": self.entrypoint,
            "cmd": self.cmd,
            "cwd": self.cwd,
            "env": self.env,
            "tty": self.tty,
            "open_stdin": self.open_stdin,
            "stdin_once": self.stdin_once,
            "labels": self.labels,
            "restart_policy": {
                "name": self.restart_policy.name,
                "maximum_retry_count": self.restart_policy.maximum_retry_count,
            },
            "auto_remove": self.auto_remove,
            "log": { "max_size": self.log.max_size, "max_file": self.log.max_file },
            "stop_signal": self.stop_signal,
            "stop_timeout": self.stop_timeout,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "restart_count": self.restart_count,
            "manually_stopped": self.manually_stopped,
        })
    }

    /// Reads `meta.json`; `None` if it is not a configuration we wrote.
    pub fn from_json(value: &Value) -> Option<ContainerConfig> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let flag = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
        let policy = value.get("restart_policy");
        let log = value.get("log");
        Some(ContainerConfig {
            id: text("id")?,
            name: text("name")?,
            image: text("image").unwrap_or_default(),
            entrypoint: string_list(value.get("entrypoint")),
            cmd: string_list(value.get("cmd")),
            cwd: text("cwd").unwrap_or_else(|| "/".to_string()),
            env: string_list(value.get("env")),
            tty: flag("tty"),
            open_stdin: flag("open_stdin"),
            stdin_once: flag("stdin_once"),
            labels: string_map(value.get("labels")),
            restart_policy: RestartPolicy {
                name: policy.and_then(|p| p.get("name")).and_then(Value::as_str).unwrap_or("no").to_string(),
                maximum_retry_count: policy
                    .and_then(|p| p.get("maximum_retry_count"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            },
            auto_remove: flag("auto_remove"),
            log: LogOptions {
                max_size: log
                    .and_then(|l| l.get("max_size"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                max_file: log
                    .and_then(|l| l.get("max_file"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
            stop_signal: text("stop_signal").unwrap_or_default(),
            stop_timeout: value.get("stop_timeout").and_then(Value::as_i64),
            created_at: text("created_at").unwrap_or_default(),
            started_at: text("started_at").unwrap_or_default(),
            restart_count: value.get("restart_count").and_then(Value::as_u64).unwrap_or(0),
            manually_stopped: flag("manually_stopped"),
        })
    }
}

/// A JSON array of strings as a `Vec`; anything else as empty.
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A JSON object of strings as a sorted map; anything else as empty.
pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|object| {
            object.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect()
        })
        .unwrap_or_default()
}

/// The content of the `exit` file: how the container's main process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    pub exit_code: i32,
    pub finished_at: String,
}

impl ExitRecord {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = json!({ "exit_code": self.exit_code, "finished_at": self.finished_at }).to_string();
        bytes.push('\n');
        bytes.into_bytes()
    }

    pub fn parse(bytes: &[u8]) -> Option<ExitRecord> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        Some(ExitRecord {
            exit_code: value.get("exit_code")?.as_i64()? as i32,
            finished_at: value.get("finished_at")?.as_str()?.to_string(),
        })
    }
}

/// The descriptor on which the shim finds its ready pipe: the daemon `dup2`s
/// the pipe's write end there before exec.
pub const READY_FD: i32 = 3;

/// What the shim writes on its ready pipe (fd 3) once, before closing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyMessage {
    /// The container process runs with this PID; `shim.sock` accepts connections.
    Started { pid: i32 },
    /// The process could not be started: Docker's message, and 126 or 127.
    Failed { message: String, exit_code: i32 },
}

impl ReadyMessage {
    pub fn to_line(&self) -> String {
        let value = match self {
            ReadyMessage::Started { pid } => json!({ "pid": pid }),
            ReadyMessage::Failed { message, exit_code } => {
                json!({ "error": message, "exit_code": exit_code })
            }
        };
        format!("{value}\n")
    }

    pub fn parse(line: &str) -> Option<ReadyMessage> {
        let value: Value = serde_json::from_str(line.trim()).ok()?;
        if let Some(pid) = value.get("pid").and_then(Value::as_i64) {
            return Some(ReadyMessage::Started { pid: pid as i32 });
        }
        Some(ReadyMessage::Failed {
            message: value.get("error")?.as_str()?.to_string(),
            exit_code: value.get("exit_code").and_then(Value::as_i64).unwrap_or(126) as i32,
        })
    }
}

/// Which processes of the container a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalScope {
    /// The container's process group: the main process and the children that
    /// stayed in its group (what a terminal's Ctrl-C reaches).
    Group,
    /// Every descendant of the shim, including those that left the group.
    All,
}

/// One request on `shim.sock`: a JSON object on one line, answered by one
/// reply line (`ShimReply`), which may carry descriptors (SCM_RIGHTS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShimRequest {
    Signal {
        signal: i32,
        scope: SignalScope,
    },
    /// Makes this connection the daemon's watch connection: after the reply,
    /// the shim sends one byte (`LOG_GREW`) whenever it appended to the log,
    /// and when the container is over the `ExitRecord` as one JSON line
    /// (the bytes from its `{` on), then closes it (docs/08-logs.md).
    Watch,
    /// Asks for the container's stdin: the reply carries a copy of the write
    /// end of its stdin pipe, or of its terminal's master side with a TTY
    /// (docs/09-attach.md).
    Stdin,
    /// Closes the shim's own copy of the container's stdin pipe: once the
    /// daemon has closed its copies too, the container reads end-of-file
    /// (`StdinOnce`). With a TTY there is no end-of-file to give; nothing happens.
    CloseStdin,
    /// Sets the size of the container's terminal.
    Resize {
        rows: u16,
        columns: u16,
    },
    /// Starts a process beside the container's main process, as the shim's
    /// child. The reply carries its PID and its stdio: the terminal's master
    /// side with a TTY, otherwise the pipes (stdin's write end when asked for,
    /// stdout's and stderr's read ends). The connection stays open and gets
    /// one more line, `{"exit_code":N}`, when the process has been reaped
    /// (docs/11-exec.md).
    Exec(ExecRequest),
}

/// What `docker exec` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    /// `KEY=value` entries added to (or replacing) the container's environment.
    pub env: Vec<String>,
    /// The working directory; empty means the container's.
    pub cwd: String,
    pub tty: bool,
    /// Whether the caller wants to write to the process's stdin.
    pub stdin: bool,
    /// Nobody reads the output: stdio goes to /dev/null and no descriptor is passed.
    pub detach: bool,
}

/// The byte the shim sends on a watch connection after appending to the log.
pub const LOG_GREW: u8 = b'+';

impl ShimRequest {
    pub fn to_line(&self) -> String {
        let value = match self {
            ShimRequest::Signal { signal, scope } => json!({
                "op": "signal",
                "signal": signal,
                "scope": match scope { SignalScope::Group => "group", SignalScope::All => "all" },
            }),
            ShimRequest::Watch => json!({ "op": "watch" }),
            ShimRequest::Stdin => json!({ "op": "stdin" }),
            ShimRequest::CloseStdin => json!({ "op": "close_stdin" }),
            ShimRequest::Resize { rows, columns } => {
                json!({ "op": "resize", "rows": rows, "columns": columns })
            }
            ShimRequest::Exec(exec) => json!({
                "op": "exec",
                "argv": exec.argv,
                "env": exec.env,
                "cwd": exec.cwd,
                "tty": exec.tty,
                "stdin": exec.stdin,
                "detach": exec.detach,
            }),
        };
        format!("{value}\n")
    }

    pub fn parse(line: &[u8]) -> Result<ShimRequest, String> {
        let value: Value = serde_json::from_slice(line).map_err(|error| format!("bad request: {error}"))?;
        let flag = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
        let size = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or(format!("{key}: missing"))
        };
        match value.get("op").and_then(Value::as_str) {
            Some("signal") => {
                let signal = value.get("signal").and_then(Value::as_i64).ok_or("signal: missing number")?;
                let scope = match value.get("scope").and_then(Value::as_str) {
                    Some("all") => SignalScope::All,
                    _ => SignalScope::Group,
                };
                Ok(ShimRequest::Signal { signal: signal as i32, scope })
            }
            Some("watch") => Ok(ShimRequest::Watch),
            Some("stdin") => Ok(ShimRequest::Stdin),
            Some("close_stdin") => Ok(ShimRequest::CloseStdin),
            Some("resize") => Ok(ShimRequest::Resize { rows: size("rows")?, columns: size("columns")? }),
            Some("exec") => Ok(ShimRequest::Exec(ExecRequest {
                argv: string_list(value.get("argv")),
                env: string_list(value.get("env")),
                cwd: value.get("cwd").and_then(Value::as_str).unwrap_or("").to_string(),
                tty: flag("tty"),
                stdin: flag("stdin"),
                detach: flag("detach"),
            })),
            Some(other) => Err(format!("unknown op \"{other}\"")),
            None => Err("request without an op".to_string()),
        }
    }
}

/// The shim's answer to one request: `{"ok":true}`, with the PID of a
/// process it started (`exec`); or `{"error":"…"}`, with the exit code a
/// process that could not start gets (126 or 127, as Docker's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShimReply {
    pub pid: Option<i32>,
}

/// Why the shim refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimRefusal {
    pub message: String,
    pub exit_code: Option<i32>,
}

impl ShimRefusal {
    pub fn new(message: impl Into<String>) -> ShimRefusal {
        ShimRefusal { message: message.into(), exit_code: None }
    }
}

impl From<String> for ShimRefusal {
    fn from(message: String) -> ShimRefusal {
        ShimRefusal::new(message)
    }
}

pub fn shim_reply_line(result: &Result<ShimReply, ShimRefusal>) -> String {
    let mut object = Map::new();
    match result {
        Ok(reply) => {
            object.insert("ok".into(), Value::Bool(true));
            if let Some(pid) = reply.pid {
                object.insert("pid".into(), pid.into());
            }
        }
        Err(refusal) => {
            object.insert("error".into(), Value::String(refusal.message.clone()));
            if let Some(code) = refusal.exit_code {
                object.insert("exit_code".into(), code.into());
            }
        }
    };
    format!("{}\n", Value::Object(object))
}

/// Reads a reply line back.
pub fn parse_shim_reply(line: &str) -> Result<ShimReply, ShimRefusal> {
    let value: Value = serde_json::from_str(line.trim())
        .map_err(|_| ShimRefusal::new(format!("bad reply from shim: {line:?}")))?;
    match value.get("error").and_then(Value::as_str) {
        Some(message) => Err(ShimRefusal {
            message: message.to_string(),
            exit_code: value.get("exit_code").and_then(Value::as_i64).map(|code| code as i32),
        }),
        None => Ok(ShimReply { pid: value.get("pid").and_then(Value::as_i64).map(|pid| pid as i32) }),
    }
}

/// The last line on an exec connection: how the process ended.
pub fn exec_exit_line(exit_code: i32) -> String {
    format!("{}\n", json!({ "exit_code": exit_code }))
}

/// Reads that line back; `None` if the connection ended without it (the
/// shim was killed).
pub fn parse_exec_exit(line: &str) -> Option<i32> {
    let value: Value = serde_json::from_str(line.trim()).ok()?;
    value.get("exit_code").and_then(Value::as_i64).map(|code| code as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_json() {
        let config = ContainerConfig {
            id: "a".repeat(64),
            name: "web".into(),
            image: "busybox".into(),
            entrypoint: vec![],
            cmd: vec!["echo".into(), "hi".into()],
            cwd: "/tmp".into(),
            env: vec!["PATH=/bin".into()],
            tty: false,
            open_stdin: true,
            stdin_once: true,
            labels: [("k".to_string(), "v".to_string())].into(),
            restart_policy: RestartPolicy { name: "on-failure".into(), maximum_retry_count: 3 },
            auto_remove: true,
            log: LogOptions { max_size: "1m".into(), max_file: "2".into() },
            stop_signal: "SIGINT".into(),
            stop_timeout: Some(3),
            created_at: "2026-01-01T00:00:00.000000000Z".into(),
            started_at: String::new(),
            restart_count: 2,
            manually_stopped: true,
        };
        assert_eq!(ContainerConfig::from_json(&config.to_json()), Some(config));
    }

    #[test]
    fn sizes_and_log_caps() {
        assert_eq!(parse_size("10m"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("ten"), None);
        let default = LogOptions::default();
        assert_eq!(
            (default.max_size_bytes(), default.max_files()),
            (DEFAULT_LOG_MAX_SIZE, DEFAULT_LOG_MAX_FILES)
        );
        let set = LogOptions { max_size: "1k".into(), max_file: "2".into() };
        assert_eq!((set.max_size_bytes(), set.max_files()), (1024, 2));
    }

    #[test]
    fn messages_round_trip() {
        let ready = ReadyMessage::Failed { message: "boom".into(), exit_code: 127 };
        assert_eq!(ReadyMessage::parse(&ready.to_line()), Some(ready));
        let request = ShimRequest::Signal { signal: 9, scope: SignalScope::All };
        assert_eq!(ShimRequest::parse(request.to_line().as_bytes()), Ok(request));
        assert_eq!(
            parse_shim_reply(&shim_reply_line(&Err("gone".to_string().into()))),
            Err(ShimRefusal::new("gone"))
        );
        let refusal = ShimRefusal { message: "no".into(), exit_code: Some(127) };
        assert_eq!(parse_shim_reply(&shim_reply_line(&Err(refusal.clone()))), Err(refusal));
        let started = ShimReply { pid: Some(42) };
        assert_eq!(parse_shim_reply(&shim_reply_line(&Ok(started.clone()))), Ok(started));
        let exec = ShimRequest::Exec(ExecRequest {
            argv: vec!["sh".into(), "-c".into(), "exit 3".into()],
            env: vec!["A=b".into()],
            cwd: "/tmp".into(),
            tty: true,
            stdin: true,
            detach: false,
        });
        assert_eq!(ShimRequest::parse(exec.to_line().as_bytes()), Ok(exec));
        let resize = ShimRequest::Resize { rows: 40, columns: 100 };
        assert_eq!(ShimRequest::parse(resize.to_line().as_bytes()), Ok(resize));
        assert_eq!(parse_exec_exit(&exec_exit_line(3)), Some(3));
        let exit = ExitRecord { exit_code: 137, finished_at: "x".into() };
        assert_eq!(ExitRecord::parse(&exit.to_bytes()), Some(exit));
    }
}
