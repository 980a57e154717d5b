"""Failed review-page sign-ins in the database, so every worker and instance shares one throttle.

Until now each server process counted failures in its memory, so `--workers 4` or several instances
behind one proxy multiplied the allowance. One row per failure; rows older than the window are pruned.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_failure_address_failed_at", "sign_in_failure", ["address", "failed_at"])
    op.create_index("ix_sign_in_failure_failed_at", "sign_in_failure", ["failed_at"])


def downgrade():
    op.drop_table("sign_in_failure")
