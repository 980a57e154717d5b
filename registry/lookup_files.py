"""Lookup answers of each catalog's latest version in a file of this instance, read through mmap (`NSI_LOOKUP_FILES`).

The exact body that `publishing.entry_detail_json` answers for every code of a catalog's `latest` version (its
newest published one), written once into `cache/lookup/<slug>/<seq>-<digest>.lkp` under the instance's data
folder, so that a cold lookup runs no SQL: the code is found by a binary search (numpy's `searchsorted`) over the
version's sorted codes and the body is a slice of the map (docs/performance.md, "Lookup bodies in a
memory-mapped file"). Older versions and drafts are answered by SQL, so the disk grows with the catalogs' sizes
(about 0.5 KB per entry), not with their versions.

`sync` writes the missing files and removes those of versions that are no longer any catalog's latest (and the
temporary files of killed builds), under an exclusive `flock` on a lock file of the instance: several workers'
builders never write the same file, and each `nsi serve` instance on one PostgreSQL has its own files (the
database's search leases are per database, not per instance). It runs in the search builder's process
(`registry.search.builder`), which a serving worker's indexer starts when `due` says the files are behind.

File layout, little-endian: magic `NSILKP02`, the entry count n, the index width w and the longest code's length
(8 bytes each); the n codes as UTF-8, sorted bytewise, each cut to w bytes and padded with NUL to w bytes (the
index); n + 1 offsets (8 bytes each) of the records, relative to the first record; the records, in code order.

A record is the entry's body, except when some code is longer than w (`longest > w`) and the entry's index slot is
full (its code has w bytes or more, so the slot may be a cut code): then the record is the code's length (4 bytes),
the whole code and the body, and a lookup compares the whole code. w is the longest code's length when the codes are
alike; past that, one more than the longest but the 0.1% longest (`TAIL`), and at most `WIDTH_CAP`: a few long codes
(a 500-byte one among 100,000 of 10 bytes, say) no longer pad every slot of the index to their length.
"""

from __future__ import annotations

import bisect
import fcntl
import hashlib
import logging
import mmap
import os
import struct
import threading
import time
import uuid
import weakref
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from registry import publishing
from registry.store.reads import VersionRef

log = logging.getLogger(__name__)
MAGIC = b"NSILKP02"
"""The file format's version: a file of another format is never read (and its name, which holds the format, is
never looked for: the next sync removes it and writes the file again)."""
HEADER = struct.Struct("<8sQQQ")
SPAN = struct.Struct("<QQ")
CODE_LENGTH = struct.Struct("<I")
WIDTH_CAP = 64
"""The widest an index slot gets: past it, a code's slot holds its first WIDTH_CAP bytes and its record the whole
code. 64 keeps codes like OIDs and UUIDs whole, where 32 cut them all: lookups of cut codes cost about 2 us more
(docs/performance.md, "Lookup files: long codes cut in the index")."""
TAIL = 1000
"""At most one code in TAIL (the longest) is longer than the index width, when the cap does not decide it."""
RECHECK_SECONDS = 5.0
"""How often a serving process looks again at the files it found or missed (one `stat` per version it asked for),
at a request and, while it holds any, on a timer: a new file is used, and a removed one (its version no longer
latest) is dropped and its disk freed, within this long."""
LOCK = ".lock"


def folder(store) -> Path:
    """The instance's lookup files: a folder per catalog."""
    return store.data_dir / "cache" / "lookup"


def path_for(store, ref: VersionRef) -> Path:
    """Where the lookup file of published version `ref` lives. Its name holds a digest of the file format
    (`MAGIC`: a file of an older format is swept and written again, never read) and of the version's id, label
    and checksum, everything an answer says of its version besides the catalog (the folder): a data folder
    restored beside another database, or a version published again under another label, never answers from a
    file written for another version."""
    identity = hashlib.sha256(f"{MAGIC.decode()}\0{ref.version_id}\0{ref.label}\0{ref.checksum or ''}"
                              .encode()).hexdigest()[:16]
    return folder(store) / ref.catalog / f"{ref.seq}-{identity}.lkp"


