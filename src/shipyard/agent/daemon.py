"""The agent daemon: register, heartbeat, and reconcile sessions with the desired state.

Reconciliation is state-based and idempotent: the manager says which sessions this node
should run; the agent starts what is missing, stops what is no longer wanted, and reports
what actually runs. Nothing is lost when either side restarts: the runtime re-adopts its
sessions from disk and the next desired state / report brings both sides in line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from shipyard import __version__
from shipyard.agent import gpu as gpus
from shipyard.agent import metrics
from shipyard.agent.client import LONG_POLL, ManagerClient, ManagerError
from shipyard.agent.images import ImageError, ImageStore
from shipyard.agent.images.pull import PullCancelled, Puller
from shipyard.agent.quota import QuotaWatcher
from shipyard.agent.runtime.base import (
    HOME,
    ImageRoot,
    Mount,
    Runtime,
    SessionSpec,
    SessionStatus,
)
from shipyard.agent.sandbox import SYSTEM_DIRS, in_image
from shipyard.agents import signing
from shipyard.agents.schemas import DesiredMount, DesiredSession, DesiredState
from shipyard.db import utcnow

log = logging.getLogger(__name__)
RETRY = 2.0
EXIT_POLL = 0.25  # seconds between looks for ended sessions
KEEP_EXITED = timedelta(hours=24)  # exited sessions keep their logs on the node this long
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
#: a session's folders as the manager grants them, and their limits (name, bytes)
_Granted = tuple[tuple[Mount, ...], tuple[tuple[str, int], ...]]


@dataclass
class AgentConfig:
    manager_url: str
    token: str
    data_dir: Path
    advertise_url: str = ""  # where the manager reaches this agent's API
    mock_gpus: int = 0
    reserve_mem: int = 0
    agent_id: str = ""
    resource_group: str | None = None  # when given, the token must admit to this group
    #: free bytes kept on each disk holding a writable folder (None: min(2 GiB, 5 %))
    disk_reserve: int | None = None
    #: bytes of unpacked images kept under data_dir/images (least recently used go first)
    image_budget: int = 20 << 30


@dataclass
class Preparing:
    """A session whose image is being pulled: how far, and how to call the pull off."""

    desired: DesiredSession
    done: int = 0
    total: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task[None] | None = None

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total


class AgentConfigError(Exception):
    """The agent is set up wrongly; retrying will not help."""


def persistent_id(data_dir: Path) -> str:
    """This node's agent id, chosen once and kept in the data dir (restarts keep it)."""
    path = data_dir / "agent-id"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40]
    agent_id = f"{host or 'node'}-{secrets.token_hex(4)}"
    path.write_text(agent_id + "\n", encoding="utf-8")
    return agent_id


