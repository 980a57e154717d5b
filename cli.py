"""The `nsi` command line: a thin layer over the registry's Python API.

Every command parses its options, calls `registry` or `importers`, and prints
the result. User mistakes end with one `Error: ...` line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time

import click

from registry.errors import ImportRejected, NsiError


class NsiGroup(click.Group):
    """A click group that turns registry errors into one clear stderr line and exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ImportRejected as exc:
            click.echo(f"Error: {exc.message}", err=True)
            for problem in exc.problems[1:exc.max_listed]:
                click.echo(f"  {problem}", err=True)
            if len(exc.problems) > exc.max_listed:
                click.echo(f"  ... {len(exc.problems) - exc.max_listed} more", err=True)
            click.echo("Nothing was stored.", err=True)
            ctx.exit(exc.exit_code)
        except NsiError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


def open_store():
    """The store from the environment (NSI_DATA_DIR / NSI_DATABASE_URL), checked to be initialised."""
    from registry.store import Store
    return Store.open()


def echo_json(data) -> None:
    """Print data as indented JSON (dates as ISO text)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=NsiGroup)
@click.version_option(package_name="nsi-registry")
def cli():
    """NSI Registry: versioned reference catalogs, code mapping and publishing."""


@cli.command()
def init():
    """Create the data directory and database (or upgrade an existing one)."""
    from registry import config
    from registry.store import Store
    store = Store.init()
    click.echo(f"Initialised {store.engine.url.render_as_string(hide_password=True)} "
               f"(data directory {config.data_dir()})")


@cli.group(cls=NsiGroup)
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


@cli.group(cls=NsiGroup)
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


class Progress:
    """Import progress on stderr: a live line on a terminal, plain lines every 50k rows otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.last_plain = 0

    def __call__(self, rows: int) -> None:
        rate = rows / max(time.perf_counter() - self.started, 1e-6)
        if self.tty:
            click.echo(f"\r{self.label}: {rows:,} rows, {rate:,.0f} rows/s", err=True, nl=False)
        elif rows - self.last_plain >= 50000:
            self.last_plain = rows
            click.echo(f"{self.label}: {rows:,} rows, {rate:,.0f} rows/s", err=True)

    def done(self) -> None:
        if self.tty:
            click.echo("", err=True)


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--catalog", "catalog_slug", required=True, help="Catalog slug (created from the profile if missing)")
@click.option("--version", "version_label", required=True, help="Label of the new version, e.g. 2.27")
@click.option("--format", "fmt", help="Input format (jsonl, claml, fnsi, fhir-codesystem, csv, xlsx, xml)")
@click.option("--profile", help="Import profile name from catalogs/ (or a path to one)")
@click.option("--publish", is_flag=True, help="Publish the version right after staging it")
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing")
@click.option("--notes", "release_notes", help="Release notes of the version")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
def import_(file, catalog_slug, version_label, fmt, profile, publish, dry_run, release_notes, as_json):
    """Import FILE as a new draft version of a catalog, then report what changed."""
    from importers import run_import
    progress = Progress(f"importing {file}")
    try:
        report = run_import(open_store(), file, catalog=catalog_slug, version=version_label, format=fmt,
                            profile=profile, publish=publish, dry_run=dry_run, release_notes=release_notes,
                            progress=progress)
    finally:
        progress.done()
    if as_json:
        return echo_json(report.to_dict())
    for w in report.warnings[:20]:
        click.echo(f"Warning: {w}", err=True)
    if len(report.warnings) > 20:
        click.echo(f"Warning: ... {len(report.warnings) - 20} more warnings", err=True)
    if report.status == "unchanged":
        click.echo(report.message)
        return
    verb = {"dry-run": "Checked (dry run, nothing stored)", "staged": "Staged draft",
            "published": "Published"}[report.status]
    click.echo(f"{verb} {report.catalog} {report.version}: {report.entries} entries; against the latest version "
               f"{report.added} added, {report.changed} changed, {report.removed} removed "
               f"({report.seconds:.1f} s)")
    if report.status == "staged":
        click.echo(f"Review with `nsi diff {report.catalog} latest {report.version}`, then "
                   f"`nsi publish {report.catalog} {report.version}` or `nsi discard {report.catalog} "
                   f"{report.version}`.")


