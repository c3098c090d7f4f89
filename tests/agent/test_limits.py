"""Resource limits hold: memory (OOM kill), CPU quota, process count."""

from __future__ import annotations

import re
import time
from decimal import Decimal

from shipyard.agent.runtime.process import ProcessRuntime
from tests.agent.helpers import MiB, make_spec, run_batch, wait_for


def test_a_session_allocating_past_its_memory_is_killed_as_out_of_memory(
    runtime: ProcessRuntime,
) -> None:
    # tail keeps its whole "line" in memory: 200 MiB of zeros has no newline.
    spec = make_spec("sh", "-c", "head -c 200m /dev/zero | tail > /dev/null", mem=64 * MiB)

    status, _ = run_batch(runtime, spec, timeout=30)

    assert status.oom_killed
    assert status.error == "out of memory"
    assert status.exit_code == 137


def test_a_session_within_its_memory_is_not_oom_killed(runtime: ProcessRuntime) -> None:
    spec = make_spec("sh", "-c", "head -c 16m /dev/zero | tail > /dev/null", mem=64 * MiB)

    status, _ = run_batch(runtime, spec, timeout=30)

    assert (status.exit_code, status.oom_killed, status.error) == (0, False, None)


def test_a_busy_loop_gets_no_more_than_its_cpu_share(runtime: ProcessRuntime) -> None:
    spec = make_spec("sh", "-c", "while :; do :; done", cpu=Decimal("0.5"))
    runtime.start(spec)

    def cpu_seconds() -> float:
        used = runtime.usage(spec.session_id).cpu_seconds
        assert used is not None
        return used

    wait_for(lambda: cpu_seconds() > 0.05, what="the loop to run")
    cpu_start, wall_start = cpu_seconds(), time.monotonic()
    time.sleep(1.5)
    share = (cpu_seconds() - cpu_start) / (time.monotonic() - wall_start)

    assert 0.1 < share <= 0.6  # above 0.1: it did run, however loaded this machine is


def test_a_fork_loop_stops_at_the_process_limit(runtime: ProcessRuntime) -> None:
    # The sandbox's own two processes and the shell count too (see SessionSpec).
    script = 'i=0; while :; do sleep 30 & i=$((i+1)); echo "started $i"; done'
    spec = make_spec("sh", "-c", script, pids_max=16)

    status, output = run_batch(runtime, spec)

    started = [int(n) for n in re.findall(r"started (\d+)", output)]
    assert status.exit_code != 0
    assert max(started) <= 16 - 3
    assert max(started) >= 16 - 6