class AgentDaemon:
    def __init__(self, config: AgentConfig, runtime: Runtime) -> None:
        self.config = config
        self.runtime = runtime
        self.client = ManagerClient(config.manager_url, config.token)
        self.agent_id = config.agent_id or persistent_id(config.data_dir)
        # The key the manager signs its calls to this process's API with: derived from the
        # token and an instance drawn per process (only the instance is sent, see signing.py).
        self.instance = signing.new_instance()
        self.api_secret = signing.agent_api_key(
            signing.token_hash(config.token), agent_id=self.agent_id, instance=self.instance
        )
        self.gpus = gpus.detect(mock=config.mock_gpus)
        self.heartbeat_interval = 5.0
        self.version = -1
        self.registered = asyncio.Event()
        self._failed: dict[str, SessionStatus] = {}  # starts the runtime refused outright
        self._mounts: dict[str, _Granted] = {}  # what each session was last told
        self.quota = QuotaWatcher(runtime, reserve=config.disk_reserve)
        self.images = ImageStore(config.data_dir / "images", budget=config.image_budget)
        self.puller = Puller(config.manager_url, config.token, self.images)
        self._preparing: dict[str, Preparing] = {}  # sessions whose image is being pulled
        self._wanted: set[str] = set()  # the sessions of the last desired state
        self._report_now = asyncio.Event()
        self._reconcile_lock = asyncio.Lock()

    async def run(self) -> None:
        """Register (retrying until the manager answers), then heartbeat and watch forever."""
        try:
            await self._register()
            await asyncio.gather(self._heartbeats(), self._watch(), self._watch_exits())
        finally:
            self.quota.stop()  # at most one poll interval: its thread looks every 50 ms
            for preparing in list(self._preparing.values()):
                preparing.cancelled.set()
            await self.client.close()
            await run_in_threadpool(self.puller.close)

    def registration(self) -> dict[str, Any]:
        enforcement = self.runtime.enforcement()
        return {
            "agent_id": self.agent_id,
            "hostname": socket.gethostname()[:255],
            "addr": self.config.advertise_url,
            "version": __version__,
            "capacity": metrics.capacity(self.gpus, reserve_mem=self.config.reserve_mem).to_json(),
            "enforcement": {
                "sandbox": enforcement.sandbox,
                "cgroups": enforcement.cgroups,
                "rlimits": enforcement.rlimits,
                "session_uid": enforcement.session_uid,
                "warnings": list(enforcement.warnings),
            },
            "accelerators": [gpu.report() for gpu in self.gpus],
            "instance": self.instance,
        }

    async def _register(self) -> None:
        while True:
            try:
                reply = await self.client.register(self.registration())
            except ManagerError as exc:
                log.warning("cannot register yet: %s", exc)
                await asyncio.sleep(RETRY)
                continue
            if self.config.resource_group and reply.resource_group != self.config.resource_group:
                raise AgentConfigError(
                    f"the token admits to resource group {reply.resource_group!r}, "
                    f"not {self.config.resource_group!r}"
                )
            self.heartbeat_interval = reply.heartbeat_interval
            log.info("registered as %s in %s", reply.agent_id, reply.resource_group)
            self.registered.set()
            return

    async def _heartbeats(self) -> None:
        while True:
            try:
                await self.heartbeat()
            except ManagerError as exc:
                log.warning("heartbeat failed: %s", exc)
                if "register first" in str(exc):
                    await self._register()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._report_now.wait(), self.heartbeat_interval)
            self._report_now.clear()

    async def heartbeat(self) -> None:
        statuses = [*await run_in_threadpool(self.runtime.list), *self._failed.values()]
        payload = {
            "agent_id": self.agent_id,
            "utilization": await run_in_threadpool(metrics.live, self.gpus),
            "sessions": [
                *(_report(status) for status in statuses),
                *(_pulling(sid, p) for sid, p in list(self._preparing.items())),
            ],
        }
        await self.client.heartbeat(payload)

    async def _watch_exits(self) -> None:
        """Report at once when a session ends, instead of at the next heartbeat."""
        running: set[str] = set()
        while True:
            await asyncio.sleep(EXIT_POLL)
            now_running = {
                status.session_id
                for status in await run_in_threadpool(self.runtime.list)
                if status.running
            }
            if running - now_running:
                self._report_now.set()
            running = now_running

    async def _watch(self) -> None:
        while True:
            try:
                state = await self.client.desired(self.agent_id, after=self.version, wait=LONG_POLL)
            except ManagerError as exc:
                log.warning("watch failed: %s", exc)
                await asyncio.sleep(RETRY)
                continue
            if state.version != self.version:
                await self.reconcile(state)
                self.version = state.version

    async def reconcile(self, state: DesiredState) -> None:
        """Start what is missing, stop what is no longer wanted; then report at once."""
        async with self._reconcile_lock:
            known = {
                status.session_id: status for status in await run_in_threadpool(self.runtime.list)
            }
            wanted = {session.session_id.hex: session for session in state.sessions}
            self._wanted = set(wanted)
            self._failed = {k: v for k, v in self._failed.items() if k in wanted}
            # Holds of sessions this node no longer has (removed while the agent was down).
            await run_in_threadpool(self.images.retain, {*known, *self._preparing})
            for session_id, preparing in self._preparing.items():
                if session_id not in wanted:
                    preparing.cancelled.set()
            for session_id, desired in wanted.items():
                status = known.get(session_id)
                if session_id in self._preparing:
                    continue
                if status is None and session_id not in self._failed and desired.image:
                    self._pull(desired)
                elif status is None and session_id not in self._failed:
                    spec = self._spec(desired, known)
                    await run_in_threadpool(self._start, spec, _limits(desired))
                    self._mounts[session_id] = _granted(desired)
                elif status is not None and status.running:
                    await self._follow_mounts(session_id, _granted(desired))
                elif status is not None:
                    await run_in_threadpool(self.quota.forget, session_id)
            for session_id, status in known.items():
                if session_id not in wanted:
                    await run_in_threadpool(self.quota.forget, session_id)
                    await self._retire(status)
            self._mounts = {k: v for k, v in self._mounts.items() if k in wanted}
        self._report_now.set()

    def _pull(self, desired: DesiredSession) -> None:
        """Pull the session's image in the background; the session starts once it is ready."""
        preparing = Preparing(desired, total=desired.image.size if desired.image else 0)
        self._preparing[desired.session_id.hex] = preparing
        preparing.task = asyncio.create_task(self._prepare_image(preparing))

    async def _prepare_image(self, preparing: Preparing) -> None:
        """Hold, pull and unpack the image, then start the session in it (if still wanted).

        A pull that fails ends the session with the reason (reported as a failed start)."""
        desired = preparing.desired
        session_id = desired.session_id.hex
        assert desired.image is not None
        try:
            ensured = await run_in_threadpool(
                self.puller.prepare,
                session_id,
                desired.image.digest,
                size=desired.image.size,
                progress=preparing.progress,
                cancelled=preparing.cancelled,
            )
        except Exception as exc:
            await run_in_threadpool(self.images.release, session_id)
            async with self._reconcile_lock:
                self._preparing.pop(session_id, None)
                if not isinstance(exc, PullCancelled) and session_id in self._wanted:
                    message = exc.message if isinstance(exc, ImageError) else str(exc)
                    log.warning("session %s: its image failed: %s", session_id, message)
                    self._failed[session_id] = _failed(
                        session_id, f"failed to pull the image: {message}"
                    )
            self._report_now.set()
            return
        image = ImageRoot.from_config(ensured.rootfs, ensured.config)
        async with self._reconcile_lock:
            self._preparing.pop(session_id, None)
            if session_id not in self._wanted:
                await run_in_threadpool(self.images.release, session_id)
                return
            known = {
                status.session_id: status for status in await run_in_threadpool(self.runtime.list)
            }
            spec = self._spec(desired, known, image=image)
            await run_in_threadpool(self._start, spec, _limits(desired))
            self._mounts[session_id] = _granted(desired)
        self._report_now.set()

    async def _follow_mounts(self, session_id: str, granted: _Granted) -> None:
        """A running session loses the folders, or the access, the manager no longer grants;
        its folders' limits are held from now on (shipyard.agent.quota).

        Asked of the runtime only when the wanted mounts changed since it was last asked
        (every running session once after an agent restart: the runtime knows what it has).
        """
        if self._mounts.get(session_id) == granted:
            return
        mounts, limits = granted
        try:
            await run_in_threadpool(self.quota.update_mounts, session_id, mounts, dict(limits))
        except Exception:  # retried at the next desired state; the others go on
            log.exception("session %s: its folders could not be brought in line", session_id)
            return
        self._mounts[session_id] = granted

    def _start(self, spec: SessionSpec, limits: dict[str, int]) -> None:
        """Start one session; a refusal is reported to the manager as a failed session.

        Folders over their limit, or on a disk under the reserve, start read-only.
        """
        if spec.gpus:
            self._remember_gpus(spec.session_id, spec.gpus)
        try:
            mounts = self.quota.prepare(spec.session_id, spec.mounts, limits)
            self.runtime.start(replace(spec, mounts=mounts))
        except Exception as exc:  # reported, never retried: the spec itself cannot run here
            self.quota.forget(spec.session_id)
            if spec.image is not None:
                self.images.release(spec.session_id)
            log.warning("session %s failed to start: %s", spec.session_id, exc)
            self._failed[spec.session_id] = _failed(spec.session_id, f"failed to start: {exc}")

    async def _retire(self, status: SessionStatus) -> None:
        if status.running:
            await run_in_threadpool(self.runtime.terminate, status.session_id)
        elif status.finished_at is not None and utcnow() - status.finished_at > KEEP_EXITED:
            await run_in_threadpool(self.runtime.remove, status.session_id)
            self._remember_gpus(status.session_id, ())
            # Its image may go now, least recently used first, should the store be full.
            await run_in_threadpool(self.images.release, status.session_id)
            await run_in_threadpool(self.images.collect)

    def _spec(
        self,
        desired: DesiredSession,
        known: dict[str, SessionStatus],
        *,
        image: ImageRoot | None = None,
    ) -> SessionSpec:
        env = dict(desired.env)
        if image is None or desired.path_prefix:  # else the image's PATH
            env["PATH"] = _path(desired.path_prefix)
        if desired.interpreter:
            env["SHIPYARD_PYTHON"] = desired.interpreter
        return SessionSpec(
            session_id=desired.session_id.hex,
            kind=desired.kind,
            command=argv(desired, image=image),
            env=env,
            cpu=Decimal(desired.cpu),
            mem=desired.mem,
            gpus=self._free_gpus(desired.gpus, known),
            mounts=_mounts(desired),
            uid=desired.uid,
            gid=desired.uid,
            user=desired.user,
            network=desired.network,
            network_allow=tuple(desired.network_allow),
            scratch=desired.scratch,
            ro_paths=environment_dirs(desired) if image is None else (),
            image=image,
        )

    def _free_gpus(self, count: int, known: dict[str, SessionStatus]) -> tuple[int, ...]:
        """Devices no running session holds; the choice is kept on disk across restarts."""
        if count <= 0:
            return ()
        assigned = self._assignments()
        used = {
            index
            for session_id, status in known.items()
            if status.running
            for index in assigned.get(session_id, [])
        }
        return tuple([gpu.index for gpu in self.gpus if gpu.index not in used][:count])

    def _assignments(self) -> dict[str, list[int]]:
        path = self.config.data_dir / "gpu-assignments.json"
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _remember_gpus(self, session_id: str, indices: tuple[int, ...]) -> None:
        assigned = self._assignments()
        if indices:
            assigned[session_id] = list(indices)
        else:
            assigned.pop(session_id, None)
        path = self.config.data_dir / "gpu-assignments.json"
        path.write_text(json.dumps(assigned), encoding="utf-8")


