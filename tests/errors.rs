//! Every invalid transition and bad request gets Docker's status code and
//! message (SPEC §4 and §9, docker-reference.md §3), and a command that cannot
//! be executed fails `start` with exit code 127 or 126 and leaves the
//! container `created`.

mod support;

use serde_json::json;
use support::{stderr, stdout, TestDaemon};

/// `(status, message)` of a request.
fn call(daemon: &TestDaemon, method: &str, path: &str) -> (u16, String) {
    let (status, body) = daemon.api(method, path, None);
    (status, body["message"].as_str().unwrap_or("").to_string())
}

#[test]
fn invalid_transitions_answer_like_docker() {
    let daemon = TestDaemon::start();
    let created = daemon.cli_ok(&["create", "--name", "fresh", "--", "sleep", "1000"]).trim().to_string();
    let running = daemon.run(&["--name", "busy", "--", "sleep", "1000"]);
    let exited = daemon.run(&["--name", "over", "--", "true"]);
    daemon.wait_status("over", "exited");

    // 304: nothing to do, empty body.
    assert_eq!(daemon.http("POST", "/containers/busy/start", None), (304, vec![]));
    assert_eq!(daemon.http("POST", "/containers/fresh/stop", None), (304, vec![]));
    assert_eq!(daemon.http("POST", "/containers/over/stop", None), (304, vec![]));

    let not_running = |id: &str| format!("Container {id} is not running");
    assert_eq!(
        call(&daemon, "POST", "/containers/fresh/kill"),
        (409, format!("Cannot kill container: fresh: {}", not_running(&created)))
    );
    assert_eq!(
        call(&daemon, "POST", "/containers/over/kill"),
        (409, format!("Cannot kill container: over: {}", not_running(&exited)))
    );
    assert_eq!(call(&daemon, "POST", "/containers/fresh/pause"), (409, not_running(&created)));
    assert_eq!(call(&daemon, "POST", "/containers/over/pause"), (409, not_running(&exited)));
    assert_eq!(
        call(&daemon, "POST", "/containers/busy/unpause"),
        (409, format!("Container {running} is not paused"))
    );
    assert_eq!(
        call(&daemon, "POST", "/containers/fresh/unpause"),
        (409, format!("Container {created} is not paused"))
    );
    assert_eq!(
        call(&daemon, "DELETE", "/containers/busy"),
        (409, format!("You cannot remove a running container {running}. Stop the container before attempting removal or force remove"))
    );

    // A terminal's size: running and paused containers only (a container
    // without a terminal accepts it and ignores it, as dockerd does).
    assert_eq!(call(&daemon, "POST", "/containers/fresh/resize?h=10&w=20"), (409, not_running(&created)));
    assert_eq!(call(&daemon, "POST", "/containers/over/resize?h=10&w=20"), (409, not_running(&exited)));
    assert_eq!(daemon.http("POST", "/containers/busy/resize?h=10&w=20", None).0, 200);

    assert_eq!(daemon.http("POST", "/containers/busy/pause", None).0, 204);
    assert_eq!(daemon.http("POST", "/containers/busy/resize?h=10&w=20", None).0, 200);
    assert_eq!(
        call(&daemon, "POST", "/containers/busy/pause"),
        (409, format!("Container {running} is already paused"))
    );
    assert_eq!(
        call(&daemon, "POST", "/containers/busy/start"),
        (409, "cannot start a paused container, try unpause instead".into())
    );
    assert_eq!(
        call(&daemon, "DELETE", "/containers/busy"),
        (409, format!("You cannot remove a paused container {running}. Unpause and then stop the container before attempting removal or force remove"))
    );
    // Stop of a paused container works: the signal, then SIGCONT.
    assert_eq!(daemon.http("POST", "/containers/busy/stop", None).0, 204);
    assert_eq!(daemon.inspect("busy")["State"]["ExitCode"], 143);

    // Restart works from every state; rm works on created and exited.
    assert_eq!(daemon.http("POST", "/containers/fresh/restart?t=1", None).0, 204);
    assert_eq!(daemon.status("fresh"), "running");
    assert_eq!(daemon.http("DELETE", "/containers/over", None).0, 204);
    assert_eq!(daemon.http("DELETE", "/containers/fresh?force=1", None).0, 204);
}

