//! `POST /containers/create`: the Docker create body read into a container
//! configuration, with every check Docker makes and its wording. Unknown fields
//! are accepted and ignored, as dockerd does; `Image` is recorded and never
//! pulled: here a container is only a process.

use std::collections::BTreeMap;

use serde_json::Value;

use common::signals::parse_signal;
use common::wire::{parse_size, string_map, ContainerConfig, LogOptions, RestartPolicy};

use crate::api_error::ApiError;

/// Docker's default `PATH` for a container (SPEC §8).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Reads a create body into a configuration for container `id` named `name`.
pub fn parse(body: &[u8], id: &str, name: &str) -> Result<ContainerConfig, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("invalid JSON in request body: {error}")))?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::BadRequest("request body must be a JSON object".to_string()));
    };
    if object.is_empty() {
        return Err(ApiError::BadRequest(
            "Config cannot be empty in order to create a container".to_string(),
        ));
    }
    check_types(&value)?;
    let entrypoint = command_list(value.get("Entrypoint"), "Entrypoint")?;
    let cmd = command_list(value.get("Cmd"), "Cmd")?;
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(ApiError::BadRequest("No command specified".to_string()));
    }
    let cwd = match value.get("WorkingDir").and_then(Value::as_str).unwrap_or("") {
        "" => "/".to_string(),
        dir if dir.starts_with('/') => dir.to_string(),
        dir => {
            return Err(ApiError::BadRequest(format!(
                "the working directory '{dir}' is invalid, it needs to be an absolute path"
            )))
        }
    };
    let host_config = value.get("HostConfig").cloned().unwrap_or(Value::Null);
    let restart_policy = restart_policy(host_config.get("RestartPolicy"))?;
    let auto_remove = host_config.get("AutoRemove").and_then(Value::as_bool).unwrap_or(false);
    if auto_remove && restart_policy.name != "no" {
        return Err(ApiError::BadRequest(
            "can't create 'AutoRemove' container with restart policy".to_string(),
        ));
    }
    let stop_signal = value.get("StopSignal").and_then(Value::as_str).unwrap_or("").to_string();
    if !stop_signal.is_empty() && parse_signal(&stop_signal).is_none() {
        return Err(ApiError::BadRequest(format!("Invalid signal: {stop_signal}")));
    }
    let config = ContainerConfig {
        id: id.to_string(),
        name: name.to_string(),
        image: value.get("Image").and_then(Value::as_str).unwrap_or("").to_string(),
        entrypoint,
        cmd,
        cwd,
        env: environment(id, value.get("Env"), flag(&value, "Tty"))?,
        tty: flag(&value, "Tty"),
        open_stdin: flag(&value, "OpenStdin"),
        stdin_once: flag(&value, "StdinOnce"),
        labels: string_map(value.get("Labels")),
        restart_policy,
        auto_remove,
        log: log_options(host_config.get("LogConfig"))?,
        stop_signal,
        stop_timeout: value.get("StopTimeout").and_then(Value::as_i64),
        created_at: common::time::now_rfc3339(),
        started_at: String::new(),
        restart_count: 0,
        manually_stopped: false,
    };
    reject_nul_bytes(&config)?;
    Ok(config)
}

/// The JSON type each field must have when present and not null, as Go's
/// decoder in dockerd insists: a wrong type is refused, never reinterpreted.
const FIELD_TYPES: [(&str, &str); 17] = [
    ("/Env", "[]string"),
    ("/Labels", "map[string]string"),
    ("/Tty", "bool"),
    ("/OpenStdin", "bool"),
    ("/StdinOnce", "bool"),
    ("/AttachStdin", "bool"),
    ("/AttachStdout", "bool"),
    ("/AttachStderr", "bool"),
    ("/WorkingDir", "string"),
    ("/Image", "string"),
    ("/StopSignal", "string"),
    ("/StopTimeout", "int"),
    ("/HostConfig", "object"),
    ("/HostConfig/AutoRemove", "bool"),
    ("/HostConfig/RestartPolicy", "object"),
    ("/HostConfig/LogConfig", "object"),
    ("/HostConfig/LogConfig/Config", "map[string]string"),
];

fn check_types(value: &Value) -> Result<(), ApiError> {
    for (pointer, wanted) in FIELD_TYPES {
        let Some(found) = value.pointer(pointer).filter(|v| !v.is_null()) else { continue };
        let fits = match wanted {
            "[]string" => found.as_array().is_some_and(|items| items.iter().all(Value::is_string)),
            "map[string]string" => found.as_object().is_some_and(|map| map.values().all(Value::is_string)),
            "bool" => found.is_boolean(),
            "string" => found.is_string(),
            "int" => found.is_i64(),
            _ => found.is_object(),
        };
        if !fits {
            let field = pointer.trim_start_matches('/').replace('/', ".");
            return Err(ApiError::BadRequest(format!(
                "json: cannot unmarshal {} into Go struct field {field} of type {wanted}",
                json_kind(found)
            )));
        }
    }
    Ok(())
}

