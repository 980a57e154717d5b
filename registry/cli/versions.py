"""`nsi versions`, `publish`, `discard`, `retire`, `diff`, `export`, `lookup`: a catalog's versions and entries."""

from __future__ import annotations

import json

import click

from registry.cli.common import echo_json, open_store
from registry.cli.interrupts import caused_by_interrupt, report_interrupted


@click.command()
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


@click.command()
@click.argument("slug")
@click.argument("label")
@click.option("--notes", "release_notes", help="Release notes to record")
def publish(slug, label, release_notes):
    """Publish draft LABEL of catalog SLUG."""
    store = open_store()
    try:
        v = store.publish(slug, label, release_notes=release_notes)
    except BaseException as exc:
        if caused_by_interrupt(exc):
            report_interrupted(slug, label, store)
        raise
    click.echo(f"Published {slug} {v.label} as sequence {v.seq}: {v.entry_count} entries, {v.added_count} added, "
               f"{v.changed_count} changed, {v.removed_count} removed")


@click.command()
@click.argument("slug")
@click.argument("label")
def discard(slug, label):
    """Delete draft LABEL of catalog SLUG."""
    open_store().discard(slug, label)
    click.echo(f"Discarded draft {slug} {label}")


@click.command()
@click.argument("slug")
@click.argument("label")
def retire(slug, label):
    """Retire published version LABEL of catalog SLUG (still readable, no longer latest)."""
    open_store().retire(slug, label)
    click.echo(f"Retired {slug} {label}")


def _short(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@click.command()
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


@click.command()
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


@click.command()
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


COMMANDS = [versions, publish, discard, retire, diff, export, lookup]
