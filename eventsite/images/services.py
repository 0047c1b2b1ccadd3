"""Keep and let go of pictures. Files are written before the transaction commits (an
orphan file at worst) and deleted only after it commits (never a row without its files)."""

from __future__ import annotations

from datetime import datetime

from flask import has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.images import processing, storage
from eventsite.images.models import ALT_MAX_LENGTH, Image
from eventsite.images.processing import ImageRefused

PENDING = "eventsite_images_to_delete"  # Session.info key: names to delete after commit


def clean_alt(alt: str | None, field: str | None = None) -> str:
    text = " ".join((alt or "").split())
    if not text:
        raise ImageRefused(_("Describe the picture for people who cannot see it."), field=field)
    if len(text) > ALT_MAX_LENGTH:
        raise ImageRefused(
            _("Keep the description under %(n)d characters.", n=ALT_MAX_LENGTH), field=field
        )
    return text


def create_image(
    data: bytes, alt: str, now: datetime, field: str | None = None, alt_field: str | None = None
) -> Image:
    """Check, clean and resize an upload, store its files, and add its row (flushed)."""
    alt = clean_alt(alt, alt_field)
    processed = processing.process(data, field)
    store = storage.current()
    for file in processed.files:
        store.put(file.name, file.data, file.content_type)
    image = Image(
        key=processed.key,
        width=processed.width,
        height=processed.height,
        alt=alt,
        variants=[v.as_json() for v in processed.variants],
        created_at=now,
    )
    db.session.add(image)
    db.session.flush()
    return image


def copy_image(image: Image | None) -> Image | None:
    """Another row for the same files (a duplicated event's cover): each row can then be
    replaced or deleted on its own, and the files stay while either names them."""
    if image is None:
        return None
    copy = Image(
        key=image.key,
        width=image.width,
        height=image.height,
        alt=image.alt,
        variants=list(image.variants),
        created_at=image.created_at,
    )
    db.session.add(copy)
    return copy


def set_alt(image: Image, alt: str, field: str | None = None) -> None:
    image.alt = clean_alt(alt, field)
    db.session.flush()


def discard_image(image: Image | None) -> None:
    """Delete the row (what pointed at it is set to NULL by the database) and, once the
    transaction commits, the files no other row uses."""
    if image is None:
        return
    names = image.file_names
    others = db.session.scalars(
        select(Image.variants).where(Image.key == image.key, Image.id != image.id)
    ).all()
    for variants in others:
        names -= {v[kind] for v in variants for kind in ("webp", "jpeg")}
    db.session.delete(image)
    db.session.flush()
    db.session.info.setdefault(PENDING, set()).update(names)


@event.listens_for(Session, "after_commit")
def _delete_files(session: Session) -> None:
    names = session.info.pop(PENDING, None)
    if not names or not has_app_context():
        return
    store = storage.current()
    for name in sorted(names):
        store.delete(name)


@event.listens_for(Session, "after_rollback")
def _keep_files(session: Session) -> None:
    session.info.pop(PENDING, None)
