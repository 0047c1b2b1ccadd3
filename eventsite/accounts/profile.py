"""The account page's rules: profile, password, email address, your data, deleting it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from eventsite.accounts import memberships, services, tokens
from eventsite.accounts.models import User
from eventsite.accounts.services import AccountError
from eventsite.events.models import Organisation
from eventsite.extensions import db
from eventsite.links import external_url
from eventsite.mail.services import queue_email
from eventsite.registration import answers as registration_answers
from eventsite.registration import services as registration_services
from eventsite.registration.models import Registration


def update_profile(user: User, *, name: str, affiliation: str, country: str | None) -> None:
    user.name = name.strip()
    user.affiliation = (affiliation or "").strip()
    user.country = country or None
    db.session.flush()


def _require_password(user: User, password: str, field: str) -> None:
    if not check_password_hash(user.password_hash, password or ""):
        raise AccountError(_("Your current password is not right."), field=field)


def change_password(user: User, *, current: str, new: str, now: datetime) -> None:
    _require_password(user, current, "current_password")
    services.check_password_strength(new, email=user.email, field="new_password")
    services.set_password(user, new, now)
    queue_email(
        user.email,
        _("Your password was changed"),
        "account_password_changed",
        category="account",
        name=user.name,
        reset_url=external_url("accounts.forgot_password"),
    )
    db.session.flush()


def request_email_change(user: User, *, new_email: str, password: str, now: datetime) -> str:
    """Email a confirmation link to the new address; nothing changes until it is followed."""
    _require_password(user, password, "password")
    address = services.normalise_email(new_email, field="new_email")
    if address == user.email:
        raise AccountError(_("This is already your email address."), field="new_email")
    if services.find_user_by_email(address) is not None:
        # Tell the owner of that address, not the person asking.
        queue_email(
            address,
            _(
                "Someone tried to use your address on %(site)s",
                site=current_app.config["SITE_NAME"],
            ),
            "account_email_in_use",
            category="account",
            reset_url=external_url("accounts.forgot_password"),
        )
        return address
    token = tokens.make_token(
        tokens.CHANGE_EMAIL, {"uid": user.id, "old": user.email, "new": address}, now
    )
    queue_email(
        address,
        _("Confirm your new email address"),
        "account_change_email",
        category="account",
        name=user.name,
        confirm_url=external_url("accounts.confirm_email_change", token=token),
        hours=current_app.config["EMAIL_CHANGE_MAX_AGE"] // 3600,
    )
    return address


def confirm_email_change(token: str, now: datetime) -> User:
    payload = tokens.read_token(
        tokens.CHANGE_EMAIL, token, now, current_app.config["EMAIL_CHANGE_MAX_AGE"]
    )
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("old"):
        raise tokens.TokenError(_("This link has already been used or is no longer valid."))
    new_address = str(payload.get("new", ""))
    taken = AccountError(_("Another account uses this email address now."))
    if services.find_user_by_email(new_address) is not None:
        raise taken
    try:
        with db.session.begin_nested():
            user.email = new_address
            user.email_verified_at = now
    except IntegrityError as err:
        raise taken from err
    return user


def export_user_data(user: User) -> dict[str, Any]:
    """Everything we hold about the person, for "download my data"."""
    data: dict[str, Any] = {
        "account": {
            "name": user.name,
            "email": user.email,
            "affiliation": user.affiliation,
            "country": user.country,
            "roles": user.roles,
            "email_verified_at": _iso(user.email_verified_at),
            "created_at": _iso(user.created_at),
            "password_changed_at": _iso(user.password_changed_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "organisations": [
            {"name": m.organisation.name, "slug": m.organisation.slug} for m in user.memberships
        ],
    }
    data["registrations"] = _registrations_of(user)
    return data


def _registrations_of(user: User) -> list[dict[str, Any]]:
    """Every registration, cancelled ones too, with the answers as the person gave them
    (question label as it read then, answer in words) and each moment that changed it."""
    rows = db.session.scalars(
        select(Registration)
        .options(joinedload(Registration.event))
        .where(Registration.user_id == user.id)
        .order_by(Registration.id)
    ).all()
    return [
        {
            "event": row.event.title,
            "event_slug": row.event.slug,
            "event_starts_at": _iso(row.event.starts_at),
            "status": str(row.status),
            "answers": [
                {"question": label, "answer": answer}
                for label, answer in registration_answers.answer_rows(row)
            ],
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
            "promoted_at": _iso(row.promoted_at),
            "decided_at": _iso(row.decided_at),
            "checked_in_at": _iso(row.checked_in_at),
            "cancelled_at": _iso(row.cancelled_at),
        }
        for row in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _organisation_names(organisation_ids: list[int]) -> tuple[int, str]:
    names = db.session.scalars(
        select(Organisation.name)
        .where(Organisation.id.in_(organisation_ids))
        .order_by(Organisation.name, Organisation.id)
    ).all()
    return len(names), ", ".join(names)


def delete_account(user: User, *, password: str, now: datetime) -> None:
    """Delete the account, cancelling its registrations (which promotes waiting lists).

    Refused where leaving an organisation is (`memberships`): when the person would leave
    behind only members who were added without being asked, or is the only member while
    people are registered for the organisation's coming events."""
    _require_password(user, password, "password")
    blocked = memberships.blocked_departures(user.id, now)
    needed = [
        i for i, why in blocked.items() if why == memberships.Blocked.REGISTRANTS_NEED_A_MEMBER
    ]
    if needed:
        count, names = _organisation_names(needed)
        raise AccountError(
            ngettext(
                "You are the only member of %(names)s, and people are registered for its "
                "coming events. Invite another member first (once they accept, you can go), "
                "or cancel those events; then delete your account.",
                "You are the only member of these organisations: %(names)s, and people are "
                "registered for their coming events. Invite another member to each first "
                "(once they accept, you can go), or cancel those events; then delete your "
                "account.",
                count,
                names=names,
            )
        )
    if blocked:
        count, names = _organisation_names(list(blocked))
        raise AccountError(
            ngettext(
                "The other members of %(names)s were added without being asked. Invite "
                "someone who accepts first, then delete your account.",
                "The other members of these organisations were added without being asked: "
                "%(names)s. Invite someone who accepts to each first, then delete your "
                "account.",
                count,
                names=names,
            )
        )
    registration_services.cancel_registrations_for_user(user, now)
    db.session.delete(user)
    db.session.flush()
