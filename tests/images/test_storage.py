"""The storage contract, against the local folder and an S3 server over HTTP, and what the
site does with it: serve files, and delete the ones nothing uses any more."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.images import services, storage
from eventsite.images.models import Image
from eventsite.models import Organisation

from .. import pictures
from ..conftest import NOW


@pytest.fixture(params=["local", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return request.getfixturevalue("s3_url")


@pytest.fixture
def app_config(app_config, storage_url):
    app_config["IMAGE_STORAGE"] = storage_url
    return app_config


def _name(data: bytes, ext: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()}.{ext}"


def test_put_get_delete(app, storage_url) -> None:
    store = storage.from_url(storage_url, app.instance_path)
    data = pictures.jpeg(40, 30)
    name = _name(data, "jpg")
    assert store.get(name) is None
    store.put(name, data, "image/jpeg")
    store.put(name, data, "image/jpeg")  # the same name holds the same bytes: no harm
    stored = store.get(name)
    assert stored is not None
    assert stored.data == data
    assert stored.content_type == "image/jpeg"
    store.delete(name)
    assert store.get(name) is None
    store.delete(name)  # already gone: nothing to do


@pytest.mark.parametrize("name", ["../secret.jpg", "a" * 64 + ".svg", "A" * 64 + ".jpg", ""])
def test_names_that_are_not_image_names_are_refused(app, storage_url, name) -> None:
    store = storage.from_url(storage_url, app.instance_path)
    with pytest.raises(ValueError):
        store.put(name, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        store.get(name)


def test_an_uploaded_picture_is_served_with_long_lived_caching(app, client) -> None:
    image = services.create_image(pictures.jpeg(1800, 900), "Blue and orange shapes", NOW)
    db.session.commit()
    assert [v["width"] for v in image.variants] == [400, 800, 1600]
    assert (image.width, image.height) == (1600, 800)
    for variant in image.variants:
        for kind, mimetype in (("webp", "image/webp"), ("jpeg", "image/jpeg")):
            response = client.get(f"/images/{variant[kind]}")
            assert response.status_code == 200
            assert response.mimetype == mimetype
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert pictures.opened(response.data).size == (variant["width"], variant["height"])
            assert hashlib.sha256(response.data).hexdigest() == variant[kind].split(".")[0]
            again = client.get(
                f"/images/{variant[kind]}", headers={"If-None-Match": response.headers["ETag"]}
            )
            assert again.status_code == 304


@pytest.mark.parametrize(
    "name", ["nothing.jpg", "0" * 64 + ".jpg", "0" * 64 + ".exe", "..%2fsecret", "0" * 63 + ".png"]
)
def test_unknown_names_are_not_found(app, client, name) -> None:
    response = client.get(f"/images/{name}")
    assert response.status_code == 404


def test_replacing_a_logo_deletes_the_files_nothing_else_uses(
    app, client, make_organisation
) -> None:
    from eventsite.organisations import services as organisations

    first, second = make_organisation(), make_organisation()
    same = pictures.png(500, 200, colour="navy")
    organisations.set_logo(first, same, "", None, NOW)
    organisations.set_logo(second, same, "", None, NOW)  # the same picture: shared files
    db.session.commit()
    shared = first.logo_image.file_names
    assert shared == second.logo_image.file_names and len(shared) == 4  # 400 + 500, twice
    organisations.set_logo(first, pictures.png(300, 300, colour="red"), "", None, NOW)
    db.session.commit()
    # The second organisation still shows them.
    assert all(client.get(f"/images/{name}").status_code == 200 for name in shared)
    replacement = first.logo_image.file_names
    organisations.remove_logo(second, None, NOW)
    db.session.commit()
    assert all(client.get(f"/images/{name}").status_code == 404 for name in shared)
    assert all(client.get(f"/images/{name}").status_code == 200 for name in replacement)
    assert db.session.scalar(select(Organisation.logo_image_id).filter_by(id=second.id)) is None
    assert db.session.scalars(select(Image.id)).all() == [first.logo_image_id]


def test_a_rolled_back_removal_keeps_the_files(app, client, make_organisation) -> None:
    from eventsite.organisations import services as organisations

    organisation = make_organisation()
    organisations.set_logo(organisation, pictures.png(200, 100), "", None, NOW)
    db.session.commit()
    names = organisation.logo_image.file_names
    organisations.remove_logo(organisation, None, NOW)
    db.session.rollback()
    assert all(client.get(f"/images/{name}").status_code == 200 for name in names)


def test_deleting_a_draft_copy_keeps_the_files_the_original_shows(app, client, make_event) -> None:
    from eventsite.events import services as events

    event = make_event()
    events.set_cover(event, pictures.jpeg(900, 500), "Shapes", NOW)
    db.session.commit()
    names = event.cover_image.file_names
    copy = events.duplicate_event(event, "Again", event.starts_at.replace(year=2030), NOW)
    db.session.commit()
    assert copy.cover_image_id != event.cover_image_id
    assert copy.cover_image.file_names == names
    events.delete_draft(copy)
    db.session.commit()
    assert all(client.get(f"/images/{name}").status_code == 200 for name in names)
    events.remove_cover(event)
    db.session.commit()
    assert all(client.get(f"/images/{name}").status_code == 404 for name in names)
