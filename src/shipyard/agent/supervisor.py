"""The supervisor of one session: `python -m shipyard.agent.supervisor <session dir>`.

The agent starts one per session, detached (own process session, then a fork so that the
agent is not its parent), so sessions outlive agent restarts. The supervisor creates the
session's cgroups, starts the command as decided in spec.json (the child joins the
cgroups, drops to the session uid, then execs bubblewrap), writes supervisor.pid once the
command runs, and tells the agent on the `--ready-fd` pipe. A batch session's stdout and
stderr go straight to output.log; an interactive session runs on a PTY whose output the
supervisor appends to output.log and serves on terminal.sock. When the command has
exited the supervisor writes status.json (exit code, OOM kill, reason) and exits. If the
supervisor dies, bubblewrap's --die-with-parent takes the sandbox down with it.

Terminal protocol (terminal.sock: AF_UNIX stream socket, mode 0600, owned by the agent):
  client -> supervisor, frames of  type (1 byte) + length (4 bytes, big-endian) + payload:
    b"d"  payload: bytes to type into the terminal (at most 1 MiB per frame)
    b"r"  payload: ASCII "rows,cols", the new terminal size (TIOCSWINSZ on the PTY)
  supervisor -> client: the raw bytes the terminal prints, no framing. On connect the
    client first gets the last 64 KiB printed (scrollback), then live output.
  Several clients may attach at once; each gets all output and may type. A malformed frame
  or a client that falls 4 MiB behind is disconnected. When the session ends the
  supervisor closes every connection.
"""

from __future__ import annotations

import errno
import fcntl
import os
import resource
import selectors
import shlex
import signal
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from shipyard.agent import netns
from shipyard.agent.cgroups import CgroupSet, Limits
from shipyard.agent.runtime.state import (
    UNKNOWN_EXIT,
    Launch,
    SessionDir,
    exit_to_json,
    now,
    read_json,
    write_json,
)
from shipyard.agent.runtime.terminal import INPUT, RESIZE, FrameDecoder, parse_resize

SCROLLBACK = 64 * 1024
MAX_CLIENT_BACKLOG = 4 * 1024 * 1024
DRAIN_IDLE = 0.1
DEFAULT_SIZE = (24, 80)
_SIGNALS = range(1, 65)


def main(argv: list[str] | None = None) -> int:
    """Entry point; forks at once so that the process the agent started exits."""
    args = sys.argv[1:] if argv is None else argv
    session = SessionDir(Path(args[0]).absolute())
    ready_fd = int(args[2]) if args[1:2] == ["--ready-fd"] else None
    if os.fork():
        os._exit(0)
    os.chdir(session.root)
    os.umask(0o077)
    return Supervisor(session, ready_fd=ready_fd).run()


class Gate(NamedTuple):
    """Where the sandbox waits before its command runs: bwrap's --info-fd (read end) and
    --block-fd (our write end)."""

    info: int
    release: int


