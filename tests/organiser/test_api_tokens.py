"""The workspace page for the organiser API's tokens: made, shown once, stored hashed,
revoked, its last use shown."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import AuditEntry
from eventsite.organisations import access_tokens
from eventsite.organisations.access_tokens import AccessToken, TokenScope
from eventsite.timeutil import utcnow

TOKEN = re.compile(r'value="(evt_[A-Za-z0-9_-]+)"')


def test_a_new_token_is_shown_once_and_stored_hashed(client, world, login) -> None:
    login(world.member)
    url = f"/manage/organisations/{world.organisation.id}/api-tokens"

    response = client.post(url, data={"name": "CRM sync", "scope": "write"})
    html = response.get_data(as_text=True)
    secret = TOKEN.search(html).group(1)
    again = client.get(url).get_data(as_text=True)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "shown only this once" in html
    assert secret not in again
    assert "CRM sync" in again
    token = db.session.scalar(select(AccessToken).where(AccessToken.name == "CRM sync"))
    assert token.token_hash == access_tokens.hash_secret(secret)
    assert token.scope == TokenScope.WRITE
    assert token.created_by_id == world.member.id
    api = client.get("/api/v1/organiser/events", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    row = client.get(url).get_data(as_text=True).split("CRM sync", 1)[1].split("</tr>", 1)[0]
    assert "<time datetime=" in row, "the last use is shown"


def test_expiry_is_the_end_of_the_chosen_day(client, world, login) -> None:
    login(world.member)
    day = (utcnow() + timedelta(days=10)).date()

    client.post(
        f"/manage/organisations/{world.organisation.id}/api-tokens",
        data={"name": "Temp", "scope": "read", "expires_on": day.isoformat()},
    )

    token = db.session.scalar(select(AccessToken).where(AccessToken.name == "Temp"))
    assert token.expires_at.date() == day + timedelta(days=1)
    assert (token.expires_at.hour, token.expires_at.minute) == (0, 0)


def test_bad_input_is_shown_on_the_form_and_nothing_made(client, world, login) -> None:
    login(world.member)
    url = f"/manage/organisations/{world.organisation.id}/api-tokens"
    before = db.session.scalar(select(db.func.count(AccessToken.id)))

    for data in (
        {"name": "", "scope": "read"},
        {"name": "x", "scope": "admin"},
        {"name": "x", "scope": "read", "expires_on": "0001-01-01"},
        {"name": "x", "scope": "read", "expires_on": "yesterday"},
        {"name": "a\nb", "scope": "read"},
    ):
        response = client.post(url, data=data)
        assert response.status_code == 422, data
        assert 'class="errors"' in response.get_data(as_text=True)

    past = (utcnow() - timedelta(days=2)).date().isoformat()
    response = client.post(url, data={"name": "Old", "scope": "read", "expires_on": past})
    assert response.status_code == 422
    assert "future" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(AccessToken.id))) == before


def test_revoking_stops_the_token_and_is_logged(client, world, login) -> None:
    token, secret = access_tokens.create_token(
        world.organisation,
        name="Door app",
        scope=TokenScope.READ,
        expires_at=None,
        created_by=world.member,
        now=utcnow(),
    )
    db.session.commit()
    login(world.member)

    response = client.post(
        f"/manage/organisations/{world.organisation.id}/api-tokens/{token.id}/revoke"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)

    assert response.status_code == 302
    assert "is revoked" in page
    assert "Revoked" in page
    api = client.get("/api/v1/organiser/events", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "api_token_revoke" in actions


def test_a_token_of_another_organisation_cannot_be_revoked_here(client, world, login) -> None:
    other, _secret = access_tokens.create_token(
        world.other_organisation,
        name="Theirs",
        scope=TokenScope.READ,
        expires_at=None,
        created_by=world.other_member,
        now=utcnow(),
    )
    db.session.commit()
    login(world.member)

    response = client.post(
        f"/manage/organisations/{world.organisation.id}/api-tokens/{other.id}/revoke"
    )

    assert response.status_code == 404
    db.session.refresh(other)
    assert other.revoked_at is None
