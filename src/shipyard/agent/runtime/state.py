"""A session's state directory: its layout and the files the agent and supervisor share.

    <state_dir>/<session_id>/
        spec.json        the spec and the launch plan (written once by the agent; mode 0600)
        home/            the session's /home/work, owned by the session uid
        output.log       what the session printed
        supervisor.pid   the supervisor's pid, written once its command runs
        status.json      how the session ended, written once, atomically
        terminal.sock    an interactive session's terminal (see shipyard.agent.supervisor)
        supervisor.log   the supervisor's own errors, for admins
        etc/             the session's generated /etc files (passwd, hosts, ...)
        cpu-online       what the session reads as /sys/devices/system/cpu/online
        mounts/<name>    its folders, each a bindfs mount (shipyard.agent.folders)
        sandbox.pid      the pid of the sandbox's first process (its namespaces)

Only the supervisor writes status.json, except when it is gone without one: then the agent
records the loss, without overwriting a status.json that appears meanwhile. The agent
also writes it, instead of starting a supervisor, when a command cannot be found.

The supervisor imports this module: keep it to the standard library (start latency).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

SUPERVISOR_MODULE = "shipyard.agent.supervisor"
#: exit_code of a session whose supervisor vanished, or that never got to run its command.
UNKNOWN_EXIT = -1
#: exit_code of a session whose command could not be found (as a shell reports it).
NOT_FOUND_EXIT = 127
#: exit_code of a session whose command exists but cannot be executed.
NOT_EXECUTABLE_EXIT = 126


class SessionDir(NamedTuple):
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

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def cpu_online(self) -> Path:
        return self.root / "cpu-online"

    @property
    def folders(self) -> Path:
        return self.root / "mounts"

    @property
    def sandbox_pid_file(self) -> Path:
        return self.root / "sandbox.pid"


class Launch(NamedTuple):
    """How the supervisor runs the command; decided by the agent, stored in spec.json.

    `env` is the command's environment. With a sandbox, `argv` runs with an empty
    environment and `env` travels on a descriptor that the loader at `slots["loader"]`
    reads (sandbox.env_loader); `slots` also says where bwrap's --info-fd, --block-fd and
    --seccomp descriptors go (see sandbox.bwrap_argv). Without, `argv` is the command
    itself, run with `env`. `network` is network.plan() (None: loopback alone),
    `seccomp` the compiled filter's path, `home_size` the size of the tmpfs mounted as the
    session's home (None: a plain directory), `cpus` the CPUs it may run on.
    `cgroups` is CgroupSet.to_json() or None; `rlimits` maps resource names ("RLIMIT_AS")
    to values. The session runs as `uid`/`gid` (None: the agent's own); with
    `drop_privileges` the child switches to them before exec, else setpriv does it inside
    the sandbox. In a sandbox the loader changes to `workdir` (an image's WorkingDir) as
    the session uid where it can, else the command starts in /home/work.
    """

    argv: tuple[str, ...]
    env: dict[str, str]
    slots: dict[str, int]
    cwd: str | None
    interactive: bool
    uid: int | None
    gid: int | None
    drop_privileges: bool
    cgroups: dict[str, Any] | None
    rlimits: dict[str, int]
    network: dict[str, Any] | None = None
    seccomp: str | None = None
    home_size: int | None = None
    cpus: tuple[int, ...] = ()
    workdir: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "env": self.env,
            "slots": self.slots,
            "cwd": self.cwd,
            "interactive": self.interactive,
            "uid": self.uid,
            "gid": self.gid,
            "drop_privileges": self.drop_privileges,
            "cgroups": self.cgroups,
            "rlimits": self.rlimits,
            "network": self.network,
            "seccomp": self.seccomp,
            "home_size": self.home_size,
            "cpus": list(self.cpus),
            "workdir": self.workdir,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Launch:
        return cls(
            argv=tuple(data["argv"]),
            env=dict(data["env"]),
            slots=dict(data.get("slots", {})),
            cwd=data["cwd"],
            interactive=bool(data["interactive"]),
            uid=data["uid"],
            gid=data["gid"],
            drop_privileges=bool(data["drop_privileges"]),
            cgroups=data["cgroups"],
            rlimits=dict(data["rlimits"]),
            network=data.get("network"),
            seccomp=data.get("seccomp"),
            home_size=data.get("home_size"),
            cpus=tuple(data.get("cpus", ())),
            workdir=data.get("workdir"),
        )


def now() -> datetime:
    return datetime.now(UTC)


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
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")  # one per writer
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
