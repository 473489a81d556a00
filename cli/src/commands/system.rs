//! `version` and `info`: what the daemon says about itself.

use lexopt::prelude::*;
use serde_json::Value;

use super::{help, usage_error};
use crate::api::{Api, CliError};

const VERSION_HELP: &str = "Usage: orchestrate version\n\nShow the client's and the daemon's versions.\n";
const INFO_HELP: &str = "Usage: orchestrate info\n\nShow daemon-wide information.\n";

pub fn version(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    if let Some(arg) = parser.next().map_err(usage_error("version"))? {
        return match arg {
            Short('h') | Long("help") => help(VERSION_HELP),
            other => Err(usage_error("version")(other.unexpected())),
        };
    }
    println!("Client:\n Version:      {}\n API version:  1.41", env!("CARGO_PKG_VERSION"));
    let server = api.json("GET", "/version", None)?;
    let get = |key: &str| server.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    println!(
        "\nServer: orchestratord\n Version:      {}\n API version:  {} (minimum version {})",
        get("Version"),
        get("ApiVersion"),
        get("MinAPIVersion")
    );
    println!(" OS/Arch:      {}/{}\n Kernel:       {}", get("Os"), get("Arch"), get("KernelVersion"));
    Ok(0)
}

pub fn info(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    if let Some(arg) = parser.next().map_err(usage_error("info"))? {
        return match arg {
            Short('h') | Long("help") => help(INFO_HELP),
            other => Err(usage_error("info")(other.unexpected())),
        };
    }
    let info = api.json("GET", "/info", None)?;
    let get = |key: &str| match info.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    println!("Server:");
    println!(" Containers: {}", get("Containers"));
    println!("  Running: {}", get("ContainersRunning"));
    println!("  Paused: {}", get("ContainersPaused"));
    println!("  Stopped: {}", get("ContainersStopped"));
    println!(" Server Version: {}", get("ServerVersion"));
    println!(" Root Dir: {}", get("DockerRootDir"));
    println!(" Logging Driver: {}", get("LoggingDriver"));
    println!(" Kernel Version: {}", get("KernelVersion"));
    println!(" Operating System: {}", get("OperatingSystem"));
    println!(" Architecture: {}", get("Architecture"));
    println!(" CPUs: {}", get("NCPU"));
    println!(
        " Total Memory: {:.1} GiB",
        info.get("MemTotal").and_then(Value::as_f64).unwrap_or(0.0) / 1073741824.0
    );
    println!(" Name: {}", get("Name"));
    Ok(0)
}
