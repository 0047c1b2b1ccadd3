"""Account rules called directly: passwords, tokens with a given `now`, the log-in brake, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from eventsite.accounts import login_brake, services, tokens
from eventsite.extensions import db
from eventsite.models import LoginFailure, OutboxMessage, User

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


def _failures(address: str) -> LoginFailure | None:
    db.session.expire_all()
    return db.session.get(LoginFailure, login_brake.address_key(address))


def _fail_to_log_in(address: str, now: datetime, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(services.LoginError):
            services.authenticate(address, "wrong", now)
        db.session.commit()


@pytest.mark.parametrize("has_account", [True, False], ids=["account", "no-account"])
def test_failed_log_ins_outside_the_window_start_a_new_count(app, make_user, has_account):
    address = make_user().email if has_account else "nobody@example.org"
    for minute in range(4):
        _fail_to_log_in(address, NOW + timedelta(minutes=minute))
    # 20 minutes later the old failures no longer count.
    later = NOW + timedelta(minutes=20)
    _fail_to_log_in(address, later)
    assert _failures(address).failure_count == 1
    assert _failures(address).blocked_until is None
    _fail_to_log_in(address, later, times=4)
    assert _failures(address).blocked_until == later + timedelta(minutes=5)
    with pytest.raises(services.LoginBlockedError):
        services.authenticate(address, "correct horse battery staple", later)
    if has_account:
        user = services.authenticate(
            address.upper(), "correct horse battery staple", later + timedelta(minutes=6)
        )
        assert user.email == address
        db.session.commit()
        assert _failures(address) is None  # a log-in forgets the failures


def test_the_brake_keeps_no_address_and_forgets_spent_rows(app) -> None:
    app.config["LOGIN_BLOCK_MINUTES"] = 30  # outlasts the 15-minute window
    _fail_to_log_in("Old@Example.org", NOW, times=2)
    _fail_to_log_in("blocked@example.org", NOW, times=5)
    (row, _blocked) = db.session.scalars(select(LoginFailure)).all()
    assert "example" not in row.address_hash.lower()
    assert _failures("old@example.org").failure_count == 2  # one address, any case

    # Past the window the first row counts for nothing and goes; the block stays until it ends.
    _fail_to_log_in("new@example.org", NOW + timedelta(minutes=4))
    assert _failures("old@example.org") is not None
    _fail_to_log_in("new@example.org", NOW + timedelta(minutes=16))
    assert _failures("old@example.org") is None
    assert _failures("blocked@example.org") is not None
    _fail_to_log_in("new@example.org", NOW + timedelta(minutes=31))
    assert _failures("blocked@example.org") is None
    assert _failures("new@example.org").failure_count == 1  # its own window ended too


def test_a_password_reset_lifts_the_brake(app, make_user) -> None:
    user = make_user()
    _fail_to_log_in(user.email, NOW, times=5)
    token = tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)},
        NOW,
    )
    services.reset_password(token, "a fresh long passphrase", NOW)
    db.session.commit()
    assert services.authenticate(user.email, "a fresh long passphrase", NOW) == user


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


@pytest.mark.slow
def test_simultaneous_failures_at_a_new_address_all_count(app: Flask) -> None:
    attempts = 5  # the limit: together they block the address
    barrier = threading.Barrier(attempts)
    results: list[object] = []

    def fail(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                services.authenticate("someone@example.org", f"wrong {n}", NOW)
            except services.LoginError as err:
                db.session.commit()
                results.append(type(err))
            except Exception as err:  # pragma: no cover - the failure we look for
                results.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [services.LoginError] * attempts
    assert _failures("someone@example.org").blocked_until == NOW + timedelta(minutes=5)


def test_create_account_reports_a_taken_address_as_a_field_error(app, make_user) -> None:
    make_user(email="ada@example.org")
    with pytest.raises(services.AccountError) as err:
        services.create_account(
            name="Ada", email="ADA@example.org", password="a long passphrase", now=NOW
        )
    assert err.value.field == "email"
    assert "already exists" in str(err.value)


def test_a_password_hashed_with_another_method_still_logs_in(app, make_user) -> None:
    """Hashes carry their method: changing PASSWORD_HASH_METHOD locks nobody out."""
    from werkzeug.security import generate_password_hash

    user = make_user(password_hash=generate_password_hash("an older passphrase", "scrypt"))
    assert services.hash_password("a new passphrase").startswith("pbkdf2:sha256:1000$")
    assert services.authenticate(user.email, "an older passphrase", NOW) == user
