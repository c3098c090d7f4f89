"""The whole path in a real browser: `shipyard up` with its embedded agent, an interactive
session in a real sandbox, and its terminal typed into through xterm.js and the relay."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from shipyard.agent.runtime.process import ProcessRuntime
from tests.conftest import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
PASSWORD = "Terminal-pass-1!"


@pytest.fixture
def shipyard(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A running `shipyard up`; yields its URL and an admin API token."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_ADMIN_PASSWORD=PASSWORD, SHIPYARD_ARGON2_TIME_COST="1",
               SHIPYARD_ARGON2_MEMORY_KIB="8192")  # fmt: skip
    process = subprocess.Popen(
        [SHIPYARD, "up", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        token = _admin_token(url)
        yield url, token
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        runtime = ProcessRuntime(tmp_path / "data" / "agent" / "sessions")
        for status in runtime.list():
            runtime.terminate(status.session_id, grace=1)
            runtime.remove(status.session_id)


def _admin_token(url: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            reply = httpx.post(
                f"{url}/api/v1/auth/login",
                json={"email": "admin@shipyard.local", "password": PASSWORD},
            )
            if reply.status_code == 201:
                return str(reply.json()["token"])
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("shipyard up did not come up")


def _running_shell(url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"type": "interactive", "resources": {"cpu": "0.5", "mem": "256m"}}
    deadline = time.monotonic() + 30
    created = None
    while created is None and time.monotonic() < deadline:
        reply = httpx.post(f"{url}/api/v1/sessions", json=body, headers=headers)
        if reply.status_code == 201:
            created = reply.json()
        else:  # the embedded agent may not have joined yet
            time.sleep(0.3)
    assert created is not None, "could not create a session"
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/api/v1/sessions/{created['id']}", headers=headers).json()
        if status["status"] == "RUNNING":
            return str(created["id"])
        time.sleep(0.1)
    raise AssertionError("the session never ran")


def test_typing_into_a_sandboxed_terminal(page: Page, shipyard: tuple[str, str]) -> None:
    url, token = shipyard
    session_id = _running_shell(url, token)
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill("admin@shipyard.local")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/")

    page.goto(f"{url}/sessions/{session_id}/terminal")
    expect(page.get_by_role("status")).to_have_text("Connected")
    terminal = page.get_by_role("application", name="Terminal", exact=False)
    terminal.click()
    page.keyboard.type("echo hello-$((6*7)) from $(id -u)\n")
    # the admin's own session uid (200000 + their number), never the shared nobody
    expect(page.locator(".xterm-rows")).to_contain_text(
        re.compile(r"hello-42 from 2\d{5}"), timeout=10000
    )

    page.keyboard.type("exit\n")
    expect(page.get_by_role("status")).to_have_text("The terminal has closed.", timeout=10000)
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        ended = httpx.get(f"{url}/api/v1/sessions/{session_id}", headers=headers).json()
        if ended["status"] == "TERMINATED":
            break
        time.sleep(0.2)
    assert ended["status"] == "TERMINATED"
