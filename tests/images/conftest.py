"""Fixtures for the image tests: the real tools, a loopback registry, tiny images.

Needs root and skopeo, umoci, mmdebstrap, bubblewrap, docker-registry, htpasswd and
busybox-static (tools/system-deps.sh test installs them); where any is missing the lane
fails and says so. Debian bases are cached under ~/.cache/shipyard/tests/images/ (or
$SHIPYARD_TEST_CACHE/images) between runs, fresh clones included.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shipyard.environments.images.progress import Progress
from shipyard.environments.images.store import ImageStore
from tests.conftest import free_port

# Outside the checkout, so that a fresh clone (CI's) reuses what an earlier run built.
CACHE_DIR = (
    Path(os.environ.get("SHIPYARD_TEST_CACHE", Path.home() / ".cache" / "shipyard" / "tests"))
    / "images"
)
TOOLS = ("skopeo", "umoci", "mmdebstrap", "bwrap", "docker-registry", "htpasswd", "busybox")
REGISTRY_USER = "alice"
REGISTRY_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session", autouse=True)
def image_tools() -> None:
    """Fail the lane at once, with the reason, where the image tools are missing."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    problems = (
        [f"missing tools: {' '.join(missing)} (tools/system-deps.sh test)"] if missing else []
    )
    if os.geteuid() != 0:
        problems.append("the image tests must run as root (mmdebstrap, umoci keep owners)")
    if problems:
        pytest.fail("cannot run the image tests on this machine: " + "; ".join(problems))


@dataclass
class Recorder:
    """An OnProgress that keeps every report, for tests to read."""

    reports: list[Progress] = field(default_factory=list)

    def __call__(self, progress: Progress) -> None:
        self.reports.append(progress)

    @property
    def lines(self) -> list[str]:
        return [r.line for r in self.reports if r.line is not None]


@pytest.fixture
def progress() -> Recorder:
    return Recorder()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore.in_data_dir(tmp_path / "data")


def leftovers(store: ImageStore) -> list[str]:
    """What a failed operation may have left: staging work dirs, blobs, index entries."""
    staged = list(store.staging_root.iterdir()) if store.staging_root.exists() else []
    blobs_dir = store.layout / "blobs" / "sha256"
    blobs = list(blobs_dir.iterdir()) if blobs_dir.exists() else []
    return [str(p) for p in [*staged, *blobs]] + store.refs()


def run(*argv: str | Path) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def busybox_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCI layout with image `bb`: busybox-static, a default command and labels."""
    root = tmp_path_factory.mktemp("busybox")
    layout, rootfs = root / "oci", root / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(shutil.which("busybox") or "", rootfs / "bin" / "busybox")
    (rootfs / "bin" / "sh").symlink_to("busybox")
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:bb")
    run("umoci", "insert", "--image", f"{layout}:bb", rootfs / "bin", "/bin")
    run(
        "umoci", "config", "--image", f"{layout}:bb",
        "--config.cmd=/bin/sh", "--config.cmd=-c", "--config.cmd=echo hello from busybox",
        "--config.env=GREETING=hello", "--config.workingdir=/srv",
        "--config.label=ai.shipyard.apps=terminal",
    )  # fmt: skip
    return layout


@dataclass(frozen=True)
class Registry:
    host: str
    user: str
    password: str

    def authfile(self, folder: Path) -> Path:
        pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        path = folder / "auth.json"
        path.write_text(json.dumps({"auths": {self.host: {"auth": pair}}}))
        return path


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's docker-registry on 127.0.0.1 (plain HTTP), htpasswd (bcrypt) auth."""
    root = tmp_path_factory.mktemp("registry")
    htpasswd = run("htpasswd", "-Bbn", REGISTRY_USER, REGISTRY_PASSWORD)
    (root / "htpasswd").write_text(htpasswd)
    host = f"127.0.0.1:{free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": host},
        "auth": {"htpasswd": {"realm": "test", "path": str(root / "htpasswd")}},
    }
    (root / "config.yml").write_text(json.dumps(config))  # YAML reads JSON
    with (root / "log").open("w") as log:
        server = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_until_up(host, server)
        yield Registry(host=host, user=REGISTRY_USER, password=REGISTRY_PASSWORD)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(host: str, server: subprocess.Popen[bytes]) -> None:
    for _attempt in range(100):
        assert server.poll() is None, "docker-registry exited at start"
        try:
            if httpx.get(f"http://{host}/v2/", timeout=1).status_code == 401:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("docker-registry did not answer on " + host)


@pytest.fixture(scope="session")
def pushed(
    registry: Registry, busybox_layout: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The busybox image pushed into the registry; its reference."""
    reference = f"{registry.host}/tests/busybox:1"
    authfile = registry.authfile(tmp_path_factory.mktemp("push-auth"))
    run("skopeo", "copy", "--dest-tls-verify=false", "--dest-authfile", authfile,
        f"oci:{busybox_layout}:bb", f"docker://{reference}")  # fmt: skip
    return reference
