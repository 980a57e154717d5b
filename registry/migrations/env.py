"""Alembic environment: runs migrations on the engine handed over by `registry.db.upgrade`."""

from alembic import context

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    context.run_migrations()
