"""Invitations to organisations: invite, send again, revoke, check.

Accepting one makes a member, so it lives with the members in `services`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from eventsite import i18n, links, signals
from eventsite.accounts import services as account_services
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.mail.services import queue_email
from eventsite.organisations import models
from eventsite.organisations.models import Organisation, OrganisationInvitation


class InvitationError(DomainError):
    """A rule about invitations refused the change or the link."""


def invitation_max_age() -> timedelta:
    return timedelta(seconds=current_app.config["ORGANISER_INVITATION_MAX_AGE"])


def pending_invitations(organisation: Organisation) -> Select[tuple[OrganisationInvitation]]:
    """Neither accepted nor revoked, newest first; expired ones too (they can be re-sent)."""
    return (
        select(OrganisationInvitation)
        .where(
            OrganisationInvitation.organisation_id == organisation.id,
            OrganisationInvitation.accepted_at.is_(None),
            OrganisationInvitation.revoked_at.is_(None),
        )
        .options(selectinload(OrganisationInvitation.invited_by))
        .order_by(OrganisationInvitation.sent_at.desc(), OrganisationInvitation.id.desc())
    )


def pending_invitation(organisation: Organisation, email: str) -> OrganisationInvitation | None:
    return db.session.scalar(
        select(OrganisationInvitation)
        .where(
            OrganisationInvitation.organisation_id == organisation.id,
            OrganisationInvitation.email == email.lower(),
            OrganisationInvitation.accepted_at.is_(None),
            OrganisationInvitation.revoked_at.is_(None),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _new_link(invitation: OrganisationInvitation, actor: User | None, now: datetime) -> str:
    """A fresh secret for the invitation (returned; only its hash is kept). Sending again
    replaces it, so only the newest email's link works (with only a hash stored, the old
    link could not be sent again anyway) and the validity starts over."""
    secret = models.new_invitation_secret()
    invitation.token_hash = models.hash_invitation_secret(secret)
    invitation.sent_at = now
    invitation.invited_by_id = actor.id if actor is not None else None
    return secret


def _invitee_language(address: str, actor: User | None) -> str:
    """The invitee's account's language; without an account, the inviter's."""
    account = account_services.find_user_by_email(address)
    if account is not None:
        return account.language
    return actor.language if actor is not None else i18n.current_code()


def _email(
    invitation: OrganisationInvitation, organisation: Organisation, secret: str, actor: User | None
) -> None:
    queue_email(
        invitation.email,
        _l("You are invited to organise events with %(name)s", name=organisation.name),
        "organiser_invitation",
        language=_invitee_language(invitation.email, actor),
        category="organiser_invitation",
        organisation=organisation,
        inviter=actor,
        accept_url=links.external_url("organiser.accept_invitation", token=secret),
        max_age_days=invitation_max_age().days,
    )


def invite(organisation: Organisation, email: str, actor: User | None, now: datetime) -> str:
    """Invite an address with no account: "invited", or "reinvited" when an invitation
    was pending (expired or not): that one is sent again, with a new link."""
    email = account_services.normalise_email(email)
    invitation = pending_invitation(organisation, email)
    if invitation is None:
        invitation = OrganisationInvitation(
            organisation_id=organisation.id, email=email, created_at=now
        )
        secret = _new_link(invitation, actor, now)
        try:
            with db.session.begin_nested():
                db.session.add(invitation)
        except IntegrityError:
            # Another request invited the address at the same moment (the partial unique
            # index): send theirs again rather than keep a second pending invitation.
            invitation = pending_invitation(organisation, email)
            if invitation is None:
                raise
        else:
            _email(invitation, organisation, secret, actor)
            signals.organisation_changed.send(
                organisation, action="member_invite", actor=actor, now=now, details={"email": email}
            )
            return "invited"
    secret = _new_link(invitation, actor, now)
    db.session.flush()
    _email(invitation, organisation, secret, actor)
    signals.organisation_changed.send(
        organisation, action="member_reinvite", actor=actor, now=now, details={"email": email}
    )
    return "reinvited"


def revoke_invitation(
    invitation: OrganisationInvitation, actor: User | None, now: datetime
) -> bool:
    """Withdraw a pending invitation: its link stops working. False if it already was."""
    invitation = db.session.scalars(
        select(OrganisationInvitation)
        .where(OrganisationInvitation.id == invitation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if invitation.accepted_at is not None:
        raise InvitationError(
            _("%(email)s has already accepted this invitation.", email=invitation.email)
        )
    if invitation.revoked_at is not None:
        return False
    invitation.revoked_at = now
    db.session.flush()
    signals.organisation_changed.send(
        invitation.organisation,
        action="member_invite_revoke",
        actor=actor,
        now=now,
        details={"email": invitation.email},
    )
    return True


def find_invitation(token: str, *, lock: bool = False) -> OrganisationInvitation | None:
    """The invitation whose link carries `token` (locked when a decision follows)."""
    query = select(OrganisationInvitation).where(
        OrganisationInvitation.token_hash == models.hash_invitation_secret(token)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def check_invitation(
    invitation: OrganisationInvitation | None, user: User, now: datetime
) -> OrganisationInvitation:
    """The invitation, if `user` may accept it (or already has); else why not."""
    if invitation is None:
        raise InvitationError(
            _(
                "This invitation link is not valid. If you received a newer invitation, "
                "use the link in that email."
            )
        )
    if invitation.revoked_at is not None:
        raise InvitationError(
            _("This invitation was withdrawn; ask the organisation if you still need access.")
        )
    if user.email.lower() != invitation.email:
        raise InvitationError(
            _(
                "This invitation was sent to another address; log in with the account "
                "of %(email)s.",
                email=invitation.email,
            )
        )
    if invitation.accepted_at is not None:
        if user.is_member_of(invitation.organisation_id):
            return invitation  # accepted already: opening the link again is harmless
        raise InvitationError(
            _("This invitation was already used; ask the organisation for a new one.")
        )
    if invitation.is_expired(now, invitation_max_age()):
        raise InvitationError(_("This invitation has expired; ask the organisation for a new one."))
    return invitation
