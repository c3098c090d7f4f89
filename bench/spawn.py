"""START -> RUNNING with the terminal ready, against a bare bubblewrap launch as the floor.

Starts `shipyard up` (manager + embedded agent, real sandboxed sessions) in a throwaway data
dir, logs in to the console, then N times: creates an interactive session through the API
and waits until its terminal answers over the WebSocket the browser uses (the prompt's first
bytes), then terminates it and waits for it to end. Beside it, the same number of bare
`bwrap ... /bin/true` launches give the floor. Prints one JSON line; logs go to stderr.

    .venv/bin/python bench/spawn.py [--sessions 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import BenchFailed, ms, shipyard_process
from websockets.asyncio.client import connect

PASSWORD = "Bench-pass-1!"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
TARGET_P50_MS = 150
JUPYTERHUB_LOCAL_SPAWN_MS = 4700  # DESIGN §11, measured on this machine class


def note(message: str) -> None:
    print(f"spawn: {message}", file=sys.stderr, flush=True)


def login(client: httpx.Client) -> str:
    """Log in through the console form; returns the session's CSRF token."""
    form = client.get("/login").text
    token = CSRF_FIELD.search(form)
    if token is None:
        raise BenchFailed("no CSRF token on the login page")
    landed = client.post(
        "/login",
        data={"email": "admin@shipyard.local", "password": PASSWORD, "csrf_token": token[1]},
        follow_redirects=True,
    )
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', landed.text)
    if landed.status_code != 200 or meta is None:
        raise BenchFailed("login failed")
    return meta[1]


def wait_agent(client: httpx.Client, csrf: str) -> None:
    body = {"type": "interactive", "resources": {"cpu": "0.5", "mem": "256m"}}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        check = client.post("/api/v1/sessions/check", json=body, headers={"X-CSRF-Token": csrf})
        if check.status_code == 200 and check.json()["fits"]:
            return
        time.sleep(0.2)
    raise BenchFailed("the embedded agent never joined")


async def terminal_ready(base: str, cookie: str, session_id: str, deadline: float) -> None:
    """Connect the browser's WebSocket until the terminal sends its first bytes."""
    url = base.replace("http://", "ws://") + f"/sessions/{session_id}/terminal/ws"
    headers = {"Cookie": f"shipyard_session={cookie}", "Origin": base}
    while time.monotonic() < deadline:
        try:
            async with connect(url, additional_headers=headers, open_timeout=5) as socket_:
                await socket_.send(b"\n")
                message = await asyncio.wait_for(socket_.recv(), timeout=5)
                if message:
                    return
        except Exception:
            await asyncio.sleep(0.002)
    raise BenchFailed(f"terminal of {session_id} never answered")


def one_start(client: httpx.Client, base: str, csrf: str, cookie: str) -> float:
    body = {"type": "interactive", "resources": {"cpu": "0.5", "mem": "256m"}}
    started = time.perf_counter()
    created = client.post("/api/v1/sessions", json=body, headers={"X-CSRF-Token": csrf})
    if created.status_code != 201:
        raise BenchFailed(f"create answered {created.status_code}: {created.text[:200]}")
    session_id = created.json()["id"]
    asyncio.run(terminal_ready(base, cookie, session_id, time.monotonic() + 30))
    elapsed = time.perf_counter() - started
    client.delete(f"/api/v1/sessions/{session_id}", headers={"X-CSRF-Token": csrf})
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/sessions/{session_id}").json()["status"] not in (
        "TERMINATED",
        "ERROR",
    ):
        if time.monotonic() > deadline:
            raise BenchFailed(f"{session_id} did not end")
        time.sleep(0.05)
    return elapsed


def bare_bwrap(n: int) -> list[float]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise BenchFailed("bubblewrap is not installed")
    command = [bwrap, "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
               "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
               "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--cap-drop", "ALL",
               "/bin/true"]  # fmt: skip
    times = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - started)
    return times


def run(n: int, data_dir: Path) -> dict[str, Any]:
    floor = bare_bwrap(n)
    env = {**os.environ, "SHIPYARD_ADMIN_PASSWORD": PASSWORD}
    up = shipyard_process(["up", "--data-dir", str(data_dir)], env=env)
    with up as (base, _process), httpx.Client(base_url=base, timeout=30) as client:
        csrf = login(client)
        cookie = client.cookies["shipyard_session"]
        wait_agent(client, csrf)
        one_start(client, base, csrf, cookie)  # warm-up
        note(f"{n} interactive sessions, one after another")
        starts = [one_start(client, base, csrf, cookie) for _ in range(n)]
    p50 = ms(starts, 50)
    return {
        "bench": "spawn",
        "sessions": n,
        "start_to_terminal_ms": {
            "p50": p50,
            "p99": ms(starts, 99),
            "max": round(max(starts) * 1e3, 2),
        },
        "bare_bwrap_ms": {"p50": ms(floor, 50), "p99": ms(floor, 99)},
        "ratio_to_bare_bwrap_p50": round(p50 / ms(floor, 50), 1),
        "ratio_to_jupyterhub_local_spawn": round(p50 / JUPYTERHUB_LOCAL_SPAWN_MS, 3),
        "target_p50_ms": TARGET_P50_MS,
        "met": p50 <= TARGET_P50_MS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-spawn-") as data_dir:
        try:
            result = run(args.sessions, Path(data_dir))
        except (BenchFailed, httpx.HTTPError) as exc:
            note(f"FAILED: {exc}")
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
