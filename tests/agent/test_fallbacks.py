"""Machines without bubblewrap or cgroups: refuse, or run with what is left and say so."""

from __future__ import annotations

import pytest

from shipyard.agent import cgroups
from shipyard.agent.runtime.base import SessionStartError
from tests.agent.conftest import RuntimeFactory
from tests.agent.helpers import (
    MiB,
    make_spec,
    processes_with_args,
    run_batch,
    unique_sleep,
    wait_for,
)


def test_without_bubblewrap_sessions_are_refused(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(bwrap=None)

    with pytest.raises(SessionStartError, match="bubblewrap"):
        runtime.start(make_spec("true"))

    enforcement = runtime.enforcement()
    assert enforcement.sandbox == "none"
    assert any("sessions are refused" in warning for warning in enforcement.warnings)
    assert runtime.list() == []


def test_a_missing_bubblewrap_binary_counts_as_none(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(bwrap="/nonexistent/bwrap")

    assert runtime.enforcement().sandbox == "none"
    with pytest.raises(SessionStartError, match="bubblewrap"):
        runtime.start(make_spec("true"))


def test_unsandboxed_without_cgroups_runs_with_rlimits_and_says_so(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime(bwrap=None, allow_unsandboxed=True, cgroups="none")
    script = "id -u; head -c 200m /dev/zero | tail > /dev/null; echo tail=$?"

    status, output = run_batch(runtime, make_spec("sh", "-c", script, mem=64 * MiB))

    enforcement = runtime.enforcement()
    assert (enforcement.sandbox, enforcement.cgroups, enforcement.rlimits) == ("none", "none", True)
    assert enforcement.session_uid == 65534
    assert any("unsandboxed" in warning for warning in enforcement.warnings)
    assert any("RLIMIT_AS" in warning for warning in enforcement.warnings)
    assert status.exit_code == 0
    assert not status.oom_killed
    assert output.splitlines()[0] == "65534"
    assert output.splitlines()[-1] == "tail=1"  # "memory exhausted" under RLIMIT_AS


def test_unsandboxed_sessions_are_terminated_by_their_process_tree(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime(bwrap=None, allow_unsandboxed=True, cgroups="none")
    sleep = unique_sleep()
    spec = make_spec("sh", "-c", f"{' '.join(sleep)} & echo ready; wait")
    runtime.start(spec)
    wait_for(lambda: processes_with_args(*sleep), what="the background sleep")

    runtime.terminate(spec.session_id, grace=5)

    status = runtime.status(spec.session_id)
    assert status is not None
    assert not status.running
    assert not processes_with_args(*sleep)


def test_naming_a_cgroup_version_this_machine_lacks_is_an_error(
    make_runtime: RuntimeFactory,
) -> None:
    missing = "v1" if cgroups.discover().version == "v2" else "v2"

    with pytest.raises(ValueError, match=f"cgroup {missing}"):
        make_runtime(cgroups=missing)
