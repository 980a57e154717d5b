"""Fixed-width text: each column is a span of characters, as mainframe and older national exports write them.

The profile declares the columns in `[read.layout]`, by name, with a start
position (1-based, as layouts are printed) and a width or an end (inclusive):
`CODE = { start = 1, width = 6 }`, `NAME = { start = 7, end = 86 }`.
`header_lines` and `trailer_lines` are skipped at the start and the end of
the file; blank lines are no records. Values are trimmed of spaces unless
`trim = false`. Lines are streamed, holding back only the trailer's length.
"""

from __future__ import annotations

from collections import deque
from typing import Iterator

from registry.errors import ImportRejected, Problem
from importers.findings import Findings
from importers.mapper import map_table
from importers.profile import Profile
from importers.source import Source
from importers.table import Table, clean_cells

READS = "fixed-width text"
NEEDS_PROFILE = "fixed-width text needs a profile (--profile) with its [read.layout]"
FIELDS_REQUIRED = True
READ_KEYS = {"layout", "header_lines", "trailer_lines", "trim", "fill_down"}


def sniff(source: Source) -> bool:
    """Never guessed: a fixed-width file looks like any text file, so it takes a profile."""
    return False


def _count(read: dict, key: str) -> int | None:
    value = read.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def check_read(read: dict) -> str | None:
    """What is wrong with a profile's [read] table for fixed-width text, if anything."""
    layout = read.get("layout")
    if not isinstance(layout, dict) or not layout:
        return ("format fixed-width needs [read.layout]: each column's start and width (or end), "
                "e.g. CODE = { start = 1, width = 6 }")
    spans = []
    for name, span in layout.items():
        where = f"[read].layout.{name}"
        if not isinstance(span, dict) or set(span) - {"start", "width", "end"}:
            return f"{where} must be a table of start and width (or end), e.g. {{ start = 1, width = 6 }}"
        if ("width" in span) == ("end" in span):
            return f"{where} needs start and exactly one of width or end"
        numbers = [span.get(k) for k in ("start", "width", "end") if k in span]
        if "start" not in span or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                          for n in numbers):
            return f"{where}: start, width and end are character positions from 1 (got {span!r})"
        end = span["start"] + span["width"] - 1 if "width" in span else span["end"]
        if end < span["start"]:
            return f"{where}: end {end} is before start {span['start']}"
        spans.append((span["start"], end, name))
    spans.sort()
    for (s1, e1, n1), (s2, e2, n2) in zip(spans, spans[1:]):
        if s2 <= e1:
            return (f"[read].layout.{n2} (characters {s2}-{e2}) overlaps [read].layout.{n1} (characters {s1}-{e1})")
    for key in ("header_lines", "trailer_lines"):
        if _count(read, key) is None:
            return f"[read].{key} must be a number of lines (got {read[key]!r})"
    if not isinstance(read.get("trim", True), bool):
        return "[read].trim must be true or false"
    return None


def read_fixed(source: Source, profile: Profile, findings: Findings) -> Table:
    """The file as a Table whose columns are the layout's names and whose rows are the file's lines."""
    read = profile.read
    codec, warning = source.detect_encoding(read.get("encoding", "auto"))
    if warning:
        findings.warn(Problem(warning, file=source.name, kind="encoding"))
    layout = read["layout"]
    slices = [slice(s["start"] - 1, s["start"] - 1 + s["width"] if "width" in s else s["end"])
              for s in layout.values()]
    header_lines, trailer_lines = read.get("header_lines", 0), read.get("trailer_lines", 0)
    trim = read.get("trim", True)
    clean = clean_cells(profile)

    def rows() -> Iterator[tuple]:
        held: deque = deque()
        seen = 0
        for number, line in enumerate(source.text_lines(codec), 1):
            if number == 1:
                line = line.lstrip("\ufeff")
            seen = number
            if number <= header_lines:
                continue
            held.append((number, line))
            if len(held) <= trailer_lines:
                continue
            number, line = held.popleft()
            if not line.strip():
                continue
            cells = [line[s].strip() if trim else line[s] for s in slices]
            yield number, (clean(cells) if clean else cells), None
        if seen <= header_lines + trailer_lines:
            raise ImportRejected([Problem(
                f"the file has {seen} line(s), all of them header ({header_lines}) or trailer ({trailer_lines}) "
                f"lines: no records", file=source.name, kind="empty")])
    return Table(list(layout), rows(), header_row=None)


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of a fixed-width file, one per line, mapped by the profile."""
    return map_table(read_fixed(source, profile, findings), profile, findings, language)
