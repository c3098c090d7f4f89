"""Calls from the manager to an agent's own API (logs now, terminals later)."""

from __future__ import annotations

import uuid

import httpx

from shipyard.agents.models import Agent
from shipyard.errors import Conflict
from shipyard.i18n import _

TIMEOUT = 10.0


def fetch_logs(agent: Agent, session_id: uuid.UUID, *, offset: int) -> tuple[bytes, int]:
    """A chunk of a session's output from its agent, and the offset to ask for next."""
    try:
        response = httpx.get(
            f"{agent.addr.rstrip('/')}/sessions/{session_id.hex}/logs",
            params={"offset": offset},
            headers={"Authorization": f"Bearer {agent.api_secret}"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise Conflict(_("The session's agent cannot be reached right now.")) from exc
    if response.status_code == 404:
        return b"", offset
    if response.is_error:
        raise Conflict(_("The session's agent cannot be reached right now."))
    return response.content, int(response.headers.get("X-Next-Offset", offset))