class Supervisor:
    """Runs the session's command to its end and records how it ended."""

    def __init__(self, session: SessionDir, *, ready_fd: int | None) -> None:
        record = read_json(session.spec_file)
        if record is None:
            raise SystemExit(f"no spec.json in {session.root}")
        self.session = session
        self.ready_fd = ready_fd
        spec = record["spec"]
        self.session_id: str = spec["session_id"]
        self.limits = Limits(mem=spec["mem"], cpu=Decimal(spec["cpu"]), pids=spec["pids_max"])
        self.launch = Launch.from_json(record["launch"])
        self.started_at = datetime.fromisoformat(record["created_at"])
        self.cgroups = CgroupSet.from_json(self.launch.cgroups) if self.launch.cgroups else None
        self.uplink: netns.Uplink | None = None
        self.gate: Gate | None = None

    def run(self) -> int:
        log_fd = os.open(self.session.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            try:
                terminal, child = self._start(log_fd)
            except Exception as error:
                _print_traceback()
                self._finish(UNKNOWN_EXIT, error=f"failed to start: {error}")
                return 1
            self._report_ready()
            try:
                self._let_go()
            except Exception as error:
                _print_traceback()
                child.kill()
                child.wait()
                if terminal is not None:
                    terminal.close()
                self._finish(UNKNOWN_EXIT, error=f"failed to start: {error}")
                return 1
            try:
                returncode = child.wait() if terminal is None else terminal.serve(child)
            except Exception as error:  # a bug here must not leave the session unrecorded
                _print_traceback()
                child.kill()  # bwrap's --die-with-parent takes the rest
                self._finish(_exit_code(child.wait()), error=f"supervisor failed: {error}")
                return 1
            self._finish(_exit_code(returncode))
            return 0
        finally:
            os.close(log_fd)
            if self.ready_fd is not None:
                os.close(self.ready_fd)

    def _start(self, log_fd: int) -> tuple[Terminal | None, subprocess.Popen[bytes]]:
        if self.cgroups is not None:
            self.cgroups.create(self.limits)
        if not self.launch.interactive:
            return None, self._spawn(stdin=subprocess.DEVNULL, stdout=log_fd, tty=False)
        master, slave = os.openpty()
        try:
            if self.launch.uid is not None:
                os.fchown(slave, self.launch.uid, self.launch.gid or 0)
            _set_size(master, *DEFAULT_SIZE)
            terminal = Terminal(master, log_fd=log_fd, socket_name=self.session.socket.name)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        try:
            child = self._spawn(stdin=slave, stdout=slave, tty=True)
        except BaseException:
            terminal.close()
            raise
        finally:
            os.close(slave)
        return terminal, child

    def _spawn(self, *, stdin: int, stdout: int, tty: bool) -> subprocess.Popen[bytes]:
        """Start the sandbox; its command runs once the sandbox's network is set up."""
        argv, env = list(self.launch.argv), self.launch.env
        slots = self.launch.slots
        if not slots:
            return self._popen(argv, env=env, stdin=stdin, stdout=stdout, tty=tty, fds={})
        env_fd = _memfd(env_script(env))
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe()
        fds = {"info": info_w, "block": block_r}
        if self.launch.seccomp is not None and "seccomp" in slots:
            fds["seccomp"] = os.open(self.launch.seccomp, os.O_RDONLY | os.O_CLOEXEC)
        argv[slots["loader"]] = env_loader(env_fd, workdir=self.launch.workdir)
        for name, fd in fds.items():
            argv[slots[name]] = str(fd)
        child = self._popen(
            argv, env={}, stdin=stdin, stdout=stdout, tty=tty, fds={**fds, "env": env_fd}
        )
        self.gate = Gate(info=info_r, release=block_w)
        return child

    def _let_go(self) -> None:
        """Set up the sandbox's network, then let its command run.

        With outbound networking bwrap was started in a new, bare network namespace (see
        ProcessRuntime._plan): slirp4netns and the rules go in while bwrap sets up its
        mounts, and the command waits at bwrap's --block-fd until both are done.
        """
        gate, self.gate = self.gate, None
        if gate is None:
            return
        try:
            pid = netns.read_child_pid(gate.info)
            if self.launch.network is not None:
                self.uplink = netns.connect(pid, self.launch.network)
            os.write(gate.release, b"1")
            # Written last: the runtime sends no signal before it exists, as one that hit
            # a helper still setting up (unshare, nsenter) would fail the start instead.
            _write_pid(self.session.sandbox_pid_file, pid)
        finally:
            os.close(gate.info)
            os.close(gate.release)

    def _popen(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        stdin: int,
        stdout: int,
        tty: bool,
        fds: dict[str, int],
    ) -> subprocess.Popen[bytes]:
        """Popen the sandbox (or the bare command), closing `fds` here once it has them."""
        try:
            return subprocess.Popen(  # noqa: S603 - argv decided by the agent, no shell
                argv,
                stdin=stdin,
                stdout=stdout,
                stderr=stdout,
                env=env,
                cwd=self.launch.cwd,
                umask=0o022,
                start_new_session=True,
                pass_fds=tuple(fds.values()),
                preexec_fn=_child_setup(self.launch, self.cgroups, tty=tty),  # noqa: PLW1509 - single-threaded
            )
        finally:
            for fd in fds.values():
                os.close(fd)

    def _report_ready(self) -> None:
        """Write supervisor.pid, then tell the agent (which waits on the ready pipe)."""
        _write_pid(self.session.pid_file, os.getpid())
        if self.ready_fd is not None:
            os.write(self.ready_fd, b"ready\n")
            os.close(self.ready_fd)
            self.ready_fd = None

    def _finish(self, exit_code: int, *, error: str | None = None) -> None:
        if self.uplink is not None:
            netns.disconnect(self.uplink)
        if self.session.folders.is_dir():  # not on the start path: imports ctypes, threads
            from shipyard.agent import folders  # noqa: PLC0415

            folders.unmount_all(self.session.root)
        if self.launch.home_size is not None:
            from shipyard.agent.runtime import home  # noqa: PLC0415

            home.unmount(self.session.home)
        oom = self.cgroups is not None and self.cgroups.oom_kills() > 0
        if oom:
            error = "out of memory"
        elif error is None and exit_code - 128 in _SIGNALS:
            error = f"killed by signal {exit_code - 128}"
        record = exit_to_json(
            session_id=self.session_id,
            exit_code=exit_code,
            oom_killed=oom,
            error=error,
            started_at=self.started_at,
            finished_at=now(),
        )
        write_json(self.session.status_file, record)


def _write_pid(path: Path, pid: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.rename(path)


def _print_traceback() -> None:
    """The current exception's traceback on stderr (supervisor.log), for admins."""
    import traceback  # noqa: PLC0415 - only on failure; every supervisor start pays imports

    traceback.print_exc()


def _exit_code(returncode: int) -> int:
    """The shell's convention: 128+N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def env_loader(fd: int, *, workdir: str | None = None) -> str:
    """The shell script (run as the session uid, inside the sandbox) that loads the
    environment from `fd` (see env_script), closes it, changes to `workdir` where the
    session may (else it stays in /home/work) and execs its arguments."""
    change = f"{{ cd -- {shlex.quote(workdir)} 2>/dev/null || :; }} && " if workdir else ""
    return f'. /dev/fd/{fd} && exec {fd}<&- && {change}exec "$@"'


def env_script(env: dict[str, str]) -> bytes:
    """`env` as shell exports for env_loader; names are checked by check_spec."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items()).encode()


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("shipyard-session-env")
    _write_all(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _child_setup(launch: Launch, cgroups: CgroupSet | None, *, tty: bool) -> Callable[[], None]:
    """What the child does between fork and exec, in this order: the terminal becomes its
    controlling one, it joins the cgroups (so every process it starts is counted), takes
    its rlimits, and, without a sandbox, drops to the session uid (it could do none of the
    rest after that)."""
    drop = launch.drop_privileges and launch.uid is not None and launch.gid is not None
    no_new_privs = _no_new_privs_call() if drop else None

    def setup() -> None:
        if tty:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        if launch.cpus:
            os.sched_setaffinity(0, launch.cpus)
        if cgroups is not None:
            cgroups.join(os.getpid())
        for name, value in launch.rlimits.items():
            resource.setrlimit(getattr(resource, name), (value, value))
        if drop and launch.uid is not None and launch.gid is not None:
            os.setgroups([])
            os.setresgid(launch.gid, launch.gid, launch.gid)
            os.setresuid(launch.uid, launch.uid, launch.uid)
        if no_new_privs is not None:
            no_new_privs()

    return setup


def _no_new_privs_call() -> Callable[[], None]:
    """prctl(PR_SET_NO_NEW_PRIVS): no setuid or file-capability binary can raise privilege.

    bwrap sets it itself; this covers a session run without a sandbox.
    """
    import ctypes  # noqa: PLC0415 - only needed on this path, and costs import time

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs = 38

    def call() -> None:
        if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")

    return call


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class _Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = FrameDecoder()
        self.backlog = bytearray()

    def events(self) -> int:
        return selectors.EVENT_READ | (selectors.EVENT_WRITE if self.backlog else 0)


class Terminal:
    """Holds the PTY master: logs what it prints, serves it to clients, types their input."""

    def __init__(self, master: int, *, log_fd: int, socket_name: str) -> None:
        self.master = master
        self.log_fd = log_fd
        self.socket_name = socket_name
        self.scrollback = bytearray()
        self.pending_input = bytearray()
        self.clients: set[_Client] = set()
        self.master_open = True
        os.set_blocking(master, False)
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(socket_name)
        os.chmod(socket_name, 0o600)
        self.listener.listen(16)
        self.listener.setblocking(False)

    def serve(self, child: subprocess.Popen[bytes]) -> int:
        """Relay until the command has exited and its output is drained; its returncode."""
        pidfd = os.pidfd_open(child.pid)
        try:
            self.selector.register(self.listener, selectors.EVENT_READ, lambda _: self._accept())
            self.selector.register(self.master, selectors.EVENT_READ, self._on_master)
            self.selector.register(pidfd, selectors.EVENT_READ, lambda _: None)
            while child.poll() is None:
                self._dispatch(timeout=None)
            self.selector.unregister(pidfd)
            # Whatever the command printed last may still sit in the PTY.
            while self.master_open and self._dispatch(timeout=DRAIN_IDLE):
                pass
            return child.returncode
        finally:
            os.close(pidfd)
            self.close()

    def _dispatch(self, *, timeout: float | None) -> bool:
        """Handle one round of events; False if none came within `timeout`."""
        events = self.selector.select(timeout)
        for key, mask in events:
            key.data(mask)
        return bool(events)

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        client = _Client(sock)
        client.backlog += self.scrollback
        self.clients.add(client)
        self.selector.register(sock, client.events(), lambda mask: self._on_client(client, mask))

    def _on_master(self, mask: int) -> None:
        if mask & selectors.EVENT_WRITE and self.pending_input:
            self._write_master()
        if mask & selectors.EVENT_READ:
            self._read_master()
        if self.master_open:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.pending_input else 0)
            self.selector.modify(self.master, events, self._on_master)

    def _write_master(self) -> None:
        try:
            written = os.write(self.master, self.pending_input)
        except BlockingIOError:
            return
        except OSError:  # the terminal has hung up: nobody is left to type to
            written = len(self.pending_input)
        del self.pending_input[:written]

    def _read_master(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno != errno.EIO:
                raise
            data = b""
        if not data:  # EIO: every process holding the terminal has gone
            self.selector.unregister(self.master)
            self.master_open = False
            return
        _write_all(self.log_fd, data)
        self.scrollback += data
        del self.scrollback[:-SCROLLBACK]
        for client in list(self.clients):
            client.backlog += data
            self._flush(client)

    def _on_client(self, client: _Client, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            try:
                data = client.sock.recv(65536)
                if not data:
                    raise ConnectionResetError
                for kind, payload in client.decoder.feed(data):
                    self._handle(kind, payload)
            except (OSError, ValueError):
                self._drop(client)
                return
        self._flush(client)

    def _handle(self, kind: bytes, payload: bytes) -> None:
        if not self.master_open:
            return
        if kind == INPUT:
            self.pending_input += payload
            self._on_master(selectors.EVENT_WRITE)
        elif kind == RESIZE:
            _set_size(self.master, *parse_resize(payload))

    def _flush(self, client: _Client) -> None:
        if client not in self.clients:
            return
        try:
            if client.backlog:
                del client.backlog[: client.sock.send(client.backlog)]
        except BlockingIOError:
            pass
        except OSError:
            self._drop(client)
            return
        if len(client.backlog) > MAX_CLIENT_BACKLOG:
            self._drop(client)
            return
        self.selector.modify(client.sock, client.events(), lambda m: self._on_client(client, m))

    def _drop(self, client: _Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
            self.selector.unregister(client.sock)
        client.sock.close()

    def close(self) -> None:
        for client in list(self.clients):
            self._drop(client)
        self.selector.close()
        self.listener.close()
        Path(self.socket_name).unlink(missing_ok=True)
        self.master_open = False
        os.close(self.master)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sys.exit(main())
