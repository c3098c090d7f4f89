"""Folder rules in sessions (issue 12): what a share allows through the API holds in a
session. Real bindfs mounts (shipyard.agent.folders), commands run as a session uid against
them, and sandboxed processes (bubblewrap, built here as the runtime does) whose access is
revoked or lowered while they run, files held open included.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipyard.agent import folders
from shipyard.agent.daemon import AgentConfig, AgentDaemon
from shipyard.agent.runtime.base import FolderAccess, Mount, SessionStartError, check_spec
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agent.runtime.records import spec_from_json, spec_to_json
from shipyard.agents.schemas import DesiredMount, DesiredSession, DesiredState
from tests.agent.conftest import RuntimeFactory
from tests.agent.doubles import FakeRuntime
from tests.agent.helpers import all_logs, make_spec

STORAGE = 65534  # the storage owner: folders' files belong to it on disk
UID = 200001  # the session's user
OK = "read=ok held=ok write=ok delete=ok"
DEADLINE = 5.0  # issue 12: a revoke or downgrade reaches a running session within 5 s
SETPRIV = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]


def wait_for(condition: Callable[[], Any], *, timeout: float = DEADLINE, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return value


def as_session(command: str, *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`command` in a shell as the session's uid (no groups), in `cwd`."""
    return subprocess.run(
        [*SETPRIV, "sh", "-c", command], cwd=cwd, capture_output=True, text=True, check=False
    )


def bindfs_processes(session_root: Path) -> list[int]:
    """Live (not zombie) bindfs processes serving this session's folders."""
    label = f"{folders.FSNAME_PREFIX}{session_root.name}:".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if b"bindfs" in cmdline and label in cmdline and state != b"Z":
            found.append(int(entry))
    return found


def make_folder(path: Path, *files: str) -> Path:
    """A folder directory as the manager makes it: everything the storage owner's."""
    path.mkdir(mode=0o755)
    os.chown(path, STORAGE, STORAGE)
    for name in files:
        (path / name).write_text(f"{name} of the owner\n")
        os.chown(path / name, STORAGE, STORAGE)
    return path


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    root.mkdir(mode=0o755)
    return root


@pytest.fixture
def session_roots(tmp_path: Path) -> Iterator[Callable[[], Path]]:
    """Session directories (0700, as the runtime makes them); unmounted after the test."""
    made: list[Path] = []

    def make() -> Path:
        root = tmp_path / "sessions" / uuid.uuid4().hex
        root.mkdir(mode=0o700, parents=True)
        made.append(root)
        return root

    yield make
    for root in made:
        folders.unmount_all(root)


@pytest.fixture
def session_root(session_roots: Callable[[], Path]) -> Path:
    return session_roots()


def mount_one(session_root: Path, source: Path, access: FolderAccess) -> Path:
    mounted = folders.mount_all(
        session_root, [Mount(source=source, name="data", access=access)], uid=UID, gid=UID
    )
    return mounted["data"]


# -- what each level allows --------------------------------------------------------------


def test_a_read_only_folder_is_read_but_never_written(storage: Path, session_root: Path) -> None:
    data = mount_one(session_root, make_folder(storage / "f", "notes.txt"), "ro")

    read = as_session("cat notes.txt && stat -c %u:%g notes.txt", cwd=data)
    write = as_session("echo more >> notes.txt", cwd=data)
    create = as_session("touch new.txt", cwd=data)
    delete = as_session("rm notes.txt", cwd=data)

    assert read.returncode == 0, read.stderr
    assert read.stdout == f"notes.txt of the owner\n{UID}:{UID}\n"  # the session's own files
    for refused in (write, create, delete):
        assert refused.returncode != 0
        assert "Read-only file system" in refused.stderr
    assert sorted(os.listdir(storage / "f")) == ["notes.txt"]


