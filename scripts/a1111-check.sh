#!/usr/bin/env bash
# Checks the A1111-compatible API with a real, independent client: `webuiapi` from PyPI
# (pinned in scripts/a1111-requirements.txt, installed in target/venv-a1111). Starts the
# release server on a free port with a fresh data dir and the bundled tiny model on the CPU,
# runs scripts/a1111_webuiapi_check.py against it, stops the server. Build first:
#   cargo build --release -p server && scripts/a1111-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${STABLESTEERING_BIN:-target/release/stablesteering}
VENV=target/venv-a1111
if [ ! -x "$BIN" ]; then
    echo "a1111-check: $BIN is missing; run: cargo build --release -p server" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import webuiapi' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/a1111-requirements.txt
fi

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d)
LOG=$(mktemp)
"$BIN" serve --data-dir "$DATA/data" --addr "127.0.0.1:$PORT" --device cpu >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$DATA" "$LOG"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "a1111-check: the server exited:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null || {
    echo "a1111-check: the server did not become healthy:" >&2
    cat "$LOG" >&2
    exit 1
}

status=0
"$VENV/bin/python" scripts/a1111_webuiapi_check.py 127.0.0.1 "$PORT" || status=$?
if [ "$status" -ne 0 ]; then
    echo "a1111-check: server log:" >&2
    tail -50 "$LOG" >&2
fi
exit "$status"
