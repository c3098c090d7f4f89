"""The session runtime contract: what the agent asks of whatever runs its sessions.

A session is a process tree started from a `SessionSpec`. A runtime starts it, reports its
`SessionStatus`, terminates it, hands out its output and, for an interactive session, the
unix socket of its terminal. Sessions outlive the runtime object: a new runtime on the
same state finds (re-adopts) every session the previous one left, running or exited.

Errors (each carries `message`, meant for an admin or the session's owner):

    SessionError              base of the runtime's errors
     ├── SessionStartError    the spec is invalid, or this agent cannot run it as asked
     ├── SessionNotFound      no session with this id is known to the runtime
     └── SessionStateError    the session exists but its state does not allow the call
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from shipyard.agent.runtime import state

SessionKind = Literal["batch", "interactive"]
FolderAccess = Literal["ro", "rw", "full"]
#: folder access levels, from least to most
ACCESS_LEVELS: tuple[FolderAccess, ...] = ("ro", "rw", "full")
NetworkMode = Literal["none", "outbound"]

# Exit codes a SessionStatus may carry besides the command's own. They live with the state
# files because the supervisor writes them without loading this module.
#: the supervisor vanished, or the command never got to run
UNKNOWN_EXIT = state.UNKNOWN_EXIT
#: the command was not found (as a shell reports it)
NOT_FOUND_EXIT = state.NOT_FOUND_EXIT
#: the command exists but cannot be executed
NOT_EXECUTABLE_EXIT = state.NOT_EXECUTABLE_EXIT

_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_MOUNT_NAME = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,127}")
#: The name of the owner's home among a session's mounts (no folder can be called so): it
#: is bound at /home/work itself, and the other folders are mounted inside it.
HOME = "~"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Mount:
    """A storage folder bound into the sandbox at /home/work/<name>.

    `source` is an absolute host path; `name` one path component of letters, digits and
    . _ - (not "." or "..", not starting with "-"). `access` is what the session may do
    there: "ro" read; "rw" also create, write, replace and rename, but not delete; "full"
    everything (see shipyard.agent.folders). The mount named `HOME` is the owner's home,
    bound at /home/work itself.
    """

    source: Path
    name: str
    access: FolderAccess

    @property
    def read_only(self) -> bool:
        return self.access == "ro"

    @property
    def home(self) -> bool:
        return self.name == HOME


@dataclass(frozen=True)
class ImageRoot:
    """An OCI image a session runs inside: its unpacked root filesystem and its config.

    `rootfs` is an absolute host path to the unpacked image, owned by root and writable by
    no one else (the agent's image store makes it so); the session sees it read-only as /.
    From the image's config: `env` lies under the session's own environment (the session's
    values win; the image's PATH replaces the default one), `entrypoint` + `cmd` is the
    command when the session gives none (a session's own command replaces both, so that
    an interactive shell is not handed to an entrypoint), and `workdir` is where the
    command starts when it exists there (else /home/work). The image's User is ignored:
    a session always runs as its user's uid.
    """

    rootfs: Path
    env: Mapping[str, str] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = ""

    @classmethod
    def from_config(cls, rootfs: Path, config: Mapping[str, object]) -> ImageRoot:
        """The image at `rootfs` with an OCI image config (the config blob's JSON, or its
        "config" member); malformed members are ignored rather than trusted."""
        inner = config.get("config", config)
        body: Mapping[str, object] = inner if isinstance(inner, Mapping) else {}
        env = {}
        for item in _strings(body.get("Env")):
            name, sep, value = item.partition("=")
            if sep and _ENV_NAME.fullmatch(name):
                env[name] = value
        workdir = body.get("WorkingDir")
        return cls(
            rootfs=rootfs,
            env=env,
            entrypoint=_strings(body.get("Entrypoint")),
            cmd=_strings(body.get("Cmd")),
            workdir=workdir if isinstance(workdir, str) else "",
        )

    @property
    def default_command(self) -> tuple[str, ...]:
        return (*self.entrypoint, *self.cmd)


def _strings(value: object) -> tuple[str, ...]:
    """A JSON list of strings as a tuple (anything else: empty)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return ()
    return tuple(value)


@dataclass(frozen=True)
class SessionSpec:
    """What to run and within which limits.

    `cpu` is in cores (0 = no CPU cap), `mem` in bytes (0 = no memory cap), `pids_max` the
    most processes the session may hold at once, the sandbox's own two processes included
    (0 = no cap). `gpus` are device indices, exported as CUDA_VISIBLE_DEVICES ("" when none).

    The command runs as `uid`/`gid` (None: the runtime's default session uid), named `user`
    in the session's /etc/passwd. It always has a network namespace of its own: `network`
    "none" gives it loopback alone, "outbound" user-mode networking to the outside, where
    the host, link-local and private addresses stay unreachable except the networks (or
    `network:port`) in `network_allow`. `ro_paths` are host directories (an environment's
    installation) bound read-only at the same path. `scratch` bounds the session's scratch
    space, kept in memory and counted against `mem` (bytes, 0: the runtime's default): its
    /home/work, or, when `mounts` holds the owner's home (`HOME`), its /tmp. With `image`
    the session runs inside that image's root filesystem instead of the host's system
    directories (see ImageRoot; `command` may then be empty to run the image's default).
    """

    session_id: str
    kind: SessionKind
    command: tuple[str, ...]
    env: Mapping[str, str]
    cpu: Decimal
    mem: int
    pids_max: int = 512
    gpus: tuple[int, ...] = ()
    mounts: tuple[Mount, ...] = ()
    network: NetworkMode = "outbound"
    network_allow: tuple[str, ...] = ()
    uid: int | None = None
    gid: int | None = None
    user: str = "work"
    ro_paths: tuple[str, ...] = ()
    scratch: int = 0
    image: ImageRoot | None = None

    @property
    def effective_command(self) -> tuple[str, ...]:
        """The command to run: the spec's own, else its image's default command."""
        if self.command or self.image is None:
            return self.command
        return self.image.default_command


@dataclass(frozen=True)
class SessionStatus:
    """What a session is doing, or how it ended.

    While running: `running` is true, `pid` is the supervisor's pid (None for the instant
    before the supervisor reported it), `exit_code`, `error` and `finished_at` are None.
    Once exited: `exit_code` is the command's exit status, 128+N when signal N killed it,
    `UNKNOWN_EXIT` (-1) when it is not known (the supervisor vanished, or the sandbox could
    not be set up), 127 / 126 when the command was not found / not executable. `error` is a
    short reason for an abnormal end ("out of memory", "killed by signal 9", "supervisor
    lost", "failed to start: ...") and None for a plain exit, whatever its code.
    """

    session_id: str
    running: bool
    pid: int | None
    exit_code: int | None
    oom_killed: bool
    error: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Enforcement:
    """What this agent can actually enforce; shown to admins, with why in `warnings`."""

    sandbox: Literal["bubblewrap", "none"]
    cgroups: Literal["v2", "v1", "none"]
    rlimits: bool
    session_uid: int | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionUsage:
    """Resources a session has used: CPU time so far and memory now (None: not measured)."""

    cpu_seconds: float | None
    mem_bytes: int | None


class SessionError(Exception):
    """Base of the runtime's errors; `message` says what went wrong in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionStartError(SessionError):
    """The spec is invalid, or this agent cannot run it as asked (e.g. no sandbox)."""


class SessionNotFound(SessionError):
    """No session with this id is known (never started here, or removed)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session {session_id} on this agent")
        self.session_id = session_id


class SessionStateError(SessionError):
    """The session exists but its state does not allow this (e.g. removing a running one)."""


def is_session_id(text: str) -> bool:
    """Whether `text` has the form of a session id (and is therefore safe in a path)."""
    return _SESSION_ID.fullmatch(text) is not None


def check_spec(spec: SessionSpec) -> None:
    """Raise SessionStartError unless the spec is safe to turn into paths, cgroups and argv."""
    if not is_session_id(spec.session_id):
        raise SessionStartError(f"session id {spec.session_id!r} is not 32 lowercase hex digits")
    _check_command(spec)
    if spec.cpu < 0 or spec.mem < 0 or spec.pids_max < 0:
        raise SessionStartError("resource limits cannot be negative")
    if any(index < 0 for index in spec.gpus):
        raise SessionStartError("GPU indices cannot be negative")
    bad_env = [name for name in spec.env if not _ENV_NAME.fullmatch(name)]
    if bad_env:
        raise SessionStartError(f"invalid environment variable name {bad_env[0]!r}")
    if any("\0" in text for text in (*spec.env.values(), *spec.effective_command)):
        raise SessionStartError("the command and environment cannot contain NUL characters")
    if spec.image is not None:
        _check_image(spec.image, ro_paths=spec.ro_paths)
    names = [mount.name for mount in spec.mounts]
    for name in names:
        if name != HOME and (not _MOUNT_NAME.fullmatch(name) or name in {".", ".."}):
            raise SessionStartError(
                f"invalid folder name {name!r}: use one path component of letters, digits, . _ -"
            )
    if len(set(names)) != len(names):
        raise SessionStartError("two folders are mounted under the same name")
    unknown = [mount.name for mount in spec.mounts if mount.access not in ACCESS_LEVELS]
    if unknown:
        raise SessionStartError(f"folder {unknown[0]}: access must be one of ro, rw, full")
    relative = [mount.name for mount in spec.mounts if not mount.source.is_absolute()]
    if relative:
        raise SessionStartError(f"folder {relative[0]}: its source must be an absolute path")


def _check_command(spec: SessionSpec) -> None:
    if spec.effective_command and spec.effective_command[0]:
        return
    if spec.image is not None and not spec.command:
        raise SessionStartError(
            "the session has no command to run, and its image has no default command"
        )
    raise SessionStartError("the session has no command to run")


def _check_image(image: ImageRoot, *, ro_paths: Sequence[str]) -> None:
    if not image.rootfs.is_absolute():
        raise SessionStartError("the image's root filesystem must be an absolute path")
    bad_env = [name for name in image.env if not _ENV_NAME.fullmatch(name)]
    if bad_env:
        raise SessionStartError(f"the image sets an invalid environment variable {bad_env[0]!r}")
    if any("\0" in text for text in (*image.env.values(), image.workdir)):
        raise SessionStartError("the image's environment cannot contain NUL characters")
    if ro_paths:
        # Host directories would be bound into the image's read-only tree, through
        # whatever links the image holds on their way.
        raise SessionStartError("a session in an image cannot also bind host directories")


class Runtime(ABC):
    """Runs sessions on this node. Implementations: ProcessRuntime; tests: FakeRuntime.

    Every method taking a session id raises SessionNotFound for an id it does not know,
    except `status`, which returns None.
    """

    @abstractmethod
    def enforcement(self) -> Enforcement:
        """What this runtime enforces on this machine (sandbox, cgroups, rlimits, uid)."""

    @abstractmethod
    def start(self, spec: SessionSpec) -> SessionStatus:
        """Start a session and return its status once it runs (or has already failed).

        Idempotent: for an id already known, return that session's status and start
        nothing. An invalid spec, or one this agent cannot honour, raises
        SessionStartError and leaves nothing behind. A command that turns out not to
        exist is not an exception: the session ends at once with a clear `error`.
        """

    @abstractmethod
    def status(self, session_id: str) -> SessionStatus | None:
        """The session's status, or None when no such session is known."""

    @abstractmethod
    def list(self) -> list[SessionStatus]:
        """Every session known, running or exited-but-not-removed, in no set order.

        Works in a fresh runtime after an agent restart: sessions are found on disk.
        """

    @abstractmethod
    def terminate(self, session_id: str, *, grace: float = 5.0) -> None:
        """End the session: SIGTERM to its whole process tree, SIGKILL after `grace` seconds.

        Returns once the session has exited (status then says how). Idempotent: a
        session that has already exited is left as it is.
        """

    @abstractmethod
    def remove(self, session_id: str) -> None:
        """Forget an exited session: its state, output and cgroups are deleted.

        Raises SessionStateError while the session runs (terminate it first).
        """

    @abstractmethod
    def read_logs(
        self, session_id: str, *, offset: int = 0, limit: int = 65536
    ) -> tuple[bytes, int]:
        """Up to `limit` bytes of the session's output from `offset`, and the next offset.

        Batch sessions log stdout and stderr interleaved; interactive ones what the
        terminal showed. Reading at or past the end returns (b"", offset).
        """

    @abstractmethod
    def terminal_socket(self, session_id: str) -> Path:
        """The unix socket of a running interactive session's terminal (see supervisor).

        Raises SessionStateError for a batch session or one that has exited.
        """

    @abstractmethod
    def usage(self, session_id: str) -> SessionUsage:
        """CPU seconds used and memory held by the session's processes (None: unknown)."""

    @abstractmethod
    def update_mounts(self, session_id: str, mounts: Sequence[Mount]) -> None:
        """Bring a running session's folders down to `mounts`, matched by name and source.

        A folder the session has and `mounts` lacks is taken away at once, from files it
        holds open too (they fail from then on). A folder whose access in `mounts` is lower
        than the session's gets that access: read-only at once where nothing is open for
        writing in it, otherwise through a fresh mount (files open in it fail). More
        access, or a folder the session lacks, waits for the next session: nothing is
        added to a running one. Idempotent; returns once the change holds. A session that
        has exited has nothing to change.
        """
