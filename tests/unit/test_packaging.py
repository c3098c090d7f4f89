"""A built wheel is self-contained: web assets, catalogs and migrations travel inside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: what a wheel is built from (the sdist's files, less tests and benches)
SOURCES = ("src", "tools", "package.json", "package-lock.json", "babel.cfg", "README.md")


def checkout_copy(into: Path) -> Path:
    """The project's sources copied to `into`, node_modules linked: building the wheel runs
    tools/build_assets.py, which rebuilds vendor/ from scratch, and must never do that
    under the servers of lanes running beside this one (they answered 500 meanwhile)."""
    for name in (*SOURCES, "pyproject.toml", "LICENSE"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    (into / "node_modules").symlink_to(ROOT / "node_modules")
    return into


def test_the_wheel_carries_assets_catalogs_and_migrations(tmp_path: Path) -> None:
    source = checkout_copy(tmp_path / "checkout")
    built = tmp_path / "wheel"
    vendor = ROOT / "src/shipyard/web/static/vendor"
    before = vendor.stat().st_mtime_ns
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(built),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    assert vendor.stat().st_mtime_ns == before  # the live checkout's assets were left alone
    (wheel,) = built.glob("shipyard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "shipyard/web/static/vendor/htmx/htmx.min.js",
        "shipyard/web/static/vendor/tabler/tabler.min.css",
        "shipyard/web/static/vendor/tabler/tabler.min.js",
        "shipyard/web/static/vendor/icons/logout.svg",
        "shipyard/web/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "shipyard/locale/ko/LC_MESSAGES/messages.mo",
        "shipyard/migrations/versions/0001_identity.py",
        "shipyard/web/templates/page.html",
    ):
        assert expected in names, expected
    assert not any(name.startswith("tests/") for name in names)
