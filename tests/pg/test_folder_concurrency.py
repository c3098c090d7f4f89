"""Folder limits and names under concurrent requests on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.errors import Conflict, NotFound, QuotaExceeded, ShipyardError
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.sessions import service as sessions
from shipyard.sessions.schemas import SessionCreate
from shipyard.storage import hosts
from shipyard.storage import service as storage
from shipyard.storage.models import Folder, FolderPermission, Perm
from tests.factories import Factory

CLIENTS = 10


def in_parallel(
    count: int,
    action: Callable[[int], object],
    *,
    expected: tuple[type[ShipyardError], ...] = (QuotaExceeded, Conflict),
) -> list[str]:
    barrier = threading.Barrier(count)

    def run(number: int) -> str:
        barrier.wait()
        try:
            action(number)
        except expected as exc:
            return exc.code
        return "created"

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_parallel_creates_never_exceed_the_folder_count(
    database: Database, settings: Settings, factory: Factory
) -> None:
    owner = factory.user().user
    with database.session() as db:
        policy = policies.create_policy(db, name="three-folders", kind=PolicyKind.USER)
        policy.max_folder_count = 3
        db.merge(owner).resource_policy_id = policy.id
        db.commit()
    outcomes = in_parallel(CLIENTS, lambda n: factory.folder(owner, name=f"f{n}"))
    assert outcomes.count("created") == 3
    assert outcomes.count("quota_exceeded") == CLIENTS - 3
    with database.session() as db:
        folders = db.scalars(select(Folder)).all()
    assert len(folders) == 3
    # Every row has its directory and no refused request left one behind.
    storage = hosts.host(settings, "local").path
    assert sorted(p.name for p in storage.iterdir() if p.name != hosts.TRASH) == sorted(
        folder.id.hex for folder in folders
    )


def test_parallel_accepts_give_distinct_names(database: Database, factory: Factory) -> None:
    invitee = factory.user()
    owners = [factory.user().user for _ in range(6)]
    shared = [factory.folder(owner, name="same") for owner in owners]

    def accept(number: int) -> None:
        factory.share(shared[number], owners[number], invitee, Perm.RO)

    outcomes = in_parallel(len(owners), accept)
    assert outcomes == ["created"] * len(owners)
    with database.session() as db:
        names = db.scalars(
            select(FolderPermission.mount_name).where(FolderPermission.user_id == invitee.user.id)
        ).all()
        count = db.scalar(select(func.count()).select_from(FolderPermission))
    assert count == len(owners)
    assert len(set(names)) == len(owners)


def test_a_folder_is_never_deleted_under_a_session_being_created(
    database: Database, settings: Settings, factory: Factory
) -> None:
    factory.agent()
    owner = factory.user().user
    for round_ in range(6):
        folder = factory.folder(owner, name=f"race-{round_}")
        outcomes: dict[str, str] = {}

        def act(number: int, folder: Folder = folder, outcomes: dict[str, str] = outcomes) -> None:
            with database.session() as db:
                user = db.merge(owner)
                if number == 0:
                    storage.delete_folder(db, settings, user=user, ref=str(folder.id))
                    outcomes["delete"] = "done"
                else:
                    spec = SessionCreate(command="true", mounts=[str(folder.id)])
                    sessions.create_session(db, settings, owner=user, spec=spec)
                    outcomes["session"] = "done"

        in_parallel(2, act, expected=(Conflict, NotFound))
        assert len(outcomes) == 1, outcomes  # exactly one of the two wins
        with database.session() as db:
            still_there = db.get(Folder, folder.id) is not None
        assert still_there == ("session" in outcomes)
