"""Staging: a plain (version_id, code, hash) index instead of the unique (version_id, code) constraint.

The staging path already refuses duplicate codes itself (it must, to report
every one with its row), so the unique check was paid twice per row. With the
hash in the index, the checksum of a draft in code order and the publish
anti-joins read the index alone.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staged_entry") as batch:
        batch.drop_constraint("uq_staged_code", type_="unique")
    op.create_index("ix_staged_version_code", "staged_entry", ["version_id", "code", "hash"])


def downgrade():
    op.drop_index("ix_staged_version_code", table_name="staged_entry")
    with op.batch_alter_table("staged_entry") as batch:
        batch.create_unique_constraint("uq_staged_code", ["version_id", "code"])
