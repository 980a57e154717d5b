"""SQLite's search index orders each catalog's rows shortest first, and has term statistics to rank by.

The FTS5 rowid becomes `catalog << 44 | length << 32 | entry id` (`registry.search.fts5.rowid`): a catalog's
rows are one rowid range (its `catalog` column and token go), and within it the shortest entries come first,
so a query ranks a few of a common word's rows instead of counting all of them (`registry.search.fts5`).
`entry_search_vocab` (fts5vocab) gives each term's rows. The index is emptied: the servers rebuild it in the
background after the upgrade, answering meanwhile with the scan. PostgreSQL's index is unchanged.

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TOKENIZE = "tokenize=\"unicode61 remove_diacritics 0 tokenchars '.'\""


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE entry_search")
    op.execute(f"CREATE VIRTUAL TABLE entry_search USING fts5(code, display, designations, content='', {TOKENIZE})")
    op.execute("CREATE VIRTUAL TABLE entry_search_vocab USING fts5vocab(entry_search, row)")
    op.execute("DELETE FROM search_index_state")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE entry_search_vocab")
    op.execute("DROP TABLE entry_search")
    op.execute(f"CREATE VIRTUAL TABLE entry_search USING fts5(catalog, code, display, designations, "
               f"content='', {TOKENIZE})")
    op.execute("DELETE FROM search_index_state")