def environment_dirs(desired: DesiredSession) -> tuple[str, ...]:
    """Where the session's environment is installed, outside the system directories the
    sandbox shows anyway: the prefix of its interpreter (the directory above `bin/`), and
    of the interpreter it links to (a virtual environment's base)."""
    found: list[str] = []
    for path in (desired.interpreter, f"{desired.path_prefix}/python"):
        if not path.startswith("/"):
            continue
        for candidate in (path, os.path.realpath(path)):
            prefix = os.path.dirname(os.path.dirname(candidate))
            top = "/" + prefix.split("/")[1] if prefix.count("/") else prefix
            if prefix not in ("/", "") and top not in SYSTEM_DIRS and os.path.isdir(prefix):
                found.append(prefix)
    return tuple(dict.fromkeys(found))


def _mounts(desired: DesiredSession) -> tuple[Mount, ...]:
    """The session's folders, the owner's home first (named HOME)."""
    return tuple(
        Mount(source=Path(m.source), name=name, access=m.access) for name, m in _named(desired)
    )


def _named(desired: DesiredSession) -> list[tuple[str, DesiredMount]]:
    home = [(HOME, desired.home)] if desired.home is not None else []
    return [*home, *((m.name, m) for m in desired.mounts)]


def _limits(desired: DesiredSession) -> dict[str, int]:
    """The folders' size limits by name (bytes; folders without one left out)."""
    return {name: m.limit for name, m in _named(desired) if m.limit is not None}


