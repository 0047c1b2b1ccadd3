"""Membership by invitation only, and nobody left in charge of an organisation they did not
choose to join."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import (
    AuditEntry,
    JoinedVia,
    Membership,
    OrganisationInvitation,
)
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _members(organisation_id: int) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(Membership.user_id).where(Membership.organisation_id == organisation_id)
        )
    )


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash (flash-\w+)">([^<]*)</p>', page)


def _leave_url(world, user) -> str:
    return f"/manage/organisations/{world.organisation.id}/members/{user.id}/remove"


def _added_without_asking(world, user) -> None:
    """As the workspace did before membership needed an invitation; only the second member
    and this person stay besides the world's member."""
    db.session.add(
        Membership(user=user, organisation=world.organisation, joined_via=JoinedVia.ADDED)
    )
    db.session.delete(db.session.get(Membership, (world.second_member.id, world.organisation.id)))
    db.session.commit()


def test_adding_an_account_only_invites_it_and_answers_as_for_an_unknown_address(
    client, world, login, make_user, mailbox
) -> None:
    person = make_user(email="existing@example.org", name="Existing Person")
    login(world.member)
    url = f"/manage/organisations/{world.organisation.id}/members"

    known = client.post(url, data={"email": "existing@example.org"}, follow_redirects=True)
    unknown = client.post(url, data={"email": "nobody@example.org"}, follow_redirects=True)

    assert known.status_code == unknown.status_code == 200
    assert _flashes(known.get_data(as_text=True)) == [
        ("flash-success", "Invitation sent to existing@example.org.")
    ]
    assert _flashes(unknown.get_data(as_text=True)) == [
        ("flash-success", "Invitation sent to nobody@example.org.")
    ]
    # No membership without consent: only an invitation, listed like any other.
    assert person.id not in _members(world.organisation.id)
    invited = db.session.scalars(
        select(OrganisationInvitation.email).where(
            OrganisationInvitation.organisation_id == world.organisation.id
        )
    ).all()
    assert sorted(invited) == ["existing@example.org", "nobody@example.org"]
    # The two emails say the same; only the link differs.
    messages = sorted(mailbox(), key=lambda m: m.rcpt_tos)
    assert [m.rcpt_tos for m in messages] == [["existing@example.org"], ["nobody@example.org"]]
    assert messages[0].subject == messages[1].subject
    link = messages[0].link("/manage/invitations/")
    other_link = messages[1].link("/manage/invitations/")
    assert messages[0].text.replace(link, "LINK") == messages[1].text.replace(other_link, "LINK")

    # The person accepts, and only then is a member.
    login(person)
    assert client.post(link).status_code == 302
    assert person.id in _members(world.organisation.id)
    membership = db.session.get(Membership, (person.id, world.organisation.id))
    assert membership.joined_via == JoinedVia.INVITATION
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "member_add" not in actions
    assert actions.count("member_join") == 1


def test_an_organiser_cannot_leave_the_organisation_to_members_added_without_being_asked(
    client, world, login, make_user
) -> None:
    victim = make_user(name="Victor Added")
    _added_without_asking(world, victim)
    login(world.member)
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    assert "added without being asked" in page

    response = client.post(_leave_url(world, world.member), follow_redirects=True)

    assert "The other members were added without being asked" in response.get_data(as_text=True)
    assert _members(world.organisation.id) == {world.member.id, victim.id}
    # Nor may an administrator take the organiser out and leave the victim in charge.
    login(world.admin)
    response = client.post(_leave_url(world, world.member), follow_redirects=True)
    assert "The other members were added without being asked" in response.get_data(as_text=True)
    assert _members(world.organisation.id) == {world.member.id, victim.id}


def test_a_member_added_without_being_asked_may_always_leave_even_alone(
    client, world, login, make_user
) -> None:
    world.event.starts_at = utcnow() + timedelta(days=20)
    world.event.ends_at = world.event.starts_at + timedelta(hours=8)
    victim = make_user(name="Victor Added")
    _added_without_asking(world, victim)
    # The organiser left before the rule existed: the victim is alone with registrants.
    db.session.delete(db.session.get(Membership, (world.member.id, world.organisation.id)))
    db.session.commit()
    login(victim)

    response = client.post(_leave_url(world, victim))

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"  # no workspace to go back to
    assert _members(world.organisation.id) == set()
    page = client.get("/account/").get_data(as_text=True)
    assert f"You have left {world.organisation.name}." in page


def test_accepting_an_invitation_confirms_a_membership_given_without_asking(
    client, world, login, make_user, mailbox
) -> None:
    victim = make_user(email="victor@example.org", name="Victor Added")
    _added_without_asking(world, victim)
    login(world.member)
    response = client.post(
        f"/manage/organisations/{world.organisation.id}/members",
        data={"email": "victor@example.org"},
        follow_redirects=True,
    )
    assert "Invitation sent to victor@example.org." in response.get_data(as_text=True)
    [message] = mailbox()
    login(victim)
    assert client.post(message.link("/manage/invitations/")).status_code == 302
    membership = db.session.get(Membership, (victim.id, world.organisation.id))
    assert membership.joined_via == JoinedVia.INVITATION

    # Victor chose it now: the organiser may leave it to him.
    login(world.member)
    assert client.post(_leave_url(world, world.member)).status_code == 302
    assert _members(world.organisation.id) == {victim.id}
