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
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.agent import cgroups as cgroups_module
from shipyard.agent import etc, folders, hostbin, network, sandbox, seccomp
from shipyard.agent.cgroups import CgroupChoice, CgroupSet
from shipyard.agent.runtime import home, procfs
from shipyard.agent.runtime.base import (
    NOT_EXECUTABLE_EXIT,
    NOT_FOUND_EXIT,
    UNKNOWN_EXIT,
    Enforcement,
    ImageRoot,
    Mount,
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
from shipyard.validation import parse_allow

SUPERVISOR_LOST = "supervisor lost"
_POLL = 0.005
#: uids a spec may ask for: above every system and ordinary login account
DEFAULT_UID_RANGE = (100000, 2**31 - 2)
DEFAULT_SCRATCH = 1024 * 1024 * 1024
NETWORK_TOOLS = ("slirp4netns", "nft", "nsenter", "unshare")


class ProcessRuntime(Runtime):
    """Runs sessions as sandboxed processes; state lives under `state_dir`.

    As root, sessions run as their spec's uid/gid, or `session_uid`/`session_gid` when it
    names none; a spec's uid must lie in `uid_range` (never root or a system account);
    not as root, sessions run as the agent's user. `bwrap` names the bubblewrap binary
    (None: none); without it sessions are refused unless `allow_unsandboxed`. Sessions'
    scratch space (their /home/work, or /tmp when the owner's home is mounted) is a tmpfs
    of `scratch` bytes unless their spec says otherwise. `cgroups` picks
    the hierarchy ("auto": v2 if it has the controllers, else v1, else rlimits only).
    Session cgroups are created under `<hierarchy>/<cgroup_root>/<session_id>`, at the
    hierarchy's top: sessions are not counted against whatever cgroup the agent itself runs in.
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
        uid_range: tuple[int, int] = DEFAULT_UID_RANGE,
        scratch: int = DEFAULT_SCRATCH,
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
        self._uid_range = uid_range
        self._scratch = scratch
        self._net_tools = {name: shutil.which(name) for name in NETWORK_TOOLS}
        self._etc_base = etc.prepare_base(self.state_dir) if self._bwrap else None
        self._hostbin: hostbin.HostBin | None = None
        self._hostbin_problem: str | None = None
        self._seccomp, self._seccomp_problem = (
            self._compile_filter() if self._bwrap else (None, None)
        )

    def _compile_filter(self) -> tuple[Path | None, str | None]:
        """The seccomp filter, compiled once for every session, in the state dir; or why not."""
        try:
            program = seccomp.session_filter()
        except SessionStartError as error:
            return None, error.message
        path = self.state_dir / "seccomp.bpf"
        staging = path.with_name(f".seccomp.{os.getpid()}")
        staging.write_bytes(program)
        staging.chmod(0o600)
        staging.rename(path)
        return path, None

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
        elif self._seccomp_problem:
            warnings.append(f"{self._seccomp_problem}: sessions are refused")
        if self._bwrap and self._uid is not None and shutil.which("bindfs") is None:
            warnings.append("bindfs is not installed: sessions with folders are refused")
        missing = [name for name, path in self._net_tools.items() if path is None]
        if self._bwrap and missing:
            warnings.append(
                f"{', '.join(missing)} not installed: sessions with outbound networking are "
                "refused (install slirp4netns and nftables)"
            )
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

    def _host_programs(self) -> hostbin.HostBin:
        """The host programs image sessions run (shipyard.agent.hostbin), made on first use."""
        if self._hostbin is None and self._hostbin_problem is None:
            try:
                self._hostbin = hostbin.prepare(
                    self.state_dir,
                    setpriv=self._setpriv or "setpriv",
                    busybox=shutil.which("busybox"),
                )
            except (hostbin.HostBinError, OSError) as error:
                self._hostbin_problem = f"host programs for image sessions: {error}"
        if self._hostbin is None:
            raise SessionStartError(self._hostbin_problem or "no host programs")
        return self._hostbin

    def _check_image(self, image: ImageRoot) -> None:
        """An image must be a directory only root (or, not as root, the agent) can change."""
        if not self._bwrap:
            raise SessionStartError("sessions in an image need bubblewrap on this agent")
        try:
            info = image.rootfs.lstat()
        except OSError:
            raise SessionStartError(f"the image {image.rootfs} is not on this agent") from None
        if not stat.S_ISDIR(info.st_mode):
            raise SessionStartError(f"the image {image.rootfs} is not a directory")
        if info.st_uid not in (0, os.geteuid()) or info.st_mode & 0o022:
            raise SessionStartError(
                f"the image {image.rootfs} can be changed by others than root: refused"
            )
        if self._uid is not None:
            self._host_programs()
        if not sandbox.image_has_shell(image.rootfs) and self._shell_for(image) is None:
            raise SessionStartError(
                "the image has no /bin/sh, and this agent has no busybox to run its sessions"
            )

    def _shell_for(self, image: ImageRoot) -> tuple[str, ...] | None:
        """The shell that loads the session's environment: the image's /bin/sh, else the
        host's busybox (None: neither)."""
        if sandbox.image_has_shell(image.rootfs):
            return ("/bin/sh",)
        if self._uid is None:  # no host programs are bound without a session uid
            return None
        return self._host_programs().shell

    def _check_can_run(self, spec: SessionSpec) -> None:
        if not self._bwrap and not self._allow_unsandboxed:
            raise SessionStartError(
                "bubblewrap (bwrap) is not installed on this agent, and running sessions "
                "without a sandbox is not allowed"
            )
        if self._bwrap and self._uid is not None and not self._setpriv:
            raise SessionStartError("setpriv (util-linux) is not installed on this agent")
        if self._seccomp_problem:
            raise SessionStartError(self._seccomp_problem)
        if spec.uid is not None or spec.gid is not None:
            low, high = self._uid_range
            ids = [i for i in (spec.uid, spec.gid) if i is not None]
            if not all(low <= i <= high or i == self._uid for i in ids):
                raise SessionStartError(
                    f"uid/gid {spec.uid}/{spec.gid} is outside this agent's range {low}-{high}"
                )
        for entry in spec.network_allow:
            try:
                parse_allow(entry)
            except ValueError as error:
                raise SessionStartError(f"network allow-list: {error}") from None
        for path in spec.ro_paths:
            if not os.path.isabs(path) or not os.path.isdir(path):
                raise SessionStartError(f"{path} is not a directory on this agent")
        for mount in spec.mounts:
            if not mount.source.is_dir():
                raise SessionStartError(f"folder {mount.name}: {mount.source} does not exist")
        if spec.image is not None:
            self._check_image(spec.image)

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
            uid, gid = self._ids(spec)
            if uid is not None and gid is not None:
                os.chown(staging.home, uid, gid)
            staging.log.touch(mode=0o600)
            etc.write(
                staging.etc,
                user=spec.user,
                uid=os.getuid() if uid is None else uid,
                gid=os.getgid() if gid is None else gid,
                hostname=sandbox.hostname(spec),
                outbound=spec.network == "outbound",
            )
            staging.cpu_online.write_text(_cpu_list(sandbox.cpu_count(spec)))
            staging.cpu_online.chmod(0o644)
            launch = self._plan(spec, session=session)
            created = now()
            record = {"spec": spec_to_json(spec), "launch": launch.to_json()}
            write_json(staging.spec_file, {**record, "created_at": created.isoformat()})
            problem = sandbox.resolve_problem(
                spec, env=launch.env, home=staging.home, sandboxed=self._bwrap is not None
            )
            if problem is not None:
                self._record_failed_start(staging, spec=spec, problem=problem, created=created)
            elif launch.home_size is not None:
                self._mount_home(staging, launch, tmp=any(m.home for m in spec.mounts))
            staging.root.rename(session.root)  # the home's mount moves with it
        except BaseException:
            home.unmount(staging.home)
            shutil.rmtree(staging.root, ignore_errors=True)
            raise
        if problem is None and spec.mounts and self._bwrap and launch.uid is not None:
            self._mount_folders(session, spec, launch)
        return problem is None

    @staticmethod
    def _mount_folders(session: SessionDir, spec: SessionSpec, launch: Launch) -> None:
        """Each folder through its own bindfs mount; on failure the session is undone."""
        try:
            folders.mount_all(session.root, spec.mounts, uid=launch.uid or 0, gid=launch.gid or 0)
        except BaseException:
            home.unmount(session.home)
            _remove_tree(session)
            raise

    @staticmethod
    def _mount_home(session: SessionDir, launch: Launch, *, tmp: bool) -> None:
        """The scratch tmpfs: the session's /home/work, or its /tmp (`tmp`, sticky)."""
        size, mode = launch.home_size or 0, 0o1777 if tmp else 0o755
        try:
            home.mount(session.home, size=size, uid=launch.uid, gid=launch.gid, mode=mode)
        except OSError as error:
            raise SessionStartError(f"the session's home could not be created: {error}") from None

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

    def _ids(self, spec: SessionSpec) -> tuple[int | None, int | None]:
        """The uid/gid the session runs as (None: the agent's own, when not root)."""
        if self._uid is None:
            return None, None
        if spec.uid is None:
            return self._uid, self._gid
        return spec.uid, spec.uid if spec.gid is None else spec.gid

    def _plan(self, spec: SessionSpec, *, session: SessionDir) -> Launch:
        """Everything the supervisor will do, decided here (see Launch)."""
        cgroup_set = self._cgroup_host.session(self._cgroup_root, spec.session_id)
        limits = (("RLIMIT_AS", spec.mem), ("RLIMIT_NPROC", spec.pids_max))
        rlimits = {name: value for name, value in limits if value} if cgroup_set is None else {}
        home = session.home
        env = sandbox.session_env(spec, home=str(sandbox.WORKDIR) if self._bwrap else str(home))
        uid, gid = self._ids(spec)
        slots: dict[str, int] = {}
        net: dict[str, Any] | None = None
        if self._bwrap and self._etc_base is not None:
            image = spec.image
            programs = self._host_programs() if image is not None and uid is not None else None
            paths = sandbox.SandboxPaths(
                home=home,
                etc_base=self._etc_base
                if image is None
                else etc.prepare_image_base(self.state_dir, image.rootfs),
                etc=session.etc,
                cpu_online=session.cpu_online,
                seccomp=self._seccomp,
                folders={
                    m.name: session.folders / (folders.WORK if m.home else m.name)
                    for m in spec.mounts
                    if uid is not None
                },
                hostbin=programs.directory if programs is not None else None,
            )
            setpriv = programs.setpriv if programs is not None else (self._setpriv or "setpriv",)
            argv, slots = sandbox.bwrap_argv(
                self._bwrap,
                spec,
                paths=paths,
                setpriv=setpriv,
                uid=uid,
                gid=gid,
                features=self._features,
                shell=(self._shell_for(image) if image else None) or ("/bin/sh",),
            )
            try:
                net = network.plan(spec.network, allow=spec.network_allow, tools=self._net_tools)
            except network.NetworkSetupError as error:
                raise SessionStartError(str(error)) from None
            if net is not None:  # bwrap starts in a network namespace of its own, bare
                prefix = [net["tools"]["unshare"], "--net", "--"]
                argv = [*prefix, *argv]
                slots = {name: index + len(prefix) for name, index in slots.items()}
        else:
            argv = list(spec.effective_command)
        return Launch(
            argv=tuple(argv),
            env=env,
            slots=slots,
            cwd=None if self._bwrap else str(home),
            interactive=spec.kind == "interactive",
            uid=uid,
            gid=gid,
            # In a sandbox setpriv drops privileges, inside it: bwrap needs them to set up.
            drop_privileges=uid is not None and not self._bwrap,
            cgroups=cgroup_set.to_json() if cgroup_set else None,
            rlimits=rlimits,
            network=net,
            seccomp=str(self._seccomp) if self._seccomp and self._bwrap else None,
            home_size=(spec.scratch or self._scratch) if self._bwrap and uid is not None else None,
            cpus=tuple(sandbox.cpu_set(spec)),
            workdir=(spec.image.workdir or None) if spec.image is not None else None,
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
        """The status of a session that exists, once it is past starting: its supervisor is
        up and, for a sandbox with a gate, its command let go (sandbox.pid written)."""
        gated = bool(_record(session)["launch"].get("slots"))

        def settled() -> bool:
            status = self._status_of(session)
            if not status.running:
                return True
            return status.pid is not None and (not gated or session.sandbox_pid_file.exists())

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
        folders.unmount_all(session.root)  # nobody is left to use them
        home.unmount(session.home)
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
        Interactive sessions are hung up first, as when a terminal closes: SIGHUP with
        SIGCONT (what the kernel sends on a hang-up: a stopped shell could not act on the
        SIGHUP), again every second until they end, and SIGTERM a moment after the first
        (bash, sent both at once, may take only the SIGTERM, which it ignores). bwrap's own
        processes are spared: its monitor would die of SIGTERM and take the command down
        with SIGKILL before it could shut down cleanly.
        """
        session = self._known(session_id)
        if not self._await_running(session).running:
            return
        tree = self._tree(session)
        if self._spec_of(session).kind == "interactive":
            plan = [
                (0.0, signal.SIGHUP),
                (0.0, signal.SIGCONT),
                (min(1.0, grace / 2), signal.SIGTERM),
            ]
            again = {signal.SIGHUP, signal.SIGCONT}
        else:
            plan, again = [(0.0, signal.SIGTERM)], set()
        began = time.monotonic()
        sent: set[tuple[int, int, int]] = set()  # (pid, signal, round: whole seconds if again)

        def ended() -> bool:
            elapsed = time.monotonic() - began
            due = [signum for at, signum in plan if elapsed >= at]
            pids = tree.pids()
            for pid, signum in itertools.product(pids - self._bwrap_pids(pids), due):
                key = (pid, signum, int(elapsed) if signum in again else 0)
                if key not in sent:
                    sent.add(key)
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
        folders.unmount_all(session.root)
        home.unmount(session.home)
        _remove_tree(session)

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

    def update_mounts(self, session_id: str, mounts: Sequence[Mount]) -> None:
        """See Runtime.update_mounts: shipyard.agent.folders.apply, on the session's sandbox.

        The sandbox's first process (sandbox.pid) names its mount namespace; a pid that is
        not in a namespace of its own (gone, or not started yet) is not used.
        """
        session = self._known(session_id)
        if not self._status_of(session).running:
            return
        pid = procfs.read_pid(session.sandbox_pid_file)
        try:
            own = os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        except OSError:
            own = False
        folders.apply(session.root, sandbox_pid=pid if own else None, wanted=mounts)


def _remove_tree(session: SessionDir) -> None:
    """Delete a session's directory, but never through a mount still in it (a folder's
    bindfs mount, its home): a recursive delete there would reach into the user's data."""
    prefix = f"{session.root}/"
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    left = [p for p in points if p.startswith(prefix) or p == str(session.root)]
    if left:
        raise SessionStateError(f"session {session.session_id} still has mounts: {left[0]}")
    shutil.rmtree(session.root)


def _cpu_list(count: int) -> str:
    """/sys/devices/system/cpu/online's form for `count` CPUs: "0" or "0-3"."""
    return "0\n" if count == 1 else f"0-{count - 1}\n"


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
