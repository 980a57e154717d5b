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
@click.option("--expires-in", "expires_in", default=None, metavar="LIFETIME",
              help="How long the token works: 90d, 12h, 30m, 8w, or never "
                   "[default: NSI_TOKEN_EXPIRES_IN, else never]")
def token_create(name, role, expires_in):
    """Create a token and print its secret (shown only this once)."""
    from registry import auth, config
    lifetime = auth.parse_lifetime(expires_in if expires_in is not None else config.get("NSI_TOKEN_EXPIRES_IN"))
    created, secret = auth.create_token(open_store(), name, role, lifetime)
    click.echo(secret)
    until = f", working until {created.expires_at.isoformat(timespec='seconds')}" if created.expires_at else ""
    click.echo(f"Created token {created.name} with role {created.role}{until}. Keep the secret above: it is not "
               f"stored and cannot be shown again.", err=True)


@token.command("list")
def token_list():
    """List tokens: name, role, secret prefix, created, last used and when it expires (or expired)."""
    from registry import auth
    from registry.models.catalog import utcnow
    tokens = auth.list_tokens(open_store())
    if not tokens:
        click.echo("No tokens yet. Create one with: nsi token create --name NAME --role importer")
        return
    now = utcnow()
    for t in tokens:
        used = t.last_used_at.isoformat() if t.last_used_at else "never used"
        if t.expires_at is None:
            expiry = "never expires"
        else:
            when = t.expires_at.isoformat(timespec="seconds")
            expiry = f"expired {when}" if t.expires_at <= now else f"expires {when}"
        click.echo(f"{t.name}\t{t.role}\t{t.prefix}...\tcreated {t.created_at.isoformat()}\t{used}\t{expiry}")


@token.command("revoke")
@click.argument("name")
def token_revoke(name):
    """Revoke (delete) token NAME; requests with it fail from now on."""
    from registry import auth
    auth.revoke_token(open_store(), name)
    click.echo(f"Revoked token {name}")


COMMANDS = [init, db, token]
