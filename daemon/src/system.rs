//! The system endpoints: `_ping` (the docker CLI's first request, for version
//! negotiation), `version` and `info`, with the fields the docker CLI prints.

use std::sync::Arc;

use serde_json::{json, Value};
use tiny_http::Request;

use common::state::State;

use crate::engine::Engine;
use crate::http_io::{respond, API_VERSION, MIN_API_VERSION};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET`/`HEAD /_ping`: `OK` with `Api-Version` (the CLI negotiates down to it).
pub fn ping(request: Request) {
    let body = if request.method() == &tiny_http::Method::Head { Vec::new() } else { b"OK".to_vec() };
    respond(request, 200, Some("text/plain; charset=utf-8"), body);
}

pub fn version() -> Value {
    json!({
        "Platform": { "Name": "orchestrator" },
        "Components": [{
            "Name": "Engine",
            "Version": VERSION,
            "Details": {
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
                "Arch": std::env::consts::ARCH,
                "KernelVersion": kernel_version(),
            },
        }],
        "Version": VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "rust",
        "Os": "linux",
        "Arch": std::env::consts::ARCH,
        "KernelVersion": kernel_version(),
        "BuildTime": "",
    })
}

pub fn info(engine: &Arc<Engine>) -> Value {
    let containers = engine.registry.list();
    let count = |wanted: &[State]| containers.iter().filter(|c| wanted.contains(&c.lock().status)).count();
    json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": count(&[State::Running]),
        "ContainersPaused": count(&[State::Paused]),
        "ContainersStopped": count(&[State::Created, State::Exited, State::Restarting, State::Removing]),
        "Images": 0,
        "Driver": "none",
        "DockerRootDir": engine.root,
        "ServerVersion": VERSION,
        "OperatingSystem": "orchestrator (plain processes: no namespaces, cgroups or images)",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "KernelVersion": kernel_version(),
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "MemTotal": mem_total_bytes(),
        "Name": read_trimmed("/proc/sys/kernel/hostname"),
        "LoggingDriver": "json-file",
        "CgroupDriver": "none",
        "CgroupVersion": "",
        "Plugins": { "Volume": [], "Network": [], "Authorization": null, "Log": ["json-file"] },
        "Runtimes": { "orchestrator-shim": { "path": engine.shim_binary } },
        "DefaultRuntime": "orchestrator-shim",
        "Swarm": { "LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false },
        "SystemTime": common::time::now_rfc3339(),
        "Labels": [],
        "Warnings": null,
    })
}

fn kernel_version() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|text| text.trim().to_string()).unwrap_or_default()
}

fn mem_total_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}
