//! Every way a request can fail, and the one place a failure becomes an HTTP
//! status and Docker's `{"message": …}` (SPEC §4, §9). Messages use the real
//! engine's wording, recorded in docker-reference.md §3: the docker CLI prints
//! them as they are, and picks its exit code for `run` from their text.

use common::state::{Action, State};

/// A failed API request.
#[derive(Debug)]
pub enum ApiError {
    /// Nothing to do: already started, already stopped (HTTP 304, empty body).
    NotModified,
    BadRequest(String),
    /// The command could not be executed: Docker's message, which names the cause.
    StartFailed(String),
    NoSuchContainer(String),
    NoSuchExec(String),
    PageNotFound,
    NameInUse {
        name: String,
        id: String,
    },
    Ambiguous {
        prefix: String,
        count: usize,
    },
    /// The action is not allowed in the container's state.
    WrongState {
        action: Action,
        state: State,
        id: String,
        reference: String,
    },
    /// A conflict with Docker wording of its own (renaming to the same name).
    Conflict(String),
    BodyTooLarge,
    Busy,
    Internal(String),
}

impl ApiError {
    /// The only place an error becomes a status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NotModified => 304,
            ApiError::BadRequest(_) | ApiError::StartFailed(_) => 400,
            ApiError::NoSuchContainer(_) | ApiError::NoSuchExec(_) | ApiError::PageNotFound => 404,
            ApiError::NameInUse { .. }
            | ApiError::Ambiguous { .. }
            | ApiError::WrongState { .. }
            | ApiError::Conflict(_) => 409,
            ApiError::BodyTooLarge => 413,
            ApiError::Busy => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// Docker's message for this error.
    pub fn message(&self) -> String {
        match self {
            ApiError::NotModified => String::new(),
            ApiError::BadRequest(message) | ApiError::StartFailed(message) | ApiError::Conflict(message) => {
                message.clone()
            }
            ApiError::NoSuchContainer(reference) => format!("No such container: {reference}"),
            ApiError::NoSuchExec(id) => format!("No such exec instance: {id}"),
            ApiError::PageNotFound => "page not found".to_string(),
            ApiError::NameInUse { name, id } => format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". \
                 You have to remove (or rename) that container to be able to reuse that name."
            ),
            ApiError::Ambiguous { prefix, count } => {
                format!("Multiple IDs found with provided prefix: {prefix} ({count} containers match)")
            }
            ApiError::WrongState { action, state, id, reference } => {
                wrong_state_message(*action, *state, id, reference)
            }
            ApiError::BodyTooLarge => "request body is larger than 1 MiB".to_string(),
            ApiError::Busy => "too many concurrent requests, try again".to_string(),
            ApiError::Internal(message) => message.clone(),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> Self {
        ApiError::Internal(error.to_string())
    }
}

/// Docker's text for an action refused in a state. `reference` is the name or
/// ID as the client typed it, which some of Docker's messages repeat.
fn wrong_state_message(action: Action, state: State, id: &str, reference: &str) -> String {
    use Action::*;
    use State::*;
    match (action, state) {
        (_, Removing) => format!("removal of container {id} is already in progress"),
        (Start, Paused) => "cannot start a paused container, try unpause instead".to_string(),
        (Kill, Restarting) => {
            format!("Cannot kill container: {reference}: Container {id} is restarting, wait until the container is running")
        }
        (Kill, _) => format!("Cannot kill container: {reference}: Container {id} is not running"),
        (Pause, Paused) => format!("Container {id} is already paused"),
        (Unpause, _) => format!("Container {id} is not paused"),
        (Exec, Paused) => format!("Container {reference} is paused, unpause the container before exec"),
        (_, Restarting) if action != Remove => {
            format!("Container {id} is restarting, wait until the container is running")
        }
        (Remove, Running) => format!(
            "You cannot remove a running container {id}. Stop the container before attempting removal or force remove"
        ),
        (Remove, Paused) => format!(
            "You cannot remove a paused container {id}. Unpause and then stop the container before attempting removal or force remove"
        ),
        (Remove, Restarting) => format!(
            "You cannot remove a restarting container {id}. Stop the container before attempting removal or force remove"
        ),
        _ => format!("Container {id} is not running"),
    }
}
