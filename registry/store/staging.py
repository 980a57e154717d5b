"""Staging: validate a draft's entries while streaming them into its own table (design §2).

Every entry is checked as it passes (code, duplicates, parents, the catalog's
field schema) and written in batches with the driver's own bulk insert; the
problems are collected with their place, and the caller (`Store.stage_draft`,
registry.store.drafts) rolls the whole draft back when there is any. Forward
parent references are kept as entry ordinals until the file ends, and only a
draft with one is searched for parent cycles.
"""

from __future__ import annotations

from array import array
from typing import Iterable
from unicodedata import is_normalized, normalize

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.entries import (CanonicalEntry, EncodedBlock, EncodedEntry, EntryError, content_hash, normalize_entry,
                              stored_parts)
from registry.errors import Position, Problem, row_label
from registry.store.cycles import ForwardParents, cycle_text, parent_cycles, staged_parent_graph

BATCH = 10000
# SQLite page cache while a staged draft is read back (KiB, as PRAGMA cache_size takes it when negative).
# See `enlarge_sqlite_cache`.
STAGING_CACHE_KIB = 32768
MAX_ERRORS = 1000
STAGED_COLUMNS = ("code", "hash", "display", "designations", "parents", "parent_code", "status", "attributes")


def check_attributes(attributes: dict, schema: dict, pos: Position) -> list[Problem]:
    """Problems of an entry's attributes against the catalog's field schema (empty schema = free form)."""
    if not schema:
        return []
    problems = []
    for name, value in attributes.items():
        spec = schema.get(name)
        if spec is None:
            problems.append(pos.problem(f"attribute {name!r} is not in the catalog's field schema "
                                        f"({', '.join(sorted(schema))})",
                                        column=pos.column_for(f"attributes.{name}", name), kind="unknown_attribute"))
            continue
        kind = spec["type"]
        ok = {"string": isinstance(value, str),
              "integer": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, (int, float)) and not isinstance(value, bool),
              "boolean": isinstance(value, bool),
              "date": isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"}[kind]
        if not ok:
            problems.append(pos.problem(f"attribute {name!r} must be of type {kind}, got {value!r}",
                                        column=pos.column_for(f"attributes.{name}", name), kind="wrong_type"))
    for name, spec in schema.items():
        if spec.get("required") and name not in attributes:
            problems.append(pos.problem(f"required attribute {name!r} is missing",
                                        column=pos.column_for(f"attributes.{name}", name), kind="missing"))
    return problems



def enlarge_sqlite_cache(conn: Connection):
    """On SQLite, raise the connection's page cache for reading a staged draft back; return its undo.

    Called once the rows are in, not before: while they stream in, the draft's pages are appended in
    order and not read again, so a big cache would only hold dirty pages until the commit, and a draft
    of a million rows would fill all of it (32 MB of the import's peak RSS, for no time saved at 1M
    rows). Building the two indexes, counting and the checksum then read the whole draft: with the
    cache raised, a draft of 100k rows is read from the file once and stays in memory for the rest,
    and the index sorts run in memory. By then the entries' code set is freed, so the peak RSS of a
    large draft hardly grows (docs/performance.md, §Imports).
    """
    if conn.dialect.name != "sqlite":
        return None
    raw = conn.connection.dbapi_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{STAGING_CACHE_KIB}")
    return lambda: raw.execute(f"PRAGMA cache_size = {int(before)}")



