"""A built wheel is self-contained: web assets, catalogs and migrations travel inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_assets_catalogs_and_migrations(tmp_path: Path) -> None:
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
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("shipyard-*.whl")
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
