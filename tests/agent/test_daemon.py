"""The agent daemon builds each session's argv from the kind and raw command it is sent.

The manager sends `kind` and the user's command as typed (docs/agents.md); which shell runs
it is the agent's choice: bash for a terminal, `sh -c` for a batch command, bash when the
environment's interpreter is offered as `python`.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from shipyard.agent.daemon import AgentConfig, AgentDaemon
from shipyard.agent.runtime.base import Runtime
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agents.schemas import DesiredSession, DesiredState
from tests.agent.doubles import FakeRuntime
from tests.agent.helpers import all_logs, wait_exited

UID = 200001  # the session's user
PYTHON_SHIM = 'python() { "/usr/bin/python3" "$@"; }; export -f python 2>/dev/null; '


def desired(kind: str, command: str | None, *, interpreter: str = "") -> DesiredSession:
    fields: dict[str, Any] = {
        "session_id": uuid.uuid4(),
        "kind": kind,
        "command": command,
        "env": {},
        "interpreter": interpreter,
        "path_prefix": "",
        "cpu": "1",
        "mem": 0,
        "gpus": 0,
        "mounts": [],
        "uid": UID,
        "user": "work",
        "network": "none",
        "network_allow": [],
        "scratch": 0,
    }
    return DesiredSession(**fields)


class Manager:
    """Stands in for the manager's client: records the heartbeats the daemon sends."""

    def __init__(self) -> None:
        self.heartbeats: list[dict[str, Any]] = []

    async def heartbeat(self, payload: dict[str, Any]) -> int:
        self.heartbeats.append(payload)
        return 1

    async def close(self) -> None:
        pass


def reconcile(tmp_path: Path, runtime: Runtime, *sessions: DesiredSession) -> Manager:
    """Have a daemon reconcile a desired state of these sessions, then heartbeat once."""
    config = AgentConfig("http://127.0.0.1:9", "sya_unused", tmp_path / "agent", agent_id="n")
    daemon = AgentDaemon(config, runtime)
    manager = Manager()

    async def once() -> None:
        await daemon.client.close()
        daemon.client = manager  # type: ignore[assignment]
        try:
            await daemon.reconcile(DesiredState(version=1, sessions=list(sessions)))
            await daemon.heartbeat()
        finally:
            daemon.quota.stop()

    asyncio.run(once())
    return manager


def test_the_agent_picks_the_shell_for_each_kind(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    batch = desired("batch", "echo 'hi' | wc -c")
    with_python = desired("batch", "python train.py", interpreter="/usr/bin/python3")
    terminal = desired("interactive", None, interpreter="/usr/bin/python3")

    reconcile(tmp_path, runtime, batch, with_python, terminal)

    commands = {session_id: spec.command for session_id, spec in runtime.specs.items()}
    assert commands == {
        batch.session_id.hex: ("/bin/sh", "-c", "echo 'hi' | wc -c"),
        with_python.session_id.hex: ("/bin/bash", "-c", PYTHON_SHIM + "python train.py"),
        terminal.session_id.hex: ("/bin/bash",),
    }


def test_a_batch_session_without_a_command_is_reported_as_failed(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    empty = desired("batch", None)

    manager = reconcile(tmp_path, runtime, empty)

    assert runtime.specs == {}
    [report] = manager.heartbeats[0]["sessions"]
    assert report["session_id"] == str(empty.session_id)
    assert (report["running"], report["error"]) == (
        False,
        "failed to start: the session has no command to run",
    )


def test_a_batch_command_runs_with_the_environments_python(
    tmp_path: Path, runtime: ProcessRuntime
) -> None:
    session = desired(
        "batch",
        "python -c 'import sys; print(sys.executable, 6 * 7)'",
        interpreter="/usr/bin/python3",
    )

    reconcile(tmp_path, runtime, session)

    status = wait_exited(runtime, session.session_id.hex, timeout=30)
    output = all_logs(runtime, session.session_id.hex).decode()
    assert (status.exit_code, output.strip()) == (0, "/usr/bin/python3 42"), output
