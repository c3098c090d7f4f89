"""A large upload through the resumable (tus) HTTP API against a plain local write, same run.

Seeds a throwaway data dir, starts `shipyard manager` on a loopback port and uploads N MiB
(default 1024) of random-ish data (a random 8 MiB block, repeated) to a folder through
`POST /api/v1/folders/{ref}/uploads` + `PATCH` (one request, or pieces of --patch-mib),
timed until the file is published (the server fsyncs it). Beside it, the same bytes are
written to a file on the same disk with write + fsync. The two alternate for --rounds rounds
(this disk's speed swings from run to run) and the medians are compared. Meanwhile the
manager's VmRSS is sampled from /proc; its CPU time per GiB tells what the HTTP path costs
apart from the disk.
Prints one JSON line; logs go to stderr.

    .venv/bin/python bench/upload.py [--mib 1024] [--patch-mib 0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import BenchFailed, shipyard_process

from shipyard.admin import bootstrap
from shipyard.config import Settings
from shipyard.db import Database

PASSWORD = "Bench-pass-1!"
BLOCK = 8 << 20
PIECE = 1 << 20  # what the client hands to the socket at a time
TARGET_RATIO = 0.70
TARGET_RSS_GROWTH_MB = 64
MB = 10**6


def note(message: str) -> None:
    print(f"upload: {message}", file=sys.stderr, flush=True)


def payload(block: bytes, start: int, end: int) -> Iterator[memoryview]:
    """Bytes `start`..`end` of the block repeated, in `PIECE`s, without copying."""
    view = memoryview(block)
    position = start
    while position < end:
        offset = position % len(block)
        piece = view[offset : offset + min(PIECE, end - position, len(block) - offset)]
        yield piece
        position += len(piece)


def local_write(path: Path, block: bytes, total: int) -> float:
    """Seconds to write `total` bytes to a new file and fsync it."""
    started = time.perf_counter()
    with path.open("wb", buffering=0) as out:
        for piece in payload(block, 0, total):
            out.write(piece)
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_bytes(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise BenchFailed(f"no {key} for process {pid}")


class RssSampler(threading.Thread):
    """The largest VmRSS of a process seen while running, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.peak = vm_bytes(pid, "VmRSS")
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.01):
            self.peak = max(self.peak, vm_bytes(self.pid, "VmRSS"))

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def seed(data_dir: Path) -> Settings:
    settings = Settings(data_dir=data_dir, admin_password=PASSWORD)
    database = Database(settings.effective_database_url)
    try:
        bootstrap.prepare(settings, database)
    finally:
        database.dispose()
    return settings


def session(client: httpx.Client) -> str:
    """Log in as the admin and make a folder; returns the folder's id."""
    login = client.post(
        "/api/v1/auth/login", json={"email": "admin@shipyard.local", "password": PASSWORD}
    )
    if login.status_code != 201:
        raise BenchFailed(f"login answered {login.status_code}")
    client.headers["Authorization"] = f"Bearer {login.json()['token']}"
    folder = client.post("/api/v1/folders", json={"name": "bench"})
    if folder.status_code != 201:
        raise BenchFailed(f"folder creation answered {folder.status_code}: {folder.text[:200]}")
    folder_id: str = folder.json()["id"]
    return folder_id


def upload(
    client: httpx.Client, folder_id: str, block: bytes, *, name: str, total: int, piece: int
) -> None:
    tus = {"Tus-Resumable": "1.0.0"}
    created = client.post(
        f"/api/v1/folders/{folder_id}/uploads",
        headers={
            **tus,
            "Upload-Length": str(total),
            "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode(),
        },
    )
    if created.status_code != 201:
        raise BenchFailed(f"creation answered {created.status_code}: {created.text[:200]}")
    location = created.headers["Location"]
    for start in range(0, total, piece):
        end = min(start + piece, total)
        sent = client.patch(
            location,
            content=payload(block, start, end),
            headers={
                **tus,
                "Upload-Offset": str(start),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(end - start),
            },
        )
        if sent.status_code != 204:
            raise BenchFailed(f"PATCH at {start} answered {sent.status_code}: {sent.text[:200]}")


