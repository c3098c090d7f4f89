"""JSON forms of a session's spec and exit status, as stored in its state directory."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from shipyard.agent.runtime.base import (
    FolderAccess,
    ImageRoot,
    Mount,
    NetworkMode,
    SessionSpec,
    SessionStatus,
)


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
            {"source": str(m.source), "name": m.name, "access": m.access} for m in spec.mounts
        ],
        "network": spec.network,
        "network_allow": list(spec.network_allow),
        "uid": spec.uid,
        "gid": spec.gid,
        "user": spec.user,
        "ro_paths": list(spec.ro_paths),
        "scratch": spec.scratch,
        "image": None if spec.image is None else _image_to_json(spec.image),
    }


def _image_to_json(image: ImageRoot) -> dict[str, Any]:
    return {
        "rootfs": str(image.rootfs),
        "env": dict(image.env),
        "entrypoint": list(image.entrypoint),
        "cmd": list(image.cmd),
        "workdir": image.workdir,
    }


def _image_from_json(data: dict[str, Any] | None) -> ImageRoot | None:
    if data is None:
        return None
    return ImageRoot(
        rootfs=Path(data["rootfs"]),
        env=dict(data["env"]),
        entrypoint=tuple(data["entrypoint"]),
        cmd=tuple(data["cmd"]),
        workdir=data["workdir"],
    )


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
            Mount(source=Path(m["source"]), name=m["name"], access=_access(m))
            for m in data["mounts"]
        ),
        network=_network(data["network"]),
        network_allow=tuple(data.get("network_allow", ())),
        uid=data.get("uid"),
        gid=data.get("gid"),
        user=data.get("user", "work"),
        ro_paths=tuple(data.get("ro_paths", ())),
        scratch=int(data.get("scratch", 0)),
        image=_image_from_json(data.get("image")),
    )


def _access(mount: dict[str, Any]) -> FolderAccess:
    """Specs written before access levels stored read_only (False: everything)."""
    if "access" in mount:
        return cast(FolderAccess, mount["access"])
    return "ro" if mount["read_only"] else "full"


def _network(value: object) -> NetworkMode:
    """Specs written before network modes stored a bool (True: the host's network)."""
    if value in ("none", False):
        return "none"
    return "outbound"


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
