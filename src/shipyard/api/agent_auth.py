"""The manager's side of agent signatures: requests verified before anything runs, answers
signed for the agent that asked (see shipyard.agents.signing for the scheme)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from shipyard.agents import service as agents
from shipyard.agents import signing
from shipyard.agents.models import ResourceGroup
from shipyard.api import errors as api_errors
from shipyard.db import Database
from shipyard.errors import AuthenticationFailed, ShipyardError
from shipyard.http.deps import DbDep
from shipyard.i18n import _

REPLAYS = signing.ReplayGuard()  # nonces of requests this process accepted, while fresh
ANSWER_KEY = "agent_answer"  # request.state: how to sign the answer, once a request verified


@dataclass(frozen=True)
class Answer:
    key: bytes
    kid: str
    nonce: str


async def agent_key(request: Request) -> agents.AgentKey:
    """The agent token whose key signed this request; AuthenticationFailed unless the
    signature, its time and its nonce (first use) all hold. Nothing runs before this."""
    credentials = signing.parse(request.headers.get("authorization", ""))
    if credentials is None:
        raise AuthenticationFailed(_("Agents sign their requests with their agent token."))
    key = agents.cached_key(credentials.kid) or await run_in_threadpool(
        _find_key, request.app.state.db, credentials.kid
    )
    valid = key is not None and signing.request_valid(
        key.manager_key,
        credentials,
        method=request.method,
        target=signing.target_of(request.scope),
        body=await request.body(),
    )
    if key is None or not valid or not REPLAYS.first_use(credentials.nonce):
        raise AuthenticationFailed(_("The agent signature is invalid, expired or replayed."))
    setattr(request.state, ANSWER_KEY, Answer(key.manager_key, credentials.kid, credentials.nonce))
    return key


def _find_key(database: Database, kid: str) -> agents.AgentKey | None:
    with database.session() as db:
        return agents.find_key(db, kid)


AgentKeyDep = Annotated[agents.AgentKey, Depends(agent_key)]


def agent_group(key: AgentKeyDep, db: DbDep) -> ResourceGroup:
    return agents.group_of_key(db, key)


AgentGroup = Annotated[ResourceGroup, Depends(agent_group)]


class SignedAnswers(APIRoute):
    """A route whose answers, errors included, are signed for the agent whose signed request
    they answer (answers to unverified requests stay unsigned: the agent ignores them)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def signed_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                if getattr(request.state, ANSWER_KEY, None) is None:
                    raise
                response = _error(request, exc)
            answer: Answer | None = getattr(request.state, ANSWER_KEY, None)
            if answer is not None:
                response.headers[signing.SIGNATURE_HEADER] = signing.sign_answer(
                    answer.key,
                    kid=answer.kid,
                    nonce=answer.nonce,
                    status=response.status_code,
                    headers=response.headers,
                    body=bytes(response.body),
                )
            return response

        return signed_handler


def _error(request: Request, exc: Exception) -> Response:
    """The API's error answer, as the app's handlers would give it (so it can be signed)."""
    if isinstance(exc, ShipyardError):
        return api_errors.domain_error(exc)
    if isinstance(exc, RequestValidationError):
        return api_errors.validation_error(exc)
    if isinstance(exc, HTTPException):
        return api_errors.http_error(exc)
    return api_errors.internal_error(request, exc)
