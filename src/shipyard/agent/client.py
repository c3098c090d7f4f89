"""The agent's side of the agent protocol: register, heartbeat, long-poll the desired state.

Every request is signed with a key derived from the agent token, and every answer must be
signed by a manager that knows that key (shipyard.agents.signing): the token itself never
leaves the agent, and an answer from whatever else listens on the manager's port is refused.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shipyard import __version__
from shipyard.agents import signing
from shipyard.agents.schemas import DesiredState, RegisterReply

LONG_POLL = 25.0
_Reply = TypeVar("_Reply", bound=BaseModel)


class ManagerError(Exception):
    """The manager refused a call or could not be reached."""


class ManagerClient:
    def __init__(self, manager_url: str, token: str) -> None:
        token_hash = signing.token_hash(token)
        self.http = httpx.AsyncClient(
            base_url=manager_url.rstrip("/"),
            auth=signing.SignedAuth(
                signing.manager_key(token_hash), kid=signing.key_id(token_hash)
            ),
            headers={"User-Agent": f"shipyard-agent/{__version__}"},
            timeout=httpx.Timeout(10.0, read=LONG_POLL + 10.0),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ManagerError(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        if response.is_error:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ManagerError(f"{method} {path}: {response.status_code} {message}")
        return response.json()

    async def register(self, payload: dict[str, Any]) -> RegisterReply:
        reply = await self._call("POST", "/api/v1/agent/register", json=payload)
        return _read(RegisterReply, reply, call="POST /api/v1/agent/register")

    async def heartbeat(self, payload: dict[str, Any]) -> int:
        reply = await self._call("POST", "/api/v1/agent/heartbeat", json=payload)
        return int(reply["desired_version"])

    async def desired(self, agent_id: str, *, after: int, wait: float) -> DesiredState:
        params = {"agent_id": agent_id, "after": after, "wait": wait}
        reply = await self._call("GET", "/api/v1/agent/desired", params=params)
        return _read(DesiredState, reply, call="GET /api/v1/agent/desired")


def _read(model: type[_Reply], reply: Any, *, call: str) -> _Reply:
    """A signed answer this agent cannot read is refused like any failed call (and retried):
    a manager of another release may speak another version of the protocol."""
    try:
        return model.model_validate(reply)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problem = f"{where}: {first['msg']}"
        raise ManagerError(
            f"{call}: an answer this agent cannot read (is the manager of another release?): "
            f"{problem}"
        ) from None
