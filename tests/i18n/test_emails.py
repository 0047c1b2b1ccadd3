"""Every email in its recipient's language, whoever sends it: read back at a real SMTP
server (the `smtp_sink` fixture)."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from eventsite.accounts.models import User
from eventsite.announcements.models import AnnouncementSubscriber
from eventsite.events import services as events_services
from eventsite.extensions import db
from eventsite.feeds import tokens as feed_tokens
from eventsite.mail.sender import deliver_due
from eventsite.models import JoinedVia, Membership
from eventsite.registration import alerts
from eventsite.registration.models import OpeningAlert, RegistrationStatus
from eventsite.timeutil import utcnow

from ..conftest import PASSWORD

MARCH_THIRD = datetime(2027, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Paris


def _messages(handler) -> dict[str, email.message.EmailMessage]:
    parsed = [
        email.message_from_bytes(m.content, policy=email.policy.default) for m in handler.messages
    ]
    return {str(m["To"]): m for m in parsed}


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _calendar(message) -> str:
    """The text/calendar alternative (the CANCEL), unfolded."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_content().replace("\r\n ", "").replace("\n ", "")
    raise AssertionError("no calendar part")


def _html_tag(message) -> str:
    return re.search(r"<html [^>]*>", _html(message)).group(0)


def test_an_english_organiser_cancelling_writes_to_each_registrant_in_their_language(
    client, smtp_sink, make_organisation, make_event, make_user, make_registration
) -> None:
    _controller, handler = smtp_sink
    organisation = make_organisation()
    organiser = make_user(email="org@example.org", language="en")
    db.session.add(
        Membership(user=organiser, organisation=organisation, joined_via=JoinedVia.INVITATION)
    )
    event = make_event(
        organisation=organisation,
        title="Ocean Forum",
        starts_at=MARCH_THIRD,
        ends_at=MARCH_THIRD + timedelta(hours=8),
        timezone="Europe/Paris",
    )
    people = {
        "fr": make_user(email="claire@example.org", language="fr"),
        "ar": make_user(email="amal@example.org", language="ar"),
        "en": make_user(email="ann@example.org", language="en"),
    }
    for person in people.values():
        make_registration(person, event, RegistrationStatus.CONFIRMED)
    db.session.commit()

    client.post("/login", data={"email": "org@example.org", "password": PASSWORD})
    response = client.post(
        f"/manage/events/{event.id}/cancel",
        data={"reason": "The venue flooded."},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 302
    deliver_due()

    messages = _messages(handler)
    assert set(messages) == {p.email for p in people.values()}
    french, arabic, english = (messages[people[c].email] for c in ("fr", "ar", "en"))
    assert _html_tag(french) == '<html lang="fr" dir="ltr">'
    assert _html_tag(arabic) == '<html lang="ar" dir="rtl">'
    assert _html_tag(english) == '<html lang="en" dir="ltr">'
    # The dates as Babel writes them for each reader (CLDR, no catalogue needed).
    assert "3 mars 2027" in _text(french) and "09:00" in _text(french)
    assert "03\u200f/03\u200f/2027" in _text(arabic)
    assert "3 Mar 2027" in _text(english)
    # The site's words from each language's catalogue: the subject, and the calendar's.
    assert str(french["Subject"]) == "Annulé : Ocean Forum"
    assert str(arabic["Subject"]) == "تم الإلغاء: Ocean Forum"
    assert str(english["Subject"]) == "Cancelled: Ocean Forum"
    assert "DESCRIPTION:Cet événement est annulé. The venue flooded." in _calendar(french)
    assert "DESCRIPTION:هذه الفعالية ملغاة. The venue flooded." in _calendar(arabic)
    assert "DESCRIPTION:This event is cancelled. The venue flooded." in _calendar(english)
    for message in (french, arabic, english):
        assert "The venue flooded." in _text(message)  # the organiser's own words, as typed
        assert message.get_content_type() == "multipart/mixed"


def test_registration_emails_follow_the_account_not_the_page(
    client, smtp_sink, make_event, make_user, login
) -> None:
    _controller, handler = smtp_sink
    event = make_event(title="Ocean Forum", starts_at=MARCH_THIRD, timezone="Europe/Paris")
    user = make_user(email="ivan@example.org", language="ru")
    login(user)
    # The account is Russian: pages and emails follow it, whatever the browser says.
    response = client.post(
        f"/events/{event.slug}/register", data={}, headers={"Accept-Language": "fr"}
    )
    assert response.status_code in (302, 303)
    deliver_due()
    message = _messages(handler)["ivan@example.org"]
    assert _html_tag(message) == '<html lang="ru" dir="ltr">'
    assert str(message["Subject"]) == "Вы зарегистрированы: Ocean Forum"
    assert "3 мар. 2027" in _text(message)


def test_a_visitor_asking_for_a_registration_alert_hears_in_the_pages_language(
    client, smtp_sink, make_event
) -> None:
    _controller, handler = smtp_sink
    now = utcnow()
    event = make_event(
        title="Ocean Forum",
        starts_at=now + timedelta(days=60),
        registration_opens_at=now + timedelta(days=2),
    )
    response = client.post(
        f"/events/{event.slug}/alert?lang=zh-CN", data={"email": "li@example.org"}
    )
    assert response.status_code == 302
    alert = db.session.scalar(select(OpeningAlert).where(OpeningAlert.email == "li@example.org"))
    assert alert.language == "zh_Hans"
    deliver_due()
    assert _html_tag(_messages(handler)["li@example.org"]) == '<html lang="zh-Hans" dir="ltr">'

    # When registration opens, the job (no request, no page language) writes in Chinese.
    handler.messages.clear()
    alert.confirmed_at = now
    db.session.commit()
    assert alerts.send_opening_alerts(event.registration_opens_at + timedelta(minutes=1)) == 1
    deliver_due()
    message = _messages(handler)["li@example.org"]
    assert _html_tag(message) == '<html lang="zh-Hans" dir="ltr">'


def test_a_notify_me_subscription_keeps_the_language_it_was_made_in(client, smtp_sink) -> None:
    _controller, handler = smtp_sink
    response = client.post(
        "/notify", data={"email": "fan@example.org"}, headers={"Accept-Language": "es-MX"}
    )
    assert response.status_code == 302
    subscriber = db.session.scalar(
        select(AnnouncementSubscriber).where(AnnouncementSubscriber.email == "fan@example.org")
    )
    assert subscriber.language == "es"
    deliver_due()
    assert _html_tag(_messages(handler)["fan@example.org"]) == '<html lang="es" dir="ltr">'


def test_account_emails_use_the_accounts_language_or_the_pages_for_an_unknown_address(
    client, smtp_sink, make_user
) -> None:
    _controller, handler = smtp_sink
    make_user(email="amal@example.org", language="ar")
    for address in ("amal@example.org", "nobody@example.org"):
        response = client.post(
            "/password/forgot?lang=fr", data={"email": address}, follow_redirects=False
        )
        assert response.status_code in (200, 302)
    deliver_due()
    messages = _messages(handler)
    assert _html_tag(messages["amal@example.org"]) == '<html lang="ar" dir="rtl">'
    assert str(messages["amal@example.org"]["Subject"]) == "إعادة تعيين كلمة المرور"
    assert _html_tag(messages["nobody@example.org"]) == '<html lang="fr" dir="ltr">'
    assert str(messages["nobody@example.org"]["Subject"]).startswith(
        "À propos de votre demande de mot de passe sur"
    )


def test_a_new_account_made_by_registering_takes_the_pages_language(
    client, smtp_sink, make_event
) -> None:
    _controller, handler = smtp_sink
    event = make_event(title="Ocean Forum")
    response = client.post(
        f"/events/{event.slug}/register?lang=ar",
        data={"name": "Amal", "email": "amal@example.org"},
    )
    assert response.status_code in (200, 302, 303)
    user = db.session.scalar(select(User).where(User.email == "amal@example.org"))
    assert user is not None and user.language == "ar"
    deliver_due()
    assert _html_tag(_messages(handler)["amal@example.org"]) == '<html lang="ar" dir="rtl">'


def test_the_personal_calendar_feed_is_in_its_owners_language(
    client, make_event, make_user, make_registration
) -> None:
    event = make_event(title="Ocean Forum")
    user = make_user(language="fr")
    make_registration(user, event, RegistrationStatus.CONFIRMED)
    events_services.cancel_event(event, "The venue flooded.", utcnow())
    token = feed_tokens.regenerate_user_calendar_token(user)
    db.session.commit()
    # A calendar program asks without a cookie, in whatever language its machine has.
    french = client.get(f"/account/calendar/{token}.ics", headers={"Accept-Language": "en"})
    # (French puts a no-break space before the colon.)
    assert re.search(r"SUMMARY:Annulé\s:\sOcean Forum", french.get_data(as_text=True))
    user.language = "en"
    db.session.commit()
    english = client.get(f"/account/calendar/{token}.ics", headers={"Accept-Language": "fr"})
    assert "SUMMARY:Cancelled: Ocean Forum" in english.get_data(as_text=True)
    assert english.headers["ETag"] != french.headers["ETag"]
