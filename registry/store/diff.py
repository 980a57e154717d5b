"""Differences between two versions: added, removed and changed entries with field-level before/after.

Between two published versions only the rows whose validity starts or ends in
between are read (indexed on valid_from / valid_to), so the cost follows the
number of changes, not the catalog size.
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.entries import changed_fields
from registry.models.catalog import Entry, row_to_entry
from registry.store.reads import entry_rows

E = Entry.__table__


class DiffMixin:
    """Diff operations of the Store."""

    def diff(self, slug: str, from_version: str, to_version: str) -> dict:
        """What changed from one version to the other (either may be a draft or `latest`)."""
        with self.engine.connect() as conn:
            a = self.resolve(slug, from_version, conn)
            b = self.resolve(slug, to_version, conn)
            if not a.is_draft and not b.is_draft:
                old_rows, new_rows = self._range_sides(conn, a, b)
            else:
                old_rows, new_rows = self._generic_sides(conn, a, b)
        old = {r.code: row_to_entry(r) for r in old_rows}
        new = {r.code: row_to_entry(r) for r in new_rows}
        added = [new[c] for c in sorted(new.keys() - old.keys())]
        removed = [old[c] for c in sorted(old.keys() - new.keys())]
        changed = []
        for code in sorted(old.keys() & new.keys()):
            fields = changed_fields(old[code], new[code])
            if fields:
                changed.append({"code": code, "display": new[code]["display"], "fields": fields})
        return {"catalog": slug, "from": a.label, "to": b.label, "added": added, "removed": removed,
                "changed": changed, "counts": {"added": len(added), "removed": len(removed),
                                               "changed": len(changed)}}

    def _range_sides(self, conn, a, b):
        """Rows only in version a and rows only in version b, for two published versions."""
        lo, hi = sorted((a.seq, b.seq))
        in_lo_not_hi = conn.execute(sa.select(E).where(
            E.c.catalog_id == a.catalog_id, E.c.valid_from <= lo, E.c.valid_to > lo, E.c.valid_to <= hi)).all()
        in_hi_not_lo = conn.execute(sa.select(E).where(
            E.c.catalog_id == a.catalog_id, E.c.valid_from > lo, E.c.valid_from <= hi,
            sa.or_(E.c.valid_to.is_(None), E.c.valid_to > hi))).all()
        return (in_lo_not_hi, in_hi_not_lo) if a.seq <= b.seq else (in_hi_not_lo, in_lo_not_hi)

    def _generic_sides(self, conn, a, b):
        """Rows of a without the same (code, content) in b, and the other way round."""
        ta, wa = entry_rows(a)
        tb, wb = entry_rows(b)
        alias_a, wa_alias = entry_rows(a, alias="other_a")
        alias_b, wb_alias = entry_rows(b, alias="other_b")
        only_a = conn.execute(sa.select(ta).where(wa, ~sa.select(alias_b.c.code).where(
            wb_alias, alias_b.c.code == ta.c.code, alias_b.c.hash == ta.c.hash).exists())).all()
        only_b = conn.execute(sa.select(tb).where(wb, ~sa.select(alias_a.c.code).where(
            wa_alias, alias_a.c.code == tb.c.code, alias_a.c.hash == tb.c.hash).exists())).all()
        return only_a, only_b