def test_rw_creates_writes_and_renames_but_cannot_delete(storage: Path, session_root: Path) -> None:
    folder = make_folder(storage / "f", "notes.txt", "old.txt")
    (folder / "sub").mkdir()
    os.chown(folder / "sub", STORAGE, STORAGE)
    data = mount_one(session_root, folder, "rw")

    made = as_session(
        "echo mine > mine.txt && echo more >> notes.txt && mv old.txt kept.txt", cwd=data
    )
    remove = as_session("rm notes.txt", cwd=data)
    remove_own = as_session("rm mine.txt", cwd=data)
    remove_dir = as_session("rmdir sub", cwd=data)

    assert made.returncode == 0, made.stderr
    assert (folder / "notes.txt").read_text() == "notes.txt of the owner\nmore\n"
    for refused in (remove, remove_own, remove_dir):
        assert refused.returncode != 0
        assert "Operation not permitted" in refused.stderr
    assert sorted(os.listdir(folder)) == ["kept.txt", "mine.txt", "notes.txt", "sub"]
    # What the session makes belongs to the storage owner on disk, like the manager's files.
    mine = (folder / "mine.txt").stat()
    assert (mine.st_uid, mine.st_gid) == (STORAGE, STORAGE)


def test_full_access_deletes(storage: Path, session_root: Path) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    data = mount_one(session_root, folder, "full")

    done = as_session("rm notes.txt && mkdir d && rmdir d && echo x > y && rm y", cwd=data)

    assert done.returncode == 0, done.stderr
    assert os.listdir(folder) == []


def test_a_session_cannot_chown_or_plant_setuid_files(storage: Path, session_root: Path) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    data = mount_one(session_root, folder, "full")

    chown = as_session("chown 0 notes.txt", cwd=data)
    setuid = as_session("cp /bin/true t && chmod u+s t && ls -ln t", cwd=data)

    assert chown.returncode != 0
    assert (folder / "notes.txt").stat().st_uid == STORAGE
    assert setuid.returncode == 0, setuid.stderr
    planted = (folder / "t").stat()
    assert planted.st_uid == STORAGE  # setuid to nobody at most, never to root
    assert "nosuid" in mount_options(data)


def mount_options(path: Path) -> str:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if line.split()[4] == str(path):
            return line.split()[5]
    raise AssertionError(f"{path} is not mounted")


# -- bindfs is kept inside its folder -----------------------------------------------------


def test_a_symlink_swap_race_reaches_nothing_outside_the_folder(
    storage: Path, session_roots: Callable[[], Path]
) -> None:
    """Two sessions of one user mount the same folder; through one, a directory is swapped
    for a symlink to another folder again and again, through the other it is read. bindfs
    runs as root and works by path: unconfined it follows the symlink on the host and
    serves the other folder's files as the session's own (seen here within a few tries)."""
    folder = make_folder(storage / "shared")
    secret_dir = make_folder(storage / "someone-else")
    (secret_dir / "secret").write_text("not yours\n")
    os.chown(secret_dir / "secret", STORAGE, STORAGE)
    (secret_dir / "secret").chmod(0o600)
    secret_dir.chmod(0o700)
    first = mount_one(session_roots(), folder, "full")
    second = mount_one(session_roots(), folder, "full")
    (second / "d").mkdir()
    for_4s = "end=$(( $(date +%s) + 4 )); while [ $(date +%s) -lt $end ]; do"
    swap = f"{for_4s} mv d d.real; ln -s {secret_dir} d; rm d; mv d.real d; done"
    swapper = subprocess.Popen([*SETPRIV, "sh", "-c", swap], cwd=second)

    try:
        raced = as_session(
            f"{for_4s} ls d >/dev/null 2>&1; cat d/secret 2>/dev/null && exit 7; done; exit 0",
            cwd=first,
        )
    finally:
        swapper.wait()

    assert "not yours" not in raced.stdout
    assert raced.returncode == 0, raced.stdout + raced.stderr
    assert sorted(os.listdir(folder)) == ["d"]


# -- mounting and unmounting --------------------------------------------------------------


