#!/usr/bin/env bash
# Run one test lane: tools/lane.sh NAME PATH... A lane that collects no test fails
# (pytest's exit code 5), so a lane can never pass silently by running nothing.
set -uo pipefail
lane=$1
shift
echo "== lane: $lane"
# Lanes run side by side: on PostgreSQL each has databases of its own (tests/conftest.py:
# pg_url). The app lanes run on their throwaway SQLite files; the pg lane repeats what
# depends on the database there, and the agent lane probes it from hostile sessions.
export SHIPYARD_TEST_LANE=$lane
case "$lane" in
  unit | api | web | browser) unset SHIPYARD_TEST_DATABASE_URL ;;
esac
started=$(date +%s)
"$(dirname "$0")/../.venv/bin/pytest" -p no:cacheprovider --durations=15 "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "lane $lane collected no tests: failing" >&2
  status=1
fi
echo "== lane $lane: pytest ended with $status after $(($(date +%s) - started)) s"
exit "$status"
