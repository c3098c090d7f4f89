"""The announcement through the API: admins set, preview and clear it; everyone reads it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

ADMIN = "/api/v1/admin/announcement"
PUBLIC = "/api/v1/announcement"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


@pytest.fixture
def user(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.user())


def actions(database: Database) -> list[str]:
    with database.session() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))


@pytest.mark.smoke
def test_set_read_clear(
    client: TestClient, admin: dict[str, str], user: dict[str, str], database: Database
) -> None:
    assert client.get(PUBLIC, headers=user).status_code == 204
    message = "**Maintenance** on Friday, see [status](https://status.example.org)"
    saved = client.put(ADMIN, json={"message": message}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["enabled"] is True
    assert saved.json()["updated_by"].endswith("@example.org")

    shown = client.get(PUBLIC, headers=user).json()
    assert shown["message"] == message
    assert "<strong>Maintenance</strong>" in shown["html"]
    assert 'rel="noopener noreferrer"' in shown["html"]
    assert shown["updated_by"] is None  # who wrote it is for admins

    preview = client.post(f"{ADMIN}/preview", json={"message": message}, headers=admin)
    assert preview.json()["html"] == shown["html"]  # preview == what is saved and shown

    assert client.delete(ADMIN, headers=admin).status_code == 204
    assert client.get(PUBLIC, headers=user).status_code == 204
    assert client.get(ADMIN, headers=admin).json()["message"] == ""
    assert actions(database)[-2:] == [
        Action.ANNOUNCEMENT_SET.value,
        Action.ANNOUNCEMENT_CLEAR.value,
    ]


def test_a_hidden_announcement_is_saved_but_not_shown(
    client: TestClient, admin: dict[str, str], user: dict[str, str]
) -> None:
    client.put(ADMIN, json={"message": "draft", "enabled": False}, headers=admin)
    assert client.get(PUBLIC, headers=user).status_code == 204
    assert client.get(ADMIN, headers=admin).json()["message"] == "draft"


def test_hostile_markdown_is_inert(
    client: TestClient, admin: dict[str, str], user: dict[str, str]
) -> None:
    message = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    client.put(ADMIN, json={"message": message}, headers=admin)
    html = client.get(PUBLIC, headers=user).json()["html"]
    assert "<script" not in html
    assert "<img" not in html
    assert "href" not in html


def test_bad_input_changes_nothing(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    client.put(ADMIN, json={"message": "before"}, headers=admin)
    for body in ({"message": "x" * 5001}, {"message": "   "}, {"message": "a\x00b"}, {}):
        answer = client.put(ADMIN, json=body, headers=admin)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["message"]
    assert client.get(ADMIN, headers=admin).json()["message"] == "before"
    assert (
        client.post(f"{ADMIN}/preview", json={"message": "x" * 5001}, headers=admin).status_code
        == 422
    )
    assert actions(database).count(Action.ANNOUNCEMENT_SET.value) == 1


def test_the_limit_is_5000_characters(client: TestClient, admin: dict[str, str]) -> None:
    assert client.put(ADMIN, json={"message": "y" * 5000}, headers=admin).status_code == 200


def test_normal_users_may_only_read(
    client: TestClient, user: dict[str, str], database: Database
) -> None:
    assert client.get(ADMIN, headers=user).status_code == 403
    assert client.put(ADMIN, json={"message": "mine"}, headers=user).status_code == 403
    assert client.delete(ADMIN, headers=user).status_code == 403
    assert client.post(f"{ADMIN}/preview", json={"message": "x"}, headers=user).status_code == 403
    assert client.get(PUBLIC).status_code == 401
    assert not [a for a in actions(database) if a.startswith("announcement.")]
