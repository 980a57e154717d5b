"""Failed review-page sign-ins counted per client address, so guessing tokens from one address is slowed.

After NSI_SIGN_IN_FAILURES failed sign-ins within NSI_SIGN_IN_WINDOW_MINUTES, an
address gets 429 (with Retry-After) for any further try, right or wrong, until
its oldest failure leaves the window. The counts live in each server process's
memory (no write per failed guess): with several workers the limit is per
worker, and a restart forgets them. Behind a proxy the address is the
client's only with NSI_TRUSTED_PROXIES set.
"""

from __future__ import annotations

import time
from collections import deque

MAX_ADDRESSES = 10_000  # memory bound: beyond it the addresses with the oldest failures are forgotten


class SignInThrottle:
    """Failures per address in a sliding window of `window_seconds`; at `limit` of them, the address waits."""

    def __init__(self, limit: int, window_seconds: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window_seconds, clock
        self.failures: dict[str, deque[float]] = {}

    def wait_seconds(self, address: str) -> int:
        """How long `address` must wait before its next try (0: it may try now)."""
        recent = self._recent(address)
        if self.limit <= 0 or len(recent) < self.limit:
            return 0
        return max(1, int(recent[0] + self.window - self.clock() + 0.999))

    def failed(self, address: str) -> None:
        """Count one failed sign-in of `address`."""
        if address not in self.failures and len(self.failures) >= MAX_ADDRESSES:
            oldest = min(self.failures, key=lambda a: self.failures[a][-1] if self.failures[a] else 0)
            del self.failures[oldest]
        self.failures.setdefault(address, deque()).append(self.clock())

    def succeeded(self, address: str) -> None:
        """Forget the failures of `address` (a reviewer who mistyped once is not held back later)."""
        self.failures.pop(address, None)

    def _recent(self, address: str) -> deque:
        recent = self.failures.get(address, deque())
        cutoff = self.clock() - self.window
        while recent and recent[0] <= cutoff:
            recent.popleft()
        if not recent:
            self.failures.pop(address, None)
        return recent
