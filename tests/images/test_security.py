"""Uploads that are not what they claim, too big, or carry more than pixels: refused with a
clear message, or cleaned; never a 500, and never written anywhere."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.images import processing
from eventsite.images.models import Image as ImageRow
from eventsite.models import Event

from .. import pictures

MIB = 1024 * 1024


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels (a decompression bomb: the
    pixels would be built in memory only when decoded)."""
    data = pictures.png(1, 1)
    ihdr = struct.pack(">II", width, height) + data[24:29]
    chunk = b"IHDR" + ihdr
    return (
        data[:8]
        + struct.pack(">I", 13)
        + chunk
        + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
        + data[33:]
    )


def _animated_webp() -> bytes:
    frames = [pictures.drawing(80, 60, colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _animated_png() -> bytes:
    frames = [pictures.drawing(80, 60, colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


REFUSED = {
    "decompression bomb": (_png_claiming(50_000, 50_000), "bomb.png", "too many pixels"),
    "just over the pixel limit": (_png_claiming(8000, 5001), "big.png", "too many pixels"),
    "HTML posing as PNG": (
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
        "page.png",
        "must be a JPEG, PNG or WebP image",
    ),
    "HTML named .jpg": (b"<!doctype html><script>alert(1)</script>", "x.jpg", "must be a JPEG"),
    "SVG with script": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
        b"</svg>",
        "logo.svg",
        "must be a JPEG, PNG or WebP image",
    ),
    "GIF": (pictures.encoded(pictures.drawing(40, 40), "GIF"), "a.gif", "must be a JPEG"),
    "truncated JPEG": (pictures.jpeg(800, 600)[:3000], "cut.jpg", "damaged or incomplete"),
    "truncated PNG": (pictures.png(800, 600)[:2000], "cut.png", "damaged or incomplete"),
    "animated WebP": (_animated_webp(), "moving.webp", "Animated images are not accepted"),
    "animated PNG": (_animated_png(), "moving.png", "Animated images are not accepted"),
    "empty file": (b"", "empty.jpg", "The file is empty"),
}


def _post_cover(client, event, data: bytes, filename: str, alt: str = "Shapes"):
    return client.post(
        f"/manage/events/{event.id}/cover",
        data={"cover": (io.BytesIO(data), filename), "cover_alt": alt},
        content_type="multipart/form-data",
    )


def _images() -> int:
    return db.session.scalar(select(func.count()).select_from(ImageRow))


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_is_not_a_clean_picture_is_refused_with_a_message(
    app, client, member_event, case, tmp_path
) -> None:
    data, filename, message = REFUSED[case]
    response = _post_cover(client, member_event, data, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _images() == 0
    assert not list((tmp_path / "images").glob("*"))  # nothing written


def test_the_pixel_limit_is_checked_before_decoding(app) -> None:
    with pytest.raises(processing.ImageRefused, match="too many pixels"):
        processing.open_checked(_png_claiming(100_000, 100_000))


def test_a_50_mb_upload_gets_the_sites_too_large_page(app, client, member_event) -> None:
    response = _post_cover(client, member_event, b"\xff\xd8\xff" + b"\x00" * (50 * MIB), "a.jpg")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert '<h1 id="error-heading">Too large</h1>' in html
    assert "A picture may be at most 10 MB" in html
    assert _images() == 0


def test_gps_and_camera_details_are_removed_and_the_orientation_applied(
    app, client, member_event
) -> None:
    original = pictures.jpeg_with_gps(640, 400, orientation=6)  # "rotate 90° clockwise"
    assert pictures.opened(original).getexif().get_ifd(0x8825)  # the GPS is there
    response = _post_cover(client, member_event, original, "holiday.jpg")
    assert response.status_code == 302
    image = db.session.get(Event, member_event.id).cover_image
    assert (image.width, image.height) == (400, 640)  # upright
    for variant in image.variants:
        for kind in ("webp", "jpeg"):
            served = pictures.opened(client.get(f"/images/{variant[kind]}").data)
            assert not served.getexif()
            assert not served.getexif().get_ifd(0x8825)
            assert "exif" not in served.info and "xmp" not in served.info
            assert "icc_profile" not in served.info
            assert served.width == variant["width"] < served.height


def test_a_png_named_jpg_is_read_by_its_content(app, client, member_event) -> None:
    response = _post_cover(client, member_event, pictures.png(300, 200), "really-a-png.jpg")
    assert response.status_code == 302
    image = db.session.get(Event, member_event.id).cover_image
    assert [v["width"] for v in image.variants] == [300]  # never upscaled


def test_a_cover_needs_a_description(app, client, member_event) -> None:
    response = _post_cover(client, member_event, pictures.jpeg(), "a.jpg", alt="  ")
    assert response.status_code == 422
    assert "Describe the picture" in response.get_data(as_text=True)
    assert _images() == 0


def test_other_organisations_members_and_visitors_cannot_upload(
    app, client, member_event, make_organisation, make_member, login
) -> None:
    login(make_member(make_organisation()))
    assert _post_cover(client, member_event, pictures.jpeg(), "a.jpg").status_code == 403
    client.post("/logout")
    response = _post_cover(client, member_event, pictures.jpeg(), "a.jpg")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _images() == 0


def test_colour_profiles_are_converted_to_srgb(app) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    del profile  # Pillow makes no other RGB profile; any embedded sRGB is dropped too
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = pictures.jpeg(200, 100, icc_profile=srgb)
    processed = processing.process(data)
    for file in processed.files:
        assert "icc_profile" not in Image.open(io.BytesIO(file.data)).info
