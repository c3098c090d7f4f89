"""Only a superadmin changes another administrator, through the API and the CLI (finding 7).

A plain admin used to reset a superadmin's 2FA and change a superadmin's name and policy.
Every user-administration change is tried by a plain admin against a superadmin and against
another admin: each is refused with 403 and leaves the target exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shipyard.cli.main import app as cli
from shipyard.db import Database
from shipyard.users.models import Role, UserStatus
from tests.admin_helpers import facts, inactive, with_two_factor
from tests.api.test_cli_admin_users import as_user
from tests.factories import Account, Factory

runner = CliRunner()


def bearer(client: TestClient, account: Account) -> dict[str, str]:
    body = {"email": account.email, "password": account.password}
    return {
        "Authorization": f"Bearer {client.post('/api/v1/auth/login', json=body).json()['token']}"
    }


@pytest.fixture
def plain_admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


@pytest.fixture
def choices(factory: Factory) -> dict[str, str]:
    """A user policy and a project a change could move the target to."""
    holder = factory.user()
    policy = factory.user_policy(holder.user, max_sessions=1)
    return {"policy": policy.name, "project": factory.project().name}


TARGETS = {"superadmin": Role.SUPERADMIN, "another admin": Role.ADMIN}
CHANGES: dict[str, tuple[str, Any]] = {
    "name": ("PATCH", {"full_name": "Renamed By Admin"}),
    "policy": ("PATCH", {"resource_policy": "{policy}"}),
    "projects": ("PATCH", {"projects": ["{project}"]}),
    "role": ("PATCH", {"role": "user"}),
    "status": ("PATCH", {"status": "inactive"}),
    "deactivate": ("POST /deactivate", None),
    "password": ("POST /reset-password", {"generate": True}),
    "2fa": ("POST /reset-2fa", None),
}


def filled(body: Any, choices: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {key: filled(value, choices) for key, value in body.items()}
    if isinstance(body, list):
        return [filled(item, choices) for item in body]
    return body.format(**choices) if isinstance(body, str) else body


@pytest.mark.parametrize("target_role", TARGETS.values(), ids=TARGETS.keys())
@pytest.mark.parametrize("change", CHANGES.keys())
def test_a_plain_admin_changes_no_other_administrator(
    client: TestClient,
    factory: Factory,
    database: Database,
    plain_admin: dict[str, str],
    choices: dict[str, str],
    target_role: Role,
    change: str,
) -> None:
    target = factory.user(role=target_role)
    with_two_factor(database, target)
    before = facts(database, target)
    verb, body = CHANGES[change]
    method, _space, action = verb.partition(" ")
    answer = client.request(
        method,
        f"/api/v1/admin/users/{target.user.id}{action}",
        json=filled(body, choices),
        headers=plain_admin,
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "permission_denied"
    assert facts(database, target) == before


@pytest.mark.parametrize("target_role", TARGETS.values(), ids=TARGETS.keys())
def test_a_plain_admin_reactivates_no_other_administrator(
    client: TestClient,
    factory: Factory,
    database: Database,
    plain_admin: dict[str, str],
    target_role: Role,
) -> None:
    target = factory.user(role=target_role)
    inactive(database, target)
    answer = client.post(f"/api/v1/admin/users/{target.user.id}/activate", headers=plain_admin)
    assert answer.status_code == 403
    assert facts(database, target).status is UserStatus.INACTIVE


def test_a_plain_admin_still_manages_ordinary_users(
    client: TestClient,
    factory: Factory,
    database: Database,
    plain_admin: dict[str, str],
    choices: dict[str, str],
) -> None:
    target = factory.user()
    with_two_factor(database, target)
    base = f"/api/v1/admin/users/{target.user.id}"
    change = {"full_name": "Renamed", "resource_policy": choices["policy"]}
    assert client.patch(base, json=change, headers=plain_admin).status_code == 200
    assert client.post(f"{base}/reset-2fa", headers=plain_admin).status_code == 200
    reset = client.post(f"{base}/reset-password", json={"generate": True}, headers=plain_admin)
    assert reset.status_code == 200
    after = facts(database, target)
    assert (after.full_name, after.totp_enabled) == ("Renamed", False)


def test_unchanged_fields_of_another_admin_pass(
    client: TestClient, factory: Factory, database: Database, plain_admin: dict[str, str]
) -> None:
    """The console's form sends every field: an untouched one is no change."""
    target = factory.admin()
    before = facts(database, target)
    same = {"full_name": before.full_name, "role": "admin", "projects": []}
    answer = client.patch(f"/api/v1/admin/users/{target.user.id}", json=same, headers=plain_admin)
    assert answer.status_code == 200, answer.text
    assert facts(database, target) == before


def test_a_superadmin_changes_other_administrators(
    client: TestClient, factory: Factory, database: Database
) -> None:
    boss = bearer(client, factory.user(role=Role.SUPERADMIN))
    for role in (Role.SUPERADMIN, Role.ADMIN):
        target = factory.user(role=role)
        with_two_factor(database, target)
        base = f"/api/v1/admin/users/{target.user.id}"
        assert client.patch(base, json={"full_name": "By Boss"}, headers=boss).status_code == 200
        assert client.post(f"{base}/reset-2fa", headers=boss).status_code == 200
        assert facts(database, target).full_name == "By Boss"
        assert not facts(database, target).totp_enabled


def test_the_cli_is_refused_the_same_way(
    live_server: str,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    boss = factory.user(role=Role.SUPERADMIN)
    with_two_factor(database, boss)
    before = facts(database, boss)
    as_user(monkeypatch, live_server, factory.admin(), tmp_path)
    for command in (
        ["reset-2fa", boss.email],
        ["update", boss.email, "--name", "Renamed By Admin"],
        ["reset-password", boss.email, "--generate"],
        ["deactivate", boss.email],
    ):
        result = runner.invoke(cli, ["admin", "user", *command])
        assert result.exit_code == 1, result.output
        assert "Only a superadmin may" in " ".join(result.output.split())
    assert facts(database, boss) == before


@pytest.mark.parametrize("target_role", TARGETS.values(), ids=TARGETS.keys())
def test_a_plain_admin_changes_no_other_administrators_projects(
    client: TestClient,
    factory: Factory,
    database: Database,
    plain_admin: dict[str, str],
    target_role: Role,
) -> None:
    """Through the project's member list too, not only the user's own page."""
    target = factory.user(role=target_role)
    joined, other = factory.project(), factory.project()
    member_of = client.post(
        f"/api/v1/admin/projects/{joined.name}/members",
        json={"email": target.email, "role": "member"},
        headers=bearer(client, factory.user(role=Role.SUPERADMIN)),
    )
    assert member_of.status_code == 201, member_of.text
    before = facts(database, target)
    base = "/api/v1/admin/projects"
    attempts = [
        client.post(f"{base}/{other.name}/members", json={"email": target.email, "role": "member"},
                    headers=plain_admin),
        client.patch(f"{base}/{joined.name}/members/{target.email}", json={"role": "owner"},
                     headers=plain_admin),
        client.delete(f"{base}/{joined.name}/members/{target.email}", headers=plain_admin),
    ]  # fmt: skip
    assert [answer.status_code for answer in attempts] == [403, 403, 403]
    assert facts(database, target) == before
