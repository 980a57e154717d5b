"""Full-text search index in the database: FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL.

Replaces the per-version whoosh folders built on the first query. `entry_search` holds the terms of each
entry row (see `registry.search.analysis`); `search_index_state` says how far each catalog is indexed.
Existing catalogs are indexed by the server in the background after the upgrade.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_index_state",
        sa.Column("catalog_id", sa.Integer, sa.ForeignKey("catalog.id"), primary_key=True),
        sa.Column("indexed_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("indexed_entry_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(300)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
    )
    if op.get_bind().dialect.name == "sqlite":
        # Contentless (the text is in `entry`), rowid = entry.id; `catalog` holds one token `c<id>` so a
        # search intersects with its catalog inside the index; '.' keeps dotted codes whole.
        op.execute("CREATE VIRTUAL TABLE entry_search USING fts5(catalog, code, display, designations, "
                   "content='', tokenize=\"unicode61 remove_diacritics 0 tokenchars '.'\")")
    else:
        op.execute("CREATE TABLE entry_search (entry_id integer PRIMARY KEY, terms tsvector NOT NULL)")
        op.execute("CREATE INDEX ix_entry_search_terms ON entry_search USING gin (terms)")


def downgrade():
    op.execute("DROP TABLE entry_search")
    op.drop_table("search_index_state")
