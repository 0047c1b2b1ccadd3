"""Where the pictures' files live: one small interface, two places.

`EVENTSITE_IMAGE_STORAGE` unset: files under instance/images/ (one server). A path
(`/srv/eventsite/images` or `file:///srv/...`): that folder. `s3://bucket?endpoint=https://host
&region=eu-west-1`: an S3-compatible object store, for several servers (credentials from
the usual AWS variables or files, through boto3). Every file is served by the site's own
/images/ route either way, so the Content-Security-Policy stays `img-src 'self'`."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app

from eventsite.images.processing import CONTENT_TYPES

# What a stored name looks like: a SHA-256 and a known extension. Anything else is refused
# before any storage is asked (no paths, no dots, no other keys in the bucket).
NAME = re.compile(r"[0-9a-f]{64}\.(webp|jpg|png)")
EXTENSION_KEY = "eventsite_images"


@dataclass(frozen=True)
class Stored:
    data: bytes
    content_type: str


class Storage(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> None: ...
    def get(self, name: str) -> Stored | None: ...
    def delete(self, name: str) -> None: ...


def is_valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


def _checked(name: str) -> str:
    if not is_valid_name(name):
        raise ValueError(f"not an image name: {name!r}")
    return name


class LocalStorage:
    """Files in one folder; written to a temporary file first, so a reader never sees half."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, name: str, data: bytes, content_type: str) -> None:
        path = self.root / _checked(name)
        if path.exists():
            return  # content-addressed: the same name holds the same bytes
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> Stored | None:
        try:
            data = (self.root / _checked(name)).read_bytes()
        except FileNotFoundError:
            return None
        return Stored(data, CONTENT_TYPES[name.rsplit(".", 1)[1]])

    def delete(self, name: str) -> None:
        (self.root / _checked(name)).unlink(missing_ok=True)


class S3Storage:
    """Objects in one bucket of an S3-compatible store (AWS, MinIO, Ceph, moto...)."""

    def __init__(self, url: str) -> None:
        import boto3  # only servers configured for S3 load it
        from botocore.config import Config as BotoConfig

        parts = urlsplit(url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        self.bucket = parts.netloc
        self.prefix = unquote(parts.path).strip("/")
        if self.prefix:
            self.prefix += "/"
        self.client = boto3.client(
            "s3",
            endpoint_url=query.get("endpoint"),
            region_name=query.get("region", "us-east-1"),
            config=BotoConfig(
                s3={"addressing_style": "path" if query.get("endpoint") else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=20,
            ),
        )

    def _key(self, name: str) -> str:
        return self.prefix + _checked(name)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(name),
            Body=data,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )

    def get(self, name: str) -> Stored | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.NoSuchKey:
            return None
        return Stored(answer["Body"].read(), answer.get("ContentType") or "")

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))


def from_url(url: str | None, instance_path: str) -> Storage:
    if not url:
        return LocalStorage(Path(instance_path) / "images")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "s3":
        return S3Storage(url)
    if scheme == "file":
        return LocalStorage(Path(unquote(urlsplit(url).path)))
    if scheme:
        raise ValueError(f"EVENTSITE_IMAGE_STORAGE: unknown kind of storage {scheme!r}")
    return LocalStorage(Path(url))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = from_url(app.config.get("IMAGE_STORAGE"), app.instance_path)


def current() -> Storage:
    return current_app.extensions[EXTENSION_KEY]
