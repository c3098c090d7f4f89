"""Mounting folders into sessions through the API and the CLI: who may mount what, under
which name, read-only or not; what the agent is told; folders in use stay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from shipyard.cli.main import app as cli
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.projects.models import Project
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession
from shipyard.storage import hosts
from shipyard.storage.models import Folder, Perm
from shipyard.storage.mounts import MAX_MOUNTS
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory
from tests.signed_agent import agent_auth, registration

BATCH = {"command": "ls /home/work", "resources": {"cpu": "1", "mem": "256m"}}


@pytest.fixture
def account(factory: Factory) -> Account:
    factory.agent(cpu="8", mem="16g")
    return factory.user()


@pytest.fixture
def headers(client: TestClient, account: Account) -> dict[str, str]:
    return bearer(client, account)


def start(client: TestClient, headers: dict[str, str], mounts: list[str], **extra: Any) -> Any:
    return client.post(
        "/api/v1/sessions", json={**BATCH, "mounts": mounts, **extra}, headers=headers
    )


def count_sessions(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(ComputeSession)) or 0


def mount(folder: Folder, name: str, *, read_only: bool) -> dict[str, Any]:
    return {"folder_id": str(folder.id), "name": name, "read_only": read_only}


def test_own_and_shared_folders_are_mounted_with_their_permission(
    client: TestClient, headers: dict[str, str], account: Account, factory: Factory
) -> None:
    data = factory.folder(account.user, name="data")
    friend = factory.user()
    reference = factory.folder(friend.user, name="reference")
    scratch = factory.folder(friend.user, name="scratch")
    factory.share(reference, friend.user, account, Perm.RO)
    factory.share(scratch, friend.user, account, Perm.RW)

    created = start(client, headers, ["data", "reference", str(scratch.id)], name="mounted")

    assert created.status_code == 201, created.text
    expected = [
        mount(data, "data", read_only=False),
        mount(reference, "reference", read_only=True),
        mount(scratch, "scratch", read_only=False),
    ]
    assert created.json()["mounts"] == expected
    assert client.get("/api/v1/sessions/mounted", headers=headers).json()["mounts"] == expected
    listed = client.get("/api/v1/sessions", headers=headers).json()["data"]
    assert listed[0]["mounts"] == expected


def test_a_session_without_folders_mounts_none(client: TestClient, headers: dict[str, str]) -> None:
    created = client.post("/api/v1/sessions", json=BATCH, headers=headers)
    assert created.status_code == 201
    assert created.json()["mounts"] == []


def project_with_folder(factory: Factory, account: Account, name: str) -> tuple[Project, Folder]:
    """A project the account is a member of, with a folder its owner (an admin) made."""
    owner = factory.admin()
    project = factory.project(members=(owner.user, account.user))
    return project, factory.folder(owner.user, name=name, project=project.name)


def test_a_project_folder_mounts_into_its_own_projects_sessions_only(
    client: TestClient,
    headers: dict[str, str],
    account: Account,
    factory: Factory,
    database: Database,
) -> None:
    project, folder = project_with_folder(factory, account, "team-data")

    inside = start(client, headers, ["team-data"], project=project.name)
    elsewhere = start(client, headers, ["team-data"], project="default")

    assert inside.status_code == 201, inside.text
    assert inside.json()["mounts"] == [mount(folder, "team-data", read_only=False)]
    assert elsewhere.status_code == 422
    assert elsewhere.json()["error"]["message"] == (
        f"Folder team-data belongs to project {project.name}; only that project's sessions "
        "may mount it."
    )
    assert elsewhere.json()["error"]["details"] == {"field": "mounts"}
    assert count_sessions(database) == 1


def test_a_name_two_projects_use_means_the_sessions_projects_folder(
    client: TestClient, headers: dict[str, str], account: Account, factory: Factory
) -> None:
    first, first_folder = project_with_folder(factory, account, "team-data")
    _second, second_folder = project_with_folder(factory, account, "team-data")

    created = start(client, headers, ["team-data"], project=first.name)
    ambiguous = start(client, headers, ["team-data"], project="default")

    assert created.status_code == 201, created.text
    assert created.json()["mounts"] == [mount(first_folder, "team-data", read_only=False)]
    assert second_folder.id != first_folder.id
    assert ambiguous.status_code == 422
    assert ambiguous.json()["error"]["message"] == (
        "Several folders are called team-data; use the folder's id."
    )


def test_a_strangers_folder_is_not_found_by_name_or_id(
    client: TestClient,
    headers: dict[str, str],
    account: Account,
    factory: Factory,
    database: Database,
) -> None:
    factory.folder(account.user, name="data")
    hidden = factory.folder(factory.user().user, name="secret")

    for ref in ("secret", str(hidden.id)):
        refused = start(client, headers, ["data", ref])
        assert refused.status_code == 404, ref
        assert refused.json()["error"] == {
            "code": "not_found",
            "message": "No such folder.",
            "details": {"field": "mounts"},
        }
    assert count_sessions(database) == 0


def test_an_admin_cannot_mount_a_users_folder_without_a_share(
    client: TestClient, factory: Factory, database: Database
) -> None:
    factory.agent()
    admin = factory.admin()
    folder = factory.folder(factory.user().user, name="private")

    refused = start(client, bearer(client, admin), [str(folder.id)])

    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "You may mount only folders you own, share or reach through your projects."
    )
    assert count_sessions(database) == 0


def test_the_same_folder_twice_or_two_folders_of_one_name_are_refused(
    client: TestClient,
    headers: dict[str, str],
    account: Account,
    factory: Factory,
    database: Database,
) -> None:
    data = factory.folder(account.user, name="data")
    project, team = project_with_folder(factory, account, "data")

    twice = start(client, headers, ["data", str(data.id)])
    clash = start(client, headers, ["data", str(team.id)], project=project.name)

    assert twice.status_code == 422
    assert twice.json()["error"]["message"] == "Folder data is asked for twice."
    assert clash.status_code == 422
    assert clash.json()["error"]["message"] == (
        "Two folders are called data; both cannot be mounted at /home/work/data. "
        "Rename one of them first."
    )
    assert count_sessions(database) == 0


def test_more_folders_than_allowed_are_refused(
    client: TestClient, headers: dict[str, str], database: Database
) -> None:
    refs = [f"folder-{index}" for index in range(MAX_MOUNTS + 1)]

    refused = start(client, headers, refs)

    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["loc"] == ["body", "mounts"]
    assert count_sessions(database) == 0


@pytest.mark.parametrize("ref", ["", "x" * 65, "nul\x00"])
def test_malformed_folder_refs_are_refused(
    client: TestClient, headers: dict[str, str], database: Database, ref: str
) -> None:
    assert start(client, headers, [ref]).status_code == 422
    assert count_sessions(database) == 0


def test_the_agent_is_told_where_each_folder_lives_and_how_to_bind_it(
    client: TestClient,
    factory: Factory,
    database: Database,
    settings: Settings,
) -> None:
    agent = agent_auth(database)
    client.post("/api/v1/agent/register", json=registration(), auth=agent)
    account = factory.user()
    data = factory.folder(account.user, name="data")
    friend = factory.user()
    reference = factory.folder(friend.user, name="data")
    factory.share(reference, friend.user, account, Perm.RO)
    shared_name = client.get(
        f"/api/v1/folders/{reference.id}", headers=bearer(client, account)
    ).json()["name"]
    created = start(client, bearer(client, account), ["data", shared_name]).json()
    with database.session() as db:
        schedule_once(db)

    state = client.get(
        "/api/v1/agent/desired", params={"agent_id": "node-1", "after": -1}, auth=agent
    ).json()

    assert [s["session_id"] for s in state["sessions"]] == [created["id"]]
    assert state["sessions"][0]["mounts"] == [
        {
            "source": str(hosts.agent_directory(settings, data)),
            "name": "data",
            "access": "full",
            "limit": None,
        },
        {
            "source": str(hosts.agent_directory(settings, reference)),
            "name": shared_name,
            "access": "ro",
            "limit": None,
        },
    ]
    assert shared_name != "data"


@pytest.mark.db
def test_a_mounted_folder_cannot_be_deleted_until_the_session_ends(
    client: TestClient, headers: dict[str, str], account: Account, factory: Factory
) -> None:
    factory.folder(account.user, name="results")
    session = start(client, headers, ["results"], name="uses-results").json()

    refused = client.delete("/api/v1/folders/results", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Sessions still use this folder: uses-results. End them first."
    )
    assert client.get("/api/v1/folders/results", headers=headers).status_code == 200

    client.delete(f"/api/v1/sessions/{session['id']}", headers=headers)
    assert client.delete("/api/v1/folders/results", headers=headers).status_code == 204


# The CLI ---------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_env(
    live_server: str, account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = httpx.post(
        f"{live_server}/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
    ).json()["token"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("SHIPYARD_ENDPOINT", live_server)
    monkeypatch.setenv("SHIPYARD_TOKEN", token)


@pytest.mark.usefixtures("cli_env")
def test_the_cli_mounts_folders_and_shows_them(account: Account, factory: Factory) -> None:
    factory.folder(account.user, name="data")
    friend = factory.user()
    factory.share(factory.folder(friend.user, name="models"), friend.user, account, Perm.RO)

    created = runner.invoke(
        cli,
        ["session", "create", "--cmd", "ls", "--name", "cli-mounts",
         "--mount", "data", "--mount", "models", "--output", "json"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert [(m["name"], m["read_only"]) for m in json.loads(created.output)["mounts"]] == [
        ("data", False),
        ("models", True),
    ]

    info = runner.invoke(cli, ["session", "info", "cli-mounts"])
    assert info.exit_code == 0, info.output
    assert "folders: data at /home/work/data (rw)" in info.output
    assert "models at /home/work/models (ro)" in info.output


@pytest.mark.usefixtures("cli_env")
def test_the_cli_reports_a_folder_it_cannot_mount() -> None:
    refused = runner.invoke(cli, ["session", "create", "--cmd", "ls", "--mount", "nowhere"])
    assert refused.exit_code == 1
    assert "No such folder." in refused.output
