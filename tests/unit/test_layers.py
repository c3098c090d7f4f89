"""The layer contract (pyproject.toml [tool.importlinter]) holds, and catches an upward import.

import-linter builds the import graph of whichever `shipyard` is first on sys.path, so the
planted case runs it on a copy of the package in which one low module imports a high one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(*, source: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plant(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of src/shipyard with `line` added to `module` (a path inside the package)."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "shipyard",
        source / "shipyard",
        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "locale"),
    )
    target = source / "shipyard" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return source


def test_the_tree_keeps_every_layer_contract(tmp_path: Path) -> None:
    result = lint(source=ROOT / "src", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_domain_importing_the_console_breaks_the_contract(tmp_path: Path) -> None:
    source = plant(tmp_path, "resources/slots.py", "import shipyard.web.deps  # planted")

    result = lint(source=source, cwd=tmp_path)

    assert result.returncode != 0
    assert "shipyard.resources.slots -> shipyard.web.deps" in result.stdout


def test_the_api_importing_the_console_breaks_the_contract(tmp_path: Path) -> None:
    source = plant(tmp_path, "api/deps.py", "import shipyard.web.htmx  # planted")

    result = lint(source=source, cwd=tmp_path)

    assert result.returncode != 0
    assert "shipyard.api.deps -> shipyard.web.htmx" in result.stdout
