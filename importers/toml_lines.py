"""The line of a key in a TOML file, for error messages: tomllib parses without positions.

A key is written as the validator names it: `[fields].attributes.ddd.type`,
`[[variants]] #2.when`, `[read].skip[0]`. The line is the one that comes
closest to it: the `key = ...` line (or an inline table holding the key's last
parts), else the table header, else none. Good enough to send an operator to
the right place; TOML written with dotted keys or multi-line arrays still gets
the nearest line that names the key.
"""

from __future__ import annotations

import re

SECTION = re.compile(r"\[\[([^\]]+)\]\](?: #(\d+))?|\[([^\]]+)\]")
KEY_PATH = re.compile(r"(\[\[[\w.-]+\]\](?: #\d+)?|\[[\w.-]+\])((?:\.[\w-]+|\[\d+\])*)")
HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
ASSIGNMENT = re.compile(r'("[^"]*"|\'[^\']*\'|[\w.-]+)\s*=')


def _parts(key: str) -> list[str]:
    """`[[variants]] #2.fields.code` -> ['variants#2', 'fields', 'code'] (array indexes of values dropped)."""
    m = KEY_PATH.search(key)
    if not m:
        return []
    head, rest = m.group(1), m.group(2)
    if head.startswith("[["):
        name, _, number = head[2:].partition("]]")
        parts = [f"{name}#{number.strip(' #') or '1'}"]
    else:
        parts = head[1:-1].split(".")
    rest = re.sub(r"\[(\d+)\]", lambda m: f"#{int(m.group(1)) + 1}", rest)  # designations[0] -> designations#1
    return parts + [p for p in rest.split(".") if p]


def _same(have: str, wanted: str) -> bool:
    """One part of a key: `designations#1` is the first [[fields.designations]]; without a number, any of them."""
    if have == wanted:
        return True
    h, _, hn = have.partition("#")
    w, _, wn = wanted.partition("#")
    return h == w and not (hn and wn)


def _names(text: str) -> list[str]:
    return [n.strip("\"'") for n in ASSIGNMENT.findall(text)]


def key_line(text: str, key: str, extra: str | None = None) -> int | None:
    """The 1-based line of `key` (a validator's key, see the module docstring) in TOML `text`, or None.

    `extra` is one more part under the key (an unknown key's own name).
    """
    want = _parts(key) + ([extra] if extra else [])
    if not want:
        want = [extra] if extra else []
    if not want:
        return None
    best, best_score = None, 0
    header: list[str] = []
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = HEADER.match(line)
        if m:
            names = [n.strip("\"'") for n in m.group(2).split(".")]
            if m.group(1) == "[" and names[0] in counts:  # [variants.fields] belongs to the last [[variants]]
                names[0] = f"{names[0]}#{counts[names[0]]}"
            if m.group(1) == "[[":
                joined = ".".join(names)
                counts[joined] = counts.get(joined, 0) + 1
                names[-1] = f"{names[-1]}#{counts[joined]}"
            header = names
            candidates = [header]
        else:
            names = _names(line)
            if not names:
                continue
            first = names[0].split(".")
            candidates = [header + first] + [header + first + [n] for n in names[1:]]
        for path in candidates:
            score = 0
            for have, wanted in zip(path, want):
                if not _same(have, wanted):
                    break
                score += 1
            if score > best_score:
                best, best_score = number, score
    return best


def profile_place(path, name: str, key: str) -> str:
    """`profile p.toml, line 17` for `key` of the profile read from `path` (`profile NAME` without a file or line).

    For problems found while importing (a path no record matched, a parent rule that gave no parent) that are
    the profile's fault: the operator is sent to the line to fix, not to a row of the file.
    """
    if path is None:
        return f"profile {name}"
    try:
        line = key_line(path.read_text(encoding="utf-8"), key)
    except OSError:
        line = None
    return f"profile {path}, line {line}" if line else f"profile {path}"
