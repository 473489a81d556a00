//! Docker's event stream (`GET /events`): every lifecycle step — create,
//! start, die, kill, stop, pause, unpause, rename, destroy — recorded once in a
//! bounded ring in memory and fanned out to every listener with the same
//! `Mutex` + `Condvar` pattern as log follow: listeners keep their own position
//! (a sequence number) and sleep until the ring grows past it. A slow listener
//! costs nothing but its place; one that falls further behind than the ring
//! holds misses the oldest events. Events live only in memory, as in Docker
//! (docs/08-logs.md).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::engine::Engine;
use crate::http_io::{respond_error, start_stream, Query};

/// Events kept for replay (`since`) and for listeners that lag.
pub const MAX_EVENTS: usize = 1024;
/// A listener that heard nothing this long gets a blank line.
const EVENT_HEARTBEAT: Duration = Duration::from_secs(5);

/// One event, as recorded.
#[derive(Debug, Clone)]
pub struct Event {
    /// Position in the stream: listeners continue after the last one they saw.
    pub sequence: u64,
    pub time_nanos: i128,
    pub action: String,
    pub id: String,
    pub image: String,
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    /// Docker's JSON form of the event.
    pub fn to_json(&self) -> Value {
        json!({
            "status": self.action,
            "id": self.id,
            "from": self.image,
            "Type": "container",
            "Action": self.action,
            "Actor": { "ID": self.id, "Attributes": self.attributes },
            "scope": "local",
            "time": self.time_nanos.div_euclid(1_000_000_000),
            "timeNano": self.time_nanos,
        })
    }
}

/// The ring of recent events and the `Condvar` listeners sleep on.
#[derive(Default)]
pub struct EventLog {
    /// Guarded here; `grew` is notified after every push.
    ring: Mutex<Ring>,
    grew: Condvar,
}

#[derive(Default)]
struct Ring {
    events: VecDeque<Event>,
    next_sequence: u64,
}

impl EventLog {
    /// Records an event and wakes every listener.
    pub fn record(&self, action: &str, id: &str, image: &str, attributes: BTreeMap<String, String>) {
        let mut ring = self.ring.lock().expect("invariant: event lock not poisoned");
        let event = Event {
            sequence: ring.next_sequence,
            time_nanos: common::time::now_nanos(),
            action: action.to_string(),
            id: id.to_string(),
            image: image.to_string(),
            attributes,
        };
        ring.next_sequence += 1;
        ring.events.push_back(event);
        if ring.events.len() > MAX_EVENTS {
            ring.events.pop_front();
        }
        drop(ring);
        self.grew.notify_all();
    }

    /// The sequence number the next event will get: "from now on".
    pub fn next_sequence(&self) -> u64 {
        self.ring.lock().expect("invariant: event lock not poisoned").next_sequence
    }

    /// Events with a sequence number of at least `from`, oldest first; waits
    /// up to `timeout` for one if there is none yet.
    pub fn read_from(&self, from: u64, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut ring = self.ring.lock().expect("invariant: event lock not poisoned");
        while ring.next_sequence <= from {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Vec::new();
            }
            ring = self.grew.wait_timeout(ring, left).expect("invariant: event lock not poisoned").0;
        }
        ring.events.iter().filter(|event| event.sequence >= from).cloned().collect()
    }
}

/// `/events` filters: `container`, `event`, `type` and `label`.
pub struct EventFilters {
    by_key: BTreeMap<String, Vec<String>>,
}

impl EventFilters {
    pub fn parse(query: &Query) -> Result<EventFilters, ApiError> {
        Ok(EventFilters { by_key: query.filters(&["container", "event", "type", "label"])? })
    }

    pub fn matches(&self, event: &Event) -> bool {
        self.by_key.iter().all(|(key, wanted)| {
            wanted.iter().any(|value| match key.as_str() {
                "container" => {
                    event.id.starts_with(value.as_str())
                        || event
                            .attributes
                            .get("name")
                            .is_some_and(|name| name == value.trim_start_matches('/'))
                }
                // `exec_start: sh` matches the filter `exec_start`.
                "event" => event.action == *value || event.action.split(':').next() == Some(value.as_str()),
                "type" => value == "container",
                "label" => match value.split_once('=') {
                    Some((k, v)) => event.attributes.get(k).map(String::as_str) == Some(v),
                    None => event.attributes.contains_key(value.as_str()),
                },
                _ => false,
            })
        })
    }
}

/// `GET /events?since=&until=&filters=`: past events from `since`, then each
/// new one as it happens, until `until` or until the client goes away.
pub fn handle(engine: &Arc<Engine>, request: tiny_http::Request, query: &Query) {
    let parsed = (|| {
        Ok::<_, ApiError>((
            EventFilters::parse(query)?,
            query.unix_nanos("since")?,
            query.unix_nanos("until")?,
        ))
    })();
    let (filters, since, until) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return respond_error(request, &error),
    };
    // Without `since`, only events from now on; with it, the kept past too.
    let mut next = if since.is_some() { 0 } else { engine.events.next_sequence() };
    let Ok(mut body) = start_stream(request, "application/json") else { return };
    let mut last_write = Instant::now();
    // Ends when `until` has passed or a write fails (the client went away).
    loop {
        let now = common::time::now_nanos();
        let expired = until.is_some_and(|until| now >= until);
        let wait = match until {
            _ if expired => Duration::ZERO,
            Some(until) => Duration::from_nanos((until - now).min(EVENT_HEARTBEAT.as_nanos() as i128) as u64),
            None => EVENT_HEARTBEAT,
        };
        let events = engine.events.read_from(next, wait);
        let mut lines = String::new();
        for event in &events {
            next = event.sequence + 1;
            let in_window = since.is_none_or(|since| event.time_nanos >= since)
                && until.is_none_or(|until| event.time_nanos <= until);
            if in_window && filters.matches(event) {
                lines.push_str(&event.to_json().to_string());
                lines.push('\n');
            }
        }
        if expired {
            if body.write_chunk(lines.as_bytes()).is_ok() {
                let _ = body.finish();
            }
            return;
        }
        // A blank line when the client has heard nothing for a while (news
        // may all have been filtered out): JSON readers skip it, a dead
        // client fails it.
        if lines.is_empty() && last_write.elapsed() >= EVENT_HEARTBEAT {
            lines.push('\n');
        }
        if !lines.is_empty() {
            if body.write_chunk(lines.as_bytes()).is_err() {
                return;
            }
            last_write = Instant::now();
        }
    }
}
