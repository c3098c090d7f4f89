"""Only a superadmin changes another administrator, in the console too (finding 7).

Each form and dialog that changes a user is posted by a plain admin for a superadmin and for
another admin: 403, the reason on the page, and the target as it was.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.db import Database
from shipyard.users.models import Role, UserStatus
from tests.admin_helpers import facts, inactive, with_two_factor
from tests.factories import Account, Factory
from tests.webclient import session_csrf

TARGETS = {"superadmin": Role.SUPERADMIN, "another admin": Role.ADMIN}


@pytest.fixture
def plain_admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def post(client: TestClient, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, follow_redirects=False
    )
    return response


FORMS: dict[str, tuple[str, dict[str, str | list[str]]]] = {
    "edit form": ("", {"full_name": "Renamed By Admin", "projects": []}),
    "deactivate": ("/deactivate", {}),
    "reset 2fa": ("/reset-2fa", {}),
    "reset password": ("/reset-password", {"generate": "1"}),
}


@pytest.mark.parametrize("target_role", TARGETS.values(), ids=TARGETS.keys())
@pytest.mark.parametrize("form", FORMS.keys())
def test_a_plain_admin_changes_no_other_administrator(
    client: TestClient,
    factory: Factory,
    database: Database,
    plain_admin: Account,
    target_role: Role,
    form: str,
) -> None:
    target = factory.user(role=target_role)
    with_two_factor(database, target)
    before = facts(database, target)
    action, data = FORMS[form]
    answer = post(client, f"/admin/users/{target.user.id}{action}", data)
    assert answer.status_code == 403, answer.text
    assert "Only a superadmin may" in answer.text
    assert facts(database, target) == before


@pytest.mark.parametrize("target_role", TARGETS.values(), ids=TARGETS.keys())
def test_a_plain_admin_reactivates_no_other_administrator(
    client: TestClient,
    factory: Factory,
    database: Database,
    plain_admin: Account,
    target_role: Role,
) -> None:
    target = factory.user(role=target_role)
    inactive(database, target)
    answer = post(client, f"/admin/users/{target.user.id}/activate", {})
    assert answer.status_code == 403
    assert facts(database, target).status is UserStatus.INACTIVE


def test_the_page_offers_no_reset_of_another_administrator(
    client: TestClient, factory: Factory, database: Database, plain_admin: Account
) -> None:
    boss = factory.user(role=Role.SUPERADMIN)
    with_two_factor(database, boss)
    page = client.get(f"/admin/users/{boss.user.id}").text
    assert f"/admin/users/{boss.user.id}/reset-2fa" not in page
    ordinary = factory.user()
    with_two_factor(database, ordinary)
    page = client.get(f"/admin/users/{ordinary.user.id}").text
    assert f"/admin/users/{ordinary.user.id}/reset-2fa" in page


def test_a_plain_admin_still_edits_ordinary_users(
    client: TestClient, factory: Factory, database: Database, plain_admin: Account
) -> None:
    target = factory.user()
    with_two_factor(database, target)
    saved = post(client, f"/admin/users/{target.user.id}", {"full_name": "Renamed", "projects": []})
    assert saved.status_code == 200
    assert post(client, f"/admin/users/{target.user.id}/reset-2fa", {}).status_code == 303
    after = facts(database, target)
    assert (after.full_name, after.totp_enabled) == ("Renamed", False)
