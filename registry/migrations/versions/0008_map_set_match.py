"""Map sets declare what is matched (name fields, weights, form, floor) and keep their last coverage.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("map_set") as batch:
        batch.add_column(sa.Column("match_config", sa.JSON, nullable=True))
        batch.add_column(sa.Column("coverage", sa.JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("map_set") as batch:
        batch.drop_column("coverage")
        batch.drop_column("match_config")
