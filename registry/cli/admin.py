"""`nsi init`, `nsi db upgrade` and `nsi token ...`: setting up the store and its API tokens."""

from __future__ import annotations

import click

from registry.cli.common import NsiGroup, open_store


@click.command()
def init():
    """Create the data directory and database (or upgrade an existing one)."""
    from registry import config
    from registry.store import Store
    store = Store.init()
    click.echo(f"Initialised {store.engine.url.render_as_string(hide_password=True)} "
               f"(data directory {config.data_dir()})")


@click.group(cls=NsiGroup)
def db():
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade():
    """Upgrade the database schema to the newest migration, keeping data."""
    from registry import config, db as dbmod
    engine = dbmod.make_engine(config.database_url())
    before = dbmod.current_revision(engine)
    dbmod.upgrade(engine)
    click.echo(f"Database schema at {dbmod.current_revision(engine)} (was {before or 'empty'})")


@click.group(cls=NsiGroup)
def token():
    """Create, list and revoke API tokens (stored hashed)."""


@token.command("create")
@click.option("--name", required=True, help="Who or what will use the token")
@click.option("--role", required=True, type=click.Choice(["reader", "importer", "reviewer", "admin"]),
              help="reader: reads when they are closed; importer: uploads and publishes; "
                   "reviewer: mapping decisions; admin: everything")
def token_create(name, role):
    """Create a token and print its secret (shown only this once)."""
    from registry import auth
    created, secret = auth.create_token(open_store(), name, role)
    click.echo(secret)
    click.echo(f"Created token {created.name} with role {created.role}. Keep the secret above: it is not "
               f"stored and cannot be shown again.", err=True)


@token.command("list")
def token_list():
    """List tokens: name, role, secret prefix, created and last used."""
    from registry import auth
    tokens = auth.list_tokens(open_store())
    if not tokens:
        click.echo("No tokens yet. Create one with: nsi token create --name NAME --role importer")
        return
    for t in tokens:
        used = t.last_used_at.isoformat() if t.last_used_at else "never used"
        click.echo(f"{t.name}\t{t.role}\t{t.prefix}...\tcreated {t.created_at.isoformat()}\t{used}")


@token.command("revoke")
@click.argument("name")
def token_revoke(name):
    """Revoke (delete) token NAME; requests with it fail from now on."""
    from registry import auth
    auth.revoke_token(open_store(), name)
    click.echo(f"Revoked token {name}")


COMMANDS = [init, db, token]
