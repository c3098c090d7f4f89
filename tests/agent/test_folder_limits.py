"""Folder size limits and the disk reserve hold for what sessions write (issue 12, finding 8).

Real sandboxed sessions (ProcessRuntime, folders through bindfs) started by the agent daemon
from a desired state that carries each folder's limit, and the daemon's real watcher
(shipyard.agent.quota): a session writing past its folder's limit is stopped within
`MARGIN`, and so is one filling the disk that holds the folder past the reserve.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipyard.agent.daemon import AgentConfig, AgentDaemon
from shipyard.agent.runtime.base import FolderAccess
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agent.usage import FolderUsage, Unwatchable, Watches, measure
from shipyard.agents.schemas import DesiredMount, DesiredSession, DesiredState
from tests.agent.conftest import RuntimeFactory
from tests.agent.helpers import MiB, all_logs, wait_exited, wait_for

STORAGE = 65534  # the storage owner: folders' files belong to it on disk
UID = 200001  # the session's user
LIMIT = 10 * MiB
#: What a session may write past a limit (or into a reserve) before it is stopped: the
#: watcher aborts the folder's FUSE connection on the first event past it. Writes run at
#: ~700 MB/s through bindfs here; what got through is printed by each test.
MARGIN = 16 * MiB
#: Shell: wait until writing into the folder fails as read-only (10 s at most); say so.
READ_ONLY_PROBE = (
    "n=0; until touch data/probe 2>&1 | grep -q 'Read-only file system'; do "
    "n=$((n+1)); [ $n -gt 200 ] && break; sleep 0.05; done; "
    "touch data/probe 2>&1 | grep -q 'Read-only file system' && echo now=read-only; "
)


def make_folder(path: Path, *files: str) -> Path:
    """A folder directory as the manager makes it: everything the storage owner's."""
    path.mkdir(mode=0o755)
    os.chown(path, STORAGE, STORAGE)
    for name in files:
        (path / name).write_text(f"{name} of the owner\n")
        os.chown(path / name, STORAGE, STORAGE)
    return path


def on_disk(path: Path) -> int:
    """Bytes the tree takes on disk, as `du` counts them."""
    done = subprocess.run(
        ["du", "-s", "--block-size=1", str(path)], capture_output=True, check=True
    )
    return int(done.stdout.split()[0])


class Agent:
    """The agent daemon on a real runtime; sessions come from desired states."""

    def __init__(self, daemon: AgentDaemon, runtime: ProcessRuntime) -> None:
        self.daemon = daemon
        self.runtime = runtime
        self.sessions: list[DesiredSession] = []

    def restarted(self) -> Agent:
        """A new agent daemon on the same sessions, as after a restart of the agent."""
        self.daemon.quota.stop()
        daemon = AgentDaemon(self.daemon.config, self.runtime)
        again = Agent(daemon, self.runtime)
        again.sessions = self.sessions
        asyncio.run(daemon.reconcile(DesiredState(version=1, sessions=self.sessions)))
        return again

    def start(self, command: str, *mounts: DesiredMount) -> str:
        session = DesiredSession(
            session_id=uuid.uuid4(),
            kind="batch",
            command=command,
            env={},
            interpreter="",
            path_prefix="",
            cpu="1",
            mem=0,
            gpus=0,
            mounts=list(mounts),
            uid=UID,
            user="work",
            network="none",
            network_allow=[],
            scratch=16 * MiB,
        )
        self.sessions.append(session)
        state = DesiredState(version=len(self.sessions), sessions=self.sessions)
        asyncio.run(self.daemon.reconcile(state))
        return session.session_id.hex

    def run(self, command: str, *mounts: DesiredMount) -> str:
        """Run a session to its end; what it printed."""
        session_id = self.start(command, *mounts)
        status = wait_exited(self.runtime, session_id, timeout=60)
        output = all_logs(self.runtime, session_id).decode()
        assert status.error is None, output
        return output


@pytest.fixture
def agent(tmp_path: Path, make_runtime: RuntimeFactory) -> Iterator[Callable[..., Agent]]:
    made: list[Agent] = []

    def make(*, reserve: int = 0) -> Agent:
        runtime = make_runtime()
        config = AgentConfig(
            "http://127.0.0.1:9", "sya_unused", tmp_path / "agent", disk_reserve=reserve
        )
        made.append(Agent(AgentDaemon(config, runtime), runtime))
        return made[-1]

    yield make
    for node in made:  # before the runtime's sessions are ended and removed
        node.daemon.quota.stop()


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    root.mkdir(mode=0o755)
    return root


def folder(
    source: Path, *, name: str = "data", access: FolderAccess = "rw", limit: int | None = LIMIT
) -> DesiredMount:
    return DesiredMount(source=str(source), name=name, access=access, limit=limit)


