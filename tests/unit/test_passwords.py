"""Password rules and argon2id hashing."""

from __future__ import annotations

import pytest

from shipyard.auth import passwords
from shipyard.config import Settings
from shipyard.errors import InvalidInput

CHEAP = Settings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1)


@pytest.mark.parametrize(
    "weak",
    [
        "",
        "a1!",
        "abcdefgh",
        "12345678",
        "!!!!!!!!",
        "abcd1234",
        "abcd!!!!",
        "1234!!!!",
        "a1! " * 70,
    ],
)
def test_weak_passwords_are_refused_with_a_reason(weak: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        passwords.check_password_rules(weak)
    assert refused.value.details == {"field": "password"}
    assert "password" in refused.value.message


@pytest.mark.parametrize("strong", ["abcd123!", "Pässwörd-9", "correct-Horse-7"])
def test_passwords_with_letter_digit_and_symbol_pass(strong: str) -> None:
    passwords.check_password_rules(strong)


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    stored = passwords.hash_password(CHEAP, "correct-Horse-7")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(CHEAP, stored, "correct-Horse-7")
    assert not passwords.verify_password(CHEAP, stored, "correct-Horse-8")


def test_unknown_account_or_garbage_hash_never_verifies() -> None:
    assert not passwords.verify_password(CHEAP, None, "anything-1!")
    assert not passwords.verify_password(CHEAP, "not-a-hash", "anything-1!")


def test_hashes_made_with_other_parameters_need_a_rehash() -> None:
    stronger = Settings(argon2_time_cost=2, argon2_memory_kib=8192, argon2_parallelism=1)
    assert passwords.needs_rehash(stronger, passwords.hash_password(CHEAP, "abcd123!"))
    assert not passwords.needs_rehash(CHEAP, passwords.hash_password(CHEAP, "abcd123!"))


def test_generated_passwords_follow_the_rules_and_differ() -> None:
    generated = {passwords.generate_password() for _ in range(20)}
    assert len(generated) == 20
    for password in generated:
        passwords.check_password_rules(password)
