"""Password policy and hashing."""

import pytest

from imgapp.services import passwords
from imgapp.services.errors import ValidationFailed


def test_policy_refuses_short_password_and_names_the_minimum():
    with pytest.raises(ValidationFailed) as caught:
        passwords.check_policy("1234567")
    assert caught.value.rule == "password_too_short"
    assert caught.value.field == "password"
    assert "8" in str(caught.value)


def test_policy_refuses_blank_and_overlong_passwords():
    with pytest.raises(ValidationFailed, match="only spaces"):
        passwords.check_policy(" " * 12)
    with pytest.raises(ValidationFailed) as caught:
        passwords.check_policy("x" * 257)
    assert caught.value.rule == "password_too_long"


def test_policy_accepts_eight_characters_and_a_passphrase():
    assert passwords.check_policy("12345678") is None
    assert passwords.check_policy("correct horse battery staple") is None
    hashed = passwords.hash_password("12345678")
    assert passwords.verify_password("12345678", hashed)


def test_hash_is_argon2_and_verifies_only_the_right_password():
    hashed = passwords.hash_password("correct horse")
    assert hashed.startswith("$argon2")
    assert "correct horse" not in hashed
    assert passwords.verify_password("correct horse", hashed)
    assert not passwords.verify_password("correct hors", hashed)


def test_verify_without_a_stored_hash_fails():
    assert not passwords.verify_password("anything", None)