def test_mount_all_is_all_or_nothing(storage: Path, session_root: Path) -> None:
    good = make_folder(storage / "good", "a")
    wanted = [
        Mount(source=good, name="good", access="full"),
        Mount(source=storage / "missing", name="missing", access="ro"),
    ]

    with pytest.raises(SessionStartError) as refused:
        folders.mount_all(session_root, wanted, uid=UID, gid=UID)

    assert refused.value.message.startswith("folder missing: ")
    assert folders.mounts_under(session_root) == []
    assert not (session_root / folders.MOUNTS).exists()
    wait_for(lambda: not bindfs_processes(session_root), what="the good folder's bindfs ends")


def test_a_folder_owned_by_root_is_refused(storage: Path, session_root: Path) -> None:
    rooted = storage / "rooted"
    rooted.mkdir()

    with pytest.raises(SessionStartError) as refused:
        mount_one(session_root, rooted, "full")

    assert "belongs to root" in refused.value.message
    assert folders.mounts_under(session_root) == []


def test_without_bindfs_folders_are_refused(
    storage: Path, session_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "chroot").symlink_to("/usr/sbin/chroot")
    monkeypatch.setenv("PATH", str(tools))

    with pytest.raises(SessionStartError) as refused:
        mount_one(session_root, make_folder(storage / "f"), "ro")

    assert refused.value.message == (
        "bindfs is not installed on this agent: folders cannot be mounted"
    )


def test_unmount_all_leaves_no_mount_and_no_bindfs(storage: Path, session_root: Path) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    folders.mount_all(
        session_root,
        [Mount(source=folder, name="a", access="ro"), Mount(source=folder, name="b", access="rw")],
        uid=UID,
        gid=UID,
    )
    assert len(bindfs_processes(session_root)) == 2

    folders.unmount_all(session_root)
    folders.unmount_all(session_root)  # idempotent

    assert folders.mounts_under(session_root) == []
    assert not (session_root / folders.MOUNTS).exists()
    assert sorted(os.listdir(session_root)) == []
    wait_for(lambda: not bindfs_processes(session_root), what="every bindfs ends")
    assert (folder / "notes.txt").read_text() == "notes.txt of the owner\n"


# -- a running session --------------------------------------------------------------------


@dataclass
class Sandbox:
    """A sandboxed shell loop (bubblewrap, the session uid, /home/work/data bound from the
    folder's mountpoint) that reports each second-tenth what it could do."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """A process inside the sandbox: bwrap's child (its namespaces' first process)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return int(wait_for(lambda: children.read_text().split(), what="the sandbox")[0])

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def after(self, count: int) -> list[str]:
        """What the loop saw in its rounds begun after line `count` (see `later`)."""
        return later(self.lines, count)


def later(lines: Callable[[], list[str]], count: int) -> list[str]:
    """Lines after `count`, once two rounds have ended: the first may have begun before the
    change (a file opened before it, read after it), so only the ones after it count."""
    found: list[str] = wait_for(lambda: lines()[count + 1 :], what="the loop to go on")
    return found


