//! The routing table: which handler answers which method and path (SPEC §5).
//! Handlers are thin: they read the path and query, call the engine, and map
//! the result to a response. Paths work with or without the `/vX.Y` prefix.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tiny_http::{Method, Request};

use common::signals::parse_signal;

use crate::api_error::ApiError;
use crate::engine::Engine;
use crate::http_io::{self, percent_decode, respond_empty, respond_error, respond_json, Query};
use crate::lifecycle::WaitCondition;
use crate::{logs, system};

/// A client that went away during `wait` is noticed by writing a blank (legal
/// JSON whitespace) this often; the write fails once the peer has closed.
const WAIT_HEARTBEAT: Duration = Duration::from_secs(5);

/// Answers one request. Runs on the request's own thread.
pub fn handle(engine: &Arc<Engine>, request: Request) {
    if request.body_length().is_some_and(|length| length > http_io::MAX_DRAINED_BODY_BYTES)
        && !http_io::is_upgrade(&request)
    {
        return http_io::refuse_oversized_body(request);
    }
    let (path, query) = match http_io::split_url(request.url()) {
        Ok(parts) => parts,
        Err(error) => return respond_error(request, &error),
    };
    let segments: Vec<String> = path.trim_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method().clone();
    match (&method, segments.as_slice()) {
        (Method::Get | Method::Head, ["_ping"]) => system::ping(request),
        (Method::Get, ["version"]) => respond_json(request, 200, &system::version()),
        (Method::Get, ["info"]) => respond_json(request, 200, &system::info(engine)),
        (Method::Get, ["events"]) => crate::events::handle(engine, request, &query),
        (Method::Post, ["containers", "create"]) => create(engine, request, &query),
        (Method::Get, ["containers", "json"]) => list(engine, request, &query),
        (Method::Post, ["containers", "prune"]) => {
            let deleted = engine.prune();
            respond_json(request, 200, &json!({ "ContainersDeleted": deleted, "SpaceReclaimed": 0 }))
        }
        (Method::Get, ["containers", reference, "json"]) => match engine.find(reference) {
            Ok(container) => respond_json(request, 200, &crate::views::inspect(&container)),
            Err(error) => respond_error(request, &error),
        },
        (Method::Get, ["containers", reference, "logs"]) => logs::handle(engine, request, reference, &query),
        (Method::Get, ["containers", reference, "top"]) => {
            let answer = engine.find(reference).and_then(|container| {
                if query.get("ps_args").is_some_and(|a| !a.is_empty()) {
                    return Err(ApiError::BadRequest(
                        "ps_args is not supported: top reads /proc itself".into(),
                    ));
                }
                crate::top::processes(&container)
            });
            match answer {
                Ok(value) => respond_json(request, 200, &value),
                Err(error) => respond_error(request, &error),
            }
        }
        (Method::Post, ["containers", reference, "wait"]) => wait(engine, request, reference, &query),
        (Method::Post, ["containers", reference, "attach"]) => {
            crate::attach::handle(engine, request, reference, &query)
        }
        (Method::Get, ["containers", reference, "attach", "ws"]) => {
            crate::attach_ws::handle(engine, request, reference, &query)
        }
        (Method::Post, ["containers", reference, "exec"]) => crate::exec::create(engine, request, reference),
        (Method::Post, ["containers", reference, "resize"]) => {
            let result = engine.find(reference).and_then(|container| {
                engine.resize(&container, reference, crate::exec::window_size(&query)?)
            });
            finish(request, result.map(|()| 200))
        }
        (Method::Post, ["exec", id, "start"]) => crate::exec::start(engine, request, id),
        (Method::Get, ["exec", id, "json"]) => crate::exec::inspect(engine, request, id),
        (Method::Post, ["exec", id, "resize"]) => crate::exec::resize(engine, request, id, &query),
        (Method::Post, ["containers", reference, action]) => {
            let result = container_action(engine, reference, action, &query);
            finish(request, result.map(|()| 204))
        }
        (Method::Delete, ["containers", reference]) => {
            let result = query.flag("force").and_then(|force| {
                let container = engine.find(reference)?;
                engine.remove(&container, reference, force)
            });
            finish(request, result.map(|()| 204))
        }
        _ => respond_error(request, &ApiError::PageNotFound),
    }
}

