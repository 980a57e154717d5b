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
            if exc.total > exc.max_listed:
                click.echo(f"  ... {exc.total - exc.max_listed} more", err=True)
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
        more = len(report.warnings) - 20
        click.echo(f"Warning: ... {more} more {'warning' if more == 1 else 'warnings'} (all of them with --json)",
                   err=True)
    if report.status == "unchanged":
        click.echo(report.message)
        return
    verb = {"dry-run": "Checked (dry run, nothing stored)", "staged": "Staged draft",
            "published": "Published"}[report.status]
    entries = f"{report.entries} {'entry' if report.entries == 1 else 'entries'}"
    first = report.changed == report.removed == report.unchanged == 0  # nothing published before to compare with
    against = ("the catalog's first version" if first else
               f"against the latest version {report.added} added, {report.changed} changed, {report.removed} removed")
    click.echo(f"{verb} {report.catalog} {report.version}: {entries}; {against} ({report.seconds:.1f} s)")
    if report.status == "staged":
        then = (f"Publish it with `nsi publish {report.catalog} {report.version}` or discard it with" if first else
                f"Review with `nsi diff {report.catalog} latest {report.version}`, then "
                f"`nsi publish {report.catalog} {report.version}` or")
        click.echo(f"{then} `nsi discard {report.catalog} {report.version}`.")


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
    if output:
        count, label = exports.write_version(store, slug, version, fmt, output)
        click.echo(f"Wrote {count} entries of {slug} {label} to {output}")
        return
    label = store.resolve(slug, version).label
    chunks = exports.iter_jsonl(store.iter_lines(slug, label)) if fmt == "jsonl" \
        else exports.iter_csv(store.iter_entries(slug, label))
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


def _serve_options(f):
    for option in reversed([
            click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on"),
            click.option("--port", default=8000, show_default=True, type=int, help="TCP port"),
            click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                         help="Gunicorn worker processes (they share the database)"),
            click.option("--access-log", is_flag=True, help="Log every request to stderr")]):
        f = option(f)
    return f


@cli.command()
@_serve_options
def serve(host, port, workers, access_log):
    """Serve the REST API with gunicorn (production mode)."""
    from registry.web import create_app
    from registry.web.server import serve as run
    app = create_app()
    click.echo(f"Serving the NSI Registry API on http://{host}:{port}/api/v1 ({workers} workers)", err=True)
    run(app, host=host, port=port, workers=workers, access_log=access_log)


@cli.command()
@_serve_options
def demo(host, port, workers, access_log):
    """Load the bundled sample catalogs into the data directory (once) and serve them."""
    from registry import config
    from registry.demo import DEMO_MAP_SET, DEMO_REVIEWER, curl_examples, prepare_demo, prepare_review_demo
    from registry.web import create_app
    from registry.web.server import serve as run
    store, loaded = prepare_demo()
    where = store.engine.url.render_as_string(hide_password=True)
    click.echo(("Loaded the sample catalogs into " if loaded else "Using the catalogs already in ") + where
               + f" (data directory {config.data_dir()})", err=True)
    for c in store.list_catalogs():
        p = store.catalog_public(c.slug)
        click.echo(f"  {p.slug}\t{p.title}\tlatest {p.latest_version} ({p.latest_entry_count} entries)", err=True)
    reviewer_secret = prepare_review_demo(store)
    store.engine.dispose()
    app = create_app()
    base = f"http://{host}:{port}"
    click.echo(f"Serving on {base}/api/v1 ({workers} workers). Try:", err=True)
    for line in curl_examples(base, app.extensions["nsi_store"]):
        click.echo(f"  {line}", err=True)
    click.echo(f"Review pages: {base}/review/mapsets/{DEMO_MAP_SET}", err=True)
    if reviewer_secret:
        click.echo(f"  sign in with the reviewer token {reviewer_secret} (shown only now)", err=True)
    else:
        click.echo(f"  the token {DEMO_REVIEWER} was shown on the first run; make another with "
                   f"`nsi token create --name NAME --role reviewer`", err=True)
    run(app, host=host, port=port, workers=workers, access_log=access_log)


@cli.group(cls=NsiGroup)
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


@cli.group(cls=NsiGroup)
def mapset():
    """Map sets: map a source catalog's codes to a target catalog, review, publish."""


