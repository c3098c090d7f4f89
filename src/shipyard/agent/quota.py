"""Folder size limits and a disk reserve that hold for what sessions write (issue 12).

The manager refuses uploads past a folder's limit, but sessions write into their folders
directly, through their bindfs mounts (shipyard.agent.folders). So the agent measures: one
watcher per agent, a thread, follows every folder that a running session here has writable
(`rw` or `full`): a walk first, then inotify on every directory, each change costing one
lstat (shipyard.agent.usage). Once a folder's bytes on disk pass its limit, every session
here that has it writable gets it read-only: its FUSE connection is aborted at once (writes
fail from then on), then `Runtime.update_mounts` mounts it anew read-only (reads work again
a few tens of milliseconds later). Writable folders on a filesystem whose free space falls
under the reserve go read-only the same way, so no session fills the disk that holds the
database: free space is looked at after every batch of events and every `POLL` seconds.

What gets written between the limit and the abort is the margin: about 1 MiB for writes at
~700 MB/s through bindfs (tests/agent/test_folder_limits.py prints what it measured). A
session that starts with a folder over its limit, or on a disk under the reserve, gets it
read-only from the start. A folder back under its limit is not given back to running
sessions: the next session has it writable again.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import resource
import select
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from shipyard.agent import folders, inotify
from shipyard.agent.runtime.base import ACCESS_LEVELS, Mount, Runtime, SessionNotFound
from shipyard.agent.usage import FolderUsage, Unwatchable, Watches, measure

log = logging.getLogger(__name__)

#: the reserve when none is configured: the smaller of these two
DEFAULT_RESERVE = 2 * 2**30
RESERVE_SHARE = 0.05
POLL = 0.05  # seconds between looks at free space when nothing happens
STEP = 256  # directories walked between two reads of events
RESCAN = 2.0  # seconds between walks of a folder that inotify cannot follow
PREPARE_TIMEOUT = 60.0  # the longest a session's start waits for its folders' first walk
WRITABLE = ("rw", "full")


@dataclass
class _Session:
    """A session as the watcher follows it: its folders (as granted, never more than it
    started with), their limits by name, and the folders lowered here."""

    mounts: tuple[Mount, ...]
    limits: dict[str, int]
    lowered: set[str] = field(default_factory=set)

    def writable(self) -> list[Mount]:
        return [m for m in self.mounts if m.access in WRITABLE and m.name not in self.lowered]

    def clamped(self) -> tuple[Mount, ...]:
        """Its folders with those lowered here read-only."""
        return tuple(replace(m, access="ro") if m.name in self.lowered else m for m in self.mounts)


@dataclass(frozen=True)
class _Reading:
    """A folder's bytes on disk; `complete` once its first walk has ended."""

    used: int
    complete: bool


