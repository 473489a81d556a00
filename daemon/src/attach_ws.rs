//! `GET /containers/{id}/attach/ws`: attach over a WebSocket, for clients
//! that speak WebSocket rather than a raw upgraded stream (browsers). The
//! handshake is HTTP's 101 again, with `Sec-WebSocket-Accept` (RFC 6455 §4.2);
//! then every piece of output goes to the client as one binary message — raw
//! bytes, stdout and stderr merged, as dockerd sends them — and every binary
//! or text message from the client goes to the container's stdin.
//!
//! A WebSocket has no half-close: the end of input is the text message
//! `{"stdin_eof": true}`, after which the client may still read the output.
//! Messages are framed by tungstenite; the two directions are split as for
//! the raw attach (`upgrade.rs`), and both write their frames through one
//! lock so a pong never lands inside an output frame (docs/10-websocket.md).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tiny_http::Request;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame};
use tungstenite::protocol::{Role, WebSocket};
use tungstenite::Message;

use common::detach_keys::DetachKeys;

use crate::api_error::ApiError;
use crate::attach::{self, AttachOptions, Attachment};
use crate::container::Container;
use crate::engine::Engine;
use crate::http_io::{header_value, respond_error, switching_protocols, Query};
use crate::logs::{self, Destination, FrameSink, LogQuery};
use crate::shim_link;
use crate::upgrade::{self, ClientInput, Output};

/// The connection's writing side, shared by the output and by the replies
/// tungstenite owes the client (pong, close). `None` until the connection is
/// split; replies made before that wait in `early`.
#[derive(Default)]
struct SharedWriter {
    output: Option<Output>,
    early: Vec<u8>,
}

type Writer = Arc<Mutex<SharedWriter>>;

fn write_frame(writer: &Writer, bytes: &[u8]) -> io::Result<()> {
    let mut shared = writer.lock().expect("invariant: writer lock not poisoned");
    match shared.output.as_mut() {
        Some(output) => output.write_all(bytes).and_then(|()| output.flush()),
        None => {
            shared.early.extend_from_slice(bytes);
            Ok(())
        }
    }
}

pub fn handle(engine: &Arc<Engine>, request: Request, reference: &str, query: &Query) {
    let prepared = attach::prepare(engine, reference, query).and_then(|attachment| {
        let key = header_value(&request, "Sec-WebSocket-Key")
            .filter(|_| {
                header_value(&request, "Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
            })
            .ok_or_else(|| ApiError::BadRequest("a WebSocket handshake is required".to_string()))?;
        Ok((attachment, tungstenite::handshake::derive_accept_key(key.as_bytes())))
    });
    let (attachment, accept) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return respond_error(request, &error),
    };
    let Attachment { container, options, run_at_attach, tty, stdin_once, cursor } = attachment;
    let connection = request.upgrade("websocket", switching_protocols(&[("Sec-WebSocket-Accept", &accept)]));

    let writer: Writer = Arc::default();
    let cancel_output: Arc<AtomicBool> = Arc::default();
    let (for_input, input_writer, cancel) =
        (Arc::clone(&container), Arc::clone(&writer), Arc::clone(&cancel_output));
    let AttachOptions { stdout, stderr, stdin, detach_keys, .. } = options;
    let mut detach_keys = detach_keys.for_terminal(tty);
    let duplex = upgrade::split(connection, move |client| {
        let input = Input { container: &for_input, run_at_attach, stdin, stdin_once };
        if input.read_messages(client, &input_writer, &mut detach_keys) {
            cancel.store(true, Ordering::Relaxed);
            for_input.update(|_| ());
        }
    });
    attach::wait_for_run(&container, run_at_attach);
    if let Ok(output) = duplex.output() {
        {
            let mut shared = writer.lock().expect("invariant: writer lock not poisoned");
            let mut output = output;
            let early = std::mem::take(&mut shared.early);
            let _ = output.write_all(&early);
            shared.output = Some(output);
        }
        // Raw bytes (`tty` framing): one binary message per piece of output.
        let mut sink = FrameSink::new(Destination::Raw(Box::new(MessageWriter(Arc::clone(&writer)))), true);
        sink.cancelled = cancel_output;
        let _ = logs::send_log(&container, cursor, &LogQuery::attached(stdout, stderr), &mut sink);
        // The output is over: say so with a close frame (1000, normal).
        let mut close = Vec::new();
        let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
        let _ = Frame::close(Some(normal)).format(&mut close);
        let _ = write_frame(&writer, &close);
        writer.lock().expect("invariant: writer lock not poisoned").output = None;
    }
    drop(writer);
    duplex.finish();
}

/// Each write is one binary WebSocket message.
struct MessageWriter(Writer);

impl Write for MessageWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut framed = Vec::with_capacity(bytes.len() + 10);
        Frame::message(bytes.to_vec(), OpCode::Data(Data::Binary), true)
            .format(&mut framed)
            .map_err(io::Error::other)?;
        write_frame(&self.0, &framed)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The input side: the client's messages.
struct Input<'a> {
    container: &'a Container,
    run_at_attach: u64,
    stdin: bool,
    stdin_once: bool,
}

/// tungstenite's stream for the input side: reads from the client, and the
/// frames it writes (pong, the close reply) go through the shared writer.
struct InputStream<'a> {
    client: &'a mut ClientInput,
    writer: &'a Writer,
}

impl Read for InputStream<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.client.read(buffer)
    }
}

impl Write for InputStream<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        write_frame(self.writer, bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Input<'_> {
    /// Reads messages until the client closes; the data goes to the
    /// container's stdin. Returns true when the attach is over for the client
    /// — it typed the detach keys, closed, or went away — and the output
    /// should stop too.
    fn read_messages(&self, client: &mut ClientInput, writer: &Writer, keys: &mut DetachKeys) -> bool {
        attach::wait_for_run(self.container, self.run_at_attach);
        let mut stdin = if self.stdin { shim_link::stdin(&self.container.dir).ok() } else { None };
        let stream = InputStream { client, writer };
        let mut socket = WebSocket::from_raw_socket(stream, Role::Server, None);
        let mut forwarded = Vec::new();
        loop {
            let data = match socket.read() {
                Ok(Message::Text(text)) if is_stdin_eof(text.as_str()) => {
                    if let Some(stdin) = stdin.take() {
                        attach::end_of_input(self.container, stdin, self.stdin_once);
                    }
                    continue;
                }
                Ok(Message::Text(text)) => text.as_bytes().to_vec(),
                Ok(Message::Binary(bytes)) => bytes.to_vec(),
                Ok(_) => continue, // ping, pong: tungstenite answers; close: read fails next
                Err(_) => {
                    // A close, or a connection gone: the end of input, as a
                    // half-close is for the raw attach.
                    if let Some(stdin) = stdin.take() {
                        attach::end_of_input(self.container, stdin, self.stdin_once);
                    }
                    return true;
                }
            };
            let Some(pipe) = stdin.as_mut() else { continue };
            forwarded.clear();
            let detached = keys.filter(&data, &mut forwarded);
            if attach::write_input(pipe, &forwarded).is_err() {
                stdin = None;
            }
            if detached {
                let _ = socket.close(None);
                socket.get_ref().client.hang_up();
                return true;
            }
        }
    }
}

/// `{"stdin_eof": true}`, however the client spaced it.
fn is_stdin_eof(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|value| value.get("stdin_eof").and_then(serde_json::Value::as_bool) == Some(true))
}
