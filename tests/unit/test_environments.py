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


def test_a_rescan_brings_back_a_vanished_environment_but_not_one_an_admin_disabled(
    tmp_path: Path, database: Database, factory: Factory
) -> None:
    fake_venv(tmp_path, "torch")
    moved = fake_venv(tmp_path, "jax")
    admin = factory.admin().user
    with database.session() as db:
        environments.rescan(db, [tmp_path])
        environments.set_enabled(db, actor=admin, name="torch", enabled=False)
    away = tmp_path / "elsewhere"  # not a venv itself; rescans look one level down only
    away.mkdir()
    shutil.move(moved, away / "jax")
    with database.session() as db:
        assert environments.rescan(db, [tmp_path]).disabled == ["jax"]
    shutil.move(away / "jax", moved)
    with database.session() as db:
        again = environments.rescan(db, [tmp_path])
        enabled = {env.name for env in environments.list_enabled(db)}
    assert sorted(again.kept) == ["jax", "torch"]
    assert "jax" in enabled
    assert "torch" not in enabled  # the admin's choice stands
    with database.session() as db:
        environments.set_enabled(db, actor=admin, name="torch", enabled=True)
        environments.rescan(db, [tmp_path])
        assert "torch" in {env.name for env in environments.list_enabled(db)}
