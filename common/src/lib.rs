//! Everything the daemon, the shim and the CLI agree on: the state machine
//! (`state`), container IDs and names (`ids`, `names`), the layout of the state
//! directory (`paths`) and the shim's lock on it (`shim_lock`), the wire types
//! (`wire`), and the HTTP-over-Unix-socket plumbing both ends share
//! (`chunked`, `stream_frame`). All `unsafe` code of the
//! project lives in `sys`: one small, named, safe wrapper per libc call
//! (docs/01-overview.md gives the tour).
#![deny(unsafe_code)]

pub mod atomic_file;
pub mod chunked;
pub mod detach_keys;
pub mod human_time;
pub mod ids;
pub mod json_file;
pub mod names;
pub mod paths;
pub mod proc;
pub mod shim_lock;
pub mod signals;
pub mod spawn;
pub mod state;
pub mod stream_frame;
#[allow(unsafe_code)]
pub mod sys;
pub mod time;
pub mod wire;
