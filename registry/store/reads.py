"""Reading versions and entries: resolve `latest`, stream a version, look codes up, page and validate."""

from __future__ import annotations

import base64
import json
import unicodedata
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.errors import BadRequest, NotFound
from registry.models.catalog import Catalog, CatalogVersion, Entry, VersionPublic, row_to_entry, staged_table

C = Catalog.__table__
V = CatalogVersion.__table__
E = Entry.__table__
LATEST = "latest"


@dataclass(frozen=True)
class VersionRef:
    """A resolved version: enough to select its rows."""

    catalog_id: int
    catalog: str
    version_id: int
    label: str
    seq: int | None
    status: str
    checksum: str | None

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


def entry_rows(ref: VersionRef, alias: str | None = None):
    """(table, where-clause) selecting the rows of a version: staged rows for a draft, a validity slice otherwise.

    With `alias`, the table is aliased under that name (for comparing a table with itself).
    """
    table = staged_table(ref.version_id) if ref.is_draft else E
    if alias:
        table = table.alias(alias)
    if ref.is_draft:
        return table, sa.true()
    # `valid_from + 0` keeps planners off the valid_from index, which would read the whole
    # version; lookups by code or parent should use those indexes instead.
    return table, sa.and_(table.c.catalog_id == ref.catalog_id, (table.c.valid_from + 0) <= ref.seq,
                          sa.or_(table.c.valid_to.is_(None), table.c.valid_to > ref.seq))


def export_line(row) -> str:
    """The canonical JSON line of a stored row, assembled from its stored canonical JSON parts."""
    dumps = json.dumps
    return (f'{{"code":{dumps(row.code, ensure_ascii=False)},"display":{dumps(row.display, ensure_ascii=False)},'
            f'"designations":{row.designations},"parents":{row.parents},'
            f'"status":{dumps(row.status)},"attributes":{row.attributes}}}')


def fold(conn_or_dialect, column):
    """Case-folded column for case-insensitive search in any script (SQLite lower() is ASCII-only)."""
    name = getattr(conn_or_dialect, "name", None) or conn_or_dialect.dialect.name
    return sa.func.nsi_fold(column) if name == "sqlite" else sa.func.lower(column)


