"""The page cache's store: a thread-safe LRU of rendered pages, each as rendered and
compressed, one per app and process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask

from eventsite.page_cache.holes import Hole
from eventsite.page_cache.keys import Key

EXTENSION = "page_cache"  # app.extensions: the app's PageCache; without it nothing is cached
MAX_BYTES = 64 * 1024 * 1024  # the whole cache (every encoding of every page), per process
MAX_ENTRY_BYTES = 1024 * 1024  # a page larger than this (as rendered) is not kept


@dataclass(frozen=True)
class Variant:
    """The page in one Content-Encoding: its bytes and its headers (all but Content-Length:
    the ETag of these bytes, Content-Encoding when compressed)."""

    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Page:
    # By Content-Encoding; None: as rendered. Compressed when kept, once per entry: a
    # millisecond or two next to the render that missed, and every hit then sends bytes.
    variants: Mapping[str | None, Variant]
    has_csrf_token: bool = False  # hooks.CSRF_SENTINEL stands where the token goes
    # Where someone's own parts stand in the body as rendered (holes.take): filled in for
    # a logged-in visitor.
    holes: tuple[Hole, ...] = ()

    @property
    def body(self) -> bytes:
        return self.variants[None].body

    @property
    def size(self) -> int:
        return sum(len(variant.body) for variant in self.variants.values())

    def variant(self, encoding: str | None) -> Variant:
        """The page in this encoding if kept in it (a small page is not), else as rendered."""
        found = self.variants.get(encoding)
        return self.variants[None] if found is None else found


class PageCache:
    """A thread-safe LRU bounded by entry count and total bytes (every encoding counted)."""

    def __init__(self, max_entries: int, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._pages: OrderedDict[Key, Page] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Key) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: Key, page: Page) -> None:
        size = page.size
        if self.max_entries <= 0 or size > self.max_bytes or len(page.body) > MAX_ENTRY_BYTES:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.bytes -= old.size
            self._pages[key] = page
            self.bytes += size
            while len(self._pages) > self.max_entries or self.bytes > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self.bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.bytes = 0


def cache_for(app: Flask) -> PageCache | None:
    return app.extensions.get(EXTENSION)
