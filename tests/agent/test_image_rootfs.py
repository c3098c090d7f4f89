"""Sessions that run inside an image's root filesystem (SessionSpec.image).

Real sandboxed sessions in small images built here from the host's static busybox
(Debian's busybox-static): what they see, whom they run as, what the image's config does,
and what a hostile image gains (nothing: no code of the image runs as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.agent import etc, hostbin
from shipyard.agent.runtime.base import ImageRoot, Mount, SessionStartError
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agent.runtime.terminal import attach
from tests.agent.helpers import make_spec, read_to_end, run_batch, wait_exited

NOBODY = 65534
OS_RELEASE = 'PRETTY_NAME="Shipyard test image"\nID=shipyard-test\n'

#: compiled into the hostile image's libraries: says so, and leaves a file, when run as root
EVIL_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
    if (geteuid() == 0 || getuid() == 0) {
        dprintf(2, "PWNED: the image's library ran as root\n");
        int fd = open("/home/work/out/PWNED-library", O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
    }
}
"""
#: the hostile image's setpriv (at every place a PATH lookup could find it)
EVIL_SETPRIV = """#!/bin/busybox sh
echo "PWNED: the image's setpriv ran as $(/bin/busybox id -u)" >&2
/bin/busybox touch /home/work/out/PWNED-setpriv
exec /bin/busybox "$@"
"""
#: the hostile image's /bin/sh: a working shell that tells when it runs as root
EVIL_SH = """#!/bin/busybox sh
if [ "$(/bin/busybox id -u)" = 0 ]; then
  echo "PWNED: the image's shell ran as root" >&2
  /bin/busybox touch /home/work/out/PWNED-shell
fi
exec /bin/busybox sh "$@"
"""


def _busybox() -> str:
    """The host's busybox, which must be static to run alone in an image."""
    found = shutil.which("busybox")
    if found is None or hostbin.inspect(found).interpreter is not None:
        pytest.fail("a static busybox is needed: apt-get install -y busybox-static")
    return found


