"""The match index's one file, `entries.json`: a head line (format, rules fingerprint, the body's length and CRC-32),
then the body (the documents and tables of `index.py`), so that a stale index is told by its first line and a
damaged body (truncated, overwritten, cut short by a crash) before it is parsed.
"""

from __future__ import annotations

import gc
import json
import zlib
from contextlib import contextmanager
from pathlib import Path

from registry.errors import InvalidState

INDEX_FILE = "entries.json"


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for a block that builds many objects but no cycles.

    Reading an index's `entries.json` creates so many containers that the collector runs full
    collections of the whole heap (every imported module's objects too) in the middle of it: 0.05 s
    on top of the 0.015 s of the parse itself. Nothing is lost: the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_index_file(path: Path, meta: dict, format: int, rules: str) -> None:
    """Write `entries.json`: a head line (format, rules fingerprint, the body's length and CRC-32), then the body.

    The head lets `read_head` tell an index built with other rules by its first line alone, and
    `read_index_file` tell a damaged body before parsing it.
    """
    body = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    head = {"format": format, "rules": rules, "bytes": len(body), "crc32": zlib.crc32(body)}
    with open(path, "wb") as f:
        f.write(json.dumps(head).encode("ascii") + b"\n")
        f.write(body)  # no fsync: a body cut short by a crash fails its CRC-32 and the index is rebuilt


def _head(line: bytes) -> dict | None:
    try:
        head = json.loads(line)
    except ValueError:
        return None
    return head if isinstance(head, dict) else None


def read_head(path: Path) -> dict | None:
    """The head of the index file at `path` (format, rules, bytes, crc32), or None if it has none or cannot be read."""
    try:
        with open(path, "rb") as f:
            return _head(f.readline(1000))
    except OSError:
        return None


def read_index_file(path: Path, format: int) -> dict:
    """The body of an index file, after checking it is whole: InvalidState if the file is not of `format`,
    or its body is not as long as the head says or has another CRC-32."""
    raw = Path(path).read_bytes()
    end = raw.find(b"\n")
    head = _head(raw[:end]) if end > 0 else None
    body = raw[end + 1:] if head else b""
    if not head or head.get("format") != format or head.get("bytes") != len(body) or \
            head.get("crc32") != zlib.crc32(body):
        raise InvalidState(f"the match index at {path.parent} is damaged: rebuild it with `nsi index rebuild`")
    with _collector_paused():  # the reranking data: some 100k lists and strings, and no reference cycles
        return json.loads(body)
