"""The rescan finds virtual environments, and disables those that vanished."""

from __future__ import annotations

import shutil
from pathlib import Path

from shipyard.db import Database
from shipyard.environments import service as environments
from tests.factories import Factory


def fake_venv(root: Path, name: str) -> Path:
    venv = root / name
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    return venv


def test_rescan_adds_keeps_and_disables(
    tmp_path: Path, database: Database, factory: Factory
) -> None:
    fake_venv(tmp_path, "torch")
    gone = fake_venv(tmp_path, "old")
    (tmp_path / "not-a-venv").mkdir()
    fake_venv(tmp_path, "python")  # clashes with the built-in one: left alone
    with database.session() as db:
        first = environments.rescan(db, [tmp_path, tmp_path / "missing"])
    assert sorted(first.added) == ["old", "torch"]
    shutil.rmtree(gone)
    with database.session() as db:
        second = environments.rescan(db, [tmp_path])
        enabled = [env.name for env in environments.list_enabled(db)]
    assert second.added == []
    assert second.kept == ["torch"]
    assert second.disabled == ["old"]
    assert enabled == ["python", "torch"]