LOOP = (
    "exec 3>>data/held\n"
    "while true; do\n"
    "  r=ok; w=ok; n=ok; d=ok\n"
    "  cat data/notes.txt >/dev/null 2>&1 || r=fail\n"
    "  { echo x >&3; } 2>/dev/null || w=fail\n"
    "  { echo x >> data/new.txt; } 2>/dev/null || n=fail\n"
    "  [ -e data/victim ] && { rm data/victim 2>/dev/null || d=fail; }\n"
    '  echo "read=$r held=$w write=$n delete=$d" >> out.log\n'
    "  sleep 0.1\n"
    "done\n"
)


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def start(mountpoint: Path, *, loop: str = LOOP) -> Sandbox:
        home = tmp_path / f"home-{len(started)}"
        home.mkdir(mode=0o755)
        os.chown(home, UID, UID)
        argv = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        argv += ["--cap-add", "CAP_SETPCAP", "--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/lib", "/lib64", "/sbin"):
            argv += ["--symlink", os.readlink(top), top] if os.path.islink(top) else []
        argv += ["--proc", "/proc", "--dev", "/dev", "--dir", "/home"]
        argv += ["--bind", str(home), "/home/work", "--bind", str(mountpoint), "/home/work/data"]
        argv += ["--chdir", "/home/work", "--", "setpriv", f"--reuid={UID}", f"--regid={UID}"]
        argv += ["--clear-groups", "--no-new-privs", "sh", "-c", loop]
        sandbox = Sandbox(subprocess.Popen(argv), home / "out.log")
        started.append(sandbox)
        wait_for(lambda: sandbox.log.exists() and sandbox.lines(), what="the loop to start")
        return sandbox

    yield start
    for sandbox in started:
        sandbox.process.kill()
        sandbox.process.wait()


def folder_with_victim(storage: Path) -> Path:
    return make_folder(storage / "f", "notes.txt", "victim")


def test_a_revoked_folder_fails_at_once_even_for_open_files(
    storage: Path, session_root: Path, sandboxes: Callable[..., Sandbox]
) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    sandbox = sandboxes(mount_one(session_root, folder, "rw"))
    assert sandbox.lines()[-1] == OK

    folders.apply(session_root, sandbox_pid=sandbox.pid, wanted=[])
    seen = len(sandbox.lines())

    assert set(sandbox.after(seen)) == {"read=fail held=fail write=fail delete=ok"}
    assert folders.applied(session_root) == []
    assert not (session_root / folders.MOUNTS / "data").exists()
    wait_for(lambda: not bindfs_processes(session_root), what="the folder's bindfs ends")
    inside = Path(f"/proc/{sandbox.pid}/mountinfo").read_text()
    assert "/home/work/data " not in inside  # unmounted in the session too


def test_a_folder_lowered_to_read_only_stops_writes(
    storage: Path, session_root: Path, sandboxes: Callable[..., Sandbox]
) -> None:
    """Nothing open for writing: remounted read-only in the session, reads go on."""
    folder = make_folder(storage / "f", "notes.txt")
    loop = LOOP.replace("exec 3>>data/held\n", "exec 3>/dev/null\n")
    sandbox = sandboxes(mount_one(session_root, folder, "full"), loop=loop)
    assert sandbox.lines()[-1] == OK

    wanted = [Mount(source=folder, name="data", access="ro")]
    folders.apply(session_root, sandbox_pid=sandbox.pid, wanted=wanted)
    seen = len(sandbox.lines())

    assert set(sandbox.after(seen)) == {"read=ok held=ok write=fail delete=ok"}
    assert folders.applied(session_root) == wanted


def test_a_folder_lowered_while_a_file_is_open_for_writing_closes_it(
    storage: Path, session_root: Path, sandboxes: Callable[..., Sandbox]
) -> None:
    """The kernel refuses a read-only remount then: the folder is mounted anew read-only
    and what was open through the old mount fails; new reads work."""
    folder = make_folder(storage / "f", "notes.txt")
    sandbox = sandboxes(mount_one(session_root, folder, "rw"))

    wanted = [Mount(source=folder, name="data", access="ro")]
    folders.apply(session_root, sandbox_pid=sandbox.pid, wanted=wanted)
    seen = len(sandbox.lines())

    assert set(sandbox.after(seen)) == {"read=ok held=fail write=fail delete=ok"}
    assert folders.applied(session_root) == wanted
    assert len(bindfs_processes(session_root)) == 1


