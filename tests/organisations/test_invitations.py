"""Invitation rules, called as the workspace and the command line call them."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from eventsite.extensions import db
from eventsite.models import AuditEntry, Organisation, OrganisationInvitation
from eventsite.organisations import invitations, models
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _invitations(organisation_id: int) -> list[OrganisationInvitation]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OrganisationInvitation)
            .where(OrganisationInvitation.organisation_id == organisation_id)
            .order_by(OrganisationInvitation.id)
        )
    )


def _secret_in(message) -> str:
    return message.link("/manage/invitations/").rsplit("/", 1)[-1]


def test_inviting_again_sends_a_new_link_and_only_that_one_opens(
    app, make_organisation, make_user, mailbox
) -> None:
    organisation = make_organisation(name="Science Org")
    inviter = make_user(name="Ines Inviter")
    assert invitations.invite(organisation, " Guest@Example.org ", inviter, utcnow()) == "invited"
    db.session.commit()
    [first] = mailbox()
    assert first.rcpt_tos == ["guest@example.org"]
    assert "Science Org" in first.subject

    assert invitations.invite(organisation, "guest@example.org", inviter, utcnow()) == "reinvited"
    db.session.commit()
    [second] = mailbox()
    [invitation] = _invitations(organisation.id)
    assert invitations.find_invitation(_secret_in(first)) is None
    assert invitations.find_invitation(_secret_in(second)).id == invitation.id
    # Only the hash of the secret is kept.
    assert invitation.token_hash == models.hash_invitation_secret(_secret_in(second))
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["member_invite", "member_reinvite"]


def test_a_revoked_or_accepted_invitation_cannot_be_revoked_again(
    app, make_organisation, make_user, mailbox
) -> None:
    organisation = make_organisation()
    invitations.invite(organisation, "guest@example.org", None, utcnow())
    [invitation] = _invitations(organisation.id)
    assert invitations.revoke_invitation(invitation, None, utcnow()) is True
    assert invitations.revoke_invitation(invitation, None, utcnow()) is False
    db.session.commit()

    invitations.invite(organisation, "other@example.org", None, utcnow())
    accepted = _invitations(organisation.id)[-1]
    accepted.accepted_at = utcnow()
    db.session.commit()
    with pytest.raises(invitations.InvitationError, match="already accepted"):
        invitations.revoke_invitation(accepted, None, utcnow())


def test_the_link_is_for_the_invited_address_only(app, make_organisation, make_user) -> None:
    organisation = make_organisation()
    invitations.invite(organisation, "guest@example.org", None, utcnow())
    [invitation] = _invitations(organisation.id)
    someone_else = make_user(email="someone@example.org")
    with pytest.raises(invitations.InvitationError, match="another address"):
        invitations.check_invitation(invitation, someone_else, utcnow())
    with pytest.raises(invitations.InvitationError, match="not valid"):
        invitations.check_invitation(None, someone_else, utcnow())
    guest = make_user(email="guest@example.org")
    assert invitations.check_invitation(invitation, guest, utcnow()) is invitation


def test_the_database_keeps_one_pending_invitation_per_address(app, make_organisation) -> None:
    organisation = make_organisation()

    def row(token_hash: str) -> OrganisationInvitation:
        return OrganisationInvitation(
            organisation_id=organisation.id, email="x@example.org", token_hash=token_hash
        )

    first = row("a" * 64)
    db.session.add(first)
    db.session.commit()
    db.session.add(row("b" * 64))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Once the first is settled, the address can be invited again; and never both at once.
    first.revoked_at = utcnow()
    db.session.add(row("c" * 64))
    db.session.commit()
    first.accepted_at = utcnow()
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_two_invitations_of_one_address_at_once_leave_one_pending(
    app, backend, make_organisation
) -> None:
    """PostgreSQL: a second request inserting the same pending invitation waits on the
    unique index, fails when the first commits, and sends that one again instead."""
    if backend != "postgresql":
        pytest.skip("on SQLite the view takes the write lock before looking")
    organisation_id = make_organisation().id
    outcome: dict[str, Any] = {}

    def invite_in_another_request() -> None:
        with app.app_context():
            organisation = db.session.get(Organisation, organisation_id)
            try:
                outcome["value"] = invitations.invite(
                    organisation, "race@example.org", None, utcnow()
                )
                db.session.commit()
            except Exception as err:  # reported by the assertion below
                outcome["value"] = err

    with db.engine.connect() as first:
        transaction = first.begin()
        first.execute(
            insert(OrganisationInvitation).values(
                organisation_id=organisation_id,
                email="race@example.org",
                token_hash="f" * 64,
                created_at=utcnow(),
                sent_at=utcnow(),
            )
        )
        worker = threading.Thread(target=invite_in_another_request)
        worker.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        deadline = time.monotonic() + 10
        while not (blocked := db.session.scalar(waiting)) and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.02)
        db.session.rollback()
        transaction.commit()
    assert blocked, "the second insert never waited on the unique index"
    worker.join(timeout=10)

    assert outcome["value"] == "reinvited"
    [invitation] = _invitations(organisation_id)
    assert invitation.is_pending
    assert invitation.token_hash != "f" * 64  # sent again, with a new link
