//! The listening socket and the request loop. The socket file is the
//! capability: it is created with mode 0600, a stale one left by a dead daemon
//! is replaced, and a live daemon on it is an error, never a hijack. tiny_http
//! reads requests, one thread per connection; each request is then answered on
//! a thread of its own, up to a bound past which clients get 503 rather than
//! everyone waiting. When accepting fails — out of descriptors, most likely —
//! tiny_http's accept thread gives up; the daemon then keeps serving the
//! connections it has and accepts again after a pause, instead of exiting
//! (SPEC §7, docs/06-daemon-threads.md).

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::api_error::ApiError;
use crate::engine::Engine;
use crate::http_io::respond_error;
use crate::routes;

/// Requests answered at the same time; one more gets 503 at once.
pub const MAX_CONCURRENT_REQUESTS: usize = 1024;
/// Handler threads mostly wait on sockets and condition variables, but
/// serde_json recurses once per nesting level, up to its limit of 128, and
/// an unoptimized build needs more than 256 KiB for that (a stack overflow
/// aborts the whole daemon). Untouched stack pages cost no memory.
const HANDLER_STACK_BYTES: usize = 1024 * 1024;
/// After a failed accept, the pause before accepting again: doubled at each
/// failure in a row, up to the maximum (descriptors come back as clients leave).
const ACCEPT_PAUSE: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_AT_MOST: Duration = Duration::from_secs(1);

/// Binds the API socket at `path`, mode 0600.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    if path.as_os_str().len() > common::paths::MAX_SOCKET_PATH {
        return Err(format!(
            "socket path {} is longer than a Unix socket allows (107 bytes)",
            path.display()
        ));
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(format!("another daemon is already listening on {}", path.display()));
        }
        // Nobody answers: a dead daemon's socket. Replace it.
        std::fs::remove_file(path).map_err(|e| format!("remove stale socket {}: {e}", path.display()))?;
    }
    // The umask makes the socket 0600 from its first moment: no window in
    // which another user could connect. Set before any thread exists.
    let previous = common::sys::set_umask(0o177);
    let bound = UnixListener::bind(path);
    common::sys::set_umask(previous);
    bound.map_err(|e| format!("bind {}: {e}", path.display()))
}

/// The server currently accepting, for the panic hook below.
static ACCEPTING: Mutex<Option<Arc<tiny_http::Server>>> = Mutex::new(None);

/// Answers requests until the process exits.
pub fn serve(engine: Arc<Engine>, listener: UnixListener) -> Result<(), String> {
    notice_accept_thread_panics();
    let active = Arc::new(AtomicUsize::new(0));
    let mut pause = ACCEPT_PAUSE;
    loop {
        let started = Instant::now();
        // Out of descriptors, even the listener's copy may fail: that is
        // one more failed accept.
        let error = match listener.try_clone().map(|copy| tiny_http::Server::from_listener(copy, None)) {
            Ok(Ok(server)) => {
                let server = Arc::new(server);
                *ACCEPTING.lock().expect("invariant: lock not poisoned") = Some(Arc::clone(&server));
                // Returns when tiny_http reports that its accept thread failed.
                let error = dispatch(&engine, &server, &active);
                // The connections it accepted still send their requests through
                // this server: a thread of its own goes on answering them.
                let (engine, active) = (Arc::clone(&engine), Arc::clone(&active));
                std::thread::spawn(move || dispatch(&engine, &server, &active));
                error.to_string()
            }
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        if started.elapsed() > ACCEPT_PAUSE_AT_MOST * 10 {
            pause = ACCEPT_PAUSE; // a failure after a long good run starts the pauses over
        }
        eprintln!("orchestratord: accept failed ({error}); accepting again in {pause:?}");
        std::thread::sleep(pause);
        pause = (pause * 2).min(ACCEPT_PAUSE_AT_MOST);
    }
}

/// tiny_http's accept thread reports a failed `accept` as an error, but when
/// the descriptor for a connection it has just accepted cannot be duplicated
/// (EMFILE again) it panics, and the daemon would stop accepting without a
/// word. A panic raised in tiny_http's code therefore also wakes the request
/// loop, as an accept error would: it accepts again on a new server.
fn notice_accept_thread_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        if info.location().is_some_and(|at| at.file().contains("tiny_http")) {
            if let Some(server) = ACCEPTING.lock().ok().and_then(|current| current.clone()) {
                server.unblock();
            }
        }
    }));
}

/// Hands each request of `server` to a thread of its own, until the server
/// reports an error (its accept thread has stopped); returns that error.
fn dispatch(engine: &Arc<Engine>, server: &tiny_http::Server, active: &Arc<AtomicUsize>) -> std::io::Error {
    loop {
        let request = match server.recv() {
            Ok(request) => request,
            Err(error) => return error,
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONCURRENT_REQUESTS {
            active.fetch_sub(1, Ordering::SeqCst);
            respond_error(request, &ApiError::Busy);
            continue;
        }
        let engine = engine.clone();
        let slot = ActiveRequest(active.clone());
        let spawned = std::thread::Builder::new().stack_size(HANDLER_STACK_BYTES).spawn(move || {
            let _slot = slot; // released when the handler returns, even by panic
            routes::handle(&engine, request);
        });
        if spawned.is_err() {
            eprintln!("orchestratord: cannot start a thread for a request");
        }
    }
}

/// One slot of the concurrency bound, given back on drop.
struct ActiveRequest(Arc<AtomicUsize>);

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