def test_full_lowered_to_rw_stops_deletes(
    storage: Path, session_root: Path, sandboxes: Callable[..., Sandbox]
) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    loop = LOOP.replace("exec 3>>data/held\n", "exec 3>/dev/null\n")
    sandbox = sandboxes(mount_one(session_root, folder, "full"), loop=loop)

    wanted = [Mount(source=folder, name="data", access="rw")]
    folders.apply(session_root, sandbox_pid=sandbox.pid, wanted=wanted)
    seen = len(sandbox.lines())
    (folder / "victim").write_text("the owner's\n")
    os.chown(folder / "victim", STORAGE, STORAGE)

    wait_for(
        lambda: "read=ok held=ok write=ok delete=fail" in sandbox.lines()[seen + 1 :],
        what="a delete to be refused",
    )
    assert (folder / "victim").exists()
    assert folders.applied(session_root) == wanted


def test_more_access_waits_for_the_next_session(
    storage: Path, session_root: Path, sandboxes: Callable[..., Sandbox]
) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    loop = LOOP.replace("exec 3>>data/held\n", "exec 3>/dev/null\n")
    sandbox = sandboxes(mount_one(session_root, folder, "ro"), loop=loop)
    other = make_folder(storage / "other")

    wider = [Mount(source=folder, name="data", access="full")]
    folders.apply(session_root, sandbox_pid=sandbox.pid, wanted=[*wider, Mount(other, "x", "ro")])
    seen = len(sandbox.lines())

    assert set(sandbox.after(seen)) == {"read=ok held=ok write=fail delete=ok"}
    assert folders.applied(session_root) == [Mount(source=folder, name="data", access="ro")]
    assert not (session_root / folders.MOUNTS / "x").exists()


def test_apply_is_idempotent_and_quiet_without_folders(
    storage: Path, session_roots: Callable[[], Path]
) -> None:
    bare = session_roots()
    folders.apply(bare, sandbox_pid=os.getpid(), wanted=[])
    assert folders.applied(bare) == []

    root = session_roots()
    folder = make_folder(storage / "f")
    data = mount_one(root, folder, "rw")
    same = [Mount(source=folder, name="data", access="rw")]
    for _ in range(2):
        folders.apply(root, sandbox_pid=None, wanted=same)
    assert folders.applied(root) == same
    assert as_session("touch made", cwd=data).returncode == 0


def test_parallel_sessions_mount_their_own_folders(
    storage: Path, session_roots: Callable[[], Path]
) -> None:
    folder = make_folder(storage / "f", "notes.txt")
    roots = [session_roots() for _ in range(4)]
    errors: list[BaseException] = []

    def mount(root: Path) -> None:
        try:
            mount_one(root, folder, "ro")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=mount, args=(root,)) for root in roots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for root in roots:
        assert as_session("cat notes.txt", cwd=root / "mounts" / "data").returncode == 0


# -- through the runtime -----------------------------------------------------------------


RUNTIME_LOOP = LOOP.replace(" >> out.log", "")  # to the session's output


def runtime_lines(runtime: ProcessRuntime, session_id: str) -> list[str]:
    return all_logs(runtime, session_id).decode().splitlines()


