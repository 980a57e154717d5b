"""The sign-in throttle counts in the database: shared by every process and instance, exact under concurrency.

Both databases. The web behaviour (429, Retry-After, the message) is in tests/web/test_review_session.py.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from registry.models import SignInFailure
from registry.sign_in_throttle import SignInThrottle
from registry.store import Store

FAILURES = SignInFailure.__table__
START = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)


def rows(store) -> list[tuple[str, datetime]]:
    with store.engine.connect() as conn:
        return [(r.address, r.failed_at) for r in
                conn.execute(sa.select(FAILURES.c.address, FAILURES.c.failed_at).order_by(FAILURES.c.id))]


def test_the_window_slides_a_success_forgets_and_zero_turns_it_off(store):
    now = [START]
    throttle = SignInThrottle(store, 2, 60, clock=lambda: now[0])
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait_seconds("a") == 0  # one failure since the success
    now[0] += timedelta(seconds=10)
    throttle.failed("a")
    assert throttle.wait_seconds("a") == 50  # until the older of the two leaves the window
    assert throttle.wait_seconds("b") == 0  # another address
    now[0] += timedelta(seconds=50)
    assert throttle.wait_seconds("a") == 0  # one failure left in the window: one more try
    throttle.failed("a")
    assert throttle.wait_seconds("a") == 10  # the window slides: held again until the next oldest leaves
    assert SignInThrottle(store, 0, 60, clock=lambda: now[0]).wait_seconds("a") == 0  # 0 turns the limit off


def test_failures_out_of_the_window_are_deleted_as_new_ones_come_in(store):
    now = [START]
    throttle = SignInThrottle(store, 10, 60, clock=lambda: now[0])
    for address in ("a", "b", "c"):
        throttle.failed(address)
    now[0] += timedelta(seconds=30)
    throttle.failed("a")
    assert [address for address, _ in rows(store)] == ["a", "b", "c", "a"]
    now[0] += timedelta(seconds=31)
    throttle.failed("d")
    assert rows(store) == [("a", START + timedelta(seconds=30)), ("d", START + timedelta(seconds=61))]


def test_an_overshoot_waits_until_fewer_than_the_limit_are_left(store):
    """Failures beyond the limit (requests that were past the check when it was reached) are not forgotten:
    the address waits until the limit-th newest leaves the window, not only the oldest."""
    now = [START]
    throttle = SignInThrottle(store, 2, 60, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("a")
        now[0] += timedelta(seconds=10)
    assert throttle.wait_seconds("a") == 40  # failures at 0, 10, 20; now 30: the one at 10 leaves at 70
    now[0] += timedelta(seconds=30)  # 60: the one at 0 has left, two remain
    assert throttle.wait_seconds("a") == 10


def test_failures_at_the_same_moment_from_two_instances_all_count(store):
    """Two stores with their own engines (two instances, or two workers) each record failures of one address
    from 4 threads started together: every failure is counted, none lost to a race."""
    other = Store.open()
    try:
        throttles = [SignInThrottle(s, 1000, 900) for s in (store, other)]
        start = threading.Barrier(8)
        errors = []

        def fail(throttle):
            try:
                start.wait()
                for _ in range(10):
                    throttle.failed("198.51.100.7")
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=fail, args=(throttles[n % 2],)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(rows(store)) == 80
        limited = SignInThrottle(other, 80, 900)
        assert limited.wait_seconds("198.51.100.7") > 0 and SignInThrottle(store, 81, 900).wait_seconds(
            "198.51.100.7") == 0
    finally:
        other.engine.dispose()


def test_an_overlong_address_is_cut_to_the_column(store):
    throttle = SignInThrottle(store, 1, 60)
    throttle.failed("x" * 300)
    assert throttle.wait_seconds("x" * 300) > 0 and rows(store)[0][0] == "x" * 100
