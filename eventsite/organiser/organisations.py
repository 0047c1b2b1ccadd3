"""Workspace rules for organisations: profile, logo, members and invitations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from eventsite import links
from eventsite.accounts.models import Membership, User
from eventsite.errors import DomainError
from eventsite.events.models import Organisation
from eventsite.extensions import db
from eventsite.mail.services import queue_email
from eventsite.organiser import audit, invitation_models
from eventsite.organiser.invitation_models import OrganisationInvitation

PROFILE_FIELDS = ("name", "description", "website")


class OrganisationError(DomainError):
    """A rule about organisations refused the change."""


# --- profile and logo --------------------------------------------------------------------


def sniff_image(data: bytes) -> str | None:
    """The image type by its first bytes (never by the file name), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def update_profile(
    organisation: Organisation, values: dict[str, Any], actor: User | None, now: datetime
) -> list[str]:
    changed = {
        name: (getattr(organisation, name), values[name])
        for name in PROFILE_FIELDS
        if name in values and getattr(organisation, name) != values[name]
    }
    for name, (_old, new) in changed.items():
        setattr(organisation, name, new)
    if changed:
        db.session.flush()
        audit.record(
            "organisation_edit",
            organisation_id=organisation.id,
            actor=actor,
            now=now,
            changes=audit.changes_detail(changed),
        )
    return list(changed)


def set_logo(organisation: Organisation, data: bytes, actor: User | None, now: datetime) -> None:
    limit = current_app.config["ORGANISER_LOGO_MAX_BYTES"]
    if len(data) > limit:
        raise OrganisationError(
            _("The logo may be at most %(kb)d kB.", kb=limit // 1000), field="logo"
        )
    content_type = sniff_image(data)
    if content_type is None:
        raise OrganisationError(_("The logo must be a PNG, JPEG or WebP image."), field="logo")
    organisation.logo_data = data
    organisation.logo_content_type = content_type
    organisation.logo_updated_at = now
    db.session.flush()
    audit.record(
        "logo_upload",
        organisation_id=organisation.id,
        actor=actor,
        now=now,
        content_type=content_type,
        size=len(data),
    )


def remove_logo(organisation: Organisation, actor: User | None, now: datetime) -> None:
    if organisation.logo_content_type is None:
        return
    organisation.logo_data = None
    organisation.logo_content_type = None
    organisation.logo_updated_at = now
    db.session.flush()
    audit.record("logo_remove", organisation_id=organisation.id, actor=actor, now=now)


def create_organisation(values: dict[str, Any], actor: User | None, now: datetime) -> Organisation:
    requested = (values.get("slug") or "").strip()
    slug = slugify(requested or values["name"], max_length=120)
    if not slug:
        raise OrganisationError(_("Use letters or digits in the address."), field="slug")
    taken = db.session.scalar(select(Organisation.id).where(Organisation.slug == slug))
    if taken is not None:
        if requested:
            raise OrganisationError(
                _("Another organisation already uses this address."), field="slug"
            )
        base, n = slug[:114], 2
        while db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
            slug = f"{base}-{n}"
            n += 1
    organisation = Organisation(
        name=values["name"].strip(),
        slug=slug,
        description=values.get("description") or "",
        website=values.get("website") or None,
        created_at=now,
    )
    db.session.add(organisation)
    db.session.flush()
    audit.record(
        "organisation_create", organisation_id=organisation.id, actor=actor, now=now, slug=slug
    )
    return organisation


# --- members ------------------------------------------------------------------------------


def members_of(organisation: Organisation) -> Select[tuple[Membership]]:
    return (
        select(Membership)
        .where(Membership.organisation_id == organisation.id)
        .options(selectinload(Membership.user))
        .join(User, User.id == Membership.user_id)
        .order_by(User.name, User.id)
    )


def member_count(organisation_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organisation_id == organisation_id)
        )
        or 0
    )


def join(
    organisation: Organisation, user: User, actor: User | None, now: datetime, action: str
) -> None:
    """`user` becomes a member; any pending invitation of their address is settled with it
    (they are in: the link in that email has nothing left to grant)."""
    db.session.add(Membership(user_id=user.id, organisation_id=organisation.id, created_at=now))
    pending = _pending_invitation(organisation, user.email)
    if pending is not None:
        pending.accepted_at = now
    db.session.flush()
    db.session.expire(user, ["memberships"])
    audit.record(
        action,
        organisation_id=organisation.id,
        actor=actor,
        now=now,
        email=user.email,
        user_id=user.id,
    )


