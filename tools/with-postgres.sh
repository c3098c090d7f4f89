#!/usr/bin/env bash
# tools/with-postgres.sh CMD...: run CMD with SHIPYARD_TEST_DATABASE_URL pointing at PostgreSQL.
# Uses the URL already in the environment, or starts a throwaway server (initdb into a temp
# dir, loopback only, fsync off) and removes it afterwards.
set -euo pipefail
if [ -n "${SHIPYARD_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/postgres.sh
source "$here/postgres.sh"
trap pg_stop EXIT
pg_start
export SHIPYARD_TEST_DATABASE_URL=$PG_URL
"$@"
