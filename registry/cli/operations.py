"""`nsi check`, `nsi backup` and `nsi restore`: verifying a store and copying the embedded one out and back."""

from __future__ import annotations

import click

from registry.cli.common import echo_json, open_store


@click.command()
@click.argument("catalogs", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
def check(catalogs, as_json):
    """Verify the store (or CATALOGS): checksums, validity ranges, parents; exit 1 on any fault."""
    from registry.store.check import check_store
    report = check_store(open_store(), list(catalogs) or None)
    if as_json:
        echo_json({"ok": report.ok, "catalogs": report.catalogs, "versions": report.versions,
                   "entries": report.entries, "faults": report.faults})
    else:
        for fault in report.faults:
            click.echo(f"FAULT {fault}")
        verdict = "OK" if report.ok else f"{len(report.faults)} faults"
        click.echo(f"Checked {report.catalogs} catalogs, {report.versions} versions, {report.entries:,} entries: "
                   f"{verdict}")
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("destination", type=click.Path(dir_okay=False))
def backup(destination):
    """Write a consistent snapshot of the embedded SQLite store to DESTINATION, while it serves."""
    from registry.backup import backup as make_backup
    done = make_backup(open_store(), destination)
    click.echo(f"Backed up {done.catalogs} catalogs (schema {done.revision}) to {done.path}: "
               f"{done.bytes:,} bytes in {done.seconds:.2f} s")


@click.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the store without asking")
def restore(source, yes):
    """Replace the embedded SQLite store by the backup SOURCE (checked first), then upgrade its schema."""
    from registry import config
    from registry.backup import restore as restore_backup
    from registry.store import Store
    if not yes:
        click.confirm(f"Replace everything in {config.database_url()} by {source}?", abort=True)
    done = restore_backup(Store.open(check=False), source)
    click.echo(f"Restored {done.catalogs} catalogs from {source} into {done.path} (schema {done.revision}). "
               f"Restart running servers: they keep responses of the old store cached.")


COMMANDS = [check, backup, restore]
