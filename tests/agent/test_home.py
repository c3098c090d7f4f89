"""Every user's home (issue 14, capability 2): a folder of their own at /home/work in each of
their sessions. Real sandboxed sessions (ProcessRuntime, folders and home through bindfs)
started by the agent daemon from desired states, as the manager sends them: what one session
leaves in the home is there in the next, another user's session never sees it, folders
still appear at /home/work/<name> (and a link planted there redirects nothing), and the home
is held to its size limit like any folder.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from shipyard.agent.daemon import AgentConfig, AgentDaemon
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agents.schemas import DesiredMount, DesiredSession, DesiredState
from tests.agent.conftest import RuntimeFactory
from tests.agent.helpers import MiB, all_logs, wait_exited

STORAGE = 65534  # the storage owner: folders' files belong to it on disk
ALICE, BOB = 200001, 200002  # two users' session uids
#: Shell: wait until writing into the home fails as read-only (10 s at most); say so.
HOME_READ_ONLY_PROBE = (
    "n=0; until touch ~/probe 2>&1 | grep -q 'Read-only file system'; do "
    "n=$((n+1)); [ $n -gt 200 ] && break; sleep 0.05; done; "
    "touch ~/probe 2>&1 | grep -q 'Read-only file system' && echo home=read-only; "
)


class Agent:
    """The agent daemon on a real runtime; sessions come from desired states."""

    def __init__(self, daemon: AgentDaemon, runtime: ProcessRuntime) -> None:
        self.daemon = daemon
        self.runtime = runtime
        self.sessions: list[DesiredSession] = []

    def run(
        self,
        command: str,
        *mounts: DesiredMount,
        home: DesiredMount | None,
        uid: int = ALICE,
        network: Literal["none", "outbound"] = "none",
    ) -> str:
        """Run a batch session to its end as `uid`, with `home`; what it printed."""
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
            uid=uid,
            user="work",
            network=network,
            network_allow=[],
            scratch=16 * MiB,
            home=home,
        )
        self.sessions.append(session)
        state = DesiredState(version=len(self.sessions), sessions=self.sessions)
        asyncio.run(self.daemon.reconcile(state))
        session_id = session.session_id.hex
        status = wait_exited(self.runtime, session_id, timeout=60)
        output = all_logs(self.runtime, session_id).decode()
        assert status.error is None, output
        return output


@pytest.fixture
def agent(tmp_path: Path, make_runtime: RuntimeFactory) -> Iterator[Agent]:
    runtime = make_runtime()
    config = AgentConfig("http://127.0.0.1:9", "sya_unused", tmp_path / "agent", disk_reserve=0)
    node = Agent(AgentDaemon(config, runtime), runtime)
    yield node
    node.daemon.quota.stop()


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    root.mkdir(mode=0o755)
    return root


def make_folder(path: Path, *files: str) -> Path:
    """A folder directory as the manager makes it: everything the storage owner's."""
    path.mkdir(mode=0o755)
    os.chown(path, STORAGE, STORAGE)
    for name in files:
        (path / name).write_text(f"{name} of the owner\n")
        os.chown(path / name, STORAGE, STORAGE)
    return path


def home_of(path: Path, *, limit: int | None = None) -> DesiredMount:
    return DesiredMount(source=str(path), name="home", access="full", limit=limit)


def folder(path: Path, *, name: str = "data", limit: int | None = None) -> DesiredMount:
    return DesiredMount(source=str(path), name=name, access="full", limit=limit)


