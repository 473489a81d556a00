//! The container state machine (SPEC §4): the states a container can be in, the
//! actions a client can ask for, and `decide`, the one function that says what an
//! action does in a state. Every handler asks `decide`; none re-implements a
//! rule. Its `match` has no wildcard arm, so a new state or action does not
//! compile until every cell of the table is filled in (docs/03-state-machine.md).

use std::fmt;

/// Where a container is in its life, with Docker's names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Paused,
    /// Waiting for its restart policy's back-off before it starts again.
    Restarting,
    Exited,
    /// A removal is in flight; the container is about to disappear.
    Removing,
}

/// What a client asks to happen to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Kill,
    Restart,
    Pause,
    Unpause,
    Exec,
    /// Setting the size of the container's terminal (`POST /containers/{id}/resize`).
    Resize,
    Attach,
    Remove,
}

/// The answer of the state table for one action in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do it; the container ends up in this state.
    Go(State),
    /// Allowed, and the state does not change (a signal, an exec, an attach).
    Allowed,
    /// Nothing to do: the state is already what was asked (HTTP 304).
    AlreadyDone,
    /// Not allowed in this state (HTTP 409).
    Refuse,
    /// Not allowed unless forced (`rm -f`: SIGKILL first), else HTTP 409.
    RefuseUnlessForced,
}

/// SPEC §4's table, one arm per cell.
pub fn decide(action: Action, state: State) -> Decision {
    use Action::*;
    use Decision::*;
    use State::*;
    match (action, state) {
        (Start, Created | Exited) => Go(Running),
        (Start, Running) => AlreadyDone,
        (Start, Paused | Restarting | Removing) => Refuse,

        (Stop, Running | Paused | Restarting) => Go(Exited),
        (Stop, Created | Exited) => AlreadyDone,
        (Stop, Removing) => Refuse,

        (Kill, Running | Paused) => Allowed,
        (Kill, Created | Exited | Restarting | Removing) => Refuse,

        (Restart, Created | Running | Paused | Restarting | Exited) => Go(Running),
        (Restart, Removing) => Refuse,

        (Pause, Running) => Go(Paused),
        (Pause, Created | Paused | Restarting | Exited | Removing) => Refuse,

        (Unpause, Paused) => Go(Running),
        (Unpause, Created | Running | Restarting | Exited | Removing) => Refuse,

        (Exec, Running) => Allowed,
        (Exec, Created | Paused | Restarting | Exited | Removing) => Refuse,

        (Resize, Running | Paused) => Allowed,
        (Resize, Created | Restarting | Exited | Removing) => Refuse,

        (Attach, Created | Running | Paused | Restarting | Exited) => Allowed,
        (Attach, Removing) => Refuse,

        (Remove, Created | Exited) => Go(Removing),
        (Remove, Running | Paused | Restarting) => RefuseUnlessForced,
        (Remove, Removing) => Refuse,
    }
}

impl State {
    /// Docker's lowercase name, as in `State.Status` and `ps --filter status=`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Paused => "paused",
            State::Restarting => "restarting",
            State::Exited => "exited",
            State::Removing => "removing",
        }
    }

    /// True while the container has live processes (Docker's `State.Running`,
    /// which stays true while paused).
    pub fn has_processes(self) -> bool {
        matches!(self, State::Running | State::Paused)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_spec_section_4() {
        use Action::*;
        use Decision::*;
        use State::*;
        let rows = [
            (Start, [Go(Running), AlreadyDone, Refuse, Go(Running)]),
            (Stop, [AlreadyDone, Go(Exited), Go(Exited), AlreadyDone]),
            (Kill, [Refuse, Allowed, Allowed, Refuse]),
            (Restart, [Go(Running), Go(Running), Go(Running), Go(Running)]),
            (Pause, [Refuse, Go(Paused), Refuse, Refuse]),
            (Unpause, [Refuse, Refuse, Go(Running), Refuse]),
            (Exec, [Refuse, Allowed, Refuse, Refuse]),
            (Resize, [Refuse, Allowed, Allowed, Refuse]),
            (Attach, [Allowed, Allowed, Allowed, Allowed]),
            (Remove, [Go(Removing), RefuseUnlessForced, RefuseUnlessForced, Go(Removing)]),
        ];
        for (action, expected) in rows {
            for (state, want) in [Created, Running, Paused, Exited].into_iter().zip(expected) {
                assert_eq!(decide(action, state), want, "{action:?} in {state:?}");
            }
        }
    }

    #[test]
    fn nothing_but_refusal_while_removing() {
        use Action::*;
        for action in [Start, Stop, Kill, Restart, Pause, Unpause, Exec, Resize, Attach, Remove] {
            assert_eq!(decide(action, State::Removing), Decision::Refuse, "{action:?}");
        }
    }
}
