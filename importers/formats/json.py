"""JSON, generically: records from a list, from an object's values, or from a path inside the document.

`[read].record_path` names where the records are (`data.items`; empty or
absent: the document itself). A list there gives one record per element
(`record 1`, `record 2`, ...); an object gives one record per value, with its
key under `[read].key_field` (default `key`: `{"A00": {...}}` gives the record
`{"key": "A00", ...}`; a plain value `{"A00": "Cholera"}` the record
`{"key": "A00", "value": "Cholera"}`).

Field paths are keys joined by dots, through nested objects and arrays:
`parent.code`, `names[lang=ru].text` (the elements of `names` whose `lang`
is `ru`), `names[0].text`, `synonyms` (every element of an array). Several
values become several designations or parents, an attribute's values are
joined (`join`, default ` | `), and a code or display must be one value. An
object or array where a value belongs is an error naming the record and the
path, never Python text such as `['A00.0', ...]`.

The file is streamed with ijson: one record in memory at a time. Nesting
deeper than MAX_DEPTH is refused as the bytes are read, before ijson parses
them (see `_DepthChecked`).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Iterator

import ijson

from registry.errors import ImportRejected, Position, Problem
from importers.findings import Findings
from importers.mapper import map_table
from importers.profile import Profile
from importers.source import Source
from importers.table import Table, json_kind

READS = "JSON"
NEEDS_PROFILE = "JSON other than FNSI's export or a FHIR CodeSystem needs a profile (--profile) naming its fields"
FIELDS_REQUIRED = True
READ_KEYS = {"record_path", "key_field", "lines"}

NAME = r"[^.\[\]=\s]+"
SEGMENT = re.compile(rf"({NAME})((?:\[(?:-?\d+|{NAME}=[^\]]*)\])*)")
PREDICATE = re.compile(r"\[([^\]]*)\]")
MAX_DEPTH = 100


def sniff(source: Source) -> bool:
    """Never guessed: profile-less JSON is FNSI's export or a FHIR CodeSystem (see those modules)."""
    return False


def check_path(path: str) -> str | None:
    """What is wrong with a field path, if anything (see the module docstring for the forms)."""
    if not all(SEGMENT.fullmatch(s) for s in _split(path)):
        return (f"{path!r} is not a JSON path this importer reads: keys joined by dots, each optionally with "
                f"[n] (an array index) or [key=value] (the array elements whose key has that value), e.g. "
                f"parent.code, names[lang=ru].text, names[0].text")
    return None


def check_read(read: dict) -> str | None:
    """What is wrong with a profile's [read] table for JSON, if anything."""
    for key in ("record_path", "key_field"):
        if key in read and not isinstance(read[key], str):
            return f"[read].{key} must be a string (got {read[key]!r})"
    if "lines" in read and not isinstance(read["lines"], bool):
        return f"[read].lines must be true or false (got {read['lines']!r})"
    if read.get("lines") and ("record_path" in read or "key_field" in read):
        return "[read].lines = true reads one record per line: record_path and key_field do nothing with it"
    path = read.get("record_path", "")
    if path and not all(re.fullmatch(NAME, s) for s in path.split(".")):
        return f"[read].record_path {path!r} must be keys joined by dots, e.g. data.items"
    return None


def _split(path: str) -> list[str]:
    """`names[lang=ru].text` -> ['names[lang=ru]', 'text']: dots inside a predicate's value do not split."""
    parts, depth, current = [], 0, ""
    for ch in path:
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (ch == "[") - (ch == "]")
        current += ch
    return parts + [current]


class Nested(Exception):
    """A path reached an object or an array of arrays where a value belongs."""


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def compile_path(path: str):
    """A function record -> None (nothing there), a text (one value) or a list of texts (several)."""
    steps = []
    for part in _split(path):
        m = SEGMENT.fullmatch(part)
        steps.append((m.group(1), PREDICATE.findall(m.group(2))))

    def items(node):
        return node if isinstance(node, list) else [node]

    def get(record):
        nodes = [record]
        for key, predicates in steps:
            nodes = [it[key] for n in nodes for it in items(n) if isinstance(it, dict) and it.get(key) is not None]
            for predicate in predicates:
                if "=" in predicate:
                    name, wanted = predicate.split("=", 1)
                    nodes = [it for n in nodes for it in items(n)
                             if isinstance(it, dict) and it.get(name) is not None and _text(it[name]) == wanted]
                else:
                    i = int(predicate)
                    nodes = [items(n)[i] for n in nodes if -len(items(n)) <= i < len(items(n))]
        values = [v for n in nodes for v in items(n) if v is not None]
        if any(isinstance(v, (dict, list)) for v in values):
            raise Nested(path)
        if not values:
            return None
        return _text(values[0]) if len(values) == 1 else [_text(v) for v in values]
    return get


