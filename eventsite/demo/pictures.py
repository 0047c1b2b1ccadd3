"""Pictures for the demonstration data, drawn with Pillow at load time: gradients and
geometric shapes chosen from the name they are for, so every load draws the same ones.
No photographs, and no people: a speaker's "photo" is an abstract pattern."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw

# Calm, readable pairs (top-left → bottom-right) for the gradients.
PALETTES = (
    ((11, 92, 173), (6, 40, 86)),
    ((0, 121, 107), (0, 60, 70)),
    ((94, 53, 177), (40, 24, 96)),
    ((198, 80, 40), (110, 30, 40)),
    ((30, 120, 60), (10, 60, 50)),
    ((50, 70, 90), (20, 30, 45)),
)
ACCENTS = ((255, 196, 61), (255, 255, 255), (120, 220, 200), (255, 140, 110), (170, 200, 255))
COVER_SIZE = (1200, 675)
LOGO_SIZE = (400, 400)
PHOTO_SIZE = (320, 320)


def _rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def _gradient(size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def cover(seed: str) -> bytes:
    """A wide picture: a gradient with circles and rounded squares scattered over it."""
    rng = _rng("cover:" + seed)
    image = _gradient(COVER_SIZE, *rng.choice(PALETTES))
    draw = ImageDraw.Draw(image, "RGBA")
    width, height = COVER_SIZE
    for _ in range(rng.randint(5, 9)):
        r = rng.randint(height // 10, height // 3)
        x, y = rng.randint(-r, width), rng.randint(-r, height)
        accent = (*rng.choice(ACCENTS), rng.randint(60, 170))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + 2 * r, y + 2 * r), fill=accent)
        else:
            draw.rounded_rectangle((x, y, x + 2 * r, y + 2 * r), radius=r // 4, fill=accent)
    return _png(image)


def logo(seed: str) -> bytes:
    """A square mark: a disc of the organisation's colour with a few concentric shapes."""
    rng = _rng("logo:" + seed)
    top, bottom = rng.choice(PALETTES)
    image = Image.new("RGBA", LOGO_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    size = LOGO_SIZE[0]
    draw.ellipse((8, 8, size - 8, size - 8), fill=top)
    accent = rng.choice(ACCENTS)
    sides = rng.choice((3, 4, 6, 0))
    centre, radius = size / 2, size * 0.28
    if sides:
        draw.regular_polygon(
            (centre, centre, radius), sides, rotation=rng.randint(0, 90), fill=accent
        )
    else:
        draw.ellipse(
            (centre - radius, centre - radius, centre + radius, centre + radius), fill=accent
        )
    draw.ellipse((centre - 28, centre - 28, centre + 28, centre + 28), fill=bottom)
    return _png(image)


def photo(seed: str) -> bytes:
    """A speaker's placeholder: stripes and a ring, no face."""
    rng = _rng("photo:" + seed)
    image = _gradient(PHOTO_SIZE, *rng.choice(PALETTES))
    draw = ImageDraw.Draw(image, "RGBA")
    size = PHOTO_SIZE[0]
    step = rng.randint(24, 48)
    for x in range(-size, size, step):
        draw.line([(x, size), (x + size, 0)], fill=(255, 255, 255, 40), width=step // 3)
    accent = rng.choice(ACCENTS)
    draw.ellipse((size * 0.25, size * 0.25, size * 0.75, size * 0.75), outline=accent, width=14)
    return _png(image)
