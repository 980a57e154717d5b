"""`nsi import` and `nsi profiles`: load a national file as a draft version, with the profiles to read it."""

from __future__ import annotations

import click

from registry.cli.common import Progress, echo_json, open_store
from registry.cli.interrupts import caused_by_interrupt, report_interrupted


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--catalog", "catalog_slug", help="Catalog slug (created from the profile if missing); a FHIR "
              "resource names its own when left out")
@click.option("--version", "version_label", help="Label of the new version, e.g. 2.27; a FHIR resource's own "
              "version when left out")
# The names of importers.formats.FORMATS, written out: importing the importers here would slow every command's start.
@click.option("--format", "fmt", help="Input format (jsonl, claml, xml, fhir-valueset, fhir-conceptmap, fhir-codesystem, "
                                     "fnsi, xlsx, csv, fixed-width, json)")
@click.option("--profile", help="Import profile name from catalogs/ (or a path to one)")
@click.option("--publish", is_flag=True, help="Publish the version right after staging it")
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing")
@click.option("--notes", "release_notes", help="Release notes of the version")
@click.option("--with", "with_files", multiple=True, metavar="NAME=PATH",
              help="A side file the profile joins to FILE (translations, attributes, groups); repeatable")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
def import_(file, catalog_slug, version_label, fmt, profile, publish, dry_run, release_notes, with_files, as_json):
    """Import FILE as a new draft version of a catalog, then report what changed.

    A FHIR ValueSet is stored as a value set, a FHIR ConceptMap published as a map-set version.
    """
    from importers import run_import
    sides = {}
    for given in with_files:
        name, sep, path = given.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{given!r}: write NAME=PATH, with the name of the profile's [[with]] table",
                                     param_hint="--with")
        sides[name] = path
    progress = Progress(f"importing {file}")
    store = open_store()
    try:
        report = run_import(store, file, catalog=catalog_slug, version=version_label, format=fmt,
                            profile=profile, publish=publish, dry_run=dry_run, release_notes=release_notes,
                            progress=progress, with_files=sides)
    except BaseException as exc:
        if caused_by_interrupt(exc):
            report_interrupted(catalog_slug, version_label, store)
        raise
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
    if report.status == "unchanged" or report.message:  # a FHIR ValueSet or ConceptMap says what it became
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


@click.command()
def profiles():
    """List the import profiles (NSI_CATALOGS_DIR's and the shipped ones): name, format, catalog, description.

    Each is loaded, so this also checks a folder of one's own profiles: a broken one is named with its line
    on stderr, the others are still listed, and the exit status is 1.
    """
    from importers.profile import ProfileError, available_profiles, load_profile
    from registry import config
    names = available_profiles()
    if not names:
        click.echo(f"No profiles in {config.catalogs_dir()}")
    broken = 0
    for name in names:
        try:
            p = load_profile(name)
        except ProfileError as exc:
            broken += 1
            click.echo(f"Error: {exc.message}", err=True)
            continue
        click.echo(f"{name}\t{p.format}\t{p.catalog.get('slug') or '-'}\t{p.description}")
    if broken:
        raise SystemExit(1)


COMMANDS = [import_, profiles]
