"""The supervisor's part of a session's network (see shipyard.agent.network for the plan):
learn the sandbox's pid from bubblewrap, attach slirp4netns to its namespace and install
the rules there, before the command is let go; stop slirp4netns at the end.

The supervisor imports this module on every start: standard library only, and light.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
from typing import Any, NamedTuple

TAP = "tap0"
SETUP_TIMEOUT = 10.0


class SetupFailed(Exception):
    """The session's network could not be set up; the session must not start."""


class Uplink(NamedTuple):
    """A running slirp4netns; it exits once `exit_fd` (its exit pipe's write end) closes."""

    process: subprocess.Popen[bytes]
    exit_fd: int


def read_child_pid(info_fd: int, *, timeout: float = SETUP_TIMEOUT) -> int:
    """The sandbox's pid from bwrap's --info-fd JSON (written once its namespaces exist)."""
    data = b""
    while b"}" not in data:
        ready, _, _ = select.select([info_fd], [], [], timeout)
        chunk = os.read(info_fd, 4096) if ready else b""
        if not chunk:
            raise SetupFailed("the sandbox did not start")
        data += chunk
    pid = json.loads(data[: data.index(b"}") + 1])["child-pid"]
    return int(pid)


def connect(pid: int, setup: dict[str, Any]) -> Uplink:
    """Give the network namespace of `pid` (new and bare: not ours) slirp4netns and the
    rules; returns once both are in place. On failure nothing is left running.

    slirp4netns --configure also brings up the loopback device. The rules go in while
    slirp4netns starts: they hold before its device carries anything.
    """
    if os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net"):
        raise SetupFailed("the sandbox shares the supervisor's network namespace")
    tools = setup["tools"]
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    try:
        slirp = subprocess.Popen(  # noqa: S603 - fixed argv, our own pid
            [
                tools["slirp4netns"],
                "--configure",
                "--mtu=65520",
                "--disable-host-loopback",
                "--enable-sandbox",
                "--enable-seccomp",
                f"--ready-fd={ready_w}",
                f"--exit-fd={exit_r}",
                str(pid),
                TAP,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(ready_w, exit_r),
            start_new_session=True,
        )
    except BaseException:
        os.close(ready_r)
        os.close(exit_w)
        raise
    finally:
        os.close(ready_w)
        os.close(exit_r)
    uplink = Uplink(process=slirp, exit_fd=exit_w)
    try:
        _install_rules(pid, setup)
        ready, _, _ = select.select([ready_r], [], [], SETUP_TIMEOUT)
        if not ready or os.read(ready_r, 1) != b"1":
            raise SetupFailed(f"slirp4netns did not start: {_stderr(slirp)}")
    except BaseException:
        disconnect(uplink)
        raise
    finally:
        os.close(ready_r)
    return uplink


def _install_rules(pid: int, setup: dict[str, Any]) -> None:
    tools = setup["tools"]
    argv = [tools["nsenter"], f"--net=/proc/{pid}/ns/net", "--", tools["nft"], "-f", "-"]
    done = subprocess.run(  # noqa: S603 - fixed argv
        argv, input=setup["rules"].encode(), capture_output=True, timeout=SETUP_TIMEOUT, check=False
    )
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()[:300]
        raise SetupFailed(f"the network rules could not be installed: {reason}")


def disconnect(uplink: Uplink) -> None:
    """Stop slirp4netns (closing its exit pipe) and reap it; once per uplink."""
    slirp = uplink.process
    os.close(uplink.exit_fd)
    try:
        slirp.wait(timeout=2)
    except subprocess.TimeoutExpired:
        slirp.kill()
        slirp.wait()
    if slirp.stderr is not None:
        slirp.stderr.close()


def _stderr(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.kill()
    _, err = process.communicate(timeout=2)
    return err.decode(errors="replace").strip()[:300] or f"exit status {process.returncode}"