def index_width(lengths: list[int]) -> int:
    """The width of the index's slots for codes of these lengths (in bytes, sorted ascending): the longest when
    the codes are alike, otherwise one more than the longest but the `TAIL`th longest (so that a code that length
    or shorter never fills its slot), at most `WIDTH_CAP`."""
    if not lengths:
        return 1
    usual = lengths[len(lengths) - 1 - len(lengths) // TAIL]
    return max(1, min(lengths[-1], usual + 1, WIDTH_CAP))


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
    longest = max((len(code) for code in codes), default=0)
    width = index_width(sorted(len(code) for code in codes))
    spills = longest > width  # some codes are cut in the index: a full slot's record holds the whole code
    records_at = HEADER.size + len(codes) * width + (len(codes) + 1) * 8
    path = path_for(store, ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".build-{uuid.uuid4().hex}.lkp")
    try:
        with open(tmp, "wb") as f:
            f.seek(records_at)
            offsets = [0]
            for code in codes:
                size = 0
                if spills and len(code) >= width:
                    size = f.write(CODE_LENGTH.pack(len(code)) + code)
                size += f.write(publishing.entry_detail_json(store, ref, code.decode()).encode())
                offsets.append(offsets[-1] + size)
            f.seek(0)
            f.write(HEADER.pack(MAGIC, len(codes), width, longest))
            f.write(np.array([code[:width] for code in codes], dtype=f"S{width}").tobytes())  # NUL-padded
            f.write(np.array(offsets, dtype="<u8").tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, len(codes), records_at + offsets[-1]


def wanted(store) -> dict[Path, VersionRef]:
    """The files this instance should hold: one per catalog with a published version, its latest."""
    return {path_for(store, ref): ref for ref in store.latest_versions()}


def present(store) -> set[Path]:
    """The files this instance holds in the catalogs' folders: lookup files and the temporary files of builds."""
    found = set()
    try:
        folders = [entry.path for entry in os.scandir(folder(store)) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return found
    for path in folders:
        try:
            found.update(Path(entry.path) for entry in os.scandir(path))
        except FileNotFoundError:  # removed by a builder's sweep meanwhile
            pass
    return found


def due(store) -> bool:
    """Whether `sync` has work: a latest version without its file, or a file that is no latest version's (a
    version published since, retired or deleted, or a killed build's temporary file). One query and a listing."""
    return set(wanted(store)) != present(store)


def sync_logged(store) -> None:
    """`sync`, with a failure (a full disk, say) logged instead of raised: lookups go by SQL meanwhile, and the
    builder goes on to the search index."""
    try:
        sync(store)
    except Exception:
        log.exception("lookup files could not be written; lookups go by SQL until a change of the database or a "
                      "restart tries again")


def sync(store) -> tuple[list[VersionRef], int]:
    """Make this instance's files what `wanted` says: remove the others, then write the missing ones; the
    versions written and the number of files removed. A file that cannot be written does not stop the others;
    the first such error is raised once they are done.

    Under an exclusive `flock` on the folder's lock file, so that two builders of one instance (two workers'
    polls) never write the same file at once: the second waits, then finds the files written. Nobody else
    writes there, so a temporary file found under the lock is a killed build's, and is removed.
    """
    root = folder(store)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "ab") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        want = wanted(store)
        have = present(store)
        stale = have - set(want)
        for path in stale:
            path.unlink(missing_ok=True)
        written, failed = [], []
        for path, ref in want.items():
            if path not in have:
                try:
                    write(store, ref)
                except Exception as exc:  # a full disk, say: the catalogs after this one still get theirs
                    failed.append(exc)
                    continue
                written.append(ref)
        for entry in os.scandir(root):
            if entry.is_dir(follow_symlinks=False) and not any(os.scandir(entry.path)):
                os.rmdir(entry.path)  # a deleted catalog's, or one without a published version any more
    if written or stale:
        log.info("lookup files: %d written (%s), %d removed", len(written),
                 ", ".join(f"{ref.catalog} {ref.label}" for ref in written) or "none", len(stale))
    if failed:
        raise failed[0]
    return written, len(stale)


class LookupFile:
    """One version's lookup file, memory-mapped read-only (the pages are shared by every worker through the
    page cache)."""

    def __init__(self, path: Path, populate: bool = False):
        self.path = path
        self.populated = populate and hasattr(mmap, "MAP_POPULATE")
        with open(path, "rb") as f:
            found = os.fstat(f.fileno())
            self._identity = (found.st_dev, found.st_ino)
            flags = mmap.MAP_SHARED | (getattr(mmap, "MAP_POPULATE", 0) if populate else 0)  # every page at once
            self._map = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
        magic, self._count, self._width, longest = HEADER.unpack_from(self._map)
        if magic != MAGIC:
            raise ValueError(f"{path} is not a lookup file of this format ({MAGIC.decode()})")
        if not 1 <= self._width <= max(longest, 1):
            raise ValueError(f"{path} has an index width ({self._width}) its codes ({longest} bytes) cannot have")
        self._spills = longest > self._width
        self._codes = np.frombuffer(self._map, dtype=f"S{self._width}", count=self._count, offset=HEADER.size)
        self._offsets_at = HEADER.size + self._count * self._width
        self._records_at = self._offsets_at + (self._count + 1) * 8
        if len(self._map) < self._records_at or len(self._map) != self._records_at + struct.unpack_from(
                "<Q", self._map, self._offsets_at + 8 * self._count)[0]:
            raise ValueError(f"{path} is cut short or too long: not the file its header describes")

    def current(self) -> bool:
        """Whether the file mapped is still the one at its path (not removed nor replaced since)."""
        try:
            found = os.stat(self.path)
        except OSError:  # removed, or not to be looked at any more (permissions, a stale network mount)
            return False
        return (found.st_dev, found.st_ino) == self._identity

    def body(self, code: str) -> bytes | None:
        """The answer for `code` (UTF-8 JSON), or None when the version has no such code."""
        key = code.encode()
        width = self._width
        if len(key) > width and not self._spills or b"\0" in key:
            return None
        slot = key[:width]
        i = int(self._codes.searchsorted(slot))
        if i == self._count or self._codes[i] != slot:
            return None
        if len(key) >= width and self._spills:  # the slot may be a cut code, or several: compare whole codes
            return self._spilled_body(key, i)
        start, end = SPAN.unpack_from(self._map, self._offsets_at + 8 * i)
        return self._map[self._records_at + start:self._records_at + end]

    def _spilled_body(self, key: bytes, first: int) -> bytes | None:
        """The body of the code `key`, which fills its index slot, among the entries from `first` whose slot is
        the same (usually one: codes that share their first `width` bytes): a binary search of their whole
        codes, which their records hold."""
        after = int(self._codes.searchsorted(key[:self._width], side="right"))
        i = bisect.bisect_left(range(self._count), key, first, after, key=self._whole_code)
        if i == after or self._whole_code(i) != key:
            return None
        start, end = SPAN.unpack_from(self._map, self._offsets_at + 8 * i)
        (length,) = CODE_LENGTH.unpack_from(self._map, self._records_at + start)
        return self._map[self._records_at + start + CODE_LENGTH.size + length:self._records_at + end]

    def _whole_code(self, i: int) -> bytes:
        """The whole code of entry `i`, from its record (an entry whose slot is full, in a file that spills)."""
        (start,) = struct.unpack_from("<Q", self._map, self._offsets_at + 8 * i)
        (length,) = CODE_LENGTH.unpack_from(self._map, self._records_at + start)
        at = self._records_at + start + CODE_LENGTH.size
        return self._map[at:at + length]

    def answer(self, ref: VersionRef, code: str) -> bytes:
        """The answer for `code`; the SQL path's NotFound when the version has no such code."""
        body = self.body(code)
        if body is None:
            raise publishing.code_not_found(ref, code)
        return body


class LookupFiles:
    """The lookup files of a serving process, opened on first use per version, looked at again every
    `RECHECK_SECONDS`: a request never pays for more than a dictionary look-up, but one in that time pays for a
    `stat` per version asked for. While the process holds a map (or remembers a missing file), a thread of its
    own looks again on that timer too, so that a removed file's map is dropped, and its disk freed, though no
    request asks for its version any more (`recheck_while_mapped`)."""

    def __init__(self, store):
        self._store = store
        self._open: dict[tuple, LookupFile | None] = {}  # None: no file there when last looked
        self._checked_at = time.monotonic()
        self._lock = threading.Lock()
        self._timer: threading.Thread | None = None  # runs recheck_while_mapped while _open holds anything
        _instances.add(self)

    def file_for(self, ref: VersionRef) -> LookupFile | None:
        """The lookup file of published version `ref`, or None when it has none (yet, or any more)."""
        if time.monotonic() - self._checked_at > RECHECK_SECONDS:
            self._recheck()
        key = (ref.catalog_id, ref.seq, ref.checksum)
        found = self._open.get(key, False)
        return self._load(key, ref) if found is False else found

    def _load(self, key: tuple, ref: VersionRef) -> LookupFile | None:
        with self._lock:
            found = self._open.get(key, False)
            if found is not False:  # another request mapped it meanwhile
                return found
            path = path_for(self._store, ref)
            try:
                found = LookupFile(path)
            except FileNotFoundError:
                found = None
            except (OSError, ValueError, struct.error) as exc:  # damaged from outside: answer by SQL
                log.warning("lookup file %s cannot be read (%s); lookups of %s %s go by SQL", path, exc,
                            ref.catalog, ref.label)
                found = None
            self._open[key] = found
            if self._timer is None or not self._timer.is_alive():  # not alive: the one of the process forked from
                self._timer = threading.Thread(target=recheck_while_mapped, args=(weakref.ref(self),),
                                               name="nsi-lookup-recheck", daemon=True)
                self._timer.start()
        if found is not None:
            threading.Thread(target=self._populate, args=(key, found), name="nsi-lookup-populate", daemon=True).start()
        return found

    def _populate(self, key: tuple, mapped: LookupFile) -> None:
        """Map `mapped`'s file once more with all its pages at once (Linux's `MAP_POPULATE`), off the request path,
        and answer from that map from then on.

        Otherwise each lookup takes a page fault the first time this process reads a page of the file: two or
        three per lookup of a 1M-entry catalog, whose codes rarely repeat, and under wrk they cost the 1M lookups
        about a tenth of their CPU (84-86% of bare against 89-104% populated). Populating a 1M version's map
        takes about 50 ms when the file is in the page cache, and reads it from disk when not (seconds): the
        requests meanwhile use the first map."""
        try:
            populated = LookupFile(mapped.path, populate=True)
        except (OSError, ValueError):
            return
        with self._lock:
            if self._open.get(key) is mapped and populated._identity == mapped._identity:
                self._open[key] = populated

    def _recheck(self) -> None:
        """Forget the versions without a file (looked for again at their next request) and drop the maps whose
        file was removed or replaced: a map is unmapped when the last request reading it ends, and the disk of
        an unlinked file is freed then."""
        with self._lock:
            self._checked_at = time.monotonic()
            self._open = {key: file for key, file in self._open.items() if file is not None and file.current()}

    def _recheck_unless_idle(self) -> bool:
        """`_recheck`, for the timer: False, with the timer forgotten (a later `_load` starts another), when
        nothing is held, nothing to look at."""
        with self._lock:
            if not self._open:
                self._timer = None
                return False
        self._recheck()
        return True


_instances: weakref.WeakSet = weakref.WeakSet()  # every LookupFiles of this process


def _after_fork_in_child() -> None:
    """In a forked process (a gunicorn worker), a fresh lock and no timer for each `LookupFiles`: the parent's
    lock may have been held by one of its threads at the fork, and its timer thread does not exist here."""
    for files in list(_instances):
        files._lock = threading.Lock()
        files._timer = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def recheck_while_mapped(files: weakref.ref) -> None:
    """The timer of a `LookupFiles`: every `RECHECK_SECONDS` (at least a tenth of a second), look again at the files
    it holds, until it holds none (a `stat` per version: bounded by the catalogs, cheap) or is itself gone (an app
    dropped: it holds a weak reference only). Without it a worker that no request reaches kept a removed file's map,
    and its disk, until its next lookup."""
    while True:
        time.sleep(max(RECHECK_SECONDS, 0.1))
        held = files()
        if held is None or not held._recheck_unless_idle():
            return
        del held
