"""The session seccomp filter in a real bubblewrap sandbox: what it refuses, what still works.

Each test runs bwrap as root with the filter on `--seccomp FD`, as the supervisor does, and
drops to an unprivileged uid with setpriv as sandbox.py does. The refused calls are also
made as root with every capability (the filter must not depend on the caller's rights), and
once without the filter, to show that the kernel itself would have let them through.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence

import pyseccomp
import pytest

from shipyard.agent import seccomp

SESSION_UID = 65534
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
# Not --unshare-all: as root it adds a user namespace mapping uid 0 alone, and setpriv could
# not become the session uid in it.
NAMESPACES = ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net")
FILESYSTEM = ("--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--chdir", "/")
# The sandbox's own /tmp and /dev/shm (multiprocessing's semaphores), open to the session uid.
FILESYSTEM += ("--perms", "01777", "--tmpfs", "/tmp", "--perms", "01777", "--tmpfs", "/dev/shm")  # noqa: S108
# As sandbox.py: bwrap keeps only what setpriv needs, setpriv drops to the session uid.
DROP_TO_SESSION_UID = ("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID")
DROP_TO_SESSION_UID += ("--cap-add", "CAP_SETPCAP", "--", "setpriv", f"--reuid={SESSION_UID}")
DROP_TO_SESSION_UID += (f"--regid={SESSION_UID}", "--clear-groups", "--no-new-privs")
DROP_TO_SESSION_UID += ("--bounding-set=-all", "--inh-caps=-all", "--")
SIGSYS_EXIT = 128 + 31

CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING = 0, -3
UFFD_USER_MODE_ONLY, O_CLOEXEC = 1, 0o2000000
TIOCSTI = 0x5412
READ_IMPLIES_EXEC = 0x0400000
AF_DECNET, SOCK_STREAM = 12, 1  # DECnet left the kernel in 6.1: nothing loads on a miss

#: (label, system call, arguments): calls the filter refuses, with harmless arguments, so
#: that without it they fail on those arguments (or succeed without harm), never on rights.
REFUSED_CALLS = (
    ("keyctl", "keyctl", (KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)),
    ("add_key", "add_key", (0, 0, 0, 0, 0)),
    ("bpf", "bpf", (-1, 0, 0)),
    ("perf_event_open", "perf_event_open", (0, 0, -1, -1, 0)),
    ("userfaultfd", "userfaultfd", (UFFD_USER_MODE_ONLY | O_CLOEXEC,)),
    ("io_uring_setup", "io_uring_setup", (1, 0)),
    ("mount", "mount", (0, 0, 0, 0, 0)),
    ("unshare", "unshare", (0,)),
    ("setns", "setns", (-1, 0)),
    ("clone with CLONE_NEWUSER", "clone", (CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)),
    ("ioctl TIOCSTI", "ioctl", (0, TIOCSTI, 0)),
    ("personality READ_IMPLIES_EXEC", "personality", (READ_IMPLIES_EXEC,)),
    ("socket AF_DECnet", "socket", (AF_DECNET, SOCK_STREAM, 0)),
    ("reboot", "reboot", (0, 0, 0, 0)),
    ("clone3", "clone3", (0, 0)),
)
EXPECTED_ERRORS = {label: "ENOSYS" if label == "clone3" else "EPERM" for label, *_ in REFUSED_CALLS}

# Makes each call with libc's syscall() and prints "label: ok" or "label: ERRNO". A clone
# that succeeds (no filter) returns 0 in a child, which leaves at once.
PROBE = """
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for label, number, args in json.loads(sys.argv[1]):
    result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
    if label.startswith("clone") and result == 0:
        os._exit(0)
    if label.startswith("clone") and result > 0:
        os.waitpid(result, 0)
    print(f"{label}: " + ("ok" if result >= 0 else errno.errorcode[ctypes.get_errno()]))
"""

# A system call through another ABI, as machine code: `mov eax, N; int 0x80 / syscall; ret`.
FOREIGN_ABI = """
import ctypes, mmap, sys
code = {"i386": "b814000000cd80c3", "x32": "b8270000400f05c3"}[sys.argv[1]]
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(bytes.fromhex(code))
print(ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(page)))())
"""

ORDINARY_WORK = r"""
set -e
bash -c 'echo bash'
ls / >/dev/null && echo ls
cat /proc/self/comm
python3 -m pip --version >/dev/null && echo pip
setarch "$(uname -m)" -R true && echo setarch -R
python3 - <<'EOF'
import concurrent.futures, multiprocessing, os, socket, subprocess, threading

