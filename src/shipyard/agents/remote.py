"""Calls from the manager to an agent's own API (logs; the terminal is in web/terminal).

Each call is signed with the key of the agent process that registered last, and its answer
is used only if that process signed it (shipyard.agents.signing): no secret is sent, and
whatever else might listen on the agent's port gets nothing and is not believed.
"""

from __future__ import annotations

import uuid

import httpx

from shipyard.agents import signing
from shipyard.agents.models import Agent
from shipyard.errors import Conflict
from shipyard.i18n import _

TIMEOUT = 10.0


def agent_auth(agent: Agent) -> signing.SignedAuth:
    """How the manager signs calls to this agent (and checks its answers)."""
    return signing.SignedAuth(agent.api_secret.encode("utf-8"), kid=agent.id)


def fetch_logs(agent: Agent, session_id: uuid.UUID, *, offset: int) -> tuple[bytes, int]:
    """A chunk of a session's output from its agent, and the offset to ask for next."""
    try:
        response = httpx.get(
            f"{agent.addr.rstrip('/')}/sessions/{session_id.hex}/logs",
            params={"offset": offset},
            auth=agent_auth(agent),
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise Conflict(_("The session's agent cannot be reached right now.")) from exc
    if response.status_code == 404:
        return b"", offset
    if response.is_error:
        raise Conflict(_("The session's agent cannot be reached right now."))
    return response.content, int(response.headers.get("X-Next-Offset", offset))
