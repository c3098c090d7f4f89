"""The audit log through the API: what each hooked flow leaves, filters, pages and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from shipyard.audit.models import Action
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.storage.models import Perm
from shipyard.users.models import User, UserStatus
from tests.api.audit_helpers import BASE_TIME, entries, entry_count, seed
from tests.api.test_sessions_api import bearer
from tests.factories import PASSWORD, Account, Factory
from tests.querycount import QueryCounter
from tests.twofactor import install_clock, turn_on

AUDIT = "/api/v1/admin/audit"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def log_of(
    client: TestClient, headers: dict[str, str], **params: str | int
) -> list[dict[str, Any]]:
    response = client.get(AUDIT, params=params, headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def parse_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "spreadsheets need the byte order mark for UTF-8"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# What the hooked flows leave ------------------------------------------------------------------


@pytest.mark.smoke
def test_an_api_login_leaves_a_login_and_a_token_entry(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    bearer(client, account)
    (login,) = entries(database, Action.LOGIN)
    assert (login.actor_id, login.actor_email) == (account.user.id, account.email)
    assert (login.target_type, login.target_label) == ("user", account.email)
    assert login.client_address == "testclient"
    assert login.success
    (token,) = entries(database, Action.TOKEN_CREATE)
    assert token.actor_email == account.email
    assert token.target_label == "cli"


def test_failed_logins_name_what_was_typed_and_why(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    inactive = factory.user()
    with database.session() as db:
        db.execute(
            update(User).where(User.id == inactive.user.id).values(status=UserStatus.INACTIVE)
        )
        db.commit()
    attempts = [
        (account.email, "wrong-Password-1"),
        ("Nobody@Example.org", PASSWORD),
        (inactive.email, inactive.password),
    ]
    for email, password in attempts:
        answer = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 401
    failed = entries(database, Action.LOGIN_FAILED)
    assert [(e.actor_email, e.details["reason"]) for e in reversed(failed)] == [
        (account.email, "password"),
        ("Nobody@Example.org", "unknown_user"),
        (inactive.email, "inactive"),
    ]
    assert all(e.actor_id is None and not e.success for e in failed)
    assert all(e.client_address == "testclient" for e in failed)
    assert failed[-1].target_label == account.email  # the account that was tried
    assert entries(database, Action.LOGIN) == []


def test_password_change_and_token_revocation_are_logged(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    changed = client.post(
        "/api/v1/me/password",
        json={"current_password": account.password, "new_password": "Another-Horse-8"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    (entry,) = entries(database, Action.PASSWORD_CHANGE)
    assert (entry.actor_email, entry.target_label) == (account.email, account.email)
    assert entry.client_address == "testclient"
    again = Account(user=account.user, email=account.email, password="Another-Horse-8")
    fresh = bearer(client, again)
    assert client.delete("/api/v1/auth/token", headers=fresh).status_code == 204
    (revoked,) = entries(database, Action.TOKEN_REVOKE)
    assert revoked.actor_email == account.email
    assert revoked.target_type == "api_token"


def test_an_admin_2fa_reset_names_the_admin_and_the_user(
    client: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = factory.user()
    admin_account = factory.admin()
    turn_on(database, settings, account.user, install_clock(monkeypatch))
    (enabled,) = entries(database, Action.TWO_FACTOR_ENABLE)
    assert enabled.actor_email == account.email
    reset = client.post(
        f"/api/v1/admin/users/{account.email}/reset-2fa", headers=bearer(client, admin_account)
    )
    assert reset.status_code == 200, reset.text
    (entry,) = entries(database, Action.TWO_FACTOR_RESET)
    assert (entry.actor_id, entry.actor_email) == (admin_account.user.id, admin_account.email)
    assert (entry.target_type, entry.target_id) == ("user", str(account.user.id))
    assert entry.target_label == account.email
    assert entry.client_address == "testclient"


def test_sharing_a_folder_leaves_an_entry_per_step(
    client: TestClient, factory: Factory, database: Database
) -> None:
    owner, guest = factory.user(), factory.user(full_name="Zoë Ünal")
    folder = factory.folder(owner.user, name="results")
    owner_headers, guest_headers = bearer(client, owner), bearer(client, guest)
    invited = client.post(
        f"/api/v1/folders/{folder.id}/invitations",
        json={"email": guest.email, "permission": "ro"},
        headers=owner_headers,
    )
    assert invited.status_code == 201, invited.text
    accepted = client.post(
        f"/api/v1/invitations/{invited.json()['id']}/accept", headers=guest_headers
    )
    assert accepted.status_code == 200, accepted.text
    path = f"/api/v1/folders/{folder.id}/shares/{guest.email}"
    assert client.patch(path, json={"permission": "rw"}, headers=owner_headers).status_code == 200
    assert client.delete(path, headers=owner_headers).status_code == 204
    assert client.delete(f"/api/v1/folders/{folder.id}", headers=owner_headers).status_code == 204
    folder_entries = [e for e in reversed(entries(database)) if e.target_type == "folder"]
    assert [(e.action, e.actor_email) for e in folder_entries] == [
        (Action.FOLDER_INVITE, owner.email),
        (Action.FOLDER_INVITE_ACCEPT, guest.email),
        (Action.FOLDER_SHARE_CHANGE, owner.email),
        (Action.FOLDER_SHARE_REVOKE, owner.email),
        (Action.FOLDER_DELETE, owner.email),
    ]
    assert all(
        e.target_label == "results" and e.target_id == str(folder.id) for e in folder_entries
    )
    assert folder_entries[0].details == {"invitee": guest.email, "perm": "ro"}
    assert folder_entries[1].details == {"inviter": owner.email, "perm": "ro"}
    assert folder_entries[2].details == {"user": guest.email, "perm": "rw", "was": "ro"}
    assert all(e.client_address == "testclient" for e in folder_entries)


def test_declined_and_cancelled_invitations_and_leaving_are_logged(
    client: TestClient, factory: Factory, database: Database
) -> None:
    owner, guest = factory.user(), factory.user()
    folder = factory.folder(owner.user)
    owner_headers, guest_headers = bearer(client, owner), bearer(client, guest)
    invite = {"email": guest.email, "permission": "ro"}
    path = f"/api/v1/folders/{folder.id}/invitations"
    first = client.post(path, json=invite, headers=owner_headers).json()["id"]
    assert client.post(f"/api/v1/invitations/{first}/decline", headers=guest_headers).is_success
    second = client.post(path, json=invite, headers=owner_headers).json()["id"]
    assert client.delete(f"/api/v1/invitations/{second}", headers=owner_headers).is_success
    factory.share(folder, owner.user, guest, Perm.RO)
    assert client.post(f"/api/v1/folders/{folder.id}/leave", headers=guest_headers).is_success
    actions = [e.action for e in reversed(entries(database)) if e.target_type == "folder"]
    assert actions == [
        Action.FOLDER_INVITE,
        Action.FOLDER_INVITE_DECLINE,
        Action.FOLDER_INVITE,
        Action.FOLDER_INVITE_CANCEL,
        Action.FOLDER_INVITE,
        Action.FOLDER_INVITE_ACCEPT,
        Action.FOLDER_SHARE_LEAVE,
    ]


# Reading the log ------------------------------------------------------------------------------


@pytest.mark.db
def test_filters_combine(client: TestClient, admin: dict[str, str], database: Database) -> None:
    seed(database, 3, action="user.role_change", actor_email="Boss@Example.org", target_label="ann")
    seed(database, 2, action="user.create", actor_email="boss@example.org", target_label="bob")
    seed(
        database,
        1,
        action="auth.login_failed",
        actor_email="boss@example.org",
        success=False,
        client_address="10.1.2.3",
        start=BASE_TIME + timedelta(days=2),
    )
    seed(database, 4, action="user.role_change", actor_email="other@example.org")
    assert len(log_of(client, admin, actor="BOSS@", action="user.role_change")) == 3
    assert len(log_of(client, admin, actor="boss", action="user.*")) == 5
    assert len(log_of(client, admin, action="user")) == 9
    assert len(log_of(client, admin, actor="boss", target="BO")) == 2
    failed = log_of(client, admin, result="failure", address="10.1.2")
    assert [(e["action"], e["success"]) for e in failed] == [("auth.login_failed", False)]
    days = {"since": "2024-05-03", "until": "2024-05-03"}
    assert [e["action"] for e in log_of(client, admin, **days)] == ["auth.login_failed"]
    assert len(log_of(client, admin, until="2024-05-01", result="success")) == 9
    assert log_of(client, admin, action="user.*", result="failure") == []
    assert log_of(client, admin, actor="50%_") == []  # wildcards are taken literally


def test_bad_filters_are_refused_with_a_clear_error(
    client: TestClient, admin: dict[str, str]
) -> None:
    for params in (
        {"since": "yesterday"},
        {"since": "2024-05-03", "until": "2024-05-01"},
        {"action": "DROP TABLE"},
        {"result": "maybe"},
        {"page": "0"},
        {"format": "xml"},
    ):
        answer = client.get(AUDIT, params=params, headers=admin)
        assert answer.status_code == 422, params
        assert answer.json()["error"]["code"] == "invalid_input"


@pytest.mark.db
def test_pages_are_newest_first_without_gaps(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    seed(database, 120, action="policy.update")
    pages = [log_of(client, admin, action="policy.update", page=n) for n in (1, 2, 3, 4)]
    assert [len(page) for page in pages] == [50, 50, 20, 0]
    times = [entry["at"] for page in pages for entry in page]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == 120
    answer = client.get(AUDIT, params={"action": "policy.update", "page": 3}, headers=admin)
    assert answer.json()["count"] == 120


def test_a_page_costs_the_same_statements_with_more_entries(
    client: TestClient, admin: dict[str, str], database: Database, queries: QueryCounter
) -> None:
    seed(database, 5)
    log_of(client, admin)  # the token's first use is recorded once
    queries.reset()
    log_of(client, admin, actor="root")
    few = queries.count
    seed(database, 400)
    queries.reset()
    log_of(client, admin, actor="root")
    assert queries.count == few


# CSV ------------------------------------------------------------------------------------------


@pytest.mark.db
def test_csv_export_has_the_filtered_entries_in_utc(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    seed(database, 3, action="project.create", actor_email="ĳsbrand@例え.jp", target_label="Ärger")
    seed(database, 2, action="user.create")
    answer = client.get("/api/v1/admin/audit.csv", params={"action": "project.*"}, headers=admin)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="shipyard-audit-')
    rows = parse_csv(answer.text)
    assert list(rows[0]) == [
        "time",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target",
        "address",
        "result",
        "details",
    ]
    assert [row["time"] for row in rows] == [
        "2024-05-01T12:02:00Z",
        "2024-05-01T12:01:00Z",
        "2024-05-01T12:00:00Z",
    ]
    assert {(row["actor"], row["target"], row["result"]) for row in rows} == {
        ("ĳsbrand@例え.jp", "Ärger", "success")
    }
    same = client.get(AUDIT, params={"action": "project.*", "format": "csv"}, headers=admin)
    assert parse_csv(same.text) == rows


def test_csv_cells_cannot_become_formulas(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    hostile = ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain"]
    for number, text in enumerate(hostile):
        seed(
            database,
            1,
            actor_email=text,
            target_label=text,
            details={"note": text},
            start=BASE_TIME + timedelta(hours=number),
        )
    rows = parse_csv(
        client.get(f"{AUDIT}.csv", params={"action": "user.update"}, headers=admin).text
    )
    by_time = sorted(rows, key=lambda row: row["time"])
    assert [row["actor"] for row in by_time] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
    ]
    assert [row["target"] for row in by_time] == [row["actor"] for row in by_time]
    assert not any(row["details"].startswith(("=", "+", "-", "@")) for row in rows)


@pytest.mark.db
def test_csv_export_streams_past_one_batch(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    seed(database, 1203, action="group.update")
    rows = parse_csv(client.get(f"{AUDIT}.csv", params={"action": "group.*"}, headers=admin).text)
    assert len(rows) == 1203
    assert len({row["time"] for row in rows}) == 1203


# Refusals -------------------------------------------------------------------------------------


def test_normal_users_and_anonymous_callers_are_refused(
    client: TestClient, factory: Factory, database: Database
) -> None:
    seed(database, 2)
    user = bearer(client, factory.user())
    for path in (AUDIT, f"{AUDIT}.csv", f"{AUDIT}?format=csv"):
        refused = client.get(path, headers=user)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
        assert "root@example.org" not in refused.text
        anonymous = client.get(path)
        assert anonymous.status_code == 401
    assert entry_count(database) == 4  # the seeded two, the login and its token