class QuotaWatcher:
    """Holds folder limits and the disk reserve in this agent's running sessions.

    The daemon tells it each session's folders and their limits: `prepare` before a start
    (it returns the folders to start with), `update_mounts` instead of the runtime's for a
    running session, `forget` once the session is gone. `reserve` is in bytes (None: the
    smaller of 2 GiB and 5 % of each filesystem). Its thread runs while some session has a
    writable folder; `stop` ends it for good.
    """

    def __init__(self, runtime: Runtime, *, reserve: int | None = None, poll: float = POLL):
        self.runtime = runtime
        self.reserve = reserve
        self.poll = poll
        self._changed = threading.Condition()  # guards everything below but `_apply`
        self._apply = threading.Lock()  # one change to a session's mounts at a time
        self._sessions: dict[str, _Session] = {}
        self._readings: dict[str, _Reading] = {}  # by source, as of the thread's last round
        self._thread: threading.Thread | None = None
        self._wake: int | None = None  # the write end of the thread's wake-up pipe
        self._stopped = False

    # -- what the daemon calls -----------------------------------------------------------

    def prepare(
        self, session_id: str, mounts: Sequence[Mount], limits: Mapping[str, int]
    ) -> tuple[Mount, ...]:
        """Follow a session about to start; the folders it starts with: read-only where
        the folder is over its limit or its disk under the reserve. Waits for the first
        walk of its limited folders (at most PREPARE_TIMEOUT seconds)."""
        session = _Session(mounts=tuple(mounts), limits=dict(limits))
        sources = {str(m.source) for m in session.writable() if m.name in session.limits}
        with self._changed:
            self._sessions[session_id] = session
            self._run_thread()
            done = self._changed.wait_for(
                lambda: self._stopped or all(self._complete(source) for source in sources),
                timeout=PREPARE_TIMEOUT,
            )
            readings = dict(self._readings)
        if not done:
            log.warning("session %s starts before its folders are measured", session_id)
        full = self._full_disks(session.writable())
        with self._changed:
            for mount in session.writable():
                reading = readings.get(str(mount.source))
                limit = session.limits.get(mount.name)
                over = reading is not None and limit is not None and reading.used > limit
                if over or str(mount.source) in full:
                    session.lowered.add(mount.name)
            return session.clamped()

    def update_mounts(
        self, session_id: str, mounts: Sequence[Mount], limits: Mapping[str, int]
    ) -> None:
        """`Runtime.update_mounts` for a running session, with what the manager grants now;
        folders lowered here stay read-only."""
        with self._apply:
            with self._changed:
                session = self._follow(session_id, tuple(mounts), dict(limits))
                clamped = session.clamped()
                self._run_thread()
            self.runtime.update_mounts(session_id, clamped)

    def forget(self, session_id: str) -> None:
        """The session has ended, or is no longer wanted here (returns once no lowering of
        its folders is under way)."""
        with self._apply, self._changed:
            if self._sessions.pop(session_id, None) is not None:
                self._poke()

    def stop(self) -> None:
        """End the thread; nothing is followed from now on."""
        with self._changed:
            self._stopped = True
            thread = self._thread
            self._poke()
            self._changed.notify_all()
        if thread is not None:
            thread.join(timeout=10)

    def _follow(
        self, session_id: str, mounts: tuple[Mount, ...], limits: dict[str, int]
    ) -> _Session:
        old = self._sessions.get(session_id)
        if old is None:  # started before this agent did: taken as the manager says
            session = _Session(mounts=mounts, limits=limits)
        else:
            have = _lowered_to(old.mounts, mounts)
            kept = old.lowered & {m.name for m in have}
            session = _Session(mounts=have, limits=limits, lowered=kept)
        self._sessions[session_id] = session
        return session

    def _complete(self, source: str) -> bool:
        reading = self._readings.get(source)
        return reading is not None and reading.complete

    # -- the thread ----------------------------------------------------------------------

    def _run_thread(self) -> None:
        """Start the thread if some session has a writable folder and none runs (lock held)."""
        if self._stopped or self._thread is not None or not self._has_work():
            self._poke()
            return
        wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake = wake[1]
        self._thread = threading.Thread(
            target=self._main, args=wake, name="shipyard-quota", daemon=True
        )
        self._thread.start()

    def _has_work(self) -> bool:
        return not self._stopped and any(s.writable() for s in self._sessions.values())

    def _poke(self) -> None:
        if self._wake is not None:
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake, b"\0")

    def _main(self, wake_read: int, wake_write: int) -> None:
        measured: _Measured | None = None
        try:
            while sessions := self._work():
                try:
                    measured = measured or _Measured()
                    self._round(measured, sessions, wake_read)
                except Exception:
                    log.exception("the folder size watcher failed; it starts over")
                    if measured is not None:
                        measured.close()
                        measured = None
                    time.sleep(self.poll)
        finally:
            if measured is not None:
                measured.close()
            with self._changed:
                if self._thread is threading.current_thread():
                    self._thread = None
                if self._wake == wake_write:
                    self._wake = None
                os.close(wake_read)
                os.close(wake_write)
                self._changed.notify_all()

    def _work(self) -> dict[str, _Session]:
        """The sessions to follow in the next round; none: the thread ends (lock taken)."""
        with self._changed:
            if not self._has_work():
                self._readings = {}
                self._thread = None
                return {}
            return {sid: replace(s, lowered=set(s.lowered)) for sid, s in self._sessions.items()}

    def _round(self, measured: _Measured, sessions: dict[str, _Session], wake: int) -> None:
        """Follow the folders wanted now, take in what changed, and lower what must be."""
        followed = _followed(sessions)
        measured.follow(followed)
        limits = {source: limit for source, limit in followed.items() if limit is not None}
        walking = measured.walk()
        ready = select.poll()
        ready.register(measured.watches.notify.fd, select.POLLIN)
        ready.register(wake, select.POLLIN)
        ready.poll(0 if walking else self.poll * 1000)
        with contextlib.suppress(BlockingIOError):
            os.read(wake, 4096)
        measured.read()
        readings = measured.readings()
        with self._changed:
            self._readings = readings
            self._changed.notify_all()
        self._enforce(sessions, limits, readings)

    # -- lowering ------------------------------------------------------------------------

    def _enforce(
        self, sessions: dict[str, _Session], limits: dict[str, int], readings: dict[str, _Reading]
    ) -> None:
        over = {s: r.used for s, r in readings.items() if s in limits and r.used > limits[s]}
        full = self._full_disks([m for s in sessions.values() for m in s.writable()])
        due: dict[str, dict[str, str]] = {}  # session -> folder name -> why
        for session_id, session in sessions.items():
            for mount in session.writable():
                source = str(mount.source)
                if source in over:
                    why = f"{over[source]} bytes on disk, over its limit of {limits[source]}"
                    due.setdefault(session_id, {})[mount.name] = why
                elif source in full:
                    due.setdefault(session_id, {})[mount.name] = full[source]
        if due:
            self._lower(due)

    def _lower(self, due: dict[str, dict[str, str]]) -> None:
        """Stop writes in each session's folders at once, then mount them read-only.

        Only folders a session still has writable now: the round's view may be older than
        a start (`prepare`) or a change the manager asked for.
        """
        with self._apply:
            with self._changed:
                live = {sid: self._sessions.get(sid) for sid in due}
                due = {sid: _still(live[sid], reasons) for sid, reasons in due.items()}
            for session_id, reasons in due.items():
                session = live[session_id]
                if session is not None and reasons:
                    _stop_writes(session_id, reasons)
            for session_id, reasons in due.items():
                session = live[session_id]
                if session is not None and reasons:
                    self._lower_one(session_id, session, reasons)

    def _lower_one(self, session_id: str, session: _Session, reasons: dict[str, str]) -> None:
        with self._changed:
            wanted = replace(session, lowered=session.lowered | set(reasons)).clamped()
        try:
            self.runtime.update_mounts(session_id, wanted)
        except SessionNotFound:
            return  # not started yet: the next round
        except Exception:
            log.exception("session %s: folders %s could not be made read-only", session_id, reasons)
        with self._changed:
            session.lowered.update(reasons)
        for name, why in reasons.items():
            log.warning("session %s: folder %s has %s: read-only now", session_id, name, why)

    def _full_disks(self, mounts: Collection[Mount]) -> dict[str, str]:
        """Sources on a filesystem with less free space than the reserve, and why."""
        found = {}
        for source in {str(m.source) for m in mounts}:
            try:
                disk = os.statvfs(source)
            except OSError:
                continue
            free = disk.f_bavail * disk.f_frsize
            reserve = self.reserve
            if reserve is None:
                reserve = min(DEFAULT_RESERVE, int(disk.f_blocks * disk.f_frsize * RESERVE_SHARE))
            if free < reserve:
                found[source] = f"{free} bytes free on its disk, under the reserve of {reserve}"
        return found


