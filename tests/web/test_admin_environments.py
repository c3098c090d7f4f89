"""The console's environments page (admins only): list, add, enable, disable, rescan."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.audit.models import AuditEntry
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.environments import service as environments
from tests.factories import Account, Factory
from tests.unit.test_environments import fake_venv
from tests.web.test_admin_agents import HTMX, INLINE_SCRIPT, STYLE_ATTRIBUTE, events, post
from tests.webclient import session_csrf

PATHS = [
    "/admin/environments",
    "/admin/environments/new",
    "/admin/environments/rescan",
    "/admin/environments/python/enabled",
]


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def enabled(database: Database, name: str) -> bool:
    with database.session() as db:
        return environments.by_name(db, name).enabled


@pytest.mark.parametrize("path", PATHS)
def test_normal_users_get_the_403_page(client: TestClient, factory: Factory, path: str) -> None:
    account = factory.user()
    factory.web_login(client, account)
    assert client.get(path).status_code == 403
    token = session_csrf(client)
    refused = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code in (403, 405)
    assert enabled(factory.database, "python")


def test_the_page_lists_environments(client: TestClient, admin: Account) -> None:
    html = client.get("/admin/environments").text
    assert 'data-environment="python"' in html
    assert ">Enabled<" in html
    assert "built-in" in html
    assert 'aria-label="Disable python"' in html
    for pattern in (INLINE_SCRIPT, STYLE_ATTRIBUTE):
        assert not pattern.search(html)


def test_add_an_environment(client: TestClient, database: Database, admin: Account) -> None:
    dialog = client.get("/admin/environments/new", headers=HTMX).text
    assert 'id="dialog-title">Add environment<' in dialog
    relative = post(
        client, "/admin/environments/new", {"name": "torch", "interpreter": "bin/python"}
    )
    assert "The interpreter must be an absolute path." in relative.text
    assert 'aria-invalid="true"' in relative.text
    bad_name = post(client, "/admin/environments/new", {"name": "-x"})
    assert "starts with a letter or digit" in bad_name.text
    added = post(
        client,
        "/admin/environments/new",
        {"name": "torch", "interpreter": "/usr/bin/python3", "description": "PyTorch"},
    )
    assert events(added)["shipyard:dialog-done"] == {"message": "Environment torch added."}
    twice = post(client, "/admin/environments/new", {"name": "torch"})
    assert "already exists" in twice.text
    html = client.get("/admin/environments").text
    assert "PyTorch" in html
    assert "added by an admin" in html


def test_disable_and_enable(client: TestClient, database: Database, admin: Account) -> None:
    dialog = client.get("/admin/environments/python/enabled?value=false", headers=HTMX).text
    assert "New sessions can no longer use this environment; running sessions go on." in dialog
    off = post(client, "/admin/environments/python/enabled", {"enabled": "false"})
    assert events(off)["shipyard:dialog-done"] == {
        "message": "Environment python is disabled: new sessions cannot use it."
    }
    assert not enabled(database, "python")
    assert ">Disabled<" in client.get("/admin/environments").text
    with database.session() as db:
        environments.register(db, name="other", interpreter="/usr/bin/python3")
    launcher = client.get("/sessions/launcher")
    assert launcher.status_code == 200
    assert '<option value="other"' in launcher.text
    assert '<option value="python"' not in launcher.text
    plain = post(client, "/admin/environments/python/enabled", {"enabled": "true"}, htmx=False)
    assert (plain.status_code, plain.headers["location"]) == (303, "/admin/environments")
    assert enabled(database, "python")
    missing = client.get("/admin/environments/nope/enabled")
    assert missing.status_code == 404


def test_rescan_shows_its_report(
    client: TestClient, database: Database, settings: Settings, tmp_path: Path, admin: Account
) -> None:
    settings.environment_dirs.append(tmp_path)
    fake_venv(tmp_path, "jax")
    dialog = client.get("/admin/environments/rescan", headers=HTMX).text
    assert str(tmp_path) in dialog
    report = post(client, "/admin/environments/rescan", {})
    assert report.status_code == 200
    assert "Rescan done" in report.text
    assert '<dd class="col-8">jax</dd>' in report.text
    assert "shipyard:admin-changed" in events(report)
    assert "found by rescan" in client.get("/admin/environments").text
    with database.session() as db:
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "environment.rescan")
        ).one()
        assert entry.details["added"] == ["jax"]
        assert entry.actor_email == admin.email
