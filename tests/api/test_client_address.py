"""The client address is the peer's unless a configured proxy forwarded the request (finding 4).

Any local process could otherwise write its own X-Forwarded-For: choose the address the audit
log shows and escape the per-address login throttle with a new address per attempt.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shipyard.audit.models import Action
from shipyard.config import Settings
from shipyard.db import Database
from tests.api.audit_helpers import entries
from tests.api.edge_helpers import served
from tests.conftest import AppWith
from tests.factories import Factory

WRONG = "Wrong-password-1"


def failed_login_address(database: Database) -> str:
    return entries(database, Action.LOGIN_FAILED.value)[0].client_address


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings.model_fields["trusted_proxies"].default == ""


def test_trusted_proxies_take_addresses_and_networks_only(settings: Settings) -> None:
    kept = Settings(**{**settings.model_dump(), "trusted_proxies": " 10.0.0.5, 10.1.0.0/16 "})
    assert kept.trusted_proxies == "10.0.0.5,10.1.0.0/16"
    for bad in ("proxy.internal", "10.0.0.5/8", "*"):
        with pytest.raises(ValidationError, match="trusted_proxies entry"):
            Settings(**{**settings.model_dump(), "trusted_proxies": bad})


def test_a_forged_forwarded_for_from_loopback_is_ignored_by_the_server(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    """Through uvicorn as `shipyard up` runs it: a local process is not a proxy."""
    account = factory.user()
    with served(app) as (host, port):
        answer = httpx.post(
            f"http://{host}:{port}/api/v1/auth/login",
            json={"email": account.email, "password": WRONG},
            headers={"X-Forwarded-For": "198.51.100.99"},
        )
    assert answer.status_code == 401
    assert failed_login_address(database) == "127.0.0.1"


@pytest.mark.db
def test_rotating_forged_addresses_do_not_escape_the_address_throttle(
    app: FastAPI, factory: Factory
) -> None:
    account = factory.user()
    local = TestClient(app, client=("127.0.0.1", 40000))
    for number in range(30):
        local.post(
            "/api/v1/auth/login",
            json={"email": f"spray{number}@example.org", "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{number}"},
        )
    right = {"email": account.email, "password": account.password}
    forged = {"X-Forwarded-For": "198.51.100.200"}
    assert local.post("/api/v1/auth/login", json=right, headers=forged).status_code == 429


def test_a_configured_proxy_is_believed(
    app_with: AppWith, database: Database, factory: Factory
) -> None:
    account = factory.user()
    app = app_with(trusted_proxies="10.20.0.0/16")
    proxy = TestClient(app, client=("10.20.0.3", 40000))
    body = {"email": account.email, "password": WRONG}
    forwarded = {"X-Forwarded-For": "203.0.113.40", "X-Forwarded-Proto": "https"}
    assert proxy.post("/api/v1/auth/login", json=body, headers=forwarded).status_code == 401
    assert failed_login_address(database) == "203.0.113.40"
    stranger = TestClient(app, client=("10.30.0.3", 40000))
    assert stranger.post("/api/v1/auth/login", json=body, headers=forwarded).status_code == 401
    assert failed_login_address(database) == "10.30.0.3"