/// The `POST /containers/{id}/{action}` family with an empty answer.
fn container_action(
    engine: &Arc<Engine>,
    reference: &str,
    action: &str,
    query: &Query,
) -> Result<(), ApiError> {
    // An unknown action is a 404 for the path, whether or not the container exists.
    if !matches!(action, "start" | "stop" | "restart" | "kill" | "pause" | "unpause" | "rename") {
        return Err(ApiError::PageNotFound);
    }
    let container = engine.find(reference)?;
    match action {
        "start" => engine.start(&container, reference),
        "stop" => engine.stop(&container, reference, query.integer("t")?, signal_parameter(query)?),
        "restart" => engine.restart(&container, reference, query.integer("t")?),
        "kill" => engine.kill(&container, reference, signal_parameter(query)?.unwrap_or(libc::SIGKILL)),
        "pause" => engine.pause(&container, reference),
        "unpause" => engine.unpause(&container, reference),
        "rename" => engine.rename(&container, query.get("name").unwrap_or("")),
        _ => unreachable!("checked above"),
    }
}

fn signal_parameter(query: &Query) -> Result<Option<i32>, ApiError> {
    match query.get("signal") {
        None | Some("") => Ok(None),
        Some(text) => parse_signal(text)
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("Invalid signal: {text}"))),
    }
}

fn finish(request: Request, result: Result<u16, ApiError>) {
    match result {
        Ok(status) => respond_empty(request, status),
        Err(error) => respond_error(request, &error),
    }
}

fn create(engine: &Arc<Engine>, mut request: Request, query: &Query) {
    let content_type =
        http_io::header_value(&request, "Content-Type").unwrap_or("application/json").to_string();
    if !content_type.starts_with("application/json") {
        let error = ApiError::BadRequest(format!(
            "Content-Type specified ({content_type}) must be 'application/json'"
        ));
        return respond_error(request, &error);
    }
    let result = http_io::read_body(&mut request).and_then(|body| engine.create(query.get("name"), &body));
    match result {
        Ok(id) => respond_json(request, 201, &json!({ "Id": id, "Warnings": [] })),
        Err(error) => respond_error(request, &error),
    }
}

fn list(engine: &Arc<Engine>, request: Request, query: &Query) {
    let listing = query.flag("all").and_then(|all| {
        let filters = crate::views::Filters::parse(query)?;
        let shown: Vec<Value> = engine
            .registry
            .list()
            .iter()
            .filter(|c| all || filters.has_status() || c.lock().status.has_processes())
            .filter(|c| filters.matches(c))
            .map(|c| crate::views::summary(c))
            .collect();
        Ok(Value::Array(shown))
    });
    match listing {
        Ok(value) => respond_json(request, 200, &value),
        Err(error) => respond_error(request, &error),
    }
}

/// `POST /containers/{id}/wait`: headers at once, the body when the condition
/// holds: `{"Error":null,"StatusCode":N}`.
fn wait(engine: &Arc<Engine>, request: Request, reference: &str, query: &Query) {
    let condition = match query.get("condition") {
        Some("next-exit") => WaitCondition::NextExit,
        Some("removed") => WaitCondition::Removed,
        _ => WaitCondition::NotRunning, // dockerd ignores an unknown condition too
    };
    let container = match engine.find(reference) {
        Ok(container) => container,
        Err(error) => return respond_error(request, &error),
    };
    let exits_at_start = container.lock().exits;
    let Ok(mut body) = http_io::start_stream(request, "application/json") else { return };
    // Ends when the condition holds, or when a heartbeat write fails because
    // the client has gone (the docker CLI's `run -d` closes its wait early).
    let exit_code = loop {
        match engine.wait_for(&container, condition, exits_at_start, Some(WAIT_HEARTBEAT)) {
            Some(code) => break code,
            None if body.write_chunk(b" ").is_err() => return,
            None => {}
        }
    };
    let answer = format!("{}\n", json!({ "Error": null, "StatusCode": exit_code }));
    if body.write_chunk(answer.as_bytes()).is_ok() {
        let _ = body.finish();
    }
}
