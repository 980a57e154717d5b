"""A bounded in-memory cache of rendered responses about published versions.

Published versions never change, and every cacheable response is already named
by its ETag (version checksum, label and representation), so the ETag is the
key: a hit skips the database and the JSON encoding. Least recently used
responses are dropped beyond the byte budget (NSI_RESPONSE_CACHE_MB per worker).
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class ResponseCache:
    """ETag → (body, Content-Type), least recently used first out, bounded in bytes; thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.prefilled: set = set()  # versions whose lookups were all put in at once (see versions.prefill_lookups)
        self.prefill_lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The cached body and Content-Type for `key`, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Remember a body (ignored when larger than a tenth of the budget)."""
        if len(body) > self.max_bytes // 10:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (body, content_type)
            self.size += len(body)
            while self.size > self.max_bytes and self._items:
                _, (old, _) = self._items.popitem(last=False)
                self.size -= len(old)
