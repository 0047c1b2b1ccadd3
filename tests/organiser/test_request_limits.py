"""The workspace under the site's request ceiling: only the picture uploads may send more."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import Event

MIB = 1024 * 1024


def assert_too_large_page(response, text: str) -> None:
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert '<h1 id="error-heading">Too large</h1>' in html
    assert text in html


def test_workspace_pages_without_uploads_keep_the_ceiling(client, as_member) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    response = client.post(url, data={"title": "Forum", "description": "a" * (MIB + 1)})
    assert_too_large_page(response, "this page accepts at most 1024 kB")
    assert db.session.scalar(select(func.count()).select_from(Event)) == 3  # the world's


def test_the_picture_uploads_are_allowed_more_and_say_why_when_over(client, as_member) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}"
    profile = {"name": as_member.organisation.name, "description": "", "website": ""}
    # Over MAX_CONTENT_LENGTH, within the upload's own cap: the picture is read and refused.
    logo = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MIB + 10)
    response = client.post(
        url,
        data=profile | {"logo": (io.BytesIO(logo), "big.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "must be a JPEG, PNG or WebP image" in response.get_data(as_text=True)
    # Over the upload's cap: the 413 page names the pictures' limit.
    for page, name in ((url, "logo"), (f"/manage/events/{as_member.event.id}/cover", "cover")):
        response = client.post(
            page,
            data=profile | {name: (io.BytesIO(b"\x00" * (11 * MIB)), "huge.png")},
            content_type="multipart/form-data",
        )
        assert_too_large_page(response, "A picture may be at most 10 MB")
