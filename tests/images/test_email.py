"""The confirmation email shows the event's cover, from the site's absolute address."""

from __future__ import annotations

import pytest

from eventsite.extensions import db
from eventsite.images import services as images
from eventsite.registration import services

from .. import pictures
from ..conftest import NOW

pytestmark = pytest.mark.usefixtures("smtp_sink")


def test_the_confirmation_shows_the_cover(app, client, make_event, make_user, mailbox) -> None:
    event = make_event()
    event.cover_image = images.create_image(pictures.jpeg(1800, 1000), "A teal square", NOW)
    db.session.commit()
    services.register_attendee(make_user(email="ada@example.org"), event, {}, NOW)
    db.session.commit()
    (message,) = mailbox()
    variant = event.cover_image.variant_for(800)
    src = f'src="http://localhost/images/{variant["jpeg"]}"'
    assert src in message.html
    assert 'alt="A teal square"' in message.html and 'width="600"' in message.html
    assert client.get(f"/images/{variant['jpeg']}").status_code == 200


def test_without_a_cover_the_email_has_no_picture(app, make_event, make_user, mailbox) -> None:
    services.register_attendee(make_user(), make_event(), {}, NOW)
    db.session.commit()
    (message,) = mailbox()
    assert "/images/" not in message.html  # the only picture is the ticket's QR code
    assert message.html.count("<img") == 1 and 'src="cid:' in message.html