/// Go's name for the JSON type of `value`, as its decoder reports it.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `Cmd` and `Entrypoint`: an array of strings, a single string (dockerd
/// accepts `"Cmd":"echo"`), or null.
fn command_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(single)) => Ok(vec![single.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::BadRequest(format!("{field} must be an array of strings")))
            })
            .collect(),
        Some(_) => Err(ApiError::BadRequest(format!("{field} must be an array of strings"))),
    }
}

/// Docker's defaults (`PATH`, `HOSTNAME`, `HOME`) overridden by the request's
/// `Env`; nothing of the daemon's own environment leaks in (SPEC §8).
fn environment(id: &str, requested: Option<&Value>, tty: bool) -> Result<Vec<String>, ApiError> {
    let home = if common::sys::getuid() == 0 { "/root" } else { "/" };
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOSTNAME".into(), common::ids::short(id).into()),
        ("HOME".into(), home.into()),
    ];
    if tty {
        // As dockerd: a terminal needs a type for programs to drive it.
        env.push(("TERM".into(), "xterm".into()));
    }
    for entry in command_list(requested, "Env")? {
        let (key, value) = entry.split_once('=').unwrap_or((&entry, ""));
        if key.is_empty() {
            return Err(ApiError::BadRequest(format!("invalid environment variable: {entry}")));
        }
        match env.iter_mut().find(|(existing, _)| existing == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => env.push((key.to_string(), value.to_string())),
        }
    }
    Ok(env.into_iter().map(|(key, value)| format!("{key}={value}")).collect())
}

fn restart_policy(value: Option<&Value>) -> Result<RestartPolicy, ApiError> {
    let name = value.and_then(|v| v.get("Name")).and_then(Value::as_str).unwrap_or("");
    let maximum_retry_count =
        value.and_then(|v| v.get("MaximumRetryCount")).and_then(Value::as_i64).unwrap_or(0);
    let name = if name.is_empty() { "no" } else { name };
    if !matches!(name, "no" | "always" | "on-failure" | "unless-stopped") {
        return Err(ApiError::BadRequest(format!("invalid restart policy '{name}'")));
    }
    if maximum_retry_count < 0 {
        return Err(ApiError::BadRequest("maximum retry count cannot be negative".to_string()));
    }
    if maximum_retry_count > 0 && name != "on-failure" {
        return Err(ApiError::BadRequest(format!(
            "maximum retry count cannot be used with restart policy '{name}'"
        )));
    }
    Ok(RestartPolicy { name: name.to_string(), maximum_retry_count })
}

fn log_options(value: Option<&Value>) -> Result<LogOptions, ApiError> {
    let driver = value.and_then(|v| v.get("Type")).and_then(Value::as_str).unwrap_or("");
    if !matches!(driver, "" | "json-file") {
        return Err(ApiError::BadRequest(format!(
            "logging driver '{driver}' is not supported: only json-file"
        )));
    }
    let options: BTreeMap<String, String> = string_map(value.and_then(|v| v.get("Config")));
    let mut log = LogOptions::default();
    for (key, option) in options {
        match key.as_str() {
            "max-size" => {
                parse_size(&option)
                    .ok_or_else(|| ApiError::BadRequest(format!("invalid max-size: {option}")))?;
                log.max_size = option;
            }
            "max-file" => {
                match option.parse::<u32>() {
                    Ok(count) if count >= 1 => log.max_file = option,
                    _ => return Err(ApiError::BadRequest(format!("invalid max-file: {option}"))),
                };
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown log opt '{other}' for json-file log driver"
                )))
            }
        }
    }
    Ok(log)
}

/// A NUL byte cannot reach execve: refuse it here with a clear message.
fn reject_nul_bytes(config: &ContainerConfig) -> Result<(), ApiError> {
    let strings =
        config.entrypoint.iter().chain(&config.cmd).chain(&config.env).chain(std::iter::once(&config.cwd));
    for text in strings {
        if text.contains('\0') {
            return Err(ApiError::BadRequest(format!("invalid NUL byte in {text:?}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn create(body: &str) -> Result<ContainerConfig, ApiError> {
        parse(body.as_bytes(), ID, "web")
    }

    #[test]
    fn defaults_and_overrides() {
        let config = create(r#"{"Cmd":["echo","hi"],"Env":["A=1","PATH=/bin"],"Image":"bbox"}"#).unwrap();
        assert_eq!(config.cwd, "/");
        assert_eq!(config.env[0], "PATH=/bin");
        assert!(config.env.contains(&"HOSTNAME=0123456789ab".to_string()));
        assert!(config.env.contains(&"A=1".to_string()));
        assert_eq!(config.image, "bbox");
    }

    #[test]
    fn docker_refusals() {
        let message = |body: &str| create(body).unwrap_err().message();
        assert_eq!(message("{}"), "Config cannot be empty in order to create a container");
        assert_eq!(message(r#"{"Image":"x"}"#), "No command specified");
        assert!(message(r#"{"Cmd":["x"],"WorkingDir":"rel"}"#).contains("absolute path"));
        assert!(message(r#"{"Cmd":["x"],"StopSignal":"NOPE"}"#).contains("Invalid signal"));
        assert!(message(r#"{"Cmd":["x"],"HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}"#)
            .contains("restart"));
        assert!(message(r#"{"Cmd":["#).starts_with("invalid JSON"));
    }
}
