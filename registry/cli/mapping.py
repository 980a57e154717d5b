"""`nsi mapset ...`, `nsi translate`, `nsi match`, `nsi index rebuild`: code mapping and the matcher."""

from __future__ import annotations

import gc
import sys

import click

from registry.cli.common import NsiGroup, echo_json, open_store


@click.group(cls=NsiGroup)
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
@click.option("--match-field", "match_fields", multiple=True, metavar="FIELD[:WEIGHT]",
              help="A source field whose names are matched, in order of preference (repeat): display, "
                   "designations, designations:LANG or attributes.NAME; default display")
@click.option("--combine", type=click.Choice(["best", "first"]), default=None,
              help="best: every field's names, the best score wins; first: a later field only for entries "
                   "the earlier ones left without candidates")
@click.option("--form-field", help="A dosage form field (e.g. attributes.dosage_form) that prefers the fitting "
                                   "ATC group or route")
@click.option("--floor", type=float, help="Drop candidates scoring under this (0-100)")
@click.option("--target-field", "target_fields", multiple=True, metavar="FIELD",
              help="A field of the target entries that is searched (repeat): display, designations, "
                   "designations:LANG or attributes.NAME; default display and designations")
def mapset_create(slug, source, target, four_eyes, title, owner, description, actor, match_fields, combine,
                  form_field, floor, target_fields):
    """Create map set SLUG from a published source version to a published target version."""
    from registry.mapping import create_map_set
    from registry.models import MapSetCreate
    ms = create_map_set(open_store(), MapSetCreate(
        slug=slug, source=source, target=target, four_eyes=four_eyes, title=title, owner=owner,
        description=description, match=_match_option(match_fields, combine, form_field, floor, target_fields)), actor=actor)
    rule = " (four-eyes rule on)" if ms.four_eyes else ""
    click.echo(f"Created map set {ms.slug}: {ms.source_catalog}@{ms.source_version} -> "
               f"{ms.target_catalog}@{ms.target_version}{rule}")
    click.echo(f"  matching on {_match_text(ms.match)}")


def _match_option(fields, combine, form_field, floor, target_fields=()) -> dict | None:
    """The map set's match declaration from the create options, or None when none was given."""
    if not (fields or combine or form_field or floor is not None or target_fields):
        return None
    config: dict = {}
    if fields:
        names = []
        for text in fields:
            field, _, weight = text.rpartition(":")
            try:  # designations:LANG holds a colon too: only a number after the last one is a weight
                names.append({"field": field, "weight": float(weight)})
            except ValueError:
                names.append({"field": text})
        config["names"] = names
    for key, value in (("combine", combine), ("form", form_field), ("floor", floor)):
        if value is not None:
            config[key] = value
    if target_fields:
        config["targets"] = list(target_fields)
    return config


def _match_text(match: dict) -> str:
    names = ", ".join(f"{n['field']} ({n['weight']:g})" for n in match["names"])
    extra = [f"combine {match['combine']}"]
    if match.get("form"):
        extra.append(f"form {match['form']}")
    if match.get("floor"):
        extra.append(f"floor {match['floor']:g}")
    return f"{names}; {', '.join(extra)}; searching the target's {', '.join(match['targets'])}"


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
    click.echo(f"  matching on: {_match_text(m.match)}")
    for label, value in [("owner", m.owner), ("description", m.description)]:
        if value:
            click.echo(f"  {label}: {value}")
    for status, n in m.counts.items():
        click.echo(f"  {status}: {n}")
    click.echo(f"  latest published version: {m.latest_version or '-'}")
    if m.coverage:
        why = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in m.coverage["without"].items() if n)
        click.echo(f"  last suggest: {m.coverage['with_candidates']} of {m.coverage['matched']} entries with "
                   f"candidates, {m.coverage['without_candidates']} without" + (f" ({why})" if why else ""))


@mapset.command("suggest")
@click.argument("slug")
@click.option("--limit", default=5, show_default=True, help="Candidates kept per source entry")
def mapset_suggest(slug, limit):
    """Run the matcher for every source entry of map set SLUG without a human decision."""
    from registry.cli.common import CountProgress
    from registry.mapping import suggest
    progress = CountProgress(f"Matching {slug}", "names")
    try:
        r = suggest(open_store(), slug, limit=limit, progress=progress)
    finally:
        progress.done()
    why = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in r.without.items() if n)
    click.echo(f"Matched {r.matched} of {r.source_entries} source entries of {slug}: {r.created} new candidates, "
               f"{r.updated} updated, {r.unchanged} unchanged; {r.kept_decided} with a reviewer's decision kept; "
               f"{r.without_candidates} without any candidate" + (f" ({why})" if why else ""))


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


@click.command()
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


@click.command("match")
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
        if done == 1:  # the modules and the opened index stay until the process ends
            gc.freeze()  # so the collector's full collections no longer walk them (0.2 s of 832 names)
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


@click.group(cls=NsiGroup)
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


COMMANDS = [mapset, translate, match_cmd, index]
