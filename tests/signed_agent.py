"""Talking the agent protocol from tests the way a real agent does: every request signed with
a key derived from an agent token, every answer checked (shipyard.agents.signing)."""

from __future__ import annotations

import json
from typing import Any

from shipyard.admin.bootstrap import ensure_defaults
from shipyard.agents import service as agents
from shipyard.agents import signing
from shipyard.db import Database

#: The token digest the factory registers agents under (tests that build agents directly).
FACTORY_TOKEN_HASH = signing.token_hash("sya_factory-agents")
INSTANCE = "0123456789abcdef" * 2


def new_agent_token(database: Database, *, group: str = "default") -> str:
    """A fresh raw agent token for `group` (made with the default group if missing)."""
    with database.session() as db:
        ensure_defaults(db)
        raw, _token = agents.create_agent_token(db, group_name=group)
    return raw


def auth_of(raw_token: str) -> signing.SignedAuth:
    """httpx auth signing as an agent with this token; raises UnverifiedPeer for an answer
    the manager did not sign."""
    digest = signing.token_hash(raw_token)
    return signing.SignedAuth(signing.manager_key(digest), kid=signing.key_id(digest))


def agent_auth(database: Database, *, group: str = "default") -> signing.SignedAuth:
    """auth_of() a new token: what most protocol tests need."""
    return auth_of(new_agent_token(database, group=group))


def signed_headers(
    raw_token: str,
    *,
    method: str,
    target: str,
    body: bytes = b"",
    now: float | None = None,
    key: bytes | None = None,
) -> dict[str, str]:
    """Headers of a request signed by hand (for requests a test tampers with afterwards);
    `key` replaces the token's real key (a wrong signature)."""
    digest = signing.token_hash(raw_token)
    header, _nonce = signing.sign_request(
        key or signing.manager_key(digest),
        kid=signing.key_id(digest),
        method=method,
        target=target,
        body=body,
        now=now,
    )
    return {"Authorization": header, "Content-Type": "application/json"}


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def registration(agent_id: str = "node-1", **overrides: object) -> dict[str, object]:
    """A valid registration body."""
    body: dict[str, object] = {
        "agent_id": agent_id,
        "hostname": "node-1",
        "addr": "http://127.0.0.1:9",
        "version": "test",
        "capacity": {"cpu": "4", "mem": "8589934592"},
        "enforcement": {"sandbox": "bubblewrap", "cgroups": "v1", "rlimits": False},
        "instance": INSTANCE,
    }
    body.update(overrides)
    return body
