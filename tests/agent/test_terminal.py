"""Interactive sessions: the terminal socket, resizing, scrollback, several clients."""

from __future__ import annotations

import stat

import pytest

from shipyard.agent.runtime.base import SessionStateError
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agent.runtime.terminal import attach, connect
from tests.agent.helpers import all_logs, make_spec, read_to_end, read_until, wait_exited

SHELL = ("/bin/bash", "--norc", "-i")


@pytest.fixture
def shell(runtime: ProcessRuntime) -> str:
    """A running interactive bash; its session id."""
    spec = make_spec(*SHELL, kind="interactive")
    runtime.start(spec)
    return spec.session_id


def test_typed_commands_run_and_their_output_comes_back(
    runtime: ProcessRuntime, shell: str
) -> None:
    with attach(runtime.terminal_socket(shell)) as terminal:
        terminal.send(b"echo hello-$((6*7))\n")

        read_until(terminal, b"hello-42")

    assert b"hello-42" in all_logs(runtime, shell)


def test_resizing_changes_what_the_shell_sees(runtime: ProcessRuntime, shell: str) -> None:
    with attach(runtime.terminal_socket(shell)) as terminal:
        terminal.resize(33, 101)
        terminal.send(b"stty size\n")

        read_until(terminal, b"33 101")


def test_a_second_client_gets_the_scrollback_then_live_output(
    runtime: ProcessRuntime, shell: str
) -> None:
    path = runtime.terminal_socket(shell)
    with attach(path) as first:
        first.send(b"echo before-$((1+1))\n")
        read_until(first, b"before-2")

        with attach(path) as second:
            read_until(second, b"before-2")
            second.send(b"echo after-$((2+2))\n")

            read_until(second, b"after-4")
            read_until(first, b"after-4")


def test_the_terminal_socket_is_for_the_agent_only(runtime: ProcessRuntime, shell: str) -> None:
    mode = runtime.terminal_socket(shell).stat().st_mode

    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_a_malformed_frame_drops_only_that_client(runtime: ProcessRuntime, shell: str) -> None:
    path = runtime.terminal_socket(shell)
    with connect(path) as rogue, attach(path) as good:
        rogue.sendall(b"x\x00\x00\x00\x01!")
        rogue.settimeout(5)
        while rogue.recv(65536):  # the scrollback, then the end of the connection
            pass

        good.send(b"echo still-$((3*3))\n")
        read_until(good, b"still-9")


def test_terminating_hangs_up_the_shell_and_closes_clients(
    runtime: ProcessRuntime, shell: str
) -> None:
    with attach(runtime.terminal_socket(shell)) as terminal:
        terminal.send(b"echo up-$((1+1))\n")
        read_until(terminal, b"up-2")  # bash is past its start-up: it ignores SIGTERM now

        runtime.terminate(shell, grace=30)

        read_to_end(terminal)
    status = wait_exited(runtime, shell)
    # SIGHUP ends it, as a closed terminal does, well before the 30 s grace period. Under heavy
    # load the hang-up can reach bwrap's monitor first (see ProcessRuntime.terminate), which then
    # takes the shell down with SIGKILL: ended by the hang-up all the same, not by the grace.
    assert (status.exit_code, status.error) in {
        (129, "killed by signal 1"),
        (137, "killed by signal 9"),
    }
    assert status.finished_at is not None
    assert (status.finished_at - status.started_at).total_seconds() < 30
    with pytest.raises(SessionStateError, match="has ended"):
        runtime.terminal_socket(shell)


def test_a_login_shell_greets_through_the_terminal(runtime: ProcessRuntime) -> None:
    spec = make_spec("/bin/bash", "-l", kind="interactive")
    runtime.start(spec)

    with attach(runtime.terminal_socket(spec.session_id)) as terminal:
        terminal.send(b"echo $TERM $HOME $((6*7))\n")

        read_until(terminal, b"xterm-256color /home/work 42")
