"""Read helpers behind the publishing API that the store does not offer directly.

- `entry_detail`: one entry with its parents and children, read over one connection
  (the per-record lookup that consuming systems call most).
- `xlsx_file`: a version as an Excel workbook, written row by row with openpyxl's
  write-only mode (constant memory) and, for published versions, kept as a cache file.
- `releases`: versions published across all catalogs, newest first (the feed).

Nothing here imports Flask; the web layer and the CLI call these functions.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from registry.errors import NotFound
from registry.exports import CSV_COLUMNS, csv_cells
from registry.models.catalog import Catalog, CatalogVersion, row_to_entry
from registry.store.reads import VersionRef, entry_rows

C = Catalog.__table__
V = CatalogVersion.__table__

XLSX_LAYOUT = "e2"  # part of cached xlsx names: files written before every cell was formula-escaped are not reused
# (catalog_id, seq, checksum) -> whether any entry of that published version has more than one parent (the
# checksum keeps two databases opened by one process, as the tests do, from answering for each other)
_multi_parent_versions: dict[tuple, bool] = {}
# Finding none means reading the whole version (0.6 s for 1M entries): one thread asks, the others wait for its
# answer instead of each reading the version again when a worker's threads all take their first lookups at once.
# A lock per version, so that a small version's first lookup does not wait for a large one's read.
_multi_parent_locks: dict[tuple, threading.Lock] = {}
_multi_parent_locks_lock = threading.Lock()


def _has_multi_parents(conn, ref: VersionRef, table, where) -> bool:
    key = (ref.catalog_id, ref.seq, ref.checksum)
    if ref.is_draft:
        return _any_multi_parent(conn, table, where)
    with _multi_parent_locks_lock:
        lock = _multi_parent_locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _multi_parent_versions:
            _multi_parent_versions[key] = _any_multi_parent(conn, table, where)
        return _multi_parent_versions[key]


def _any_multi_parent(conn, table, where) -> bool:
    return conn.execute(sa.select(table.c.code).where(where, table.c.parents.like('%","%')).limit(1)).first() \
        is not None


def version_rows(ref: VersionRef):
    """(table, where) of a version's rows, like `entry_rows`, but steering the planner to the code indexes.

    Without statistics SQLite would read the version through the valid_from
    index, a scan of the whole version per lookup; `valid_from + 0` cannot use
    an index, so (catalog_id, code) and (catalog_id, parent_code) are chosen.
    """
    table, where = entry_rows(ref)
    if not ref.is_draft:
        where = sa.and_(table.c.catalog_id == ref.catalog_id, (table.c.valid_from + 0) <= ref.seq,
                        sa.or_(table.c.valid_to.is_(None), table.c.valid_to + 0 > ref.seq))
    return table, where


def code_not_found(ref: VersionRef, code: str) -> NotFound:
    """The error of a lookup of a code that version `ref` lacks: one message, whether the answer comes from SQL
    or from a lookup file (registry.lookup_files), which answer byte for byte alike."""
    return NotFound(f"code {code!r} is not in {ref.catalog} version {ref.label}")


def entry_detail(store, ref: VersionRef, code: str) -> dict:
    """Entry `code` of version `ref` with `parent_entries` and `children` ({code, display, status} each).

    Children are found through the indexed first parent; the slow scan for
    entries listing `code` as a later parent runs only in versions that have
    multi-parent entries at all (remembered per published version).
    """
    table, where = version_rows(ref)
    brief = [table.c.code, table.c.display, table.c.status]
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(where, table.c.code == code)).first()
        if row is None:
            raise code_not_found(ref, code)
        entry = row_to_entry(row)
        parents = {}
        if entry["parents"]:
            parents = {r.code: r for r in conn.execute(sa.select(*brief).where(
                where, table.c.code.in_(entry["parents"])))}
        # sorted here, not in SQL: ORDER BY code would make SQLite walk the code index of the whole version
        children = sorted(conn.execute(sa.select(*brief).where(where, table.c.parent_code == code)).all(),
                          key=lambda r: r.code)
        if _has_multi_parents(conn, ref, table, where):
            pattern = "%" + json.dumps(code, ensure_ascii=False) + "%"
            more = conn.execute(sa.select(*brief, table.c.parents).where(
                where, table.c.parent_code != code, table.c.parents.like(pattern))).all()
            children = sorted(list(children) + [r for r in more if code in json.loads(r.parents)],
                              key=lambda r: r.code)
    entry["parent_entries"] = [
        {"code": p, "display": parents[p].display if p in parents else None,
         "status": parents[p].status if p in parents else None} for p in entry["parents"]]
    entry["children"] = [{"code": r.code, "display": r.display, "status": r.status} for r in children]
    return entry


def _valid(alias: str) -> str:
    """The rows of one published version (parameters :catalog_id and :seq), kept off the validity indexes."""
    return (f"{alias}.catalog_id = :catalog_id AND {alias}.valid_from + 0 <= :seq "
            f"AND ({alias}.valid_to IS NULL OR {alias}.valid_to + 0 > :seq)")


# One round trip: the entry with its first parent joined (kind 0), then its children through the indexed first
# parent (1). A code is unique in a version, so the join adds at most one parent; the parent is found from the
# entry's own row (no second search for the entry). Named parameters: the driver adapts three values, not fifteen.
_LOOKUP_SQL = (f"SELECT 0, e.code, e.display, e.status, e.designations, e.parents, e.attributes, "
               f"p.code, p.display, p.status FROM entry e "
               f"LEFT JOIN entry p ON p.code = e.parent_code AND {_valid('p')} "
               f"WHERE e.code = :code AND {_valid('e')} "
               f"UNION ALL SELECT 1, c.code, c.display, c.status, NULL, NULL, NULL, NULL, NULL, NULL FROM entry c "
               f"WHERE c.parent_code = :code AND {_valid('c')}")
_BRIEF_SQL = {  # the rarer cases: parents after the first, and children through a later parent
    "parents": f"SELECT e.code, e.display, e.status FROM entry e WHERE e.code IN ({{marks}}) AND {_valid('e')}",
    "more_children": f"SELECT e.code, e.display, e.status, e.parents FROM entry e WHERE e.parent_code != :code "
                     f"AND e.parents LIKE :pattern AND {_valid('e')}",
}
_encode_text = json.encoder.encode_basestring  # a str as the app's JSON encoder writes it (UTF-8 as is)


def _text(value) -> str:
    return "null" if value is None else _encode_text(value)


def _brief(code, display, status) -> str:
    return f'{{"code":{_text(code)},"display":{_text(display)},"status":{_text(status)}}}'


def entry_detail_json(store, ref: VersionRef, code: str) -> str:
    """The JSON text of `{"catalog", "version", **entry_detail(...)}` for a published version, read fast.

    The lookup that consuming systems call once per record: one indexed query (entry,
    children and first parent together) sent as plain SQL on the thread's own read
    connection (`store.thread_reads`: no pool checkout, no expression building or
    compiling per call), and the answer spliced from the canonical JSON parts the rows
    store, so nothing is decoded and encoded again. The text is exactly what the app's
    JSON encoder makes of the dict that `entry_detail` returns (a test compares them
    over whole versions).
    """
    if ref.is_draft:
        raise ValueError("entry_detail_json reads published versions; drafts go through entry_detail")
    params = {"code": code, "catalog_id": ref.catalog_id, "seq": ref.seq}
    multi = _multi_parent_versions.get((ref.catalog_id, ref.seq, ref.checksum))
    if multi is None:
        with store.engine.connect() as conn:
            multi = _has_multi_parents(conn, ref, *version_rows(ref))
    fetchall = store.thread_reads.fetchall
    rows = fetchall(_LOOKUP_SQL, params)
    # The entry comes first when it is there (UNION ALL keeps the order; a parallel plan might not).
    entry = rows[0] if rows and rows[0][0] == 0 else next((r for r in rows if r[0] == 0), None)
    if entry is None:
        raise code_not_found(ref, code)
    _, code, display, status, designations, parents_json, attributes, *first_parent = entry
    children = [r[1:4] for r in rows if r is not entry]
    if parents_json == "[]":
        parent_entries = ""
    elif first_parent[0] is not None and parents_json == f"[{_encode_text(first_parent[0])}]":  # one parent, found
        parent_entries = _brief(*first_parent)
    else:
        parents = json.loads(parents_json)
        found = {first_parent[0]: first_parent} if first_parent[0] is not None else {}
        if len(parents) > 1:
            marks = [f"p{i}" for i in range(1, len(parents))]
            found.update((r[0], r) for r in fetchall(_BRIEF_SQL["parents"].replace(
                "{marks}", ", ".join(":" + m for m in marks)), {**params, **dict(zip(marks, parents[1:]))}))
        parent_entries = ",".join(_brief(*found[p]) if p in found else _brief(p, None, None) for p in parents)
    if multi:
        pattern = "%" + json.dumps(code, ensure_ascii=False) + "%"
        children += [r[:3] for r in fetchall(_BRIEF_SQL["more_children"], {**params, "pattern": pattern})
                     if code in json.loads(r[3])]
    children.sort(key=lambda r: r[0])
    return (f'{{"catalog":{_text(ref.catalog)},"version":{_text(ref.label)},"code":{_text(code)},'
            f'"display":{_text(display)},"designations":{designations},"parents":{parents_json},'
            f'"status":{_text(status)},"attributes":{attributes},"parent_entries":[{parent_entries}],'
            f'"children":[{",".join(_brief(*r) for r in children)}]}}\n')


def iter_entry_details(store, ref: VersionRef) -> Iterator[dict]:
    """Every entry of a version in the shape of `entry_detail`, from one pass over the version.

    Used to fill the web app's response cache for a whole published version at
    once, so that per-record lookups are served from memory.
    """
    table, where = version_rows(ref)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(where)).all()
    brief = {r.code: {"code": r.code, "display": r.display, "status": r.status} for r in rows}
    children: dict[str, list[str]] = {}
    entries = []
    for r in rows:
        entry = row_to_entry(r)
        entries.append(entry)
        for parent in entry["parents"]:
            children.setdefault(parent, []).append(r.code)
    for entry in entries:
        entry["parent_entries"] = [brief.get(p, {"code": p, "display": None, "status": None})
                                   for p in entry["parents"]]
        entry["children"] = [brief[c] for c in sorted(children.get(entry["code"], ()))]
        yield entry


def _write_xlsx(store, ref: VersionRef, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=ref.catalog[:31])
    ws.append(CSV_COLUMNS)
    for entry in store.iter_entries(ref.catalog, ref.label):
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in csv_cells(entry)])
    wb.save(str(path))


def xlsx_file(store, ref: VersionRef) -> tuple[Path, bool]:
    """An xlsx file of version `ref` and whether it is temporary (drafts) or a kept cache file (published).

    Cells that a spreadsheet would run as formulas are escaped, as in CSV.
    """
    if ref.is_draft:
        fd, name = tempfile.mkstemp(suffix=".xlsx", dir=store.cache_dir("tmp"))
        os.close(fd)
        _write_xlsx(store, ref, Path(name))
        return Path(name), True
    folder = store.cache_dir("exports", ref.catalog)
    path = folder / f"{ref.seq}-{(ref.checksum or 'none')[:16]}-{XLSX_LAYOUT}.xlsx"
    if not path.is_file():
        tmp = folder / f".build-{uuid.uuid4().hex}.xlsx"
        try:
            _write_xlsx(store, ref, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path, False


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def releases(store, since: datetime | None = None, limit: int = 100) -> list[dict]:
    """Versions published across all catalogs (retired ones too), newest first; only those after `since`.

    The counts of each are against its `previous_version`: the latest published version when it was published.
    """
    since = _aware(since)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(V, C.c.slug, C.c.title).join(C, C.c.id == V.c.catalog_id)
                            .where(V.c.published_at.is_not(None))
                            .order_by(V.c.published_at.desc(), V.c.id.desc())).all()
    label_of = {(r.catalog_id, r.seq): r.label for r in rows}
    out = []
    for r in rows:
        published_at = _aware(r.published_at)
        if since is not None and published_at <= since:
            continue
        out.append({"catalog": r.slug, "catalog_title": r.title, "version": r.label, "seq": r.seq,
                    "status": r.status, "checksum": r.checksum, "entry_count": r.entry_count,
                    "added_count": r.added_count, "changed_count": r.changed_count,
                    "removed_count": r.removed_count, "previous_version": label_of.get((r.catalog_id, r.base_seq)),
                    "release_notes": r.release_notes,
                    "published_at": published_at, "published_by": r.published_by})
        if len(out) >= limit:
            break
    return out
