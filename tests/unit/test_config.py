"""Settings: defaults, TOML file, SHIPYARD_* environment, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shipyard.config import CONFIG_ENV, Settings, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SHIPYARD_* variables during a test, and none left behind after it.

    `load_settings` records the config file in the environment; setting each name first makes
    monkeypatch remember it, so teardown removes what a test left there (later tests in the
    same process would otherwise read that config file).
    """
    for name in ("SHIPYARD_DATA_DIR", "SHIPYARD_DATABASE_URL", "SHIPYARD_PORT", CONFIG_ENV):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_defaults_are_the_embedded_sqlite_on_loopback(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.host == "127.0.0.1"
    assert settings.port == 8090
    assert settings.is_sqlite
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'shipyard.db'}"


def test_toml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "shipyard.toml"
    config.write_text('port = 9000\ndata_dir = "/srv/shipyard"\nsession_idle_minutes = 30\n')
    monkeypatch.setenv("SHIPYARD_PORT", "9100")
    settings = load_settings(config)
    assert settings.port == 9100
    assert settings.data_dir == Path("/srv/shipyard")
    assert settings.session_idle_minutes == 30


def test_postgres_urls_use_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", "postgresql://ship:pw@db:5432/shipyard")
    settings = Settings()
    assert settings.effective_database_url == "postgresql+psycopg://ship:pw@db:5432/shipyard"
    assert not settings.is_sqlite


def test_unknown_keys_and_bad_values_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("prot = 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        load_settings(config)
    with pytest.raises(ValidationError, match="port"):
        Settings(port=70000)


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.toml")
