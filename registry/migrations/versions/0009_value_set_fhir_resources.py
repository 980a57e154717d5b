"""Stored FHIR resources: ValueSets (versioned, by url) and the header of each CodeSystem and ConceptMap imported.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fhir_resource",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_type", sa.String(20), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("name", sa.String(500)),
        sa.Column("title", sa.String(500)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("catalog_version_id", sa.Integer, sa.ForeignKey("catalog_version.id", ondelete="CASCADE")),
        sa.Column("map_set_version_id", sa.Integer, sa.ForeignKey("map_set_version.id", ondelete="CASCADE")),
        sa.Column("resource", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("resource_type", "url", "version", name="uq_fhir_resource_url_version"),
    )
    op.create_index("ix_fhir_resource_url", "fhir_resource", ["url"])
    op.create_index("ix_fhir_resource_catalog_version_id", "fhir_resource", ["catalog_version_id"])
    op.create_index("ix_fhir_resource_map_set_version_id", "fhir_resource", ["map_set_version_id"])


def downgrade():
    op.drop_table("fhir_resource")