#[test]
fn unknown_names_bad_names_and_conflicts() {
    let daemon = TestDaemon::start();
    for (method, path) in [
        ("GET", "/containers/nosuch/json"),
        ("POST", "/containers/nosuch/start"),
        ("POST", "/containers/nosuch/stop"),
        ("POST", "/containers/nosuch/wait"),
        ("DELETE", "/containers/nosuch"),
        ("GET", "/containers/nosuch/logs?stdout=1"),
    ] {
        assert_eq!(call(&daemon, method, path), (404, "No such container: nosuch".into()), "{method} {path}");
    }
    assert_eq!(call(&daemon, "GET", "/no/such/endpoint"), (404, "page not found".into()));

    let create = |name: &str| {
        let body = json!({"Cmd": ["true"]});
        daemon.api("POST", &format!("/containers/create?name={name}"), Some(body))
    };
    let (status, body) = create("bad%2Fname");
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    assert_eq!(create("L").0, 400, "names need two characters");
    assert_eq!(create("..").0, 400);
    assert_eq!(create(&"x".repeat(10_000)).0, 400);
    let (status, body) = create("taken");
    assert_eq!(status, 201);
    let id = body["Id"].as_str().unwrap().to_string();
    let (status, body) = create("taken");
    assert_eq!(status, 409);
    assert_eq!(
        body["message"],
        format!("Conflict. The container name \"/taken\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")
    );
    create("other");
    assert_eq!(
        call(&daemon, "POST", "/containers/taken/rename?name=taken"),
        (400, "Renaming a container with the same name as its current name".into())
    );
    let (status, message) = call(&daemon, "POST", "/containers/taken/rename?name=other");
    assert_eq!(status, 409);
    assert!(
        message.starts_with("Error when allocating new name: Conflict. The container name \"/other\""),
        "{message}"
    );
    let (status, message) = call(&daemon, "POST", "/containers/taken/rename?name=bad%2Fname");
    assert_eq!(status, 400);
    assert_eq!(message, "Error when allocating new name: Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    // Nothing escaped the state root.
    let entries: Vec<_> = std::fs::read_dir(&daemon.root).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
}

#[test]
fn bad_requests_get_400_and_the_daemon_keeps_serving() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "target", "--", "sleep", "1000"]);
    assert_eq!(
        call(&daemon, "POST", "/containers/target/kill?signal=NOSUCHSIG"),
        (400, "Invalid signal: NOSUCHSIG".into())
    );
    assert_eq!(call(&daemon, "POST", "/containers/target/kill?signal=0"), (400, "Invalid signal: 0".into()));
    assert_eq!(call(&daemon, "POST", "/containers/target/stop?t=abc").0, 400);
    assert_eq!(call(&daemon, "GET", "/containers/json?filters=notjson").0, 400);
    assert_eq!(
        call(&daemon, "GET", "/containers/json?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D").0,
        400
    );
    assert_eq!(call(&daemon, "GET", "/containers/target/logs").0, 400, "logs needs stdout or stderr");

    let post = |content_type: &str, body: &[u8]| {
        daemon.http("POST", "/containers/create", Some((content_type, body)))
    };
    let message = |answer: (u16, Vec<u8>)| -> (u16, String) {
        let value: serde_json::Value = serde_json::from_slice(&answer.1).unwrap();
        (answer.0, value["message"].as_str().unwrap().to_string())
    };
    assert_eq!(
        message(post("application/json", b"{}")),
        (400, "Config cannot be empty in order to create a container".into())
    );
    assert_eq!(message(post("application/json", br#"{"Image":"x"}"#)), (400, "No command specified".into()));
    assert_eq!(message(post("application/json", br#"{"Cmd":["tr"#)).0, 400, "truncated JSON");
    assert_eq!(message(post("application/json", b"")).0, 400, "empty body");
    assert_eq!(
        message(post("text/plain", br#"{"Cmd":["true"]}"#)),
        (400, "Content-Type specified (text/plain) must be 'application/json'".into())
    );
    let huge = format!(r#"{{"Cmd":["true"],"Labels":{{"x":"{}"}}}}"#, "a".repeat(2 * 1024 * 1024));
    assert_eq!(post("application/json", huge.as_bytes()).0, 413);
    assert_eq!(message(post("application/json", br#"{"Cmd":["true"],"WorkingDir":"relative"}"#)).0, 400);

    let (status, body) = daemon.http("GET", "/v1.99/containers/json", None);
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body)
        .contains("client version 1.99 is too new. Maximum supported API version is 1.41"));
    // After all that, the daemon still answers, and the container still runs.
    assert_eq!(daemon.http("GET", "/_ping", None), (200, b"OK".to_vec()));
    assert_eq!(daemon.status("target"), "running");
}

#[test]
fn commands_that_cannot_run_fail_start_with_127_or_126() {
    let daemon = TestDaemon::start();
    let missing = daemon.cli(&["run", "--name", "nf", "--", "nosuchcmd"]);
    assert_eq!(missing.status.code(), Some(127), "{}", stderr(&missing));
    assert_eq!(stdout(&missing).trim().len(), 64, "run -d prints the ID before the start fails");
    assert!(
        stderr(&missing).contains("exec: \"nosuchcmd\": executable file not found in $PATH"),
        "{}",
        stderr(&missing)
    );
    let inspect = daemon.inspect("nf");
    assert_eq!(inspect["State"]["Status"], "created", "a failed start leaves it created");
    assert_eq!(inspect["State"]["ExitCode"], 127);
    assert!(inspect["State"]["Error"].as_str().unwrap().contains("executable file not found"));

    let absent = daemon.cli(&["run", "--", "/nonexistent"]);
    assert_eq!(absent.status.code(), Some(127));
    assert!(stderr(&absent).contains("stat /nonexistent: no such file or directory"), "{}", stderr(&absent));

    let script = daemon.dir.join("noexec.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let denied = daemon.cli(&["run", "--", script.to_str().unwrap()]);
    assert_eq!(denied.status.code(), Some(126));
    assert!(stderr(&denied).contains("permission denied"), "{}", stderr(&denied));

    let nowhere = daemon.cli(&["run", "-w", "/no/such/dir", "--", "true"]);
    assert_eq!(nowhere.status.code(), Some(127), "{}", stderr(&nowhere));
    assert!(stderr(&nowhere).contains("no such file or directory"));

    // `start` of such a container: exit 1, Docker's two lines.
    let again = daemon.cli(&["start", "nf"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("Error response from daemon: unable to start container process"),
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("Error: failed to start containers: nf"));

    // The daemon refuses a create: run exits 125.
    let refused = daemon.cli(&["run", "--name", "x", "--", "true"]);
    assert_eq!(refused.status.code(), Some(125));
    assert!(stderr(&refused).contains("Error response from daemon: Invalid container name (x)"));
}

#[test]
fn cli_exit_codes_and_messages() {
    let daemon = TestDaemon::start();
    let missing = daemon.cli(&["stop", "ghost"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stderr(&missing), "Error response from daemon: No such container: ghost\n");
    let forced = daemon.cli(&["rm", "-f", "ghost"]);
    assert_eq!(forced.status.code(), Some(0), "rm -f hides not-found, as the docker CLI does");
    daemon.run(&["--name", "up", "--", "sleep", "1000"]);
    let noop = daemon.cli(&["start", "up"]);
    assert_eq!((noop.status.code(), stdout(&noop)), (Some(0), "up\n".to_string()), "a 304 is success");
    let unknown = daemon.cli(&["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(1));
    let no_daemon = support::TestDaemon::start();
    let socket = no_daemon.socket.clone();
    drop(no_daemon);
    let output = std::process::Command::new(support::binary("orchestrate"))
        .args(["--socket", socket.to_str().unwrap(), "ps"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Cannot connect to the orchestrator daemon"), "{}", stderr(&output));
}