def add_member(
    organisation: Organisation, email: str, actor: User | None, now: datetime
) -> tuple[str, User | None]:
    """An existing account becomes a member at once ("added"); anyone else gets an
    invitation email ("invited", or "reinvited" when one was pending: it is sent again).
    Adding a member twice says so ("already")."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        return invite(organisation, email, actor, now), None
    if db.session.get(Membership, (user.id, organisation.id)) is not None:
        return "already", user
    join(organisation, user, actor, now, "member_add")
    queue_email(
        user.email,
        _("You can now organise events with %(name)s", name=organisation.name),
        "organiser_member_added",
        category="organiser_member_added",
        organisation=organisation,
        user=user,
        inviter=actor,
        workspace_url=links.external_url("organiser.index"),
    )
    return "added", user


def ensure_a_member(organisation: Organisation, user: User, now: datetime) -> bool:
    """An organisation always keeps at least one member: when it has none (created without
    a first member, or the first one only invited), `user` becomes it. True if so."""
    if member_count(organisation.id) > 0:
        return False
    join(organisation, user, user, now, "member_add")
    return True


def remove_member(
    organisation: Organisation, user_id: int, actor: User | None, now: datetime
) -> User:
    membership = db.session.scalar(
        select(Membership)
        .where(Membership.organisation_id == organisation.id, Membership.user_id == user_id)
        .with_for_update()
    )
    if membership is None:
        raise OrganisationError(_("This person is not a member of the organisation."))
    # Lock the organisation's memberships so two removals cannot both leave it empty.
    remaining = db.session.scalars(
        select(Membership.user_id)
        .where(Membership.organisation_id == organisation.id)
        .with_for_update()
    ).all()
    if len(remaining) <= 1:
        raise OrganisationError(
            _("An organisation always keeps at least one member; add another member first.")
        )
    user = membership.user
    db.session.delete(membership)
    db.session.flush()
    db.session.expire(user, ["memberships"])
    audit.record(
        "member_remove",
        organisation_id=organisation.id,
        actor=actor,
        now=now,
        email=user.email,
        user_id=user.id,
    )
    return user


# --- invitations --------------------------------------------------------------------------


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


def _pending_invitation(organisation: Organisation, email: str) -> OrganisationInvitation | None:
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
    secret = invitation_models.new_invitation_secret()
    invitation.token_hash = invitation_models.hash_invitation_secret(secret)
    invitation.sent_at = now
    invitation.invited_by_id = actor.id if actor is not None else None
    return secret


def _email(
    invitation: OrganisationInvitation, organisation: Organisation, secret: str, actor: User | None
) -> None:
    queue_email(
        invitation.email,
        _("You are invited to organise events with %(name)s", name=organisation.name),
        "organiser_invitation",
        category="organiser_invitation",
        organisation=organisation,
        inviter=actor,
        accept_url=links.external_url("organiser.accept_invitation", token=secret),
        max_age_days=invitation_max_age().days,
    )


def invite(organisation: Organisation, email: str, actor: User | None, now: datetime) -> str:
    """Invite an address with no account: "invited", or "reinvited" when an invitation
    was pending (expired or not): that one is sent again, with a new link."""
    email = email.strip().lower()
    invitation = _pending_invitation(organisation, email)
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
            invitation = _pending_invitation(organisation, email)
            if invitation is None:
                raise
        else:
            _email(invitation, organisation, secret, actor)
            audit.record(
                "member_invite", organisation_id=organisation.id, actor=actor, now=now, email=email
            )
            return "invited"
    secret = _new_link(invitation, actor, now)
    db.session.flush()
    _email(invitation, organisation, secret, actor)
    audit.record(
        "member_reinvite", organisation_id=organisation.id, actor=actor, now=now, email=email
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
        raise OrganisationError(
            _("%(email)s has already accepted this invitation.", email=invitation.email)
        )
    if invitation.revoked_at is not None:
        return False
    invitation.revoked_at = now
    db.session.flush()
    audit.record(
        "member_invite_revoke",
        organisation_id=invitation.organisation_id,
        actor=actor,
        now=now,
        email=invitation.email,
    )
    return True


def find_invitation(token: str, *, lock: bool = False) -> OrganisationInvitation | None:
    """The invitation whose link carries `token` (locked when a decision follows)."""
    query = select(OrganisationInvitation).where(
        OrganisationInvitation.token_hash == invitation_models.hash_invitation_secret(token)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def check_invitation(
    invitation: OrganisationInvitation | None, user: User, now: datetime
) -> OrganisationInvitation:
    """The invitation, if `user` may accept it (or already has); else why not."""
    if invitation is None:
        raise OrganisationError(
            _(
                "This invitation link is not valid. If you received a newer invitation, "
                "use the link in that email."
            )
        )
    if invitation.revoked_at is not None:
        raise OrganisationError(
            _("This invitation was withdrawn; ask the organisation if you still need access.")
        )
    if user.email.lower() != invitation.email:
        raise OrganisationError(
            _(
                "This invitation was sent to another address; log in with the account "
                "of %(email)s.",
                email=invitation.email,
            )
        )
    if invitation.accepted_at is not None:
        if user.is_member_of(invitation.organisation_id):
            return invitation  # accepted already: opening the link again is harmless
        raise OrganisationError(
            _("This invitation was already used; ask the organisation for a new one.")
        )
    if invitation.is_expired(now, invitation_max_age()):
        raise OrganisationError(
            _("This invitation has expired; ask the organisation for a new one.")
        )
    return invitation


def accept_invitation(token: str, user: User, now: datetime) -> Organisation:
    """Mark the invitation accepted and make `user` a member, in the caller's transaction."""
    invitation = check_invitation(find_invitation(token, lock=True), user, now)
    organisation = invitation.organisation
    if invitation.accepted_at is None:
        if db.session.get(Membership, (user.id, organisation.id)) is None:
            join(organisation, user, user, now, "member_join")  # settles the invitation
        invitation.accepted_at = now
        db.session.flush()
    return organisation
