"""Rules for organisations: profile, logo, members, accepting an invitation (the
invitations themselves are in `invitations`; who may leave, in `memberships`).

Every change is announced with `signals.organisation_changed` (the workspace's audit log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slugify import slugify
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from eventsite import input_rules, links, signals
from eventsite.accounts import services as account_services
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.images import services as image_services
from eventsite.mail.services import queue_email
from eventsite.organisations import invitations, memberships
from eventsite.organisations.models import JoinedVia, Membership, Organisation
from eventsite.timeutil import utcnow

PROFILE_FIELDS = ("name", "description", "website")


class OrganisationError(DomainError):
    """A rule about organisations refused the change."""


def _changed(
    organisation: Organisation, action: str, actor: User | None, now: datetime, **details: Any
) -> None:
    signals.organisation_changed.send(
        organisation, action=action, actor=actor, now=now, details=details
    )


# --- profile and logo --------------------------------------------------------------------


def update_profile(
    organisation: Organisation, values: dict[str, Any], actor: User | None, now: datetime
) -> list[str]:
    input_rules.clean_text_fields(values, ("name",), ("description",))
    changed = {
        name: (getattr(organisation, name), values[name])
        for name in PROFILE_FIELDS
        if name in values and getattr(organisation, name) != values[name]
    }
    for name, (_old, new) in changed.items():
        setattr(organisation, name, new)
    if changed:
        db.session.flush()
        _changed(
            organisation,
            "organisation_edit",
            actor,
            now,
            changes={name: {"old": old, "new": new} for name, (old, new) in changed.items()},
        )
    return list(changed)


def set_logo(
    organisation: Organisation, data: bytes, alt: str, actor: User | None, now: datetime
) -> None:
    """A new logo (checked, cleaned and resized by images.services); the old one's files go
    once nothing uses them. `alt` empty: the organisation's name."""
    image = image_services.create_image(
        data, alt or organisation.name, now, field="logo", alt_field="logo_alt"
    )
    old = organisation.logo_image
    organisation.logo_image = image
    db.session.flush()
    image_services.discard_image(old)
    _changed(organisation, "logo_upload", actor, now, width=image.width, height=image.height)


def set_logo_alt(organisation: Organisation, alt: str, actor: User | None, now: datetime) -> None:
    image = organisation.logo_image
    if image is None or image.alt == " ".join(alt.split()):
        return
    image_services.set_alt(image, alt or organisation.name, field="logo_alt")
    _changed(organisation, "logo_alt", actor, now, alt=image.alt)


def remove_logo(organisation: Organisation, actor: User | None, now: datetime) -> None:
    old = organisation.logo_image
    if old is None:
        return
    organisation.logo_image = None
    db.session.flush()
    image_services.discard_image(old)
    _changed(organisation, "logo_remove", actor, now)


def create_organisation(values: dict[str, Any], actor: User | None, now: datetime) -> Organisation:
    input_rules.clean_text_fields(values, ("name",), ("description",))
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
    _changed(organisation, "organisation_create", actor, now, slug=slug)
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


def join(
    organisation: Organisation,
    user: User,
    actor: User | None,
    now: datetime,
    action: str,
    via: JoinedVia,
) -> None:
    """`user` becomes a member; any pending invitation of their address is settled with it
    (they are in: the link in that email has nothing left to grant)."""
    db.session.add(
        Membership(user_id=user.id, organisation_id=organisation.id, created_at=now, joined_via=via)
    )
    pending = invitations.pending_invitation(organisation, user.email)
    if pending is not None:
        pending.accepted_at = now
    db.session.flush()
    db.session.expire(user, ["memberships"])
    _changed(organisation, action, actor, now, email=user.email, user_id=user.id)


def _membership_of_address(organisation: Organisation, email: str) -> Membership | None:
    return db.session.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == organisation.id, func.lower(User.email) == email)
    )


def add_member(organisation: Organisation, email: str, actor: User | None, now: datetime) -> str:
    """The workspace's "add member": always an invitation the person must accept, whether
    or not the address has an account, so that nobody becomes a member without choosing
    to and the answer tells nobody who has an account. "invited", or "reinvited" when one
    was pending (it is sent again); "already" for a member (the page lists them anyway).
    A member who was added without being asked is invited too: accepting confirms it.
    An address no email can reach raises AccountError."""
    email = account_services.normalise_email(email)
    membership = _membership_of_address(organisation, email)
    if membership is not None and membership.has_consented:
        return "already"
    return invitations.invite(organisation, email, actor, now)


