"""Turn an uploaded file into clean, resized pictures, or refuse it.

Only JPEG, PNG and WebP are read, by their content (Pillow opens the bytes with those three
decoders only, so an SVG or an HTML page called .png is refused). Animated images and
decompression bombs are refused; the EXIF orientation is applied, then every piece of
metadata (EXIF with GPS, XMP, comments) is left behind and colours are converted to sRGB.
Each width in WIDTHS (never wider than the original) is written as WebP and as a JPEG
fallback, named by the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from eventsite.errors import DomainError
from eventsite.i18n import gettext as _

FORMATS = ("JPEG", "PNG", "WEBP")
WIDTHS = (400, 800, 1600)
# A 40-megapixel photo is the largest camera output we expect; Pillow's own check (a warning
# past MAX_IMAGE_PIXELS, an error past twice that) is made an error at this size.
MAX_PIXELS = 40_000_000
WEBP_QUALITY = 80
# libwebp's effort (0-6): 2 encodes a 1200-pixel picture in about half the time of the
# default 4, for files a few per cent larger.
WEBP_METHOD = 2
JPEG_QUALITY = 82
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, not a grey half


class ImageRefused(DomainError):
    """The upload is not a picture we accept; the message says why."""


@dataclass(frozen=True)
class File:
    name: str  # <sha256>.<ext>
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.name.rsplit(".", 1)[1]]


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    webp: File
    jpeg: File

    def as_json(self) -> dict[str, int | str]:
        return {
            "width": self.width,
            "height": self.height,
            "webp": self.webp.name,
            "jpeg": self.jpeg.name,
        }


@dataclass(frozen=True)
class Processed:
    width: int
    height: int
    variants: list[Variant]

    @property
    def key(self) -> str:
        """What identifies the picture: the name of its largest JPEG (same pixels, same key)."""
        return self.variants[-1].jpeg.name.split(".")[0]

    @property
    def files(self) -> list[File]:
        return [f for v in self.variants for f in (v.webp, v.jpeg)]


def content_name(data: bytes, ext: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()}.{ext}"


def open_checked(data: bytes, field: str | None = None) -> Image.Image:
    """The decoded picture, oriented, in RGB or RGBA, with no metadata; or ImageRefused."""
    if not data:
        raise ImageRefused(_("The file is empty."), field=field)
    try:
        # Pillow warns past MAX_IMAGE_PIXELS (an error where warnings are, as in the tests)
        # and refuses past twice that; the size is checked here too, before any decoding.
        # (No warnings.catch_warnings(): it changes process-wide state, unsafe in threads.)
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        if image.width * image.height > MAX_PIXELS:
            raise Image.DecompressionBombError("too many pixels")
        if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
            raise ImageRefused(_("Animated images are not accepted."), field=field)
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _to_srgb(image)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageRefused(
            _("The image has too many pixels (at most %(mp)d megapixels).", mp=MAX_PIXELS // 10**6),
            field=field,
        ) from err
    except UnidentifiedImageError as err:
        raise ImageRefused(_("The file must be a JPEG, PNG or WebP image."), field=field) from err
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise ImageRefused(
            _("The image could not be read: the file is damaged or incomplete."), field=field
        ) from err
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA pixels in sRGB, with a fresh `info` (no EXIF, XMP, ICC, comments)."""
    icc = image.info.get("icc_profile")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(
                image.convert("RGBA" if has_alpha else ("CMYK" if image.mode == "CMYK" else "RGB")),
                source,
                ImageCms.createProfile("sRGB"),
                outputMode=mode,
            )
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: take the pixels as they are
    clean = image.convert(mode)
    if clean is image:
        clean = image.copy()
    clean.info = {}
    return clean


def _encode(image: Image.Image) -> tuple[File, File]:
    webp = io.BytesIO()
    image.save(webp, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    flat = image
    if image.mode == "RGBA":  # JPEG has no transparency: lay it on white
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
    jpeg = io.BytesIO()
    flat.save(jpeg, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return (
        File(content_name(webp.getvalue(), "webp"), webp.getvalue()),
        File(content_name(jpeg.getvalue(), "jpg"), jpeg.getvalue()),
    )


def widths_for(width: int) -> list[int]:
    """WIDTHS no wider than the original, plus the original when it is narrower than the
    largest (never upscaled)."""
    chosen = [w for w in WIDTHS if w < width]
    if width <= WIDTHS[-1]:
        chosen.append(width)
    return chosen or [width]


def process(data: bytes, field: str | None = None) -> Processed:
    image = open_checked(data, field)
    variants = []
    for width in widths_for(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = (
            image
            if width == image.width
            else image.resize((width, height), Image.Resampling.LANCZOS)
        )
        webp, jpeg = _encode(resized)
        variants.append(Variant(width, height, webp, jpeg))
    return Processed(variants[-1].width, variants[-1].height, variants)
