//! Hostile and malformed input (SPEC §7, §9): raw bytes that are not HTTP,
//! broken framing, JSON that is invalid, of the wrong type, huge or deeply
//! nested, names and references that try to leave the state root, bad query
//! values, unknown paths and methods, a thousand idle connections, and a second
//! daemon on a live socket. After every hostile request the daemon must have
//! answered a clear 4xx with Docker's `{"message": …}` (or closed a connection
//! that was not HTTP), must still answer `_ping`, and must have created nothing
//! outside its state root: next to `root/` and `sock` nothing appears, and the
//! root and `containers/json` hold exactly what the test itself created.
//! Cases the daemon gets wrong today are kept, `#[ignore]`d with the bug.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::ops::{Deref, DerefMut};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{binary, eventually, is_alive, stderr, TestDaemon, DEADLINE};

/// How long an answer may take before a connection counts as hung.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// SPEC §7: "a read timeout for a client that stalls before its request is
/// complete". The SPEC names no value; this is the most the test waits.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// The head of a create request whose body comes in chunks.
const CHUNKED_CREATE: &str = "POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\n\
                              Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
/// Docker's wording for a name that breaks its rule.
const NAME_RULE: &str = "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed";

// ---------------------------------------------------------------------------
// 1. Malformed HTTP
// ---------------------------------------------------------------------------

#[test]
fn malformed_http_is_refused_and_the_daemon_keeps_serving() {
    let daemon = start();
    let long_path = format!("GET /{} HTTP/1.1\r\nConnection: close\r\n\r\n", "a".repeat(1 << 20));
    let long_header =
        format!("GET /_ping HTTP/1.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "b".repeat(1 << 20));
    let create_head = "POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\n";
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("binary garbage", b"\x00\x01\x02garbage\xff\xfe\r\n\r\n".to_vec(), Expect::Refused),
        ("a request line without version", b"GET /_ping\r\n\r\n".to_vec(), Expect::Refused),
        ("an unknown HTTP version", b"GET /_ping HTTP/9.9\r\n\r\n".to_vec(), Expect::Refused),
        ("a request line with two spaces", b"GET /_ping  HTTP/1.1\r\n\r\n".to_vec(), Expect::Refused),
        ("a 1 MiB request line", long_path.into_bytes(), Expect::Error(404, "page not found")),
        ("a 1 MiB header", long_header.into_bytes(), Expect::Served),
        (
            "non-ASCII header bytes",
            b"GET /_ping HTTP/1.1\r\nX-Bad: \xff\xfe\x80\r\n\r\n".to_vec(),
            Expect::Refused,
        ),
        ("a header without a colon", b"GET /_ping HTTP/1.1\r\nNoColonHere\r\n\r\n".to_vec(), Expect::Refused),
        ("an unknown Expect", b"GET /_ping HTTP/1.1\r\nExpect: magic\r\n\r\n".to_vec(), Expect::Refused),
        (
            "Content-Length that is not a number",
            format!("{create_head}Content-Length: abc\r\n\r\n{{\"Cmd\":[\"true\"]}}").into_bytes(),
            Expect::Bad(400),
        ),
        (
            "a negative Content-Length",
            format!("{create_head}Content-Length: -5\r\n\r\n{{\"Cmd\":[\"true\"]}}").into_bytes(),
            Expect::Bad(400),
        ),
        (
            "a small body shorter than its Content-Length",
            format!("{create_head}Content-Length: 50\r\n\r\n{{\"Cmd\":").into_bytes(),
            Expect::Refused,
        ),
        (
            "a large body shorter than its Content-Length",
            format!("{create_head}Content-Length: 5000\r\n\r\n{{\"Cmd\":[\"true\"]").into_bytes(),
            Expect::Bad(400),
        ),
        (
            "a connection closed in the middle of the headers",
            b"POST /containers/create HTTP/1.1\r\nContent-Type: appl".to_vec(),
            Expect::Refused,
        ),
        ("a connection closed in the request line", b"GET /_pi".to_vec(), Expect::Refused),
        ("nothing at all", Vec::new(), Expect::Refused),
    ];
    for (what, bytes, expected) in cases {
        let reply = exchange(&daemon.socket, &bytes);
        expected.check(&reply, what);
        assert_unharmed(&daemon, &[]);
    }
    assert_cli_lists(&daemon, &[]);
}

#[test]
#[ignore = "bug: an HTTP/2 request line (the h2c preface `PRI * HTTP/2.0`) gets no answer and no close, \
            and its connection's thread and two descriptors leak for good (tiny_http 0.12 client.rs \
            writes its 505 while the refused request still holds the connection's writer)"]