def test_the_runtime_mounts_folders_and_takes_a_revoked_one_away(
    storage: Path, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime()
    folder = make_folder(storage / "f", "notes.txt")
    granted = (Mount(source=folder, name="data", access="rw"),)
    spec = make_spec(
        "/bin/sh", "-c", RUNTIME_LOOP, mounts=granted, uid=UID, gid=UID, network="none"
    )
    runtime.start(spec)
    session = runtime.state_dir / spec.session_id
    wait_for(lambda: OK in runtime_lines(runtime, spec.session_id), what="the folder in use")
    assert len(bindfs_processes(session)) == 1
    made = (folder / "new.txt").stat()
    assert (made.st_uid, made.st_gid) == (STORAGE, STORAGE)

    runtime.update_mounts(spec.session_id, [])
    seen = len(runtime_lines(runtime, spec.session_id))

    assert set(later(lambda: runtime_lines(runtime, spec.session_id), seen)) == {
        "read=fail held=fail write=fail delete=ok"
    }
    runtime.terminate(spec.session_id, grace=0)
    runtime.remove(spec.session_id)
    wait_for(lambda: not bindfs_processes(session), what="the folder's bindfs ends")
    assert (folder / "notes.txt").read_text() == "notes.txt of the owner\n"


def test_the_runtime_lowers_a_running_sessions_folder_to_read_only(
    storage: Path, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime()
    folder = make_folder(storage / "f", "notes.txt")
    granted = Mount(source=folder, name="data", access="full")
    loop = RUNTIME_LOOP.replace("exec 3>>data/held\n", "exec 3>/dev/null\n")
    spec = make_spec("/bin/sh", "-c", loop, mounts=(granted,), uid=UID, gid=UID, network="none")
    runtime.start(spec)
    wait_for(lambda: OK in runtime_lines(runtime, spec.session_id), what="the folder in use")

    lowered = [Mount(source=folder, name="data", access="ro")]
    runtime.update_mounts(spec.session_id, lowered)
    runtime.update_mounts(spec.session_id, lowered)  # idempotent
    seen = len(runtime_lines(runtime, spec.session_id))

    assert set(later(lambda: runtime_lines(runtime, spec.session_id), seen)) == {
        "read=ok held=ok write=fail delete=ok"
    }
    assert folders.applied(runtime.state_dir / spec.session_id) == lowered


# -- the agent daemon ---------------------------------------------------------------------


def desired(session_id: uuid.UUID, *mounts: tuple[Path, str, FolderAccess]) -> DesiredSession:
    return DesiredSession(
        session_id=session_id,
        kind="batch",
        command="sleep 600",
        env={},
        interpreter="",
        path_prefix="",
        cpu="1",
        mem=0,
        gpus=0,
        mounts=[DesiredMount(source=str(s), name=n, access=a) for s, n, a in mounts],
        uid=UID,
        user="work",
        network="none",
        network_allow=[],
        scratch=0,
    )


def test_the_daemon_takes_from_running_sessions_what_the_manager_no_longer_grants(
    tmp_path: Path,
) -> None:
    runtime = FakeRuntime()
    config = AgentConfig("http://127.0.0.1:9", "sya_unused", tmp_path, agent_id="node-f")
    daemon = AgentDaemon(config, runtime)
    session_id = uuid.uuid4()
    started = desired(session_id, (tmp_path, "data", "full"), (tmp_path, "ref", "ro"))
    lowered = desired(session_id, (tmp_path, "data", "rw"))

    async def follow() -> None:
        try:
            for version, state in enumerate((started, started, lowered, lowered)):
                await daemon.reconcile(DesiredState(version=version, sessions=[state]))
        finally:
            await daemon.client.close()

    asyncio.run(follow())

    assert runtime.mounts_of(session_id.hex) == (Mount(tmp_path, "data", "rw"),)
    assert runtime.mount_updates == {session_id.hex: 1}  # asked once, when it changed
    assert runtime.starts == {session_id.hex: 1}


# -- the spec ----------------------------------------------------------------------------


def test_specs_carry_the_access_level_and_old_ones_still_read(tmp_path: Path) -> None:
    spec = make_spec("true", mounts=(Mount(tmp_path, "a", "rw"), Mount(tmp_path, "b", "ro")))
    stored = spec_to_json(spec)
    old = {**stored, "mounts": [
        {"source": str(tmp_path), "name": "a", "read_only": False},
        {"source": str(tmp_path), "name": "b", "read_only": True},
    ]}  # fmt: skip

    assert spec_from_json(stored).mounts == spec.mounts
    assert [m.access for m in spec_from_json(old).mounts] == ["full", "ro"]


def test_a_spec_with_an_unknown_access_level_is_refused(tmp_path: Path) -> None:
    spec = make_spec("true", mounts=(Mount(tmp_path, "a", "wd"),))  # type: ignore[arg-type]

    with pytest.raises(SessionStartError) as refused:
        check_spec(spec)

    assert refused.value.message == "folder a: access must be one of ro, rw, full"
