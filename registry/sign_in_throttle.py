"""Failed review-page sign-ins counted per client address, so guessing tokens from one address is slowed.

After NSI_SIGN_IN_FAILURES failed sign-ins within NSI_SIGN_IN_WINDOW_MINUTES, an
address gets 429 (with Retry-After) for any further try, right or wrong, until
fewer than that many of its failures are left in the window (a sliding window:
one more try each time its oldest failure leaves it). A successful sign-in
forgets the address's failures. Behind a proxy the address is the client's only
with NSI_TRUSTED_PROXIES set.

The failures live in the database (`sign_in_failure`, one row per failure), so
every worker of `nsi serve --workers N` and every instance on the same database
share one count, and a restart forgets nothing. Each failure is its own insert,
never a read-modify-write of a counter, so two workers failing at the same
moment both count. What is not atomic is the check before a try: requests
already past the check when the limit is reached still get their answer, so
an address can exceed the limit by at most the number of requests it has in
flight at once. A throttled try reads one indexed range and writes nothing;
rows older than the window are deleted as new failures come in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from registry import db
from registry.models.auth import SignInFailure

ADDRESS_LENGTH = 100  # the column's width; longer "addresses" (never a real one) are cut to it


def now_utc() -> datetime:
    """The throttle's clock: the current time in UTC, to the microsecond (failures a moment apart stay apart)."""
    return datetime.now(timezone.utc)


class SignInThrottle:
    """Failures per address in a sliding window of `window_seconds`, shared through `store`'s database;
    at `limit` of them (0: no limit) the address waits."""

    def __init__(self, store, limit: int, window_seconds: float, clock=now_utc):
        self.store, self.limit, self.window, self.clock = store, limit, timedelta(seconds=window_seconds), clock

    def wait_seconds(self, address: str) -> int:
        """How long `address` must wait before its next try (0: it may try now): until the `limit`-th newest
        of its failures in the window leaves it."""
        if self.limit <= 0:
            return 0
        now, table = self.clock(), SignInFailure.__table__
        with self.store.engine.connect() as conn:
            recent = conn.execute(sa.select(table.c.failed_at)
                                  .where(table.c.address == _key(address), table.c.failed_at > now - self.window)
                                  .order_by(table.c.failed_at.desc()).limit(self.limit)).scalars().all()
        if len(recent) < self.limit:
            return 0
        return max(1, int((recent[-1] + self.window - now).total_seconds() + 0.999))

    def failed(self, address: str) -> None:
        """Count one failed sign-in of `address`, and delete every failure that has left the window."""
        now, table = self.clock(), SignInFailure.__table__
        with db.write_transaction(self.store.engine) as conn:
            conn.execute(table.insert().values(address=_key(address), failed_at=now))
            conn.execute(table.delete().where(table.c.failed_at <= now - self.window))

    def succeeded(self, address: str) -> None:
        """Forget the failures of `address` (a reviewer who mistyped once is not held back later)."""
        table = SignInFailure.__table__
        with db.write_transaction(self.store.engine) as conn:
            conn.execute(table.delete().where(table.c.address == _key(address)))


def _key(address: str) -> str:
    return address[:ADDRESS_LENGTH]