fn an_http2_preface_is_answered_or_closed_and_leaks_nothing() {
    let daemon = start();
    let before = descriptor_count(&daemon);
    let mut hung = Vec::new();
    for preface in
        [&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..], b"GET /_ping HTTP/2.0\r\nConnection: close\r\n\r\n"]
    {
        // No half-close: a real HTTP/2 client waits for the server's SETTINGS.
        let stream = send(&daemon.socket, preface);
        let reply = read_reply(stream, Duration::from_secs(3));
        if !(reply.closed || reply.status.is_some_and(|status| status >= 400)) {
            hung.push(String::from_utf8_lossy(preface).into_owned());
        }
        assert_unharmed(&daemon, &[]);
    }
    // Whatever happened, once the clients are gone their descriptors must be.
    let clients: Vec<UnixStream> =
        (0..20).map(|_| send(&daemon.socket, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")).collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(clients);
    let settled = wait_for(DEADLINE, || descriptor_count(&daemon) <= before + 2);
    let after = descriptor_count(&daemon);
    assert!(
        hung.is_empty() && settled,
        "no answer and no close within 3 s for {hung:?}; descriptors: {before} before, {after} after \
         the clients left"
    );
}

#[test]
#[ignore = "bug: a request head has no size limit: tiny_http 0.12 reads the request line and the \
            headers into memory byte by byte, without a bound, before the daemon sees the request, \
            so a 4 MiB header is read whole and answered (dockerd's Go server answers 431 above 1 MiB)"]
fn a_huge_request_head_is_refused() {
    let daemon = start();
    let mut request = b"GET /_ping HTTP/1.1\r\nX-Long: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 4 << 20));
    request.extend_from_slice(b"\r\n\r\n");
    let reply = exchange(&daemon.socket, &request);
    let refused = reply.status.is_some_and(|status| (400..500).contains(&status))
        || (reply.closed && reply.status.is_none());
    assert!(refused, "a 4 MiB request head must be refused: {}", reply.describe());
    assert_unharmed(&daemon, &[]);
}

/// tiny_http 0.12 drains an unread body on drop into `vec![0; remaining]`
/// (tiny-http PR #290): any request declaring `Content-Length:
/// 99999999999999` used to abort the daemon once answered. Such a request now
/// gets 413 (after an interim 100, see `http_io::refuse_oversized_body`).
#[test]
fn a_huge_declared_content_length_gets_413_and_the_daemon_survives() {
    let daemon = start();
    for length in ["99999999999999", "18446744073709551615"] {
        let request = format!(
            "POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\n\r\n{{\"Cmd\":[\"true\"]}}"
        );
        for half_close in [false, true] {
            let stream = send(&daemon.socket, request.as_bytes());
            if half_close {
                let _ = stream.shutdown(Shutdown::Write);
            }
            let reply = read_reply(stream, REPLY_TIMEOUT);
            assert_error(
                &reply,
                413,
                "request body is larger than 1 MiB",
                &format!("Content-Length {length}"),
            );
            assert_eq!(reply.header("Connection"), Some("close"), "{}", reply.describe());
            assert_unharmed(&daemon, &[]);
        }
    }
    // Any request, even one whose handler reads no body.
    let stream = send(&daemon.socket, b"GET /_ping HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n");
    let reply = read_reply(stream, REPLY_TIMEOUT);
    assert_eq!(reply.status, Some(413), "{}", reply.describe());
    assert_unharmed(&daemon, &[]);
}

#[test]
fn a_broken_chunked_body_gets_400() {
    let daemon = start();
    let mut wrong = Vec::new();
    for (what, chunks) in [
        ("a chunk size that is not hex", "ZZZ\r\n{\"Cmd\":[\"true\"]}\r\n0\r\n\r\n"),
        ("a negative chunk size", "-10\r\n{\"Cmd\":[\"true\"]}\r\n0\r\n\r\n"),
        ("a chunk without its CRLF", "10\r\n{\"Cmd\":[\"true\"]}XX0\r\n\r\n"),
    ] {
        let reply = exchange(&daemon.socket, format!("{CHUNKED_CREATE}{chunks}").as_bytes());
        if reply.status != Some(400) || reply.json()["message"].as_str().is_none_or(str::is_empty) {
            wrong.push(format!("{what}: {}", reply.describe()));
        }
        assert_unharmed(&daemon, &[]);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Sends each request, half-closes, and lists those that were not refused.
fn not_refused(daemon: &TestDaemon, cases: &[(&str, String)]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (what, request) in cases {
        let reply = exchange(&daemon.socket, request.as_bytes());
        if let Some(id) = reply.json()["Id"].as_str() {
            let _ = daemon.http("DELETE", &format!("/containers/{id}?force=1"), None);
            wrong.push(format!("{what}: created {id}"));
        } else if !reply.closed || reply.status.is_some_and(|status| !(400..500).contains(&status)) {
            wrong.push(format!("{what}: {}", reply.describe()));
        }
        assert_unharmed(daemon, &[]);
    }
    wrong
}

#[test]
fn a_body_cut_short_creates_nothing() {
    let daemon = start();
    let body = r#"{"Cmd":["true"]}"#;
    let wrong = not_refused(
        &daemon,
        &[
            (
                "a body shorter than its Content-Length",
                format!(
                    "POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\n\
                     Content-Length: 5000\r\n\r\n{body}"
                ),
            ),
            ("chunks without the last, empty one", format!("{CHUNKED_CREATE}10\r\n{body}\r\n")),
        ],
    );
    assert!(wrong.is_empty(), "a truncated request must be refused: {wrong:#?}");
}

#[test]
#[ignore = "bug: a chunk cut off by the end of the connection is taken as the end of the body: \
            chunked_transfer 1.5's Decoder (inside tiny_http 0.12) returns Ok(0) at an early EOF, \
            and what arrived parses, so the container is created (201)"]
fn a_chunk_cut_short_creates_nothing() {
    let daemon = start();
    let body = r#"{"Cmd":["true"]}"#;
    let wrong = not_refused(
        &daemon,
        &[("a chunk cut off by the end of the connection", format!("{CHUNKED_CREATE}400\r\n{body}"))],
    );
    assert!(wrong.is_empty(), "a truncated request must be refused: {wrong:#?}");
}

#[test]
fn a_client_that_stalls_mid_request_is_cut_off() {
    let daemon = start();
    let stream = send(&daemon.socket, b"POST /containers/create HTTP/1.1\r\nContent-Type: app");
    let reply = read_reply(stream, STALL_LIMIT);
    assert!(
        reply.closed || reply.status == Some(408),
        "a stalled request is still open after {STALL_LIMIT:?}: {}",
        reply.describe()
    );
    assert_unharmed(&daemon, &[]);
}

// ---------------------------------------------------------------------------
// 2. Malformed and huge JSON on create
// ---------------------------------------------------------------------------

#[test]
fn malformed_json_on_create_gets_400_and_creates_nothing() {
    let daemon = start();
    let nested_arrays = "[".repeat(100_000);
    let cases: Vec<(&str, &[u8], &str)> = vec![
        ("truncated JSON", br#"{"Cmd":"#, "invalid JSON"),
        ("unquoted keys", b"{Cmd: [true]}", "invalid JSON"),
        ("bytes that are not UTF-8", b"\xff\xfe{}", "invalid JSON"),
        ("trailing garbage", br#"{"Cmd":["true"]} and more"#, "invalid JSON"),
        ("two objects", br#"{"Cmd":["true"]}{"Cmd":["true"]}"#, "invalid JSON"),
        ("an array", br#"[{"Cmd":["true"]}]"#, "JSON object"),
        ("a number", b"5", "JSON object"),
        ("a string", br#""Cmd""#, "JSON object"),
        ("null", b"null", "JSON object"),
        ("Cmd as a number", br#"{"Cmd":5}"#, "Cmd"),
        ("Cmd as an object", br#"{"Cmd":{"a":"b"}}"#, "Cmd"),
        ("Cmd with a number in it", br#"{"Cmd":["echo",1]}"#, "Cmd"),
        ("Entrypoint as a boolean", br#"{"Entrypoint":true}"#, "Entrypoint"),
        ("Env with a number in it", br#"{"Cmd":["true"],"Env":[1]}"#, "Env"),
        ("Env as an object", br#"{"Cmd":["true"],"Env":{"A":"1"}}"#, "Env"),
        ("100 000 nested arrays", nested_arrays.as_bytes(), "invalid JSON"),
    ];
    for (what, body, phrase) in cases {
        let reply = exchange(&daemon.socket, &post_json("/containers/create", body));
        assert_eq!(reply.status, Some(400), "{what}: {}", reply.describe());
        assert!(reply.message().contains(phrase), "{what}: {:?} should mention {phrase:?}", reply.message());
        assert_unharmed(&daemon, &[]);
    }

    // 2 MiB without a Content-Length (chunked): read up to the bound, then 413.
    let mut chunked = b"POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\n\
                        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for _ in 0..2 {
        chunked.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 1 << 20));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let reply = exchange(&daemon.socket, &chunked);
    assert_error(&reply, 413, "request body is larger than 1 MiB", "a 2 MiB chunked body");
    assert_unharmed(&daemon, &[]);

    // 2 MiB declared and never sent: 413 at once, without waiting for it.
    let stream = send(
        &daemon.socket,
        format!(
            "POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            2 << 20
        )
        .as_bytes(),
    );
    let started = Instant::now();
    let reply = read_reply(stream, REPLY_TIMEOUT);
    assert_error(&reply, 413, "request body is larger than 1 MiB", "2 MiB declared, none sent");
    assert!(started.elapsed() < Duration::from_secs(2), "the 413 came only after {:?}", started.elapsed());
    assert_unharmed(&daemon, &[]);
    assert_cli_lists(&daemon, &[]);
}

#[test]
fn wrong_typed_fields_on_create_get_400() {
    let daemon = start();
    let mut accepted = Vec::new();
    for body in [
        json!({"Cmd": ["true"], "Env": "x"}),
        json!({"Cmd": ["true"], "Labels": []}),
        json!({"Cmd": ["true"], "Labels": {"a": 1}}),
        json!({"Cmd": ["true"], "Tty": "yes"}),
        json!({"Cmd": ["true"], "OpenStdin": 1}),
        json!({"Cmd": ["true"], "HostConfig": 5}),
        json!({"Cmd": ["true"], "HostConfig": {"AutoRemove": "yes"}}),
        json!({"Cmd": ["true"], "WorkingDir": 5}),
        json!({"Cmd": ["true"], "StopTimeout": "x"}),
        json!({"Cmd": ["true"], "StopSignal": 9}),
        json!({"Cmd": ["true"], "Image": 5}),
    ] {
        let reply = exchange(&daemon.socket, &post_json("/containers/create", body.to_string().as_bytes()));
        if let Some(id) = reply.json()["Id"].as_str() {
            // Put the state back as the test expects it, and go on.
            let _ = daemon.http("DELETE", &format!("/containers/{id}?force=1"), None);
            accepted.push(body.to_string());
        } else {
            assert_eq!(reply.status, Some(400), "{body}: {}", reply.describe());
        }
        assert_unharmed(&daemon, &[]);
    }
    assert!(accepted.is_empty(), "accepted with 201: {accepted:#?}");
}

#[test]
fn deeply_nested_objects_get_400_and_do_not_kill_the_daemon() {
    let daemon = start();
    let nested = "{\"a\":".repeat(1000);
    let reply = exchange(&daemon.socket, &post_json("/containers/create", nested.as_bytes()));
    assert!(reply.status == Some(400), "1000 nested objects in a create body: {}", reply.describe());
    assert_unharmed(&daemon, &[]);
    let valid = format!(r#"{{"Cmd":["true"],"Labels":{}1{}}}"#, "{\"a\":".repeat(126), "}".repeat(126));
    let reply = exchange(&daemon.socket, &post_json("/containers/create", valid.as_bytes()));
    assert!(reply.status.is_some(), "126 levels of valid JSON: {}", reply.describe());
    let created: Vec<String> = reply.json()["Id"].as_str().map(str::to_string).into_iter().collect();
    assert_unharmed(&daemon, &created);
    let filters = percent_encode(&"{\"a\":".repeat(1000));
    let reply = exchange(&daemon.socket, &request("GET", &format!("/containers/json?filters={filters}")));
    assert!(reply.status == Some(400), "1000 nested objects in filters: {}", reply.describe());
    assert_unharmed(&daemon, &created);
}

#[test]
fn a_slow_body_still_creates_the_container() {
    let daemon = start();
    let mut created = Vec::new();
    // Under 1 KiB tiny_http reads the body before dispatch; above, the
    // handler reads it: both paths, each sent in small pieces with pauses.
    for (name, padding) in [("slowsmall", 10), ("slowlarge", 1500)] {
        let body = json!({"Cmd": ["true"], "Labels": {"pad": "p".repeat(padding)}}).to_string();
        let request = post_json(&format!("/containers/create?name={name}"), body.as_bytes());
        let mut stream = UnixStream::connect(&daemon.socket).expect("connect to the daemon");
        for piece in request.chunks(64) {
            stream.write_all(piece).expect("send a piece");
            std::thread::sleep(Duration::from_millis(8));
        }
        let reply = read_reply(stream, REPLY_TIMEOUT);
        assert_eq!(reply.status, Some(201), "{name}: {}", reply.describe());
        let id = reply.json()["Id"].as_str().expect("an Id").to_string();
        assert_eq!(daemon.inspect(name)["Config"]["Labels"]["pad"].as_str().map(str::len), Some(padding));
        created.push(id);
        assert_unharmed(&daemon, &created);
    }
    assert_cli_lists(&daemon, &created);
}

// ---------------------------------------------------------------------------
// 3. Names and references
// ---------------------------------------------------------------------------

#[test]
fn hostile_names_are_refused_and_never_reach_outside_the_root() {
    let daemon = start();
    let etc_beside_tmp = Path::new("/tmp/etc").exists();
    let body = br#"{"Cmd":["true"]}"#;
    for (typed, name) in [
        ("../../etc", "../../etc"),
        ("..%2F..%2Fetc", "../../etc"),
        ("..%2F..%2F..%2F..%2Ftmp%2Fescaped", "../../../../tmp/escaped"),
        ("%2E%2E", ".."),
        (".", "."),
        ("%00", "\0"),
        ("ab%00cd", "ab\0cd"),
        ("ab%0Acd", "ab\ncd"),
        ("a%20b", "a b"),
        ("%C3%A9t%C3%A9", "été"),
        ("-dash", "-dash"),
    ] {
        let reply = exchange(&daemon.socket, &post_json(&format!("/containers/create?name={typed}"), body));
        assert_error(&reply, 400, &format!("Invalid container name ({name}), {NAME_RULE}"), typed);
        assert_unharmed(&daemon, &[]);
    }
    // Valid characters, but 10 000 of them: refused (the daemon's limit is
    // 255), and the message shows only the first 80.
    let long = "x".repeat(10_000);
    let reply = exchange(&daemon.socket, &post_json(&format!("/containers/create?name={long}"), body));
    let shown = &long[..80];
    assert_error(&reply, 400, &format!("Invalid container name ({shown}), {NAME_RULE}"), "10 000 characters");
    assert_unharmed(&daemon, &[]);
    // An empty name gets a generated one, as with dockerd.
    let reply = exchange(&daemon.socket, &post_json("/containers/create?name=", body));
    assert_eq!(reply.status, Some(201), "{}", reply.describe());
    let id = reply.json()["Id"].as_str().expect("an Id").to_string();
    let name = daemon.inspect(&id)["Name"].as_str().unwrap_or("").to_string();
    assert!(name.starts_with('/') && name.contains('_'), "a generated name: {name:?}");
    let created = vec![id.clone()];
    assert_unharmed(&daemon, &created);

    // Rename to a hostile name: refused, and the container keeps its name.
    for typed in ["..%2F..%2Fetc", "%00", "."] {
        let reply = call(&daemon, "POST", &format!("/containers/{id}/rename?name={typed}"));
        assert_eq!(reply.status, Some(400), "rename to {typed}: {}", reply.describe());
        assert!(
            reply.message().starts_with("Error when allocating new name: Invalid container name ("),
            "rename to {typed}: {}",
            reply.message()
        );
        assert_eq!(daemon.inspect(&id)["Name"].as_str(), Some(name.as_str()));
        assert_unharmed(&daemon, &created);
    }
    assert_eq!(Path::new("/tmp/etc").exists(), etc_beside_tmp, "nothing made /tmp/etc");
    assert!(!Path::new("/tmp/escaped").exists(), "nothing made /tmp/escaped");
    assert_cli_lists(&daemon, &created);
}

#[test]
fn a_name_that_is_only_a_slash_is_refused_like_docker() {
    let daemon = start();
    let mut wrong = Vec::new();
    for (typed, name) in [("/", "/"), ("%2F", "/"), ("%2Fetc%2Fpasswd", "/etc/passwd"), ("//ab", "//ab")] {
        let reply = exchange(
            &daemon.socket,
            &post_json(&format!("/containers/create?name={typed}"), br#"{"Cmd":["true"]}"#),
        );
        if let Some(id) = reply.json()["Id"].as_str() {
            let _ = daemon.http("DELETE", &format!("/containers/{id}?force=1"), None);
            wrong.push(format!("name={typed}: 201 Created"));
        } else if reply.status != Some(400)
            || reply.message() != format!("Invalid container name ({name}), {NAME_RULE}")
        {
            wrong.push(format!("name={typed}: {}", reply.describe()));
        }
        assert_unharmed(&daemon, &[]);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn hostile_references_in_paths_get_404_and_touch_nothing() {
    let daemon = start();
    let victim = daemon.cli_ok(&["create", "--name", "victim", "--", "true"]).trim().to_string();
    let created = vec![victim.clone()];
    let files_before = files_in(&daemon.container_dir(&victim));
    let long_hex = "a".repeat(10_000);
    let long_text = "z".repeat(10_000);
    let cases: Vec<(&str, String, String)> = vec![
        ("GET", "/containers/..%2F..%2Fetc/json".into(), "../../etc".into()),
        ("GET", "/containers/%2e%2e/json".into(), "..".into()),
        ("GET", "/containers/../json".into(), "..".into()),
        ("GET", "/containers/%2E%2E%2F%2E%2E%2Ftmp/json".into(), "../../tmp".into()),
        ("GET", "/containers/%00/json".into(), "\0".into()),
        ("GET", "/containers/%2F/json".into(), "/".into()),
        ("GET", format!("/containers/{long_hex}/json"), long_hex.clone()),
        ("GET", format!("/containers/{long_text}/json"), long_text.clone()),
        ("GET", format!("/containers/..%2Froot%2F{victim}/json"), format!("../root/{victim}")),
        ("GET", format!("/containers/{victim}%2F..%2F..%2Fsock/json"), format!("{victim}/../../sock")),
        ("GET", "/containers/..%2F..%2Fetc/logs?stdout=1".into(), "../../etc".into()),
        ("POST", "/containers/..%2F..%2Fetc/start".into(), "../../etc".into()),
        ("POST", "/containers/..%2F..%2Fetc/kill".into(), "../../etc".into()),
        ("POST", "/containers/..%2F..%2Fetc/rename?name=other".into(), "../../etc".into()),
        ("POST", "/containers/..%2F..%2Fetc/wait".into(), "../../etc".into()),
        ("POST", "/containers/..%2F..%2Fetc/exec".into(), "../../etc".into()),
        ("DELETE", "/containers/..%2F..%2Fetc?force=1".into(), "../../etc".into()),
        ("DELETE", format!("/containers/..%2Froot%2F{victim}?force=1"), format!("../root/{victim}")),
    ];
    for (method, path, reference) in cases {
        let reply = if path.ends_with("/exec") {
            exchange(&daemon.socket, &post_json(&path, br#"{"Cmd":["true"]}"#))
        } else {
            call(&daemon, method, &path)
        };
        let what = format!("{method} {}", &path[..path.len().min(80)]);
        assert_error(&reply, 404, &format!("No such container: {reference}"), &what);
        assert_unharmed(&daemon, &created);
    }
    for (method, path) in
        [("GET", "/exec/..%2F..%2Fetc/json"), ("POST", "/exec/..%2F..%2Fetc/resize?h=1&w=1")]
    {
        let reply = call(&daemon, method, path);
        assert_error(&reply, 404, "No such exec instance: ../../etc", path);
        assert_unharmed(&daemon, &created);
    }
    assert_eq!(files_in(&daemon.container_dir(&victim)), files_before, "the victim's directory is untouched");
    assert_eq!(daemon.status("victim"), "created");
    assert_cli_lists(&daemon, &created);
}

#[test]
fn an_ambiguous_prefix_is_refused_and_touches_nothing() {
    let daemon = start();
    // Seventeen IDs cannot all start with different hex digits.
    let mut created: Vec<String> = Vec::new();
    let prefix = loop {
        let reply = exchange(&daemon.socket, &post_json("/containers/create", br#"{"Cmd":["true"]}"#));
        assert_eq!(reply.status, Some(201), "{}", reply.describe());
        let id = reply.json()["Id"].as_str().expect("an Id").to_string();
        let shared = created.iter().find(|other| other[..1] == id[..1]).map(|other| other[..1].to_string());
        created.push(id);
        if let Some(prefix) = shared {
            break prefix;
        }
        assert!(created.len() <= 16, "17 IDs share a first digit");
    };
    let matching = created.iter().filter(|id| id.starts_with(&prefix)).count();
    for (method, path) in [
        ("GET", format!("/containers/{prefix}/json")),
        ("POST", format!("/containers/{prefix}/start")),
        ("POST", format!("/containers/{prefix}/rename?name=renamed")),
        ("DELETE", format!("/containers/{prefix}?force=1")),
    ] {
        let reply = call(&daemon, method, &path);
        // dockerd 20.10 says 500; the daemon says 409 (SPEC §4: "an error that says so").
        assert_eq!(reply.status, Some(409), "{method} {path}: {}", reply.describe());
        assert_eq!(
            reply.message(),
            format!("Multiple IDs found with provided prefix: {prefix} ({matching} containers match)")
        );
        assert_unharmed(&daemon, &created);
    }
    for id in &created {
        assert_eq!(daemon.status(id), "created", "{id} was not started");
    }
    assert_cli_lists(&daemon, &created);
}

// ---------------------------------------------------------------------------
// 4. Query parameters
// ---------------------------------------------------------------------------

#[test]
fn bad_query_values_get_400_and_unknown_parameters_are_ignored() {
    let daemon = start();
    let busy = daemon.run(&["--name", "busy", "--", "sh", "-c", "echo hello; exec sleep 1000"]);
    let done = daemon.run(&["--name", "done", "--", "true"]);
    daemon.wait_status("done", "exited");
    let created = vec![busy.clone(), done.clone()];
    eventually("busy has logged hello", || {
        let (_, log) = daemon.http("GET", "/containers/busy/logs?stdout=1", None);
        String::from_utf8_lossy(&log).contains("hello")
    });
    let cases: &[(&str, &str, &str)] = &[
        ("POST", "/containers/busy/stop?t=1.5", "1.5"),
        ("POST", "/containers/busy/stop?t=99999999999999999999", "99999999999999999999"),
        ("POST", "/containers/busy/restart?t=abc", "abc"),
        ("POST", "/containers/busy/stop?signal=NOPE", "Invalid signal: NOPE"),
        ("POST", "/containers/busy/kill?signal=NOPE", "Invalid signal: NOPE"),
        ("POST", "/containers/busy/kill?signal=SIGNOPE", "Invalid signal: SIGNOPE"),
        ("POST", "/containers/busy/kill?signal=99", "Invalid signal: 99"),
        ("POST", "/containers/busy/kill?signal=-9", "Invalid signal: -9"),
        ("POST", "/containers/busy/kill?signal=%00", "Invalid signal: \0"),
        ("GET", "/containers/busy/logs?stdout=1&tail=x", "tail"),
        ("GET", "/containers/busy/logs?stdout=1&tail=99999999999999999999", "tail"),
        ("GET", "/containers/busy/logs?stdout=1&since=garbage", "since"),
        ("GET", "/containers/busy/logs?stdout=1&until=garbage", "until"),
        ("GET", "/containers/busy/logs?stdout=1&since=1.x", "since"),
        ("GET", "/containers/busy/logs?stdout=maybe", "stdout"),
        ("GET", "/containers/busy/logs?stdout=1&follow=sometimes", "follow"),
        ("GET", "/containers/json?filters=%7Bbad%20json", "filters"),
        ("GET", "/containers/json?filters=%5B%5D", "filters"),
        ("GET", "/containers/json?filters=%7B%22status%22%3A%7B%22bogus%22%3Atrue%7D%7D", "bogus"),
        ("GET", "/containers/json?all=maybe", "all"),
        ("GET", "/events?since=garbage", "since"),
        ("GET", "/events?filters=%7Bbad", "filters"),
        ("POST", "/containers/busy/resize?h=abc&w=1", "h"),
        ("POST", "/containers/busy/resize?h=-1&w=1", "h"),
        ("DELETE", "/containers/busy?force=maybe", "force"),
        ("DELETE", "/containers/done?force=maybe", "force"),
    ];
    for (method, path, phrase) in cases {
        let reply = call(&daemon, method, path);
        assert_eq!(reply.status, Some(400), "{method} {path}: {}", reply.describe());
        assert!(reply.message().contains(phrase), "{method} {path}: {:?} lacks {phrase:?}", reply.message());
        assert_unharmed(&daemon, &created);
        assert_eq!(daemon.status("busy"), "running", "{method} {path} changed nothing");
    }

    // A raw `{` and space in the query is not even HTTP: refused, not a crash.
    let reply = exchange(&daemon.socket, b"GET /containers/json?filters={bad json HTTP/1.1\r\n\r\n");
    Expect::Refused.check(&reply, "a raw space in the query");
    assert_unharmed(&daemon, &created);

    // Negative tail means "all", as dockerd reads it.
    let (status, log) = daemon.http("GET", "/containers/busy/logs?stdout=1&tail=-5", None);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&log).contains("hello"), "tail=-5 shows the log: {log:?}");
    // Unknown parameters are ignored, as dockerd ignores them.
    let reply = call(&daemon, "GET", "/containers/json?all=1&bogus=1&x&&=&size=maybe");
    assert_eq!(reply.status, Some(200), "{}", reply.describe());
    assert_eq!(reply.json().as_array().map(Vec::len), Some(2));
    assert_eq!(call(&daemon, "GET", "/containers/busy/json?size=maybe&bogus=1").status, Some(200));
    assert_eq!(call(&daemon, "POST", "/containers/busy/pause?bogus=1").status, Some(204));
    assert_eq!(call(&daemon, "POST", "/containers/busy/unpause?bogus=").status, Some(204));
    let reply = call(&daemon, "POST", "/containers/done/wait?condition=bogus&bogus=1");
    assert_eq!(reply.status, Some(200), "{}", reply.describe());
    assert_eq!(daemon.status("busy"), "running");
    assert_unharmed(&daemon, &created);
    assert_cli_lists(&daemon, &created);
}

// ---------------------------------------------------------------------------
// 5. Unknown paths and methods
// ---------------------------------------------------------------------------

#[test]
fn unknown_paths_and_methods_get_page_not_found() {
    let daemon = start();
    let id = daemon.cli_ok(&["create", "--name", "known", "--", "true"]).trim().to_string();
    let created = vec![id];
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/v1.41/nope"),
        ("GET", "/v1.41"),
        ("GET", "/v9/_ping"),
        ("GET", "/_ping/extra"),
        ("POST", "/_ping"),
        ("PUT", "/containers/json"),
        ("PATCH", "/containers/known/json"),
        ("FROBNICATE", "/_ping"),
        ("GET", "/containers/create"),
        ("GET", "/containers/known/start"),
        ("POST", "/containers/known/frobnicate"),
        ("POST", "/containers/nosuch/frobnicate"),
        ("GET", "/containers/known/json/extra"),
        ("OPTIONS", "/_ping"),
        ("OPTIONS", "*"),
        ("CONNECT", "/containers/json"),
    ] {
        let reply = call(&daemon, method, path);
        assert_error(&reply, 404, "page not found", &format!("{method} {path}"));
        assert_unharmed(&daemon, &created);
    }
    // HEAD: the status and headers of GET, and no body at all.
    let reply = exchange(&daemon.socket, &request("HEAD", "/_ping"));
    assert_eq!(reply.status, Some(200), "{}", reply.describe());
    assert_eq!(reply.header("Api-Version"), Some("1.41"));
    assert!(reply.rest.is_empty() && reply.closed, "HEAD has no body: {}", reply.describe());
    for path in ["/containers/json", "/nope", "/containers/known/json"] {
        let reply = exchange(&daemon.socket, &request("HEAD", path));
        assert!(reply.status.is_some_and(|s| s == 404 || s == 405), "HEAD {path}: {}", reply.describe());
        assert!(reply.rest.is_empty() && reply.closed, "HEAD {path} has no body: {}", reply.describe());
        assert_unharmed(&daemon, &created);
    }
    assert_cli_lists(&daemon, &created);
}

// ---------------------------------------------------------------------------
// 6. Many connections
// ---------------------------------------------------------------------------

#[test]
fn a_thousand_idle_connections_do_not_starve_anyone() {
    let daemon = start();
    let id = daemon.run(&["--name", "busy", "--", "sleep", "1000"]);
    let created = vec![id];
    let before = descriptor_count(&daemon);
    let idle: Vec<UnixStream> = (0..1000)
        .map(|index| {
            UnixStream::connect(&daemon.socket)
                .unwrap_or_else(|e| panic!("idle connection {index}: {e} (open-file limit of the test?)"))
        })
        .collect();
    // Accepted, not merely queued in the listen backlog: two descriptors each.
    eventually("the daemon holds the idle connections", || descriptor_count(&daemon) >= before + 2000);
    assert_unharmed(&daemon, &created);
    assert_cli_lists(&daemon, &created);

    // 200 pings at the same moment, from threads, while the 1000 wait.
    let barrier = Arc::new(Barrier::new(200));
    let pingers: Vec<_> = (0..200)
        .map(|_| {
            let (barrier, socket) = (barrier.clone(), daemon.socket.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let reply = exchange(&socket, &request("GET", "/_ping"));
                (reply.status, reply.body)
            })
        })
        .collect();
    for pinger in pingers {
        assert_eq!(pinger.join().expect("a ping thread"), (Some(200), b"OK".to_vec()));
    }
    assert_eq!(daemon.status("busy"), "running");

    drop(idle);
    assert_unharmed(&daemon, &created);
    assert_cli_lists(&daemon, &created);
    // The threads and descriptors of the idle connections go with them.
    let settled = wait_for(DEADLINE, || descriptor_count(&daemon) <= before + 4);
    assert!(settled, "descriptors: {before} before, {} after the clients left", descriptor_count(&daemon));
}

/// 64 descriptors and 100 clients: accepting fails with EMFILE, in `accept`
/// or in tiny_http's `try_clone` of an accepted socket (a panic in its accept
/// thread). Once the clients leave, the daemon must accept again.
#[test]
fn running_out_of_descriptors_does_not_stop_the_daemon_for_good() {
    let mut daemon = start();
    // Its own daemon, with a limit of 64 descriptors (soft and hard, so the
    // daemon cannot raise it), on the same socket and root: TestDaemon
    // cleans the directory up, the guard kills the process.
    daemon.kill_daemon();
    let limited = OwnProcess(
        Command::new("sh")
            .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
            .arg(binary("orchestratord"))
            .arg("--socket")
            .arg(&daemon.socket)
            .arg("--root")
            .arg(&daemon.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start orchestratord"),
    );
    let socket = daemon.socket.clone();
    eventually("the limited daemon answers", || ping(&socket).is_ok());
    let idle: Vec<UnixStream> = (0..100).filter_map(|_| UnixStream::connect(&socket).ok()).collect();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(is_alive(limited.0.id() as i32), "the daemon survived running out of descriptors");
    drop(idle);
    let back = wait_for(DEADLINE, || ping(&socket).is_ok());
    assert!(back, "no _ping answer {DEADLINE:?} after the descriptors came back: {:?}", ping(&socket));
}

// ---------------------------------------------------------------------------
// 7. The daemon's own lifecycle
// ---------------------------------------------------------------------------

#[test]
fn a_second_daemon_on_a_live_socket_refuses_and_disturbs_nothing() {
    use std::os::unix::fs::MetadataExt;
    let daemon = start();
    let id = daemon.run(&["--name", "busy", "--", "sleep", "1000"]);
    let created = vec![id];
    let socket_inode = std::fs::metadata(&daemon.socket).expect("the socket").ino();
    let other_root = daemon.dir.join("other-root");
    for root in [&daemon.root, &other_root] {
        let second = OwnProcess(
            Command::new(binary("orchestratord"))
                .arg("--socket")
                .arg(&daemon.socket)
                .arg("--root")
                .arg(root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a second orchestratord"),
        );
        let output = second.wait_with_deadline();
        assert!(!output.status.success(), "a second daemon on {} must refuse", daemon.socket.display());
        assert!(
            stderr(&output)
                .contains(&format!("another daemon is already listening on {}", daemon.socket.display())),
            "{}",
            stderr(&output)
        );
        assert_eq!(std::fs::metadata(&daemon.socket).expect("the socket").ino(), socket_inode, "same socket");
        assert!(!other_root.exists(), "a refused daemon creates no state root");
        assert_unharmed(&daemon, &created);
        assert_eq!(daemon.status("busy"), "running");
    }
    assert_cli_lists(&daemon, &created);
}

#[test]
fn a_stale_socket_is_replaced_and_sigterm_leaves_containers_running() {
    let mut daemon = start();
    let id = daemon.run(&["--name", "survivor", "--", "sleep", "1000"]);
    let created = vec![id.clone()];
    let pid = daemon.inspect("survivor")["State"]["Pid"].as_i64().expect("a pid") as i32;
    let shim_pid: i32 = support::read_to_string(&daemon.container_dir(&id).join("shim.pid"))
        .trim()
        .parse()
        .expect("shim.pid holds a pid");

    // SIGKILL leaves the socket file behind, with nobody listening on it.
    daemon.kill_daemon();
    assert!(daemon.socket.exists(), "a killed daemon cannot remove its socket");
    let refused = UnixStream::connect(&daemon.socket).expect_err("nobody listens on a stale socket");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    daemon.restart_daemon();
    assert_unharmed(&daemon, &created);

    // SIGTERM, then SIGINT: a clean exit, the socket removed, the container
    // untouched, and the next daemon finds it running as it was.
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let daemon_pid = daemon.daemon_pid() as i32;
        common::sys::kill(daemon_pid, signal).expect("signal the daemon");
        eventually("the daemon exits", || !is_alive(daemon_pid));
        assert_eq!(wait_status_of_zombie(daemon_pid), Some(0), "exit status 0 after signal {signal}");
        assert!(!daemon.socket.exists(), "the socket is removed at signal {signal}");
        assert!(is_alive(pid) && is_alive(shim_pid), "the container and its shim outlive the daemon");
        daemon.restart_daemon();
        let inspect = daemon.inspect("survivor");
        assert_eq!(inspect["State"]["Status"], "running");
        assert_eq!(inspect["State"]["Pid"], pid, "the same process, not a restart");
        assert_unharmed(&daemon, &created);
    }
    assert_cli_lists(&daemon, &created);
}

// ---------------------------------------------------------------------------
// Raw HTTP and the checks made after every hostile request
// ---------------------------------------------------------------------------

/// A `TestDaemon` that may not survive its test. A daemon that no longer
/// answers is killed before `TestDaemon`'s cleanup runs, which would otherwise
/// ask the dead daemon to remove containers, panic while panicking, and abort
/// every test of the suite. Shims and the directory are still cleaned up.
struct Target(TestDaemon);

fn start() -> Target {
    Target(TestDaemon::start())
}

impl Deref for Target {
    type Target = TestDaemon;
    fn deref(&self) -> &TestDaemon {
        &self.0
    }
}

impl DerefMut for Target {
    fn deref_mut(&mut self) -> &mut TestDaemon {
        &mut self.0
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if ping(&self.0.socket).is_err() {
            self.0.kill_daemon();
        }
    }
}

/// What the daemon may answer to one of the malformed requests.
enum Expect {
    /// Not a request it can serve: a 4xx of any body, or the connection
    /// closed with no answer at all — never a 2xx, 5xx or a hang.
    Refused,
    /// A 4xx with Docker's `{"message": …}`, whatever the message.
    Bad(u16),
    /// This status with exactly this message.
    Error(u16, &'static str),
    /// A legal, if odd, request: served (2xx) or refused (4xx), not a hang.
    Served,
}

impl Expect {
    fn check(&self, reply: &Reply, what: &str) {
        match self {
            Expect::Refused => assert!(
                match reply.status {
                    None => reply.closed,
                    Some(status) => (400..500).contains(&status),
                },
                "{what}: expected a 4xx or a closed connection, got {}",
                reply.describe()
            ),
            Expect::Bad(status) => {
                assert_eq!(reply.status, Some(*status), "{what}: {}", reply.describe());
                assert!(!reply.message().is_empty(), "{what}: {}", reply.describe());
            }
            Expect::Error(status, message) => assert_error(reply, *status, message, what),
            Expect::Served => assert!(
                reply
                    .status
                    .is_some_and(|status| (200..300).contains(&status) || (400..500).contains(&status)),
                "{what}: {}",
                reply.describe()
            ),
        }
    }
}

/// What came back on one connection.
struct Reply {
    /// The status of the first response, if one came.
    status: Option<u16>,
    /// The first response's status line and headers.
    head: String,
    /// The first response's body (by its Content-Length, else all the rest).
    body: Vec<u8>,
    /// Every byte received after the first response's head.
    rest: Vec<u8>,
    /// The daemon closed (or reset) the connection before the timeout.
    closed: bool,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Docker's `{"message": …}`; fails the test for anything else.
    fn message(&self) -> String {
        match self.json()["message"].as_str() {
            Some(message) => message.to_string(),
            None => panic!("not a Docker error body: {}", self.describe()),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// A short description for assertion messages (bodies may be megabytes).
    fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let cut: String = body.chars().take(300).collect();
        format!("status {:?}, closed {}, head {:?}, body {cut:?}", self.status, self.closed, self.head)
    }
}

/// Sends `bytes`, half-closes (the request is all there is), and reads until
/// the daemon closes the connection: a request that kills the daemon after
/// its answer is caught by the next check, never raced by it.
fn exchange(socket: &Path, bytes: &[u8]) -> Reply {
    let stream = send(socket, bytes);
    let _ = stream.shutdown(Shutdown::Write);
    receive(stream, REPLY_TIMEOUT, false)
}

/// Connects and sends `bytes`. A write error is not a failure: the daemon may
/// rightly close the connection before it has read everything (413).
fn send(socket: &Path, bytes: &[u8]) -> UnixStream {
    let mut stream = UnixStream::connect(socket).expect("connect to the daemon");
    stream.set_write_timeout(Some(REPLY_TIMEOUT)).expect("set a write timeout");
    let _ = stream.write_all(bytes);
    stream
}

/// Reads until the first response is complete, the daemon closes, or `timeout` passes.
fn read_reply(stream: UnixStream, timeout: Duration) -> Reply {
    receive(stream, timeout, true)
}

fn receive(mut stream: UnixStream, timeout: Duration, stop_when_complete: bool) -> Reply {
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut closed = false;
    let mut buffer = vec![0u8; 64 * 1024];
    // Ends at the end of the stream, an error, the deadline, or a complete response.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || (stop_when_complete && response_is_complete(&received)) {
            break;
        }
        stream.set_read_timeout(Some(left)).expect("set a read timeout");
        match stream.read(&mut buffer) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(_) => {
                closed = true; // reset by the daemon
                break;
            }
        }
    }
    let (status, head, rest) = parse_response(&received);
    let mut body = rest.clone();
    if let Some(length) = content_length(&head) {
        body.truncate(length);
    }
    Reply { status, head, body, rest, closed }
}

/// True once a response with a Content-Length has all of its body.
fn response_is_complete(mut received: &[u8]) -> bool {
    while received.starts_with(b"HTTP/1.1 1") {
        let Some(end) = find(received, b"\r\n\r\n") else { return false };
        received = &received[end + 4..];
    }
    let Some(end) = find(received, b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&received[..end]);
    content_length(&head).is_some_and(|length| received.len() >= end + 4 + length)
}

/// The status, the head, and every byte after the head. Interim `1xx`
/// heads are skipped, as HTTP clients do.
fn parse_response(mut received: &[u8]) -> (Option<u16>, String, Vec<u8>) {
    while received.starts_with(b"HTTP/1.1 1") {
        let Some(end) = find(received, b"\r\n\r\n") else { break };
        received = &received[end + 4..];
    }
    let Some(end) = find(received, b"\r\n\r\n") else {
        let head = String::from_utf8_lossy(received).into_owned();
        return (status_of(&head), head, Vec::new());
    };
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    (status_of(&head), head, received[end + 4..].to_vec())
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
    })
}

fn status_of(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    if !line.starts_with("HTTP/") {
        return None;
    }
    line.split_whitespace().nth(1)?.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A complete request with no body.
fn request(method: &str, path: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        .into_bytes()
}

/// A POST of a JSON body.
fn post_json(path: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn call(daemon: &TestDaemon, method: &str, path: &str) -> Reply {
    exchange(&daemon.socket, &request(method, path))
}

/// This status and Docker's `{"message": …}` with exactly this message.
fn assert_error(reply: &Reply, status: u16, message: &str, what: &str) {
    assert_eq!(reply.status, Some(status), "{what}: {}", reply.describe());
    assert_eq!(reply.message(), message, "{what}");
}

/// `_ping` answers `OK`, or why not.
fn ping(socket: &Path) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    let mut stream = stream;
    stream.write_all(&request("GET", "/_ping")).map_err(|e| format!("write: {e}"))?;
    let reply = read_reply(stream, REPLY_TIMEOUT);
    if reply.status == Some(200) && reply.body == b"OK" {
        Ok(())
    } else {
        Err(reply.describe())
    }
}

/// The checks made after every hostile request: the daemon still answers,
/// nothing appeared beside the state root, and the root and the daemon's
/// listing hold exactly the containers the test created.
fn assert_unharmed(daemon: &TestDaemon, created: &[String]) {
    if let Err(why) = ping(&daemon.socket) {
        panic!("the daemon no longer answers _ping: {why}");
    }
    assert_eq!(names_in(&daemon.dir), ["root", "sock"], "nothing appears beside the state root");
    let mut expected = created.to_vec();
    expected.sort();
    assert_eq!(names_in(&daemon.root), expected, "the state root holds only what the test created");
    let listing = call(daemon, "GET", "/containers/json?all=1");
    let mut listed: Vec<String> = listing
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("a container listing: {}", listing.describe()))
        .iter()
        .filter_map(|container| container["Id"].as_str().map(str::to_string))
        .collect();
    listed.sort();
    assert_eq!(listed, expected, "the daemon lists only what the test created");
}

/// `orchestrate ps -a` lists exactly the containers the test created.
fn assert_cli_lists(daemon: &TestDaemon, created: &[String]) {
    let mut listed: Vec<String> =
        daemon.cli_ok(&["ps", "-a", "-q", "--no-trunc"]).lines().map(str::to_string).collect();
    listed.sort();
    let mut expected = created.to_vec();
    expected.sort();
    assert_eq!(listed, expected, "orchestrate ps -a");
}

/// The sorted names in a directory.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Each file of a directory with its length and modification time.
fn files_in(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            Some((
                entry.file_name().to_string_lossy().into_owned(),
                metadata.len(),
                metadata.modified().ok()?,
            ))
        })
        .collect();
    files.sort();
    files
}

/// How many descriptors the daemon holds.
fn descriptor_count(daemon: &TestDaemon) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", daemon.daemon_pid())).map(Iterator::count).unwrap_or(0)
}

/// Polls `condition` until it holds or `limit` passes; says which.
fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !condition() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The wait status of an exited, not yet reaped child, from the last field
/// of /proc/PID/stat (`exit_code`, proc(5)).
fn wait_status_of_zombie(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.split_whitespace().last()?.parse().ok()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A process the test started itself: killed and reaped on drop, even on panic.
struct OwnProcess(Child);

impl OwnProcess {
    /// Waits for the process to exit by itself (it is killed after `DEADLINE`).
    fn wait_with_deadline(mut self) -> std::process::Output {
        let start = Instant::now();
        while self.0.try_wait().expect("poll the process").is_none() {
            assert!(start.elapsed() < DEADLINE, "the process did not exit within {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut error = String::new();
        if let Some(mut pipe) = self.0.stderr.take() {
            let _ = pipe.read_to_string(&mut error);
        }
        let status = self.0.wait().expect("reap the process");
        std::process::Output { status, stdout: Vec::new(), stderr: error.into_bytes() }
    }
}

impl Drop for OwnProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
