"""Verifying a store: what `nsi check` runs after a crash, a restore or a hand edit of the database.

Every version's rows are read back in code order from one consistent snapshot; each row's
content hash is recomputed from its stored content, the version checksum from those hashes,
and the entry count, the validity ranges and the parents are checked. Each fault names the
catalog, version and code it is about, so an operator can tell a torn publish from a bad row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_text  # as registry.entries.stored_parts writes texts

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.entries import content_hash, version_checksum
from registry.models.catalog import STAGED_PREFIX, Catalog, CatalogVersion, Entry, staged_table
from registry.store.reads import VersionRef, entry_rows

C = Catalog.__table__
V = CatalogVersion.__table__
E = Entry.__table__
MAX_FAULTS_PER_VERSION = 20  # a broken version can have a fault on every row; the first ones say enough


@dataclass
class CheckReport:
    """What `check_store` looked at and every fault it found (empty when the store is sound)."""

    catalogs: int = 0
    versions: int = 0
    entries: int = 0
    faults: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults


def _stored_line(row) -> str:
    """The canonical line of a stored row from its stored parts, as staging built it before hashing."""
    return (f'{{"code":{encode_text(row.code)},"display":{encode_text(row.display)},'
            f'"designations":{row.designations},"parents":{row.parents},"status":{encode_text(row.status)},'
            f'"attributes":{row.attributes}}}')


def _check_version(conn: Connection, ref: VersionRef, entry_count: int, report: CheckReport) -> None:
    """Recompute one version's hashes and checksum, and check its codes are unique and its parents present."""
    table, where = entry_rows(ref)
    where_am_i = f"{ref.catalog} {ref.label} ({ref.status})"
    faults: list[str] = []
    hashes: list[str] = []
    codes: set[str] = set()
    parents: dict[str, str] = {}  # a missing parent -> the first code that names it
    previous = None
    rows = conn.execution_options(yield_per=5000).execute(
        sa.select(table.c.code, table.c.hash, table.c.display, table.c.designations, table.c.parents,
                  table.c.status, table.c.attributes).where(where).order_by(table.c.code))
    for row in rows:
        if row.code == previous:
            faults.append(f"{where_am_i}: code {row.code!r} has two rows in this version (overlapping validity)")
        previous = row.code
        codes.add(row.code)
        actual = content_hash(_stored_line(row))
        if actual != row.hash:
            faults.append(f"{where_am_i}: code {row.code!r}: stored content does not match its hash "
                          f"(stored {row.hash}, content hashes to {actual})")
        hashes.append(row.hash)
        for parent in json.loads(row.parents):
            parents.setdefault(parent, row.code)
    report.entries += len(hashes)
    if len(hashes) != entry_count:
        faults.append(f"{where_am_i}: {len(hashes)} entries stored, the version records {entry_count}")
    checksum = version_checksum(hashes)
    if ref.checksum and checksum != ref.checksum:
        faults.append(f"{where_am_i}: checksum recomputed from the stored rows is {checksum}, "
                      f"the version records {ref.checksum}")
    for parent, child in parents.items():
        if parent not in codes:
            faults.append(f"{where_am_i}: code {child!r} names parent {parent!r}, which is not in this version")
    if len(faults) > MAX_FAULTS_PER_VERSION:
        faults = faults[:MAX_FAULTS_PER_VERSION] + [
            f"{where_am_i}: ... {len(faults) - MAX_FAULTS_PER_VERSION} more faults"]
    report.faults.extend(faults)


def _check_validity(conn: Connection, catalog, report: CheckReport) -> None:
    """Validity ranges of a catalog's rows: non-empty, and within the sequences that were ever published."""
    bad = conn.execute(sa.select(E.c.code, E.c.valid_from, E.c.valid_to).where(
        E.c.catalog_id == catalog.id,
        sa.or_(E.c.valid_from < 1, E.c.valid_from > catalog.head_seq, E.c.valid_to <= E.c.valid_from,
               E.c.valid_to > catalog.head_seq)).limit(MAX_FAULTS_PER_VERSION)).all()
    for row in bad:
        report.faults.append(f"{catalog.slug}: code {row.code!r} is valid from sequence {row.valid_from} to "
                             f"{row.valid_to or 'now'}, outside 1..{catalog.head_seq} or empty")
    seqs = conn.execute(sa.select(V.c.seq).where(V.c.catalog_id == catalog.id, V.c.seq.is_not(None))
                        .order_by(V.c.seq)).scalars().all()
    if seqs != list(range(1, catalog.head_seq + 1)):
        report.faults.append(f"{catalog.slug}: published sequences are {seqs or 'none'}, the catalog's head is "
                             f"{catalog.head_seq} (each of 1..head must be one version)")


def _check_sqlite_file(conn: Connection, report: CheckReport) -> None:
    """SQLite's own checks of the file: page structure, indexes, and foreign keys."""
    result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
    if result != ["ok"]:
        report.faults.extend(f"SQLite integrity_check: {line}" for line in result[:MAX_FAULTS_PER_VERSION])
    for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check").all()[:MAX_FAULTS_PER_VERSION]:
        report.faults.append(f"SQLite foreign_key_check: {table} row {rowid} refers to a missing {parent} row")


def check_store(store, catalogs: list[str] | None = None) -> CheckReport:
    """Verify the whole store (or the catalogs named), from one consistent snapshot; see the module docstring.

    Reads only: it runs beside a serving registry. On PostgreSQL the snapshot is a
    REPEATABLE READ transaction; on SQLite a read transaction of the WAL.
    """
    report = CheckReport()
    options = {"isolation_level": "REPEATABLE READ"} if store.engine.dialect.name == "postgresql" else {}
    with store.engine.connect().execution_options(**options) as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            _check_sqlite_file(conn, report)
        query = sa.select(C).order_by(C.c.slug)
        if catalogs:
            query = query.where(C.c.slug.in_(catalogs))
        found = conn.execute(query).all()
        missing = sorted(set(catalogs or ()) - {c.slug for c in found})
        if missing:
            from registry.errors import NotFound
            raise NotFound(f"no catalog {', '.join(map(repr, missing))}")
        staged = {t for t in sa.inspect(conn).get_table_names() if t.startswith(STAGED_PREFIX)}
        for catalog in found:
            report.catalogs += 1
            _check_validity(conn, catalog, report)
            for v in conn.execute(sa.select(V).where(V.c.catalog_id == catalog.id).order_by(V.c.id)).all():
                report.versions += 1
                ref = VersionRef(catalog.id, catalog.slug, v.id, v.label, v.seq, v.status, v.checksum)
                if v.status == "draft" and staged_table(v.id).name not in staged:
                    report.faults.append(f"{catalog.slug} {v.label} (draft): its staged rows are missing (no table "
                                         f"{staged_table(v.id).name}); discard it and import its file again")
                    continue
                _check_version(conn, ref, v.entry_count, report)
        if not catalogs:
            all_drafts = {staged_table(i).name for i in conn.execute(
                sa.select(V.c.id).where(V.c.status == "draft")).scalars()}
            for name in sorted(staged - all_drafts):
                report.faults.append(f"staging table {name} belongs to no draft (left behind; it can be dropped)")
    return report