def overshoot(used: int, limit: int, what: str) -> int:
    past = max(0, used - limit)
    print(f"{what}: {used / MiB:.1f} MiB on disk, {past / MiB:.1f} MiB past the limit")
    return past


# -- measuring ---------------------------------------------------------------------------


def test_the_measured_usage_follows_every_change_and_no_link(tmp_path: Path) -> None:
    """What inotify reports keeps the count equal to `du`'s through creates, writes,
    truncates, renames of files and directories, deletes, and a directory swapped for a
    link to /usr (never followed); a folder with more directories than may be held open is
    refused (the watcher then walks it now and then)."""
    root = tmp_path / "folder"
    (root / "a" / "deep").mkdir(parents=True)
    (root / "a" / "deep" / "x").write_bytes(b"x" * 300_000)
    watches = Watches(max_dirs=64)
    tree = FolderUsage(root, watches=watches)

    def settle() -> int:
        for _ in range(3):
            for event in watches.notify.read():
                owner = watches.owner.get(event.wd)
                if owner is not None:
                    owner.handle(event)
            tree.end_batch()
            tree.step(100)
        return tree.used

    try:
        assert settle() == on_disk(root) == measure(root)
        (root / "b").mkdir()
        (root / "b" / "y").write_bytes(b"y" * 500_000)
        (root / "a").rename(root / "b" / "a2")  # a directory moves, its files with it
        (root / "b" / "y").rename(root / "y")
        os.truncate(root / "y", 1000)
        (root / "c").mkdir()
        (root / "c" / "z").write_bytes(b"z" * 200_000)
        (root / "c" / "z").unlink()
        (root / "c").rmdir()
        (root / "b" / "a2" / "deep").rename(root / "deep-moved")
        (root / "b" / "a2").rmdir()
        (root / "b").rename(root / "b.old")
        (root / "b").symlink_to("/usr")
        assert settle() == on_disk(root) == measure(root)
        for number in range(70):
            (root / f"d{number}").mkdir()
        with pytest.raises(Unwatchable):
            settle()
    finally:
        tree.close()
        watches.close()


# -- folder limits ------------------------------------------------------------------------


def test_a_session_writing_past_its_folder_limit_is_stopped_within_the_margin(
    agent: Callable[..., Agent], storage: Path
) -> None:
    node = agent()
    data = make_folder(storage / "f", "notes.txt")

    output = node.run(
        "dd if=/dev/zero of=data/big bs=1M count=72 2>/dev/null || echo dd=failed; "
        + READ_ONLY_PROBE
        + "cat data/notes.txt",
        folder(data),
    )

    assert "dd=failed" in output, output
    assert "now=read-only" in output, output
    assert "notes.txt of the owner" in output  # still read
    assert overshoot(on_disk(data), LIMIT, "dd bs=1M") <= MARGIN


def test_many_small_files_are_stopped_within_the_margin(
    agent: Callable[..., Agent], storage: Path
) -> None:
    node = agent()
    data = make_folder(storage / "f")
    limit = 4 * MiB

    output = node.run(
        "i=0; while [ $i -lt 4000 ]; do printf '%8192s' '' > data/f$i 2>/dev/null || break; "
        "i=$((i+1)); done; echo made=$i; " + READ_ONLY_PROBE,
        folder(data, limit=limit),
    )

    made = int(output.split("made=")[1].split()[0])
    assert made < 4000, output  # 4000 files of 8 KiB would take 31 MiB
    assert "now=read-only" in output, output
    assert overshoot(on_disk(data), limit, f"{made} files of 8 KiB") <= MARGIN


def test_every_session_with_the_folder_writable_loses_write_and_new_ones_start_read_only(
    agent: Callable[..., Agent], storage: Path
) -> None:
    node = agent()
    data = make_folder(storage / "f", "notes.txt")
    idle = node.start(
        "touch data/idle; echo started; " + READ_ONLY_PROBE + "cat data/notes.txt",
        folder(data, access="full"),
    )
    wait_for((data / "idle").exists, what="the idle session to write")

    node.run(
        "dd if=/dev/zero of=data/big bs=1M count=40 >/dev/null 2>&1 || echo dd=failed", folder(data)
    )
    wait_exited(node.runtime, idle, timeout=30)
    idle_output = all_logs(node.runtime, idle).decode()
    later = node.run(
        "echo x > data/later; echo wrote=$?; cat data/notes.txt", folder(data, access="full")
    )

    assert "now=read-only" in idle_output, idle_output
    assert "notes.txt of the owner" in idle_output
    assert "Read-only file system" in later, later
    assert "wrote=2" in later
    assert "notes.txt of the owner" in later
    assert not (data / "later").exists()


