"""Account rules called directly: passwords, tokens with a given `now`, the log-in brake, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from eventsite.accounts import services, tokens
from eventsite.extensions import db
from eventsite.models import OutboxMessage, User

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


@pytest.mark.parametrize("password", ["short", "1234567890", "Password123", "aaaaaaaaaaaa"])
def test_weak_passwords_are_refused(app, password) -> None:
    with pytest.raises(services.AccountError) as err:
        services.check_password_strength(password)
    assert err.value.field == "password"


def test_email_is_validated_and_lower_cased(app) -> None:
    assert services.normalise_email("  Ada@Example.ORG ") == "ada@example.org"
    for bad in ["a@b", "no-at-sign", "a@example.org\r\nBcc: x@example.org", "a@@example.org"]:
        with pytest.raises(services.AccountError):
            services.normalise_email(bad)


def test_tokens_expire_by_the_given_clock_and_carry_their_purpose(app) -> None:
    token = tokens.make_token(tokens.RESET_PASSWORD, {"uid": 1}, NOW)
    assert tokens.read_token(tokens.RESET_PASSWORD, token, NOW + timedelta(minutes=59), 3600)
    with pytest.raises(tokens.TokenError) as err:
        tokens.read_token(tokens.RESET_PASSWORD, token, NOW + timedelta(minutes=61), 3600)
    assert err.value.expired
    with pytest.raises(tokens.TokenError):
        tokens.read_token(tokens.VERIFY_EMAIL, token, NOW, 3600)


def test_reset_token_is_spent_by_the_reset_itself(app, make_user) -> None:
    user = make_user()
    services.request_password_reset(user.email, NOW)
    token = tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)},
        NOW,
    )
    services.reset_password(token, "a fresh long passphrase", NOW)
    with pytest.raises(tokens.TokenError):
        services.reset_password(token, "yet another passphrase", NOW)


def test_failed_log_ins_outside_the_window_start_a_new_count(app, make_user) -> None:
    user = make_user()
    for minute in range(4):
        with pytest.raises(services.LoginError):
            services.authenticate(user.email, "wrong", NOW + timedelta(minutes=minute))
        db.session.commit()
    # 20 minutes later the old failures no longer count.
    later = NOW + timedelta(minutes=20)
    with pytest.raises(services.LoginError):
        services.authenticate(user.email, "wrong", later)
    db.session.commit()
    assert user.failed_login_count == 1
    assert user.login_blocked_until is None
    for _ in range(4):
        with pytest.raises(services.LoginError):
            services.authenticate(user.email, "wrong", later)
        db.session.commit()
    assert user.login_blocked_until == later + timedelta(minutes=5)
    with pytest.raises(services.LoginBlockedError):
        services.authenticate(user.email, "correct horse battery staple", later)
    assert (
        services.authenticate(
            user.email, "correct horse battery staple", later + timedelta(minutes=6)
        )
        == user
    )


@pytest.mark.slow
def test_two_simultaneous_sign_ups_with_one_address_make_one_account(app: Flask) -> None:
    barrier = threading.Barrier(2)
    results: list[object] = []

    def sign_up(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                user = services.sign_up(
                    name=f"Twin {n}",
                    email="twin@example.org",
                    password="a long enough passphrase",
                    now=NOW,
                )
                db.session.commit()
                results.append(user is not None)
            except Exception as err:  # pragma: no cover - the failure we look for
                results.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results, key=str) == [False, True]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_create_account_reports_a_taken_address_as_a_field_error(app, make_user) -> None:
    make_user(email="ada@example.org")
    with pytest.raises(services.AccountError) as err:
        services.create_account(
            name="Ada", email="ADA@example.org", password="a long passphrase", now=NOW
        )
    assert err.value.field == "email"
    assert "already exists" in str(err.value)
