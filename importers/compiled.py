"""Row builders compiled from a profile once per file: Python source written for its declared columns.

For a field set whose fields are each one column of text (the commonest
profile: code, display, maybe status, string attributes; see
`FieldSet._simple_layout`), `compile_row_builder` writes one function that
takes the cells it needs by index, strips them, and builds the canonical entry
together with its staged row (the canonical line is built, and hashed, and the
attributes JSON written, with a single `%` format each), so that neither the
mapper nor the store loops over fields, looks names up, or encodes the fixed
parts of the line per row.

The result is exactly what the general mapper path, `stored_parts` and
`content_hash` make of the same row (the staged rows are byte-identical; see
registry.store.staging). A row the builder is not sure of (a cell that is not
text, a short row, an empty code, a status outside the canonical ones) gets
None, and the caller maps it the general way.

What the profile names (attribute names) enters the source only as `repr()`
literals and cell indexes as ints, so no profile can put code into it.
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring
from typing import Callable

from registry.entries import STATUSES, CanonicalEntry, EncodedEntry, content_hash, stored_attributes


def _literal_json(text: str) -> str:
    """`text` as JSON, made safe inside a `%` format string."""
    return encode_basestring(text).replace("%", "%%")


def compile_row_builder(indexes: list[int], has_status: bool, names: tuple[str, ...]) -> Callable:
    """A function (cells, position) -> EncodedEntry or None, for code, display, [status,] attributes by index.

    `indexes` are the cell indexes of code, display, status (if `has_status`)
    and the attributes `names` in that (sorted) order.
    """
    cells = ["code", "display"] + (["status"] if has_status else []) + [f"a{k}" for k in range(len(names))]
    attrs = cells[len(cells) - len(names):]
    src = ["def build(row, pos):",
           "    try:"]
    src += [f"        {var} = row[{i}].strip()" for var, i in zip(cells, indexes)]
    src += ["    except (AttributeError, IndexError):",  # a cell not text, or a short record: the general path
            "        return None",
            "    if not code:",  # a blank record, or an empty code: the general path says which
            "        return None"]
    if has_status:
        src += ["    status = status or 'active'",
                "    status_json = STATUS_JSON.get(status)",
                "    if status_json is None:",
                "        return None"]
    else:
        src += ["    status = 'active'",
                "    status_json = '\"active\"'"]
    if names:
        template = "{" + ",".join(f"{_literal_json(n)}:%s" for n in names) + "}"
        src += [f"    if {' and '.join(attrs)}:",
                f"        attributes = {{{', '.join(f'{n!r}: {v}' for n, v in zip(names, attrs))}}}",
                f"        attributes_json = {template!r} % ({', '.join(f'enc({v})' for v in attrs)},)",
                "    else:",
                f"        attributes = {{k: v for k, v in ({', '.join(f'({n!r}, {v})' for n, v in zip(names, attrs))},)"
                f" if v}}",
                "        attributes_json = stored_attributes(attributes)"]
    else:
        src += ["    attributes = {}",
                "    attributes_json = '{}'"]
    src += ["    line = LINE % (enc(code), enc(display), status_json, attributes_json)",
            "    entry = EncodedEntry(code=code, display=display, designations=[], parents=[], status=status,"
            " attributes=attributes, _pos=pos)",
            "    entry.stored = (code, content_hash(line), display, '[]', '[]', None, status, attributes_json)",
            "    return entry"]
    namespace = {"enc": encode_basestring, "content_hash": content_hash, "EncodedEntry": EncodedEntry, "stored_attributes": stored_attributes,
                 "STATUS_JSON": {s: encode_basestring(s) for s in STATUSES},
                 "LINE": '{"code":%s,"display":%s,"designations":[],"parents":[],"status":%s,"attributes":%s}'}
    exec(compile("\n".join(src) + "\n", f"<row builder for {', '.join(cells)}>", "exec"), namespace)
    return namespace["build"]


def canonical_entry(code, display, status, designations, parents, attributes, pos, texts_stripped):
    """The entry as `normalize_entry` would make it, marked canonical; None if a value needs its full check.

    Attributes arrive sorted and without empty values, designations with their
    language and use normalized (see FieldSet); what is left to check here is
    cheap, and anything unusual is left to the store's normalize_entry (which
    also gives the error message for values that cannot be right).
    """
    if not texts_stripped:
        if code.__class__ is not str or display.__class__ is not str or status.__class__ is not str:
            return None
        code, display, status = code.strip(), display.strip(), status.strip()
    if not status:
        status = "active"
    elif status not in STATUSES:
        return None
    if parents:
        clean = []
        for p in parents:
            if p.__class__ is not str:
                return None
            p = p.strip()
            if p and p not in clean:
                clean.append(p)
        parents = clean
    for d in designations:
        text = d["text"]
        if text.__class__ is not str or not text.strip():
            return None
        d["text"] = text.strip()
    for value in attributes.values():
        if value.__class__ not in (str, int, float, bool) or value.__class__ is float and not math.isfinite(value):
            return None
    return CanonicalEntry({"code": code, "display": display, "designations": designations, "parents": parents,
                           "status": status, "attributes": attributes, "_pos": pos})
