"""Batch sessions: exit codes, logs, environment, and commands that cannot run."""

from __future__ import annotations

import time

from shipyard.agent.runtime.base import NOT_EXECUTABLE_EXIT, NOT_FOUND_EXIT
from shipyard.agent.runtime.process import ProcessRuntime
from tests.agent.helpers import make_spec, run_batch, supervisors_of, wait_exited, wait_for


def test_exit_code_and_both_output_streams(runtime: ProcessRuntime) -> None:
    spec = make_spec("sh", "-c", "echo out; echo err >&2; exit 3")

    status, output = run_batch(runtime, spec)

    assert (status.running, status.exit_code, status.error) == (False, 3, None)
    assert not status.oom_killed
    assert output == "out\nerr\n"


def test_logs_are_read_incrementally_from_an_offset(runtime: ProcessRuntime) -> None:
    spec = make_spec("sh", "-c", "echo first; echo second")
    run_batch(runtime, spec)

    head, offset = runtime.read_logs(spec.session_id, limit=6)
    rest, end = runtime.read_logs(spec.session_id, offset=offset)
    after, same = runtime.read_logs(spec.session_id, offset=end)

    assert (head, offset) == (b"first\n", 6)
    assert (rest, end) == (b"second\n", 13)
    assert (after, same) == (b"", 13)


def test_logs_grow_while_the_session_runs(runtime: ProcessRuntime) -> None:
    spec = make_spec("sh", "-c", "echo one; sleep 30")
    runtime.start(spec)

    deadline = time.monotonic() + 10
    data, offset = b"", 0
    while data != b"one\n" and time.monotonic() < deadline:
        data, offset = runtime.read_logs(spec.session_id)
        time.sleep(0.01)

    assert (data, offset) == (b"one\n", 4)
    assert runtime.status(spec.session_id).running  # type: ignore[union-attr]


def test_the_environment_is_the_specs_and_nothing_of_the_agents(runtime: ProcessRuntime) -> None:
    spec = make_spec("env", env={"GREETING": "it's a $test `x`", "PATH": "/usr/bin:/bin"})

    status, output = run_batch(runtime, spec)

    env = dict(line.split("=", 1) for line in output.splitlines())
    assert status.exit_code == 0
    assert env["GREETING"] == "it's a $test `x`"
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["HOME"] == "/home/work"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert "PYTEST_CURRENT_TEST" not in env
    assert set(env) <= {"GREETING", "PATH", "HOME", "CUDA_VISIBLE_DEVICES", "PWD"}


def test_assigned_gpus_are_visible_as_cuda_devices(runtime: ProcessRuntime) -> None:
    spec = make_spec("sh", "-c", 'echo "[$CUDA_VISIBLE_DEVICES]"', gpus=(0, 2))

    _, output = run_batch(runtime, spec)

    assert output == "[0,2]\n"


def test_a_command_that_does_not_exist_ends_the_session_at_once(runtime: ProcessRuntime) -> None:
    spec = make_spec("no-such-command-anywhere", "--flag")

    started = runtime.start(spec)

    assert not started.running
    assert started.exit_code == NOT_FOUND_EXIT
    assert started.error == "failed to start: command not found: no-such-command-anywhere"
    assert started.finished_at is not None


def test_a_missing_script_in_the_home_folder_is_not_found(runtime: ProcessRuntime) -> None:
    spec = make_spec("./run.sh")

    status = runtime.start(spec)

    assert (status.exit_code, status.error) == (
        NOT_FOUND_EXIT,
        "failed to start: command not found: ./run.sh",
    )


def test_a_file_that_is_not_executable_cannot_be_run(runtime: ProcessRuntime) -> None:
    spec = make_spec("/usr/lib/os-release")

    status = runtime.start(spec)

    assert (status.exit_code, status.error) == (
        NOT_EXECUTABLE_EXIT,
        "failed to start: command not executable: /usr/lib/os-release",
    )


def test_a_command_outside_the_sandbox_is_not_found(runtime: ProcessRuntime) -> None:
    spec = make_spec("/root/.pyenv/versions/3.11.7/bin/python3")

    status = runtime.start(spec)

    assert status.exit_code == NOT_FOUND_EXIT


def test_a_second_start_of_the_same_id_runs_one_supervisor(runtime: ProcessRuntime) -> None:
    spec = make_spec("sleep", "30")

    first = runtime.start(spec)
    second = runtime.start(spec)

    assert second.pid == first.pid
    assert supervisors_of(spec.session_id) == [first.pid]


def test_a_session_that_exits_on_its_own_is_reported_exited(runtime: ProcessRuntime) -> None:
    spec = make_spec("true")

    runtime.start(spec)
    status = wait_exited(runtime, spec.session_id)

    assert (status.exit_code, status.error, status.oom_killed) == (0, None, False)
    wait_for(lambda: not supervisors_of(spec.session_id), what="the supervisor to exit")
