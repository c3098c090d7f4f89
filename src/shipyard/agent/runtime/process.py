"""ProcessRuntime: sessions as sandboxed process trees, each under its own supervisor.

The runtime decides everything about a session up front (sandbox argv, environment,
cgroups, rlimits, uid) and writes it to the session's spec.json; a detached supervisor
(shipyard.agent.supervisor) carries it out and records the end in status.json. The
runtime itself keeps no state that matters: any ProcessRuntime on the same state dir sees
the same sessions, which is how a restarted agent re-adopts them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.agent import cgroups as cgroups_module
from shipyard.agent import sandbox
from shipyard.agent.cgroups import CgroupChoice, CgroupSet
from shipyard.agent.runtime import procfs
from shipyard.agent.runtime.base import (
    NOT_EXECUTABLE_EXIT,
    NOT_FOUND_EXIT,
    UNKNOWN_EXIT,
    Enforcement,
    Runtime,
    SessionNotFound,
    SessionSpec,
    SessionStartError,
    SessionStateError,
    SessionStatus,
    SessionUsage,
    check_spec,
    is_session_id,
)
from shipyard.agent.runtime.records import exit_from_json, spec_from_json, spec_to_json
from shipyard.agent.runtime.state import (
    SUPERVISOR_MODULE,
    Launch,
    SessionDir,
    exit_to_json,
    now,
    read_json,
    write_json,
)

SUPERVISOR_LOST = "supervisor lost"
_POLL = 0.005


class ProcessRuntime(Runtime):
    """Runs sessions as sandboxed processes; state lives under `state_dir`.

    As root, sessions run as `session_uid`/`session_gid`; otherwise as the agent's user.
    `bwrap` names the bubblewrap binary (None: none); without it sessions are refused
    unless `allow_unsandboxed`. `cgroups` picks the hierarchy ("auto": v2 if it has the
    controllers, else v1, else rlimits only). Session cgroups are created under
    `<hierarchy>/<cgroup_root>/<session_id>`, at the hierarchy's top: sessions are not
    counted against whatever cgroup the agent itself runs in.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        session_uid: int = 65534,
        session_gid: int = 65534,
        allow_unsandboxed: bool = False,
        cgroup_root: str = "shipyard",
        bwrap: str | None = "bwrap",
        cgroups: CgroupChoice = "auto",
        start_timeout: float = 10.0,
    ) -> None:
        self.state_dir = state_dir.absolute()
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        is_root = os.geteuid() == 0
        self._uid = session_uid if is_root else None
        self._gid = session_gid if is_root else None
        self._bwrap = shutil.which(bwrap) if bwrap else None
        self._setpriv = shutil.which("setpriv") if is_root else None
        self._features = sandbox.bwrap_features(self._bwrap) if self._bwrap else frozenset()
        self._allow_unsandboxed = allow_unsandboxed
        self._cgroup_host = cgroups_module.discover(cgroups)
        self._cgroup_root = cgroup_root
        self._start_timeout = start_timeout
        self._start_lock = threading.Lock()

    # -- what this machine enforces ------------------------------------------------------

    def enforcement(self) -> Enforcement:
        version = self._cgroup_host.version
        return Enforcement(
            sandbox="bubblewrap" if self._bwrap else "none",
            cgroups=version,
            rlimits=version == "none",
            session_uid=self._uid,
            warnings=tuple(self._warnings()),
        )

    def _warnings(self) -> list[str]:
        warnings = []
        if not self._bwrap:
            warnings.append(
                "bubblewrap is not installed: sessions run unsandboxed and see the host's "
                "files, processes and network"
                if self._allow_unsandboxed
                else "bubblewrap is not installed: sessions are refused"
            )
        elif self._uid is not None and not self._setpriv:
            warnings.append("setpriv (util-linux) is not installed: sessions are refused")
        elif self._uid is None and "--disable-userns" not in self._features:
            warnings.append("bubblewrap older than 0.8: sessions may create user namespaces")
        if self._cgroup_host.version == "none":
            warnings.append(
                "no usable cgroups: memory is capped per process (RLIMIT_AS), processes per "
                "user (RLIMIT_NPROC, shared by all sessions), and CPU is not capped"
            )
        if self._uid is None:
            warnings.append("the agent is not root: sessions run as the agent's own user")
        if sandbox.gpu_nodes():
            warnings.append(
                "GPUs are assigned by CUDA_VISIBLE_DEVICES: a session given any GPU can open "
                "the device files of all of them"
            )
        return warnings

    # -- starting ------------------------------------------------------------------------

    def start(self, spec: SessionSpec) -> SessionStatus:
        check_spec(spec)
        session = self._dir(spec.session_id)
        with self._start_lock:
            runnable = not session.root.exists() and self._prepare(spec, session)
        return self._launch(session) if runnable else self._await_running(session)

    def _check_can_run(self, spec: SessionSpec) -> None:
        if not self._bwrap and not self._allow_unsandboxed:
            raise SessionStartError(
                "bubblewrap (bwrap) is not installed on this agent, and running sessions "
                "without a sandbox is not allowed"
            )
        if self._bwrap and self._uid is not None and not self._setpriv:
            raise SessionStartError("setpriv (util-linux) is not installed on this agent")
        for mount in spec.mounts:
            if not mount.source.is_dir():
                raise SessionStartError(f"folder {mount.name}: {mount.source} does not exist")

    def _prepare(self, spec: SessionSpec, session: SessionDir) -> bool:
        """Create the session's directory atomically: complete, or not at all.

        Returns whether to start its supervisor: not when the command cannot run, as the
        session then has its status.json already. Raises SessionStartError (leaving
        nothing) when this agent cannot run the spec.
        """
        self._check_can_run(spec)
        staging = SessionDir(self.state_dir / f".staging-{spec.session_id}-{os.getpid()}")
        staging.root.mkdir(mode=0o700)
        try:
            # 0755: bwrap enters it as root without capabilities. Only the sandbox sees
            # it: on the host, the state dir (0700) keeps everyone else out.
            staging.home.mkdir(mode=0o755)
            staging.home.chmod(0o755)
            if self._uid is not None and self._gid is not None:
                os.chown(staging.home, self._uid, self._gid)
            staging.log.touch(mode=0o600)
            launch = self._plan(spec, home=session.home)
            created = now()
            record = {"spec": spec_to_json(spec), "launch": launch.to_json()}
            write_json(staging.spec_file, {**record, "created_at": created.isoformat()})
            problem = sandbox.resolve_problem(
                spec, env=launch.env, home=staging.home, sandboxed=self._bwrap is not None
            )
            if problem is not None:
                self._record_failed_start(staging, spec=spec, problem=problem, created=created)
            staging.root.rename(session.root)
        except BaseException:
            shutil.rmtree(staging.root, ignore_errors=True)
            raise
        return problem is None

    @staticmethod
    def _record_failed_start(
        session: SessionDir, *, spec: SessionSpec, problem: str, created: datetime
    ) -> None:
        code = NOT_FOUND_EXIT if problem.startswith("not found") else NOT_EXECUTABLE_EXIT
        failed = exit_to_json(
            session_id=spec.session_id,
            exit_code=code,
            oom_killed=False,
            error=f"failed to start: command {problem}",
            started_at=created,
            finished_at=now(),
        )
        write_json(session.status_file, failed)

    def _plan(self, spec: SessionSpec, *, home: Path) -> Launch:
        """Everything the supervisor will do, decided here (see Launch)."""
        cgroup_set = self._cgroup_host.session(self._cgroup_root, spec.session_id)
        limits = (("RLIMIT_AS", spec.mem), ("RLIMIT_NPROC", spec.pids_max))
        rlimits = {name: value for name, value in limits if value} if cgroup_set is None else {}
        env = sandbox.session_env(spec, home=str(sandbox.WORKDIR) if self._bwrap else str(home))
        loader_index: int | None = None
        if self._bwrap:
            argv, loader_index = sandbox.bwrap_argv(
                self._bwrap,
                spec,
                home=home,
                setpriv=self._setpriv,
                uid=self._uid,
                gid=self._gid,
                features=self._features,
            )
        else:
            argv = list(spec.command)
        return Launch(
            argv=tuple(argv),
            env=env,
            loader_index=loader_index,
            cwd=None if self._bwrap else str(home),
            interactive=spec.kind == "interactive",
            uid=self._uid,
            gid=self._gid,
            # In a sandbox setpriv drops privileges, inside it: bwrap needs them to set up.
            drop_privileges=self._uid is not None and not self._bwrap,
            cgroups=cgroup_set.to_json() if cgroup_set else None,
            rlimits=rlimits,
        )

    def _launch(self, session: SessionDir) -> SessionStatus:
        """Start the supervisor detached and wait until it reports the command running."""
        ready_read, ready_write = os.pipe()
        try:
            intermediate = self._spawn_supervisor(session, ready_write=ready_write)
            os.close(ready_write)
            ready_write = -1
            readable, _, _ = select.select([ready_read], [], [], self._start_timeout)
            reported = bool(readable) and os.read(ready_read, 64) != b""
            _reap(intermediate, timeout=self._start_timeout)
        finally:
            os.close(ready_read)
            if ready_write >= 0:
                os.close(ready_write)
        status = self._status_of(session)
        if reported or not status.running:
            return status
        # A supervisor that did not report in time must not run on unseen.
        for pid in procfs.supervisors(session.session_id):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        reason = "exited at once" if readable else f"did not report within {self._start_timeout}s"
        return self._record_lost(
            session,
            started_at=status.started_at,
            error=f"failed to start: the supervisor {reason} (see {session.supervisor_log.name})",
        )

    def _spawn_supervisor(
        self, session: SessionDir, *, ready_write: int
    ) -> subprocess.Popen[bytes]:
        """Start `python -m shipyard.agent.supervisor`; it forks the supervisor and exits.

        -P and the session's directory as working directory: nothing but our own package
        can be imported by the supervisor, which runs as root.
        """
        argv = [sys.executable, "-P", "-m", SUPERVISOR_MODULE, str(session.root)]
        with session.supervisor_log.open("ab") as errors:
            intermediate = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*argv, "--ready-fd", str(ready_write)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                pass_fds=(ready_write,),
                cwd=session.root,
                start_new_session=True,
            )
        return intermediate

    def _await_running(self, session: SessionDir) -> SessionStatus:
        """The status of a session that exists, once it is past starting."""

        def settled() -> bool:
            status = self._status_of(session)
            return status.pid is not None or not status.running

        _wait(settled, timeout=self._start_timeout)
        return self._status_of(session)

    # -- observing -----------------------------------------------------------------------

    def status(self, session_id: str) -> SessionStatus | None:
        if not is_session_id(session_id) or not self._dir(session_id).spec_file.exists():
            return None
        return self._status_of(self._dir(session_id))

    def list(self) -> list[SessionStatus]:
        return [
            self._status_of(SessionDir(path))
            for path in self.state_dir.iterdir()
            if is_session_id(path.name) and (path / "spec.json").exists()
        ]

    def _status_of(self, session: SessionDir) -> SessionStatus:
        """Exited (status.json), running (live supervisor), starting, or lost."""
        ended = read_json(session.status_file)
        if ended is not None:
            return exit_from_json(ended)
        started_at = datetime.fromisoformat(_record(session)["created_at"])
        pid = procfs.read_pid(session.pid_file)
        alive = pid is not None and procfs.is_supervisor(pid, session.session_id)
        starting = pid is None and (now() - started_at).total_seconds() < self._start_timeout
        if alive or starting:
            return SessionStatus(
                session_id=session.session_id,
                running=True,
                pid=pid,
                exit_code=None,
                oom_killed=False,
                error=None,
                started_at=started_at,
                finished_at=None,
            )
        return self._record_lost(session, started_at=started_at, error=SUPERVISOR_LOST)

    def _record_lost(
        self, session: SessionDir, *, started_at: datetime, error: str
    ) -> SessionStatus:
        """The supervisor is gone without a word: say so for good, and kill what is left.

        A status.json the supervisor wrote meanwhile wins over this one.
        """
        cgroup_set = self._cgroups_of(session)
        if cgroup_set is not None:
            cgroup_set.kill()
        lost = exit_to_json(
            session_id=session.session_id,
            exit_code=UNKNOWN_EXIT,
            oom_killed=cgroup_set is not None and cgroup_set.oom_kills() > 0,
            error=error,
            started_at=started_at,
            finished_at=now(),
        )
        write_json(session.status_file, lost, replace=False)
        return exit_from_json(read_json(session.status_file) or lost)

    def read_logs(
        self, session_id: str, *, offset: int = 0, limit: int = 65536
    ) -> tuple[bytes, int]:
        session = self._known(session_id)
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit cannot be negative")
        with session.log.open("rb") as log:
            log.seek(offset)
            data = log.read(limit)
        return data, offset + len(data)

    def terminal_socket(self, session_id: str) -> Path:
        session = self._known(session_id)
        if self._spec_of(session).kind != "interactive":
            raise SessionStateError(f"session {session_id} is a batch session: it has no terminal")
        if not self._status_of(session).running:
            raise SessionStateError(f"session {session_id} has ended: its terminal is closed")
        return session.socket

    def usage(self, session_id: str) -> SessionUsage:
        cgroup_set = self._cgroups_of(self._known(session_id))
        if cgroup_set is None:
            return SessionUsage(cpu_seconds=None, mem_bytes=None)
        return SessionUsage(cpu_seconds=cgroup_set.cpu_seconds(), mem_bytes=cgroup_set.mem_bytes())

    # -- ending --------------------------------------------------------------------------

    def terminate(self, session_id: str, *, grace: float = 5.0) -> None:
        """See Runtime.terminate.

        Every process of the session gets SIGTERM, and so does any that appears during the
        grace period: a session terminated while starting has not exec'd its command yet.
        Interactive sessions get SIGHUP first, as when a terminal closes, and SIGTERM a
        moment later (bash, sent both at once, may take only the SIGTERM, which it
        ignores). bwrap's own processes are spared: its monitor would die of SIGTERM and
        take the command down with SIGKILL before it could shut down cleanly.
        """
        session = self._known(session_id)
        if not self._await_running(session).running:
            return
        tree = self._tree(session)
        if self._spec_of(session).kind == "interactive":
            plan = [(0.0, signal.SIGHUP), (min(1.0, grace / 2), signal.SIGTERM)]
        else:
            plan = [(0.0, signal.SIGTERM)]
        began = time.monotonic()
        sent: set[tuple[int, int]] = set()  # (pid, signal)

        def ended() -> bool:
            due = [signum for at, signum in plan if time.monotonic() - began >= at]
            pids = tree.pids()
            for pid, signum in itertools.product(pids - self._bwrap_pids(pids), due):
                if (pid, signum) not in sent:
                    sent.add((pid, signum))
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)
            return not self._status_of(session).running

        if not _wait(ended, timeout=grace):
            tree.kill()
        _wait(lambda: not self._status_of(session).running, timeout=self._start_timeout)

    def _tree(self, session: SessionDir) -> procfs.ProcessTree:
        cgroup_set = self._cgroups_of(session)
        if cgroup_set is not None:
            return cgroup_set
        return procfs.Descendants(procfs.read_pid(session.pid_file))

    def _bwrap_pids(self, pids: set[int]) -> frozenset[int]:
        if not self._bwrap:
            return frozenset()
        bwrap = os.path.realpath(self._bwrap)
        return frozenset(pid for pid in pids if procfs.exe(pid) == bwrap)

    def remove(self, session_id: str) -> None:
        session = self._known(session_id)
        if self._status_of(session).running:
            raise SessionStateError(f"session {session_id} is running: terminate it first")
        cgroup_set = self._cgroups_of(session)
        if cgroup_set is not None:
            cgroup_set.remove()
        shutil.rmtree(session.root)

    # -- helpers -------------------------------------------------------------------------

    def _dir(self, session_id: str) -> SessionDir:
        return SessionDir(self.state_dir / session_id)

    def _known(self, session_id: str) -> SessionDir:
        if not is_session_id(session_id) or not self._dir(session_id).spec_file.exists():
            raise SessionNotFound(session_id)
        return self._dir(session_id)

    @staticmethod
    def _spec_of(session: SessionDir) -> SessionSpec:
        return spec_from_json(_record(session)["spec"])

    @staticmethod
    def _cgroups_of(session: SessionDir) -> CgroupSet | None:
        data = _record(session)["launch"]["cgroups"]
        return CgroupSet.from_json(data) if data else None


def _reap(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _record(session: SessionDir) -> dict[str, Any]:
    record = read_json(session.spec_file)
    if record is None:
        raise SessionNotFound(session.session_id)
    return record


def _wait(condition: Callable[[], bool], *, timeout: float) -> bool:
    """Poll `condition` until it holds or `timeout` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL)
    return True
