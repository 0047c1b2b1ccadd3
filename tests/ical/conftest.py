"""Calendar test fixtures. Reading the files back (both parsers, times against the
database) is in ics_check.py, which other test folders import too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from eventsite.extensions import db
from eventsite.models import Event, Registration, User
from eventsite.registration.models import RegistrationStatus

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py


@pytest.fixture
def make_registration(app) -> Callable[..., Registration]:
    """A registration row in a given state (the registration service has its own tests)."""

    def factory(
        user: User, event: Event, status: str = RegistrationStatus.CONFIRMED
    ) -> Registration:
        registration = Registration(
            user_id=user.id,
            event_id=event.id,
            status=status,
            answers={},
            created_at=NOW,
            updated_at=NOW,
        )
        db.session.add(registration)
        db.session.commit()
        return registration

    return factory


@pytest.fixture
def csrf_enabled(app_config: dict[str, Any]) -> None:
    """Request before `app`/`client` to build the app with CSRF protection on."""
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def make_member(make_user) -> Callable[..., User]:
    from eventsite.models import JoinedVia, Membership

    def factory(organisation, **overrides: Any) -> User:
        user = make_user(**overrides)
        db.session.add(
            Membership(
                user_id=user.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
            )
        )
        db.session.commit()
        return user

    return factory