@cli.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def versions(slug, as_json):
    """List the versions of catalog SLUG."""
    rows = open_store().list_versions(slug)
    if as_json:
        return echo_json([v.model_dump(mode="json") for v in rows])
    if not rows:
        click.echo(f"Catalog {slug} has no versions yet.")
    for v in rows:
        seq = v.seq if v.seq is not None else "-"
        click.echo(f"{v.label}\t{v.status}\tseq {seq}\t{v.entry_count} entries\t+{v.added_count} "
                   f"~{v.changed_count} -{v.removed_count}\t{v.checksum or ''}")


@cli.command()
@click.argument("slug")
@click.argument("label")
@click.option("--notes", "release_notes", help="Release notes to record")
def publish(slug, label, release_notes):
    """Publish draft LABEL of catalog SLUG."""
    v = open_store().publish(slug, label, release_notes=release_notes)
    click.echo(f"Published {slug} {v.label} as sequence {v.seq}: {v.entry_count} entries, {v.added_count} added, "
               f"{v.changed_count} changed, {v.removed_count} removed")


@cli.command()
@click.argument("slug")
@click.argument("label")
def discard(slug, label):
    """Delete draft LABEL of catalog SLUG."""
    open_store().discard(slug, label)
    click.echo(f"Discarded draft {slug} {label}")


@cli.command()
@click.argument("slug")
@click.argument("label")
def retire(slug, label):
    """Retire published version LABEL of catalog SLUG (still readable, no longer latest)."""
    open_store().retire(slug, label)
    click.echo(f"Retired {slug} {label}")


def _short(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@cli.command()
@click.argument("slug")
@click.argument("from_version")
@click.argument("to_version")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(slug, from_version, to_version, fmt):
    """Show what changed in catalog SLUG between two versions (`latest` and drafts allowed)."""
    d = open_store().diff(slug, from_version, to_version)
    if fmt == "json":
        return echo_json(d)
    c = d["counts"]
    click.echo(f"{slug} {d['from']} -> {d['to']}: {c['added']} added, {c['removed']} removed, "
               f"{c['changed']} changed")
    for e in d["added"]:
        click.echo(f"+ {e['code']}\t{e['display']}")
    for e in d["removed"]:
        click.echo(f"- {e['code']}\t{e['display']}")
    for ch in d["changed"]:
        for field, ba in ch["fields"].items():
            click.echo(f"~ {ch['code']}\t{field}: {_short(ba['before'])} -> {_short(ba['after'])}")


@cli.command()
@click.argument("slug")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout")
def export(slug, version, fmt, output):
    """Write every entry of a version (`latest` = newest published) in code order."""
    from registry import exports
    store = open_store()
    chunks = exports.iter_jsonl(store.iter_lines(slug, version)) if fmt == "jsonl" \
        else exports.iter_csv(store.iter_entries(slug, version))
    if output:
        count = 0
        with open(output, "w", encoding="utf-8", newline="") as f:
            for chunk in chunks:
                f.write(chunk)
                count += chunk.count("\n")
        if fmt == "csv":
            count -= 1
        click.echo(f"Wrote {count} entries of {slug} {store.resolve(slug, version).label} to {output}")
    else:
        for chunk in chunks:
            click.echo(chunk, nl=False)


@cli.command()
@click.argument("slug")
@click.argument("code")
@click.option("--version", "version", default="latest", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def lookup(slug, code, version, as_json):
    """Show one entry of catalog SLUG."""
    store = open_store()
    entry = store.lookup(slug, code, version)
    if as_json:
        return echo_json(entry)
    click.echo(f"{entry['code']}\t{entry['display']}")
    click.echo(f"  version: {store.resolve(slug, version).label}")
    click.echo(f"  status: {entry['status']}")
    if entry["parents"]:
        click.echo(f"  parents: {', '.join(entry['parents'])}")
    for d in entry["designations"]:
        click.echo(f"  {d['use']} ({d['language'] or '-'}): {d['text']}")
    for k, v in entry["attributes"].items():
        click.echo(f"  {k}: {v}")


def main():
    """Entry point of the `nsi` console script."""
    cli(prog_name="nsi")


if __name__ == "__main__":
    main()
