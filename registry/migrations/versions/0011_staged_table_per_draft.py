"""Each draft stages its rows in a table of its own, dropped when it is published or discarded.

The shared `staged_entry` table left dead rows (PostgreSQL) and free pages (SQLite) behind every
publish. The rows of drafts staged before this revision move into their own tables here, so those
drafts can still be published.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

from registry.models.catalog import CodeType, staged_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BODY = ("code", "hash", "display", "designations", "parents", "parent_code", "status", "attributes")


def upgrade():
    conn = op.get_bind()
    drafts = conn.execute(sa.text("SELECT id FROM catalog_version WHERE status = 'draft'")).scalars().all()
    columns = ", ".join(BODY)
    for version_id in drafts:
        table = staged_table(version_id)
        table.create(conn)
        conn.execute(sa.text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM staged_entry "
                             f"WHERE version_id = :v ORDER BY id").bindparams(v=version_id))
    op.drop_table("staged_entry")


def downgrade():
    op.create_table(
        "staged_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("catalog_version.id"), nullable=False),
        sa.Column("code", CodeType, nullable=False),
        sa.Column("hash", sa.String(32), nullable=False),
        sa.Column("display", sa.Text, nullable=False),
        sa.Column("designations", sa.Text, nullable=False),
        sa.Column("parents", sa.Text, nullable=False),
        sa.Column("parent_code", CodeType, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
    )
    op.create_index("ix_staged_version_code", "staged_entry", ["version_id", "code", "hash"])
    op.create_index("ix_staged_version_parent", "staged_entry", ["version_id", "parent_code"],
                    sqlite_where=sa.text("parent_code IS NOT NULL"),
                    postgresql_where=sa.text("parent_code IS NOT NULL"))
    conn = op.get_bind()
    drafts = conn.execute(sa.text("SELECT id FROM catalog_version WHERE status = 'draft'")).scalars().all()
    columns = ", ".join(BODY)
    for version_id in drafts:
        table = staged_table(version_id)
        conn.execute(sa.text(f"INSERT INTO staged_entry (version_id, {columns}) SELECT :v, {columns} "
                             f"FROM {table.name} ORDER BY rowid" if conn.dialect.name == "sqlite" else
                             f"INSERT INTO staged_entry (version_id, {columns}) SELECT :v, {columns} "
                             f"FROM {table.name}").bindparams(v=version_id))
        table.drop(conn)