def _open(source: Source):
    """The file in binary, past a UTF-8 byte order mark (which ijson does not expect), depth-checked as read."""
    f = open(source.path, "rb")
    if f.read(3) != b"\xef\xbb\xbf":
        f.seek(0)
    return _DepthChecked(f, source.name)


class _DepthChecked:
    """A binary file whose every chunk is refused, before ijson parses it, if it nests deeper than MAX_DEPTH.

    ijson's `parse` builds the prefix of every event of a 64 KiB buffer at once, each as long as its depth, so
    100 kB of `[` would take gigabytes before any check on its events ran; this checks the bytes on their way
    in, in the same single read. Only brackets outside strings count: escapes (`\\.`) are dropped, the chunk is
    cut down to its quotes and brackets, and the parts between quotes alternate in and out of strings (the
    state carries across chunks). Each chunk's bracket string is reduced by dropping `()` pairs, one nesting
    level per pass, which bounds its deepest point cheaply; only a chunk that might cross the limit is walked
    bracket by bracket. Exact on any valid prefix of JSON, which is all ijson reads before a syntax error.
    """

    ESCAPE = re.compile(rb"\\.", re.S)
    NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
    TO_PARENS = bytes.maketrans(b"[{]}", b"(())")
    STEP = {ord("("): 1, ord(")"): -1}

    def __init__(self, raw, name: str):
        self.raw, self.name = raw, name
        self.depth, self.in_string, self.escaped = 0, False, False

    def read(self, size: int = -1) -> bytes:
        """The next chunk, after checking its nesting."""
        chunk = self.raw.read(size)
        self._check(chunk)
        return chunk

    def _check(self, chunk: bytes) -> None:
        if not chunk:  # the end, or ijson's read(0) asking what the file gives: no state changes
            return
        if self.escaped:
            chunk, self.escaped = chunk[1:], False
        if b"\\" in chunk:
            chunk = self.ESCAPE.sub(b"", chunk)
            if chunk.endswith(b"\\"):
                chunk, self.escaped = chunk[:-1], True
        marks = chunk.translate(None, self.NOT_MARKS)
        if b'"' in marks:
            parts = marks.split(b'"')
            brackets = b"".join(parts[1 if self.in_string else 0::2])
            self.in_string ^= len(parts) % 2 == 0
        else:
            brackets = b"" if self.in_string else marks
        if not brackets:
            return
        brackets = brackets.translate(self.TO_PARENS)
        reduced, nesting = brackets, 0
        while b"()" in reduced and nesting <= MAX_DEPTH:
            reduced, nesting = reduced.replace(b"()", b""), nesting + 1
        closers = reduced.count(b")")
        openers = len(reduced) - closers
        if self.depth + openers + nesting > MAX_DEPTH and \
                max(accumulate(map(self.STEP.__getitem__, brackets), initial=self.depth)) > MAX_DEPTH:
            raise ImportRejected([Problem(f"the JSON is nested more than {MAX_DEPTH} levels deep; refused",
                                          file=self.name, kind="syntax")])
        self.depth += openers - closers

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.raw.close()


def _records(source: Source, record_path: str, key_field: str) -> Iterator[tuple[str, dict]]:
    """(row label, record) for each record, streamed."""
    prefix = record_path
    with _open(source) as f:
        kind = None
        for seen, event, _ in ijson.parse(f):
            if seen == prefix and event in ("start_array", "start_map"):
                kind = event
                break
    if kind is None:
        where = f"at {record_path!r}" if record_path else "as the document"
        raise ImportRejected([Problem(f"no list or object of records {where} ([read].record_path)",
                                      file=source.name, kind="wrong_shape")])
    with _open(source) as f:
        if kind == "start_array":
            for n, value in enumerate(ijson.items(f, f"{prefix}.item" if prefix else "item", use_float=True), 1):
                if not isinstance(value, dict):
                    raise ImportRejected([Problem(
                        f"record {n} is {json_kind(value)}, not an object",
                        file=source.name, row=f"record {n}", kind="wrong_shape")])
                yield f"record {n}", value
        else:
            for key, value in ijson.kvitems(f, prefix, use_float=True):
                record = dict(value) if isinstance(value, dict) else {"value": value}
                record[key_field] = key
                yield f"record {key}", record


