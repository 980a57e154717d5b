"""The registry's own canonical JSON-lines format: one entry object per line."""

from __future__ import annotations

from typing import Iterator

from registry.errors import ImportRejected, Position
from importers.findings import Findings
from importers.profile import Profile
from importers.source import Source, parse_json


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """Yield canonical entries with their line as position.

    A line that is not a JSON object, or is nested too deeply for the JSON
    decoder, is refused with its line instead of ending in a traceback.
    """
    for number, line in enumerate(source.text_lines(), 1):
        if not line.strip():
            continue
        pos = Position(file=source.name, row=number)
        obj, reason = parse_json(line)
        if reason:
            raise ImportRejected([pos.problem(reason, kind="syntax")])
        if not isinstance(obj, dict):
            raise ImportRejected([pos.problem("each line must be a JSON object", kind="syntax")])
        obj["_pos"] = pos
        yield obj


READS = "JSON lines"


def sniff(source: Source) -> bool:
    """A file named .jsonl or .ndjson."""
    return source.path.suffix.lower() in (".jsonl", ".ndjson")
