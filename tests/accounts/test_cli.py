"""`flask users create | grant | list`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import JoinedVia, Membership, User


@pytest.mark.usefixtures("default_password_hashing")
def test_users_create_reads_the_password_from_stdin_and_counts_as_verified(runner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Admin@Example.org",
            "--name",
            "Admin",
            "--admin",
            "--password-stdin",
        ],
        input="a very long admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.is_admin, user.is_verified) == ("admin@example.org", True, True)
    assert user.password_hash.startswith("scrypt:")


def test_users_create_prompts_twice_without_stdin(runner) -> None:
    result = runner.invoke(
        args=["users", "create", "ada@example.org", "--name", "Ada"],
        input="a very long passphrase\na very long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User)).is_admin is False


def test_users_create_refuses_weak_passwords_and_taken_addresses(runner, make_user) -> None:
    result = runner.invoke(
        args=["users", "create", "x@example.org", "--name", "X", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    make_user(email="taken@example.org")
    result = runner.invoke(
        args=["users", "create", "taken@example.org", "--name", "X", "--password-stdin"],
        input="a very long passphrase\n",
    )
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_users_grant_and_list(runner, make_user, make_organisation) -> None:
    make_organisation(slug="unige")
    make_user(email="ada@example.org", name="Ada")
    result = runner.invoke(args=["users", "grant", "ada@example.org", "--organisation", "unige"])
    assert result.exit_code == 0, result.output
    # The operator is trusted to decide: a membership that counts as chosen.
    [membership] = db.session.scalars(select(Membership)).all()
    assert membership.joined_via == JoinedVia.ADMIN
    result = runner.invoke(args=["users", "list"])
    assert "ada@example.org" in result.output
    assert "attendee+organiser" in result.output
    assert "unige" in result.output
    result = runner.invoke(args=["users", "grant", "ada@example.org", "--organisation", "nope"])
    assert result.exit_code != 0
    assert "No organisation" in result.output
