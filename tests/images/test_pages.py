"""Pictures where visitors see them: cards, the event page, the organisation's page, link
previews and schema.org, without a query per card."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest

from eventsite.extensions import db
from eventsite.images import services

from .. import pictures
from ..conftest import NOW


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.json_ld: list[str] = []
        self._in_ld = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.tags.append((tag, values))
        self._in_ld = tag == "script" and values.get("type") == "application/ld+json"

    def handle_data(self, data):
        if self._in_ld:
            self.json_ld.append(data)
            self._in_ld = False


def parsed(response) -> _Tags:
    parser = _Tags()
    parser.feed(response.get_data(as_text=True))
    return parser


def meta(tags: _Tags) -> dict[str, str]:
    return {
        values.get("property") or values.get("name"): values.get("content", "")
        for tag, values in tags.tags
        if tag == "meta" and (values.get("property") or values.get("name"))
    }


def imgs(tags: _Tags) -> list[dict[str, str]]:
    return [values for tag, values in tags.tags if tag == "img"]


@pytest.fixture
def cover():
    def make(alt: str = "Orange circle on teal"):
        return services.create_image(pictures.jpeg(2000, 1125), alt, NOW)

    return make


def test_the_cover_is_on_the_card_the_event_page_and_in_the_link_preview(
    app, client, make_event, cover
) -> None:
    event = make_event(slug="forum", title="Forum")
    event.cover_image = cover()
    db.session.commit()
    variants = event.cover_image.variants
    # The card: WebP and JPEG in every width, the size that fits, no layout shift.
    card = imgs(parsed(client.get("/events/")))
    assert len(card) == 1
    img = card[0]
    assert img["alt"] == "Orange circle on teal"
    assert (img["width"], img["height"]) == ("1600", "900")
    assert img["srcset"].count("w,") == 2 and "/images/" in img["srcset"]
    assert img["sizes"]
    page = parsed(client.get("/events/forum"))
    top = imgs(page)[0]
    assert "loading" not in top and top["fetchpriority"] == "high"  # the first screen
    sources = [v for tag, v in page.tags if tag == "source"]
    assert sources[0]["type"] == "image/webp"
    assert all(f"/images/{v['webp']} {v['width']}w" in sources[0]["srcset"] for v in variants)
    tags = meta(page)
    large = event.cover_image.variant_for(1200)
    assert tags["og:image"] == f"http://localhost/images/{large['jpeg']}"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1600", "900")
    assert tags["og:image:alt"] == "Orange circle on teal"
    assert tags["twitter:card"] == "summary_large_image"
    data = json.loads(page.json_ld[0])
    assert data["image"] == [tags["og:image"]]
    assert client.get(tags["og:image"].removeprefix("http://localhost")).status_code == 200


def test_without_a_cover_the_preview_is_the_logo_then_the_sites_own(
    app, client, make_event, make_organisation
) -> None:
    from eventsite.organisations import services as organisations

    with_logo = make_organisation(name="Leaf Society", slug="leaf")
    organisations.set_logo(with_logo, pictures.png(600, 600), "", None, NOW)
    make_event(slug="leafy", organisation=with_logo)
    plain = make_event(slug="plain")
    db.session.commit()
    tags = meta(parsed(client.get("/events/leafy")))
    assert tags["og:image"].endswith(with_logo.logo_image.variant_for(1200)["jpeg"])
    assert tags["og:image:alt"] == "Leaf Society"
    assert tags["twitter:card"] == "summary"
    page = parsed(client.get("/events/plain"))
    tags = meta(page)
    assert tags["og:image"] == "http://localhost/static/og-default.png"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    assert "image" not in json.loads(page.json_ld[0])
    assert client.get("/static/og-default.png").status_code == 200
    # The organisation's page: its logo on top, and in its link preview.
    page = parsed(client.get("/organisations/leaf"))
    assert imgs(page)[0]["alt"] == "Leaf Society"
    logo = with_logo.logo_image.variant_for(1200)["jpeg"]
    assert meta(page)["og:image"] == f"http://localhost/images/{logo}"
    page = parsed(client.get(f"/organisations/{plain.organisation.slug}"))
    assert meta(page)["og:image"] == "http://localhost/static/og-default.png"
    # A new logo shows in the next preview (the piece that draws it is kept until then).
    organisations.set_logo(plain.organisation, pictures.png(640, 640), "", None, NOW)
    db.session.commit()
    page = parsed(client.get(f"/organisations/{plain.organisation.slug}"))
    new_logo = plain.organisation.logo_image.variant_for(1200)["jpeg"]
    assert meta(page)["og:image"] == f"http://localhost/images/{new_logo}"


def test_speaker_photos_show_on_the_event_page(
    app, client, make_event, make_session, make_speaker
) -> None:
    speaker = make_speaker("Ada Example")
    speaker.photo_image = services.create_image(
        pictures.jpeg(500, 500), "Ada Example at a lectern", NOW
    )
    event = make_event(slug="talks")
    make_session(event, speakers=[speaker])
    db.session.commit()
    photos = [
        i
        for i in imgs(parsed(client.get("/events/talks")))
        if "speaker-photo" in i.get("class", "")
    ]
    assert photos and photos[0]["alt"] == "Ada Example at a lectern"
    assert photos[0]["loading"] == "lazy"  # below the fold


def test_the_listing_asks_nothing_more_per_card_with_pictures(
    app, client, make_event, make_organisation, count_queries, cover
) -> None:
    first = cover()
    logo = services.create_image(pictures.png(300, 300), "Logo", NOW)
    db.session.commit()

    def add(n: int) -> None:
        for _ in range(n):
            organisation = make_organisation()
            organisation.logo_image = services.copy_image(logo)
            event = make_event(organisation=organisation)
            event.cover_image = services.copy_image(first)
        db.session.commit()

    add(2)
    db.session.expire_all()
    with count_queries() as few:
        assert client.get("/events/?kind=conference").status_code == 200
    add(13)
    db.session.expire_all()
    with count_queries() as many:
        response = client.get("/events/?kind=conference")
    assert len(imgs(parsed(response))) == 15
    assert many.count == few.count, many.statements
    assert few.count <= 8


def test_the_share_page_shows_the_cover(app, client, make_event, cover) -> None:
    event = make_event(slug="shared")
    event.cover_image = cover("Shapes")
    db.session.commit()
    response = client.get("/events/shared/share")
    assert response.status_code == 200
    assert [i["alt"] for i in imgs(parsed(response))] == ["Shapes"]


def test_a_member_gives_a_speaker_a_photo_and_removes_it(
    app, client, make_event, make_session, make_speaker, make_member, login
) -> None:
    event = make_event(slug="panel")
    speaker = make_speaker("Grace Example")
    session = make_session(event, speakers=[speaker])
    login(make_member(event.organisation))
    url = f"/manage/events/{event.id}/sessions/{session.id}/speakers/{speaker.id}/photo"
    assert "Add photo" in client.get(f"/manage/events/{event.id}/sessions/{session.id}").text
    response = client.post(
        url,
        data={"photo": (io.BytesIO(pictures.jpeg(600, 800)), "me.jpg"), "photo_alt": ""},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Describe the picture" in response.text
    response = client.post(
        url,
        data={"photo": (io.BytesIO(pictures.jpeg(600, 800)), "me.jpg"), "photo_alt": "Grace"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    photo = db.session.get(type(speaker), speaker.id).photo_image
    assert photo.alt == "Grace" and (photo.width, photo.height) == (600, 800)
    page = parsed(client.get("/events/panel"))
    assert "Grace" in [i["alt"] for i in imgs(page)]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    response = client.post(url + "/remove", data={"csrf_token": csrf.group(1) if csrf else ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(speaker), speaker.id).photo_image is None
    assert client.get(f"/images/{photo.largest['jpeg']}").status_code == 404
