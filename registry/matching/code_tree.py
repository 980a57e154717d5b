"""Which entry of a catalog is another's parent by code, for the matcher's hierarchy context.

The match index ranks a candidate higher when its parent fits the query's context; a catalog's
stated parents serve where they exist, and the codes themselves (`Y84.4` under `Y84`) where not.
"""

from __future__ import annotations

import re


def _code_key(code: str) -> str:
    return "".join(ch for ch in code.casefold() if ch.isalnum())


_ROMAN_CODE = re.compile(r"[IVXL]+")


def _extends(child: str, parent: str, stated: bool = False) -> bool:
    """Whether code `child` subdivides code `parent` (`Y84.4` of `Y84`, `N02BE01` of `N02BE`).

    Ranges (`A00-A09`, a block) neither subdivide nor are subdivided, and a Roman chapter number
    is not the start of another chapter's (`II` is not a subdivision of `I`). Unless the catalog
    states the parent (`stated`), the child must go on at a boundary: after a separator (`D1.1`),
    or with a letter where the parent ends in a digit or a letter, or a digit where it ends in a
    letter (`N02`, `N02B`, `N02BE`, `N02BE01`); a digit after a digit makes another number (`D10`
    is not part of `D1`).
    """
    if "-" in child or "-" in parent or (_ROMAN_CODE.fullmatch(child) and _ROMAN_CODE.fullmatch(parent)):
        return False
    c, p = _code_key(child), _code_key(parent)
    if not (len(c) > len(p) and c.startswith(p)):
        return False
    return stated or not p or not (p[-1].isdigit() and _char_after(child, len(p)).isdigit())


def _char_after(code: str, count: int) -> str:
    """The character of `code` after its first `count` letters and digits (a separator or the next one)."""
    seen = 0
    for ch in code.casefold():
        if seen == count:
            return ch
        if ch.isalnum():
            seen += 1
    return ""


def parent_rows(entries: list[dict]) -> dict[int, int]:
    """{row: row of the entry's parent} for entries whose code subdivides their parent's code.

    A catalog with a hierarchy gives each entry's parent (its first); then only a parent whose code
    the entry's code extends counts, so blocks and chapters are not the "parent" of a category's name.
    A flat catalog (no entry has parents) takes the entry with the longest code that the code
    extends at a boundary (`Y84.4` → `Y84`, `D10` → `D` and not `D1`; see `_extends`), Roman
    chapter numbers aside.
    """
    out = {}
    if any(entry.get("parents") for entry in entries):
        by_code = {}
        for row, entry in enumerate(entries):
            by_code.setdefault(entry["code"], row)
        for row, entry in enumerate(entries):
            parents = entry.get("parents") or []
            parent = by_code.get(parents[0]) if parents else None
            if parent is not None and _extends(entry["code"], entries[parent]["code"], stated=True):
                out[row] = parent
        return out
    # Chapters numbered in Roman (a flat ICD list with `I`, `II`, ... `XXII`) subdivide nothing by their code:
    # `I21` is not part of chapter `I`. A single letter alone (ATC's `V`) does not make a list chaptered.
    chaptered = any(len(e["code"]) > 1 and _ROMAN_CODE.fullmatch(e["code"]) for e in entries)
    by_key = {}
    for row, entry in enumerate(entries):
        if not (chaptered and _ROMAN_CODE.fullmatch(entry["code"])):
            by_key.setdefault(_code_key(entry["code"]), row)
    for row, entry in enumerate(entries):
        key = _code_key(entry["code"])
        for end in range(len(key) - 1, 0, -1):
            parent = by_key.get(key[:end])
            if parent is not None and _extends(entry["code"], entries[parent]["code"]):
                out[row] = parent
                break
    return out
