"""Each session's scratch space is bounded by its owner's policy (issue 12, finding 8).

The desired state tells the agent how large a session's in-memory /home/work may be: the
owner's user policy's `max_session_scratch` (the default user policy's for users without
one), else the site's `session_scratch_mb`. Computed in a fixed number of statements.
"""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.scheduler.service import schedule_once
from shipyard.users.models import User
from tests.api.test_folder_revocation import Node, node
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory
from tests.querycount import QueryCounter

__all__ = ["node"]  # the fixture, shared with the revocation tests

MiB = 2**20
POLICIES = "/api/v1/admin/policies"


def placed(database: Database, factory: Factory, account: Account) -> str:
    """A session of `account`, scheduled onto the node; its id."""
    session = factory.session(account.user, cpu="0.5", mem="256m")
    with database.session() as db:
        schedule_once(db)
    return str(session.id)


def scratch_of(node: Node, session_id: str) -> int:
    found = [s for s in node.desired()["sessions"] if s["session_id"] == session_id]
    assert found, f"session {session_id} is not in the desired state"
    size: int = found[0]["scratch"]
    return size


def own_policy(database: Database, account: Account, scratch: int | None) -> None:
    """Give the user a policy of their own with this scratch size (None: the site default)."""
    with database.session() as db:
        policy = policies.create_policy(
            db, name=f"scratch-{uuid.uuid4().hex}", kind=PolicyKind.USER
        )
        policy.max_session_scratch = scratch
        user = db.get(User, account.user.id)
        assert user is not None
        user.resource_policy_id = policy.id
        db.commit()


def default_scratch(database: Database, scratch: int | None) -> None:
    with database.session() as db:
        policies.default_policy(db, PolicyKind.USER).max_session_scratch = scratch
        db.commit()


def test_the_owners_policy_sets_the_scratch_size(
    client: TestClient, database: Database, factory: Factory, node: Node, settings: Settings
) -> None:
    admin = bearer(client, factory.admin())
    limited, plain, unset = factory.user(), factory.user(), factory.user()
    made = client.post(
        POLICIES,
        json={"name": "small-scratch", "kind": "user", "max_session_scratch": "64m"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    client.patch(
        f"/api/v1/admin/users/{limited.user.id}",
        json={"resource_policy": "small-scratch"},
        headers=admin,
    ).raise_for_status()
    own_policy(database, unset, None)

    sessions = {a: placed(database, factory, a) for a in (limited, plain, unset)}

    assert scratch_of(node, sessions[limited]) == 64 * MiB
    assert scratch_of(node, sessions[plain]) == settings.session_scratch_mb * MiB
    assert scratch_of(node, sessions[unset]) == settings.session_scratch_mb * MiB


def test_a_policy_change_reaches_the_next_desired_state(
    client: TestClient, database: Database, factory: Factory, node: Node, settings: Settings
) -> None:
    admin = bearer(client, factory.admin())
    account = factory.user()
    own_policy(database, account, 64 * MiB)
    session = placed(database, factory, account)
    assert scratch_of(node, session) == 64 * MiB

    with database.session() as db:
        user = db.get(User, account.user.id)
        assert user is not None
        policy_id = user.resource_policy_id
    cleared = client.patch(
        f"{POLICIES}/{policy_id}", json={"max_session_scratch": "default"}, headers=admin
    )

    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["max_session_scratch"] is None
    assert scratch_of(node, session) == settings.session_scratch_mb * MiB


def test_users_without_a_policy_get_the_default_policys_size(
    database: Database, factory: Factory, node: Node, settings: Settings
) -> None:
    default_scratch(database, 32 * MiB)
    without, unset = factory.user(), factory.user()
    own_policy(database, unset, None)

    assert scratch_of(node, placed(database, factory, without)) == 32 * MiB
    # a policy of one's own without a size means the site's, not the default policy's
    assert scratch_of(node, placed(database, factory, unset)) == settings.session_scratch_mb * MiB


def test_the_statement_count_does_not_grow_with_sessions_of_other_users(
    database: Database, factory: Factory, node: Node, queries: QueryCounter
) -> None:
    def statements() -> int:
        node.desired()  # new sessions move to PREPARING
        queries.reset()
        node.desired()
        return queries.count

    def session_of_a_new_user(number: int) -> str:
        account = factory.user()
        if number % 2:
            own_policy(database, account, (16 + number) * MiB)
        return placed(database, factory, account)

    first = session_of_a_new_user(1)
    one = statements()
    others = [session_of_a_new_user(number) for number in range(2, 5)]
    four = statements()

    assert [scratch_of(node, s) for s in (first, others[1])] == [17 * MiB, 19 * MiB]
    assert len(node.desired()["sessions"]) == 4
    assert four == one