def _lines(source: Source) -> Iterator[tuple[str, dict]]:
    """(row label, record) for each line of a JSON Lines file (`[read].lines = true`): one object per line.

    Read a line at a time, so memory is one record whatever the size; blank lines are no records. A line that
    is not a JSON object is an error naming it.
    """
    import json

    def refuse(n, message):
        return ImportRejected([Problem(message, file=source.name, row=f"line {n}", kind="syntax")])
    with open(source.path, "rb") as f:  # line by line: each line's depth is checked below, not by _open's reader
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise refuse(n, f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}") from None
            if not text.strip():
                continue
            try:
                value = json.loads(text.rstrip("\r\n"))
            except RecursionError:
                raise refuse(n, f"the JSON is nested more than {MAX_DEPTH} levels deep; refused") from None
            except json.JSONDecodeError as exc:
                raise refuse(n, f"not valid JSON at column {exc.colno}: {exc.msg}") from None
            if not isinstance(value, dict):
                raise refuse(n, f"the line holds {json_kind(value)}, not an object")
            if _depth(value) > MAX_DEPTH:
                raise refuse(n, f"the JSON is nested more than {MAX_DEPTH} levels deep; refused")
            yield f"line {n}", value


def _depth(value, level: int = 0) -> int:
    """How deeply a parsed JSON value nests (1 for a flat object), counting no further than just past MAX_DEPTH."""
    if not isinstance(value, (dict, list)):
        return level
    if level >= MAX_DEPTH:
        return level + 1
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(c, level + 1) for c in children), default=level + 1)


def _utf8(source: Source, profile: Profile, findings: Findings) -> Source:
    """The file as UTF-8, which the JSON reader reads: itself, or a UTF-8 copy of a file in another encoding.

    JSON is UTF-8, but registers exported from Windows tools write it in cp1251 too. The encoding is the
    profile's `[read].encoding`; without one, a file whose first 64 KiB are UTF-8 is read as UTF-8 with no
    further pass (a bad byte later is an error of the JSON reader), and any other is detected as for CSV (a
    BOM, else Cyrillic cp1251 with a warning; one that decodes in neither is refused with the offset of its
    first bad byte). The copy is written a block at a time and removed when the records have been read.
    """
    import codecs
    import tempfile
    declared = profile.read.get("encoding", "auto")
    if declared == "auto" and not source.starts_with(codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(source.head(65536))  # a character cut at the end is fine
            return source
        except UnicodeDecodeError:
            pass
    elif declared != "auto" and codecs.lookup(declared).name in ("utf-8", "utf-8-sig"):
        return source
    codec, warning = source.detect_encoding(declared)
    if warning:
        findings.warn(Problem(warning, file=source.name, kind="encoding"))
    if codecs.lookup(codec).name in ("utf-8", "utf-8-sig"):
        return source
    with open(source.path, encoding=codec) as text, tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", suffix=".json", delete=False) as copy:
        for block in iter(lambda: text.read(1 << 20), ""):
            copy.write(block)
    utf8 = Source.from_path(copy.name)
    utf8.name = source.name
    return utf8


def read_records(source: Source, profile: Profile, findings: Findings) -> Table:
    """The records as a Table whose columns are the profile's field paths (like XML's)."""
    paths = profile.referenced_columns()
    getters = [compile_path(p) for p in paths]
    record_path = profile.read.get("record_path", "")
    key_field = profile.read.get("key_field", "key")

    def rows():
        label = "the start"
        utf8 = _utf8(source, profile, findings)
        try:
            records = _lines(utf8) if profile.read.get("lines") else _records(utf8, record_path, key_field)
            for label, record in records:
                cells = []
                for path, get in zip(paths, getters):
                    try:
                        cells.append(get(record))
                    except Nested:
                        findings.error(Position(source.name, None, label).problem(
                            f"the path {path!r} holds an object or a list of lists, not a value: name a field "
                            f"inside it (e.g. {path}.code or {path}[0])", column=path, kind="nested_value"))
                        cells.append(None)
                yield label, cells, None
        except ijson.JSONError as exc:
            reason = exc.args[0] if exc.args else exc
            reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)  # yajl's bytes
            hint = ""
            if "trailing garbage" in reason and not record_path:
                hint = (" (the file holds several JSON documents one after another: if it is JSON Lines, one "
                        "record per line, say [read].lines = true)")
            raise ImportRejected([Problem(f"not valid JSON after {label}: {reason.rstrip()}{hint}",
                                          file=source.name, kind="syntax")]) from None
        finally:
            if utf8 is not source:
                utf8.path.unlink(missing_ok=True)
    return Table(paths, rows(), header_row=None, known_columns=False, paths=True)


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of the profile's records."""
    return map_table(read_records(source, profile, findings), profile, findings, language)
