#!/usr/bin/env bash
# Run one test lane: tools/lane.sh NAME PATH... A lane that collects no test fails
# (pytest's exit code 5), so a lane can never pass silently by running nothing.
set -uo pipefail
lane=$1
shift
echo "== lane: $lane"
started=$(date +%s)
"$(dirname "$0")/../.venv/bin/pytest" -p no:cacheprovider --durations=15 "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "lane $lane collected no tests: failing" >&2
  status=1
fi
echo "== lane $lane: pytest ended with $status after $(($(date +%s) - started)) s"
exit "$status"
