"""The console's user administration: the list with filters in the URL, its statement count,
the create dialog, the edit page, the account dialogs, and the 403 page for normal users."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from shipyard.auth import passwords
from shipyard.db import Database
from shipyard.sessions.models import ComputeSession, SessionStatus
from shipyard.users.models import Role, User, UserStatus
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import login, session_csrf

HTMX = {"HX-Request": "true"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


@pytest.fixture
def superadmin(client: TestClient, factory: Factory) -> Account:
    account = factory.user(role=Role.SUPERADMIN)
    factory.web_login(client, account)
    return account


def post(
    client: TestClient, path: str, data: dict[str, str | list[str]], *, htmx: bool = False
) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path,
        data={**data, "csrf_token": token},
        headers=HTMX if htmx else {},
        follow_redirects=False,
    )
    return response


def user_of(database: Database, email: str) -> User | None:
    with database.session() as db:
        return db.scalar(select(User).where(User.email == email))


def emails_in(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/users/[0-9a-f-]+" class="fw-medium">([^<]+)</a>', html)


def seed_users(database: Database, count: int, *, prefix: str) -> None:
    """Many users in one statement; they never log in, so no real password hash."""
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"{prefix}{number:05d}@example.org",
            "full_name": f"Seeded {number}",
            "password_hash": "-",
        }
        for number in range(count)
    ]
    with database.session() as db:
        db.execute(insert(User), rows)
        db.commit()


# The list -----------------------------------------------------------------------------------


def test_the_list_shows_users_with_their_facts(
    client: TestClient, factory: Factory, admin: Account
) -> None:
    someone = factory.user(full_name="Grace Hopper")
    project = factory.project(members=(someone.user,))
    page = client.get("/admin/users")
    assert page.status_code == 200
    html = page.text
    assert "<title>Users · Shipyard</title>" in html
    for header in ("Email", "Name", "Role", "Status", "2FA", "Projects", "Policy", "Created"):
        assert '<th scope="col"' in html
        assert f">{header}</th>" in html
    assert someone.email in emails_in(html)
    assert "Grace Hopper" in html
    assert project.name in html
    assert not INLINE_SCRIPT.search(html)
    assert 'aria-current="page"' in html  # the Administration tab of the top bar


@pytest.mark.db
def test_search_and_filters_live_in_the_url(
    client: TestClient, factory: Factory, admin: Account
) -> None:
    grace = factory.user(full_name="Grace 50%_Hopper")
    factory.user(full_name="Grace 50xx Other")
    found = client.get("/admin/users", params={"q": "50%_hop"})
    assert emails_in(found.text) == [grace.email]
    assert 'value="50%_hop"' in found.text
    admins = client.get("/admin/users", params={"role": "admin"})
    assert emails_in(admins.text) == [admin.email]
    assert '<option value="admin" selected>' in admins.text
    none = client.get("/admin/users", params={"status": "inactive"})
    assert "No users match" in none.text
    fragment = client.get("/admin/users", params={"q": "grace"}, headers=HTMX)
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith("{#") is False
    assert 'id="users"' in fragment.text
    assert 'hx-get="/admin/users?q=grace"' in fragment.text
    restore = client.get(
        "/admin/users",
        params={"q": "grace"},
        headers={**HTMX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text
    odd = client.get("/admin/users", params={"role": "king", "status": "?"})
    assert odd.status_code == 200
    assert admin.email in emails_in(odd.text)


@pytest.mark.db
def test_pages_of_fifty_with_links(client: TestClient, admin: Account, database: Database) -> None:
    seed_users(database, 120, prefix="bulk")
    first = client.get("/admin/users", params={"q": "bulk"})
    assert len(emails_in(first.text)) == 50
    assert "1\N{EN DASH}50 of 120" in first.text
    assert 'href="/admin/users?q=bulk&amp;page=2"' in first.text
    assert 'aria-label="Next page"' in first.text
    third = client.get("/admin/users", params={"q": "bulk", "page": 3})
    assert emails_in(third.text) == [f"bulk{n:05d}@example.org" for n in range(100, 120)]
    assert "101\N{EN DASH}120 of 120" in third.text
    assert 'aria-label="Previous page"' in third.text
    assert client.get("/admin/users", params={"page": 0}).status_code == 422


def test_list_statements_do_not_grow_with_users(
    client: TestClient, factory: Factory, admin: Account, database: Database, queries: QueryCounter
) -> None:
    factory.project(members=(admin.user,))
    client.get("/admin/users")
    queries.reset()
    client.get("/admin/users")
    few = queries.count
    seed_users(database, 300, prefix="many")
    policy_owner = factory.user()
    factory.user_policy(policy_owner.user)
    factory.project(members=(policy_owner.user,))
    client.get("/admin/users")
    queries.reset()
    page = client.get("/admin/users")
    assert queries.count == few
    assert len(emails_in(page.text)) == 50
    queries.reset()
    client.get("/admin/users", params={"q": "many", "page": 4})
    assert queries.count == few


# Create -------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_create_a_user_with_a_generated_password(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    project = factory.project()
    dialog = client.get("/admin/users/new", headers=HTMX)
    assert 'id="dialog-title">New user<' in dialog.text
    assert "<html" not in dialog.text
    assert '<option value="admin" disabled>' in dialog.text  # only superadmins grant it
    response = post(
        client,
        "/admin/users/new",
        {
            "email": "Fresh@Example.org",
            "full_name": "Fresh Person",
            "role": "user",
            "generate": "1",
            "projects": [str(project.id)],
        },
        htmx=True,
    )
    assert response.status_code == 200
    assert "shipyard:users-changed" in response.headers["hx-trigger"]
    assert "User created" in response.text
    shown = re.search(r'id="generated-password" value="([^"]+)"', response.text)
    assert shown
    created = user_of(database, "fresh@example.org")
    assert created is not None
    assert passwords.verify_password(factory.settings, created.password_hash, shown.group(1))
    listed = client.get("/admin/users", params={"q": "fresh"}).text
    assert project.name in listed


def test_refused_creation_shows_the_error_by_its_field(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    taken = factory.user()
    weak = post(
        client, "/admin/users/new", {"email": "a@example.org", "password": "weak"}, htmx=True
    )
    assert "8 to 256 characters" in weak.text
    assert 'id="new-password-error"' in weak.text
    assert 'value="a@example.org"' in weak.text
    dup = post(client, "/admin/users/new", {"email": taken.email, "generate": "1"})
    assert dup.status_code == 409
    assert "already exists" in dup.text
    promote = post(
        client, "/admin/users/new", {"email": "b@example.org", "role": "admin", "generate": "1"}
    )
    assert promote.status_code == 403
    assert "Only a superadmin" in promote.text
    assert user_of(database, "a@example.org") is None
    assert user_of(database, "b@example.org") is None


def test_create_without_javascript_shows_the_password_on_a_page(
    client: TestClient, admin: Account
) -> None:
    page = client.get("/admin/users/new")
    assert "<html" in page.text
    assert "New user" in page.text
    done = post(client, "/admin/users/new", {"email": "plain@example.org", "generate": "1"})
    assert done.status_code == 200
    assert 'id="generated-password"' in done.text
    assert "<html" in done.text


# Edit ---------------------------------------------------------------------------------------


def test_edit_name_role_policy_and_projects(
    client: TestClient, factory: Factory, superadmin: Account, database: Database
) -> None:
    target = factory.user()
    policy = factory.user_policy(factory.user().user)
    project = factory.project()
    page = client.get(f"/admin/users/{target.user.id}")
    assert page.status_code == 200
    assert f"<title>{target.email} · Shipyard</title>" in page.text
    saved = post(
        client,
        f"/admin/users/{target.user.id}",
        {
            "full_name": "New Name",
            "role": "admin",
            "resource_policy": str(policy.id),
            "projects": [str(project.id)],
            "owners": [str(project.id)],
        },
        htmx=True,
    )
    assert saved.status_code == 200
    assert "Saved." in saved.text
    assert "<html" not in saved.text
    user = user_of(database, target.email)
    assert user is not None
    assert (user.full_name, user.role, user.resource_policy_id) == (
        "New Name",
        Role.ADMIN,
        policy.id,
    )
    shown = client.get("/api/v1/admin/users/" + target.email).json()
    assert {(p["name"], p["role"]) for p in shown["projects"]} == {
        ("default", "member"),
        (project.name, "owner"),
    }


def test_an_admin_sees_the_role_locked_and_a_forged_role_is_refused(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    target = factory.user()
    page = client.get(f"/admin/users/{target.user.id}").text
    assert 'id="edit-role" name="role" class="form-select" disabled' in page
    forged = post(client, f"/admin/users/{target.user.id}", {"full_name": "x", "role": "admin"})
    assert forged.status_code == 403
    assert "Only a superadmin" in forged.text
    user = user_of(database, target.email)
    assert user is not None
    assert user.role is Role.USER
    assert user.full_name != "x"
    own = client.get(f"/admin/users/{admin.user.id}").text
    assert "You cannot change your own role." in own
    assert "Deactivate" not in own


# Dialogs --------------------------------------------------------------------------------------


def test_deactivate_and_reactivate_through_the_dialogs(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    factory.agent()
    target = factory.user()
    pending = factory.session(target.user)
    dialog = client.get(f"/admin/users/{target.user.id}/deactivate", headers=HTMX)
    assert f"Deactivate {target.email}?" in dialog.text
    assert "Their folders and files stay." in dialog.text
    done = post(client, f"/admin/users/{target.user.id}/deactivate", {}, htmx=True)
    assert done.status_code == 200
    assert "is deactivated; 1 of their sessions ended." in done.headers["hx-trigger"]
    user = user_of(database, target.email)
    assert user is not None
    assert user.status is UserStatus.INACTIVE
    with database.session() as db:
        assert db.get(ComputeSession, pending.id).status is SessionStatus.CANCELLED  # type: ignore[union-attr]
    facts = client.get(f"/admin/users/{target.user.id}", headers=HTMX).text
    assert "Inactive" in facts
    assert "Reactivate" in facts
    other = TestClient(client.app, raise_server_exceptions=False)
    assert login(other, target.email, target.password).status_code != 303
    plain = post(client, f"/admin/users/{target.user.id}/activate", {})
    assert plain.status_code == 303
    user = user_of(database, target.email)
    assert user is not None
    assert user.is_active


def test_cannot_deactivate_yourself_in_the_console(
    client: TestClient, factory: Factory, superadmin: Account, database: Database
) -> None:
    refused = post(client, f"/admin/users/{superadmin.user.id}/deactivate", {}, htmx=True)
    assert "You cannot deactivate yourself." in refused.text
    user = user_of(database, superadmin.email)
    assert user is not None
    assert user.is_active


def test_reset_password_and_2fa(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    target = factory.user()
    form = client.get(f"/admin/users/{target.user.id}/reset-password", headers=HTMX)
    assert "Reset the password of" in form.text
    typed = post(
        client,
        f"/admin/users/{target.user.id}/reset-password",
        {"password": "fresh-Pass-8"},
        htmx=True,
    )
    assert "Password reset" in typed.text
    assert 'id="generated-password"' not in typed.text
    other = TestClient(client.app, raise_server_exceptions=False)
    assert login(other, target.email, "fresh-Pass-8").status_code == 303
    weak = post(
        client, f"/admin/users/{target.user.id}/reset-password", {"password": "x"}, htmx=True
    )
    assert "8 to 256 characters" in weak.text
    with database.session() as db:
        user = db.get(User, target.user.id)
        assert user is not None
        user.totp_enabled, user.totp_secret = True, "JBSWY3DPEHPK3PXP"
        db.commit()
    page = client.get(f"/admin/users/{target.user.id}").text
    assert "Reset 2FA" in page
    reset = post(client, f"/admin/users/{target.user.id}/reset-2fa", {}, htmx=True)
    assert "Two-factor login of" in reset.headers["hx-trigger"]
    user = user_of(database, target.email)
    assert user is not None
    assert not user.totp_enabled


def test_unknown_user_and_action_are_404_pages(client: TestClient, admin: Account) -> None:
    assert client.get(f"/admin/users/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/admin/users/{admin.user.id}/explode").status_code == 404
    assert post(client, f"/admin/users/{admin.user.id}/explode", {}).status_code == 404


# Refusals -------------------------------------------------------------------------------------


def test_normal_users_get_the_403_page_and_no_link(
    client: TestClient, factory: Factory, database: Database
) -> None:
    target, someone = factory.user(), factory.user()
    factory.web_login(client, someone)
    assert 'href="/admin/users"' not in client.get("/").text
    token = session_csrf(client)
    base = f"/admin/users/{target.user.id}"
    for path in (
        "/admin/users",
        "/admin/users/new",
        base,
        f"{base}/deactivate",
        f"{base}/reset-password",
    ):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "Only administrators may see this page." in page.text
    for path in (
        "/admin/users/new",
        base,
        f"{base}/deactivate",
        f"{base}/activate",
        f"{base}/reset-password",
        f"{base}/reset-2fa",
    ):
        response = client.post(path, data={"csrf_token": token, "email": "x@example.org"})
        assert response.status_code == 403, path
    assert user_of(database, "x@example.org") is None
