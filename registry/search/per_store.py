"""What a search backend keeps between queries, one per store: made on first use, dropped with the store, so that
two stores in one process never share it."""

from __future__ import annotations

import threading
import weakref
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class PerStore(Generic[T]):
    """A callable giving `store`'s own object, made by `factory(store)` the first time it is asked for."""

    def __init__(self, factory: Callable[..., T]):
        self._factory = factory
        self._of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, store) -> T:
        """`store`'s object (made now when it has none)."""
        with self._lock:
            found = self._of.get(store)
            if found is None:
                found = self._of[store] = self._factory(store)
            return found
