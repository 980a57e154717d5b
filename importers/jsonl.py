"""The registry's own canonical JSON-lines format: one entry object per line."""

from __future__ import annotations

import json
from typing import Iterator

from registry.errors import ImportRejected, Position
from importers.source import Source


def read_entries(source: Source) -> Iterator[dict]:
    """Yield canonical entries with their line as position; a line that is not a JSON object is an error."""
    for number, line in enumerate(source.text_lines(), 1):
        if not line.strip():
            continue
        pos = Position(file=source.name, row=number)
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ImportRejected([pos.problem(f"not valid JSON: {exc.msg} at column {exc.colno}", kind="syntax")])
        if not isinstance(obj, dict):
            raise ImportRejected([pos.problem("each line must be a JSON object", kind="syntax")])
        obj["_pos"] = pos
        yield obj
