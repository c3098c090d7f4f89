"""Agents and the manager authenticate each other (issue 12, finding 1): the manager acts on
no request an agent did not sign, signs what it answers, and neither sends a secret to, nor
believes, whatever listens on an agent's port."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from starlette.websockets import WebSocketDisconnect

from shipyard.agents import signing
from shipyard.agents.models import Agent
from shipyard.db import Database
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import lifecycle
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from tests.api.test_sessions_api import bearer
from tests.factories import Account, Factory
from tests.signed_agent import (
    auth_of,
    body_of,
    new_agent_token,
    registration,
    signed_headers,
)
from tests.squatter import http_squatter, websocket_squatter

REGISTER = "/api/v1/agent/register"
HEARTBEAT = "/api/v1/agent/heartbeat"
DESIRED = "/api/v1/agent/desired"
WINDOW = signing.WINDOW


@pytest.fixture
def token(database: Database) -> str:
    return new_agent_token(database)


def bad_signatures(token: str, *, target: str, body: bytes) -> dict[str, dict[str, str]]:
    """Requests the manager must refuse, each sent with `body` to `target` by POST."""
    now = time.time()

    def signed(
        method: str = "POST",
        path: str = target,
        payload: bytes = body,
        at: float | None = None,
        key: bytes | None = None,
    ) -> dict[str, str]:
        return signed_headers(token, method=method, target=path, body=payload, now=at, key=key)

    return {
        "unsigned": {"Content-Type": "application/json"},
        "bearer token": {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        "unknown token": signed_headers("sya_nobody", method="POST", target=target, body=body),
        "wrong key": signed(key=b"k" * 32),
        "too late": signed(at=now - WINDOW - 5),
        "from the future": signed(at=now + WINDOW + 5),
        "other path": signed(path=target + "x"),
        "other method": signed(method="PUT"),
        "tampered body": signed(payload=body + b" "),
        "mangled header": {
            "Authorization": signed()["Authorization"].replace(",sig=", ",sig=0"),
            "Content-Type": "application/json",
        },
        "field twice": {
            "Authorization": signed()["Authorization"] + ",kid=x",
            "Content-Type": "application/json",
        },
    }


def test_a_registration_not_signed_by_the_token_creates_no_agent(
    client: TestClient, database: Database, token: str
) -> None:
    body = body_of(registration("node-x"))
    for case, headers in bad_signatures(token, target=REGISTER, body=body).items():
        response = client.post(REGISTER, content=body, headers=headers)

        assert response.status_code == 401, case
        assert response.json()["error"]["code"] == "authentication_failed"
        assert signing.SIGNATURE_HEADER not in response.headers
    with database.session() as db:
        assert db.get(Agent, "node-x") is None


def test_a_heartbeat_not_signed_by_the_token_changes_nothing(
    client: TestClient, database: Database, factory: Factory, token: str
) -> None:
    assert client.post(REGISTER, json=registration(), auth=auth_of(token)).status_code == 200
    session = factory.session(factory.user().user, cpu="1", mem="1g")
    with database.session() as db:
        schedule_once(db)
    before = heartbeat_at(database)
    body = body_of({"agent_id": "node-1", "sessions": [{"session_id": str(session.id)}]})
    body = body.replace(b"}]", b', "running": true}]')

    for case, headers in bad_signatures(token, target=HEARTBEAT, body=body).items():
        response = client.post(HEARTBEAT, content=body, headers=headers)

        assert response.status_code == 401, case
    assert status_of(database, session.id) is SessionStatus.SCHEDULED
    assert heartbeat_at(database) == before
    honest = client.post(HEARTBEAT, content=body, headers=signed_heartbeat(token, body))
    assert honest.status_code == 200
    assert status_of(database, session.id) is SessionStatus.RUNNING


def signed_heartbeat(token: str, body: bytes) -> dict[str, str]:
    return signed_headers(token, method="POST", target=HEARTBEAT, body=body)


def test_a_replayed_request_is_refused(client: TestClient, token: str) -> None:
    body = body_of(registration())
    headers = signed_headers(token, method="POST", target=REGISTER, body=body)

    assert client.post(REGISTER, content=body, headers=headers).status_code == 200
    assert client.post(REGISTER, content=body, headers=headers).status_code == 401


def test_a_changed_query_breaks_the_signature(client: TestClient, token: str) -> None:
    assert client.post(REGISTER, json=registration(), auth=auth_of(token)).status_code == 200
    headers = signed_headers(token, method="GET", target=f"{DESIRED}?agent_id=node-1&after=7")

    response = client.get(DESIRED, params={"agent_id": "node-1", "after": -1}, headers=headers)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "payload", "status"),
    [
        (HEARTBEAT, {"agent_id": "ghost", "sessions": []}, 404),
        (HEARTBEAT, {"agent_id": "../x"}, 422),
        (REGISTER, registration(), 200),
    ],
)
def test_the_manager_signs_every_answer_to_a_signed_request(
    client: TestClient, token: str, path: str, payload: object, status: int
) -> None:
    body = body_of(payload)
    headers = signed_headers(token, method="POST", target=path, body=body)
    credentials = signing.parse(headers["Authorization"])
    assert credentials is not None

    response = client.post(path, content=body, headers=headers)

    assert response.status_code == status
    key = signing.manager_key(signing.token_hash(token))
    for nonce, valid in ((credentials.nonce, True), ("0" * 32, False)):
        assert valid == signing.answer_valid(
            key,
            kid=credentials.kid,
            nonce=nonce,
            status=status,
            headers=response.headers,
            body=response.content,
        )


def test_a_revoked_token_is_refused_even_when_well_signed(
    client: TestClient, factory: Factory, token: str
) -> None:
    auth = auth_of(token)
    assert client.post(REGISTER, json=registration(), auth=auth).status_code == 200
    admin = bearer(client, factory.admin())
    listed = client.get("/api/v1/admin/agent-tokens", headers=admin).json()["data"]
    token_id = next(row["id"] for row in listed if token.startswith(row["prefix"]))
    assert client.delete(f"/api/v1/admin/agent-tokens/{token_id}", headers=admin).is_success

    again = client.post(REGISTER, json=registration(), auth=auth)

    assert again.status_code == 401


# -- the manager calling an agent's API: a squatter on the agent's port -------------------


def on_agent(
    database: Database, factory: Factory, *, addr: str, kind: SessionType
) -> tuple[Account, ComputeSession, str]:
    """A user, their session placed on an agent whose API address is `addr`."""
    account = factory.user()
    agent = factory.agent()
    with database.session() as db:
        db.execute(update(Agent).where(Agent.id == agent.id).values(addr=addr))
        db.commit()
    session = factory.session(account.user, kind=kind)
    with database.session() as db:
        schedule_once(db)
        placed = db.get_one(ComputeSession, session.id)
        assert placed.agent_id == agent.id
        lifecycle.move(db, placed, SessionStatus.RUNNING, "Running.")
        db.commit()
    with database.session() as db:
        secret = db.get_one(Agent, agent.id).api_secret
    return account, session, secret


@pytest.mark.parametrize(
    "answer", [(200, "made-up output"), (404, {"detail": "no such session"})], ids=["200", "404"]
)
def test_log_reads_leak_nothing_to_a_squatter_and_believe_nothing_from_it(
    client: TestClient, database: Database, factory: Factory, answer: tuple[int, object]
) -> None:
    with http_squatter(lambda _method, _path: answer) as squatter:
        account, session, secret = on_agent(
            database, factory, addr=squatter.url, kind=SessionType.BATCH
        )

        response = client.get(
            f"/api/v1/sessions/{session.id}/logs", headers=bearer(client, account)
        )

    assert response.status_code == 409
    assert "made-up" not in response.text
    assert squatter.paths() == [f"/sessions/{session.id.hex}/logs"]
    assert secret.encode() not in squatter.seen[0].raw
    assert b"Bearer" not in squatter.seen[0].raw


def test_the_terminal_relay_leaks_nothing_to_a_squatter_and_relays_nothing(
    client: TestClient, database: Database, factory: Factory
) -> None:
    with websocket_squatter() as squatter:
        addr = f"http://127.0.0.1:{squatter.port}"
        account, session, secret = on_agent(
            database, factory, addr=addr, kind=SessionType.INTERACTIVE
        )
        factory.web_login(client, account)

        with pytest.raises(WebSocketDisconnect) as closed:
            type_into_terminal(client, session.id, b"secret-password\n")

    assert closed.value.code == 4502
    assert len(squatter.handshakes) == 1
    handshake = "\n".join(f"{k}: {v}" for k, v in squatter.handshakes[0].items())
    assert secret not in handshake
    assert handshake.count(signing.SCHEME) == 1
    assert squatter.received == []


def type_into_terminal(client: TestClient, session_id: uuid.UUID, keys: bytes) -> bytes:
    """Open the session's terminal as its page does, type, and read what comes back."""
    path = f"/sessions/{session_id}/terminal/ws"
    with client.websocket_connect(path, headers={"origin": "http://testserver"}) as socket:
        socket.send_bytes(keys)
        return socket.receive_bytes()


def heartbeat_at(database: Database) -> datetime:
    with database.session() as db:
        return db.get_one(Agent, "node-1").last_heartbeat_at


def status_of(database: Database, session_id: uuid.UUID) -> SessionStatus:
    with database.session() as db:
        return db.get_one(ComputeSession, session_id).status
