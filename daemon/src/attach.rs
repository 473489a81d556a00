//! `POST /containers/{id}/attach` with `Upgrade: tcp`: the HTTP 101 upgrade.
//! The daemon answers `101` at once and the connection stops being HTTP: from
//! then on it carries the container's output as Docker's multiplexed frames
//! (raw bytes with a TTY) until the container stops, when the daemon closes it.
//! The output is the log followed live, from where it ended when the client
//! attached — so an attach made before `start`, as `docker run` makes it, sees
//! every byte of the run (docs/09-attach.md, tiny_http-notes.md facts 2 and 3).

use std::sync::Arc;

use tiny_http::{Request, Response, StatusCode};

use common::state::{decide, Action, Decision};

use crate::api_error::ApiError;
use crate::engine::Engine;
use crate::http_io::{docker_headers, header, respond_error, Query};
use crate::log_follow::LogCursor;
use crate::logs::{self, Destination, FrameSink, LogQuery};

pub fn handle(engine: &Arc<Engine>, request: Request, reference: &str, query: &Query) {
    let prepared = (|| {
        let container = engine.find(reference)?;
        let streams = (query.flag("stdout")?, query.flag("stderr")?, query.flag("logs")?);
        if decide(Action::Attach, container.status()) != Decision::Allowed {
            return Err(crate::lifecycle::wrong_state(Action::Attach, &container, reference));
        }
        Ok::<_, ApiError>((container, streams))
    })();
    let (container, (stdout, stderr, past_output)) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return respond_error(request, &error),
    };
    // Fixed before the 101: nothing written from here on can be missed.
    let (run_at_attach, tty) = {
        let state = container.lock();
        (state.run, state.config.tty)
    };
    let cursor = if past_output {
        LogCursor::at_start(&container.dir)
    } else {
        LogCursor::at_last_lines(&container.dir, 0)
    };
    // The request's body is the whole socket now: never read it before the
    // upgrade (tiny_http-notes.md fact 2). `upgrade` sends the 101 at once.
    let mut response = Response::empty(StatusCode(101));
    for (name, value) in docker_headers() {
        response.add_header(header(name, value));
    }
    response.add_header(header("Content-Type", "application/vnd.docker.raw-stream"));
    let stream = request.upgrade("tcp", response);
    // The output of a run: the one going on now, or the next one to start
    // (Docker keeps an attach to a stopped container open for that).
    container
        .wait_until(None, |state| state.status.has_processes() || state.run > run_at_attach || state.removed);
    let mut sink = FrameSink::new(Destination::Raw(stream), tty);
    // An error means the client went away; dropping the stream closes it.
    let _ = logs::send_log(&container, cursor, &LogQuery::attached(stdout, stderr), &mut sink);
}
