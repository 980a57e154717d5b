"""Case-insensitive CodeSystems get an index of their folded codes, so `KG` finds `kg` without a scan.

`code_fold` holds str.casefold() of every code of a catalog imported from a CodeSystem with
`caseSensitive: false` (or none), indexed by (catalog_id, folded). The upgrade fills it for the
CodeSystems already imported, from their published rows or, for a draft, its staging table.

Revision ID: 0015
Revises: 0014
"""
import json

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

CODE = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


def upgrade():
    fold = op.create_table(
        "code_fold",
        sa.Column("catalog_id", sa.Integer, sa.ForeignKey("catalog.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", CODE, primary_key=True),
        sa.Column("folded", sa.String(600), nullable=False),
    )
    op.create_index("ix_code_fold_catalog_folded", "code_fold", ["catalog_id", "folded"])
    conn = op.get_bind()
    headers = conn.execute(sa.text(
        "SELECT v.id, v.catalog_id, v.status, r.resource FROM fhir_resource r "
        "JOIN catalog_version v ON v.id = r.catalog_version_id WHERE r.resource_type = 'CodeSystem'")).all()
    tables = set(sa.inspect(conn).get_table_names())
    for version_id, catalog_id, status, resource in headers:
        resource = json.loads(resource) if isinstance(resource, str) else resource
        if resource.get("caseSensitive", False):
            continue
        if status == "draft":
            staged = f"staged_v{int(version_id)}"
            codes = conn.execute(sa.text(f"SELECT code FROM {staged}")).scalars().all() if staged in tables else []
        else:
            codes = conn.execute(sa.text("SELECT DISTINCT code FROM entry WHERE catalog_id = :c"),
                                 {"c": catalog_id}).scalars().all()
        known = set(conn.execute(sa.select(fold.c.code).where(fold.c.catalog_id == catalog_id)).scalars())
        rows = [{"catalog_id": catalog_id, "code": code, "folded": code.casefold()}
                for code in codes if code not in known]
        if rows:
            conn.execute(fold.insert(), rows)


def downgrade():
    op.drop_table("code_fold")
