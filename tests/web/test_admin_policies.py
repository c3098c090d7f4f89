"""The console's resource policy administration: list, create, edit, default, delete."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.audit.models import Action, AuditEntry
from shipyard.db import Database
from shipyard.policies.models import OnQuota, PolicyKind, ResourcePolicy
from tests.factories import Account, Factory
from tests.web.test_admin_projects import text_of
from tests.webclient import session_csrf

PAGE = "/admin/policies"
EMPTY_USER_FORM = {
    "kind": "user",
    "slots.cpu": "",
    "slots.mem": "",
    "slots.cuda.device": "",
    "max_concurrent_sessions": "",
    "max_pending_sessions": "",
    "max_session_lifetime": "",
    "idle_timeout": "",
    "max_folder_count": "",
    "max_folder_size": "",
    "max_session_scratch": "",
    "on_quota": "refuse",
}


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Account:
    account = factory.admin()
    factory.web_login(client, account)
    return account


def post(client: TestClient, path: str, data: dict[str, str]) -> httpx.Response:
    token = session_csrf(client)
    response: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, follow_redirects=False
    )
    return response


def by_name(database: Database, name: str) -> ResourcePolicy | None:
    with database.session() as db:
        return db.scalar(select(ResourcePolicy).where(ResourcePolicy.name == name))


def count(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(ResourcePolicy)) or 0


def test_list_shows_both_kinds_unlimited_as_infinity(
    client: TestClient, factory: Factory, admin: Account
) -> None:
    factory.user_policy(factory.user().user, slots={"cpu": "2", "mem": "4g"}, max_sessions=3)
    page = client.get(PAGE)
    assert page.status_code == 200
    shown = text_of(page)
    assert "User policies" in shown
    assert "Project policies" in shown
    assert "4 GiB" in shown
    assert "∞" in shown
    assert "1 user(s)" in shown
    assert "Default" in shown


def test_the_list_shows_every_limit_in_its_unit(
    client: TestClient, admin: Account, database: Database
) -> None:
    """Sizes in MiB/GiB (never `1m`, which elsewhere means minutes), durations with their
    unit, and slot caps with theirs."""
    form = {
        **EMPTY_USER_FORM,
        "name": "small-folders",
        "slots.cpu": "1",
        "slots.cuda.device": "2",
        "max_session_lifetime": "8h",
        "idle_timeout": "30m",
        "max_folder_count": "3",
        "max_folder_size": "1m",
    }
    assert post(client, f"{PAGE}/new", form).status_code == 303
    row = next(line for line in client.get(PAGE).text.split("<tr>") if "small-folders</a>" in line)
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells[1:7] == [
        "1 core",
        "∞",
        "2 GPUs",
        "∞ / ∞ pending",
        "8 h / 30 min",
        "3, up to 1 MiB each",
    ]


def test_create_a_user_policy_with_limited_and_unlimited_slots(
    client: TestClient, admin: Account, database: Database
) -> None:
    form = client.get(f"{PAGE}/new", params={"kind": "user"})
    assert 'placeholder="Unlimited"' in form.text
    assert "Leave a field empty for unlimited" in text_of(form)
    created = post(
        client,
        f"{PAGE}/new",
        {
            **EMPTY_USER_FORM,
            "name": "gpu-team",
            "slots.cpu": "8",
            "slots.mem": "32g",
            "max_concurrent_sessions": "3",
            "max_session_lifetime": "8h",
            "max_folder_size": "100g",
            "max_session_scratch": "512m",
            "on_quota": "queue",
        },
    )
    assert created.status_code == 303, created.text
    assert "Policy created." in client.get(created.headers["location"]).text
    policy = by_name(database, "gpu-team")
    assert policy is not None
    assert policy.total_slots == {"cpu": "8", "mem": str(32 * 2**30)}
    assert policy.limits.is_unlimited("cuda.device")
    assert (policy.max_concurrent_sessions, policy.max_pending_sessions) == (3, None)
    assert (policy.max_session_lifetime, policy.max_folder_size) == (8 * 3600, 100 * 2**30)
    assert policy.max_session_scratch == 512 * 2**20
    assert policy.on_quota is OnQuota.QUEUE
    edit = client.get(f"{PAGE}/{policy.id}")
    assert 'value="32g"' in edit.text
    assert 'value="8h"' in edit.text
    assert 'value="100g"' in edit.text
    assert 'value="512m"' in edit.text


def test_every_wrong_field_is_marked_and_nothing_is_saved(
    client: TestClient, admin: Account, database: Database
) -> None:
    before = count(database)
    refused = post(
        client,
        f"{PAGE}/new",
        {
            **EMPTY_USER_FORM,
            "name": "broken",
            "slots.cpu": "-4",
            "slots.mem": "lots",
            "max_concurrent_sessions": "2.5",
        },
    )
    assert refused.status_code == 422
    shown = text_of(refused)
    assert "Nothing was saved: 3 fields need a change." in shown
    assert "CPU needs a number of cores such as 2 or 0.5, not “-4”." in shown
    assert refused.text.count('aria-invalid="true"') == 3
    assert 'value="lots"' in refused.text
    assert count(database) == before


def test_scratch_space_is_the_site_default_when_empty_and_at_least_16m(
    client: TestClient, admin: Account, database: Database
) -> None:
    form = client.get(f"{PAGE}/new", params={"kind": "user"})
    assert 'name="max_session_scratch"' in form.text
    assert 'placeholder="Site default"' in form.text
    assert (
        'name="max_session_scratch"'
        not in client.get(f"{PAGE}/new", params={"kind": "project"}).text
    )
    refused = post(
        client, f"{PAGE}/new", {**EMPTY_USER_FORM, "name": "tiny", "max_session_scratch": "8m"}
    )
    assert refused.status_code == 422
    assert "Scratch space must be at least 16m." in text_of(refused)
    assert refused.text.count('aria-invalid="true"') == 1
    assert by_name(database, "tiny") is None
    created = post(client, f"{PAGE}/new", {**EMPTY_USER_FORM, "name": "roomy"})
    assert created.status_code == 303
    policy = by_name(database, "roomy")
    assert policy is not None
    assert policy.max_session_scratch is None


def test_edit_switches_a_slot_to_unlimited_and_is_audited(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    policy = factory.user_policy(factory.user().user, slots={"cpu": "2"})
    saved = post(
        client, f"{PAGE}/{policy.id}", {**EMPTY_USER_FORM, "name": policy.name, "slots.cpu": ""}
    )
    assert saved.status_code == 303
    assert "They apply to the next session request." in client.get(saved.headers["location"]).text
    changed = by_name(database, policy.name)
    assert changed is not None
    assert changed.limits.is_unlimited("cpu")
    with database.session() as db:
        assert Action.POLICY_UPDATE.value in set(db.scalars(select(AuditEntry.action)))


def test_project_policy_form_has_no_user_only_fields(
    client: TestClient, admin: Account, database: Database
) -> None:
    form = client.get(f"{PAGE}/new", params={"kind": "project"})
    assert 'name="max_folder_count"' in form.text
    assert 'name="max_concurrent_sessions"' not in form.text
    created = post(
        client,
        f"{PAGE}/new",
        {"kind": "project", "name": "lab", "slots.cpu": "16", "max_folder_count": "4"},
    )
    assert created.status_code == 303
    policy = by_name(database, "lab")
    assert policy is not None
    assert policy.kind is PolicyKind.PROJECT
    assert (policy.total_slots, policy.max_folder_count) == ({"cpu": "16"}, 4)


@pytest.mark.db
def test_delete_refused_while_used_then_allowed(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    user = factory.user()
    policy = factory.user_policy(user.user)
    confirm = client.get(f"{PAGE}/{policy.id}/delete")
    assert "Used by 1 user(s) and 0 project(s)" in text_of(confirm)
    refused = post(client, f"{PAGE}/{policy.id}/delete", {})
    assert refused.status_code == 409
    assert "give them another policy first" in text_of(refused)
    assert by_name(database, policy.name) is not None
    with database.session() as db:
        db.merge(user.user).resource_policy_id = None
        db.commit()
    deleted = post(client, f"{PAGE}/{policy.id}/delete", {})
    assert deleted.status_code == 303
    assert "Policy deleted." in client.get(deleted.headers["location"]).text
    assert by_name(database, policy.name) is None


def test_make_default(
    client: TestClient, factory: Factory, admin: Account, database: Database
) -> None:
    policy = factory.user_policy(factory.user().user)
    made = post(client, f"{PAGE}/{policy.id}/default", {})
    assert made.status_code == 303
    assert "Default policy changed." in client.get(made.headers["location"]).text
    with database.session() as db:
        defaults = db.scalars(
            select(ResourcePolicy.name).where(
                ResourcePolicy.kind == PolicyKind.USER, ResourcePolicy.is_default.is_(True)
            )
        ).all()
    assert defaults == [policy.name]
    page = client.get(f"{PAGE}/{policy.id}")
    assert "Delete policy" not in page.text  # the default cannot be deleted


def test_every_policy_page_is_refused_for_a_normal_user(
    client: TestClient, factory: Factory, database: Database
) -> None:
    user = factory.user()
    policy = factory.user_policy(user.user, slots={"cpu": "1"})
    factory.web_login(client, user)
    token = session_csrf(client)
    for path in (PAGE, f"{PAGE}/new", f"{PAGE}/{policy.id}", f"{PAGE}/{policy.id}/delete"):
        assert client.get(path).status_code == 403, path
    for path, data in (
        (f"{PAGE}/new", {**EMPTY_USER_FORM, "name": "mine"}),
        (f"{PAGE}/{policy.id}", {**EMPTY_USER_FORM, "name": policy.name}),
        (f"{PAGE}/{policy.id}/default", {}),
        (f"{PAGE}/{policy.id}/delete", {}),
    ):
        response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, path
    unchanged = by_name(database, policy.name)
    assert unchanged is not None
    assert unchanged.total_slots == {"cpu": "1"}
    assert by_name(database, "mine") is None
