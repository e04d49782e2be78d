#!/usr/bin/env bash
# Runs the Playwright suite against the release `stablesteering` binary on a free loopback
# port with a temporary data dir. Refuses a busy port, checks the server stays alive, and
# always stops it (and removes the data dir) afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/stablesteering}
SITE=${SITE:-target/site}
[ -x "$BIN" ] || { echo "e2e: $BIN is missing; build it first (make site)" >&2; exit 1; }
[ -f "$SITE/pkg/stablesteering.wasm" ] || { echo "e2e: $SITE is not built (make site)" >&2; exit 1; }

port_is_served() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -n "${E2E_PORT:-}" ]; then
  if port_is_served "$E2E_PORT"; then
    echo "e2e: port $E2E_PORT is already served by another process; set E2E_PORT to a free port" >&2
    exit 1
  fi
  PORT=$E2E_PORT
else
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi

DATA=$(mktemp -d -t stablesteering-e2e-XXXXXX)
LOG=target/e2e-server.log
mkdir -p target
"$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA/data" --site-root "$SITE" --device cpu >"$LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

for _ in $(seq 1 200); do
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health"; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  sleep 0.1
done
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "e2e: the server exited during start-up:" >&2
  cat "$LOG" >&2
  exit 1
fi
if ! curl -sf "http://127.0.0.1:$PORT/" | grep -q 'hydrate()'; then
  echo "e2e: no hydration script in the SSR HTML" >&2
  cat "$LOG" >&2
  exit 1
fi

set +e
(cd end2end && CI=${CI:-true} BASE_URL="http://127.0.0.1:$PORT" npx playwright test "$@")
status=$?
set -e
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "e2e: the server died during the tests:" >&2
  cat "$LOG" >&2
  status=1
fi
exit $status