def stream_into_staging(conn: Connection, staged: sa.Table, schema: dict, entries: Iterable[dict],
                         default_pos: Position, progress) -> tuple[list[Problem], int, list[Problem]]:
    """Validate and insert entries in batches; return (the first MAX_ERRORS errors, how many in all, warnings)."""
    problems: list[Problem] = []
    total = 0
    warnings: list[Problem] = []
    # Every code staged, in file order: a code's ordinal is its place in this dict. The values stay None
    # (a million distinct int objects would cost 28 MB) until an ordinal is looked up by code, for the
    # first duplicate or the cycle check; `number` writes them in then, and later codes get theirs.
    seen: dict[str, int | None] = {}
    numbered = False
    # The row of each ordinal: numbers in an array (a list of a million ints costs 36 MB, the array 4),
    # or a list once some row is not a plain number (ClaML gives a line and an XPath).
    first_rows: array | list = array("i")
    forward = ForwardParents()
    refused: set[str] = set()  # codes of rows refused for their own error
    batch: list[tuple] = []
    count = 0

    def add(problem: Problem):
        nonlocal total
        total += 1
        if len(problems) < MAX_ERRORS:
            problems.append(problem)

    def unblocked():
        """The entries, each EncodedBlock staged whole here if its rows pass as a set, else given row by row."""
        nonlocal count
        for raw in entries:
            if raw.__class__ is not EncodedBlock:
                yield raw
            elif problems or schema or not block_fits(raw, seen):
                yield from raw.entries()
            else:
                if batch:
                    bulk_insert(conn, staged, STAGED_COLUMNS, batch)
                    batch.clear()
                insert_block(conn, staged, raw)
                if not all(raw.displays):
                    warnings.extend(no_display(raw.position(k), raw.codes[k])
                                    for k, display in enumerate(raw.displays) if not display)
                if numbered:
                    start = len(first_rows)
                    seen.update(zip(raw.codes, range(start, start + len(raw))))
                else:
                    seen.update(dict.fromkeys(raw.codes))
                first_rows.extend(range(raw.first_row, raw.first_row + len(raw)))
                count += len(raw)
                if progress:
                    progress(count)

    for raw in unblocked():
        count += 1
        pos = raw.get("_pos") or Position(default_pos.file, default_pos.sheet, count)
        encoded = raw.__class__ is EncodedEntry  # canonical, with its stored parts (importers.compiled)
        if encoded or raw.__class__ is CanonicalEntry:
            entry = raw  # built canonical by the mapper: normalizing again would change nothing
        else:
            try:
                entry = normalize_entry(raw)
            except EntryError as exc:
                add(pos.problem(str(exc), column=pos.column_for(exc.field)))
                if isinstance(raw.get("code"), str) and raw["code"].strip():
                    refused.add(raw["code"].strip())  # its children are not reported as orphans as well
                continue
        code = entry["code"]
        if not code:
            add(pos.problem("empty code", column=pos.column_for("code"), kind="empty_code"))
            continue
        if not code.isprintable():
            bad = next(ch for ch in code if not ch.isprintable())
            add(pos.problem(f"code {code!r} holds a control or invisible character (U+{ord(bad):04X}); codes are "
                            f"looked up and compared as typed, so they must be plain text",
                            column=pos.column_for("code"), code=code, kind="bad_code"))
            continue
        if not is_normalized("NFC", code):  # `Ä1` written as A + combining diaeresis is the same code as `Ä1`
            code = entry["code"] = normalize("NFC", code)
            encoded = False  # its stored line holds the code as written
        if code in seen:
            if not numbered:
                numbered = number(seen)
            add(pos.problem(f"duplicate code {code} (first at {row_label(first_rows[seen[code]])})",
                            column=pos.column_for("code"), code=code, kind="duplicate_code"))
            continue
        seen[code] = len(first_rows) if numbered else None
        row = pos.row if pos.row is not None else count
        try:
            first_rows.append(row)
        except (TypeError, OverflowError):  # not a number, or past the array's 32 bits
            first_rows = [*first_rows, row]
        if not entry["display"]:
            warnings.append(no_display(pos, code))
        if schema:
            for p in check_attributes(entry["attributes"], schema, pos):
                p.code = code
                add(p)
        first_parent = None
        if entry["parents"]:
            if not all(is_normalized("NFC", parent) for parent in entry["parents"]):
                entry["parents"] = [normalize("NFC", parent) for parent in entry["parents"]]
            first_parent = entry["parents"][0]
            for parent in entry["parents"]:
                if parent == code:
                    add(pos.problem(f"entry {code} is its own parent", column=pos.column_for("parents"), code=code,
                                    kind="parent_cycle"))
                elif parent not in seen:
                    forward.add(len(first_rows) - 1, parent, pos)  # this entry's ordinal
        if problems:
            continue  # keep validating, but stop writing
        if encoded:
            batch.append(entry.stored)
        else:
            line, designations, parents, attributes = stored_parts(entry)
            batch.append((code, content_hash(line), entry["display"], designations, parents,
                          first_parent, entry["status"], attributes))
        if len(batch) >= BATCH:
            bulk_insert(conn, staged, STAGED_COLUMNS, batch)
            batch.clear()
        if count % 1000 == 0:
            forward.forget_found(seen)
            if progress:
                progress(count)
    codes: list[str] = []  # code of each ordinal, listed only to report a forward reference
    for k, child, parent in forward.missing(seen):
        if parent in refused:
            continue
        codes = codes or list(seen)
        pos = forward.position(k, first_rows[child])
        add(pos.problem(f"entry {codes[child]} has unknown parent {parent}", column=pos.column_for("parents"),
                        code=codes[child], kind="unknown_parent"))
    if batch and not problems:
        bulk_insert(conn, staged, STAGED_COLUMNS, batch)
    if forward and not problems:
        # Only a parent named before it exists can close a cycle: without one, the file order is a
        # topological order already.
        if not numbered:
            number(seen)
        cycles = parent_cycles(*staged_parent_graph(conn, staged, seen), limit=MAX_ERRORS)
        if cycles:
            codes = codes or list(seen)
            heads = {c[0] for c in cycles}
            where = {child: forward.position(k, first_rows[child])  # a head's parent comes later
                     for k, child in enumerate(forward.children) if child in heads}
            for cycle in cycles:
                pos = where[cycle[0]]
                add(pos.problem(f"entries {cycle_text([codes[i] for i in cycle])} form a parent cycle",
                                column=pos.column_for("parents"), code=codes[cycle[0]], kind="parent_cycle"))
    if progress:
        progress(count)
    return problems, total, warnings


