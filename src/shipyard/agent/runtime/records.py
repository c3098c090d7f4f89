"""JSON forms of a session's spec and exit status, as stored in its state directory."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from shipyard.agent.runtime.base import Mount, SessionSpec, SessionStatus


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
