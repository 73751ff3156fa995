#!/usr/bin/env bash
# Starts / stops what the tests and a local run need, without Docker: the local Kafka broker and
# a reachable Postgres (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

postgres_up() {
  if pg_isready -q -d "$url" 2>/dev/null; then echo "services.sh: Postgres ready ($url)"; return 0; fi
  # The local cluster of this machine, when there is one: start it.
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "services.sh: starting the local Postgres cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -d "$url" && break; sleep 0.5; done
  fi
  pg_isready -q -d "$url" || { echo "services.sh: Postgres is not reachable at $url" >&2; exit 1; }
  echo "services.sh: Postgres ready ($url)"
}

case "${1:-}" in
up)
  postgres_up
  bash "$here/kafka.sh" start
  ;;
down)
  bash "$here/kafka.sh" stop
  echo "services.sh: Postgres left running (it is shared)"
  ;;
*)
  echo "usage: scripts/services.sh up|down" >&2
  exit 2
  ;;
esac
