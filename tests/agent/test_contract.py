"""The Runtime contract, checked against ProcessRuntime and its test double alike."""

from __future__ import annotations

import os
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from shipyard.agent.runtime.base import (
    Mount,
    Runtime,
    SessionNotFound,
    SessionStartError,
    SessionStateError,
)
from tests.agent.conftest import RuntimeFactory
from tests.agent.doubles import FakeRuntime
from tests.agent.helpers import make_spec

UNKNOWN = "0123456789abcdef0123456789abcdef"


@pytest.fixture(params=["process", "fake"])
def any_runtime(request: pytest.FixtureRequest, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime() if request.param == "process" else FakeRuntime()


def test_a_started_session_runs_and_is_listed(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")

    started = any_runtime.start(spec)

    assert started.running
    assert started.pid is not None
    assert (started.exit_code, started.error, started.finished_at) == (None, None, None)
    assert started.started_at.tzinfo is not None
    assert started.started_at.utcoffset() == timedelta(0)
    assert any_runtime.status(spec.session_id) == started
    assert [s.session_id for s in any_runtime.list()] == [spec.session_id]


def test_starting_a_known_id_again_starts_nothing(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")
    first = any_runtime.start(spec)

    again = any_runtime.start(spec)

    assert again.pid == first.pid
    assert len(any_runtime.list()) == 1


def test_terminate_ends_the_session_and_says_how(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")
    any_runtime.start(spec)

    any_runtime.terminate(spec.session_id, grace=5)

    status = any_runtime.status(spec.session_id)
    assert status is not None
    assert not status.running
    assert status.pid is None
    assert status.exit_code == 143
    assert status.error == "killed by signal 15"
    assert status.finished_at is not None
    assert status.finished_at >= status.started_at
    assert status.finished_at.tzinfo == UTC or status.finished_at.utcoffset() == timedelta(0)


def test_terminate_twice_leaves_the_first_outcome(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")
    any_runtime.start(spec)
    any_runtime.terminate(spec.session_id)
    ended = any_runtime.status(spec.session_id)

    any_runtime.terminate(spec.session_id)

    assert any_runtime.status(spec.session_id) == ended


def test_a_running_session_cannot_be_removed(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")
    any_runtime.start(spec)

    with pytest.raises(SessionStateError, match="terminate it first"):
        any_runtime.remove(spec.session_id)
    assert any_runtime.status(spec.session_id) is not None


def test_a_removed_session_is_forgotten(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")
    any_runtime.start(spec)
    any_runtime.terminate(spec.session_id)

    any_runtime.remove(spec.session_id)

    assert any_runtime.status(spec.session_id) is None
    assert any_runtime.list() == []
    with pytest.raises(SessionNotFound):
        any_runtime.read_logs(spec.session_id)


def test_unknown_ids_are_reported_as_such(any_runtime: Runtime) -> None:
    assert any_runtime.status(UNKNOWN) is None
    assert any_runtime.status("../../etc") is None
    for call in (
        any_runtime.terminate,
        any_runtime.remove,
        any_runtime.read_logs,
        any_runtime.terminal_socket,
        any_runtime.usage,
    ):
        with pytest.raises(SessionNotFound, match=f"no session {UNKNOWN}"):
            call(UNKNOWN)


def test_a_batch_session_has_no_terminal(any_runtime: Runtime) -> None:
    spec = make_spec("sleep", "30")
    any_runtime.start(spec)

    with pytest.raises(SessionStateError):
        any_runtime.terminal_socket(spec.session_id)


def test_folders_may_have_hidden_names(any_runtime: Runtime, tmp_path: Path) -> None:
    os.chown(tmp_path, 65534, 65534)  # as the manager makes folders: the storage owner's
    spec = make_spec("true", mounts=(Mount(source=tmp_path, name=".local", access="ro"),))

    assert any_runtime.start(spec).session_id == spec.session_id


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../escape", "/abs", "x\0y", "-rf", "a b"])
def test_mount_names_that_are_not_one_safe_component_are_refused(
    any_runtime: Runtime, tmp_path: Path, name: str
) -> None:
    spec = make_spec("true", mounts=(Mount(source=tmp_path, name=name, access="ro"),))

    with pytest.raises(SessionStartError, match="invalid folder name"):
        any_runtime.start(spec)
    assert any_runtime.list() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"session_id": "../../../tmp/x"}, "32 lowercase hex"),
        ({"session_id": "ABCDEF0123456789ABCDEF0123456789"}, "32 lowercase hex"),
        ({"command": ()}, "no command"),
        ({"mem": -1}, "negative"),
        ({"env": {"BAD NAME": "x"}}, "environment variable name"),
        ({"env": {"OK": "nul\0inside"}}, "NUL"),
        ({"mounts": (Mount(source=Path("data"), name="data", access="ro"),)}, "absolute"),
        ({"mounts": (Mount(Path("/a"), "x", True), Mount(Path("/b"), "x", True))}, "same name"),
    ],
)
def test_invalid_specs_are_refused(
    any_runtime: Runtime, fields: dict[str, object], message: str
) -> None:
    spec = make_spec("true", **fields)

    with pytest.raises(SessionStartError, match=message):
        any_runtime.start(spec)
    assert any_runtime.list() == []
