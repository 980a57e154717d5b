"""The one import pipeline shared by `nsi import` and API uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from registry.errors import BadRequest, Report
from importers.source import Source


def _jsonl(source: Source, profile) -> Iterator[dict]:
    from importers import jsonl
    return jsonl.read_entries(source)


# format name -> function(source, profile) yielding canonical entries with `_pos`
FORMATS: dict[str, Callable[[Source, object], Iterator[dict]]] = {"jsonl": _jsonl}


def run_import(store, path: str | Path, *, catalog: str, version: str, format: str | None = None,
               profile: str | None = None, publish: bool = False, dry_run: bool = False,
               release_notes: str | None = None, created_by: str | None = None,
               progress: Callable[[int], None] | None = None, source_name: str | None = None) -> Report:
    """Import one file as draft `version` of `catalog` (optionally publishing it) and return the report.

    Errors raise ImportRejected with every problem located; nothing is stored then.
    """
    source = Source.from_path(path)
    if source_name:
        source.name = source_name
    fmt = format or "jsonl"
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
    entries = FORMATS[fmt](source, profile)
    report = store.stage_draft(catalog, version, entries, source_name=Path(source.name).name,
                               source_sha256=source.sha256(), release_notes=release_notes,
                               created_by=created_by, dry_run=dry_run, progress=progress, file=source.name)
    if publish and report.status == "staged":
        store.publish(catalog, version, by=created_by)
        report.status = "published"
    return report