def _counts(counts: dict) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items())


@mapset.command("create")
@click.argument("slug")
@click.option("--source", required=True, help="Source catalog as SLUG@VERSION (`latest` allowed)")
@click.option("--target", required=True, help="Target catalog as SLUG@VERSION (`latest` allowed)")
@click.option("--four-eyes", is_flag=True, help="Whoever proposed a mapping cannot approve it")
@click.option("--title", help="Human-readable name (default: source -> target)")
@click.option("--owner", help="Working group or organisation responsible")
@click.option("--description", help="Free text")
@click.option("--by", "actor", help="Your name, for the audit trail")
def mapset_create(slug, source, target, four_eyes, title, owner, description, actor):
    """Create map set SLUG from a published source version to a published target version."""
    from registry.mapping import create_map_set
    from registry.models import MapSetCreate
    ms = create_map_set(open_store(), MapSetCreate(slug=slug, source=source, target=target, four_eyes=four_eyes,
                                                   title=title, owner=owner, description=description), actor=actor)
    rule = " (four-eyes rule on)" if ms.four_eyes else ""
    click.echo(f"Created map set {ms.slug}: {ms.source_catalog}@{ms.source_version} -> "
               f"{ms.target_catalog}@{ms.target_version}{rule}")


@mapset.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def mapset_list(as_json):
    """List map sets with their progress."""
    from registry.mapping import list_map_sets
    sets = list_map_sets(open_store())
    if as_json:
        return echo_json([m.model_dump(mode="json") for m in sets])
    if not sets:
        click.echo("No map sets yet. Create one with: nsi mapset create SLUG --source SLUG@VERSION "
                   "--target SLUG@VERSION")
    for m in sets:
        click.echo(f"{m.slug}\t{m.source_catalog}@{m.source_version} -> {m.target_catalog}@{m.target_version}\t"
                   f"{_counts(m.counts)}\tlatest {m.latest_version or '-'}")


@mapset.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def mapset_show(slug, as_json):
    """Show map set SLUG with its mapping counts per status."""
    from registry.mapping import get_map_set
    m = get_map_set(open_store(), slug)
    if as_json:
        return echo_json(m.model_dump(mode="json"))
    click.echo(f"{m.slug}: {m.title}")
    click.echo(f"  source: {m.source_catalog}@{m.source_version}")
    click.echo(f"  target: {m.target_catalog}@{m.target_version}")
    click.echo(f"  four-eyes rule: {'on' if m.four_eyes else 'off'}")
    for label, value in [("owner", m.owner), ("description", m.description)]:
        if value:
            click.echo(f"  {label}: {value}")
    for status, n in m.counts.items():
        click.echo(f"  {status}: {n}")
    click.echo(f"  latest published version: {m.latest_version or '-'}")


@mapset.command("suggest")
@click.argument("slug")
@click.option("--limit", default=5, show_default=True, help="Candidates kept per source entry")
def mapset_suggest(slug, limit):
    """Run the matcher for every source entry of map set SLUG without a human decision."""
    from registry.mapping import suggest
    r = suggest(open_store(), slug, limit=limit)
    click.echo(f"Matched {r.matched} of {r.source_entries} source entries of {slug}: {r.created} new candidates, "
               f"{r.updated} updated, {r.unchanged} unchanged; {r.kept_decided} with a reviewer's decision kept; "
               f"{r.without_candidates} without any candidate")


@mapset.command("export")
@click.argument("slug")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), help="Write the review worksheet here")
@click.option("--sssom", "sssom_path", type=click.Path(dir_okay=False), help="Write approved mappings as SSSOM TSV")
@click.option("--status", default="candidate,proposed,rejected", show_default=True,
              help="Statuses to put in the worksheet (comma-separated)")
