"""A picture as the pages use it: its size, its alt text and the names of its files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eventsite import catalogue
from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow

ALT_MAX_LENGTH = 300


class Image(db.Model):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name (without extension) of the largest JPEG: rows made from the same pixels share
    # their files, and a file is deleted only when no row with its key is left.
    key: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)  # of the largest variant
    height: Mapped[int] = mapped_column(Integer)
    alt: Mapped[str] = mapped_column(String(ALT_MAX_LENGTH))
    # Narrowest first: [{"width": 400, "height": 225, "webp": "<sha>.webp", "jpeg": "<sha>.jpg"}]
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Image {self.id} {self.key[:8]}>"

    @property
    def file_names(self) -> set[str]:
        return {v[kind] for v in self.variants for kind in ("webp", "jpeg")}

    @property
    def largest(self) -> dict[str, Any]:
        return self.variants[-1]

    def variant_for(self, width: int) -> dict[str, Any]:
        """The narrowest variant at least `width` wide, else the largest."""
        for variant in self.variants:
            if variant["width"] >= width:
                return variant
        return self.largest


# Its alt text shows on cached pages.
catalogue.track(Image)
