#!/usr/bin/env bash
# Run test lanes side by side: tools/lanes.sh "CHAIN" "CHAIN"...
# A chain is lanes (make targets test-NAME, or lint/typecheck) run one after another;
# the chains run at the same time. Each lane writes to $LANE_LOGS/NAME.log (build/lanes by
# default), printed whole when the lane ends, with its wall time. At the end a table gives
# every lane's result and time; the run fails if any lane failed, and names them.
# Lanes named in $LANES_AFTER run one after another once every chain has ended, alone on
# the machine (lanes whose tests time what they wait for, such as the agent lane).
# Lanes named in $LANES_BACKGROUND run only on CPU time nothing else wants (SCHED_IDLE, or
# nice 19 without chrt): lanes that only need throughput then leave the CPU to the lanes
# whose tests wait on timeouts or measure latency.
set -uo pipefail
logs=${LANE_LOGS:-build/lanes}
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.result

target_of() {
  case "$1" in
    lint | typecheck) echo "$1" ;;
    *) echo "test-$1" ;;
  esac
}

run_lane() {
  local lane=$1 started status seconds verdict priority=()
  if [[ " ${LANES_BACKGROUND:-} " == *" $lane "* ]]; then
    priority=(nice -n 19)
    command -v chrt >/dev/null && priority=(chrt --idle 0)
  fi
  started=$(date +%s)
  # -o setup: made once before the lanes start; a lane remaking it (a template changed)
  # would rebuild the assets under the feet of the lanes still running.
  "${priority[@]}" ${MAKE:-make} --no-print-directory -o setup "$(target_of "$lane")" \
    >"$logs/$lane.log" 2>&1 </dev/null
  status=$?
  seconds=$(($(date +%s) - started))
  verdict=$([ "$status" -eq 0 ] && echo passed || echo FAILED)
  echo "$lane $verdict $seconds" >"$logs/$lane.result"
  {
    flock 9
    cat "$logs/$lane.log"
    echo "== lane $lane: $verdict in ${seconds} s (log: $logs/$lane.log)"
    echo
  } 9>"$logs/.print.lock"
}

run_chain() {
  local lane
  for lane in $1; do
    run_lane "$lane"
  done
}

# What every lane needs first, made once here rather than by each lane at the same time.
${MAKE:-make} --no-print-directory setup || exit 1

started=$(date +%s)
pids=()
for chain in "$@"; do
  run_chain "$chain" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid"
done
for lane in ${LANES_AFTER:-}; do
  run_lane "$lane"
done

echo "== lanes (chains side by side: $(printf '[%s] ' "$@"), then alone: [${LANES_AFTER:-}])"
failed=()
for chain in "$@" "${LANES_AFTER:-}"; do
  for lane in $chain; do
    if [ -f "$logs/$lane.result" ]; then
      read -r _name verdict seconds <"$logs/$lane.result"
    else
      verdict=FAILED seconds=-
    fi
    printf '   %-10s %-7s %6s s\n' "$lane" "$verdict" "$seconds"
    [ "$verdict" = passed ] || failed+=("$lane")
  done
done
echo "   wall time: $(($(date +%s) - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED lanes: ${failed[*]} (logs in $logs/)" >&2
  exit 1
fi