def admit_or_invite(organisation: Organisation, email: str, now: datetime) -> str:
    """For the command line, whose operator is trusted to decide: an existing account
    becomes a member at once and is told by email ("added"); any other address is invited
    ("invited", "reinvited"). "already" for a member."""
    email = account_services.normalise_email(email)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        return invitations.invite(organisation, email, None, now)
    if db.session.get(Membership, (user.id, organisation.id)) is not None:
        return "already"
    join(organisation, user, None, now, "member_add", JoinedVia.ADMIN)
    queue_email(
        user.email,
        _l("You can now organise events with %(name)s", name=organisation.name),
        "organiser_member_added",
        language=user.language,
        category="organiser_member_added",
        organisation=organisation,
        user=user,
        inviter=None,
        workspace_url=links.external_url("organiser.index"),
    )
    return "added"


def join_as_creator(organisation: Organisation, user: User, now: datetime) -> None:
    """Whoever creates an organisation in the workspace is its first member (they chose
    it): it starts with a member who can invite the others."""
    join(organisation, user, user, now, "member_add", JoinedVia.CREATION)


def remove_member(
    organisation: Organisation, user_id: int, actor: User | None, now: datetime
) -> User:
    """Take a member out, or let them leave (`actor` is the member), unless that would
    leave the organisation to people who never chose it, or leave people registered for
    its coming events with nobody to look after them (`memberships`)."""
    blocked = memberships.blocked_departures(user_id, now, [organisation.id])
    membership = db.session.get(Membership, (user_id, organisation.id))
    if membership is None:
        raise OrganisationError(_("This person is not a member of the organisation."))
    why = blocked.get(organisation.id)
    if why == memberships.Blocked.ONLY_UNCONSENTED_LEFT:
        raise OrganisationError(
            _(
                "The other members were added without being asked: the organisation "
                "cannot be left to them alone. Invite someone who accepts first."
            )
        )
    if why == memberships.Blocked.REGISTRANTS_NEED_A_MEMBER:
        raise OrganisationError(
            _(
                "An organisation keeps at least one member while people are registered for "
                "its coming events: invite another member first (or cancel those events)."
            )
        )
    user = membership.user
    db.session.delete(membership)
    db.session.flush()
    db.session.expire(user, ["memberships"])
    _changed(organisation, "member_remove", actor, now, email=user.email, user_id=user.id)
    return user


# --- accepting an invitation ------------------------------------------------------------


def accept_invitation(token: str, user: User, now: datetime) -> Organisation:
    """Mark the invitation accepted and make `user` a member, in the caller's transaction."""
    invitation = invitations.check_invitation(
        invitations.find_invitation(token, lock=True), user, now
    )
    organisation = invitation.organisation
    if invitation.accepted_at is None:
        membership = db.session.get(Membership, (user.id, organisation.id))
        if membership is None:
            # Settles the invitation.
            join(organisation, user, user, now, "member_join", JoinedVia.INVITATION)
        elif not membership.has_consented:
            # Added without being asked before invitations were required: now they chose.
            membership.joined_via = JoinedVia.INVITATION
            _changed(organisation, "member_join", user, now, email=user.email, user_id=user.id)
        invitation.accepted_at = now
        db.session.flush()
    return organisation


# --- the command line ----------------------------------------------------------------------


def grant_membership(email: str, organisation_slug: str) -> Membership:
    """`flask users grant`, now: the account becomes a member at once (audited, and a
    pending invitation is settled). The operator is trusted to decide: no invitation to
    accept."""
    user = account_services.find_user_by_email(email)
    if user is None:
        raise OrganisationError(_("No account has the address %(email)s.", email=email))
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.slug == organisation_slug)
    )
    if organisation is None:
        raise OrganisationError(_("No organisation has the slug %(slug)s.", slug=organisation_slug))
    membership = db.session.get(Membership, (user.id, organisation.id))
    if membership is None:
        join(organisation, user, None, utcnow(), "member_add", JoinedVia.ADMIN)
        membership = db.session.get(Membership, (user.id, organisation.id))
    return membership
