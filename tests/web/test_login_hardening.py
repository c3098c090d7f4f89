"""Console login hardening: no lock-out, slowdown, constant work, failed codes audited."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.audit.models import Action
from shipyard.config import Settings
from shipyard.db import Database
from tests.api.audit_helpers import entries
from tests.factories import Factory
from tests.login_helpers import count_verifications, record_pauses
from tests.twofactor import FakeClock, install_clock, turn_on
from tests.webclient import csrf_of, login

WRONG = "Wrong-password-1"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_clock(monkeypatch)


def browser(app: FastAPI, address: str) -> TestClient:
    """A browser whose connections come from `address`."""
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def otp_step(client: TestClient, code: str) -> httpx.Response:
    token = csrf_of(client.get("/login/otp").text)
    return client.post(
        "/login/otp", data={"csrf_token": token, "code": code}, follow_redirects=False
    )


def last_failure(database: Database) -> tuple[str, str, str]:
    entry = entries(database, Action.LOGIN_FAILED.value)[0]
    return entry.details.get("reason", ""), entry.client_address, entry.target_label


@pytest.mark.db
def test_failures_from_one_address_leave_the_user_alone(app: FastAPI, factory: Factory) -> None:
    account = factory.user()
    attacker = browser(app, "203.0.113.30")
    for _ in range(6):
        login(attacker, account.email, WRONG)
    assert login(attacker, account.email, account.password).status_code == 429
    assert login(browser(app, "198.51.100.30"), account.email, account.password).status_code == 303


def test_an_unknown_email_costs_one_verification(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifications = count_verifications(monkeypatch)
    assert login(client, "nobody-at-all@example.org", WRONG).status_code == 401
    assert len(verifications) == 1


@pytest.mark.db
def test_an_account_under_attack_answers_slower_but_opens(
    app: FastAPI, factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = factory.user()
    for number in range(settings.login_slowdown_after + 1):
        assert (
            login(browser(app, f"203.0.113.{60 + number}"), account.email, WRONG).status_code == 401
        )
    pauses = record_pauses(monkeypatch)
    assert login(browser(app, "198.51.100.31"), account.email, account.password).status_code == 303
    assert len(pauses) == 1
    assert 0 < pauses[0] <= settings.login_slowdown_max_seconds


def test_a_wrong_code_is_audited_with_the_address(
    app: FastAPI, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    client = browser(app, "203.0.113.31")
    assert login(client, account.email, account.password).status_code == 303
    assert otp_step(client, clock.code(secret, steps=5)).status_code == 401
    assert last_failure(database) == ("otp", "203.0.113.31", account.email)


@pytest.mark.db
def test_a_throttled_code_is_audited(
    app: FastAPI, factory: Factory, database: Database, settings: Settings, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    client = browser(app, "203.0.113.32")
    for _ in range(settings.login_max_failures_per_account - 1):
        assert login(client, account.email, WRONG).status_code == 401
    assert login(client, account.email, account.password).status_code == 303
    assert otp_step(client, clock.code(secret, steps=5)).status_code == 401
    assert otp_step(client, clock.code(secret)).status_code == 429
    assert last_failure(database) == ("throttled", "203.0.113.32", account.email)
