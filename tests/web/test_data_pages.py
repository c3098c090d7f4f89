"""The Data & Storage console pages: folders, their dialogs, sharing, invitations, files."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.projects import service as projects
from shipyard.projects.models import MemberRole
from shipyard.sessions.models import ComputeSession
from shipyard.storage import hosts, sharing
from shipyard.storage.models import Folder, FolderInvitation, FolderKind, InvitationState, Perm
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import session_csrf

HTMX = {"HX-Request": "true"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


@pytest.fixture
def owner(client: TestClient, factory: Factory) -> Account:
    account = factory.user()
    factory.web_login(client, account)
    return account


def post(
    client: TestClient, path: str, data: dict[str, str], *, htmx: bool = False
) -> httpx.Response:
    response: httpx.Response = client.post(
        path,
        data={**data, "csrf_token": session_csrf(client)},
        headers=HTMX if htmx else {},
        follow_redirects=False,
    )
    return response


def folder_names(database: Database, account: Account) -> list[str]:
    with database.session() as db:
        query = select(Folder.name).where(
            Folder.owner_user_id == account.user.id, Folder.kind == FolderKind.FOLDER
        )
        return sorted(db.scalars(query))


def invitations(database: Database, folder: Folder) -> list[FolderInvitation]:
    with database.session() as db:
        query = select(FolderInvitation).where(FolderInvitation.folder_id == folder.id)
        return list(db.scalars(query))


def events(response: httpx.Response) -> dict[str, object]:
    fired: dict[str, object] = json.loads(response.headers["hx-trigger"])
    return fired


def switch_to(client: TestClient, factory: Factory, account: Account) -> None:
    client.cookies.clear()
    factory.web_login(client, account)


# Pages -----------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_the_data_page_lists_own_project_and_shared_folders(
    client: TestClient, factory: Factory, owner: Account
) -> None:
    friend = factory.user()
    factory.folder(owner.user, name="results")
    shared = factory.folder(friend.user, name="corpus")
    factory.share(shared, friend.user, owner, Perm.RO)
    admin = factory.admin()
    project = factory.project(members=(owner.user, admin.user))
    factory.folder(admin.user, name="team-data", project=project.name)

    page = client.get("/data")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page"' in html
    assert ">Data &amp; Storage<" not in html
    assert "results" in html
    assert "owned by you" in html
    assert "corpus" in html
    assert f"shared by {friend.email}" in html
    assert "team-data" in html
    assert f"project {project.name}" in html
    assert ">read-only</span>" in html
    assert ">owner</span>" in html
    assert ">rw + delete</span>" in html
    assert "0 B / ∞" in html
    assert "1 / ∞ folders" in html
    assert 'aria-label="Actions for corpus"' in html
    for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ATTRIBUTE):
        assert not pattern.search(html)


def test_empty_tabs_say_what_to_do(client: TestClient, owner: Account) -> None:
    html = client.get("/data").text
    assert "You have no folders yet" in html
    assert "Nothing is shared with you" in html
    assert "No project folders" in html


def test_a_folder_limit_shows_a_bar_and_the_count_limit(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    folder = factory.folder(owner.user, name="small")
    with database.session() as db:
        db.execute(update(Folder).where(Folder.id == folder.id).values(max_size=2**20))
        db.commit()
    (hosts.directory(factory.settings, folder) / "data.bin").write_bytes(b"x" * 2**19)
    html = client.get("/data").text
    assert "512.0 KiB / 1.0 MiB" in html
    assert 'max="100" value="50" aria-label="Usage of small"' in html


def test_the_file_browser_shows_files_for_owner_and_reader_but_not_stranger(
    client: TestClient, factory: Factory, owner: Account
) -> None:
    folder = factory.folder(owner.user, name="photos")
    root = hosts.directory(factory.settings, folder)
    (root / "raw").mkdir()
    (root / "raw" / "a.jpg").write_bytes(b"x" * 2048)
    (root / "notes.txt").write_bytes(b"hello")

    html = client.get(f"/data/{folder.id}").text
    assert 'id="upload-button"' in html
    assert "Upload" in html
    assert "raw" in html
    assert "notes.txt" in html
    assert "5 B" in html
    assert f"/api/v1/folders/{folder.id}/download?path=notes.txt" in html
    assert 'aria-label="Delete notes.txt"' in html
    sub = client.get(f"/data/{folder.id}", params={"path": "raw"}).text
    assert 'aria-label="Breadcrumb"' in sub
    assert ">photos</a>" in sub
    assert '<a href="/data/' in sub
    assert 'aria-current="page">raw</a>' in sub
    assert "2.0 KiB" in sub
    for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ATTRIBUTE):
        assert not pattern.search(html)

    reader = factory.user()
    factory.share(folder, owner.user, reader, Perm.RO)
    switch_to(client, factory, reader)
    html = client.get(f"/data/{folder.id}").text
    assert "This folder is read-only for you" in html
    assert 'id="upload-button"' not in html
    assert 'aria-label="Delete notes.txt"' not in html
    assert "Rename or move" not in html
    assert "download?path=notes.txt" in html

    switch_to(client, factory, factory.user())
    for path in (f"/data/{folder.id}", f"/data/{folder.id}/share", f"/data/{folder.id}/rename"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "No such folder." in response.text
    assert client.get("/data/not-a-folder").status_code == 404


def test_big_directories_are_paged(client: TestClient, factory: Factory, owner: Account) -> None:
    folder = factory.folder(owner.user)
    root = hosts.directory(factory.settings, folder)
    for number in range(230):
        (root / f"file-{number:03d}.txt").write_bytes(b"")
    first = client.get(f"/data/{folder.id}").text
    assert "1\u2013100 of 230" in first
    assert "file-099.txt" in first
    assert "file-100.txt" not in first
    assert f'href="/data/{folder.id}?offset=100"' in first
    last = client.get(f"/data/{folder.id}", params={"offset": 200}).text
    assert "201\u2013230 of 230" in last
    assert "file-229.txt" in last
    assert f'href="/data/{folder.id}?offset=100"' in last
    assert "Next" not in last
    beyond = client.get(f"/data/{folder.id}", params={"offset": 500}).text
    assert "Nothing on this page" in beyond
    assert "This folder is empty" not in beyond


def test_data_page_statements_do_not_grow_with_folders(
    client: TestClient, factory: Factory, owner: Account, queries: QueryCounter
) -> None:
    friend = factory.user()
    factory.folder(owner.user)
    client.get("/data")
    queries.reset()
    client.get("/data")
    few = queries.count
    for _ in range(10):
        factory.folder(owner.user)
        shared = factory.folder(friend.user)
        factory.share(shared, friend.user, owner, Perm.RW)
    with factory.database.session() as db:
        sharing.invite(
            db,
            user=db.merge(friend.user),
            ref=str(shared.id),
            email=factory.user().email,
            perm=Perm.RO,
        )
    client.get("/data")
    queries.reset()
    page = client.get("/data")
    assert queries.count == few
    assert page.text.count('aria-label="Actions for ') == 21


# Create, rename, delete ----------------------------------------------------------------------


def test_create_a_folder_through_the_dialog(
    client: TestClient, owner: Account, database: Database
) -> None:
    dialog = client.get("/data/new", headers=HTMX)
    assert 'id="dialog-title">New folder<' in dialog.text
    assert "starting with a letter or digit" in dialog.text
    assert "<html" not in dialog.text
    response = post(client, "/data/new", {"name": "results", "usage_mode": "data"}, htmx=True)
    assert response.status_code == 200
    fired = events(response)
    assert fired["shipyard:folders-changed"] == {"tab": "own"}
    assert fired["shipyard:dialog-done"] == {"message": "Folder results created."}
    assert folder_names(database, owner) == ["results"]
    plain = post(client, "/data/new", {"name": "models", "usage_mode": "model"})
    assert plain.status_code == 303
    assert plain.headers["location"] == "/data?tab=own"
    html = client.get("/data").text
    assert "results" in html
    assert "models" in html
    assert ">Model<" in html


@pytest.mark.parametrize("name", ["", "../etc", "-dash", "a b", "x" * 65, "ünïcode"])
def test_bad_folder_names_are_explained_and_nothing_is_created(
    client: TestClient, owner: Account, database: Database, name: str
) -> None:
    response = post(client, "/data/new", {"name": name, "usage_mode": "general"}, htmx=True)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert 'id="folder-name-error"' in response.text
    assert "starting with a letter or digit" in response.text
    expected = "is not a valid folder name." if name else "Give the folder a name."
    assert expected in response.text
    plain = post(client, "/data/new", {"name": name, "usage_mode": "general"})
    assert plain.status_code == 422
    assert "<html" in plain.text
    assert folder_names(database, owner) == []


@pytest.mark.db
def test_a_taken_name_or_bad_usage_mode_is_refused(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    factory.folder(owner.user, name="taken")
    response = post(client, "/data/new", {"name": "taken", "usage_mode": "general"})
    assert response.status_code == 409
    assert "You already have a folder called taken." in response.text
    response = post(client, "/data/new", {"name": "fresh", "usage_mode": "videos"}, htmx=True)
    assert "Choose a usage mode." in response.text
    assert folder_names(database, owner) == ["taken"]


def test_project_owners_may_create_project_folders(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    mine = factory.project(members=())
    other = factory.project(members=(owner.user,))
    with database.session() as db:
        projects.add_member(db, project=mine, user=owner.user, role=MemberRole.OWNER)
        db.commit()
    dialog = client.get("/data/new", headers=HTMX).text
    assert f"Project {mine.name}" in dialog
    assert f"Project {other.name}" not in dialog
    response = post(
        client,
        "/data/new",
        {"name": "shared-data", "usage_mode": "data", "project": str(mine.id)},
        htmx=True,
    )
    assert events(response)["shipyard:folders-changed"] == {"tab": "project"}
    refused = post(
        client, "/data/new", {"name": "sneaky", "usage_mode": "data", "project": str(other.id)}
    )
    assert refused.status_code == 403
    assert "Only the project&#39;s owners may create its folders." in refused.text
    with database.session() as db:
        names = db.scalars(select(Folder.name).where(Folder.owner_project_id.is_not(None)))
        assert sorted(names) == ["shared-data"]


def test_forms_without_the_csrf_token_change_nothing(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    folder = factory.folder(owner.user, name="keep")
    for path, data in (
        ("/data/new", {"name": "sneaky"}),
        (f"/data/{folder.id}/rename", {"name": "renamed"}),
        (f"/data/{folder.id}/delete", {}),
        (f"/data/{folder.id}/share", {"email": factory.user().email, "permission": "rw"}),
        (f"/data/{folder.id}/files/mkdir", {"path": "", "name": "dir"}),
    ):
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, path
        assert "This form has expired" in response.text
    assert folder_names(database, owner) == ["keep"]
    assert invitations(database, folder) == []
    assert list(hosts.directory(factory.settings, folder).iterdir()) == []


def test_rename_own_folder_and_own_view_of_a_shared_one(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    folder = factory.folder(owner.user, name="before")
    dialog = client.get(f"/data/{folder.id}/rename", headers=HTMX).text
    assert 'value="before"' in dialog
    response = post(client, f"/data/{folder.id}/rename", {"name": "after"}, htmx=True)
    assert events(response)["shipyard:dialog-done"] == {"message": "Renamed to after."}
    assert folder_names(database, owner) == ["after"]
    bad = post(client, f"/data/{folder.id}/rename", {"name": "../up"}, htmx=True)
    assert "../up is not a valid folder name." in bad.text
    assert folder_names(database, owner) == ["after"]

    reader = factory.user()
    factory.share(folder, owner.user, reader, Perm.RO)
    switch_to(client, factory, reader)
    dialog = client.get(f"/data/{folder.id}/rename", headers=HTMX).text
    assert "This renames the folder for you only" in dialog
    post(client, f"/data/{folder.id}/rename", {"name": "my-view"})
    assert "my-view" in client.get("/data?tab=shared").text
    assert "called after by its owner" in client.get("/data").text
    assert folder_names(database, owner) == ["after"]


@pytest.mark.db
def test_delete_a_folder_and_a_folder_in_use_is_refused(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    doomed = factory.folder(owner.user, name="doomed")
    busy = factory.folder(owner.user, name="busy")
    dialog = client.get(f"/data/{doomed.id}/delete", headers=HTMX).text
    assert "Delete doomed?" in dialog
    assert "cannot be undone" in dialog
    response = post(client, f"/data/{doomed.id}/delete", {}, htmx=True)
    assert events(response)["shipyard:dialog-done"] == {"message": "Folder doomed deleted."}
    assert folder_names(database, owner) == ["busy"]

    factory.agent()
    session = factory.session(owner.user)
    with database.session() as db:
        mount = {"folder_id": str(busy.id), "name": "busy", "read_only": False}
        db.execute(
            update(ComputeSession).where(ComputeSession.id == session.id).values(mounts=[mount])
        )
        db.commit()
    refused = post(client, f"/data/{busy.id}/delete", {}, htmx=True)
    assert refused.status_code == 200
    assert f"Sessions still use this folder: {session.name}. End them first." in refused.text
    plain = post(client, f"/data/{busy.id}/delete", {})
    assert plain.status_code == 409
    assert folder_names(database, owner) == ["busy"]


def test_only_owners_see_manage_actions_and_others_are_refused(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    folder = factory.folder(owner.user, name="mine")
    writer = factory.user()
    factory.share(folder, owner.user, writer, Perm.WD)
    switch_to(client, factory, writer)
    html = client.get("/data").text
    assert f'href="/data/{folder.id}/leave"' in html
    assert f'href="/data/{folder.id}/delete"' not in html
    assert f'href="/data/{folder.id}/share"' not in html
    response = post(client, f"/data/{folder.id}/delete", {})
    assert response.status_code == 403
    assert "Only the folder&#39;s owner may rename or delete it." in response.text
    assert client.get(f"/data/{folder.id}/share").status_code == 403
    assert folder_names(database, owner) == ["mine"]


# Sharing and invitations -------------------------------------------------------------------


def test_the_share_dialog_answers_alike_for_an_address_without_an_account(
    client: TestClient, factory: Factory, owner: Account
) -> None:
    folder = factory.folder(owner.user, name="corpus")
    friend = factory.user()

    def invite(email: str) -> tuple[int, str]:
        answer = post(
            client, f"/data/{folder.id}/share", {"email": email, "permission": "ro"}, htmx=True
        )
        (notice,) = re.findall(r'role="status">([^<]*)<', answer.text)
        return answer.status_code, notice.strip().replace(email, "EMAIL")

    known, unknown = invite(friend.email), invite("nobody@example.org")
    assert known == unknown == (200, "EMAIL is invited. " + WAITS)
    dialog = client.get(f"/data/{folder.id}/share", headers=HTMX).text
    for email in (friend.email, "nobody@example.org"):
        assert f"Cancel the invitation to {email}" in dialog
    plain = post(client, f"/data/{folder.id}/share", {"email": "ghost@example.org"})
    assert plain.status_code == 303
    assert "No active user" not in client.get(f"/data/{folder.id}/share").text


WAITS = "If that address has no account yet, the invitation waits for it."


@pytest.mark.smoke
def test_share_a_folder_then_accept_and_leave_it(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    folder = factory.folder(owner.user, name="corpus")
    friend = factory.user()
    dialog = client.get(f"/data/{folder.id}/share", headers=HTMX).text
    assert "They can see and download the files." in dialog
    assert "They can also delete files and folders." in dialog
    assert "Nobody else has access yet." in dialog
    response = post(
        client, f"/data/{folder.id}/share", {"email": friend.email, "permission": "rw"}, htmx=True
    )
    assert response.status_code == 200
    assert f"{friend.email} is invited." in response.text
    assert f"Cancel the invitation to {friend.email}" in response.text
    bad_perm = post(
        client, f"/data/{folder.id}/share", {"email": friend.email, "permission": "all"}, htmx=True
    )
    assert "Choose a permission." in bad_perm.text
    (invitation,) = invitations(database, folder)
    assert invitation.perm is Perm.RW

    switch_to(client, factory, friend)
    page = client.get("/data").text
    assert "Invitations for you" in page
    assert f"From {owner.email}" in page
    accepted = post(client, f"/data/invitations/{invitation.id}/accept", {}, htmx=True)
    assert accepted.status_code == 200
    assert "Accepted: the folder is yours to use as corpus." in accepted.text
    assert events(accepted) == {"shipyard:folders-changed": {"tab": "shared"}}
    shared = client.get("/data?tab=shared").text
    assert f"shared by {owner.email}" in shared
    assert ">read-write</span>" in shared
    assert "Invitations for you" not in shared

    left = post(client, f"/data/{folder.id}/leave", {})
    assert left.status_code == 303
    assert "Nothing is shared with you" in client.get("/data").text


def test_owner_changes_revokes_and_cancels(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    folder = factory.folder(owner.user, name="corpus")
    reader, invitee = factory.user(), factory.user()
    factory.share(folder, owner.user, reader, Perm.RO)
    with database.session() as db:
        sharing.invite(
            db, user=db.merge(owner.user), ref=str(folder.id), email=invitee.email, perm=Perm.WD
        )
    dialog = client.get(f"/data/{folder.id}/share", headers=HTMX).text
    assert reader.email in dialog
    assert invitee.email in dialog

    changed = post(
        client,
        f"/data/{folder.id}/share/permission",
        {"email": reader.email, "permission": "wd"},
        htmx=True,
    )
    assert f"{reader.email} now has rw + delete access." in changed.text
    with database.session() as db:
        assert (
            sharing.shares_of(db, user=db.merge(owner.user), ref=str(folder.id))
            .shares[0]
            .permission
            is Perm.WD
        )

    pending = next(i for i in invitations(database, folder) if i.state is InvitationState.PENDING)
    canceled = post(
        client, f"/data/{folder.id}/share/cancel", {"invitation": str(pending.id)}, htmx=True
    )
    assert "Invitation canceled." in canceled.text
    assert "No invitations are waiting." in canceled.text
    again = post(client, f"/data/{folder.id}/share/cancel", {"invitation": str(pending.id)})
    assert again.status_code == 404
    assert "This invitation is no longer open." in again.text

    revoked = post(client, f"/data/{folder.id}/share/revoke", {"email": reader.email})
    assert revoked.status_code == 303
    assert client.get(revoked.headers["location"]).text.count("Nobody else has access yet.") == 1
    missing = post(client, f"/data/{folder.id}/share/revoke", {"email": reader.email}, htmx=True)
    assert f"This folder is not shared with {reader.email}." in missing.text


def test_decline_and_answers_to_closed_or_foreign_invitations(
    client: TestClient, factory: Factory, owner: Account, database: Database
) -> None:
    friend, stranger = factory.user(), factory.user()
    first = factory.folder(owner.user, name="first")
    second = factory.folder(owner.user, name="second")
    with database.session() as db:
        for folder in (first, second):
            sharing.invite(
                db, user=db.merge(owner.user), ref=str(folder.id), email=friend.email, perm=Perm.RO
            )
    one, two = invitations(database, first)[0], invitations(database, second)[0]

    switch_to(client, factory, stranger)
    foreign = post(client, f"/data/invitations/{one.id}/accept", {}, htmx=True)
    assert "This invitation is no longer open." in foreign.text

    switch_to(client, factory, friend)
    no_csrf = client.post(f"/data/invitations/{one.id}/decline", headers=HTMX)
    assert no_csrf.status_code == 403
    declined = post(client, f"/data/invitations/{one.id}/decline", {}, htmx=True)
    assert "Declined." in declined.text
    assert f'id="invitation-{one.id}"' in declined.text
    again = post(client, f"/data/invitations/{one.id}/accept", {}, htmx=True)
    assert "This invitation is no longer open." in again.text
    plain = post(client, f"/data/invitations/{two.id}/accept", {"next": "/data"})
    assert plain.status_code == 303
    assert plain.headers["location"] == "/data"
    states = {
        i.folder_id: i.state for i in invitations(database, first) + invitations(database, second)
    }
    assert states == {first.id: InvitationState.DECLINED, second.id: InvitationState.ACCEPTED}
    assert (
        client.post(
            f"/data/invitations/{uuid.uuid4()}/accept",
            data={"csrf_token": session_csrf(client)},
            headers=HTMX,
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/data/invitations/not-an-id/accept", data={"csrf_token": session_csrf(client)}
        ).status_code
        == 422
    )


def test_summary_page_shows_pending_invitations_in_constant_statements(
    client: TestClient, factory: Factory, owner: Account, queries: QueryCounter
) -> None:
    assert "No pending invitations" in client.get("/").text
    client.get("/")
    queries.reset()
    client.get("/")
    few = queries.count
    friend = factory.user()
    for name in ("alpha", "beta", "gamma"):
        folder = factory.folder(friend.user, name=name)
        with factory.database.session() as db:
            sharing.invite(
                db, user=db.merge(friend.user), ref=str(folder.id), email=owner.email, perm=Perm.RW
            )
    queries.reset()
    html = client.get("/").text
    assert queries.count == few
    assert html.count('class="card card-sm invitation-card"') == 3
    assert f"From {friend.email}" in html
    assert "No pending invitations" not in html
    assert 'name="next" value="/"' in html


# Files -----------------------------------------------------------------------------------


def test_new_folder_move_and_delete_files(
    client: TestClient, factory: Factory, owner: Account, settings: Settings
) -> None:
    folder = factory.folder(owner.user)
    root = hosts.directory(settings, folder)
    (root / "data.csv").write_bytes(b"a,b\n")
    base = f"/data/{folder.id}/files"

    made = post(client, f"{base}/mkdir", {"path": "", "name": "runs"}, htmx=True)
    assert events(made)["shipyard:files-changed"] == {}
    assert (root / "runs").is_dir()
    nested = post(client, f"{base}/mkdir", {"path": "runs", "name": "one"})
    assert nested.headers["location"] == f"/data/{folder.id}?path=runs"
    assert (root / "runs" / "one").is_dir()
    exists = post(client, f"{base}/mkdir", {"path": "", "name": "runs"}, htmx=True)
    assert "Something with that name already exists." in exists.text
    hostile = post(client, f"{base}/mkdir", {"path": "", "name": "../../escape"}, htmx=True)
    assert "The path may not go up a level." in hostile.text
    assert not (root.parent / "escape").exists()

    dialog = client.get(f"{base}/move", params={"path": "data.csv"}, headers=HTMX).text
    assert 'value="data.csv"' in dialog
    moved = post(client, f"{base}/move", {"source": "data.csv", "target": "runs/data.csv"})
    assert moved.status_code == 303
    assert (root / "runs" / "data.csv").read_bytes() == b"a,b\n"
    missing = post(client, f"{base}/move", {"source": "nope", "target": "x"}, htmx=True)
    assert "No such file or folder." in missing.text

    dialog = client.get(f"{base}/delete", params={"path": "runs/data.csv"}, headers=HTMX).text
    assert "Delete data.csv?" in dialog
    deleted = post(client, f"{base}/delete", {"path": "runs/data.csv"}, htmx=True)
    assert events(deleted)["shipyard:dialog-done"] == {"message": "data.csv deleted."}
    assert not (root / "runs" / "data.csv").exists()


def test_readers_cannot_change_files(
    client: TestClient, factory: Factory, owner: Account, settings: Settings
) -> None:
    folder = factory.folder(owner.user)
    root = hosts.directory(settings, folder)
    (root / "keep.txt").write_bytes(b"keep")
    writer, reader = factory.user(), factory.user()
    factory.share(folder, owner.user, writer, Perm.RW)
    factory.share(folder, owner.user, reader, Perm.RO)

    switch_to(client, factory, writer)
    html = client.get(f"/data/{folder.id}").text
    assert 'aria-label="Rename or move keep.txt"' in html
    assert 'aria-label="Delete keep.txt"' not in html
    refused = post(client, f"/data/{folder.id}/files/delete", {"path": "keep.txt"})
    assert refused.status_code == 403
    assert "needs the rw + delete permission" in refused.text

    switch_to(client, factory, reader)
    for path, data in (
        ("mkdir", {"path": "", "name": "new"}),
        ("move", {"source": "keep.txt", "target": "gone.txt"}),
    ):
        response = post(client, f"/data/{folder.id}/files/{path}", data)
        assert response.status_code == 403
    assert sorted(p.name for p in root.iterdir()) == ["keep.txt"]


def test_dialogs_work_as_pages_without_javascript(
    client: TestClient, factory: Factory, owner: Account
) -> None:
    folder = factory.folder(owner.user, name="plain")
    for path in ("/data/new", f"/data/{folder.id}/rename", f"/data/{folder.id}/share"):
        html = client.get(path).text
        assert "<html" in html, path
        assert 'id="dialog-title"' in html, path
        assert 'hx-post="/data' not in html, path
    refused = post(client, f"/data/{folder.id}/rename", {"name": "bad name"})
    assert refused.status_code == 422
    assert "<html" in refused.text


def test_the_top_bar_links_to_data_and_storage(client: TestClient, owner: Account) -> None:
    html = client.get("/").text
    assert '<a class="nav-link" href="/data">' in html
    assert re.search(r'href="/data" aria-current="page"', client.get("/data").text)
