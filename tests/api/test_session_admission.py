"""Concurrent session requests under a `refuse` policy admit no more than the policy allows.

Twenty parallel creates under a policy of at most three sessions used to admit six (and
twenty in a row admitted twenty): pending sessions held nothing in the ledger yet, so each
request was checked as if the others did not exist.
"""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.db import Database
from shipyard.policies.models import OnQuota
from shipyard.sessions.models import ComputeSession
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

# Parallel requests against the quota: transactions and locking.
pytestmark = pytest.mark.db

BATCH = {"command": "true", "resources": {"cpu": "1", "mem": "1g"}}


def sessions_of(database: Database, owner_id: object) -> int:
    with database.session() as db:
        query = select(func.count()).where(ComputeSession.owner_id == owner_id)
        return db.scalar(query) or 0


def test_twenty_parallel_requests_admit_three(
    client: TestClient, factory: Factory, database: Database
) -> None:
    factory.agent(cpu="64", mem="128g")
    account = factory.user()
    factory.user_policy(account.user, max_sessions=3, on_quota=OnQuota.REFUSE)
    headers = bearer(client, account)
    codes: list[int] = []
    start = threading.Barrier(20)

    def create() -> None:
        start.wait()
        codes.append(client.post("/api/v1/sessions", json=BATCH, headers=headers).status_code)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201] * 3 + [409] * 17
    assert sessions_of(database, account.user.id) == 3


def test_pending_sessions_count_against_a_refuse_quota(
    client: TestClient, factory: Factory
) -> None:
    factory.agent(cpu="64", mem="128g")
    account = factory.user()
    factory.user_policy(account.user, slots={"cpu": "2"}, on_quota=OnQuota.REFUSE)
    headers = bearer(client, account)
    for _ in range(2):
        assert client.post("/api/v1/sessions", json=BATCH, headers=headers).status_code == 201
    refused = client.post("/api/v1/sessions", json=BATCH, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quota_exceeded"


def test_a_queue_policy_still_queues(client: TestClient, factory: Factory) -> None:
    factory.agent(cpu="64", mem="128g")
    account = factory.user()
    factory.user_policy(account.user, max_sessions=1, on_quota=OnQuota.QUEUE)
    headers = bearer(client, account)
    for _ in range(3):
        assert client.post("/api/v1/sessions", json=BATCH, headers=headers).status_code == 201
