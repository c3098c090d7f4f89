"""The agent protocol's signatures (shipyard.agents.signing): what verifies and what not."""

from __future__ import annotations

import time

import pytest

from shipyard.agents import signing

DIGEST = signing.token_hash("sya_unit-test-token")
KEY = signing.manager_key(DIGEST)
KID = signing.key_id(DIGEST)


def sign(**changes: object) -> tuple[signing.Credentials, str]:
    values: dict[str, object] = {"method": "POST", "target": "/a?b=1", "body": b"{}"} | changes
    header, nonce = signing.sign_request(KEY, kid=KID, **values)  # type: ignore[arg-type]
    credentials = signing.parse(header)
    assert credentials is not None
    return credentials, nonce


def test_a_signed_request_verifies_only_as_it_was_signed() -> None:
    credentials, _nonce = sign()

    assert signing.request_valid(KEY, credentials, method="POST", target="/a?b=1", body=b"{}")
    for method, target, body in (
        ("GET", "/a?b=1", b"{}"),
        ("POST", "/a?b=2", b"{}"),
        ("POST", "/a?b=1", b"{} "),
    ):
        assert not signing.request_valid(KEY, credentials, method=method, target=target, body=body)
    other = signing.manager_key(signing.token_hash("sya_other"))
    assert not signing.request_valid(other, credentials, method="POST", target="/a?b=1", body=b"{}")


@pytest.mark.parametrize("skew", [-signing.WINDOW - 1, signing.WINDOW + 1])
def test_a_request_outside_the_window_does_not_verify(skew: int) -> None:
    credentials, _nonce = sign(now=time.time() + skew)

    assert not signing.request_valid(KEY, credentials, method="POST", target="/a?b=1", body=b"{}")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer sya_x",
        "Shipyard-HMAC kid=a,ts=1,nonce=b",
        "Shipyard-HMAC kid=a,ts=1,nonce=b,sig=c,sig=d",
        "Shipyard-HMAC kid=a,ts=-1,nonce=b,sig=c",
        "Shipyard-HMAC kid=a b,ts=1,nonce=b,sig=c",
        "Shipyard-HMAC kid=a,ts=1,nonce=b,extra=c",
        "shipyard-hmac kid=a,ts=1,nonce=b,sig=c",
    ],
)
def test_malformed_headers_parse_to_nothing(header: str) -> None:
    assert signing.parse(header) is None


def test_an_answer_is_bound_to_its_request_and_its_content() -> None:
    headers = {"content-type": "application/json"}
    signature = signing.sign_answer(
        KEY, kid=KID, nonce="n1", status=200, headers=headers, body=b"1"
    )
    signed = {**headers, signing.SIGNATURE_HEADER: signature}

    assert signing.answer_valid(KEY, kid=KID, nonce="n1", status=200, headers=signed, body=b"1")
    for nonce, status, body in (("n2", 200, b"1"), ("n1", 404, b"1"), ("n1", 200, b"2")):
        assert not signing.answer_valid(
            KEY, kid=KID, nonce=nonce, status=status, headers=signed, body=body
        )
    retyped = {**signed, "content-type": "text/html"}
    assert not signing.answer_valid(
        KEY, kid=KID, nonce="n1", status=200, headers=retyped, body=b"1"
    )


def test_a_request_signature_is_no_answer_signature() -> None:
    credentials, nonce = sign(method="GET", target="/x", body=b"")
    reflected = {signing.SIGNATURE_HEADER: credentials.sig}

    assert not signing.answer_valid(
        KEY, kid=KID, nonce=nonce, status=200, headers=reflected, body=b""
    )


def test_keys_differ_by_direction_agent_and_process() -> None:
    keys = {
        KEY.hex(),
        signing.agent_api_key(DIGEST, agent_id="a", instance="1" * 32),
        signing.agent_api_key(DIGEST, agent_id="b", instance="1" * 32),
        signing.agent_api_key(DIGEST, agent_id="a", instance="2" * 32),
    }

    assert len(keys) == 4
    assert KID not in "".join(keys)


def test_each_nonce_is_accepted_once() -> None:
    guard = signing.ReplayGuard()

    assert guard.first_use("n1")
    assert not guard.first_use("n1")
    assert guard.first_use("n2")
