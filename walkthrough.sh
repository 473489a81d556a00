#!/usr/bin/env bash
# Builds orchestrator and runs the seed's walkthrough end to end on a daemon of
# its own (temporary socket and state root), then cleans everything up.
#
#   ./walkthrough.sh
set -euo pipefail
cd "$(dirname "$0")"

cargo build --release --workspace
export PATH="$PWD/target/release:$PATH"

# Short on purpose: ROOT/<64-hex ID>/shim.sock must fit in a Unix socket path.
dir=$(mktemp -d /tmp/orc.XXXXXX)
export ORCHESTRATOR_SOCKET="$dir/orchestrator.sock"
export ORCHESTRATOR_ROOT="$dir/root"

cleanup() {
    # Removing the containers makes each shim kill and reap what it started.
    if [ -S "$ORCHESTRATOR_SOCKET" ]; then
        ids=$(orchestrate ps -a -q --no-trunc 2>/dev/null || true)
        [ -z "$ids" ] || orchestrate rm -f $ids >/dev/null 2>&1 || true
    fi
    [ -z "${daemon:-}" ] || { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
    rm -rf "$dir"
}
trap cleanup EXIT

step() {
    printf '\n$ %s\n' "$*"
    "$@"
}

printf '$ orchestratord --socket %s --root %s &\n' "$ORCHESTRATOR_SOCKET" "$ORCHESTRATOR_ROOT"
orchestratord 2>"$dir/daemon.log" &
daemon=$!
for _ in $(seq 200); do
    [ -S "$ORCHESTRATOR_SOCKET" ] && break
    sleep 0.01
done
[ -S "$ORCHESTRATOR_SOCKET" ] || { cat "$dir/daemon.log"; exit 1; }

step orchestrate run --name hello -- echo "hello world"
step orchestrate wait hello
step orchestrate ps -a
step orchestrate logs hello
step orchestrate rm hello
printf '\nwalkthrough complete\n'
