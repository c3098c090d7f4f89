"""Fixtures for the agent tests: real sandboxed sessions on this machine, cleaned up after.

These tests need root, bubblewrap and cgroups. Where any is missing they fail and say so:
an agent lane that passes without them would prove nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.agent import cgroups
from shipyard.agent.runtime.process import ProcessRuntime

#: Tests put their cgroups here, apart from a real agent's "shipyard".
TEST_CGROUP_ROOT = "shipyard-test"

RuntimeFactory = Callable[..., ProcessRuntime]


@pytest.fixture(scope="session", autouse=True)
def sandbox_machine() -> Iterator[None]:
    """Fail the lane at once, with the reason, where sessions cannot be sandboxed here."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the agent tests must run as root (sessions switch to uid 65534)")
    if shutil.which("bwrap") is None:
        problems.append("bubblewrap is not installed: apt-get install -y bubblewrap")
    if shutil.which("setpriv") is None:
        problems.append("setpriv is not installed (util-linux)")
    if cgroups.discover().version == "none":
        problems.append("no writable cgroup hierarchy with memory, cpu and pids controllers")
    if problems:
        pytest.fail("cannot run the agent tests on this machine: " + "; ".join(problems))
    yield
    host = cgroups.discover()
    for mount in dict.fromkeys(host.mounts.values()):
        with contextlib.suppress(OSError):  # gone already, or another run still uses it
            (mount / TEST_CGROUP_ROOT).rmdir()


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[RuntimeFactory]:
    """Build ProcessRuntimes on this test's state dir; every session is ended and removed after."""
    made: list[ProcessRuntime] = []

    def make(**options: Any) -> ProcessRuntime:
        options.setdefault("cgroup_root", TEST_CGROUP_ROOT)
        runtime = ProcessRuntime(tmp_path / "state", **options)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        for status in runtime.list():
            runtime.terminate(status.session_id, grace=0)
            runtime.remove(status.session_id)


@pytest.fixture
def runtime(make_runtime: RuntimeFactory) -> ProcessRuntime:
    return make_runtime()
