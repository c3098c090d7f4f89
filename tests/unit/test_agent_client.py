"""The agent's manager client: a signed answer it cannot read is a failed call, not a crash.

A manager of another release may send a desired state of another shape (before issue 13 a
session's `command` was an argv list); the agent must log it and retry (docs/agents.md).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from shipyard.agent.client import ManagerClient, ManagerError
from shipyard.agents import signing
from shipyard.agents.schemas import DesiredState

TOKEN = "sya_client-test"


def session(command: Any) -> dict[str, Any]:
    return {
        "session_id": str(uuid.uuid4()),
        "kind": "batch",
        "command": command,
        "env": {},
        "interpreter": "",
        "path_prefix": "",
        "cpu": "1",
        "mem": 2**30,
        "gpus": 0,
        "mounts": [],
        "uid": 60001,
        "user": "work",
        "network": "none",
        "network_allow": [],
        "scratch": 2**30,
    }


def manager_answering(reply: dict[str, Any]) -> httpx.MockTransport:
    """A manager that signs `reply`, as the real one signs every answer."""
    key = signing.manager_key(signing.token_hash(TOKEN))

    def answer(request: httpx.Request) -> httpx.Response:
        credentials = signing.parse(request.headers["Authorization"])
        assert credentials is not None
        body = json.dumps(reply).encode()
        headers = httpx.Headers({"content-type": "application/json"})
        headers[signing.SIGNATURE_HEADER] = signing.sign_answer(
            key,
            kid=credentials.kid,
            nonce=credentials.nonce,
            status=200,
            headers=headers,
            body=body,
        )
        return httpx.Response(200, headers=headers, content=body)

    return httpx.MockTransport(answer)


def desired(reply: dict[str, Any]) -> DesiredState:
    client = ManagerClient("http://manager.test", TOKEN)
    client.http = httpx.AsyncClient(
        base_url="http://manager.test", auth=client.http.auth, transport=manager_answering(reply)
    )

    async def call() -> DesiredState:
        try:
            return await client.desired("node-1", after=-1, wait=0)
        finally:
            await client.close()

    return asyncio.run(call())


def test_the_desired_state_is_read_with_the_raw_command() -> None:
    state = desired({"version": 3, "sessions": [session("echo hi"), session(None)]})

    assert [s.command for s in state.sessions] == ["echo hi", None]


def test_a_desired_state_of_another_release_is_a_failed_call() -> None:
    old = {"version": 3, "sessions": [session(["/bin/sh", "-c", "echo hi"])]}

    with pytest.raises(ManagerError) as failed:
        desired(old)

    assert str(failed.value) == (
        "GET /api/v1/agent/desired: an answer this agent cannot read (is the manager of "
        "another release?): sessions.0.command: Input should be a valid string"
    )
