"""Mapping review: map sets, mappings with revisions, the audit trail and published map set versions.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CodeType = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "map_set",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("owner", sa.String(200)),
        sa.Column("source_catalog_id", sa.Integer, sa.ForeignKey("catalog.id"), nullable=False),
        sa.Column("source_version_id", sa.Integer, sa.ForeignKey("catalog_version.id"), nullable=False),
        sa.Column("target_catalog_id", sa.Integer, sa.ForeignKey("catalog.id"), nullable=False),
        sa.Column("target_version_id", sa.Integer, sa.ForeignKey("catalog_version.id"), nullable=False),
        sa.Column("four_eyes", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("head_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200)),
    )
    op.create_table(
        "mapping",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("map_set_id", sa.Integer, sa.ForeignKey("map_set.id"), nullable=False),
        sa.Column("source_code", CodeType, nullable=False),
        sa.Column("source_display", sa.Text, nullable=False, server_default=""),
        sa.Column("target_code", CodeType),
        sa.Column("target_display", sa.Text),
        sa.Column("relationship", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("candidates", sa.JSON, nullable=False),
        sa.Column("reviewer", sa.String(200)),
        sa.Column("proposed_by", sa.String(200)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", TS),
        sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("map_set_id", "source_code", name="uq_mapping_source"),
    )
    op.create_index("ix_mapping_set_status", "mapping", ["map_set_id", "status"])
    op.create_table(
        "mapping_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("map_set_id", sa.Integer, sa.ForeignKey("map_set.id"), nullable=False),
        sa.Column("mapping_id", sa.Integer, sa.ForeignKey("mapping.id")),
        sa.Column("source_code", CodeType),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("revision", sa.Integer),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_mapping_event_mapping", "mapping_event", ["mapping_id", "id"])
    op.create_index("ix_mapping_event_set", "mapping_event", ["map_set_id", "id"])
    op.create_table(
        "map_set_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("map_set_id", sa.Integer, sa.ForeignKey("map_set.id"), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("mapping_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("checksum", sa.String(64)),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("published_by", sa.String(200)),
        sa.UniqueConstraint("map_set_id", "label", name="uq_map_set_version_label"),
        sa.UniqueConstraint("map_set_id", "seq", name="uq_map_set_version_seq"),
    )
    op.create_table(
        "published_mapping",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("map_set_version.id"), nullable=False),
        sa.Column("source_code", CodeType, nullable=False),
        sa.Column("source_display", sa.Text, nullable=False, server_default=""),
        sa.Column("target_code", CodeType),
        sa.Column("target_display", sa.Text),
        sa.Column("relationship", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("decided_by", sa.String(200)),
    )
    op.create_index("ix_published_mapping_source", "published_mapping", ["version_id", "source_code"])


def downgrade():
    op.drop_table("published_mapping")
    op.drop_table("map_set_version")
    op.drop_table("mapping_event")
    op.drop_table("mapping")
    op.drop_table("map_set")