def test_a_folder_over_its_limit_starts_read_only(
    agent: Callable[..., Agent], storage: Path
) -> None:
    node = agent()
    data = make_folder(storage / "f", "notes.txt")
    (data / "big").write_bytes(b"\1" * (LIMIT + MiB))

    output = node.run("echo x > data/new; echo wrote=$?; cat data/notes.txt", folder(data))

    assert "Read-only file system" in output, output
    assert "wrote=2" in output
    assert not (data / "new").exists()


def test_a_folder_without_a_limit_is_not_touched(
    agent: Callable[..., Agent], storage: Path
) -> None:
    node = agent()
    limited = make_folder(storage / "limited")
    free = make_folder(storage / "free")

    output = node.run(
        "dd if=/dev/zero of=data/big bs=1M count=40 >/dev/null 2>&1 || echo limited=stopped; "
        "dd if=/dev/zero of=free/big bs=1M count=40 >/dev/null 2>&1 && echo free=written",
        folder(limited),
        folder(free, name="free", limit=None),
    )

    assert "limited=stopped" in output, output
    assert "free=written" in output, output
    assert (free / "big").stat().st_size == 40 * MiB


def test_a_session_adopted_after_an_agent_restart_is_held_to_the_limit(
    agent: Callable[..., Agent], storage: Path
) -> None:
    """The new agent learns the session's folders and limits from the desired state; what
    the session has now (mounts.json) says whether its folder may be aborted."""
    first = agent()
    data = make_folder(storage / "f", "notes.txt")
    session_id = first.start(
        "while [ ! -e data/go ]; do sleep 0.02; done; "
        "dd if=/dev/zero of=data/big bs=1M count=200 2>/dev/null || echo dd=failed; "
        + READ_ONLY_PROBE
        + "cat data/notes.txt",
        folder(data),
    )
    node = first.restarted()

    (data / "go").touch()
    wait_exited(node.runtime, session_id, timeout=60)
    output = all_logs(node.runtime, session_id).decode()

    assert "dd=failed" in output, output
    assert "now=read-only" in output, output
    assert "notes.txt of the owner" in output
    assert overshoot(on_disk(data), LIMIT, "dd bs=1M, adopted session") <= MARGIN


def test_a_folder_the_session_has_read_only_already_keeps_being_read(
    agent: Callable[..., Agent], storage: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Lowered to read-only in place (the manager's downgrade, nothing open for writing),
    granted rw again: still read-only in the session, which an agent started since cannot
    tell from the desired state. Going over the limit must not abort what it reads."""
    first = agent()
    data = make_folder(storage / "f", "notes.txt")
    loop = (
        "while [ ! -e data/stop ]; do "
        "cat data/notes.txt >/dev/null 2>&1 && echo read=ok || echo read=fail; sleep 0.05; done"
    )
    session_id = first.start(loop, folder(data))
    granted = first.sessions[0]
    lowered = granted.model_copy(update={"mounts": [folder(data, access="ro")]})
    asyncio.run(first.daemon.reconcile(DesiredState(version=2, sessions=[lowered])))
    node = first.restarted()  # told rw again

    (data / "big").write_bytes(b"\1" * (LIMIT + MiB))
    wait_for(lambda: "read-only now" in caplog.text, what="the folder to be found over its limit")
    (data / "stop").touch()
    wait_exited(node.runtime, session_id, timeout=30)
    output = all_logs(node.runtime, session_id).decode()

    assert "read=ok" in output
    assert "read=fail" not in output, output


# -- the disk reserve ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB filesystem (tmpfs) of its own, for folders to fill."""
    path = tmp_path / "disk"
    path.mkdir()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"tmpfs", bytes(path), b"tmpfs", 0, b"size=64m,mode=0755") != 0:
        raise OSError(ctypes.get_errno(), "cannot mount a tmpfs for the test")
    yield path
    with contextlib.suppress(OSError):
        libc.umount2(bytes(path), 2)


def test_writes_stop_before_the_disk_reserve(agent: Callable[..., Agent], small_disk: Path) -> None:
    reserve = 48 * MiB
    node = agent(reserve=reserve)
    data = make_folder(small_disk / "f", "notes.txt")

    output = node.run(
        "dd if=/dev/zero of=data/big bs=1M count=72 2>/dev/null || echo dd=failed; "
        + READ_ONLY_PROBE
        + "cat data/notes.txt",
        folder(data, limit=None),
    )

    assert "dd=failed" in output, output
    assert "now=read-only" in output, output
    assert "notes.txt of the owner" in output
    disk = os.statvfs(small_disk)
    used = (disk.f_blocks - disk.f_bfree) * disk.f_frsize
    assert overshoot(used, 64 * MiB - reserve, "into the reserve") <= MARGIN
