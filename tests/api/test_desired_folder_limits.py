"""The desired state tells agents each mounted folder's size limit (issue 12, finding 8), as
uploads are held to it: the folder's own, else its owner's policy's; agents hold it for what
sessions write (shipyard.agent.quota). Computed in a fixed number of statements."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shipyard.db import Database
from shipyard.policies.models import PolicyKind
from shipyard.policies.service import create_policy
from shipyard.storage.models import Folder, Perm
from shipyard.users.models import User
from tests.api.test_folder_revocation import Node, node, shared, start
from tests.factories import Account, Factory
from tests.querycount import QueryCounter

__all__ = ["node"]  # the fixture, shared with the revocation tests

MiB = 2**20


def limit_folder(database: Database, folder: Folder, size: int) -> None:
    with database.session() as db:
        found = db.get(Folder, folder.id)
        assert found is not None
        found.max_size = size
        db.commit()


def limit_owner(database: Database, owner: Account, size: int) -> None:
    """Give the user a policy of their own whose folders are limited to `size` bytes."""
    with database.session() as db:
        policy = create_policy(db, name=f"capped-{owner.user.id}", kind=PolicyKind.USER)
        policy.max_folder_size = size
        user = db.get(User, owner.user.id)
        assert user is not None
        user.resource_policy_id = policy.id
        db.commit()


def limits_of(node: Node, session_id: str) -> dict[str, int | None]:
    found = [s for s in node.desired()["sessions"] if s["session_id"] == session_id]
    assert found, f"session {session_id} is not in the desired state"
    return {mount["name"]: mount["limit"] for mount in found[0]["mounts"]}


def test_each_folder_comes_with_its_size_limit(
    client: TestClient, database: Database, factory: Factory, node: Node
) -> None:
    account = factory.user()
    capped = factory.folder(account.user, name="capped")
    limit_folder(database, capped, 10 * MiB)
    factory.folder(account.user, name="open")
    owner, _team = shared(factory, account, Perm.RW, "team")
    limit_owner(database, owner, 3 * 1024 * MiB)  # the owner's policy, not the user's

    session = start(client, database, account, ["capped", "open", "team"])

    assert limits_of(node, session) == {"capped": 10 * MiB, "open": None, "team": 3 * 1024 * MiB}


def test_the_statement_count_does_not_grow_with_sessions(
    client: TestClient, database: Database, factory: Factory, node: Node, queries: QueryCounter
) -> None:
    def statements() -> int:
        node.desired()  # new sessions move to PREPARING
        queries.reset()
        node.desired()
        return queries.count

    def session_with_folders(number: int) -> None:
        account = factory.user()
        factory.folder(account.user, name="own")
        limit_owner(database, account, (number + 1) * MiB)
        owner, team = shared(factory, account, Perm.WD, "team")
        limit_folder(database, team, MiB)
        limit_owner(database, owner, 5 * MiB)
        start(client, database, account, ["own", "team"])

    session_with_folders(0)
    one = statements()
    for number in range(1, 4):
        session_with_folders(number)
    four = statements()

    assert len(node.desired()["sessions"]) == 4
    assert four == one
