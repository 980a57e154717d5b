"""The registry's own canonical JSON-lines format: one entry object per line."""

from __future__ import annotations

import json
from typing import Iterator

from registry.errors import ImportRejected, Position
from importers.source import Source


def read_entries(source: Source) -> Iterator[dict]:
    """Yield canonical entries with their line as position.

    A line that is not a JSON object, or is nested too deeply for the JSON
    decoder, is refused with its line instead of ending in a traceback.
    """
    for number, line in enumerate(source.text_lines(), 1):
        if not line.strip():
            continue
        pos = Position(file=source.name, row=number)
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ImportRejected([pos.problem(f"not valid JSON: {exc.msg} at column {exc.colno}", kind="syntax")])
        except RecursionError:  # json's decoder recurses once per nesting level: [[[[...]]]] exhausts the stack
            raise ImportRejected([pos.problem("the JSON is nested too deeply to read (an entry is a flat object "
                                              "whose attributes are plain values)", kind="syntax")]) from None
        if not isinstance(obj, dict):
            raise ImportRejected([pos.problem("each line must be a JSON object", kind="syntax")])
        obj["_pos"] = pos
        yield obj