def _granted(desired: DesiredSession) -> _Granted:
    return _mounts(desired), tuple(sorted(_limits(desired).items()))


def _path(prefix: str) -> str:
    return f"{prefix}:{BASE_PATH}" if prefix and prefix not in BASE_PATH.split(":") else BASE_PATH


def argv(desired: DesiredSession, *, image: ImageRoot | None = None) -> tuple[str, ...]:
    """What the session runs: bash for a terminal, a batch command through `sh -c`.

    With an environment interpreter, bash runs the batch command instead, with `python`
    defined as that interpreter (Debian has no plain `python`). A batch session without a
    command gets none, which the runtime refuses (reported as failed to start) unless its
    `image` has a default command. In an image without bash, /bin/sh stands in for it.
    """
    bash = image is None or in_image(image.rootfs, "/bin/bash") is not None
    if desired.kind == "interactive":
        return ("/bin/bash",) if bash else ("/bin/sh",)
    if desired.command is None:
        return ()
    if not desired.interpreter or not bash:
        return ("/bin/sh", "-c", desired.command)
    shim = f'python() {{ "{desired.interpreter}" "$@"; }}; export -f python 2>/dev/null; '
    return ("/bin/bash", "-c", shim + desired.command)


def _failed(session_id: str, error: str) -> SessionStatus:
    """A session that ended before it ran, with the reason."""
    now = utcnow()
    return SessionStatus(
        session_id=session_id,
        running=False,
        pid=None,
        exit_code=None,
        oom_killed=False,
        error=error[:255],
        started_at=now,
        finished_at=now,
    )


def _pulling(session_id: str, preparing: Preparing) -> dict[str, Any]:
    """A session whose image is still being pulled: neither running nor ended."""
    return {
        "session_id": _uuid(session_id),
        "running": False,
        "pulling": {"done": preparing.done, "total": max(preparing.total, preparing.done)},
    }


def _report(status: SessionStatus) -> dict[str, Any]:
    return {
        "session_id": str(_uuid(status.session_id)),
        "running": status.running,
        "exit_code": status.exit_code,
        "oom_killed": status.oom_killed,
        "error": status.error,
        "started_at": status.started_at.isoformat() if status.started_at else None,
        "finished_at": status.finished_at.isoformat() if status.finished_at else None,
    }


def _uuid(hex_id: str) -> str:
    return str(uuid.UUID(hex=hex_id))
