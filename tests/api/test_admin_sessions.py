"""Every user's sessions through the admin API: filters, keyset pages, one session, terminate
(audited, the reason shown to the owner, the agent woken), and refusals: a user's 403, a bad
filter's 422 that says what is wrong, an unknown id's 404, another admin's session."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.agents.models import Agent
from shipyard.agents.schemas import SessionReport
from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession
from shipyard.users.models import Role
from tests.api.effects_helpers import Effects
from tests.api.test_admin_users_api import bearer, error
from tests.factories import Factory
from tests.querycount import QueryCounter

SESSIONS = "/api/v1/admin/sessions"


def run(database: Database, agent: Agent, *running: ComputeSession) -> None:
    """Schedule what is pending and have the agent report `running` as running."""
    with database.session() as db:
        schedule_once(db)
        db.commit()
        reports = [SessionReport(session_id=s.id, running=True) for s in running]
        sessions.apply_reports(db, agent=db.merge(agent), reports=reports)
        db.commit()


def names(page: dict[str, Any]) -> list[str]:
    return [row["name"] for row in page["data"]]


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> dict[str, str]:
    return bearer(client, factory.admin())


def test_a_user_is_refused_every_admin_session_route(client: TestClient, factory: Factory) -> None:
    factory.agent()
    user = factory.user()
    own = factory.session(user.user)
    headers = bearer(client, user)
    for response in (
        client.get(SESSIONS, headers=headers),
        client.get(f"{SESSIONS}/{own.id}", headers=headers),
        client.post(f"{SESSIONS}/{own.id}/terminate", json={"reason": "x"}, headers=headers),
    ):
        assert response.status_code == 403, response.text
        assert error(response) == "Only administrators may do this."
    with factory.database.session() as db:
        assert db.get(ComputeSession, own.id).status_info == "Waiting to be scheduled."  # type: ignore[union-attr]


def test_lists_every_users_sessions_newest_first_with_filters(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    agent = factory.agent()
    alice, bob = factory.user(), factory.user()
    project = factory.project(members=(bob.user,))
    first = factory.session(alice.user)
    second = factory.session(bob.user, project=project.name)
    run(database, agent, first, second)
    third = factory.session(alice.user)  # stays pending

    everything = client.get(SESSIONS, headers=admin).json()
    assert names(everything) == [third.name, second.name, first.name]
    assert (everything["count"], everything["more"], everything["next"]) == (3, False, None)
    row = everything["data"][1]
    assert (row["owner"], row["project"], row["resource_group"]) == (
        bob.email,
        project.name,
        "default",
    )
    assert (row["agent"], row["status"], row["resources"]) == (
        agent.id,
        "RUNNING",
        second.requested,
    )

    def listed(**params: str) -> list[str]:
        response = client.get(SESSIONS, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return names(response.json())

    assert listed(user=alice.email.upper()) == [third.name, first.name]
    assert listed(user=str(bob.user.id)) == [second.name]
    assert listed(project=project.name) == [second.name]
    assert listed(project=str(project.id), user=alice.email) == []
    assert listed(group="default", status="running") == [second.name, first.name]
    assert listed(agent=agent.id, user=alice.email) == [first.name]
    assert listed(status="PENDING") == [third.name]


def test_pages_by_cursor_forwards_and_back_without_skipping_or_repeating(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    factory.agent()
    owner = factory.user()
    made = [factory.session(owner.user).name for _ in range(5)]
    newest_first = made[::-1]

    def page(**params: str) -> dict[str, Any]:
        response = client.get(SESSIONS, params={"limit": "2", **params}, headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    first = page()
    assert (names(first), first["count"], first["previous"]) == (newest_first[:2], 5, None)
    second = page(after=first["next"])
    assert names(second) == newest_first[2:4]
    third = page(after=second["next"])
    assert (names(third), third["next"]) == (newest_first[4:], None)
    back = page(before=third["previous"])
    assert names(back) == newest_first[2:4]
    start = page(before=back["previous"])
    assert (names(start), start["previous"]) == (newest_first[:2], None)


def test_a_page_costs_the_same_statements_whatever_the_data(
    client: TestClient, factory: Factory, admin: dict[str, str], queries: QueryCounter
) -> None:
    factory.agent()
    owners = [factory.user() for _ in range(3)]

    def statements() -> int:
        queries.reset()
        response = client.get(SESSIONS, params={"status": "PENDING"}, headers=admin)
        assert response.status_code == 200, response.text
        return queries.count

    factory.session(owners[0].user)
    statements()  # the token's first use is written once
    few = statements()
    for owner in owners:
        for _ in range(3):
            factory.session(owner.user)
    assert statements() == few


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"user": "nobody@example.org"}, "user", "No user has the email or id nobody@example.org."),
        ({"project": "nope"}, "project", "No project is called nope."),
        ({"group": "nope"}, "group", "No resource group is called nope."),
        ({"agent": "nope"}, "agent", "No agent is called nope."),
        (
            {"status": "sleeping"},
            "status",
            "No session status is called sleeping; choose one of PENDING, SCHEDULED, PREPARING,"
            " RUNNING, TERMINATING, TERMINATED, ERROR, CANCELLED.",
        ),
        (
            {"after": "not-a-cursor"},
            "cursor",
            "This page link is not valid; start again from the first page.",
        ),
    ],
)
def test_a_bad_filter_is_422_saying_what_is_wrong(
    client: TestClient, admin: dict[str, str], params: dict[str, str], field: str, message: str
) -> None:
    response = client.get(SESSIONS, params=params, headers=admin)
    assert response.status_code == 422, response.text
    assert error(response) == message
    details = response.json()["error"]["details"]
    assert details.get("fields", {details.get("field"): message}) == {field: message}


def test_info_shows_any_users_session_and_404_for_an_unknown_one(
    client: TestClient, factory: Factory, admin: dict[str, str]
) -> None:
    factory.agent()
    owner = factory.user()
    theirs = factory.session(owner.user, command="python train.py")
    shown = client.get(f"{SESSIONS}/{theirs.id}", headers=admin)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["owner"], shown.json()["command"]) == (owner.email, "python train.py")
    unknown = client.get(f"{SESSIONS}/00000000-0000-4000-8000-000000000000", headers=admin)
    assert (unknown.status_code, error(unknown)) == (404, "No such session.")
    ending = client.post(
        f"{SESSIONS}/00000000-0000-4000-8000-000000000000/terminate",
        json={"reason": "cleanup"},
        headers=admin,
    )
    assert (ending.status_code, error(ending)) == (404, "No such session.")


def test_terminate_is_audited_wakes_the_agent_and_the_owner_reads_the_reason(
    app: FastAPI,
    client: TestClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent = factory.agent()
    boss, owner = factory.admin(), factory.user()
    running = factory.session(owner.user)
    run(database, agent, running)
    pending = factory.session(owner.user)
    admin = bearer(client, boss)
    effects = Effects(app, monkeypatch)

    response = client.post(
        f"{SESSIONS}/{running.id}/terminate",
        json={"reason": "  GPU   maintenance tonight "},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    reason = "Terminated by an administrator: GPU maintenance tonight"
    assert (response.json()["status"], response.json()["status_info"]) == ("TERMINATING", reason)
    assert effects.woken == [[agent.id]]

    # the owner sees it, and still after the agent has stopped it
    with database.session() as db:
        sessions.apply_reports(db, agent=db.merge(agent), reports=[])
        db.commit()
    mine = client.get(f"/api/v1/sessions/{running.id}", headers=bearer(client, owner)).json()
    assert (mine["status"], mine["status_info"]) == ("TERMINATED", reason)
    assert mine["history"][-2]["reason"] == reason

    cancelled = client.post(
        f"{SESSIONS}/{pending.id}/terminate", json={"reason": "queue cleanup"}, headers=admin
    ).json()
    assert (cancelled["status"], cancelled["status_info"]) == (
        "CANCELLED",
        "Cancelled by an administrator: queue cleanup",
    )

    with database.session() as db:
        entries = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == Action.SESSION_TERMINATE.value)
            .order_by(AuditEntry.at)
        ).all()
    assert [(e.actor_email, e.target_id, e.details["reason"]) for e in entries] == [
        (boss.email, str(running.id), "GPU maintenance tonight"),
        (boss.email, str(pending.id), "queue cleanup"),
    ]
    assert entries[0].details["owner"] == owner.email

    again = client.post(
        f"{SESSIONS}/{running.id}/terminate", json={"reason": "twice"}, headers=admin
    )
    assert (again.status_code, error(again)) == (
        409,
        "This session has already ended or is ending.",
    )


def test_terminate_needs_a_reason_and_another_admins_session_is_a_superadmins(
    client: TestClient, factory: Factory, admin: dict[str, str], database: Database
) -> None:
    factory.agent()
    other_admin = factory.admin()
    theirs = factory.session(other_admin.user)
    blank = client.post(f"{SESSIONS}/{theirs.id}/terminate", json={"reason": " "}, headers=admin)
    assert (blank.status_code, error(blank)) == (
        422,
        "Say why the session ends; its owner reads the reason.",
    )
    long = client.post(
        f"{SESSIONS}/{theirs.id}/terminate", json={"reason": "x" * 201}, headers=admin
    )
    assert (long.status_code, error(long)) == (422, "Keep the reason to 200 characters.")
    refused = client.post(
        f"{SESSIONS}/{theirs.id}/terminate", json={"reason": "mine now"}, headers=admin
    )
    assert (refused.status_code, error(refused)) == (
        403,
        "Only a superadmin may end another administrator's session.",
    )
    with database.session() as db:
        assert db.get(ComputeSession, theirs.id).status.value == "PENDING"  # type: ignore[union-attr]
        assert not db.scalars(
            select(AuditEntry).where(AuditEntry.target_id == str(theirs.id))
        ).all()

    boss = bearer(client, factory.user(role=Role.SUPERADMIN))
    done = client.post(f"{SESSIONS}/{theirs.id}/terminate", json={"reason": "ok"}, headers=boss)
    assert done.status_code == 200, done.text
