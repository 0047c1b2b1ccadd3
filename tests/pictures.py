"""Pictures made on the spot for the tests (Pillow), and reading served ones back."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def drawing(width: int = 640, height: int = 400, colour: str = "teal", mode: str = "RGB"):
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 8, height // 8, width // 2, height // 2), fill=colour)
    if width > 20 and height > 20:
        draw.ellipse((width // 2, height // 3, width - 10, height - 10), fill="orange")
    return image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 640, height: int = 400, colour: str = "teal", **options) -> bytes:
    return encoded(drawing(width, height, colour), "JPEG", **options)


def png(width: int = 640, height: int = 400, colour: str = "teal") -> bytes:
    return encoded(drawing(width, height, colour, mode="RGBA"), "PNG")


def webp(width: int = 640, height: int = 400, colour: str = "teal") -> bytes:
    return encoded(drawing(width, height, colour), "WEBP")


def jpeg_with_gps(width: int = 640, height: int = 400, orientation: int | None = None) -> bytes:
    """A camera-like JPEG: GPS position, camera model, and optionally a rotation in EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    return jpeg(width, height, exif=exif.tobytes())


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
