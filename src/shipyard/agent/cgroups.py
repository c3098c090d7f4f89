"""Per-session cgroups: memory, CPU and process limits, OOM detection and whole-tree kill.

Each session gets `<hierarchy>/<root>/<session_id>` in every hierarchy used:
- v2, where the unified hierarchy offers the memory, cpu and pids controllers: one
  directory with memory.max (+ memory.swap.max = 0), cpu.max, pids.max; memory.events
  counts OOM kills; cgroup.kill kills the tree.
- v1 otherwise: one directory per controller (memory, cpu, cpuacct, pids) with
  memory.limit_in_bytes (+ memory.memsw.limit_in_bytes, same value, so swap cannot dodge
  the limit), cpu.cfs_quota_us / cpu.cfs_period_us, pids.max; memory.oom_control counts
  OOM kills. A v2 hierarchy without controllers, where mounted, is joined too: its
  cgroup.kill kills the whole tree in one write.

The directories are chosen when a session starts and stored with it (`CgroupSet.to_json`),
so a restarted agent finds them even if its own configuration changed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple

CgroupVersion = Literal["v2", "v1", "none"]
CgroupChoice = Literal["auto", "v2", "v1", "none"]

CPU_PERIOD_US = 100_000
_V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
_REQUIRED = frozenset({"memory", "cpu", "pids"})
_UNIFIED = "unified"


class Limits(NamedTuple):
    """What to cap; 0 means no cap."""

    mem: int
    cpu: Decimal
    pids: int


class CgroupHost(NamedTuple):
    """The cgroup hierarchies this machine offers: version and where each one is mounted."""

    version: CgroupVersion
    mounts: dict[str, Path]

    def session(self, root: str, session_id: str) -> CgroupSet | None:
        """The cgroups a session with this id would get (nothing is created yet)."""
        if self.version == "none":
            return None
        dirs = {name: mount / root / session_id for name, mount in self.mounts.items()}
        return CgroupSet(version=self.version, dirs=dirs)


def discover(choice: CgroupChoice = "auto") -> CgroupHost:
    """Find usable (mounted, writable, with the needed controllers) hierarchies.

    "auto" prefers v2, then v1, then none; naming a version that is not usable raises
    ValueError.
    """
    v1: dict[str, Path] = {}
    v2: Path | None = None
    for mount, fstype, options in _cgroup_mounts():
        if fstype == "cgroup2":
            v2 = mount
        else:
            v1.update({name: mount for name in _V1_CONTROLLERS if name in options})
    v2_ok = v2 is not None and _controllers(v2) >= _REQUIRED and os.access(v2, os.W_OK)
    v1_ok = v1.keys() >= _REQUIRED and all(os.access(path, os.W_OK) for path in v1.values())
    if choice in {"auto", "v2"} and v2_ok and v2 is not None:
        return CgroupHost(version="v2", mounts={_UNIFIED: v2})
    if choice in {"auto", "v1"} and v1_ok:
        if v2 is not None and os.access(v2, os.W_OK):
            v1[_UNIFIED] = v2
        return CgroupHost(version="v1", mounts=v1)
    if choice in {"auto", "none"}:
        return CgroupHost(version="none", mounts={})
    raise ValueError(f"cgroup {choice} with memory, cpu and pids controllers is not available")


def _cgroup_mounts() -> list[tuple[Path, str, set[str]]]:
    found = []
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            _, point, fstype, options, *_ = line.split()
            if fstype in {"cgroup", "cgroup2"}:
                found.append((Path(point), fstype, set(options.split(","))))
    return found


def _controllers(mount: Path) -> set[str]:
    try:
        return set((mount / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


class CgroupSet(NamedTuple):
    """The cgroup directories of one session, keyed by controller ("unified" for v2)."""

    version: CgroupVersion
    dirs: dict[str, Path]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "dirs": {k: str(v) for k, v in self.dirs.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CgroupSet:
        return cls(version=data["version"], dirs={k: Path(v) for k, v in data["dirs"].items()})

    def _unique_dirs(self) -> list[Path]:
        return list(dict.fromkeys(self.dirs.values()))

    def create(self, limits: Limits) -> None:
        """Create the directories and write the limits (an existing one is reused)."""
        if self.version == "v2":
            _enable_v2_controllers(self.dirs[_UNIFIED])
        for path in self._unique_dirs():
            path.mkdir(parents=True, exist_ok=True)
        if self.version == "v2":
            self._limit_v2(self.dirs[_UNIFIED], limits)
        else:
            self._limit_v1(limits)

    @staticmethod
    def _limit_v2(path: Path, limits: Limits) -> None:
        if limits.mem:
            _write(path / "memory.max", limits.mem)
            _write_if_present(path / "memory.swap.max", 0)
        quota = _cpu_quota(limits.cpu)
        _write(path / "cpu.max", f"{quota if quota > 0 else 'max'} {CPU_PERIOD_US}")
        _write(path / "pids.max", limits.pids or "max")

    def _limit_v1(self, limits: Limits) -> None:
        memory = self.dirs["memory"]
        if limits.mem:
            _write(memory / "memory.limit_in_bytes", limits.mem)
            _write_if_present(memory / "memory.memsw.limit_in_bytes", limits.mem)
        cpu = self.dirs["cpu"]
        _write(cpu / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(cpu / "cpu.cfs_quota_us", _cpu_quota(limits.cpu))
        _write(self.dirs["pids"] / "pids.max", limits.pids or "max")

    def join(self, pid: int) -> None:
        """Move process `pid` into every directory (call before it starts any child)."""
        for path in self._unique_dirs():
            _write(path / "cgroup.procs", pid)

    def pids(self) -> set[int]:
        """Every process now in the session's cgroups."""
        found: set[int] = set()
        for path in self._unique_dirs():
            try:
                found.update(int(line) for line in (path / "cgroup.procs").read_text().split())
            except FileNotFoundError:
                continue
        return found

    def signal(self, signum: int, *, skip: frozenset[int] = frozenset()) -> None:
        """Send `signum` to every process in the cgroups except those in `skip`."""
        for pid in self.pids() - skip:
            _kill(pid, signum)

    def kill(self, *, timeout: float = 5.0) -> bool:
        """SIGKILL every process, repeating until none is left; False if some survive."""
        kill_file = self.dirs[_UNIFIED] / "cgroup.kill" if _UNIFIED in self.dirs else None
        deadline = time.monotonic() + timeout
        while True:
            if kill_file is not None and kill_file.exists():
                _write(kill_file, 1)
            self.signal(signal.SIGKILL)
            if not self.pids():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def oom_kills(self) -> int:
        """How many processes the kernel killed for lack of memory within the limit."""
        if self.version == "v2":
            return _key_value(self.dirs[_UNIFIED] / "memory.events").get("oom_kill", 0)
        memory = self.dirs["memory"]
        control = _key_value(memory / "memory.oom_control")
        if "oom_kill" in control:
            return control["oom_kill"]
        # Kernels before 4.13 do not count kills; hitting the limit is the best sign left.
        return 1 if _read_int(memory / "memory.failcnt") else 0

    def cpu_seconds(self) -> float | None:
        """CPU time used by the session's processes, live or gone."""
        if self.version == "v2":
            usec = _key_value(self.dirs[_UNIFIED] / "cpu.stat").get("usage_usec")
            return None if usec is None else usec / 1e6
        if "cpuacct" not in self.dirs:
            return None
        nsec = _read_int(self.dirs["cpuacct"] / "cpuacct.usage")
        return None if nsec is None else nsec / 1e9

    def mem_bytes(self) -> int | None:
        name = "memory.current" if self.version == "v2" else "memory.usage_in_bytes"
        return _read_int(self.dirs[_UNIFIED if self.version == "v2" else "memory"] / name)

    def remove(self, *, timeout: float = 5.0) -> None:
        """Delete the directories, retrying while the kernel still reports them busy."""
        deadline = time.monotonic() + timeout
        for path in self._unique_dirs():
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    self.kill(timeout=0)
                    time.sleep(0.01)


def _cpu_quota(cpu: Decimal) -> int:
    """cfs quota in µs per period for `cpu` cores; -1 (no cap) for 0; at least 1 ms."""
    if cpu <= 0:
        return -1
    return max(1000, int(cpu * CPU_PERIOD_US))


def _enable_v2_controllers(session_dir: Path) -> None:
    """Let the session's parent and grandparent hand memory, cpu and pids down."""
    parent = session_dir.parent
    parent.mkdir(exist_ok=True)
    for path in (parent.parent, parent):
        _write(path / "cgroup.subtree_control", "+memory +cpu +pids")


def _write(path: Path, value: object) -> None:
    with path.open("w") as file:
        file.write(str(value))


def _write_if_present(path: Path, value: object) -> None:
    if path.exists():
        _write(path, value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _key_value(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.split() for line in lines)
    return {pair[0]: int(pair[1]) for pair in pairs if len(pair) == 2 and pair[1].isdigit()}


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
