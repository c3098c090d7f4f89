"""Sharing by invitation through the API: invite, accept, decline, cancel, change, revoke, leave."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shipyard.admin import user_access
from shipyard.db import Database
from shipyard.storage.models import Folder, Perm
from shipyard.users import service as users
from shipyard.users.models import User, UserStatus
from tests.api.folder_helpers import Caller, caller
from tests.factories import PASSWORD, Account, Factory


@pytest.fixture
def alice(client: TestClient, factory: Factory) -> Caller:
    return caller(client, factory.user())


@pytest.fixture
def bob(client: TestClient, factory: Factory) -> Caller:
    return caller(client, factory.user())


@pytest.fixture
def folder(factory: Factory, alice: Caller) -> Folder:
    return factory.folder(alice.account.user, name="data")


def invite(client: TestClient, who: Caller, folder: Folder, email: str, perm: str = "ro") -> dict:
    response = client.post(
        f"/api/v1/folders/{folder.id}/invitations",
        json={"email": email, "permission": perm},
        headers=who.headers,
    )
    return {"status": response.status_code, **response.json()}


def pending(client: TestClient, who: Caller) -> list[dict]:
    return client.get("/api/v1/invitations", headers=who.headers).json()["data"]


@pytest.mark.smoke
def test_invite_accept_and_use(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder
) -> None:
    sent = invite(client, alice, folder, bob.account.email, "rw")
    assert sent["status"] == 201
    assert (sent["folder"], sent["inviter"], sent["permission"], sent["state"]) == (
        "data",
        alice.account.email,
        "rw",
        "pending",
    )
    shown = pending(client, bob)
    assert [(i["folder"], i["inviter"], i["permission"]) for i in shown] == [
        ("data", alice.account.email, "rw")
    ]
    # Before accepting, bob still cannot see the folder.
    assert client.get(f"/api/v1/folders/{folder.id}", headers=bob.headers).status_code == 404
    accepted = client.post(f"/api/v1/invitations/{sent['id']}/accept", headers=bob.headers)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["name"], accepted.json()["shared_by"]) == ("data", alice.account.email)
    assert pending(client, bob) == []
    made = client.post(
        f"/api/v1/folders/{folder.id}/mkdir", json={"path": "b"}, headers=bob.headers
    )
    assert made.status_code == 201
    shares = client.get(f"/api/v1/folders/{folder.id}/shares", headers=alice.headers).json()
    assert [(s["user"], s["permission"]) for s in shares["shares"]] == [(bob.account.email, "rw")]
    assert shares["pending"] == []


def test_bad_invitations_change_nothing(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    assert invite(client, alice, folder, alice.account.email)["status"] == 422
    assert invite(client, alice, folder, "not-an-email")["status"] == 422
    assert invite(client, alice, folder, bob.account.email, "admin")["status"] == 422
    assert invite(client, alice, folder, bob.account.email)["status"] == 201
    again = invite(client, alice, folder, bob.account.email.upper())
    assert again["status"] == 409
    assert "invitation to this folder already" in again["error"]["message"]
    assert len(pending(client, bob)) == 1


def test_inviting_an_address_says_nothing_about_whether_it_has_an_account(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    known = invite(client, alice, folder, bob.account.email, "rw")
    unknown = invite(client, alice, folder, "Nobody@Example.org", "rw")
    assert (known["status"], unknown["status"]) == (201, 201)
    assert sorted(known) == sorted(unknown)
    assert (unknown["invitee"], unknown["state"]) == ("nobody@example.org", "pending")
    same = {"folder", "folder_id", "inviter", "permission", "state"}
    assert {k: known[k] for k in same} == {k: unknown[k] for k in same}
    shares = client.get(f"/api/v1/folders/{folder.id}/shares", headers=alice.headers).json()
    assert sorted(i["invitee"] for i in shares["pending"]) == sorted(
        [bob.account.email, "nobody@example.org"]
    )
    again = invite(client, alice, folder, "nobody@example.org")
    assert again["status"] == 409
    assert "invitation to this folder already" in again["error"]["message"]


def test_an_invitation_to_an_address_waits_for_its_account(
    client: TestClient, alice: Caller, folder: Folder, factory: Factory
) -> None:
    later = f"later-{folder.id.hex[:8]}@example.org"
    sent = invite(client, alice, folder, later, "rw")
    assert sent["status"] == 201
    with factory.database.session() as db:
        user = users.create_user(db, email=later, password=PASSWORD, settings=factory.settings)
    newcomer = caller(client, Account(user=user, email=later, password=PASSWORD))
    assert [i["id"] for i in pending(client, newcomer)] == [sent["id"]]
    accepted = client.post(f"/api/v1/invitations/{sent['id']}/accept", headers=newcomer.headers)
    assert accepted.status_code == 200, accepted.text
    shares = client.get(f"/api/v1/folders/{folder.id}/shares", headers=alice.headers).json()
    assert [(s["user"], s["permission"]) for s in shares["shares"]] == [(later, "rw")]


def test_deactivating_cancels_what_was_sent_before_the_account_existed(
    client: TestClient, alice: Caller, folder: Folder, factory: Factory, database: Database
) -> None:
    later = f"early-{folder.id.hex[:8]}@example.org"
    assert invite(client, alice, folder, later)["status"] == 201
    with database.session() as db:
        user = users.create_user(db, email=later, password=PASSWORD, settings=factory.settings)
        admin = db.merge(factory.admin().user)
        user_access.deactivate(db, admin=admin, ref=str(user.id))
        user_access.activate(db, admin=admin, ref=str(user.id))
    newcomer = caller(client, Account(user=user, email=later, password=PASSWORD))
    assert pending(client, newcomer) == []


@pytest.mark.db
def test_an_existing_share_is_changed_not_invited_again(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    factory.share(folder, alice.account.user, bob.account, Perm.RO)
    again = invite(client, alice, folder, bob.account.email)
    assert again["status"] == 409
    assert "change the permission" in again["error"]["message"]
    base = f"/api/v1/folders/{folder.id}"
    assert client.post(f"{base}/mkdir", json={"path": "x"}, headers=bob.headers).status_code == 403
    changed = client.patch(
        f"{base}/shares/{bob.account.email}", json={"permission": "rw"}, headers=alice.headers
    )
    assert changed.status_code == 200
    assert client.post(f"{base}/mkdir", json={"path": "x"}, headers=bob.headers).status_code == 201
    revoked = client.delete(f"{base}/shares/{bob.account.email}", headers=alice.headers)
    assert revoked.status_code == 204
    assert client.get(base, headers=bob.headers).status_code == 404
    missing = client.delete(f"{base}/shares/{bob.account.email}", headers=alice.headers)
    assert missing.status_code == 404


def test_decline_and_cancel(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    carol = caller(client, factory.user())
    to_bob = invite(client, alice, folder, bob.account.email)
    to_carol = invite(client, alice, folder, carol.account.email)
    assert (
        client.post(f"/api/v1/invitations/{to_bob['id']}/decline", headers=bob.headers).status_code
        == 204
    )
    assert pending(client, bob) == []
    assert client.get(f"/api/v1/folders/{folder.id}", headers=bob.headers).status_code == 404
    # Only the inviter cancels; the invitee cannot cancel, nor can a stranger.
    assert (
        client.delete(f"/api/v1/invitations/{to_carol['id']}", headers=bob.headers).status_code
        == 404
    )
    assert (
        client.delete(f"/api/v1/invitations/{to_carol['id']}", headers=alice.headers).status_code
        == 204
    )
    assert pending(client, carol) == []
    late = client.post(f"/api/v1/invitations/{to_carol['id']}/accept", headers=carol.headers)
    assert late.status_code == 404
    assert "no longer open" in late.json()["error"]["message"]
    assert client.get(f"/api/v1/folders/{folder.id}", headers=carol.headers).status_code == 404


def test_someone_elses_invitation_cannot_be_answered(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    mallory = caller(client, factory.user())
    sent = invite(client, alice, folder, bob.account.email)
    for action in ("accept", "decline"):
        response = client.post(
            f"/api/v1/invitations/{sent['id']}/{action}", headers=mallory.headers
        )
        assert response.status_code == 404
    assert client.get(f"/api/v1/folders/{folder.id}", headers=mallory.headers).status_code == 404
    assert len(pending(client, bob)) == 1


@pytest.mark.db
def test_name_clash_on_accept_gets_a_distinct_name(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    factory.folder(bob.account.user, name="data")
    carol = caller(client, factory.user())
    carols = factory.folder(carol.account.user, name="data")
    first = invite(client, alice, folder, bob.account.email)
    second = invite(client, carol, carols, bob.account.email)
    for sent in (first, second):
        assert client.post(
            f"/api/v1/invitations/{sent['id']}/accept", headers=bob.headers
        ).is_success
    names = {
        (f["name"], f["folder_name"], f["via"])
        for f in client.get("/api/v1/folders", headers=bob.headers).json()["data"]
    }
    alice_local = alice.account.email.split("@")[0]
    carol_local = carol.account.email.split("@")[0]
    assert names == {
        ("data", "data", "own"),
        (f"data-{alice_local}", "data", "shared"),
        (f"data-{carol_local}", "data", "shared"),
    }
    # Creating an own folder under a shared folder's name is refused: names stay unique.
    clash = client.post(
        "/api/v1/folders", json={"name": f"data-{alice_local}"}, headers=bob.headers
    )
    assert clash.status_code == 409


def test_renaming_a_shared_folder_renames_only_my_view(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    factory.share(folder, alice.account.user, bob.account, Perm.RO)
    renamed = client.patch(
        f"/api/v1/folders/{folder.id}", json={"name": "from-alice"}, headers=bob.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "from-alice"
    assert (
        client.get(f"/api/v1/folders/{folder.id}", headers=alice.headers).json()["name"] == "data"
    )
    assert client.get("/api/v1/folders/from-alice", headers=bob.headers).status_code == 200


def test_leave_a_shared_folder(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, factory: Factory
) -> None:
    factory.share(folder, alice.account.user, bob.account, Perm.RW)
    assert client.post(f"/api/v1/folders/{folder.id}/leave", headers=bob.headers).status_code == 204
    assert client.get(f"/api/v1/folders/{folder.id}", headers=bob.headers).status_code == 404
    own = client.post(f"/api/v1/folders/{folder.id}/leave", headers=alice.headers)
    assert own.status_code == 422


def test_project_folders_are_not_shared_by_invitation(
    client: TestClient, bob: Caller, factory: Factory, database: Database
) -> None:
    admin = factory.admin()
    project = factory.project(members=(admin.user,))
    folder = factory.folder(admin.user, name="team", project=project.name)
    response = invite(client, caller(client, admin), folder, bob.account.email)
    assert response["status"] == 422
    assert "project membership" in response["error"]["message"]


def test_invitations_from_a_deactivated_user_lapse(
    client: TestClient, alice: Caller, bob: Caller, folder: Folder, database: Database
) -> None:
    sent = invite(client, alice, folder, bob.account.email)
    with database.session() as db:
        user = db.get(User, alice.account.user.id)
        assert user is not None
        user.status = UserStatus.INACTIVE
        db.commit()
    assert pending(client, bob) == []
    late = client.post(f"/api/v1/invitations/{sent['id']}/accept", headers=bob.headers)
    assert late.status_code == 404


def test_an_inactive_users_address_gets_the_same_answer(
    client: TestClient, alice: Caller, folder: Folder, factory: Factory, database: Database
) -> None:
    gone = factory.user()
    with database.session() as db:
        user = db.get(User, gone.user.id)
        assert user is not None
        user.status = UserStatus.INACTIVE
        db.commit()
    sent = invite(client, alice, folder, gone.email)
    assert (sent["status"], sent["invitee"], sent["state"]) == (201, gone.email, "pending")
