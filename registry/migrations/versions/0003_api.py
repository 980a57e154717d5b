"""Publishing API: hashed API tokens and persisted import jobs.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "import_job",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("catalog", sa.String(100), nullable=False, index=True),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("format", sa.String(50)),
        sa.Column("profile", sa.String(200)),
        sa.Column("source_name", sa.String(500)),
        sa.Column("upload_path", sa.String(1000)),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("report", sa.JSON),
        sa.Column("error", sa.JSON),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )


def downgrade():
    op.drop_table("import_job")
    op.drop_table("api_token")