def mount_points(mine: Path) -> set[str]:
    """The host's mount points, less those of tests running beside this one: theirs come and
    go under the temp dir; this test's own (under `mine`) and everything else count."""
    points = {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    others = Path(tempfile.gettempdir())
    return {p for p in points if p.startswith(str(mine)) or not p.startswith(f"{others}/")}


# -- what persists ------------------------------------------------------------------------


# slirp4netns --enable-sandbox, started for an outbound session, copies the host's mounts
# and detaches its copy: folders in the home must survive that.
@pytest.mark.parametrize("network", ["none", "outbound"])
def test_dot_files_history_and_user_packages_persist_into_the_next_session(
    agent: Agent, storage: Path, network: Literal["none", "outbound"]
) -> None:
    home = make_folder(storage / "alice-home")
    data = make_folder(storage / "data", "notes.txt")

    first = agent.run(
        "cd; echo 'alias ll=\"ls -l\"' >> .bashrc; echo 'make test' >> .bash_history; "
        "site=$(python3 -c 'import site; print(site.getusersitepackages())'); "
        'mkdir -p "$site" && echo "GREETING = 42" > "$site/persisted.py" && echo site=$site; '
        "echo kept > notes-in-home.txt; echo scratch > /tmp/scratch.txt; "
        "stat -f -c tmp=%T /tmp; pwd",
        folder(data),
        home=home_of(home),
        network=network,
    )
    second = agent.run(
        "cd; cat .bashrc .bash_history notes-in-home.txt data/notes.txt; "
        "python3 -c 'import persisted; print(\"imported\", persisted.GREETING)'; "
        "ls /tmp/scratch.txt 2>&1; id -u",
        folder(data),
        home=home_of(home),
        network=network,
    )

    assert "tmp=tmpfs" in first, first
    assert "/home/work" in first, first
    assert "site=/home/work/.local/lib/python3" in first, first
    assert 'alias ll="ls -l"' in second, second
    assert "make test" in second, second
    assert "kept" in second, second
    assert "notes.txt of the owner" in second, second
    assert "imported 42" in second, second  # `pip install --user` lands there too
    assert "No such file or directory" in second  # /tmp is scratch: it ends with the session
    assert (home / ".bash_history").stat().st_uid == STORAGE  # stored as the owner's
    assert (home / "data").is_dir()
    assert not os.listdir(home / "data")
    assert sorted(os.listdir(data)) == ["notes.txt"]


def test_another_users_session_never_sees_the_home(agent: Agent, storage: Path) -> None:
    alice = make_folder(storage / "alice-home")
    bob = make_folder(storage / "bob-home")
    agent.run("echo secret > ~/.netrc; echo x > ~/plans.txt", home=home_of(alice))

    output = agent.run(
        "ls -A /home/work; cat ~/.netrc 2>&1; find / -xdev -name plans.txt 2>/dev/null; "
        "echo searched",
        home=home_of(bob),
        uid=BOB,
    )

    assert "secret" not in output, output
    assert "plans.txt" not in output, output
    assert "searched" in output
    assert sorted(os.listdir(alice)) == [".netrc", "plans.txt"]
    assert os.listdir(bob) == []


# -- folders inside the home --------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["../../../usr", "/etc", "../../../oldroot/etc", "/usr/bin"], ids=str
)
def test_a_link_planted_where_a_folder_goes_redirects_no_mount(
    agent: Agent, storage: Path, target: str, tmp_path: Path
) -> None:
    home = make_folder(storage / "alice-home")
    data = make_folder(storage / "data", "notes.txt")
    agent.run(f"ln -s {target} ~/data; ls -ld ~/data", home=home_of(home))
    assert os.path.islink(home / "data")
    before = mount_points(tmp_path)

    output = agent.run(
        "id -u; ls /usr/bin/env /etc/passwd; cat ~/data/notes.txt; ls -d ~/data.moved-*; "
        "touch ~/data/written && echo wrote",
        folder(data),
        home=home_of(home),
    )

    assert output.splitlines()[0] == str(ALICE), output  # setpriv was the real one
    assert "/usr/bin/env" in output
    assert "/etc/passwd" in output
    assert "notes.txt of the owner" in output, output
    assert "wrote" in output, output
    assert (data / "written").exists()  # the folder itself, at /home/work/data
    moved = [name for name in os.listdir(home) if name.startswith("data.moved-")]
    assert len(moved) == 1
    assert os.readlink(home / moved[0]) == target
    assert (home / "data").is_dir()
    assert not (home / "data").is_symlink()
    assert mount_points(tmp_path) == before  # and nothing was left mounted on the host


def test_a_file_where_a_folder_goes_is_kept_aside(agent: Agent, storage: Path) -> None:
    home = make_folder(storage / "alice-home")
    data = make_folder(storage / "data", "notes.txt")
    agent.run("echo mine > ~/data", home=home_of(home))

    output = agent.run("cat ~/data/notes.txt ~/data.moved-*", folder(data), home=home_of(home))

    assert "notes.txt of the owner" in output, output
    assert "mine" in output, output


# -- limits -------------------------------------------------------------------------------


def test_a_home_over_its_limit_turns_read_only_and_the_next_session_still_has_its_folders(
    agent: Agent, storage: Path
) -> None:
    home = make_folder(storage / "alice-home")
    data = make_folder(storage / "data", "notes.txt")

    output = agent.run(
        "echo before > ~/data/before.txt && echo folder=written; "
        "cd; dd if=/dev/zero of=big bs=1M count=40 2>/dev/null || echo dd=failed; "
        + HOME_READ_ONLY_PROBE
        + "cat ~/.profile 2>&1; echo still-here",
        folder(data),
        home=home_of(home, limit=4 * MiB),
    )
    later = agent.run(
        "touch ~/later 2>&1; echo more > ~/data/later.txt && echo folder=written; "
        "cat ~/data/notes.txt",
        folder(data),
        home=home_of(home, limit=4 * MiB),
    )

    assert "folder=written" in output, output
    assert "dd=failed" in output, output
    assert "home=read-only" in output, output
    assert "still-here" in output, output
    assert (data / "before.txt").read_text() == "before\n"
    assert "Read-only file system" in later, later
    assert "folder=written" in later, later
    assert "notes.txt of the owner" in later
    assert not (home / "later").exists()
    assert (data / "later.txt").read_text() == "more\n"
