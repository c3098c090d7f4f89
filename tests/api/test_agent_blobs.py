"""GET /api/v1/agent/blobs/{digest}: agents fetch image blobs from the manager's image store,
signed as every agent-protocol call, resumable with Range."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from shipyard.agent.images.pull import SignedRequests
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.environments.images.store import ImageStore
from shipyard.environments.models import Environment, EnvironmentKind
from shipyard.scheduler.service import schedule_once
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.factories import Factory
from tests.image_corpus import file, layer, put_blob, write_layout
from tests.signed_agent import auth_of, new_agent_token, registration, signed_headers

BLOB = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def stored(settings: Settings) -> str:
    """A blob in the manager's image store (among an image's), and its digest."""
    store = ImageStore.in_data_dir(settings.data_dir)
    write_layout(store.layout, [layer(file("etc/os-release", b"ID=test\n"))], name="test")
    return put_blob(store.layout, BLOB)


def agent_auth(database: Database) -> SignedRequests:
    """Requests signed as the agent signs them (blob answers are checked by their digest)."""
    return SignedRequests(new_agent_token(database))


def url(digest: str) -> str:
    return f"/api/v1/agent/blobs/{digest}"


def test_an_agent_fetches_a_blob_whole(client: TestClient, database: Database, stored: str) -> None:
    response = client.get(url(stored), auth=agent_auth(database))

    assert response.status_code == 200
    assert response.content == BLOB
    assert "sha256:" + hashlib.sha256(response.content).hexdigest() == stored
    assert response.headers["content-length"] == str(len(BLOB))


def test_a_range_resumes_where_the_agent_stopped(
    client: TestClient, database: Database, stored: str
) -> None:
    auth = agent_auth(database)

    rest = client.get(url(stored), headers={"Range": "bytes=4000-"}, auth=auth)
    middle = client.get(url(stored), headers={"Range": "bytes=10-19"}, auth=auth)
    past = client.get(url(stored), headers={"Range": f"bytes={len(BLOB)}-"}, auth=auth)

    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 4000-{len(BLOB) - 1}/{len(BLOB)}"
    assert rest.content == BLOB[4000:]
    assert (middle.status_code, middle.content) == (206, BLOB[10:20])
    assert past.status_code == 416


def test_only_a_signed_agent_request_gets_a_blob(
    client: TestClient, database: Database, stored: str
) -> None:
    raw = new_agent_token(database)
    made_up = signed_headers("sya_made-up", method="GET", target=url(stored))
    for headers in ({}, {"Authorization": f"Bearer {raw}"}, made_up):
        response = client.get(url(stored), headers=headers)
        assert response.status_code == 401
        assert BLOB not in response.content
    # A signature is for one request: replayed, it is refused.
    once = signed_headers(raw, method="GET", target=url(stored))
    assert client.get(url(stored), headers=once).status_code == 200
    assert client.get(url(stored), headers=once).status_code == 401


def test_unknown_and_malformed_digests(client: TestClient, database: Database, stored: str) -> None:
    auth = agent_auth(database)
    unknown = "sha256:" + "0" * 64

    missing = client.get(url(unknown), auth=auth)
    assert missing.status_code == 404
    assert unknown in missing.json()["error"]["message"]
    for bad in (
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 63,
        "sha512:" + "0" * 128,
        "md5:" + "0" * 32,
        "sha256:..",
        stored + "0",
    ):
        assert client.get(url(bad), auth=auth).status_code == 422, bad
    # A path out of the store matches no route at all.
    escape = client.get(url("sha256:..%2F..%2F..%2Foci-layout"), auth=auth)
    assert escape.status_code == 404
    assert b"imageLayoutVersion" not in escape.content


@pytest.mark.db
def test_a_session_of_an_image_environment_is_sent_its_image_and_shows_the_pull(
    client: TestClient, database: Database, factory: Factory
) -> None:
    auth = auth_of(new_agent_token(database))
    client.post("/api/v1/agent/register", json=registration(), auth=auth)
    host = factory.session(factory.user().user, command="echo hi")
    digest = "sha256:" + "ab" * 32
    image_env = Environment(
        name="busybox",
        kind=EnvironmentKind.IMAGE,
        image_ref="busybox",
        image_digest=digest,
        size=480 * 10**6,
    )
    with database.session() as db:
        db.add(image_env)
        db.commit()
        env_id = image_env.id
    in_image = factory.session(factory.user().user, command="cat /etc/os-release")
    with database.session() as db:
        row = db.get(ComputeSession, in_image.id)
        assert row is not None
        row.environment_id = env_id
        db.commit()
        schedule_once(db)

    state = client.get("/api/v1/agent/desired", params={"agent_id": "node-1"}, auth=auth).json()

    images = {s["session_id"]: s["image"] for s in state["sessions"]}
    assert images == {
        str(host.id): None,  # the host environment: as before
        str(in_image.id): {"digest": digest, "size": 480 * 10**6},
    }
    pulling = {"session_id": str(in_image.id), "running": False}
    for done, text in ((0, "Pulling 0 of 480 MB."), (120 * 10**6 + 5, "Pulling 120 of 480 MB.")):
        beat = client.post(
            "/api/v1/agent/heartbeat",
            json={
                "agent_id": "node-1",
                "sessions": [
                    {"session_id": str(host.id), "running": True},
                    {**pulling, "pulling": {"done": done, "total": 480 * 10**6}},
                ],
            },
            auth=auth,
        )
        assert beat.status_code == 200
        with database.session() as db:
            found = db.get(ComputeSession, in_image.id)
            assert found is not None
            assert (found.status, found.status_info) == (SessionStatus.PREPARING, text)
    failed = {**pulling, "error": "failed to pull the image: the manager has no blob x"}
    client.post(
        "/api/v1/agent/heartbeat", json={"agent_id": "node-1", "sessions": [failed]}, auth=auth
    )
    with database.session() as db:
        found = db.get(ComputeSession, in_image.id)
        assert found is not None
        assert (found.status, found.status_info) == (SessionStatus.ERROR, failed["error"])
