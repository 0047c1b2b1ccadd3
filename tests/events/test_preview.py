"""A draft's page as a preview for the members of its organisation: a banner, never cached
nor indexed, no registration; everyone else finds nothing."""

from __future__ import annotations

import pytest

from eventsite.extensions import db
from eventsite.models import Event, EventStatus

BANNER = "Preview — this draft is not public"


@pytest.fixture
def draft(make_event) -> Event:
    return make_event(
        title="Secret Summit", slug="secret-summit", status=EventStatus.DRAFT, published_at=None
    )


def test_a_member_previews_a_draft_with_a_banner_and_private_headers(
    client, login, make_member, draft
) -> None:
    login(make_member(draft.organisation))
    response = client.get("/events/secret-summit")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert BANNER in html
    assert '<h1 id="event-title" dir="auto">Secret Summit</h1>' in html
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in html
    # Registration stays closed for a draft: no button, no link to the form.
    assert "Registration is not open" in html
    assert "/events/secret-summit/register" not in html
    # Nothing to add to a calendar or share before it is public.
    assert "secret-summit.ics" not in html
    db.session.expire_all()
    assert db.session.get(Event, draft.id).status == EventStatus.DRAFT


def test_an_admin_previews_a_draft(client, login, make_user, draft) -> None:
    login(make_user(is_admin=True))
    response = client.get("/events/secret-summit")
    assert response.status_code == 200
    assert BANNER in response.get_data(as_text=True)


def test_a_published_event_has_no_preview_banner(client, login, make_member, make_event) -> None:
    event = make_event(title="Open Forum")
    login(make_member(event.organisation))
    response = client.get(f"/events/{event.slug}")
    assert response.status_code == 200
    assert BANNER not in response.get_data(as_text=True)
    assert "X-Robots-Tag" not in response.headers


def test_anonymous_visitors_and_non_members_get_404(
    app, client, login, make_user, make_member, make_organisation, draft
) -> None:
    assert client.get("/events/secret-summit").status_code == 404
    login(make_member(make_organisation(name="Other Org", slug="other-org")))
    response = client.get("/events/secret-summit")
    assert response.status_code == 404
    assert "Secret Summit" not in response.get_data(as_text=True)
    login(make_user())
    assert client.get("/events/secret-summit").status_code == 404


def test_a_previewed_draft_stays_out_of_the_feeds_and_listing(
    app, client, login, make_member, make_event, draft
) -> None:
    make_event(title="Open Forum", organisation=draft.organisation)
    login(make_member(draft.organisation))
    assert client.get("/events/secret-summit").status_code == 200
    anonymous = app.test_client()
    assert anonymous.get("/events/secret-summit").status_code == 404
    assert anonymous.get("/events/secret-summit.ics").status_code == 404
    for url in ("/calendar.ics", f"/organisations/{draft.organisation.slug}.ics", "/events/"):
        response = anonymous.get(url)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "Open Forum" in body
        assert "Secret Summit" not in body and "secret-summit" not in body


def test_the_workspace_links_a_draft_to_its_preview(client, login, make_member, draft) -> None:
    login(make_member(draft.organisation))
    html = client.get(f"/manage/events/{draft.id}").get_data(as_text=True)
    assert 'href="/events/secret-summit">Preview the page</a>' in html