@click.option("--version", "version", help="SSSOM: a published version (`latest` allowed) instead of the working set")
def mapset_export(slug, xlsx_path, sssom_path, status, version):
    """Export map set SLUG as a review worksheet (--xlsx) and/or SSSOM TSV (--sssom)."""
    from registry.errors import BadRequest
    from registry.mapping import export_sssom, export_xlsx
    if not xlsx_path and not sssom_path:
        raise BadRequest("give --xlsx FILE and/or --sssom FILE")
    store = open_store()
    if xlsx_path:
        n = export_xlsx(store, slug, xlsx_path, status=status)
        click.echo(f"Wrote {n} mappings of {slug} to {xlsx_path}")
    if sssom_path:
        text = export_sssom(store, slug, version)
        with open(sssom_path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        rows = sum(1 for line in text.splitlines() if line and not line.startswith("#")) - 1
        click.echo(f"Wrote {rows} mappings of {slug} to {sssom_path} (SSSOM TSV)")


@mapset.command("import-decisions")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reviewer", required=True, help="Name of the reviewer who filled in the worksheet")
def mapset_import_decisions(slug, file, reviewer):
    """Apply the decisions of a filled review worksheet FILE to map set SLUG, all or nothing."""
    from registry.mapping import import_decisions
    click.echo(import_decisions(open_store(), slug, file, reviewer=reviewer).summary(reviewer))


@mapset.command("publish")
@click.argument("slug")
@click.argument("label")
@click.option("--notes", help="Release notes")
@click.option("--by", "actor", help="Your name, for the audit trail")
def mapset_publish(slug, label, notes, actor):
    """Publish the approved mappings of map set SLUG as immutable version LABEL."""
    from registry.mapping import publish_map_set
    v = publish_map_set(open_store(), slug, label, actor=actor, notes=notes)
    click.echo(f"Published map set {slug} {v.label} as sequence {v.seq}: {v.mapping_count} approved mappings")


@cli.command()
@click.argument("source")
@click.argument("codes", nargs=-1, required=True)
@click.option("--target", help="Target catalog slug (default: every published map set from SOURCE)")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def translate(source, codes, target, as_json):
    """Translate CODES of catalog SOURCE through published map sets (approved mappings only)."""
    from registry.mapping import translate_codes
    results = translate_codes(open_store(), source, list(codes), target)
    if as_json:
        return echo_json(results)
    for r in results:
        if not r["matches"]:
            click.echo(f"{r['code']}\t(no published mapping)")
        for m in r["matches"]:
            click.echo(f"{r['code']}\t{m['relationship']}\t{m['target']}:{m['code'] or '-'}\t{m['display'] or ''}"
                       f"\t({m['map_set']} {m['map_set_version']})")


@cli.command("match")
@click.option("--target", required=True, help="Catalog to match against: SLUG or SLUG@VERSION (default: latest)")
@click.option("--input", "input_path", type=click.Path(dir_okay=False),
              help="Local list, CSV or XLSX, with columns local_code,local_name (other columns become attributes)")
@click.option("--source", help="Instead of --input: a catalog version in the registry, SLUG@VERSION")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="Candidates CSV to write")
@click.option("--limit", default=5, show_default=True, help="Candidates per local entry")
def match_cmd(target, input_path, source, output, limit):
    """Propose target codes for each local entry: ranked candidates with a score (0-100) and the reason.

    Writes OUTPUT with the columns local_code,local_name,rank,target_code,target_display,score,reason.
    The target version's match index is built on first use.
    """
    from registry.matching import match_to_csv
    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None and sys.stderr.isatty():
            bar = click.progressbar(length=total, label="matching", file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(1)

    try:
        summary = match_to_csv(open_store(), target, output, input_path=input_path, source=source,
                               limit=limit, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for warning in summary["warnings"]:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"Matched {summary['terms']} entries against {summary['target']} {summary['version']}: "
               f"{summary['candidates']} candidates written to {summary['output']} ({summary['seconds']:.1f} s)")


@cli.group(cls=NsiGroup)
def index():
    """Match indexes (derived caches, rebuilt automatically when missing)."""


@index.command("rebuild")
@click.argument("slug")
@click.argument("version")
def index_rebuild(slug, version):
    """Rebuild the match index of published VERSION of catalog SLUG."""
    from registry.matching import build_index
    report = build_index(open_store(), slug, version)
    click.echo(f"Rebuilt the match index of {report.catalog} {report.version}: {report.entries} entries, "
               f"{report.designations} names, {report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s")


def main():
    """Entry point of the `nsi` console script."""
    cli(prog_name="nsi")


if __name__ == "__main__":
    main()
