"""The versioned catalog store: catalogs, versions, entries and staged draft entries.

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CodeType = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
TS = sa.DateTime(timezone=True)


def _entry_body():
    return [
        sa.Column("code", CodeType, nullable=False),
        sa.Column("hash", sa.String(32), nullable=False),
        sa.Column("display", sa.Text, nullable=False),
        sa.Column("designations", sa.Text, nullable=False),
        sa.Column("parents", sa.Text, nullable=False),
        sa.Column("parent_code", CodeType, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
    ]


def upgrade():
    op.create_table(
        "catalog",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("oid", sa.String(200)),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("field_schema", sa.JSON, nullable=False),
        sa.Column("head_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("catalog_id", sa.Integer, sa.ForeignKey("catalog.id"), nullable=False, index=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer),
        sa.Column("base_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("release_notes", sa.Text),
        sa.Column("source_name", sa.String(500)),
        sa.Column("source_sha256", sa.String(64), index=True),
        sa.Column("checksum", sa.String(64)),
        sa.Column("entry_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("added_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("removed_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("published_at", TS),
        sa.Column("published_by", sa.String(200)),
        sa.Column("retired_at", TS),
        sa.UniqueConstraint("catalog_id", "label", name="uq_version_label"),
    )
    op.create_table(
        "entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("catalog_id", sa.Integer, sa.ForeignKey("catalog.id"), nullable=False),
        sa.Column("valid_from", sa.Integer, nullable=False),
        sa.Column("valid_to", sa.Integer),
        *_entry_body(),
    )
    op.create_index("ix_entry_catalog_code", "entry", ["catalog_id", "code", "valid_to"])
    op.create_index("ix_entry_catalog_from", "entry", ["catalog_id", "valid_from"])
    op.create_index("ix_entry_catalog_to", "entry", ["catalog_id", "valid_to"])
    op.create_index("ix_entry_catalog_parent", "entry", ["catalog_id", "parent_code"])
    op.create_table(
        "staged_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("catalog_version.id"), nullable=False),
        *_entry_body(),
        sa.UniqueConstraint("version_id", "code", name="uq_staged_code"),
    )
    op.create_index("ix_staged_version_parent", "staged_entry", ["version_id", "parent_code"])


def downgrade():
    op.drop_table("staged_entry")
    op.drop_table("entry")
    op.drop_table("catalog_version")
    op.drop_table("catalog")
