"""Sessions outlive the runtime object (agent restarts); a lost supervisor is reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from shipyard.agent import cgroups
from shipyard.agent.runtime import procfs
from shipyard.agent.runtime.base import UNKNOWN_EXIT
from shipyard.agent.runtime.process import SUPERVISOR_LOST
from tests.agent.conftest import TEST_CGROUP_ROOT, RuntimeFactory
from tests.agent.helpers import (
    make_spec,
    processes_with_args,
    supervisors_of,
    unique_sleep,
    wait_for,
)


def test_a_new_runtime_adopts_running_sessions_and_can_end_them(
    make_runtime: RuntimeFactory,
) -> None:
    spec = make_spec(*unique_sleep())
    started = make_runtime().start(spec)

    restarted = make_runtime()
    [adopted] = restarted.list()

    assert adopted == started
    wait_for(lambda: processes_with_args(*spec.command), what="the command to run")
    restarted.terminate(spec.session_id, grace=5)

    status = make_runtime().status(spec.session_id)
    assert status is not None
    assert (status.running, status.exit_code, status.error) == (False, 143, "killed by signal 15")
    assert not processes_with_args(*spec.command)


AGENT = """
import sys
from decimal import Decimal
from pathlib import Path
from shipyard.agent.runtime.base import SessionSpec
from shipyard.agent.runtime.process import ProcessRuntime

state, cgroup_root, session_id, *command = sys.argv[1:]
runtime = ProcessRuntime(Path(state), cgroup_root=cgroup_root)
spec = SessionSpec(session_id, "batch", tuple(command), {}, Decimal(0), 0)
print(runtime.start(spec).pid, flush=True)
sys.stdin.read()
"""


def test_sessions_survive_their_agent_being_killed(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    spec = make_spec(*unique_sleep())
    argv = [str(tmp_path / "state"), TEST_CGROUP_ROOT, spec.session_id, *spec.command]
    with subprocess.Popen(
        [sys.executable, "-c", AGENT, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as agent:
        assert agent.stdout is not None
        supervisor = int(agent.stdout.readline())
        assert supervisor != agent.pid
        assert procfs.parents()[supervisor] != agent.pid  # detached: not the agent's child
        agent.kill()
        agent.wait()

    status = make_runtime().status(spec.session_id)
    assert status is not None
    assert (status.running, status.pid) == (True, supervisor)
    wait_for(lambda: processes_with_args(*spec.command), what="the command to run")


def test_a_killed_supervisor_takes_its_sandbox_along_and_is_reported_lost(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime()
    spec = make_spec(*unique_sleep())
    started = runtime.start(spec)
    assert started.pid is not None
    wait_for(lambda: processes_with_args(*spec.command), what="the command to start")

    os.kill(started.pid, signal.SIGKILL)

    wait_for(lambda: not processes_with_args(*spec.command), what="the sandbox to die")
    status = make_runtime().status(spec.session_id)
    assert status is not None
    assert not status.running
    assert (status.exit_code, status.error) == (UNKNOWN_EXIT, SUPERVISOR_LOST)
    assert runtime.status(spec.session_id) == status  # recorded once, for good


def test_terminate_escalates_to_sigkill_after_the_grace_period(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime()
    spec = make_spec("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done")
    runtime.start(spec)
    wait_for(lambda: runtime.read_logs(spec.session_id)[0] == b"ready\n", what="the trap")

    runtime.terminate(spec.session_id, grace=0.3)

    status = runtime.status(spec.session_id)
    assert status is not None
    assert (status.running, status.exit_code, status.error) == (False, 137, "killed by signal 9")


def test_remove_deletes_the_sessions_state_and_cgroups(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    runtime = make_runtime()
    spec = make_spec("true")
    runtime.start(spec)
    wait_for(lambda: not supervisors_of(spec.session_id), what="the session to end")
    session_cgroups = [
        mount / TEST_CGROUP_ROOT / spec.session_id for mount in cgroups.discover().mounts.values()
    ]
    assert all(path.is_dir() for path in session_cgroups)

    runtime.remove(spec.session_id)

    assert not any(path.exists() for path in session_cgroups)
    assert not (tmp_path / "state" / spec.session_id).exists()
    assert make_runtime().list() == []
