"""User administration through the API: list, create, edit, role rules, deactivation with
everything it ends (and what stays), password reset, and refusals for normal users."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.admin import users as users_admin
from shipyard.agents.schemas import SessionReport
from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from shipyard.errors import Conflict
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.resources import ledger
from shipyard.resources.models import Scope
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.storage import sharing
from shipyard.storage.models import Perm
from shipyard.users.admin_schemas import AdminUserUpdate
from shipyard.users.models import Role, User, UserStatus
from tests.api.effects_helpers import Effects
from tests.factories import Account, Factory

USERS = "/api/v1/admin/users"


def bearer(client: TestClient, account: Account, password: str | None = None) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login",
        json={"email": account.email, "password": password or account.password},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def error(response: Any) -> str:
    message: str = response.json()["error"]["message"]
    return message


def actions(database: Database, target: User) -> list[str]:
    """The user administration entries about `target`, oldest first."""
    with database.session() as db:
        query = select(AuditEntry.action).where(
            AuditEntry.target_id == str(target.id), AuditEntry.action.startswith("user.")
        )
        return list(db.scalars(query.order_by(AuditEntry.at)))


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


@pytest.fixture
def superadmin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.user(role=Role.SUPERADMIN))


# List -------------------------------------------------------------------------------------


@pytest.mark.db
def test_list_searches_filters_and_pages(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    named = factory.user(full_name="Ada 100%_Lovelace")
    factory.user(full_name="Ada 100Xx Other")
    project = factory.project(members=(named.user,))
    found = client.get(USERS, params={"search": "100%_LOVE"}, headers=admin).json()
    assert found["count"] == 1
    row = found["data"][0]
    assert row["email"] == named.email
    assert {p["name"] for p in row["projects"]} == {"default", project.name}
    assert row["resource_policy"]["is_default"] is True
    assert row["totp_enabled"] is False
    by_email = client.get(USERS, params={"search": named.email.upper()}, headers=admin).json()
    assert [u["email"] for u in by_email["data"]] == [named.email]

    admins = client.get(USERS, params={"role": "admin"}, headers=admin).json()
    assert {u["role"] for u in admins["data"]} == {"admin"}
    everyone = client.get(USERS, params={"limit": 2}, headers=admin).json()
    assert len(everyone["data"]) == 2
    assert everyone["count"] >= 3
    emails = [u["email"] for u in client.get(USERS, headers=admin).json()["data"]]
    assert emails == sorted(emails)
    second = client.get(USERS, params={"limit": 2, "offset": 2}, headers=admin).json()
    assert [u["email"] for u in second["data"]] == emails[2:4]
    bad = client.get(USERS, params={"role": "king"}, headers=admin)
    assert bad.status_code == 422


def test_inactive_filter(client: TestClient, factory: Factory, admin: dict[str, str]) -> None:
    gone = factory.user()
    client.post(f"{USERS}/{gone.email}/deactivate", headers=admin)
    inactive = client.get(USERS, params={"status": "inactive"}, headers=admin).json()
    assert [u["email"] for u in inactive["data"]] == [gone.email]


# Create -----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_create_with_policy_projects_and_a_generated_password(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    policy = factory.user_policy(factory.user().user, max_sessions=3)
    project = factory.project()
    body = {
        "email": "New.Person@Example.org",
        "full_name": "New Person",
        "generate_password": True,
        "resource_policy": policy.name,
        "projects": [{"project": project.name, "role": "owner"}],
    }
    response = client.post(USERS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"] == "new.person@example.org"
    assert created["resource_policy"]["name"] == policy.name
    assert {(p["name"], p["role"]) for p in created["projects"]} == {
        ("default", "member"),
        (project.name, "owner"),
    }
    password = created["generated_password"]
    login = client.post(
        "/api/v1/auth/login", json={"email": "new.person@example.org", "password": password}
    )
    assert login.status_code == 201
    shown = client.get(f"{USERS}/{created['id']}", headers=admin).json()
    assert "generated_password" not in shown
    with database.session() as db:
        user = db.scalars(select(User).where(User.email == "new.person@example.org")).one()
    assert actions(database, user) == [Action.USER_CREATE.value]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "not-an-email", "password": "correct-Horse-7"}, "valid email"),
        ({"email": "a@example.org", "password": "short"}, "8 to 256"),
        ({"email": "a@example.org"}, "Enter a password"),
        ({"email": "a@example.org", "generate_password": True, "full_name": "x" * 65}, "64"),
        ({"email": "a@example.org", "generate_password": True, "resource_policy": "nope"}, "nope"),
        ({"email": "a@example.org", "generate_password": True, "projects": ["nope"]}, "nope"),
        ({"email": "a@example.org", "generate_password": True, "role": "admin"}, "superadmin"),
    ],
)
def test_bad_creations_are_explained_and_nothing_is_created(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], message: str
) -> None:
    response = client.post(USERS, json=body, headers=admin)
    assert response.status_code in (403, 422)
    assert message in error(response)
    assert client.get(f"{USERS}/a@example.org", headers=admin).status_code == 404


@pytest.mark.db
def test_duplicate_email_is_a_conflict(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    taken = factory.user()
    body = {"email": taken.email.upper(), "generate_password": True}
    response = client.post(USERS, json=body, headers=admin)
    assert response.status_code == 409
    assert "already exists" in error(response)


def test_a_policy_of_the_project_kind_is_refused(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    with factory.database.session() as db:
        policy = policies.create_policy(db, name="team-only", kind=PolicyKind.PROJECT)
        policy_id = str(policy.id)
    body = {"email": "b@example.org", "generate_password": True, "resource_policy": policy_id}
    assert client.post(USERS, json=body, headers=admin).status_code == 422


# Edit and role rules ------------------------------------------------------------------------


def test_edit_name_policy_projects_and_role(
    client: TestClient, factory: Factory, superadmin: dict[str, str], database: Database
) -> None:
    target = factory.user()
    policy = factory.user_policy(factory.user().user)
    project = factory.project()
    change = {
        "full_name": "Renamed",
        "role": "admin",
        "resource_policy": str(policy.id),
        "projects": [project.name],
    }
    response = client.patch(f"{USERS}/{target.user.id}", json=change, headers=superadmin)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["full_name"], shown["role"]) == ("Renamed", "admin")
    assert shown["resource_policy"]["id"] == str(policy.id)
    assert {p["name"] for p in shown["projects"]} == {"default", project.name}
    assert sorted(actions(database, target.user)) == sorted(
        [Action.USER_ROLE_CHANGE, Action.USER_POLICY_CHANGE, Action.USER_UPDATE]
    )
    back = client.patch(
        f"{USERS}/{target.email}",
        json={"resource_policy": None, "projects": []},
        headers=superadmin,
    ).json()
    assert back["resource_policy"]["is_default"] is True
    assert [p["name"] for p in back["projects"]] == ["default"]


def test_an_admin_cannot_grant_or_take_away_admin_roles(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    target, other_admin = factory.user(), factory.admin()
    promote = client.patch(f"{USERS}/{target.email}", json={"role": "admin"}, headers=admin)
    assert promote.status_code == 403
    assert "Only a superadmin" in error(promote)
    demote = client.patch(f"{USERS}/{other_admin.email}", json={"role": "user"}, headers=admin)
    assert demote.status_code == 403
    deactivate = client.post(f"{USERS}/{other_admin.email}/deactivate", headers=admin)
    assert deactivate.status_code == 403
    reset = client.post(
        f"{USERS}/{other_admin.email}/reset-password", json={"generate": True}, headers=admin
    )
    assert reset.status_code == 403
    with database.session() as db:
        assert db.get(User, target.user.id).role is Role.USER  # type: ignore[union-attr]
        assert db.get(User, other_admin.user.id).is_active  # type: ignore[union-attr]
    assert actions(database, target.user) == []


def test_nobody_changes_their_own_role_or_deactivates_themselves(
    client: TestClient, factory: Factory
) -> None:
    boss = factory.user(role=Role.SUPERADMIN)
    headers = bearer(client, boss)
    own_role = client.patch(f"{USERS}/{boss.email}", json={"role": "user"}, headers=headers)
    assert own_role.status_code == 403
    assert "your own role" in error(own_role)
    own_status = client.post(f"{USERS}/{boss.email}/deactivate", headers=headers)
    assert own_status.status_code == 403
    assert "yourself" in error(own_status)
    patched = client.patch(f"{USERS}/{boss.email}", json={"status": "inactive"}, headers=headers)
    assert patched.status_code == 403


@pytest.mark.db
def test_the_last_active_superadmin_cannot_be_demoted(
    client: TestClient, factory: Factory, database: Database
) -> None:
    first, second = factory.user(role=Role.SUPERADMIN), factory.user(role=Role.SUPERADMIN)
    headers = bearer(client, first)
    # `first` was deactivated by `second` while this request was under way: demoting
    # `second` now would leave no active superadmin.
    with database.session() as db:
        db.get(User, first.user.id).status = UserStatus.INACTIVE  # type: ignore[union-attr]
        db.commit()
    with database.session() as db:
        acting = db.get(User, first.user.id)
        assert acting is not None
        with pytest.raises(Conflict, match="At least one active superadmin"):
            users_admin.update_user(
                db, admin=acting, ref=second.email, change=AdminUserUpdate(role=Role.USER)
            )
    with database.session() as db:
        assert db.get(User, second.user.id).role is Role.SUPERADMIN  # type: ignore[union-attr]
    assert client.get(USERS, headers=headers).status_code == 401


def test_superadmin_demotes_another_superadmin(client: TestClient, factory: Factory) -> None:
    first, second = factory.user(role=Role.SUPERADMIN), factory.user(role=Role.SUPERADMIN)
    response = client.patch(
        f"{USERS}/{second.email}", json={"role": "user"}, headers=bearer(client, first)
    )
    assert response.status_code == 200
    assert response.json()["role"] == "user"


# Deactivation -------------------------------------------------------------------------------


@pytest.mark.db
def test_deactivation_ends_sessions_and_access_but_folders_stay(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    agent = factory.agent()
    leaving, friend, stranger = factory.user(), factory.user(), factory.user()
    token = bearer(client, leaving)
    running = factory.session(leaving.user)
    with database.session() as db:
        schedule_once(db)
        db.commit()
        sessions.apply_reports(
            db, agent=db.merge(agent), reports=[SessionReport(session_id=running.id, running=True)]
        )
        db.commit()
    pending = factory.session(leaving.user)  # no scheduling round since: it stays pending
    shared = factory.folder(leaving.user, name="results")
    factory.share(shared, leaving.user, friend, Perm.RO)
    with database.session() as db:
        sent = sharing.invite(
            db, user=db.merge(leaving.user), ref=str(shared.id), email=stranger.email, perm=Perm.RW
        )
        theirs = factory.folder(friend.user, name="incoming")
        received = sharing.invite(
            db, user=db.merge(friend.user), ref=str(theirs.id), email=leaving.email, perm=Perm.RO
        )
        sent_id, received_id = sent.id, received.id

    response = client.post(f"{USERS}/{leaving.email}/deactivate", headers=admin)
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["user"]["status"] == "inactive"
    assert (done["sessions_ended"], done["invitations_canceled"]) == (2, 2)
    assert done["api_tokens_revoked"] == 1

    with database.session() as db:
        assert db.get(ComputeSession, running.id).status is SessionStatus.TERMINATING  # type: ignore[union-attr]
        assert db.get(ComputeSession, pending.id).status is SessionStatus.CANCELLED  # type: ignore[union-attr]
    # the agent stops it; then nothing of theirs is left on the ledger
    with database.session() as db:
        sessions.apply_reports(db, agent=db.merge(agent), reports=[])
        db.commit()
        user_id = str(leaving.user.id)
        assert ledger.held(db, Scope.USER, [user_id])[user_id] == ledger.EMPTY

    everything = client.get("/api/v1/folders", params={"all": "true"}, headers=admin).json()
    assert "results" in {f["name"] for f in everything["data"]}
    friend_headers = bearer(client, friend)
    mine = client.get("/api/v1/folders", headers=friend_headers).json()
    assert "results" in {f["name"] for f in mine["data"]}
    stranger_headers = bearer(client, stranger)
    assert client.get("/api/v1/invitations", headers=stranger_headers).json()["data"] == []
    late = client.post(f"/api/v1/invitations/{sent_id}/accept", headers=stranger_headers)
    assert late.status_code == 404

    assert client.get("/api/v1/me", headers=token).status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"email": leaving.email, "password": leaving.password}
    )
    assert login.status_code == 401

    # reactivation brings the account back, not the invitations
    again = client.post(f"{USERS}/{leaving.email}/activate", headers=admin)
    assert again.json()["status"] == "active"
    assert client.get("/api/v1/invitations", headers=stranger_headers).json()["data"] == []
    back = bearer(client, leaving)
    assert client.get("/api/v1/invitations", headers=back).json()["data"] == []
    refused = client.post(f"/api/v1/invitations/{received_id}/accept", headers=back)
    assert refused.status_code == 404
    assert actions(database, leaving.user) == [Action.USER_DEACTIVATE, Action.USER_ACTIVATE]


def test_deactivation_wakes_the_agents_of_the_users_sessions_at_once(
    app: FastAPI,
    client: TestClient,
    factory: Factory,
    admin: dict[str, str],
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = factory.agent(cpu="1"), factory.agent(cpu="1")
    leaving = factory.user()
    running = [factory.session(leaving.user, cpu="1") for _ in range(2)]
    with database.session() as db:
        schedule_once(db)
    factory.session(leaving.user, cpu="1")  # no room left: it stays pending
    effects = Effects(app, monkeypatch)

    response = client.post(f"{USERS}/{leaving.email}/deactivate", headers=admin)

    assert response.json()["sessions_ended"] == 3
    with database.session() as db:
        placed = {db.get(ComputeSession, s.id).agent_id for s in running}  # type: ignore[union-attr]
    assert placed == {first.id, second.id}
    assert effects.woken == [sorted(placed)]  # both, in one go: their long-polls return now
    assert effects.wakes == 1  # the cancelled pending session left the queue


def test_status_through_patch_is_a_deactivation(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    target = factory.user()
    token = bearer(client, target)
    response = client.patch(f"{USERS}/{target.email}", json={"status": "inactive"}, headers=admin)
    assert response.json()["status"] == "inactive"
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert actions(database, target.user) == [Action.USER_DEACTIVATE]


# Password reset -----------------------------------------------------------------------------


def test_reset_password_typed_or_generated_ends_every_login(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    target = factory.user()
    token = bearer(client, target)
    typed = client.post(
        f"{USERS}/{target.email}/reset-password", json={"password": "brand-New-9"}, headers=admin
    )
    assert typed.status_code == 200
    assert typed.json()["generated_password"] is None
    assert typed.json()["api_tokens_revoked"] == 1
    assert client.get("/api/v1/me", headers=token).status_code == 401
    bearer(client, target, "brand-New-9")
    weak = client.post(
        f"{USERS}/{target.email}/reset-password", json={"password": "weak"}, headers=admin
    )
    assert weak.status_code == 422
    generated = client.post(
        f"{USERS}/{target.email}/reset-password", json={"generate": True}, headers=admin
    ).json()["generated_password"]
    bearer(client, target, generated)
    assert actions(database, target.user) == [Action.USER_PASSWORD_RESET] * 2


def test_an_admin_resets_their_own_password_on_my_account_only(
    client: TestClient, factory: Factory
) -> None:
    me = factory.admin()
    headers = bearer(client, me)
    response = client.post(
        f"{USERS}/{me.email}/reset-password", json={"generate": True}, headers=headers
    )
    assert response.status_code == 403
    assert "My Account" in error(response)


# Refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("POST", "", {"email": "x@example.org", "generate_password": True}),
        ("GET", "/{ref}", None),
        ("PATCH", "/{ref}", {"full_name": "x"}),
        ("POST", "/{ref}/deactivate", None),
        ("POST", "/{ref}/activate", None),
        ("POST", "/{ref}/reset-password", {"generate": True}),
    ],
)
def test_normal_users_are_refused(
    client: TestClient, factory: Factory, method: str, path: str, body: Any
) -> None:
    target, caller = factory.user(), factory.user()
    url = USERS + path.format(ref=target.email)
    response = client.request(method, url, json=body, headers=bearer(client, caller))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.request(method, url, json=body).status_code == 401


def test_unknown_user_is_not_found(client: TestClient, admin: dict[str, str]) -> None:
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/deactivate")):
        url = f"{USERS}/nobody@example.org{path}"
        body = {} if method == "PATCH" else None
        assert client.request(method, url, json=body, headers=admin).status_code == 404
