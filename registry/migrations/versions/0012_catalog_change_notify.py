"""PostgreSQL: notify the channel `nsi_catalogs` whenever catalogs or versions change.

Serving processes LISTEN on it to keep `latest` and the catalog list in memory between
changes (registry.store.changes); SQLite needs nothing (PRAGMA data_version).

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""CREATE OR REPLACE FUNCTION nsi_notify_catalogs() RETURNS trigger LANGUAGE plpgsql AS $$
                  BEGIN PERFORM pg_notify('nsi_catalogs', TG_TABLE_NAME); RETURN NULL; END $$""")
    for table in ("catalog", "catalog_version"):
        op.execute(f"""CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
                       FOR EACH STATEMENT EXECUTE FUNCTION nsi_notify_catalogs()""")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS catalog_version_changed ON catalog_version")
    op.execute("DROP TRIGGER IF EXISTS catalog_changed ON catalog")
    op.execute("DROP FUNCTION IF EXISTS nsi_notify_catalogs()")
