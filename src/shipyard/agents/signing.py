"""Signed messages between agents and the manager: no secret ever travels, and neither side
acts on a message the other did not sign.

Keys. An agent token (`sya_...`) is a secret shared by the agent and the manager, which
stores only its SHA-256 (`AgentToken.token_hash`). Both sides derive from that digest:
  - `key_id`: public; names the token in requests so the manager can find it;
  - `manager_key`: signs agent -> manager requests and the manager's answers;
  - `agent_api_key`: signs manager -> agent requests and the agent's answers; bound to the
    agent id and to an `instance` each agent process draws afresh (and registers), so
    nothing signed for an earlier process, or captured by whatever held its port, is taken.

Requests carry `Authorization: Shipyard-HMAC kid=K,ts=T,nonce=N,sig=S`; S covers the method,
path and query, T, N and the body's digest. The verifier takes T within `WINDOW` seconds of
its clock and each N once (`ReplayGuard`). Answers carry `X-Shipyard-Signature: S`; S covers
the request's N, the status, `SIGNED_HEADERS` and the body: an answer cannot be forged,
replayed for another request, or taken from something else listening on the peer's port.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shipyard.auth.tokens import digest

SCHEME = "Shipyard-HMAC"
SIGNATURE_HEADER = "X-Shipyard-Signature"
SIGNED_HEADERS = ("content-type", "x-next-offset")
WINDOW = 60  # seconds a request's time may differ from the verifier's clock
_VERSION = "shipyard-agent-protocol/v1"
_FIELDS = ("kid", "ts", "nonce", "sig")
_VALUE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


# An answer's headers: a case-insensitive mapping (httpx, Starlette and websockets have one).
Headers = Mapping[str, str]


def token_hash(raw_token: str) -> str:
    """The digest the manager stores for an agent token (what both sides derive keys from)."""
    return digest(raw_token)


def _derive(token_digest: str, label: str) -> bytes:
    return hmac.new(
        bytes.fromhex(token_digest), f"{_VERSION}/{label}".encode(), hashlib.sha256
    ).digest()


def key_id(token_digest: str) -> str:
    """The public name of a token's keys (reveals nothing of the keys)."""
    return _derive(token_digest, "key-id").hex()[:32]


def manager_key(token_digest: str) -> bytes:
    return _derive(token_digest, "manager")


def agent_api_key(token_digest: str, *, agent_id: str, instance: str) -> str:
    """The key of one agent process's API, as text (the manager keeps it as `api_secret`)."""
    return _derive(token_digest, f"agent-api/{agent_id}/{instance}").hex()


def new_instance() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Credentials:
    """What a request's Authorization header claims (nothing is verified yet)."""

    kid: str
    ts: int
    nonce: str
    sig: str


def parse(authorization: str) -> Credentials | None:
    """The credentials of a `Shipyard-HMAC` header, or None for anything else."""
    scheme, _sep, rest = authorization.partition(" ")
    if scheme != SCHEME:
        return None
    pairs = [part.strip().partition("=")[::2] for part in rest.split(",")]
    fields = dict(pairs)
    if len(pairs) != len(_FIELDS) or sorted(fields) != sorted(_FIELDS):
        return None
    if not all(_VALUE.match(value) for value in fields.values()) or not fields["ts"].isdigit():
        return None
    return Credentials(fields["kid"], int(fields["ts"]), fields["nonce"], fields["sig"])


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\n".join((_VERSION, *parts)).encode(), hashlib.sha256).hexdigest()


def _body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _request_mac(
    key: bytes, credentials: Credentials, *, method: str, target: str, body: bytes
) -> str:
    return _mac(
        key,
        "request",
        credentials.kid,
        method.upper(),
        target,
        str(credentials.ts),
        credentials.nonce,
        _body_digest(body),
    )


def sign_request(
    key: bytes, *, kid: str, method: str, target: str, body: bytes, now: float | None = None
) -> tuple[str, str]:
    """(Authorization header value, nonce) for a request; `target` is its path and query."""
    unsigned = Credentials(kid, int(time.time() if now is None else now), secrets.token_hex(16), "")
    sig = _request_mac(key, unsigned, method=method, target=target, body=body)
    header = f"{SCHEME} kid={kid},ts={unsigned.ts},nonce={unsigned.nonce},sig={sig}"
    return header, unsigned.nonce


def request_valid(
    key: bytes,
    credentials: Credentials,
    *,
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> bool:
    """True when the signature is right and its time within WINDOW (replays: ReplayGuard)."""
    fresh = abs((time.time() if now is None else now) - credentials.ts) <= WINDOW
    expected = _request_mac(key, credentials, method=method, target=target, body=body)
    return hmac.compare_digest(expected, credentials.sig) and fresh


def target_of(scope: Mapping[str, Any]) -> str:
    """The path and query of an ASGI request, as its client sent (and signed) them."""
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return (path + b"?" + query if query else path).decode("latin-1")


def sign_answer(
    key: bytes, *, kid: str, nonce: str, status: int, headers: Headers, body: bytes
) -> str:
    """The signature header value of an answer to the request that carried `nonce`."""
    signed = (headers.get(name, "") for name in SIGNED_HEADERS)
    return _mac(key, "answer", kid, nonce, str(status), *signed, _body_digest(body))


def answer_valid(
    key: bytes, *, kid: str, nonce: str, status: int, headers: Headers, body: bytes
) -> bool:
    expected = sign_answer(key, kid=kid, nonce=nonce, status=status, headers=headers, body=body)
    return hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, ""))


class ReplayGuard:
    """Remembers the nonces of accepted requests for as long as their time is acceptable."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._seen: set[str] = set()
        self._expiry: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def first_use(self, nonce: str) -> bool:
        """True the first time a nonce is shown; False for every replay."""
        now = time.monotonic()
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                self._seen.discard(self._expiry.popleft()[1])
            if nonce in self._seen:
                return False
            self._seen.add(nonce)
            self._expiry.append((now + 2 * self.window, nonce))
            return True


class UnverifiedPeer(httpx.RequestError):
    """The answer was not signed by the peer we meant to reach: something else may be
    listening on its port. Nothing of the answer may be used."""


class SignedAuth(httpx.Auth):
    """httpx authentication that signs each request and verifies its answer (else
    raises UnverifiedPeer, an httpx.RequestError)."""

    requires_request_body = True
    requires_response_body = True

    def __init__(self, key: bytes, *, kid: str) -> None:
        self.key = key
        self.kid = kid

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        header, nonce = sign_request(
            self.key,
            kid=self.kid,
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            body=request.content,
        )
        request.headers["Authorization"] = header
        response = yield request
        if not answer_valid(
            self.key,
            kid=self.kid,
            nonce=nonce,
            status=response.status_code,
            headers=response.headers,
            body=response.content,
        ):
            message = (
                f"a {response.status_code} answer not signed by the peer "
                "(is something else listening on its port?)"
            )
            raise UnverifiedPeer(message, request=request)
