"""The picture a link preview shows (og:image, twitter:card): the event's cover, else the
organisation's logo, else the site's own picture made for the purpose."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from eventsite.i18n import gettext as _
from eventsite.images.models import Image

# The width link previews are drawn at (Facebook, LinkedIn, Slack: 1200 × 630).
PREVIEW_WIDTH = 1200
DEFAULT_IMAGE = "og-default.png"  # eventsite/static/, 1200 × 630
DEFAULT_SIZE = (1200, 630)


@dataclass(frozen=True)
class LinkPreview:
    url: str
    width: int
    height: int
    alt: str
    twitter_card: str


def link_preview(*, cover: Image | None = None, logo: Image | None = None) -> LinkPreview:
    """A JPEG (understood by every preview) at an absolute address."""
    for image, card in ((cover, "summary_large_image"), (logo, "summary")):
        if image is not None:
            variant = image.variant_for(PREVIEW_WIDTH)
            return LinkPreview(
                url=url_for("images.serve", name=variant["jpeg"], _external=True),
                width=variant["width"],
                height=variant["height"],
                alt=image.alt,
                twitter_card=card,
            )
    return LinkPreview(
        url=url_for("static", filename=DEFAULT_IMAGE, _external=True),
        width=DEFAULT_SIZE[0],
        height=DEFAULT_SIZE[1],
        alt=_("%(site)s: forums and conferences", site=current_app.config["SITE_NAME"]),
        twitter_card="summary_large_image",
    )
