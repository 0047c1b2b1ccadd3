"""Built feeds, kept by version: a small in-process LRU keyed by the feed's ETag."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


class FeedCache:
    """A small in-process LRU of built calendars keyed by their ETag.

    The ETag moves with the catalogue version, so a changed event gives a new key and
    the stale entry simply ages out; nothing needs explicit invalidation. Each worker
    process has its own cache (bounded by entries and bytes).
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._data.get(key)
            if data is not None:
                self._data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._data[key] = data
            self._size += len(data)
            while len(self._data) > self.max_entries or self._size > self.max_bytes:
                _key, evicted = self._data.popitem(last=False)
                self._size -= len(evicted)

    def get_or_build(self, key: str, build: Callable[[], bytes]) -> bytes:
        data = self.get(key)
        if data is None:
            data = build()
            self.put(key, data)
        return data

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0


FEED_CACHE = FeedCache()
