"""`nsi catalog ...`: create catalogs and read their passports."""

from __future__ import annotations

import json

import click

from registry.cli.common import NsiGroup, echo_json, open_store


@click.group(cls=NsiGroup)
def catalog():
    """Create and describe catalogs."""


@catalog.command("create")
@click.argument("slug")
@click.option("--title", required=True, help="Human-readable name")
@click.option("--kind", default="other", show_default=True,
              type=click.Choice(["classification", "drug", "facility", "other"]))
@click.option("--owner", help="Country or organisation that maintains it")
@click.option("--oid", help="Object identifier (as FNSI uses)")
@click.option("--language", default="ru", show_default=True, help="Default language of displays")
@click.option("--description", help="Free text")
@click.option("--schema", "schema_json", help='Attribute schema as JSON, e.g. {"atc": "string"}')
def catalog_create(slug, title, kind, owner, oid, language, description, schema_json):
    """Register a new, empty catalog SLUG."""
    from registry.errors import BadRequest
    from registry.models import CatalogCreate
    try:
        schema = json.loads(schema_json) if schema_json else {}
    except ValueError as exc:
        raise BadRequest(f"--schema is not valid JSON: {exc}") from None
    created = open_store().create_catalog(CatalogCreate(
        slug=slug, title=title, kind=kind, owner=owner, oid=oid, language=language,
        description=description, field_schema=schema))
    click.echo(f"Created catalog {created.slug}: {created.title}")


@catalog.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def catalog_list(as_json):
    """List catalogs with their latest published version."""
    store = open_store()
    passports = [store.catalog_public(c.slug) for c in store.list_catalogs()]
    if as_json:
        return echo_json([p.model_dump(mode="json") for p in passports])
    if not passports:
        click.echo("No catalogs yet. Create one with: nsi catalog create SLUG --title TITLE")
        return
    for p in passports:
        latest = f"latest {p.latest_version} ({p.latest_entry_count} entries)" if p.latest_version \
            else "no published version"
        click.echo(f"{p.slug}\t{p.kind}\t{p.title}\t{latest}")


@catalog.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def catalog_show(slug, as_json):
    """Show the passport of catalog SLUG."""
    p = open_store().catalog_public(slug)
    if as_json:
        return echo_json(p.model_dump(mode="json"))
    click.echo(f"{p.slug}: {p.title}")
    for label, value in [("kind", p.kind), ("owner", p.owner), ("oid", p.oid), ("language", p.language),
                         ("latest version", p.latest_version), ("entries", p.latest_entry_count),
                         ("versions", p.version_count)]:
        if value is not None:
            click.echo(f"  {label}: {value}")
    if p.field_schema:
        click.echo("  attributes: " + ", ".join(f"{k} ({v['type']})" for k, v in p.field_schema.items()))


COMMANDS = [catalog]
