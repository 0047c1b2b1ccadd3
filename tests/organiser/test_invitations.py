"""Invitations to an organisation: listed, sent again, revoked, accepted — over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, unquote

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import (
    AuditEntry,
    JoinedVia,
    Membership,
    Organisation,
    OrganisationInvitation,
    User,
)
from eventsite.organisations import models as organisation_models
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")

PASSWORD = "correct horse battery staple"


def _members(organisation_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(Membership.user_id).where(Membership.organisation_id == organisation_id)
        )
    )


def _invitations(organisation_id: int) -> list[OrganisationInvitation]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OrganisationInvitation)
            .where(OrganisationInvitation.organisation_id == organisation_id)
            .order_by(OrganisationInvitation.id)
        )
    )


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _invite(client, world, address: str = "invitee@example.org"):
    return client.post(
        f"/manage/organisations/{world.organisation.id}/members",
        data={"email": address},
        follow_redirects=True,
    )


def _invitation_link(mailbox, address: str = "invitee@example.org") -> str:
    [message] = mailbox()
    assert message.rcpt_tos == [address]
    link = message.link("/manage/invitations/")
    assert f"http://localhost{link}" in message.html
    return link


def _revoke_url(world, invitation: OrganisationInvitation) -> str:
    return f"/manage/organisations/{world.organisation.id}/invitations/{invitation.id}/revoke"


def test_an_invitation_is_emailed_and_listed_on_the_organisation_page(
    client, as_member, mailbox
) -> None:
    world = as_member
    response = _invite(client, world, "Invitee@Example.org")
    assert "Invitation sent to Invitee@Example.org." in response.get_data(as_text=True)

    message = mailbox()[0]
    assert message.rcpt_tos == ["invitee@example.org"]
    assert world.organisation.name in message.subject
    assert f"{world.member.name} invites you" in message.text
    assert "valid for 14 days" in message.text
    secret = message.link("/manage/invitations/").rsplit("/", 1)[1]

    [invitation] = _invitations(world.organisation.id)
    assert invitation.email == "invitee@example.org"
    assert invitation.invited_by_id == world.member.id
    assert invitation.is_pending
    # Only a hash of the secret is kept.
    assert secret not in invitation.token_hash
    assert invitation.token_hash == organisation_models.hash_invitation_secret(secret)

    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    section = page[page.index('id="invitations"') :]
    assert "invitee@example.org" in section
    assert world.member.name in section
    expires = invitation.sent_at + timedelta(days=14)
    assert f'<time datetime="{expires:%Y-%m-%dT%H:%M:%SZ}">' in section
    assert f'<time datetime="{invitation.sent_at:%Y-%m-%dT%H:%M:%SZ}">' in section
    assert _revoke_url(world, invitation) in section
    assert "member_invite" in _actions()


def test_inviting_a_pending_address_again_resends_with_a_new_link(
    client, as_member, mailbox, make_user, login
) -> None:
    world = as_member
    _invite(client, world)
    first_link = _invitation_link(mailbox)

    response = _invite(client, world, "INVITEE@example.org")
    assert "already had a pending invitation: it is sent again" in response.get_data(as_text=True)
    second_link = _invitation_link(mailbox)
    assert second_link != first_link
    # Still one invitation, not two.
    [invitation] = _invitations(world.organisation.id)
    assert invitation.is_pending
    assert _actions().count("member_reinvite") == 1

    invitee = make_user(email="invitee@example.org", name="Invitee")
    login(invitee)
    response = client.post(first_link)
    assert response.status_code == 400
    assert "use the link in that email" in response.get_data(as_text=True)
    assert client.post(second_link).status_code == 302
    assert invitee.id in _members(world.organisation.id)


def test_a_member_revokes_an_invitation_and_its_link_stops_working(
    client, as_member, mailbox, make_user, login
) -> None:
    world = as_member
    _invite(client, world)
    link = _invitation_link(mailbox)
    [invitation] = _invitations(world.organisation.id)

    response = client.post(_revoke_url(world, invitation), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The invitation to invitee@example.org is withdrawn." in page
    assert "No pending invitations." in page
    [invitation] = _invitations(world.organisation.id)
    assert invitation.revoked_at is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "member_invite_revoke"))
    assert entry.actor_id == world.member.id
    assert entry.details["email"] == "invitee@example.org"
    # Revoking twice is harmless.
    response = client.post(_revoke_url(world, invitation), follow_redirects=True)
    assert "was already withdrawn" in response.get_data(as_text=True)

    # Inviting again after a revocation makes a new invitation, with a link that works.
    _invite(client, world)
    new_link = _invitation_link(mailbox)
    assert len(_invitations(world.organisation.id)) == 2

    invitee = make_user(email="invitee@example.org")
    login(invitee)
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert "This invitation was withdrawn" in response.get_data(as_text=True)
    assert invitee.id not in _members(world.organisation.id)
    assert client.post(new_link).status_code == 302
    assert invitee.id in _members(world.organisation.id)


@pytest.mark.usefixtures("csrf_enabled")
def test_revoking_needs_the_csrf_token(client, as_member, mailbox) -> None:
    world = as_member
    page_url = f"/manage/organisations/{world.organisation.id}"
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', client.get(page_url).get_data(as_text=True)
    ).group(1)
    client.post(f"{page_url}/members", data={"email": "invitee@example.org", "csrf_token": token})
    [invitation] = _invitations(world.organisation.id)

    response = client.post(_revoke_url(world, invitation))
    assert response.status_code == 400
    assert _invitations(world.organisation.id)[0].revoked_at is None

    page = client.get(page_url).get_data(as_text=True)
    form = re.search(
        rf'<form[^>]*action="{re.escape(_revoke_url(world, invitation))}".*?</form>', page, re.S
    ).group(0)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post(_revoke_url(world, invitation), data={"csrf_token": form_token})
    assert response.status_code == 302
    assert _invitations(world.organisation.id)[0].revoked_at is not None


def test_only_members_of_the_organisation_may_revoke(client, world, login, mailbox) -> None:
    login(world.member)
    _invite(client, world)
    [invitation] = _invitations(world.organisation.id)
    url = _revoke_url(world, invitation)

    client.post("/logout")
    response = client.post(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    for outsider in (world.attendee, world.other_member):
        login(outsider)
        assert client.post(url).status_code == 403
    # A member of the other organisation, naming the invitation under their own: not found.
    login(world.other_member)
    other_url = (
        f"/manage/organisations/{world.other_organisation.id}/invitations/{invitation.id}/revoke"
    )
    assert client.post(other_url).status_code == 404
    login(world.member)
    missing = f"/manage/organisations/{world.organisation.id}/invitations/999999/revoke"
    assert client.post(missing).status_code == 404
    assert _invitations(world.organisation.id)[0].revoked_at is None
    # An admin may, as everywhere in the workspace.
    login(world.admin)
    assert client.post(url).status_code == 302
    assert _invitations(world.organisation.id)[0].revoked_at is not None


def test_an_attendee_who_organises_nothing_yet_accepts(
    client, world, login, mailbox, make_user
) -> None:
    login(world.member)
    _invite(client, world, "newcomer@example.org")
    link = _invitation_link(mailbox, "newcomer@example.org")
    # The address signs up (an attendee: a member of nothing yet) and opens the link.
    newcomer = make_user(email="newcomer@example.org", name="Newcomer")
    login(newcomer)
    assert client.get("/manage/").status_code == 403  # not an organiser yet
    page = client.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert world.organisation.name in text
    assert f"<bdi>{world.member.name}</bdi> invited you" in text
    assert page.headers["Referrer-Policy"] == "no-referrer"

    response = client.post(link)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/manage/organisations/{world.organisation.id}")
    assert newcomer.id in _members(world.organisation.id)
    [invitation] = _invitations(world.organisation.id)
    assert invitation.accepted_at is not None
    assert "member_join" in _actions()
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    assert "Welcome to" in page
    assert "No pending invitations." in page
    # Opening or posting the link again changes nothing and answers fine.
    assert client.post(link).status_code == 302
    assert client.get(link).status_code == 302
    assert _actions().count("member_join") == 1

    # Removed later, the used link does not let them back in.
    login(world.member)
    client.post(f"/manage/organisations/{world.organisation.id}/members/{newcomer.id}/remove")
    login(newcomer)
    response = client.post(link)
    assert response.status_code == 400
    assert "already used" in response.get_data(as_text=True)
    assert newcomer.id not in _members(world.organisation.id)


def test_an_anonymous_visitor_logs_in_and_comes_back_to_the_invitation(
    client, world, login, mailbox, make_user
) -> None:
    login(world.member)
    _invite(client, world, "newcomer@example.org")
    link = _invitation_link(mailbox, "newcomer@example.org")
    newcomer = make_user(email="newcomer@example.org")
    client.post("/logout")

    response = client.get(link)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    assert unquote(location.split("next=", 1)[1]) == link
    response = client.post(
        f"/login?next={quote(link)}", data={"email": newcomer.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == link
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert newcomer.id in _members(world.organisation.id)


def test_someone_without_an_account_signs_up_from_the_link_and_accepts(
    client, world, login, mailbox
) -> None:
    login(world.member)
    _invite(client, world, "fresh@example.org")
    link = _invitation_link(mailbox, "fresh@example.org")
    client.post("/logout")

    login_page = client.get(client.get(link).headers["Location"]).get_data(as_text=True)
    signup_url = re.search(r'href="(/signup\?next=[^"]+)"', login_page).group(1)
    response = client.post(
        signup_url.replace("&amp;", "&"),
        data={"name": "Fresh", "email": "fresh@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == link  # logged in by signing up
    assert client.post(link).status_code == 302
    fresh = db.session.scalar(select(User).where(User.email == "fresh@example.org"))
    assert fresh.id in _members(world.organisation.id)


def _expire(organisation_id: int) -> None:
    for invitation in _invitations(organisation_id):
        invitation.sent_at = utcnow() - timedelta(days=15)
    db.session.commit()


def test_an_expired_invitation_is_refused(client, as_member, mailbox, make_user, login) -> None:
    world = as_member
    _invite(client, world)
    link = _invitation_link(mailbox)
    _expire(world.organisation.id)
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    assert "Expired" in page[page.index('id="invitations"') :]

    invitee = make_user(email="invitee@example.org")
    login(invitee)
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert "This invitation has expired; ask the organisation for a new one." in (
            response.get_data(as_text=True)
        )
    assert invitee.id not in _members(world.organisation.id)
    # That the address now has an account changes nothing: it is invited again.
    login(world.member)
    assert "it is sent again" in _invite(client, world).get_data(as_text=True)
    assert invitee.id not in _members(world.organisation.id)
    login(invitee)
    assert client.post(_invitation_link(mailbox)).status_code == 302
    assert invitee.id in _members(world.organisation.id)


def test_an_expired_invitation_sent_again_works_anew(
    client, as_member, mailbox, make_user, login
) -> None:
    world = as_member
    _invite(client, world)
    _invitation_link(mailbox)
    _expire(world.organisation.id)
    response = _invite(client, world)
    assert "sent again" in response.get_data(as_text=True)
    link = _invitation_link(mailbox)
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    assert "Expired" not in page[page.index('id="invitations"') :]

    invitee = make_user(email="invitee@example.org")
    login(invitee)
    assert client.post(link).status_code == 302
    assert invitee.id in _members(world.organisation.id)


def test_another_account_cannot_use_the_link(client, world, login, mailbox, make_user) -> None:
    login(world.member)
    _invite(client, world)
    link = _invitation_link(mailbox)
    login(world.attendee)
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert "sent to another address" in response.get_data(as_text=True)
    assert world.attendee.id not in _members(world.organisation.id)
    assert _invitations(world.organisation.id)[0].is_pending
    # Nonsense in the address is refused the same way, never a 500.
    assert client.post("/manage/invitations/not-a-real-secret").status_code == 400
    assert client.get("/manage/invitations/" + "x" * 3000).status_code == 400


def test_an_accepted_invitation_cannot_be_withdrawn(
    client, as_member, mailbox, make_user, login
) -> None:
    world = as_member
    invitee = make_user(email="invitee@example.org")
    _invite(client, world)
    link = _invitation_link(mailbox)
    login(invitee)
    assert client.post(link).status_code == 302
    [invitation] = _invitations(world.organisation.id)
    assert invitation.accepted_at is not None
    login(world.member)
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    assert "No pending invitations." in page
    response = client.post(_revoke_url(world, invitation), follow_redirects=True)
    assert "has already accepted this invitation" in response.get_data(as_text=True)
    assert _invitations(world.organisation.id)[0].revoked_at is None
    assert invitee.id in _members(world.organisation.id)


def test_granting_membership_from_the_cli_settles_the_pending_invitation(
    client, as_member, mailbox, make_user, runner
) -> None:
    world = as_member
    _invite(client, world)
    mailbox()
    invitee = make_user(email="invitee@example.org")
    result = runner.invoke(
        args=["users", "grant", "invitee@example.org", "--organisation", world.organisation.slug]
    )
    assert result.exit_code == 0, result.output
    [invitation] = _invitations(world.organisation.id)
    assert invitation.accepted_at is not None
    assert invitee.id in _members(world.organisation.id)
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    assert "No pending invitations." in page


def test_an_admin_creating_an_organisation_without_a_first_member_becomes_it(
    client, world, login
) -> None:
    login(world.admin)
    response = client.post(
        "/manage/organisations/new", data={"name": "Lone Institute"}, follow_redirects=True
    )
    assert "You are its first member" in response.get_data(as_text=True)
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.name == "Lone Institute")
    )
    assert _members(organisation.id) == {world.admin.id}
    membership = db.session.get(Membership, (world.admin.id, organisation.id))
    assert membership.joined_via == JoinedVia.CREATION
    # Nobody is registered for anything of it: its only member may leave, and it stays in
    # the administrators' hands.
    response = client.post(
        f"/manage/organisations/{organisation.id}/members/{world.admin.id}/remove",
        follow_redirects=True,
    )
    assert "You have left Lone Institute." in response.get_data(as_text=True)
    assert _members(organisation.id) == set()
    assert client.get(f"/manage/organisations/{organisation.id}").status_code == 200


def test_an_admin_whose_first_member_is_only_invited_stays_a_member_too(
    client, world, login, mailbox
) -> None:
    login(world.admin)
    client.post(
        "/manage/organisations/new",
        data={"name": "Future Institute", "first_member": "founder@example.org"},
    )
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.name == "Future Institute")
    )
    assert _members(organisation.id) == {world.admin.id}
    [invitation] = _invitations(organisation.id)
    assert invitation.email == "founder@example.org"
    assert _invitation_link(mailbox, "founder@example.org")


def test_an_invitation_outlives_the_account_of_whoever_sent_it(
    client, world, login, mailbox
) -> None:
    login(world.second_member)
    _invite(client, world)
    _invitation_link(mailbox)
    response = client.post("/account/delete", data={"delete-password": PASSWORD})
    assert response.status_code == 302
    [invitation] = _invitations(world.organisation.id)
    assert invitation.invited_by_id is None
    login(world.member)
    page = client.get(f"/manage/organisations/{world.organisation.id}").get_data(as_text=True)
    section = page[page.index('id="invitations"') :]
    assert "invitee@example.org" in section
    assert "someone" in section