def no_display(pos: Position, code: str) -> Problem:
    """The warning for an entry without a display."""
    return pos.problem(f"entry {code} has no display", column=pos.column_for("display"), code=code,
                       severity="warning", kind="empty_display")


def block_fits(block: EncodedBlock, seen: dict) -> bool:
    """Whether the codes of a block pass staging's checks as a set: printable, NFC, new and distinct. (A line
    break joins them for the NFC check: it composes with nothing, so the joined text is NFC exactly when each
    code is.)"""
    codes = block.codes
    return ("".join(codes).isprintable() and is_normalized("NFC", "\n".join(codes))
            and len(set(codes)) == len(codes) and seen.keys().isdisjoint(codes))


def insert_block(conn: Connection, table: sa.Table, block: EncodedBlock) -> None:
    """Insert a block's rows; on SQLite binding only the columns that vary (its designations and parents are
    empty), straight from its column lists."""
    if conn.dialect.name != "sqlite":
        return bulk_insert(conn, table, STAGED_COLUMNS, block.rows())
    status, values = ("?", zip(block.codes, block.hashes, block.displays, block.statuses, block.attributes)) \
        if block.statuses is not None else ("'active'", zip(block.codes, block.hashes, block.displays,
                                                             block.attributes))
    conn.connection.dbapi_connection.executemany(
        f"INSERT INTO {table.name} ({', '.join(STAGED_COLUMNS)}) VALUES (?, ?, ?, '[]', '[]', NULL, {status}, ?)",
        values)


def number(seen: dict) -> bool:
    """Write each code's ordinal (its place in file order) into `seen` in place, and return True.

    In place, the dict is not resized: this costs the int objects only, once, when an ordinal is
    first needed.
    """
    for ordinal, code in enumerate(seen):
        seen[code] = ordinal
    return True


def bulk_insert(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows (tuples in `columns` order) in one round trip: COPY on PostgreSQL, executemany elsewhere.

    The driver is called directly: SQLAlchemy's per-row parameter processing
    would cost more than the insert itself.
    """
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
    else:
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)
