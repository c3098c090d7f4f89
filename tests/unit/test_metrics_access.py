"""Who may read /metrics: addresses against networks, bearer tokens, and the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shipyard.config import Settings
from shipyard.metrics.access import (
    Verdict,
    address_allowed,
    decide,
    token_matches,
)
from shipyard.validation import parse_networks

LOOPBACK = parse_networks(["127.0.0.1/32", "::1/128"])
TOKEN = "s3cret-metrics-token-0123"


@pytest.mark.parametrize(
    ("address", "entries", "allowed"),
    [
        ("127.0.0.1", ["127.0.0.1/32", "::1/128"], True),
        ("::1", ["127.0.0.1/32", "::1/128"], True),
        ("127.0.0.2", ["127.0.0.1/32", "::1/128"], False),
        ("10.20.30.40", ["10.0.0.0/8"], True),
        ("11.0.0.1", ["10.0.0.0/8"], False),
        ("192.168.1.7", ["192.168.1.7"], True),
        ("192.168.1.8", ["192.168.1.7"], False),
        ("2001:db8::42", ["2001:db8::/32"], True),
        ("2001:db9::42", ["2001:db8::/32"], False),
        ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),  # IPv4 seen through a dual-stack socket
        ("fe80::1%eth0", ["fe80::/10"], True),
        ("testclient", ["127.0.0.1/32", "::1/128"], False),
        ("", ["0.0.0.0/0", "::/0"], False),
        ("10.0.0.1", [], False),
    ],
)
def test_an_address_is_allowed_only_inside_a_listed_network(
    address: str, entries: list[str], allowed: bool
) -> None:
    assert address_allowed(address, parse_networks(entries)) is allowed


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "10.0.0.1/8", "localhost", "", "::g"])
def test_bad_allow_list_entries_are_refused_by_name(entry: str) -> None:
    with pytest.raises(ValueError, match="metrics_allow entry") as raised:
        parse_networks(["127.0.0.1/32", entry])
    assert repr(entry) in str(raised.value)


@pytest.mark.parametrize(
    ("authorization", "token", "matches"),
    [
        (f"Bearer {TOKEN}", TOKEN, True),
        (f"bearer {TOKEN}", TOKEN, True),
        (f"Bearer {TOKEN}x", TOKEN, False),
        (f"Bearer {TOKEN[:-1]}", TOKEN, False),
        (f"Basic {TOKEN}", TOKEN, False),
        (TOKEN, TOKEN, False),
        ("Bearer ", TOKEN, False),
        (f"Bearer {TOKEN}", None, False),
        ("Bearer ünïcode", TOKEN, False),
    ],
)
def test_only_the_configured_bearer_token_matches(
    authorization: str, token: str | None, matches: bool
) -> None:
    assert token_matches(authorization, token) is matches


def test_sent_credentials_decide_before_the_address() -> None:
    loopback = ["127.0.0.1/32"]
    good, bad = f"Bearer {TOKEN}", "Bearer wrong"
    cases = [
        (good, "203.0.113.9", Verdict.ALLOWED),
        (bad, "203.0.113.9", Verdict.UNAUTHORIZED),
        (bad, "127.0.0.1", Verdict.UNAUTHORIZED),  # a wrong token is an error, even from home
        (None, "127.0.0.1", Verdict.ALLOWED),
        (None, "203.0.113.9", Verdict.FORBIDDEN),
        ("", "testclient", Verdict.FORBIDDEN),
    ]
    for authorization, address, verdict in cases:
        found = decide(authorization=authorization, address=address, token=TOKEN, allow=loopback)
        assert found is verdict, (authorization, address)


def test_without_a_token_configured_only_the_allow_list_opens() -> None:
    allow = ["10.0.0.0/8"]
    assert (
        decide(authorization=None, address="10.0.0.5", token=None, allow=allow) is Verdict.ALLOWED
    )
    assert (
        decide(authorization="Bearer anything", address="10.0.0.5", token=None, allow=allow)
        is Verdict.UNAUTHORIZED
    )


def test_settings_default_to_loopback_and_no_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.metrics_token is None
    assert settings.metrics_allow == ["127.0.0.1/32", "::1/128"]


def test_settings_normalise_allow_list_entries(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metrics_allow=[" 10.0.0.0/8", "192.168.1.7", "::1"])
    assert settings.metrics_allow == ["10.0.0.0/8", "192.168.1.7/32", "::1/128"]


def test_settings_refuse_a_bad_allow_list_entry(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"metrics_allow entry '10\.0\.0\.300/8'"):
        Settings(data_dir=tmp_path, metrics_allow=["127.0.0.1/32", "10.0.0.300/8"])


def test_settings_read_the_allow_list_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_METRICS_ALLOW", '["10.1.0.0/16", "fd00::/8"]')
    monkeypatch.setenv("SHIPYARD_METRICS_TOKEN", TOKEN)
    settings = Settings(data_dir=tmp_path)
    assert settings.metrics_allow == ["10.1.0.0/16", "fd00::/8"]
    assert settings.metrics_token == TOKEN


def test_settings_refuse_a_short_token_and_treat_empty_as_none(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(data_dir=tmp_path, metrics_token="short")
    assert Settings(data_dir=tmp_path, metrics_token="  ").metrics_token is None
