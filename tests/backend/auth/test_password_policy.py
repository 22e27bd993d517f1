"""The password rule itself: length, the shipped list (lowercased, spaces ignored), one repeated
character."""

from __future__ import annotations

import pytest

from aiclone_gateway.auth.password_policy import (
    MIN_LENGTH,
    WeakPasswordError,
    check_password,
    common_passwords,
)


def test_the_shipped_list_is_read_without_its_comments():
    words = common_passwords()
    assert "password" in words and "qwerty123" in words
    assert not any(word.startswith("#") for word in words)
    assert all(len(word) >= MIN_LENGTH for word in words)  # shorter ones fail the length rule anyway


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1", "password_too_short"),
        ("password", "password_too_common"),
        ("PASSWORD", "password_too_common"),
        ("i love you", "password_too_common"),
        ("aaaaaaaaaaaa", "password_too_common"),
    ],
)
def test_weak_passwords_are_refused_with_their_rule(password: str, code: str):
    with pytest.raises(WeakPasswordError) as refused:
        check_password(password)
    problem = refused.value.problem()
    assert (problem.status, problem.code, problem.param) == (400, code, "password")
    assert problem.fields == {"password": problem.message}


@pytest.mark.parametrize("password", ["correct horse battery", "violet kettle 42", "long enough"])
def test_ordinary_passwords_pass(password: str):
    check_password(password)
