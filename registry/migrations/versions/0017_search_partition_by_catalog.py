"""PostgreSQL's search index is partitioned by catalog and ordered within each catalog shortest first.

`entry_search` becomes `(catalog_id, entry_id, length, terms)`, partitioned by catalog (one partition per
catalog, made by the builder: `registry.search.pg`), with a GIN index on `terms` and a B-tree on
`(length, entry_id)` in each: a catalog's search reads its own partition, its shortest matches first, and the
planner decides by that catalog's statistics. The index is emptied: the servers rebuild it in the background
after the upgrade, answering meanwhile with the scan. SQLite's index is unchanged.

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TABLE entry_search")
    op.execute("CREATE TABLE entry_search (catalog_id integer NOT NULL, entry_id integer NOT NULL, "
               "length smallint NOT NULL, terms tsvector NOT NULL, PRIMARY KEY (catalog_id, entry_id)) "
               "PARTITION BY LIST (catalog_id)")
    op.execute("CREATE INDEX ix_entry_search_terms ON entry_search USING gin (terms)")
    op.execute("CREATE INDEX ix_entry_search_order ON entry_search (length, entry_id)")
    op.execute("DELETE FROM search_index_state")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TABLE entry_search CASCADE")  # and its partitions
    op.execute("CREATE TABLE entry_search (entry_id integer PRIMARY KEY, terms tsvector NOT NULL)")
    op.execute("CREATE INDEX ix_entry_search_terms ON entry_search USING gin (terms)")
    op.execute("DELETE FROM search_index_state")
