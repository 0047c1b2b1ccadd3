"""The organiser API's fixtures: an organisation, its member and their tokens."""

from __future__ import annotations

import pytest

from eventsite.extensions import db
from eventsite.organisations import access_tokens
from eventsite.organisations.access_tokens import TokenScope
from eventsite.timeutil import utcnow


@pytest.fixture
def organisation(make_organisation):
    return make_organisation(name="Ocean Forum", slug="ocean-forum")


@pytest.fixture
def member(make_member, organisation):
    return make_member(organisation, name="Mia Member")


@pytest.fixture
def make_token(member, organisation):
    def factory(scope=TokenScope.WRITE, org=None, **values) -> str:
        _token, secret = access_tokens.create_token(
            org or organisation,
            name=values.pop("name", "Door app"),
            scope=scope,
            expires_at=values.pop("expires_at", None),
            created_by=member,
            now=utcnow(),
        )
        db.session.commit()
        return secret

    return factory


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
