"""Login throttling slows attackers and never locks the real user out (issue 12, finding 5).

Failures are per account and address (a backoff that refuses that pair only), per address
across accounts, and per account from every address (a slowdown, never a refusal). Time is
moved by ageing the recorded failures, not by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from shipyard.audit.models import Action
from shipyard.auth import throttle
from shipyard.auth.models import LoginFailure
from shipyard.config import Settings
from shipyard.db import Database
from tests.api.audit_helpers import entries
from tests.factories import Account, Factory
from tests.login_helpers import count_verifications, record_pauses

# Throttling counts failures over time windows in SQL.
pytestmark = pytest.mark.db

WRONG = "Wrong-password-1"


def from_address(app: FastAPI, address: str) -> TestClient:
    """A client whose connections come from `address` (no proxy in between)."""
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def api_login(client: TestClient, email: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def fail_times(client: TestClient, email: str, times: int) -> None:
    for _ in range(times):
        assert api_login(client, email, WRONG).status_code == 401


def age_failures(database: Database, seconds: float) -> None:
    """Every recorded failure happened `seconds` earlier than recorded."""
    with database.session() as db:
        for failure in db.scalars(select(LoginFailure)):
            failure.at = failure.at - timedelta(seconds=seconds)
        db.commit()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return count_verifications(monkeypatch)


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return record_pauses(monkeypatch)


def test_failures_from_one_address_leave_other_addresses_alone(
    app: FastAPI, factory: Factory
) -> None:
    account = factory.user()
    attacker = from_address(app, "203.0.113.66")
    fail_times(attacker, account.email, 5)
    assert api_login(attacker, account.email, WRONG).status_code == 429
    assert api_login(attacker, account.email, account.password).status_code == 429
    user = from_address(app, "198.51.100.7")
    assert api_login(user, account.email, account.password).status_code == 201


def test_a_waiting_pair_is_refused_unchecked_until_its_backoff_ends(
    app: FastAPI, factory: Factory, database: Database, verifications: list[str]
) -> None:
    account = factory.user()
    client = from_address(app, "203.0.113.10")
    fail_times(client, account.email, 5)
    verifications.clear()
    refused = api_login(client, account.email, account.password)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused.headers["Retry-After"]) <= 30
    assert verifications == []  # the password was not even looked at
    age_failures(database, 31)
    assert api_login(client, account.email, account.password).status_code == 201
    fail_times(client, account.email, 4)  # the success started this address afresh


def test_the_backoff_doubles_with_each_further_failure(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    account = factory.user()
    client = from_address(app, "203.0.113.11")
    fail_times(client, account.email, 5)
    age_failures(database, 31)
    fail_times(client, account.email, 1)
    refused = api_login(client, account.email, account.password)
    assert refused.status_code == 429
    assert 30 < int(refused.headers["Retry-After"]) <= 60


def test_the_backoff_never_exceeds_the_window(settings: Settings) -> None:
    window = timedelta(minutes=settings.login_window_minutes)
    assert throttle._backoff(10_000, settings) == window


def test_an_address_spraying_many_accounts_waits_and_others_do_not(
    app: FastAPI, factory: Factory
) -> None:
    account = factory.user()
    sprayer = from_address(app, "203.0.113.12")
    for number in range(30):
        api_login(sprayer, f"spray{number}@example.org", WRONG)
    assert api_login(sprayer, account.email, account.password).status_code == 429
    elsewhere = from_address(app, "198.51.100.8")
    assert api_login(elsewhere, account.email, account.password).status_code == 201


def test_many_addresses_slow_the_account_down_but_never_lock_it(
    app: FastAPI, factory: Factory, settings: Settings, pauses: list[float]
) -> None:
    account = factory.user()
    attempts = settings.login_slowdown_after + 6
    for number in range(attempts):
        client = from_address(app, f"203.0.113.{100 + number}")
        assert api_login(client, account.email, WRONG).status_code == 401
    assert len(pauses) == 6  # the first `login_slowdown_after` attempts were not slowed
    assert pauses == sorted(pauses)
    assert 0 < pauses[0] < pauses[-1] == settings.login_slowdown_max_seconds
    pauses.clear()
    user = from_address(app, "198.51.100.9")
    assert api_login(user, account.email, account.password).status_code == 201
    assert pauses == [settings.login_slowdown_max_seconds]  # slowed, never refused


def test_throttled_attempts_are_audited_with_their_address(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    account = factory.user()
    client = from_address(app, "203.0.113.13")
    fail_times(client, account.email, 5)
    assert api_login(client, account.email, account.password).status_code == 429
    latest = entries(database, Action.LOGIN_FAILED.value)[0]
    assert latest.details == {"reason": "throttled"}
    assert latest.client_address == "203.0.113.13"
    assert latest.target_label == account.email
    assert latest.success is False


def test_a_success_forgets_only_its_own_address(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    account: Account = factory.user()
    attacker = from_address(app, "203.0.113.14")
    fail_times(attacker, account.email, 5)
    user = from_address(app, "198.51.100.11")
    assert api_login(user, account.email, account.password).status_code == 201
    assert api_login(attacker, account.email, account.password).status_code == 429