def encode_cursor(code: str) -> str:
    """An opaque cursor for pagination: the last code of a page."""
    return base64.urlsafe_b64encode(code.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The code inside a cursor, or BadRequest for a malformed one."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"malformed cursor {cursor!r}") from None


class ReadsMixin:
    """Read operations of the Store."""

    def resolve(self, slug: str, version: str = LATEST, conn: Connection | None = None) -> VersionRef:
        """The version `version` of `slug`; `latest` is the newest published version.

        With a change watch (serving processes), `latest` is resolved once per change of the
        database: the token is read before the query, so a publish racing with it leaves a
        kept answer that the next token no longer matches.
        """
        if conn is None:
            token = self.change_token() if version == LATEST else None
            if token is not None:
                kept = self._latest_refs.get(slug)
                if kept is not None and kept[0] == token:
                    return kept[1]
            with self.engine.connect() as c:
                ref = self.resolve(slug, version, c)
            if token is not None:
                self._latest_refs[slug] = (token, ref)
            return ref
        catalog = conn.execute(sa.select(C.c.id).where(C.c.slug == slug)).first()
        if catalog is None:
            raise NotFound(f"no catalog {slug!r}")
        query = sa.select(V).where(V.c.catalog_id == catalog.id)
        if version == LATEST:
            query = query.where(V.c.status == "published").order_by(V.c.seq.desc()).limit(1)
        else:
            query = query.where(V.c.label == version)
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"catalog {slug} has no published version yet" if version == LATEST
                           else f"catalog {slug} has no version {version!r}")
        return VersionRef(catalog.id, slug, row.id, row.label, row.seq, row.status, row.checksum)

    def latest_versions(self) -> list[VersionRef]:
        """Every catalog's `latest` version (its newest published one, as `resolve` finds it), by slug, in one
        query; a catalog with none (never published, or every version retired) is left out."""
        newest = (sa.select(V.c.catalog_id, sa.func.max(V.c.seq).label("seq")).where(V.c.status == "published")
                  .group_by(V.c.catalog_id).subquery())
        query = (sa.select(C.c.id, C.c.slug, V.c.id, V.c.label, V.c.seq, V.c.status, V.c.checksum)
                 .select_from(V.join(newest, sa.and_(V.c.catalog_id == newest.c.catalog_id,
                                                     V.c.seq == newest.c.seq)).join(C, C.c.id == V.c.catalog_id))
                 .order_by(C.c.slug))
        with self.engine.connect() as conn:
            return [VersionRef(*row) for row in conn.execute(query)]

    def list_versions(self, slug: str) -> list[VersionPublic]:
        """Every version of a catalog: published and retired by sequence, then drafts."""
        catalog = self.get_catalog(slug)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(V).where(V.c.catalog_id == catalog.id)
                                .order_by(V.c.seq.is_(None), V.c.seq, V.c.created_at, V.c.id)).all()
        label_of = {r.seq: r.label for r in rows if r.seq is not None}
        return [VersionPublic(catalog=slug, previous_version=label_of.get(r.base_seq),
                              **{k: getattr(r, k) for k in VersionPublic.model_fields
                                 if k not in ("catalog", "previous_version")}) for r in rows]

    def get_version(self, slug: str, version: str = LATEST) -> VersionPublic:
        """One version's metadata; `latest` resolves to the newest published version."""
        ref = self.resolve(slug, version)
        return next(v for v in self.list_versions(slug) if v.label == ref.label)

    def iter_entries(self, slug: str, version: str = LATEST) -> Iterator[dict]:
        """Every entry of a version as canonical dicts, in code order, streamed."""
        for row in self._iter_rows(slug, version):
            yield row_to_entry(row)

    def iter_lines(self, slug: str, version: str = LATEST) -> Iterator[str]:
        """Every entry of a version as canonical JSON lines (no newline), in code order, streamed."""
        for row in self._iter_rows(slug, version):
            yield export_line(row)

    def _iter_rows(self, slug: str, version: str):
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(
                sa.select(table).where(where).order_by(table.c.code))
            yield from result

    def entries_at(self, slug: str, version: str = LATEST, *, offset: int = 0,
                   limit: int | None = None) -> Iterator[dict]:
        """The entries from position `offset` (0-based, code order), at most `limit` of them, streamed.

        The database skips the first `offset` rows (OFFSET on the code-ordered read), so a deep page of a
        large version (FHIR $expand with a high offset) does not turn every earlier row into a dict.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise BadRequest("offset and limit must not be negative")
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        query = sa.select(table).where(where).order_by(table.c.code).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True, yield_per=2000).execute(query):
                yield row_to_entry(row)

    def lookup(self, slug: str, code: str, version: str = LATEST) -> dict:
        """One entry of a version, with the version label; NotFound if the code is not there.

        The code is taken in NFC, as staging stores codes (`Ä1` typed with a combining mark finds `Ä1`).
        """
        code = unicodedata.normalize("NFC", code)
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(where, table.c.code == code)).first()
        if row is None:
            raise NotFound(f"code {code!r} is not in {slug} version {ref.label}")
        return row_to_entry(row)

    def children(self, slug: str, code: str, version: str = LATEST) -> list[dict]:
        """Entries whose parents include `code`, in code order."""
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        pattern = "%" + json.dumps(code, ensure_ascii=False) + "%"
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(where, table.c.parent_code == code)).all()
            rows += conn.execute(sa.select(table).where(where, table.c.parent_code != code,
                                                        table.c.parents.like(pattern))).all()
        found = [row_to_entry(r) for r in rows]
        return sorted((e for e in found if code in e["parents"]), key=lambda e: e["code"])

    def page_entries(self, slug: str, version: str = LATEST, *, limit: int = 100, cursor: str | None = None,
                     status: str | None = None, parent: str | None = None, q: str | None = None) -> dict:
        """One page of entries in code order: {"items", "next_cursor"}; filters by status, parent and text."""
        if not 1 <= limit <= 1000:
            raise BadRequest("limit must be between 1 and 1000")
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        query = sa.select(table).where(where)
        if cursor:
            query = query.where(table.c.code > decode_cursor(cursor))
        if status:
            query = query.where(table.c.status == status)
        if parent:
            query = query.where(table.c.parent_code == parent)
        with self.engine.connect() as conn:
            if q:
                needle = "%" + q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                query = query.where(sa.or_(fold(conn, table.c.display).like(needle, escape="\\"),
                                           table.c.code == q))
            rows = conn.execute(query.order_by(table.c.code).limit(limit + 1)).all()
        items = [row_to_entry(r) for r in rows[:limit]]
        return {"items": items, "next_cursor": encode_cursor(items[-1]["code"]) if len(rows) > limit else None,
                "version": ref.label}

    def validate_codes(self, slug: str, codes: list[str], version: str = LATEST) -> list[dict]:
        """For each code: `valid` (active), `inactive` (inactive or deprecated) or `unknown`, with display."""
        ref = self.resolve(slug, version)
        table, where = entry_rows(ref)
        found: dict[str, tuple[str, str]] = {}
        wanted = list(dict.fromkeys(str(c) for c in codes))
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                for row in conn.execute(sa.select(table.c.code, table.c.display, table.c.status)
                                        .where(where, table.c.code.in_(chunk))):
                    found[row.code] = (row.display, row.status)
        out = []
        for code in codes:
            if code in found:
                display, status = found[code]
                out.append({"code": code, "result": "valid" if status == "active" else "inactive",
                            "status": status, "display": display})
            else:
                out.append({"code": code, "result": "unknown", "status": None, "display": None})
        return out
