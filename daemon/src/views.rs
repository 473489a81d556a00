//! What clients see of a container: the inspect document
//! (`GET /containers/{id}/json`) and the `ps` entry (`GET /containers/json`),
//! with the field names the docker CLI reads (docker-reference.md §4). The
//! docker CLI crashes on an inspect without `Config`, `HostConfig` or `State`,
//! so all three are always present.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use common::human_time::human_duration;
use common::ids;
use common::state::State;
use common::time::{age, parse_rfc3339, ZERO_TIME};

use crate::api_error::ApiError;
use crate::container::{Container, ContainerState};
use crate::http_io::Query;

/// The inspect document of one container.
pub fn inspect(container: &Container) -> Value {
    let state = container.snapshot();
    let config = &state.config;
    let argv = config.argv();
    json!({
        "Id": container.id,
        "Created": config.created_at,
        "Path": argv.first().cloned().unwrap_or_default(),
        "Args": argv.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": state.status.as_str(),
            "Running": state.status.has_processes(),
            "Paused": state.status == State::Paused,
            "Restarting": state.status == State::Restarting,
            "OOMKilled": false,
            "Dead": false,
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": or_zero(&config.started_at),
            "FinishedAt": or_zero(&state.finished_at),
        },
        "Image": config.image,
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": container.dir.log(),
        "Name": format!("/{}", config.name),
        "RestartCount": state.config.restart_count,
        "Driver": "none",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": {
            "AutoRemove": config.auto_remove,
            "RestartPolicy": {
                "Name": config.restart_policy.name,
                "MaximumRetryCount": config.restart_policy.maximum_retry_count,
            },
            "LogConfig": { "Type": "json-file", "Config": log_config(&state) },
            "NetworkMode": "default",
        },
        "GraphDriver": { "Data": null, "Name": "none" },
        "Mounts": [],
        "Config": {
            "Hostname": ids::short(&container.id),
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": config.tty,
            "OpenStdin": config.open_stdin,
            "StdinOnce": config.stdin_once,
            "Env": config.env,
            "Cmd": config.cmd,
            "Image": config.image,
            "Volumes": null,
            "WorkingDir": config.cwd,
            "Entrypoint": if config.entrypoint.is_empty() { Value::Null } else { json!(config.entrypoint) },
            "OnBuild": null,
            "Labels": config.labels,
            "StopSignal": config.stop_signal,
            "StopTimeout": config.stop_timeout,
        },
        "NetworkSettings": { "Networks": {} },
    })
}

/// One entry of `GET /containers/json`.
pub fn summary(container: &Container) -> Value {
    let state = container.snapshot();
    let config = &state.config;
    json!({
        "Id": container.id,
        "Names": [format!("/{}", config.name)],
        "Image": config.image,
        "ImageID": "",
        "Command": config.argv().join(" "),
        "Created": parse_rfc3339(&config.created_at).map(|n| n / 1_000_000_000).unwrap_or(0),
        "Ports": [],
        "Labels": config.labels,
        "State": state.status.as_str(),
        "Status": status_text(&state),
        "HostConfig": { "NetworkMode": "default" },
        "NetworkSettings": { "Networks": {} },
        "Mounts": [],
    })
}

/// Docker's human status: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`.
pub fn status_text(state: &ContainerState) -> String {
    let since = |when: &str| parse_rfc3339(when).map(age).map(human_duration).unwrap_or_default();
    match state.status {
        State::Created => "Created".to_string(),
        State::Running => format!("Up {}", since(&state.config.started_at)),
        State::Paused => format!("Up {} (Paused)", since(&state.config.started_at)),
        State::Restarting => format!("Restarting ({}) {} ago", state.exit_code, since(&state.finished_at)),
        State::Exited => format!("Exited ({}) {} ago", state.exit_code, since(&state.finished_at)),
        State::Removing => "Removal In Progress".to_string(),
    }
}

fn or_zero(when: &str) -> &str {
    if when.is_empty() {
        ZERO_TIME
    } else {
        when
    }
}

fn log_config(state: &ContainerState) -> BTreeMap<&'static str, String> {
    let mut options = BTreeMap::new();
    if !state.config.log.max_size.is_empty() {
        options.insert("max-size", state.config.log.max_size.clone());
    }
    if !state.config.log.max_file.is_empty() {
        options.insert("max-file", state.config.log.max_file.clone());
    }
    options
}

/// `ps` filters (`?filters={"status":{"exited":true}}`): every key must match
/// one of its values.
pub struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

impl Filters {
    pub fn parse(query: &Query) -> Result<Filters, ApiError> {
        let by_key = query.filters(&["status", "name", "label", "id"])?;
        if let Some(bad) = by_key.get("status").into_iter().flatten().find(|s| !is_status_name(s)) {
            return Err(ApiError::BadRequest(format!("invalid filter 'status={bad}'")));
        }
        Ok(Filters { by_key })
    }

    pub fn has_status(&self) -> bool {
        self.by_key.contains_key("status")
    }

    pub fn matches(&self, container: &Container) -> bool {
        let state = container.lock();
        self.by_key.iter().all(|(key, wanted)| {
            wanted.iter().any(|value| match key.as_str() {
                "status" => state.status.as_str() == value,
                "name" => state.config.name.contains(value.trim_start_matches('/')),
                "id" => container.id.starts_with(value.as_str()),
                "label" => match value.split_once('=') {
                    Some((k, v)) => state.config.labels.get(k).map(String::as_str) == Some(v),
                    None => state.config.labels.contains_key(value.as_str()),
                },
                _ => false,
            })
        })
    }
}

fn is_status_name(name: &str) -> bool {
    ["created", "running", "paused", "restarting", "exited", "removing", "dead"].contains(&name)
}
