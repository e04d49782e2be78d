#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis (PyPI, pinned in
# scripts/api-fuzz-requirements.txt, installed in target/venv-api-fuzz). Starts the release
# server on a free port with a fresh data dir and the demo model on the CPU, runs every phase
# (coverage, fuzzing, and stateful sequences that follow the document's links from created
# sessions to rounds, feedback and jobs) and fails on any 5xx, undocumented status, wrong
# content type or answer that violates its schema. Then `store verify` must pass on the data
# dir the run left behind. Build first:
#   cargo build --release -p server && scripts/api-fuzz.sh
# API_FUZZ_EXAMPLES (default 20) sets examples per operation; API_FUZZ_SEED the seed.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${STABLESTEERING_BIN:-target/release/stablesteering}
VENV=target/venv-api-fuzz
EXAMPLES=${API_FUZZ_EXAMPLES:-20}
SEED=${API_FUZZ_SEED:-20261204}
if [ ! -x "$BIN" ]; then
    echo "api-fuzz: $BIN is missing; run: cargo build --release -p server" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/schemathesis" ] || ! cmp -s scripts/api-fuzz-requirements.txt "$VENV/requirements.txt"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/api-fuzz-requirements.txt
    cp scripts/api-fuzz-requirements.txt "$VENV/requirements.txt"
fi

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d)
LOG=$(mktemp)
# The rate limit is lifted so the fuzzer reaches every route (429 itself is covered by the
# served tests).
"$BIN" serve --data-dir "$DATA/data" --addr "127.0.0.1:$PORT" --device cpu --rate-limit 1000000 >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$DATA" "$LOG"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "api-fuzz: the server exited:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.2
done

status=0
# One worker: CPython 3.11.7's ast.parse (used by hypothesis to describe filters) fails with
# "AST constructor recursion depth mismatch" when two threads parse at once.
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 --request-timeout 120 \
    --no-color --warnings off || status=$?
if [ "$status" -ne 0 ]; then
    echo "api-fuzz: server log:" >&2
    tail -50 "$LOG" >&2
    exit "$status"
fi

kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
"$BIN" store verify --data-dir "$DATA/data"