with concurrent.futures.ThreadPoolExecutor(4) as pool:
    print("threads", sum(pool.map(abs, range(-3, 1))))
with multiprocessing.get_context("fork").Pool(2) as pool:
    print("processes", sum(pool.map(abs, range(-3, 1))))
child = subprocess.run(["echo", "child"], capture_output=True, text=True)
print("subprocess", child.stdout.strip())
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

server = socket.create_server(("127.0.0.1", 0))
def answer():
    connection, _ = server.accept()
    connection.sendall(connection.recv(5).upper())
    connection.close()
thread = threading.Thread(target=answer)
thread.start()
with socket.create_connection(server.getsockname()) as client:
    client.sendall(b"hello")
    print("tcp", client.recv(5).decode())
thread.join()
EOF
"""


def sandboxed(
    *command: str, filtered: bool = True, privileged: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `command` in bwrap, under the session filter unless not `filtered`, as the
    session uid with no capabilities, or as root with all of them (`privileged`)."""
    fd = seccomp.write_filter_fd() if filtered else None
    try:
        return _bwrap(command, filter_fd=fd, privileged=privileged)
    finally:
        if fd is not None:
            os.close(fd)


def _bwrap(
    command: Sequence[str], *, filter_fd: int | None, privileged: bool
) -> subprocess.CompletedProcess[str]:
    argv = ["bwrap", *NAMESPACES, "--die-with-parent", *FILESYSTEM]
    if filter_fd is not None:
        argv += ["--seccomp", str(filter_fd)]
    argv += ["--cap-add", "ALL", "--"] if privileged else [*DROP_TO_SESSION_UID]
    return subprocess.run(
        [*argv, *command],
        pass_fds=() if filter_fd is None else (filter_fd,),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={"PATH": PATH, "LANG": "C.UTF-8"},
        timeout=60,
        check=False,
    )


def probe(*, filtered: bool = True, privileged: bool = False) -> dict[str, str]:
    """What each of REFUSED_CALLS answers in the sandbox: "ok" or the errno's name."""
    calls = [
        (label, pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name), args)
        for label, name, args in REFUSED_CALLS
    ]
    result = sandboxed(
        "python3", "-c", PROBE, json.dumps(calls), filtered=filtered, privileged=privileged
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def test_the_session_uid_is_refused_the_kernel_attack_surface() -> None:
    assert probe() == EXPECTED_ERRORS


def test_root_with_every_capability_is_refused_the_same() -> None:
    assert probe(privileged=True) == EXPECTED_ERRORS


def test_without_the_filter_the_kernel_would_have_allowed_these_calls() -> None:
    """The control: the refusals above come from the filter, not from missing rights."""
    answers = probe(filtered=False, privileged=True)

    assert answers.keys() == EXPECTED_ERRORS.keys()
    assert not {label for label, answer in answers.items() if answer in ("EPERM", "ENOSYS")}


def test_user_namespaces_cannot_be_made() -> None:
    result = sandboxed("sh", "-c", "unshare -Ur id; echo exit $?")

    assert "uid=0" not in result.stdout
    assert result.stdout.splitlines() == ["exit 1"]
    assert "unshare failed: Operation not permitted" in result.stderr


def test_root_in_the_sandbox_cannot_make_a_network_namespace() -> None:
    result = sandboxed("sh", "-c", "unshare -n true; echo exit $?", privileged=True)

    assert result.stdout.splitlines() == ["exit 1"]
    assert "unshare failed: Operation not permitted" in result.stderr


@pytest.mark.parametrize("abi", ["i386", "x32"])
def test_a_system_call_through_another_abi_kills_the_process(abi: str) -> None:
    result = sandboxed("sh", "-c", f'python3 -c "$0" {abi}; echo exit $?', FOREIGN_ABI)

    assert result.stdout.splitlines() == [f"exit {SIGSYS_EXIT}"]


def test_ordinary_work_still_runs() -> None:
    result = sandboxed("sh", "-c", ORDINARY_WORK)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "bash",
        "ls",
        "cat",
        "pip",
        "setarch -R",
        "threads 6",
        "processes 6",
        "subprocess child",
        "fork 7",
        "tcp HELLO",
    ]
