"""The console's project administration: list, search, create, settings, members, refusals."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.agents import service as agents
from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from shipyard.policies.models import PolicyKind
from shipyard.policies.service import create_policy
from shipyard.projects.models import MemberRole, Project, ProjectMember
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import session_csrf

PAGE = "/admin/projects"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def post(client: TestClient, path: str, data: dict[str, object]) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, follow_redirects=False
    )
    return response


def text_of(response: httpx.Response) -> str:
    """The page's visible text, tags removed and white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def stored(database: Database, name: str) -> Project:
    with database.session() as db:
        project = db.scalar(select(Project).where(Project.name == name))
        assert project is not None
        return project


def test_list_shows_projects_with_members_policy_groups_and_usage(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    member = factory.user()
    project = factory.project(members=(member.user,), description="Robots and arms")
    page = client.get(PAGE)
    assert page.status_code == 200
    shown = text_of(page)
    assert project.name in shown
    assert "Robots and arms" in shown
    assert "default (default)" in shown  # policy column: the default policy
    found = client.get(PAGE, params={"q": "ROBOT"})
    assert project.name in found.text
    assert "default" not in re.findall(r'class="fw-medium text-break">([^<]*)<', found.text)
    nothing = text_of(client.get(PAGE, params={"q": "zzz-none"}))
    assert "No project matches zzz-none." in nothing


def test_list_pages_and_keeps_a_constant_statement_count(
    client: TestClient, factory: Factory, admin: Account, queries: QueryCounter
) -> None:
    factory.project(members=(factory.user().user,))
    client.get(PAGE)
    queries.reset()
    client.get(PAGE)
    few = queries.count
    for _ in range(60):
        factory.project(members=(admin.user,))
    client.get(PAGE)
    queries.reset()
    page = client.get(PAGE)
    assert queries.count == few
    assert "Page 1 of 2" in page.text
    second = client.get(PAGE, params={"page": 2})
    assert "Page 2 of 2" in second.text


def test_create_a_project_then_refuse_a_bad_name(
    client: TestClient, admin: Account, database: Database
) -> None:
    form = client.get(f"{PAGE}/new")
    assert 'for="project-name"' in form.text
    created = post(client, f"{PAGE}/new", {"name": "lab-7", "description": "Seventh"})
    assert created.status_code == 303
    project = stored(database, "lab-7")
    assert created.headers["location"] == f"{PAGE}/{project.id}?done=created"
    landing = client.get(created.headers["location"])
    assert "Project created." in landing.text
    refused = post(client, f"{PAGE}/new", {"name": "lab-7"})
    assert refused.status_code == 422
    assert "Another project is already called lab-7." in text_of(refused)
    assert 'aria-invalid="true"' in refused.text
    bad = post(client, f"{PAGE}/new", {"name": "no spaces"})
    assert bad.status_code == 422
    assert 'value="no spaces"' in bad.text


def test_settings_policy_and_groups_are_saved_and_audited(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    project = factory.project()
    with database.session() as db:
        agents.create_group(db, name="gpu-rack")
        policy = create_policy(db, name="lab-limits", kind=PolicyKind.PROJECT)
    page = client.get(f"{PAGE}/{project.id}")
    assert "gpu-rack" in page.text
    assert "lab-limits" in page.text
    saved = post(
        client,
        f"{PAGE}/{project.id}",
        {
            "name": "renamed-lab",
            "description": "New words",
            "is_active": "on",
            "resource_policy": str(policy.id),
            "resource_groups": ["gpu-rack"],
        },
    )
    assert saved.status_code == 303
    assert "Changes saved." in client.get(saved.headers["location"]).text
    with database.session() as db:
        changed = db.get(Project, project.id)
        assert changed is not None
        assert (changed.name, changed.description) == ("renamed-lab", "New words")
        assert changed.resource_policy_id == policy.id
        assert [g.name for g in agents.groups_of_project(db, project.id)] == ["gpu-rack"]
        logged = set(db.scalars(select(AuditEntry.action)))
    assert {
        Action.PROJECT_UPDATE.value,
        Action.PROJECT_POLICY_CHANGE.value,
        Action.PROJECT_GROUPS_CHANGE.value,
    } <= logged


def test_deactivating_says_running_sessions_stay_and_cancels_pending(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    factory.agent(cpu="1")
    member = factory.user()
    project = factory.project(members=(member.user,))
    pending = factory.session(member.user, cpu="1", project=project.name)
    page = text_of(client.get(f"{PAGE}/{project.id}"))
    assert "sessions already running keep running" in page
    saved = post(
        client, f"{PAGE}/{project.id}", {"name": project.name, "resource_groups": "default"}
    )
    assert saved.status_code == 303
    with database.session() as db:
        assert db.get(Project, project.id).is_active is False  # type: ignore[union-attr]
        assert db.get(ComputeSession, pending.id).status is SessionStatus.CANCELLED  # type: ignore[union-attr]
    listed = text_of(client.get(PAGE))
    assert "Inactive" in listed


def test_the_default_project_keeps_its_name_and_members(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    default = stored(database, "default")
    page = client.get(f"{PAGE}/{default.id}")
    assert "readonly" in page.text
    assert "nobody can be removed from it" in page.text
    assert 'aria-label="Remove ' not in page.text
    refused = post(client, f"{PAGE}/{default.id}", {"name": "renamed", "is_active": "on"})
    assert refused.status_code == 422
    assert "The default project cannot be renamed." in text_of(refused)
    assert stored(database, "default").id == default.id
    gone = post(client, f"{PAGE}/{default.id}/members/{admin.user.id}/remove", {})
    assert gone.status_code == 409
    assert "nobody can be removed" in text_of(gone)


@pytest.mark.smoke
def test_members_add_change_role_and_remove(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    person = factory.user()
    project = factory.project()
    unknown = post(client, f"{PAGE}/{project.id}/members", {"email": "ghost@example.org"})
    assert unknown.status_code == 422
    assert "No active user has the email ghost@example.org." in text_of(unknown)
    assert 'value="ghost@example.org"' in unknown.text
    added = post(client, f"{PAGE}/{project.id}/members", {"email": person.email, "role": "owner"})
    assert added.status_code == 303
    page = client.get(added.headers["location"])
    assert "Member added." in page.text
    assert person.email in page.text
    role = post(client, f"{PAGE}/{project.id}/members/{person.user.id}/role", {"role": "member"})
    assert role.status_code == 303
    with database.session() as db:
        membership = db.get(ProjectMember, (project.id, person.user.id))
        assert membership is not None
        assert membership.role is MemberRole.MEMBER
    removed = post(client, f"{PAGE}/{project.id}/members/{person.user.id}/remove", {})
    assert removed.status_code == 303
    assert "Member removed." in client.get(removed.headers["location"]).text
    with database.session() as db:
        assert db.get(ProjectMember, (project.id, person.user.id)) is None


def test_every_project_page_is_refused_for_a_normal_user(
    client: TestClient, factory: Factory, database: Database
) -> None:
    user = factory.user()
    project = factory.project(members=(user.user,))
    factory.web_login(client, user)
    token = session_csrf(client)
    for path in (PAGE, f"{PAGE}/new", f"{PAGE}/{project.id}"):
        assert client.get(path).status_code == 403, path
    for path, data in (
        (f"{PAGE}/new", {"name": "mine"}),
        (f"{PAGE}/{project.id}", {"name": "taken", "is_active": "on"}),
        (f"{PAGE}/{project.id}/members", {"email": user.email}),
        (f"{PAGE}/{project.id}/members/{user.user.id}/role", {"role": "owner"}),
        (f"{PAGE}/{project.id}/members/{user.user.id}/remove", {}),
    ):
        response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, path
    assert stored(database, project.name).id == project.id
    assert 'href="/admin/projects"' not in client.get("/").text
