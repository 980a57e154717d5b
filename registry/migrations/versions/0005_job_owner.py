"""Import jobs: the owning host and process, and a heartbeat the worker refreshes while the job runs.

Start-up recovery then fails only jobs whose process is gone (same host) or
whose heartbeat is stale, never the running jobs of another node sharing the database.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("import_job", sa.Column("owner_host", sa.String(255)))
    op.add_column("import_job", sa.Column("owner_pid", sa.Integer))
    op.add_column("import_job", sa.Column("heartbeat_at", sa.DateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner_pid")
        batch.drop_column("owner_host")