def check_and_remove(client: httpx.Client, folder_id: str, *, name: str, total: int) -> None:
    """The published file is there with every byte; removed to keep the disk free."""
    listed = client.get(f"/api/v1/folders/{folder_id}/files").json()["data"]
    if [(entry["name"], entry["size"]) for entry in listed] != [(name, total)]:
        raise BenchFailed(f"the folder holds {listed}, not {name} of {total} bytes")
    client.delete(f"/api/v1/folders/{folder_id}/files", params={"path": name})


@dataclass
class Tally:
    """Seconds per round for each path, the manager's CPU seconds, its memory."""

    local: list[float] = field(default_factory=list)
    http: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    hwm: int = 0


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    total, block = args.mib << 20, os.urandom(BLOCK)
    piece = (args.patch_mib << 20) or total
    settings = seed(data_dir)
    storage = settings.data_dir / "storage"
    storage.mkdir(exist_ok=True)
    env = {**os.environ, "SHIPYARD_DATA_DIR": str(data_dir)}
    tally = Tally()
    manager = shipyard_process(["manager"], env=env, log_path=data_dir / "manager.log")
    with manager as (base, process), httpx.Client(base_url=base, timeout=120) as client:
        folder_id = session(client)
        tally.rss_before = vm_bytes(process.pid, "VmRSS")
        sampler = RssSampler(process.pid)
        sampler.start()
        for round_ in range(args.rounds):
            note(f"round {round_ + 1}: local write + fsync, then tus upload, {args.mib} MiB each")
            tally.local.append(local_write(storage / "local.bin", block, total))
            started, cpu_before = time.perf_counter(), cpu_seconds(process.pid)
            name = f"big-{round_}.bin"
            upload(client, folder_id, block, name=name, total=total, piece=piece)
            tally.http.append(time.perf_counter() - started)
            tally.server_cpu += cpu_seconds(process.pid) - cpu_before
            check_and_remove(client, folder_id, name=name, total=total)
        tally.rss_peak = sampler.stop()
        tally.hwm = vm_bytes(process.pid, "VmHWM")
    return figures(tally, total=total, piece=piece)


def figures(tally: Tally, *, total: int, piece: int) -> dict[str, Any]:
    http_rates = [total / seconds / MB for seconds in tally.http]
    local_rates = [total / seconds / MB for seconds in tally.local]
    ratio = statistics.median(http_rates) / statistics.median(local_rates)
    growth_mb = (tally.rss_peak - tally.rss_before) / 2**20
    return {
        "bench": "upload",
        "bytes": total,
        "patch_bytes": piece,
        "rounds": len(tally.http),
        "http_mb_per_s": round(statistics.median(http_rates), 1),
        "local_write_fsync_mb_per_s": round(statistics.median(local_rates), 1),
        "http_runs_mb_per_s": [round(rate, 1) for rate in http_rates],
        "local_runs_mb_per_s": [round(rate, 1) for rate in local_rates],
        "ratio_http_to_local": round(ratio, 3),
        "server_cpu_s_per_gib": round(tally.server_cpu / (total * len(tally.http) / 2**30), 2),
        "server_rss_before_mb": round(tally.rss_before / 2**20, 1),
        "server_rss_peak_mb": round(tally.rss_peak / 2**20, 1),
        "server_rss_growth_mb": round(growth_mb, 1),
        "server_vm_hwm_mb": round(tally.hwm / 2**20, 1),
        "targets": {"ratio_min": TARGET_RATIO, "rss_growth_mb_max": TARGET_RSS_GROWTH_MB},
        "met": ratio >= TARGET_RATIO and growth_mb <= TARGET_RSS_GROWTH_MB,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="how much to upload")
    parser.add_argument("--patch-mib", type=int, default=0, help="bytes per PATCH; 0: one PATCH")
    parser.add_argument("--rounds", type=int, default=3, help="local write + upload pairs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-upload-") as data_dir:
        try:
            result = run(args, Path(data_dir))
        except (BenchFailed, httpx.HTTPError) as exc:
            note(f"FAILED: {exc}")
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
