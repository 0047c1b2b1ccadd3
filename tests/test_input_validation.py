"""Input that used to end in a 500: addresses made of RFC 2047 encoded words, files sent
in text fields. Each is now a 4xx with the form showing why, and nothing is written (the
rules behind it: tests/test_forms_common.py)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from eventsite.accounts import services as account_services
from eventsite.extensions import db
from eventsite.models import (
    AnnouncementSubscriber,
    EventShare,
    JoinedVia,
    Membership,
    OutboxMessage,
    User,
)
from eventsite.organisations.models import OrganisationInvitation

pytestmark = pytest.mark.usefixtures("smtp_sink")

PASSWORD = "correct horse battery staple"  # tests/conftest.py's, for every made user

ENCODED = "=?utf-8?q?x?=@example.org"
ENCODED_MESSAGE = "Email addresses containing “=?” cannot receive our messages"
FILE_MESSAGE = "Please type this in: a file cannot be sent here."
TABLES = (User, OutboxMessage, EventShare, AnnouncementSubscriber, Membership)


def counts() -> dict[str, int]:
    db.session.expire_all()
    tables = (*TABLES, OrganisationInvitation)
    return {t.__name__: db.session.scalar(select(func.count()).select_from(t)) for t in tables}


# --- RFC 2047 encoded words in an address ----------------------------------------------------


def _public_forms(event_slug: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "sign-up": (
            "/signup",
            {"name": "Ada", "email": ENCODED, "password": "lovelace engine 1843"},
        ),
        "notify me": ("/notify", {"email": ENCODED}),
        "share": (f"/events/{event_slug}/share", {"email": ENCODED, "name": "Ada"}),
        "forgotten password": ("/password/forgot", {"email": ENCODED}),
    }


@pytest.mark.parametrize("form", ["sign-up", "notify me", "share", "forgotten password"])
def test_public_forms_refuse_an_encoded_word_address(client, make_event, form) -> None:
    event = make_event()
    path, data = _public_forms(event.slug)[form]
    before = counts()
    response = client.post(path, data=data)
    assert response.status_code == 422
    assert ENCODED_MESSAGE in response.get_data(as_text=True)
    assert counts() == before


def test_changing_to_an_encoded_word_address_is_refused(client, make_user, login) -> None:
    user = make_user(email="me@example.org")
    login(user)
    before = counts()
    response = client.post(
        "/account/email",
        data={"email-new_email": ENCODED, "email-password": PASSWORD},
    )
    assert response.status_code == 422
    assert ENCODED_MESSAGE in response.get_data(as_text=True)
    assert counts() == before
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "me@example.org"


def test_organisers_cannot_add_or_invite_an_encoded_word_address(
    client, make_user, make_organisation, login
) -> None:
    organisation = make_organisation()
    member = make_user()
    admin = make_user(is_admin=True)
    db.session.add(
        Membership(user=member, organisation=organisation, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    login(member)
    before = counts()
    response = client.post(
        f"/manage/organisations/{organisation.id}/members", data={"email": ENCODED}
    )
    assert response.status_code == 422
    assert ENCODED_MESSAGE in response.get_data(as_text=True)
    assert counts() == before
    login(admin)
    response = client.post(
        "/manage/organisations/new", data={"name": "Planet", "first_member": ENCODED}
    )
    assert response.status_code == 422
    assert ENCODED_MESSAGE in response.get_data(as_text=True)
    assert counts() == before


def test_the_member_service_refuses_it_for_other_callers(app, make_user, make_organisation) -> None:
    from eventsite.organisations import services as organisations
    from eventsite.timeutil import utcnow

    organisation = make_organisation()
    before = counts()
    with pytest.raises(account_services.AccountError, match="cannot receive our messages"):
        organisations.add_member(organisation, ENCODED, None, utcnow())
    db.session.rollback()
    assert counts() == before


# --- a file sent in a text field ------------------------------------------------------------


def _file() -> tuple[io.BytesIO, str]:
    return io.BytesIO(b"not text"), "note.txt"


@pytest.mark.parametrize(
    ("path", "fields", "file_field"),
    [
        ("/password/forgot", {}, "email"),
        ("/notify", {}, "email"),
        ("/signup", {"name": "Ada", "password": "lovelace engine 1843"}, "email"),
        ("/signup", {"email": "ada@example.org", "password": "lovelace engine 1843"}, "name"),
        ("/login", {"password": "lovelace engine 1843"}, "email"),
        ("share", {"name": "Ada"}, "email"),
        ("share", {"email": "friend@example.org"}, "name"),
        ("share", {"email": "friend@example.org", "name": "Ada"}, "note"),
    ],
)
def test_a_file_in_a_text_field_is_refused_with_a_message(
    client, make_event, path, fields, file_field
) -> None:
    event = make_event()
    if path == "share":
        path = f"/events/{event.slug}/share"
    before = counts()
    response = client.post(
        path, data={**fields, file_field: _file()}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert FILE_MESSAGE in response.get_data(as_text=True)
    assert counts() == before


def test_a_file_and_a_text_value_under_one_name_is_refused_too(client, make_event) -> None:
    event = make_event()
    response = client.post(
        f"/events/{event.slug}/share",
        data={"email": ["friend@example.org", _file()], "name": "Ada"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert FILE_MESSAGE in response.get_data(as_text=True)
    assert counts()["EventShare"] == 0


def test_multipart_text_is_still_read_as_text(client, make_event) -> None:
    event = make_event()
    response = client.post(
        f"/events/{event.slug}/share",
        data={"email": "friend@example.org", "name": "Ada", "note": "See you"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert counts()["EventShare"] == 1
