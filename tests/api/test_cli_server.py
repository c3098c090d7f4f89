"""`shipyard up`, `shipyard manager` and `shipyard db upgrade` as real processes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.webclient import csrf_of

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_ARGON2_TIME_COST"] = "1"
    env["SHIPYARD_ARGON2_MEMORY_KIB"] = "8192"
    return env


def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60  # a loaded CI machine starts the app slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.communicate()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become ready")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    data_dir = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [SHIPYARD, "up", "--data-dir", str(data_dir), "--port", str(port)],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url, process, data_dir
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)


def test_up_creates_the_admin_once_and_serves_the_console(
    started: tuple[str, subprocess.Popen[str], Path],
) -> None:
    url, _process, data_dir = started
    password_file = data_dir / "initial-admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    with httpx.Client(base_url=url) as browser:
        form = browser.get("/login")
        assert form.status_code == 200
        landed = browser.post(
            "/login",
            data={
                "email": "admin@shipyard.local",
                "password": password,
                "csrf_token": csrf_of(form.text),
            },
            follow_redirects=True,
        )
    assert str(landed.url) == f"{url}/"
    assert "Summary" in landed.text


def test_the_password_is_printed_once_and_not_regenerated(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    outputs = []
    for _attempt in range(2):
        port = free_port()
        process = subprocess.Popen(
            [SHIPYARD, "up", "--data-dir", str(data_dir), "--port", str(port)],
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_ready(f"http://127.0.0.1:{port}", process)
        process.send_signal(signal.SIGINT)
        outputs.append(process.communicate(timeout=15)[0])
    password = (data_dir / "initial-admin-password").read_text().strip()
    assert password in outputs[0]
    assert "First administrator" in outputs[0]
    assert "First administrator" not in outputs[1]
    assert password not in outputs[1]


def test_admin_password_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {**clean_env(), "SHIPYARD_ADMIN_PASSWORD": "Chosen-pass-42"}
    process = subprocess.Popen(
        [SHIPYARD, "up", "--data-dir", str(tmp_path / "d"), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        token = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"email": "admin@shipyard.local", "password": "Chosen-pass-42"},
        )
        assert token.status_code == 201
        assert token.json()["user"]["role"] == "superadmin"
        assert not (tmp_path / "d" / "initial-admin-password").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)


def test_manager_refuses_an_unmigrated_database_until_db_upgrade(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    refused = subprocess.run(
        [SHIPYARD, "manager", "--data-dir", str(data_dir), "--port", str(free_port())],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 1
    assert "shipyard db upgrade" in refused.stderr
    upgraded = subprocess.run(
        [SHIPYARD, "db", "upgrade", "--data-dir", str(data_dir)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Schema at revision" in upgraded.stdout


def test_a_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = 'many'\n")
    result = subprocess.run(
        [SHIPYARD, "up", "--config", str(config), "--data-dir", str(tmp_path / "d")],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "invalid configuration" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    env = {**clean_env(), "SHIPYARD_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    result = subprocess.run(
        [SHIPYARD, "db", "upgrade", "--data-dir", str(tmp_path / "d")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr
