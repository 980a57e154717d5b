"""Drafts: staging an import, then publishing, discarding or retiring versions (design §2).

Staging validates every entry while it streams it into the draft's own table (`staged_table`, created in the
same transaction, indexed after the load; the streaming itself is registry.store.staging): any error rolls the
whole draft back, table included, so a rejected import leaves nothing behind. Publishing moves a draft into
the versioned `entry` table with set-based SQL: new or changed content is inserted, changed or removed rows
are closed, unchanged rows stay untouched; then the draft's table is dropped in the same transaction. Dropping
a table leaves nothing to vacuum: no dead rows on PostgreSQL, and on SQLite the freed pages go back to the
file system (incremental auto-vacuum, see `registry.db`).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry import db
from registry.entries import version_checksum
from registry.errors import (AlreadyExists, BadRequest, Conflict, ImportRejected, InvalidState, NotFound,
                             Position, Report)
from registry.models.catalog import Catalog, CatalogVersion, Entry, staged_table, utcnow
from registry.store.staging import enlarge_sqlite_cache, stream_into_staging

C = Catalog.__table__
V = CatalogVersion.__table__
E = Entry.__table__

LABEL_FORBIDDEN = "/\\?#%@"


def check_label(label) -> None:
    """Refuse a version label that URLs, `slug@version` targets or `latest` would read as something else."""
    if not isinstance(label, str) or not label.strip() or label != label.strip():
        raise BadRequest(f"a version label must be non-empty text without surrounding spaces (got {label!r})")
    if label.casefold() == "latest":
        raise BadRequest("'latest' cannot be a version label: it always means the newest published version")
    bad = [ch for ch in label if ch in LABEL_FORBIDDEN or not ch.isprintable()]
    if bad:
        raise BadRequest(f"a version label cannot hold {bad[0]!r} (got {label!r}): labels go into URLs and "
                         f"`slug@version` targets; use letters, digits, '.', '-' or '_'")


# The columns the store's queries filter, join or sort `entry` and staged rows on. Statistics of the long
# texts (display, designations, attributes) steer no plan, and sorting their sample took about two thirds of
# a whole-table ANALYZE (0.6 s of a 100k-entry table, 0.2 s without them).
PLANNED_COLUMNS = ("catalog_id", "code", "hash", "parent_code", "status", "valid_from", "valid_to")


def analyze(conn: Connection, table: sa.Table) -> None:
    """PostgreSQL: refresh the planner statistics of `table`'s planned columns and its row count.

    Runs in `conn`'s transaction, so the statistics count that transaction's own rows and are committed with them.
    """
    columns = [name for name in PLANNED_COLUMNS if name in table.c]
    conn.exec_driver_sql(f"ANALYZE {table.name} ({', '.join(columns)})")


def refresh_statistics(conn: Connection, *tables: sa.Table) -> None:
    """Update PostgreSQL's planner statistics after bulk writes, and keep its joins linear.

    Without statistics the planner takes a freshly staged draft for a handful of rows and
    picks nested-loop anti-joins that are quadratic on 100k entries.
    """
    if conn.dialect.name == "postgresql":
        for table in tables:
            analyze(conn, table)
        # The anti-joins of publish read `entry` while inserting into it; a nested loop would
        # rescan the freshly inserted tuples for every probe. Hash joins stay linear.
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")


def _hashes_in_code_order(conn: Connection, staged: sa.Table) -> Iterable[str]:
    """The content hashes of a draft in code order (index-only on its code index)."""
    if conn.dialect.name == "sqlite":  # the driver's own cursor: no per-row Row objects for 100k hashes
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(f"SELECT hash FROM {staged.name} ORDER BY code")
            while rows := cursor.fetchmany(10000):
                yield from (h for (h,) in rows)
        finally:
            cursor.close()
        return
    query = sa.select(staged.c.hash).order_by(staged.c.code)
    for (h,) in conn.execute(query.execution_options(yield_per=10000)):
        yield h


def latest_published_seq(conn: Connection, catalog_id: int) -> int:
    """The sequence of the catalog's latest published version, 0 before the first publish.

    Retired versions are skipped: after the latest is retired, the one before it is `latest` again,
    and what a new version changes is counted against that one.
    """
    seq = conn.execute(sa.select(sa.func.max(V.c.seq)).where(V.c.catalog_id == catalog_id,
                                                             V.c.status == "published")).scalar()
    return seq or 0


def compare_with_version(conn: Connection, catalog_id: int, staged: sa.Table, base_seq: int,
                         head_seq: int) -> dict:
    """Counts of a draft against published version `base_seq` (0 = none): added, changed, removed, unchanged.

    The rows still open (`valid_to` null) are those of the head, the newest version published, which
    stays so when it is retired; `base_seq` is the latest one not retired. When they differ, the
    base version's rows are selected by their validity range instead.
    """
    total = conn.execute(sa.select(sa.func.count()).select_from(staged)).scalar()
    if base_seq == 0:
        return {"entries": total, "added": total, "changed": 0, "removed": 0, "unchanged": 0}
    if base_seq == head_seq:
        in_base = E.c.valid_to.is_(None)
    else:
        in_base = sa.and_(E.c.valid_from <= base_seq, sa.or_(E.c.valid_to.is_(None), E.c.valid_to > base_seq))
    base = conn.execute(sa.select(sa.func.count()).select_from(E).where(E.c.catalog_id == catalog_id,
                                                                        in_base)).scalar()
    join = staged.join(E, sa.and_(E.c.catalog_id == catalog_id, in_base, E.c.code == staged.c.code))
    common = conn.execute(sa.select(sa.func.count()).select_from(join)).scalar()
    same = conn.execute(sa.select(sa.func.count()).select_from(join).where(E.c.hash == staged.c.hash)).scalar()
    return {"entries": total, "added": total - common, "changed": common - same,
            "removed": base - common, "unchanged": same}


def _drop_staged(conn: Connection, staged: sa.Table) -> None:
    """Drop a draft's table, in the caller's transaction; on SQLite, give the freed pages back to the file system.

    In incremental auto-vacuum mode SQLite only marks a dropped table's pages free until asked; the
    pragma moves pages from the end of the file into the holes and truncates it at commit.
    """
    conn.execute(sa.schema.DropTable(staged))
    if conn.dialect.name == "sqlite":
        # The pragma frees one page per step, and Python's sqlite3 steps it once per execute (its steps
        # return no columns, so fetching stops there): step it until no page is left free.
        raw = conn.connection.dbapi_connection
        free = raw.execute("PRAGMA freelist_count").fetchone()[0]
        for _ in range(free):
            raw.execute("PRAGMA incremental_vacuum")


class DraftsMixin:
    """Staging, publishing, discarding and retiring versions."""

    def _catalog_row(self, conn: Connection, slug: str):
        row = conn.execute(sa.select(C).where(C.c.slug == slug)).first()
        if row is None:
            raise NotFound(f"no catalog {slug!r}")
        return row

    def _version_row(self, conn: Connection, catalog_id: int, slug: str, label: str):
        row = conn.execute(sa.select(V).where(V.c.catalog_id == catalog_id, V.c.label == label)).first()
        if row is None:
            raise NotFound(f"catalog {slug} has no version {label!r}")
        return row

    @staticmethod
    def _same_source(conn: Connection, catalog_id: int, sha256: str):
        """The draft or published version imported from a file with this sha256 (same file twice = no new version).

        A retired version does not count: retiring it (say, after an import with the wrong profile) is
        how an operator takes it back, and the same file may then be imported again.
        """
        return conn.execute(sa.select(V).where(V.c.catalog_id == catalog_id, V.c.source_sha256 == sha256,
                                               V.c.status.in_(("draft", "published")))
                            .order_by(V.c.id.desc())).first()

    def _lock_catalog(self, conn: Connection, slug: str, create: Catalog | None):
        """The catalog row, locked until the transaction ends (PostgreSQL; SQLite's write lock already is).

        Concurrent imports into one catalog thus take turns: the second sees the
        first one's version (same label or same file) instead of racing it.
        `create` is inserted in this transaction when the catalog does not exist,
        so a failed or interrupted import leaves no empty catalog behind.
        """
        row = conn.execute(sa.select(C).where(C.c.slug == slug).with_for_update()).first()
        if row is None and create is not None:
            values = create.model_dump(exclude={"id"})
            try:
                conn.execute(C.insert().values(**values))
            except sa.exc.IntegrityError:
                raise AlreadyExists(f"catalog {slug} was created by another import at the same time; "
                                    f"run this import again") from None
            row = conn.execute(sa.select(C).where(C.c.slug == slug).with_for_update()).first()
        if row is None:
            raise NotFound(f"no catalog {slug!r}")
        return row

    def stage_draft(self, slug: str, label: str, entries: Iterable[dict], *, source_name: str | None = None,
                    source_sha256: str | None = None, release_notes: str | None = None,
                    created_by: str | None = None, dry_run: bool = False,
                    progress: Callable[[int], None] | None = None, file: str | None = None,
                    create_catalog: Catalog | None = None,
                    upstream_errors: Callable[[], bool] | None = None) -> Report:
        """Validate `entries` and store them as draft `label` of catalog `slug`; return the report.

        Entries are canonical dicts, optionally with `_pos` (a Position) for error
        messages. Every problem is collected with its place; if there is any error,
        ImportRejected is raised and nothing is stored. With `dry_run` everything is
        checked and counted, then rolled back. A file whose sha256 matches an
        earlier version's source gives status `unchanged` and stores nothing.
        `create_catalog` (from `new_catalog`) is created with the draft, in the same
        transaction, when `slug` does not exist yet. `upstream_errors`, asked once
        every entry is read, says whether the code producing `entries` found errors of
        its own (an importer's mapping problems): the draft is then rolled back like
        for the store's errors, and ImportRejected lists the store's problems only.
        """
        check_label(label)
        started = time.perf_counter()
        report = Report(catalog=slug, version=label, source=source_name, source_sha256=source_sha256)
        default_pos = Position(file=file or source_name)
        conn = db.write_connection(self.engine)
        restore_cache = None
        tx = conn.begin()
        try:
            catalog = self._lock_catalog(conn, slug, create_catalog)
            same = self._same_source(conn, catalog.id, source_sha256) if source_sha256 else None
            if same is not None:
                report.status = "unchanged"
                report.message = (f"{source_name or 'this file'} was already imported as version {same.label} of "
                                  f"{slug} (same sha256); no new version created")
                if same.status == "draft":
                    report.message += (f". Version {same.label} is still a draft: `nsi publish {slug} {same.label}` "
                                       f"publishes it, `nsi discard {slug} {same.label}` drops it so that the file "
                                       f"can be imported again")
                else:
                    report.message += (f" (to import the file again, with another profile say, retire version "
                                       f"{same.label} first)")
                tx.rollback()
                return report
            if conn.execute(sa.select(V.c.id).where(V.c.catalog_id == catalog.id, V.c.label == label)).first():
                raise AlreadyExists(f"catalog {slug} already has a version {label!r}")
            base_seq = latest_published_seq(conn, catalog.id)
            version_id = conn.execute(V.insert().values(
                catalog_id=catalog.id, label=label, status="draft", base_seq=base_seq,
                release_notes=release_notes, source_name=source_name, source_sha256=source_sha256,
                created_at=utcnow(), created_by=created_by)).inserted_primary_key[0]
            staged = staged_table(version_id)
            conn.execute(sa.schema.CreateTable(staged))  # indexes come after the load: cheaper than kept up
            problems, total, warnings = stream_into_staging(
                conn, staged, catalog.field_schema or {}, entries, default_pos, progress)
            report.warnings = warnings
            if problems or (upstream_errors is not None and upstream_errors()):
                raise ImportRejected(problems, warnings, total=total)
            restore_cache = enlarge_sqlite_cache(conn)  # for reading the draft back (see its docstring)
            for index in sorted(staged.indexes, key=lambda ix: ix.name):
                conn.execute(sa.schema.CreateIndex(index))
            refresh_statistics(conn, staged, E)
            counts = compare_with_version(conn, catalog.id, staged, base_seq, catalog.head_seq)
            report.checksum = version_checksum(_hashes_in_code_order(conn, staged))
            report.entries, report.added, report.changed = counts["entries"], counts["added"], counts["changed"]
            report.removed, report.unchanged = counts["removed"], counts["unchanged"]
            if report.entries == 0:
                raise ImportRejected([default_pos.problem("the file holds no entries", kind="empty")])
            conn.execute(V.update().where(V.c.id == version_id).values(
                checksum=report.checksum, entry_count=report.entries, added_count=report.added,
                changed_count=report.changed, removed_count=report.removed))
            if dry_run:
                report.status = "dry-run"
                tx.rollback()
            else:
                tx.commit()
        except BaseException:
            if tx.is_active:
                tx.rollback()
            raise
        finally:
            if restore_cache and not conn.invalidated:  # a connection invalidated by an interrupt is closed already
                restore_cache()
            conn.close()
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def publish(self, slug: str, label: str, *, by: str | None = None, expected_head: int | None = None,
                release_notes: str | None = None) -> CatalogVersion:
        """Publish draft `label` as the catalog's next version, in one transaction.

        The catalog's head sequence guards against a racing publish: if another
        publish moved the head since it was read (or away from `expected_head`),
        this one fails with Conflict and changes nothing.
        """
        if expected_head is None:
            # Read before the write transaction: on SQLite that transaction waits for a racing
            # publisher's lock, and must then see that the head moved, as PostgreSQL does.
            with self.engine.connect() as conn:
                expected_head = self._catalog_row(conn, slug).head_seq
        with db.write_transaction(self.engine) as conn:
            catalog = self._catalog_row(conn, slug)
            version = self._version_row(conn, catalog.id, slug, label)
            if version.status != "draft":
                raise InvalidState(f"version {label} of {slug} is {version.status}, only a draft can be published")
            head = expected_head
            new_seq = head + 1
            moved = conn.execute(C.update().where(C.c.id == catalog.id, C.c.head_seq == head)
                                 .values(head_seq=new_seq)).rowcount
            if moved != 1:
                raise Conflict(f"publish of {slug} {label} lost a race: another version of {slug} was published "
                               f"meanwhile (head was {head}); nothing was changed. The draft was compared with the "
                               f"version before that one: see `nsi versions {slug}`, then discard the draft and "
                               f"import its file again")
            base_seq = latest_published_seq(conn, catalog.id)
            if base_seq != version.base_seq:  # the draft was counted against another latest version
                raise self._stale_draft(conn, catalog.id, slug, label, version.base_seq, base_seq)
            S = staged_table(version.id)
            # The draft's counts were taken at staging against this same base, a published version, which
            # cannot have changed since; the statistics of both tables are those taken then (and at the last
            # publish): only the planner settings are needed here.
            refresh_statistics(conn)
            updated = conn.execute(V.update().where(V.c.id == version.id, V.c.status == "draft").values(
                status="published", seq=new_seq, published_at=utcnow(), published_by=by,
                **({"release_notes": release_notes} if release_notes is not None else {}))).rowcount
            if updated != 1:
                raise Conflict(f"version {label} of {slug} was changed by someone else meanwhile")
            body = [S.c.code, S.c.hash, S.c.display, S.c.designations, S.c.parents, S.c.parent_code, S.c.status,
                    S.c.attributes]
            same_current = sa.select(E.c.id).where(E.c.catalog_id == catalog.id, E.c.valid_to.is_(None),
                                                   E.c.code == S.c.code, E.c.hash == S.c.hash)
            # In code order, `entry`'s code index is appended to rather than split at random pages: a third
            # less CPU for the insert of a 100k-entry draft on SQLite (0.38 -> 0.25 s); PostgreSQL reads the
            # draft through its code index for the anti-join anyway.
            conn.execute(E.insert().from_select(
                ["catalog_id", "valid_from", "valid_to"] + [c.name for c in body],
                sa.select(sa.literal(catalog.id), sa.literal(new_seq), sa.null(), *body)
                .where(~same_current.exists()).order_by(S.c.code)))
            still_there = sa.select(sa.literal(1)).where(S.c.code == E.c.code, S.c.hash == E.c.hash)
            conn.execute(E.update().where(E.c.catalog_id == catalog.id, E.c.valid_to.is_(None),
                                          E.c.valid_from < new_seq, ~still_there.exists())
                         .values(valid_to=new_seq))
            _drop_staged(conn, S)
            if conn.dialect.name == "postgresql":
                # Statistics that count the rows just inserted, committed with them: taken only before the
                # insert, a fresh 1M-entry catalog was read through the parent index (349 ms a lookup, 2.4 ms
                # after ANALYZE). ANALYZE samples the rows of its own transaction.
                analyze(conn, E)
        if self.engine.dialect.name == "sqlite":
            # Fresh planner statistics after a publish; a sample keeps it fast on large tables.
            with db.write_transaction(self.engine) as conn:
                conn.exec_driver_sql("PRAGMA analysis_limit=400")
                conn.exec_driver_sql("ANALYZE")
        return self.get_version(slug, label)

    @staticmethod
    def _stale_draft(conn: Connection, catalog_id: int, slug: str, label: str, compared: int, latest: int) -> Conflict:
        """The refusal to publish a draft that was compared with a version that is no longer the latest.

        A newer publish means publishing the draft would undo that version's changes unseen;
        a retire means its counts and its review describe a change from the wrong version.
        """
        labels = dict(conn.execute(sa.select(V.c.seq, V.c.label).where(
            V.c.catalog_id == catalog_id, V.c.seq.in_((compared, latest)))).all())
        redo = (f"nothing was changed. Discard the draft (`nsi discard {slug} {label}`) and import its file again "
                f"to compare it with {labels.get(latest, 'no version')}")
        if latest > compared:
            return Conflict(f"draft {label} of {slug} was compared with an older version: {labels[latest]} has been "
                            f"published since, and publishing {label} now would undo its changes unseen; {redo}")
        now = f"the latest version is {labels[latest]} now" if latest else f"{slug} has no published version now"
        return Conflict(f"draft {label} of {slug} was compared with version {labels.get(compared, compared)}, which "
                        f"has been retired since: {now}; {redo}")

    def discard(self, slug: str, label: str) -> None:
        """Delete a draft and its staged rows. Published versions cannot be discarded."""
        with db.write_transaction(self.engine) as conn:
            catalog = self._catalog_row(conn, slug)
            version = self._version_row(conn, catalog.id, slug, label)
            if version.status != "draft":
                raise InvalidState(f"version {label} of {slug} is {version.status}; only a draft can be discarded "
                                   f"(retire a published version instead)")
            _drop_staged(conn, staged_table(version.id))
            conn.execute(V.delete().where(V.c.id == version.id))

    def retire(self, slug: str, label: str, *, by: str | None = None) -> CatalogVersion:
        """Mark a published version retired: still readable by label, no longer `latest`."""
        with db.write_transaction(self.engine) as conn:
            catalog = self._lock_catalog(conn, slug, None)  # after a publish under way, which counts against latest
            version = self._version_row(conn, catalog.id, slug, label)
            if version.status != "published":
                raise InvalidState(f"version {label} of {slug} is {version.status}; only a published version "
                                   f"can be retired")
            conn.execute(V.update().where(V.c.id == version.id).values(status="retired", retired_at=utcnow()))
        return self.get_version(slug, label)