class _Measured:
    """The thread's folders, by source: each followed by inotify, or, when it cannot be
    (`Unwatchable`), walked now and then if it has a limit (else free space alone counts).
    Folders without a limit are followed too: their events wake the look at free space."""

    def __init__(self) -> None:
        self.watches = Watches(max_dirs=_max_dirs())
        self.trees: dict[str, FolderUsage] = {}
        self.walked: dict[str, tuple[int, float]] = {}  # unwatchable: bytes, when measured
        self.limited: set[str] = set()

    def follow(self, limits: Mapping[str, int | None]) -> None:
        """Follow these folders (source -> limit), and no others."""
        self.limited = {source for source, limit in limits.items() if limit is not None}
        for source in set(self.trees) - set(limits):
            self.trees.pop(source).close()
        for source in set(self.walked) - set(limits):
            del self.walked[source]
        for source in set(limits) - set(self.trees) - set(self.walked):
            self._start(source)

    def _start(self, source: str) -> None:
        try:
            self.trees[source] = FolderUsage(Path(source), watches=self.watches)
        except Unwatchable as problem:
            self._give_up(source, problem)
        except OSError as error:  # gone, say: nothing to hold (its session cannot start)
            log.warning("folder %s cannot be measured: %s", source, error.strerror)
            self.walked[source] = (0, time.monotonic())

    def _give_up(self, source: str, problem: Unwatchable) -> None:
        """Walk the folder now and then instead: inotify cannot follow it."""
        tree = self.trees.pop(source, None)
        if tree is not None:
            tree.close()
        log.warning("%s; measured every %s s instead (if it has a limit)", problem, RESCAN)
        self.walked[source] = (0, 0.0)

    def walk(self) -> bool:
        """Walk folders not walked yet, about STEP directories in all; whether any is left."""
        walking = [(source, tree) for source, tree in self.trees.items() if not tree.walked]
        share = max(16, STEP // max(1, len(walking)))
        for source, tree in walking:
            self._guarded(source, functools.partial(tree.step, share))
        return any(not tree.walked for tree in self.trees.values())

    def read(self) -> None:
        """Take in every event waiting."""
        for event in self.watches.notify.read():
            if event.mask & inotify.IN_Q_OVERFLOW:  # events were lost: walk everything anew
                log.warning("inotify queue overflow: every folder is measured anew")
                for tree in self.trees.values():
                    tree.close()
                self.trees.clear()
                return
            owner = self.watches.owner.get(event.wd)
            if owner is not None:
                self._guarded(str(owner.path), functools.partial(owner.handle, event))
        for source, tree in list(self.trees.items()):
            self._guarded(source, tree.end_batch)

    def _guarded(self, source: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Unwatchable as problem:
            self._give_up(source, problem)

    def readings(self) -> dict[str, _Reading]:
        found = {source: _Reading(t.used, t.walked) for source, t in self.trees.items()}
        now = time.monotonic()
        for source in self.limited & set(self.walked):
            if now - self.walked[source][1] >= RESCAN:
                with contextlib.suppress(OSError):
                    self.walked[source] = (measure(Path(source)), now)
            used, measured_at = self.walked[source]
            found[source] = _Reading(used, measured_at > 0)
        return found

    def close(self) -> None:
        for tree in self.trees.values():
            tree.close()
        self.trees.clear()
        self.watches.close()


def _followed(sessions: dict[str, _Session]) -> dict[str, int | None]:
    """Each writable folder's limit by source (the lowest, should sessions disagree)."""
    found: dict[str, int | None] = {}
    for session in sessions.values():
        for mount in session.writable():
            limit, source = session.limits.get(mount.name), str(mount.source)
            known = found.get(source)
            found[source] = limit if known is None else min(known, limit or known)
    return found


def _still(session: _Session | None, reasons: dict[str, str]) -> dict[str, str]:
    """The folders among `reasons` that the session has writable now."""
    if session is None:
        return {}
    writable = {mount.name for mount in session.writable()}
    return {name: why for name, why in reasons.items() if name in writable}


def _lowered_to(have: tuple[Mount, ...], wanted: tuple[Mount, ...]) -> tuple[Mount, ...]:
    """What a session has after `update_mounts(wanted)`: nothing added, nothing raised."""
    by_name = {m.name: m for m in have}
    kept = []
    for mount in wanted:
        before = by_name.get(mount.name)
        if before is None or before.source != mount.source:
            continue
        lower = min(before.access, mount.access, key=ACCESS_LEVELS.index)
        kept.append(replace(mount, access=lower))
    return tuple(kept)


def _stop_writes(session_id: str, names: Collection[str]) -> None:
    """Abort the FUSE connections of the session's folders `names` that it has writable
    (as its mounts.json says): every access through them fails at once, until
    shipyard.agent.folders mounts them anew. One it has read-only already is left alone:
    nothing would mount it anew."""
    for mounted in _fuse_mounts({f"/{session_id}/{folders.MOUNTS}/{name}" for name in names}):
        has = {mount.name: mount.access for mount in folders.applied(mounted.path.parent.parent)}
        if has.get(mounted.path.name) in WRITABLE:
            folders.abort(mounted)


def _fuse_mounts(ends: set[str]) -> list[folders.Mounted]:
    """The FUSE mounts whose mount point ends with one of `ends` (a session's folders are
    mounted at <state dir>/<session id>/mounts/<name>)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_bytes().splitlines():
        fields = line.split()
        fstype = fields[fields.index(b"-") + 1].decode()
        point = os.fsdecode(fields[4])
        if fstype.startswith("fuse") and any(point.endswith(end) for end in ends):
            major, minor = fields[2].split(b":")
            found.append(
                folders.Mounted(path=Path(point), fstype=fstype, major=int(major), minor=int(minor))
            )
    return found


def _max_dirs() -> int:
    """Directories the watcher may hold open: half the descriptors this process may have."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(64, soft // 2) if soft != resource.RLIM_INFINITY else 1 << 20
