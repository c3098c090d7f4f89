"""Test doubles of the session runtime.

FakeRuntime keeps sessions in memory and runs nothing: a started session runs until the
test ends it (`finish`) or the code under test terminates it. It follows the Runtime
contract (the same contract tests run against it and ProcessRuntime), so tests of the
agent daemon or the agent API can use it where real processes would only be slow.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from shipyard.agent.runtime.base import (
    ACCESS_LEVELS,
    Enforcement,
    Mount,
    Runtime,
    SessionNotFound,
    SessionSpec,
    SessionStateError,
    SessionStatus,
    SessionUsage,
    check_spec,
)


class FakeRuntime(Runtime):
    """An in-memory runtime. `finish()` ends a session as if its command had exited."""

    def __init__(self, *, enforcement: Enforcement | None = None) -> None:
        self._enforcement = enforcement or Enforcement(
            sandbox="bubblewrap", cgroups="v1", rlimits=False, session_uid=65534
        )
        self.specs: dict[str, SessionSpec] = {}
        self._statuses: dict[str, SessionStatus] = {}
        self._logs: dict[str, bytearray] = {}
        self._pids = itertools.count(10_000)
        #: how many times start() really started something, per session id
        self.starts: dict[str, int] = {}
        #: how many times update_mounts() was asked of a running session, per session id
        self.mount_updates: dict[str, int] = {}
        self._mounts: dict[str, tuple[Mount, ...]] = {}

    def enforcement(self) -> Enforcement:
        return self._enforcement

    def start(self, spec: SessionSpec) -> SessionStatus:
        check_spec(spec)
        if spec.session_id in self._statuses:
            return self._statuses[spec.session_id]
        self.specs[spec.session_id] = spec
        self._logs[spec.session_id] = bytearray()
        self.starts[spec.session_id] = self.starts.get(spec.session_id, 0) + 1
        self._statuses[spec.session_id] = SessionStatus(
            session_id=spec.session_id,
            running=True,
            pid=next(self._pids),
            exit_code=None,
            oom_killed=False,
            error=None,
            started_at=datetime.now(UTC),
            finished_at=None,
        )
        return self._statuses[spec.session_id]

    def status(self, session_id: str) -> SessionStatus | None:
        return self._statuses.get(session_id)

    def list(self) -> list[SessionStatus]:
        return list(self._statuses.values())

    def terminate(self, session_id: str, *, grace: float = 5.0) -> None:
        if self._known(session_id).running:
            self.finish(session_id, exit_code=128 + signal.SIGTERM, error="killed by signal 15")

    def remove(self, session_id: str) -> None:
        if self._known(session_id).running:
            raise SessionStateError(f"session {session_id} is running: terminate it first")
        del self._statuses[session_id], self._logs[session_id], self.specs[session_id]
        self._mounts.pop(session_id, None)

    def read_logs(
        self, session_id: str, *, offset: int = 0, limit: int = 65536
    ) -> tuple[bytes, int]:
        self._known(session_id)
        data = bytes(self._logs[session_id][offset : offset + limit])
        return data, offset + len(data)

    def terminal_socket(self, session_id: str) -> Path:
        """A path where nothing listens: the fake has no terminals to attach to."""
        status = self._known(session_id)
        if self.specs[session_id].kind != "interactive" or not status.running:
            raise SessionStateError(f"session {session_id} has no open terminal")
        return Path("/nonexistent") / f"{session_id}.sock"

    def usage(self, session_id: str) -> SessionUsage:
        self._known(session_id)
        return SessionUsage(cpu_seconds=0.0, mem_bytes=0)

    def update_mounts(self, session_id: str, mounts: Sequence[Mount]) -> None:
        """Lower the session's mounts as the contract says; `mounts_of` shows the result."""
        if not self._known(session_id).running:
            return
        self.mount_updates[session_id] = self.mount_updates.get(session_id, 0) + 1
        wanted = {(m.name, m.source): m for m in mounts}
        kept = []
        for mount in self.mounts_of(session_id):
            want = wanted.get((mount.name, mount.source))
            if want is not None:
                lower = min(mount.access, want.access, key=ACCESS_LEVELS.index)
                kept.append(replace(mount, access=lower))
        self._mounts[session_id] = tuple(kept)

    # -- driving the fake from tests ---------------------------------------------------

    def mounts_of(self, session_id: str) -> tuple[Mount, ...]:
        """The folders the session has now, with the access it has."""
        return self._mounts.get(session_id, self.specs[session_id].mounts)

    def print(self, session_id: str, data: bytes) -> None:
        """Append to the session's output, as if its command had printed `data`."""
        self._known(session_id)
        self._logs[session_id] += data

    def finish(
        self,
        session_id: str,
        *,
        exit_code: int = 0,
        oom_killed: bool = False,
        error: str | None = None,
    ) -> None:
        """End a running session with this outcome."""
        status = self._known(session_id)
        self._statuses[session_id] = replace(
            status,
            running=False,
            pid=None,
            exit_code=exit_code,
            oom_killed=oom_killed,
            error="out of memory" if oom_killed else error,
            finished_at=datetime.now(UTC),
        )

    def _known(self, session_id: str) -> SessionStatus:
        status = self._statuses.get(session_id)
        if status is None:
            raise SessionNotFound(session_id)
        return status
