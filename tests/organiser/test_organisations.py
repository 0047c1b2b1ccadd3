"""Organisations in the workspace: profile, logo, members, invitations."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.mail.sender import deliver_due
from eventsite.models import (
    AuditEntry,
    JoinedVia,
    Membership,
    Organisation,
    OrganisationInvitation,
    OutboxMessage,
)
from eventsite.organisations import services as organisations
from eventsite.timeutil import utcnow

from .. import pictures


def _members(organisation_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(Membership.user_id).where(Membership.organisation_id == organisation_id)
        )
    )


def _profile(world, **overrides):
    data = {"name": world.organisation.name, "description": "", "website": ""}
    data.update(overrides)
    return data


def test_members_edit_the_profile(client, as_member) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}"
    response = client.post(
        url, data=_profile(as_member, name="Science Org", website="https://science.example")
    )
    assert response.status_code == 302
    db.session.expire_all()
    organisation = db.session.get(Organisation, as_member.organisation.id)
    assert organisation.name == "Science Org"
    assert organisation.website == "https://science.example"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organisation_edit"))
    assert entry.details["changes"]["name"]["new"] == "Science Org"


def _logo(organisation_id: int):
    db.session.expire_all()
    return db.session.get(Organisation, organisation_id).logo_image


def test_a_logo_upload_is_checked_by_content_cleaned_and_served(client, as_member) -> None:
    organisation = as_member.organisation
    url = f"/manage/organisations/{organisation.id}"
    response = client.post(
        url,
        data=_profile(as_member) | {"logo": (io.BytesIO(pictures.jpeg_with_gps()), "photo.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    logo = _logo(organisation.id)
    assert logo.alt == organisation.name  # nothing said: the organisation's name
    page = client.get(url).get_data(as_text=True)
    assert f'alt="{organisation.name}"' in page
    served = client.get(f"/images/{logo.largest['jpeg']}")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert not pictures.opened(served.data).getexif()
    # An SVG named .png is refused, whatever its name says, and the logo stays.
    response = client.post(
        url,
        data=_profile(as_member) | {"logo": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "must be a JPEG, PNG or WebP image" in response.get_data(as_text=True)
    assert _logo(organisation.id).id == logo.id


def test_the_logo_description_can_be_changed_and_the_logo_removed(client, as_member) -> None:
    organisation = as_member.organisation
    url = f"/manage/organisations/{organisation.id}"
    response = client.post(
        url,
        data=_profile(as_member, logo_alt="A green leaf")
        | {"logo": (io.BytesIO(pictures.webp(300, 300)), "logo.webp")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert _logo(organisation.id).alt == "A green leaf"
    assert client.post(url, data=_profile(as_member, logo_alt="A leaf")).status_code == 302
    logo = _logo(organisation.id)
    assert logo.alt == "A leaf"
    response = client.post(url, data=_profile(as_member, remove_logo="y"))
    assert response.status_code == 302
    assert _logo(organisation.id) is None
    assert client.get(f"/images/{logo.largest['webp']}").status_code == 404


def test_a_logo_over_the_limit_is_refused_before_it_is_read(app, client, as_member) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}"
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (app.config["IMAGE_MAX_UPLOAD_BYTES"] + 600_000)
    response = client.post(
        url,
        data=_profile(as_member) | {"logo": (io.BytesIO(huge), "huge.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "A picture may be at most 10 MB" in response.get_data(as_text=True)


def test_an_unknown_address_gets_an_invitation_that_grants_membership(
    smtp_sink, app, client, world, login, make_user
) -> None:
    from flask import g

    _controller, handler = smtp_sink
    login(world.member)
    response = client.post(
        f"/manage/organisations/{world.organisation.id}/members",
        data={"email": "invitee@example.org"},
        follow_redirects=True,
    )
    assert "Invitation sent to invitee@example.org." in response.get_data(as_text=True)
    deliver_due()
    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["invitee@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://localhost(/manage/invitations/\S+)", text).group(1)

    # Someone else who got hold of the link cannot use it.
    intruder = make_user(email="intruder@example.org")
    g.pop("_login_user", None)
    login(intruder)
    response = client.post(link)
    assert response.status_code == 400
    assert "sent to another address" in response.get_data(as_text=True)
    assert intruder.id not in _members(world.organisation.id)

    # The invitee signs up (an account with that address) and accepts.
    invitee = make_user(email="invitee@example.org", name="Invitee")
    g.pop("_login_user", None)
    login(invitee)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    assert invitee.id in _members(world.organisation.id)
    # A forged token is refused.
    response = client.post(link[:-3] + "xyz")
    assert response.status_code == 400


def test_an_organisation_keeps_a_member_while_people_are_registered_for_its_events(
    app, client, world, login
) -> None:
    # The world's event is coming, with a registration awaiting approval.
    world.event.starts_at = utcnow() + timedelta(days=20)
    world.event.ends_at = world.event.starts_at + timedelta(hours=8)
    db.session.commit()
    login(world.member)
    url = f"/manage/organisations/{world.organisation.id}/members"
    assert client.post(f"{url}/{world.second_member.id}/remove").status_code == 302
    assert _members(world.organisation.id) == {world.member.id}
    response = client.post(f"{url}/{world.member.id}/remove", follow_redirects=True)
    assert "keeps at least one member while people are registered" in response.get_data(
        as_text=True
    )
    assert _members(world.organisation.id) == {world.member.id}
    with pytest.raises(organisations.OrganisationError):
        organisations.remove_member(world.organisation, world.member.id, world.admin, utcnow())
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "member_remove" in actions


def test_admins_create_organisations_with_a_first_member(client, world, login) -> None:
    login(world.admin)
    response = client.post(
        "/manage/organisations/new",
        data={"name": "Planet Institute", "first_member": world.attendee.email},
    )
    assert response.status_code == 302
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.name == "Planet Institute")
    )
    assert organisation.slug == "planet-institute"
    # The administrator who created it is its member; the first member is only invited.
    assert _members(organisation.id) == {world.admin.id}
    [invitation] = db.session.scalars(
        select(OrganisationInvitation).where(
            OrganisationInvitation.organisation_id == organisation.id
        )
    ).all()
    assert invitation.email == world.attendee.email
    assert invitation.is_pending
    response = client.post(
        "/manage/organisations/new", data={"name": "Other", "slug": "planet-institute"}
    )
    assert response.status_code == 422
    assert "already uses this address" in response.get_data(as_text=True)


def test_the_cli_creates_an_organisation_with_members(runner, make_user) -> None:
    member = make_user(email="lead@example.org")
    result = runner.invoke(
        args=[
            "organisations", "create", "Ocean Alliance",
            "--member", "lead@example.org", "--member", "new@example.org",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "lead@example.org: added" in result.output
    assert "new@example.org: invited" in result.output
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.slug == "ocean-alliance")
    )
    assert _members(organisation.id) == {member.id}
    # The command line is trusted to decide for the operator: no invitation to accept.
    membership = db.session.get(Membership, (member.id, organisation.id))
    assert membership.joined_via == JoinedVia.ADMIN
    result = runner.invoke(args=["organisations", "create", "X", "--slug", "ocean-alliance"])
    assert result.exit_code != 0
    assert "already uses this address" in result.output


def test_the_cli_refuses_an_organisation_without_a_member_who_has_an_account(runner) -> None:
    for extra in ([], ["--member", "nobody-yet@example.org"]):
        result = runner.invoke(args=["organisations", "create", "Lonely Society", *extra])
        assert result.exit_code != 0
        assert "at least one --member who already has an account" in result.output
    assert (
        db.session.scalar(select(Organisation).where(Organisation.name == "Lonely Society")) is None
    )
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_organisation_page_offers_the_calendar_export(client, as_member) -> None:
    organisation = as_member.organisation
    page = client.get(f"/manage/organisations/{organisation.id}").get_data(as_text=True)
    export_url = f"/account/organisations/{organisation.slug}/events.ics"
    assert export_url in page
    response = client.get(export_url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
