"""Staging: the (version_id, parent_code) index holds only the rows that have a parent.

It serves the lookups of a draft's children (`parent_code = ?`, which implies the
condition, so SQLite and PostgreSQL both use the partial index); a row without a parent
never answers them. A flat catalog (a drug register, a facility list) then pays one index
insert per row less.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

HAS_PARENT = sa.text("parent_code IS NOT NULL")


def upgrade():
    op.drop_index("ix_staged_version_parent", table_name="staged_entry")
    op.create_index("ix_staged_version_parent", "staged_entry", ["version_id", "parent_code"],
                    sqlite_where=HAS_PARENT, postgresql_where=HAS_PARENT)


def downgrade():
    op.drop_index("ix_staged_version_parent", table_name="staged_entry")
    op.create_index("ix_staged_version_parent", "staged_entry", ["version_id", "parent_code"])
