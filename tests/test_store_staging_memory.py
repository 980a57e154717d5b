"""What staging keeps per entry until the draft ends: the code set, numbered only when an ordinal is needed."""

from __future__ import annotations

import tracemalloc

import pytest

from registry.errors import ImportRejected, Position
from registry.models import CatalogCreate


def flat(codes):
    return [{"code": c, "display": f"Entry {c}"} for c in codes]


def rejected(store, entries) -> list[str]:
    with pytest.raises(ImportRejected) as err:
        store.stage_draft("c", "1", entries, file="f.csv")
    return [str(p) for p in err.value.problems]


def test_duplicates_name_their_first_row_before_and_after_the_codes_are_numbered(store):
    """The first duplicate numbers the codes staged so far; codes after it get their ordinal as they come."""
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    entries = (flat(f"A{i}" for i in range(3000))      # rows 1-3000
               + flat(["A1500"])                         # row 3001: the first duplicate
               + flat(f"B{i}" for i in range(10))       # rows 3002-3011, staged after the numbering
               + flat(["B7", "A0", "A2999", "B0"]))      # rows 3012-3015
    assert rejected(store, entries) == [
        "f.csv, row 3001, column code: duplicate code A1500 (first at row 1501)",
        "f.csv, row 3012, column code: duplicate code B7 (first at row 3009)",
        "f.csv, row 3013, column code: duplicate code A0 (first at row 1)",
        "f.csv, row 3014, column code: duplicate code A2999 (first at row 3000)",
        "f.csv, row 3015, column code: duplicate code B0 (first at row 3002)",
    ]


def test_a_cycle_is_reported_with_its_codes_when_the_codes_are_numbered_for_it(store):
    """The cycle check asks for ordinals at the end of the draft: the codes are numbered then."""
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    entries = (flat(f"A{i}" for i in range(50))
               + [{"code": "X", "display": "X", "parents": ["Y"]}, {"code": "Y", "display": "Y", "parents": ["X"]},
                  {"code": "Z", "display": "Z", "parents": ["A7"]}])
    assert rejected(store, entries) == ["f.csv, row 51, column parents: entries X → Y → X form a parent cycle"]


def test_rows_past_32_bits_are_kept_as_they_are(store):
    """Row numbers sit in a 4-byte array; one that does not fit moves them to a list, not an error."""
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    big = 2 ** 40
    entries = [{"code": "A", "display": "A", "_pos": Position("f.csv", None, 7)},
               {"code": "B", "display": "B", "_pos": Position("f.csv", None, big)},
               {"code": "B", "display": "B", "_pos": Position("f.csv", None, big + 1)},
               {"code": "A", "display": "A", "_pos": Position("f.csv", None, big + 2)}]
    assert rejected(store, entries) == [f"f.csv, row {big + 1}, column code: duplicate code B (first at row {big})",
                                        f"f.csv, row {big + 2}, column code: duplicate code A (first at row 7)"]


def _staging_peak(store, label: str, n: int) -> int:
    """Peak of Python allocations while staging n flat entries whose codes are made as they are read."""
    def entries():
        for i in range(n):
            yield {"code": f"C{i:07d}", "display": "Entry"}
    tracemalloc.start()
    try:
        store.stage_draft("c", label, entries(), dry_run=True)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_staging_keeps_about_a_code_and_a_dict_slot_per_entry(store):
    """Memory regression guard for the 1M-row import (< 300 MB): what staging holds per entry until the end.

    The difference of two peaks cancels what does not grow with the draft (a batch of rows, the
    connection). 20k and 80k entries fill their dicts' tables alike (2^15 and 2^17 slots), and both
    peaks come with a full batch of 10,000 rows. Kept per entry: the code (57 bytes for `C0000001`),
    its dict slot (24 bytes here) and its row in a 4-byte array, about 85 bytes; an int ordinal per
    entry as well (28 bytes, and 8-byte rows) would make it about 117.
    """
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    small, large = _staging_peak(store, "1", 20_000), _staging_peak(store, "2", 80_000)
    per_entry = (large - small) / 60_000
    assert 70 < per_entry < 100, f"{per_entry:.1f} bytes per staged entry"


@pytest.mark.parametrize("db_env", ["sqlite"], indirect=True)
def test_the_big_page_cache_is_taken_only_to_read_the_staged_draft_back(store, monkeypatch):
    """While rows stream in, the connection keeps its own small cache (a 1M-row draft would fill a big one
    for nothing); the indexes, counts and checksum get STAGING_CACHE_KIB; afterwards it is restored."""
    from registry.store import drafts, staging
    seen = {}

    def cache_size(conn) -> int:
        return conn.connection.dbapi_connection.execute("PRAGMA cache_size").fetchone()[0]

    def spy(name):
        real = getattr(drafts, name)

        def wrapper(conn, *args, **kwargs):
            seen[name] = cache_size(conn)
            return real(conn, *args, **kwargs)
        monkeypatch.setattr(drafts, name, wrapper)

    spy("stream_into_staging")
    spy("compare_with_version")
    store.create_catalog(CatalogCreate(slug="c", title="C"))
    with store.engine.connect() as conn:
        default = cache_size(conn)
    store.stage_draft("c", "1", flat(["A", "B"]))
    assert seen == {"stream_into_staging": default, "compare_with_version": -staging.STAGING_CACHE_KIB}
    with store.engine.connect() as conn:
        assert cache_size(conn) == default
