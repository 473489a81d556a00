//! The listening socket and the request loop. The socket file is the
//! capability: it is created with mode 0600, a stale one left by a dead daemon
//! is replaced, and a live daemon on it is an error, never a hijack. tiny_http
//! reads requests, one thread per connection; each request is then answered on
//! a thread of its own, up to a bound past which clients get 503 rather than
//! everyone waiting (SPEC §7, docs/06-daemon-threads.md).

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::api_error::ApiError;
use crate::engine::Engine;
use crate::http_io::respond_error;
use crate::routes;

/// Requests answered at the same time; one more gets 503 at once.
pub const MAX_CONCURRENT_REQUESTS: usize = 1024;
/// Handler threads mostly wait on sockets and condition variables.
const HANDLER_STACK_BYTES: usize = 256 * 1024;

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

/// Answers requests until the process exits.
pub fn serve(engine: Arc<Engine>, listener: UnixListener) -> Result<(), String> {
    let server = tiny_http::Server::from_listener(listener, None).map_err(|e| e.to_string())?;
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let request = server.recv().map_err(|e| format!("accept: {e}"))?;
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
