"""The sandbox: what a session can write, see and do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipyard.agent.runtime.base import Mount, SessionStartError
from shipyard.agent.runtime.process import ProcessRuntime
from tests.agent.helpers import make_spec, run_batch

NOBODY = 65534

PROBE_WRITES = """
for path in /usr/x /etc/x /x /home/work/x /home/work/ro/x /home/work/rw/x /tmp/x /dev/shm/x; do
  if touch "$path" 2>/dev/null; then echo "ok $path"; else echo "denied $path"; fi
done
cat /home/work/ro/data.txt
"""


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A read-only folder holding data.txt and an empty read-write one, owned by nobody (the
    storage owner) as the manager makes folders."""
    ro, rw = tmp_path / "ro-folder", tmp_path / "rw-folder"
    ro.mkdir()
    (ro / "data.txt").write_text("kept\n")
    rw.mkdir()
    for path in (ro, ro / "data.txt", rw):
        os.chown(path, NOBODY, NOBODY)
    return ro, rw


def test_a_session_writes_only_to_its_home_its_rw_folders_and_tmp(
    runtime: ProcessRuntime, folders: tuple[Path, Path]
) -> None:
    ro, rw = folders
    mounts = (
        Mount(source=ro, name="ro", access="ro"),
        Mount(source=rw, name="rw", access="full"),
    )

    status, output = run_batch(runtime, make_spec("sh", "-c", PROBE_WRITES, mounts=mounts))

    assert status.exit_code == 0
    assert output.splitlines() == [
        "denied /usr/x",
        "denied /etc/x",
        "denied /x",
        "ok /home/work/x",
        "denied /home/work/ro/x",
        "ok /home/work/rw/x",
        "ok /tmp/x",
        "ok /dev/shm/x",
        "kept",
    ]
    assert (rw / "x").stat().st_uid == NOBODY
    assert sorted(p.name for p in ro.iterdir()) == ["data.txt"]
    assert not Path("/usr/x").exists()


def test_a_session_sees_neither_other_sessions_nor_the_host(runtime: ProcessRuntime) -> None:
    other = make_spec("sleep", "30")
    runtime.start(other)
    list_processes = 'for d in /proc/[0-9]*; do cat "$d/comm"; done'

    status, output = run_batch(runtime, make_spec("sh", "-c", list_processes))

    seen = set(output.split())
    assert status.exit_code == 0
    assert "sleep" not in seen
    assert seen <= {"bwrap", "sh", "cat"}


def test_a_session_runs_unprivileged(runtime: ProcessRuntime) -> None:
    fields = "Uid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs"
    script = f"id -u; id -G; grep -E '^({fields}):' /proc/self/status"

    status, output = run_batch(runtime, make_spec("sh", "-c", script))

    lines = output.splitlines()
    status_fields = dict(line.split(":\t", 1) for line in lines[2:])
    assert status.exit_code == 0
    assert lines[:2] == [str(NOBODY), str(NOBODY)]
    assert status_fields["Uid"].split() == [str(NOBODY)] * 4
    for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert status_fields[caps] == "0000000000000000"
    assert status_fields["NoNewPrivs"] == "1"


def test_a_session_never_shares_the_hosts_network(runtime: ProcessRuntime) -> None:
    show_interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1"

    _, isolated = run_batch(runtime, make_spec("sh", "-c", show_interfaces, network="none"))
    _, outbound = run_batch(runtime, make_spec("sh", "-c", show_interfaces))

    assert isolated.split() == ["lo"]
    assert sorted(outbound.split()) == ["lo", "tap0"]  # slirp4netns's, not the host's


def test_a_folder_that_does_not_exist_is_refused(runtime: ProcessRuntime, tmp_path: Path) -> None:
    spec = make_spec("true", mounts=(Mount(source=tmp_path / "gone", name="data", access="full"),))

    with pytest.raises(SessionStartError, match="does not exist"):
        runtime.start(spec)
    assert runtime.list() == []
