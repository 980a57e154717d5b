"""Review-page sessions kept on the server, so signing out, revoking a token or expiry ends them.

The cookie holds a random session id; this table keeps only its sha256, the
token it was opened with (deleted with the token) and when it was opened and last used.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "review_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("api_token.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("pending_for", sa.String(500)),
        sa.Column("pending_comment", sa.Text),
    )
    op.create_index("ix_review_session_token_id", "review_session", ["token_id"])


def downgrade():
    op.drop_table("review_session")
