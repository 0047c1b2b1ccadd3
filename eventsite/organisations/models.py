"""Organisations, their members and the invitations to join them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite import catalogue
from eventsite.accounts.models import User
from eventsite.extensions import db
from eventsite.images.models import Image
from eventsite.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from eventsite.events.models import Event


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str | None] = mapped_column(String(500))
    # Secret token of the organisation's private calendar feed (drafts included).
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Logo uploaded in the workspace (pages that list organisations load it eagerly).
    logo_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("images.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Events sit above organisations: named by string, resolved once every model is loaded.
    events: Mapped[list[Event]] = relationship("Event", back_populates="organisation")
    logo_image: Mapped[Image | None] = relationship()

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class JoinedVia(StrEnum):
    """How someone became a member of an organisation, which says whether they chose to."""

    CREATION = "creation"  # created it (an administrator, in the workspace)
    INVITATION = "invitation"  # accepted an invitation sent to their address
    ADMIN = "admin"  # granted by an operator at the command line, who is trusted
    # Put in by another member without being asked, before membership needed an
    # invitation; accepting an invitation turns it into INVITATION.
    ADDED = "added"


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(
            f"joined_via IN ({', '.join(repr(v.value) for v in JoinedVia)})",
            name="joined_via_known",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No default: whoever makes a membership says how (organisations.services.join).
    joined_via: Mapped[JoinedVia] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()

    @property
    def has_consented(self) -> bool:
        """They chose to be a member (or an operator decided it): nobody may leave them
        alone in charge of an organisation unless this is true."""
        return self.joined_via != JoinedVia.ADDED


# Neither accepted nor revoked (an expired invitation is still pending: inviting the same
# address again sends it anew instead of piling up rows).
_PENDING_SQL = "accepted_at IS NULL AND revoked_at IS NULL"


def new_invitation_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_invitation_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class OrganisationInvitation(db.Model):
    """One address invited to become a member of one organisation.

    The link in the email carries a random secret; only its SHA-256 is stored. A row,
    rather than the signed token used before, is what makes an invitation listable and
    revocable; storing only the hash means a copy of the database (a backup, a leak) holds
    no usable links, and invitations do not depend on SECRET_KEY staying the same. A
    256-bit random secret needs no slow hash: there is nothing to guess from the digest.
    """

    __tablename__ = "organisation_invitations"
    __table_args__ = (
        CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL", name="accepted_or_revoked_not_both"
        ),
        # At most one pending invitation per organisation and address: inviting again
        # re-sends that one.
        Index(
            "uq_organisation_invitations_organisation_id_email_pending",
            "organisation_id",
            "email",
            unique=True,
            sqlite_where=text(_PENDING_SQL),
            postgresql_where=text(_PENDING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # Stored lower-cased, like users.email.
    email: Mapped[str] = mapped_column(String(254))
    # Who sent the current link (the last one to invite the address); kept when they go.
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Hex SHA-256 of the secret in the link; replaced when the invitation is sent again.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the current link was sent: its validity counts from here.
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<OrganisationInvitation {self.id} {self.email} org={self.organisation_id}>"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    def expires_at(self, max_age: timedelta) -> datetime:
        return self.sent_at + max_age

    def is_expired(self, now: datetime, max_age: timedelta) -> bool:
        return now >= self.expires_at(max_age)


# What calendars and the cached pages show: the catalogue version moves with every change to
# an organisation's name, address, description or logo. Its feed token appears in no
# calendar.
catalogue.track(Organisation, unshown=("calendar_token",))
