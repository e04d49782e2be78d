#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a Unix socket in DIR, for tests and local trials, from
# Debian's packages (scripts/bootstrap.sh installs them):
#   pg-test-cluster.sh start DIR   initdb + pg_ctl start; prints the connection URL
#   pg-test-cluster.sh stop DIR    stops it (immediate; the data is thrown away with DIR)
# As root the cluster runs as the `postgres` user, because initdb refuses to run as root.
set -euo pipefail
cmd=${1:?usage: pg-test-cluster.sh start|stop DIR}
dir=${2:?usage: pg-test-cluster.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir"; fi
    if ! as_owner "$bin/initdb" -D "$dir/data" -U stablesteering --auth=trust -E UTF8 \
        >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-k $dir -c listen_addresses= -c max_connections=200" start >/dev/null; then
      cat "$dir/server.log" >&2
      exit 1
    fi
    echo "postgres://stablesteering@/postgres?host=$dir"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "unknown command $cmd (start|stop)" >&2
    exit 2
    ;;
esac
