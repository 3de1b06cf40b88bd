#!/usr/bin/env bash
# PostgreSQL container entrypoint: run the image's own entrypoint, wait for
# the real server, then run init-databases.sh, so that an app enabled after
# the first start gets its database and role too (the image runs
# /docker-entrypoint-initdb.d only when the data directory is new). A failed
# init stops the server, so the container restarts and its log says why.
#
# Usage (container command): bash entrypoint.sh postgres [ARGS...]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
port="${PGPORT:-5432}"

docker-entrypoint.sh "$@" &
server=$!
# Pass Docker's stop signal on as it came: the image stops with SIGINT (fast shutdown);
# SIGTERM would wait for every client to disconnect.
stop() { kill "-$1" "$server" 2>/dev/null || true; }
trap 'stop INT' INT
trap 'stop TERM' TERM

# On first boot the image starts a temporary server that listens on its
# socket only: a TCP answer means the real server is up.
ready=0
for _ in $(seq 1 "${MS_INIT_WAIT:-300}"); do
  if pg_isready -q -h 127.0.0.1 -p "$port"; then
    ready=1
    break
  fi
  kill -0 "$server" 2>/dev/null || break
  sleep 1
done

failed=0
if [ "$ready" -eq 1 ]; then
  if ! PGHOST=127.0.0.1 PGPORT="$port" PGUSER="${POSTGRES_USER:-postgres}" PGPASSWORD="${POSTGRES_PASSWORD:?}" \
    bash "$here/init-databases.sh"; then
    echo "postgres-entrypoint: creating the app databases failed; stopping the server" >&2
    failed=1
    stop INT
  fi
elif kill -0 "$server" 2>/dev/null; then
  echo "postgres-entrypoint: no TCP answer on port $port; stopping the server" >&2
  failed=1
  stop INT
fi

# A trapped signal interrupts `wait`: keep waiting until the server has exited.
status=0
while :; do
  if wait "$server"; then status=0; else status=$?; fi
  kill -0 "$server" 2>/dev/null || break
done
if [ "$failed" -eq 1 ]; then
  exit 1
fi
exit "$status"
