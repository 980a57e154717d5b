"""EXPERIMENTAL (off by default, `NSI_LOOKUP_FILES`): lookup answers of a published version in a file, read through mmap.

A prototype measured by `bench/lookup_mmap.py` (docs/performance.md, "Lookup bodies in a memory-mapped file"):
the exact body that `publishing.entry_detail_json` answers for every code of a published version, written once
into `cache/lookup/<slug>/<seq>-<checksum>.lkp`, so that a cold lookup runs no SQL: the code is found by a
binary search (numpy's `searchsorted`) over the version's sorted codes and the body is a slice of the map.
Nothing builds the files on its own yet (the bench does); a real implementation would build them after
publish in the search builder's process and delete them with their version.

File layout, little-endian: magic `NSILKP01`, the entry count n and the code width w (8 bytes each); the n
codes as UTF-8, sorted bytewise, each padded with NUL to w bytes; n + 1 offsets (8 bytes each) of the bodies,
relative to the first body; the bodies, in code order.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from registry import publishing
from registry.errors import NotFound
from registry.store.reads import VersionRef

MAGIC = b"NSILKP01"
HEADER = struct.Struct("<8sQQ")
SPAN = struct.Struct("<QQ")
RECHECK_SECONDS = 5.0  # a version without a file is looked for again after this long (its file may be built since)


def path_for(store, ref: VersionRef) -> Path:
    """Where the lookup file of published version `ref` lives (its checksum in the name: a rebuilt store never
    answers from another store's file)."""
    return store.data_dir / "cache" / "lookup" / ref.catalog / f"{ref.seq}-{(ref.checksum or 'none')[:16]}.lkp"


def write(store, ref: VersionRef) -> tuple[Path, int, int]:
    """Write the lookup file of published version `ref` (atomically: a temporary file renamed into place).

    Each body is `publishing.entry_detail_json`'s, so a lookup from the file answers
    byte for byte what the SQL path does. Returns (path, entries, bytes).
    """
    if ref.is_draft:
        raise ValueError("lookup files hold published versions only")
    table, where = publishing.version_rows(ref)
    with store.engine.connect() as conn:
        codes = sorted(code.encode() for code in conn.execute(sa.select(table.c.code).where(where)).scalars())
    if any(b"\0" in code for code in codes):
        raise ValueError(f"a code of {ref.catalog} {ref.label} holds a NUL byte, which the padded index cannot")
    width = max((len(code) for code in codes), default=1)
    bodies_at = HEADER.size + len(codes) * width + (len(codes) + 1) * 8
    path = path_for(store, ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".build-{uuid.uuid4().hex}.lkp")
    try:
        with open(tmp, "wb") as f:
            f.seek(bodies_at)
            offsets = [0]
            for code in codes:
                offsets.append(offsets[-1] + f.write(publishing.entry_detail_json(store, ref, code.decode())
                                                     .encode()))
            f.seek(0)
            f.write(HEADER.pack(MAGIC, len(codes), width))
            f.write(np.array(codes, dtype=f"S{width}").tobytes())  # NUL-padded to the width
            f.write(np.array(offsets, dtype="<u8").tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, len(codes), bodies_at + offsets[-1]


class LookupFile:
    """One version's lookup file, memory-mapped read-only (the pages are shared by every worker through the
    page cache)."""

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        magic, self._count, self._width = HEADER.unpack_from(self._map)
        if magic != MAGIC:
            raise ValueError(f"{path} is not a lookup file")
        self._codes = np.frombuffer(self._map, dtype=f"S{self._width}", count=self._count, offset=HEADER.size)
        self._offsets_at = HEADER.size + self._count * self._width
        self._bodies_at = self._offsets_at + (self._count + 1) * 8

    def body(self, code: str) -> bytes | None:
        """The answer for `code` (UTF-8 JSON), or None when the version has no such code."""
        key = code.encode()
        i = int(self._codes.searchsorted(key))
        if i == self._count or len(key) > self._width or self._codes[i] != key or b"\0" in key:
            return None
        start, end = SPAN.unpack_from(self._map, self._offsets_at + 8 * i)
        return self._map[self._bodies_at + start:self._bodies_at + end]

    def answer(self, ref: VersionRef, code: str) -> bytes:
        """The answer for `code`; NotFound, with the SQL path's message, when the version has no such code."""
        body = self.body(code)
        if body is None:
            raise NotFound(f"code {code!r} is not in {ref.catalog} version {ref.label}")
        return body


class LookupFiles:
    """The lookup files of a serving process, opened on first use per published version."""

    def __init__(self, store):
        self._store = store
        self._open: dict[tuple, LookupFile | float] = {}  # a float: no file there at that time.monotonic()
        self._lock = threading.Lock()

    def file_for(self, ref: VersionRef) -> LookupFile | None:
        """The lookup file of published version `ref`, or None when it has none (yet)."""
        key = (ref.catalog_id, ref.seq, ref.checksum)
        found = self._open.get(key)
        if found is None or (found.__class__ is float and time.monotonic() - found > RECHECK_SECONDS):
            found = self._load(key, ref)
        return None if found.__class__ is float else found

    def _load(self, key: tuple, ref: VersionRef) -> LookupFile | float:
        with self._lock:
            path = path_for(self._store, ref)
            try:
                found = LookupFile(path)
            except FileNotFoundError:
                found = time.monotonic()
            self._open[key] = found
            return found