def build_rootfs(root: Path, *, shell: bool = True) -> Path:
    """A small image: busybox and its applets in /bin (without /bin/sh unless `shell`),
    its own /etc (os-release, a passwd naming its own user), /srv/data.txt and /app."""
    (root / "bin").mkdir(parents=True)
    shutil.copy2(_busybox(), root / "bin" / "busybox")
    applets = subprocess.run(
        [str(root / "bin" / "busybox"), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox" and (shell or applet not in ("sh", "ash")):
            (root / "bin" / applet).symlink_to("busybox")
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "os-release").write_text(OS_RELEASE)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nimageuser:x:1000:1000::/:\n")
    (root / "etc" / "motd").write_text("from the image\n")
    (root / "srv").mkdir()
    (root / "srv" / "data.txt").write_text("image data\n")
    (root / "app").mkdir()
    (root / "app" / "run.sh").write_text('#!/bin/sh\necho "run from $(pwd)"\n')
    (root / "app" / "run.sh").chmod(0o755)
    (root / "mnt").mkdir()
    root.chmod(0o755)
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Every path under `root` with its mode, owner, size and mtime (links not followed)."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            info = os.lstat(os.path.join(directory, name))
            key = os.path.relpath(os.path.join(directory, name), root)
            found[key] = (info.st_mode, info.st_uid, info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rootfs(tmp_path_factory.mktemp("image") / "rootfs")


@pytest.fixture(scope="session")
def hostile_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image built to catch any privileged step that runs its code: its own setpriv,
    /bin/sh, /etc/ld.so.preload, nsswitch.conf with an NSS module, libcap-ng, a
    /.shipyard of its own, a setuid-root busybox in /usr/local/bin, an /etc/hosts linking
    out of the image, a FIFO and a device node in /etc."""
    base = tmp_path_factory.mktemp("hostile")
    root = build_rootfs(base / "rootfs")
    source = base / "evil.c"
    source.write_text(EVIL_C)
    library = base / "evil.so"
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the hostile image's libraries: apt-get install gcc")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    for place in ("lib/evil.so", "lib/libnss_evil.so.2", "lib/x86_64-linux-gnu/libcap-ng.so.0"):
        (root / place).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library, root / place)
    (root / "etc" / "ld.so.preload").write_text("/lib/evil.so\n")
    # Out of the image through a link, or a device the agent would read while copying /etc.
    (root / "etc" / "hosts").symlink_to("../../../../../../../../../../etc/shadow")
    os.mkfifo(root / "etc" / "pipe")
    os.mknod(root / "etc" / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    (root / "etc" / "nsswitch.conf").write_text("passwd: evil\ngroup: evil\n")
    (root / "bin" / "setpriv").unlink()  # busybox's applet
    places = ("bin", "usr/bin", "usr/sbin", "sbin", ".shipyard")
    for place in (f"{directory}/setpriv" for directory in places):
        (root / place).parent.mkdir(parents=True, exist_ok=True)
        (root / place).write_text(EVIL_SETPRIV)
        (root / place).chmod(0o755)
    (root / "bin" / "sh").unlink()
    (root / "bin" / "sh").write_text(EVIL_SH)
    (root / "bin" / "sh").chmod(0o755)
    suid = root / "usr" / "local" / "bin" / "busybox"
    suid.parent.mkdir(parents=True)
    shutil.copy2(root / "bin" / "busybox", suid)
    suid.chmod(0o4755)
    return root


@pytest.fixture
def out_folder(tmp_path: Path) -> Path:
    """A folder owned by the storage owner (nobody), mounted read-write as "out"."""
    folder = tmp_path / "out"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)
    return folder


def test_a_session_in_an_image_sees_the_images_files_not_the_hosts(
    runtime: ProcessRuntime, rootfs: Path
) -> None:
    script = (
        "cat /etc/os-release /srv/data.txt /etc/motd; id -u; pwd; cut -d: -f1 /etc/passwd | xargs; "
        "grep -q imageuser /etc/passwd && echo image-passwd; "
        "for p in /usr/bin/python3 /usr/lib /var/lib/dpkg /home/work; do "
        '[ -e "$p" ] && echo "has $p"; done; touch /srv/x /x 2>/dev/null || echo read-only'
    )
    spec = make_spec("sh", "-c", script, image=ImageRoot(rootfs=rootfs))

    status, output = run_batch(runtime, spec)

    assert status.exit_code == 0, output
    assert output.splitlines() == [
        'PRETTY_NAME="Shipyard test image"',
        "ID=shipyard-test",
        "image data",
        "from the image",
        str(NOBODY),
        "/home/work",
        "root work",  # ours, with the session's user, not the image's passwd
        "has /home/work",
        "read-only",
    ]
    assert not (rootfs / "srv" / "x").exists()


def test_the_images_config_gives_env_workdir_and_the_default_command(
    runtime: ProcessRuntime, rootfs: Path
) -> None:
    config = {
        "config": {
            "Env": ["PATH=/usr/bin:/bin", "FROM_IMAGE=image", "SHARED=image", "broken"],
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": ['echo "$PATH $FROM_IMAGE $SHARED $HOME"; pwd'],
            "WorkingDir": "/app",
            "User": "0",
        }
    }
    image = ImageRoot.from_config(rootfs, config)
    assert image.env == {"PATH": "/usr/bin:/bin", "FROM_IMAGE": "image", "SHARED": "image"}

    _, default = run_batch(runtime, make_spec(env={"SHARED": "session"}, image=image))
    _, own = run_batch(runtime, make_spec("id", "-u", image=image))
    missing_dir = ImageRoot(rootfs=rootfs, workdir="/no/such/dir")
    _, fallback = run_batch(runtime, make_spec("pwd", image=missing_dir))
    relative = ImageRoot(rootfs=rootfs, cmd=("./run.sh",), workdir="/app")
    _, script = run_batch(runtime, make_spec(image=relative))

    assert default.splitlines() == ["/usr/bin:/bin image session /home/work", "/app"]
    assert own.splitlines() == [str(NOBODY)]  # the image's User is ignored
    assert fallback.splitlines() == ["/home/work"]
    assert script.splitlines() == ["run from /app"]


def test_an_interactive_session_in_an_image_has_its_terminal(
    runtime: ProcessRuntime, rootfs: Path
) -> None:
    spec = make_spec("sh", "-i", kind="interactive", image=ImageRoot(rootfs=rootfs))
    runtime.start(spec)

    with attach(runtime.terminal_socket(spec.session_id)) as terminal:
        terminal.send(b"echo $(id -u)-$(cat /etc/hostname) $TERM; exit\n")
        shown = read_to_end(terminal)

    assert f"{NOBODY}-session-{spec.session_id[:8]} xterm-256color".encode() in shown
    assert wait_exited(runtime, spec.session_id).exit_code == 0


def test_folders_and_the_scratch_home_still_mount_in_an_image(
    runtime: ProcessRuntime, rootfs: Path, out_folder: Path
) -> None:
    mounts = (Mount(source=out_folder, name="out", access="full"),)
    script = "echo made > /home/work/out/file; echo scratch > /home/work/s; cat /home/work/s"
    spec = make_spec("sh", "-c", script, mounts=mounts, image=ImageRoot(rootfs=rootfs))

    status, output = run_batch(runtime, spec)

    assert status.exit_code == 0, output
    assert output == "scratch\n"
    assert (out_folder / "file").read_text() == "made\n"
    assert (out_folder / "file").stat().st_uid == NOBODY


@contextlib.contextmanager
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on the host's loopback; yields its port and what it received."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    received.append(conn.recv(64))

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1], received
    finally:
        server.close()


def test_network_rules_are_unchanged_in_an_image(runtime: ProcessRuntime, rootfs: Path) -> None:
    image = ImageRoot(rootfs=rootfs)
    interfaces = "cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '"
    with listener() as (port, received):
        reach = f"echo ping | nc -w 2 10.0.2.2 {port} 2>/dev/null && echo reached || echo refused"
        _, none = run_batch(runtime, make_spec("sh", "-c", interfaces, network="none", image=image))
        _, outbound = run_batch(
            runtime, make_spec("sh", "-c", f"{interfaces}; {reach}", image=image), timeout=20
        )

    assert none.split() == ["lo"]
    assert sorted(outbound.split()) == ["lo", "refused", "tap0"]
    assert received == []


def test_a_hostile_image_gains_nothing(
    runtime: ProcessRuntime, hostile_rootfs: Path, out_folder: Path
) -> None:
    before = snapshot(hostile_rootfs)
    assert before["usr/local/bin/busybox"][0] & stat.S_ISUID
    suid = "/usr/local/bin/busybox"
    mounts = (Mount(source=out_folder, name="out", access="full"),)
    script = (
        f"id -u; {suid} id -u; {suid} sh -c 'id -u; touch /home/work/out/via-suid'; "
        "grep NoNewPrivs /proc/self/status; ls -a /.shipyard; cat /etc/hosts; "
        "ls /etc | grep -E 'preload|pipe|zero|nsswitch'; cat /etc/nsswitch.conf | head -1"
    )
    spec = make_spec("sh", "-c", script, mounts=mounts, image=ImageRoot(rootfs=hostile_rootfs))

    status, output = run_batch(runtime, spec)

    assert status.exit_code == 0, output
    assert "PWNED" not in output
    lines = output.splitlines()
    assert lines[:4] == [str(NOBODY)] * 3 + ["NoNewPrivs:\t1"]
    assert lines[4:10] == [".", "..", "busybox", "ld.so", "lib", "setpriv"]  # the host's
    hostname = f"session-{spec.session_id[:8]}"
    assert lines[10:] == [
        "127.0.0.1\tlocalhost",
        f"127.0.1.1\t{hostname}",
        "::1\tlocalhost ip6-localhost",
        "nsswitch.conf",
        "passwd: files",
    ]
    assert [(p.name, p.stat().st_uid) for p in out_folder.iterdir()] == [("via-suid", NOBODY)]
    assert snapshot(hostile_rootfs) == before


def test_an_images_etc_copies_are_discarded_with_the_image(
    tmp_path: Path, hostile_rootfs: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()

    base = etc.prepare_image_base(state, hostile_rootfs)
    again = etc.prepare_image_base(state, hostile_rootfs)
    etc.discard_image_base(state, hostile_rootfs)

    assert again == base
    assert list(state.iterdir()) == []


def test_the_hosts_setpriv_runs_not_the_images(
    runtime: ProcessRuntime, hostile_rootfs: Path
) -> None:
    """The privileged step's program is the host's own file, bound read-only."""
    script = "cmp /.shipyard/setpriv /usr/bin/setpriv >/dev/null && echo image || echo host"
    spec = make_spec("sh", "-c", script, image=ImageRoot(rootfs=hostile_rootfs))

    status, output = run_batch(runtime, spec)

    assert status.exit_code == 0, output
    assert output.strip() == "host"
    host = Path(shutil.which("setpriv") or "/usr/bin/setpriv").resolve().read_bytes()
    copies = list(runtime.state_dir.glob("hostbin-*/setpriv"))
    assert [copy.read_bytes() == host for copy in copies] == [True]


def test_an_image_without_a_shell_runs_on_the_hosts_busybox(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    bare = build_rootfs(tmp_path / "bare", shell=False)

    status, output = run_batch(
        runtime, make_spec("cat", "/etc/os-release", image=ImageRoot(rootfs=bare))
    )

    assert status.exit_code == 0, output
    assert "ID=shipyard-test" in output


def test_a_command_missing_from_the_image_is_not_found(
    runtime: ProcessRuntime, rootfs: Path
) -> None:
    assert shutil.which("python3") is not None  # on the host, not in the image

    status, _ = run_batch(runtime, make_spec("python3", "-V", image=ImageRoot(rootfs=rootfs)))

    assert status.exit_code == 127
    assert status.error == "failed to start: command not found: python3"


def test_images_that_cannot_run_safely_are_refused(
    runtime: ProcessRuntime, rootfs: Path, tmp_path: Path
) -> None:
    writable = build_rootfs(tmp_path / "writable")
    writable.chmod(0o775)
    cases = {
        "can be changed by others": make_spec("true", image=ImageRoot(rootfs=writable)),
        "is not on this agent": make_spec("true", image=ImageRoot(rootfs=tmp_path / "gone")),
        "no default command": make_spec(image=ImageRoot(rootfs=rootfs)),
        "cannot also bind host directories": make_spec(
            "true", ro_paths=("/usr",), image=ImageRoot(rootfs=rootfs)
        ),
    }
    for expected, spec in cases.items():
        with pytest.raises(SessionStartError, match=expected):
            runtime.start(spec)
        assert runtime.status(spec.session_id) is None
