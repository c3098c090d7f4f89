"""A session's state directory: its layout and the files the agent and supervisor share.

    <state_dir>/<session_id>/
        spec.json        the spec and the launch plan (written once by the agent; mode 0600)
        home/            the session's /home/work, owned by the session uid
        output.log       what the session printed
        supervisor.pid   the supervisor's pid, written once its command runs
        status.json      how the session ended, written once, atomically
        terminal.sock    an interactive session's terminal (see shipyard.agent.supervisor)
        supervisor.log   the supervisor's own errors, for admins

Only the supervisor writes status.json, except when it is gone without one: then the agent
records the loss, without overwriting a status.json that appears meanwhile.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from shipyard.agent.runtime.base import Mount, SessionSpec, SessionStatus

SUPERVISOR_MODULE = "shipyard.agent.supervisor"


@dataclass(frozen=True)
class SessionDir:
    """Paths of one session's state directory."""

    root: Path

    @property
    def session_id(self) -> str:
        return self.root.name

    @property
    def spec_file(self) -> Path:
        return self.root / "spec.json"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def log(self) -> Path:
        return self.root / "output.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "supervisor.pid"

    @property
    def status_file(self) -> Path:
        return self.root / "status.json"

    @property
    def socket(self) -> Path:
        return self.root / "terminal.sock"

    @property
    def supervisor_log(self) -> Path:
        return self.root / "supervisor.log"


@dataclass(frozen=True)
class Launch:
    """How the supervisor runs the command; decided by the agent, stored in spec.json.

    `argv` runs with exactly `env` (empty for bubblewrap, which gets the session's
    environment through `sandbox_args` on a file descriptor, so that neither bwrap nor
    `ps` ever sees it). `cgroups` is CgroupSet.to_json() or None; `rlimits` maps
    resource names ("RLIMIT_AS") to values; `uid`/`gid` are switched to before exec.
    """

    argv: tuple[str, ...]
    env: dict[str, str]
    sandbox_args: tuple[str, ...]
    cwd: str | None
    interactive: bool
    uid: int | None
    gid: int | None
    cgroups: dict[str, Any] | None
    rlimits: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "env": self.env,
            "sandbox_args": list(self.sandbox_args),
            "cwd": self.cwd,
            "interactive": self.interactive,
            "uid": self.uid,
            "gid": self.gid,
            "cgroups": self.cgroups,
            "rlimits": self.rlimits,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Launch:
        return cls(
            argv=tuple(data["argv"]),
            env=dict(data["env"]),
            sandbox_args=tuple(data["sandbox_args"]),
            cwd=data["cwd"],
            interactive=bool(data["interactive"]),
            uid=data["uid"],
            gid=data["gid"],
            cgroups=data["cgroups"],
            rlimits=dict(data["rlimits"]),
        )


def now() -> datetime:
    return datetime.now(UTC)


def spec_to_json(spec: SessionSpec) -> dict[str, Any]:
    return {
        "session_id": spec.session_id,
        "kind": spec.kind,
        "command": list(spec.command),
        "env": dict(spec.env),
        "cpu": str(spec.cpu),
        "mem": spec.mem,
        "pids_max": spec.pids_max,
        "gpus": list(spec.gpus),
        "mounts": [
            {"source": str(m.source), "name": m.name, "read_only": m.read_only} for m in spec.mounts
        ],
        "network": spec.network,
    }


def spec_from_json(data: dict[str, Any]) -> SessionSpec:
    return SessionSpec(
        session_id=data["session_id"],
        kind=data["kind"],
        command=tuple(data["command"]),
        env=dict(data["env"]),
        cpu=Decimal(data["cpu"]),
        mem=int(data["mem"]),
        pids_max=int(data["pids_max"]),
        gpus=tuple(data["gpus"]),
        mounts=tuple(
            Mount(source=Path(m["source"]), name=m["name"], read_only=bool(m["read_only"]))
            for m in data["mounts"]
        ),
        network=bool(data["network"]),
    )


def exit_to_json(
    *,
    session_id: str,
    exit_code: int,
    oom_killed: bool,
    error: str | None,
    started_at: datetime,
    finished_at: datetime,
) -> dict[str, Any]:
    """The content of status.json: how a session ended, times in ISO 8601 UTC."""
    return {
        "session_id": session_id,
        "exit_code": exit_code,
        "oom_killed": oom_killed,
        "error": error,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
    }


def exit_from_json(data: dict[str, Any]) -> SessionStatus:
    return SessionStatus(
        session_id=data["session_id"],
        running=False,
        pid=None,
        exit_code=int(data["exit_code"]),
        oom_killed=bool(data["oom_killed"]),
        error=data["error"],
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
    )


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when the file does not exist."""
    try:
        with path.open("rb") as file:
            return cast(dict[str, Any], json.load(file))
    except FileNotFoundError:
        return None


def write_json(path: Path, data: dict[str, Any], *, replace: bool = True) -> bool:
    """Write `data` atomically (temp file, fsync, rename); readers never see half a file.

    With replace=False an existing file is kept and False is returned.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(json.dumps(data).encode())
            file.flush()
            os.fsync(file.fileno())
        if replace:
            tmp.rename(path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
