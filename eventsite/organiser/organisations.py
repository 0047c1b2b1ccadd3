"""Workspace rules for organisations: profile, logo, members, accepting an invitation
(the invitations themselves are in `invitations`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from eventsite import links
from eventsite.accounts import services as account_services
from eventsite.accounts.models import Membership, User
from eventsite.errors import DomainError
from eventsite.events.models import Organisation
from eventsite.extensions import db
from eventsite.mail.services import queue_email
from eventsite.organiser import audit, invitations

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
    pending = invitations.pending_invitation(organisation, user.email)
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
    Adding a member twice says so ("already"). An address no email can reach raises
    AccountError."""
    email = account_services.normalise_email(email)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        return invitations.invite(organisation, email, actor, now), None
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


# --- accepting an invitation ------------------------------------------------------------


def accept_invitation(token: str, user: User, now: datetime) -> Organisation:
    """Mark the invitation accepted and make `user` a member, in the caller's transaction."""
    invitation = invitations.check_invitation(
        invitations.find_invitation(token, lock=True), user, now
    )
    organisation = invitation.organisation
    if invitation.accepted_at is None:
        if db.session.get(Membership, (user.id, organisation.id)) is None:
            join(organisation, user, user, now, "member_join")  # settles the invitation
        invitation.accepted_at = now
        db.session.flush()
    return organisation
