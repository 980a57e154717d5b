"""Value transforms of a field spec: the steps a profile applies to a value after reading it.

Each step is a function text -> text, compiled once per file. They run in
the order of `STEP_ORDER`, and only on a non-empty value. A step that finds a
value it cannot transform (a `map` with `map_strict = true` that does not name
the value) raises TransformError; the mapper reports it with the row and field.
"""

from __future__ import annotations

import re
from typing import Callable

# The order transforms are applied in, whatever order the profile writes them (documented in docs/importers.md).
STEP_ORDER = ("strip", "replace", "replace_regex", "regex", "insert", "template", "map", "zfill", "upper", "lower",
              "case", "prefix")
CASES = ("upper", "lower", "title", "capitalize", "first")
COMPOSE_FIELD = re.compile(r"\{([^{}]+)\}")


class TransformError(ValueError):
    """A value a transform cannot handle; `transform` is the profile key, `field` set by the mapper's getter."""

    def __init__(self, transform: str, message: str, field: str = ""):
        super().__init__(message)
        self.transform, self.message, self.field = transform, message, field


def compose_columns(template: str) -> list[str]:
    """The columns a `compose` template names: `{CODE}.{SUB}` -> ['CODE', 'SUB']."""
    return COMPOSE_FIELD.findall(template)


def compose(template: str, values: dict[str, str]) -> str:
    """The template with each `{column}` replaced by its value; empty when every value is empty."""
    if not any(values.values()):
        return ""
    return COMPOSE_FIELD.sub(lambda m: values.get(m.group(1), ""), template)


def value_steps(spec: dict) -> list[Callable[[str], str]]:
    """The spec's transforms as functions, in STEP_ORDER."""
    steps: list[Callable[[str], str]] = []
    if spec.get("strip"):
        chars = spec["strip"]
        steps.append(lambda v: v.strip(chars).strip())
    if spec.get("replace"):
        pairs = list(spec["replace"].items())

        def replace(v):
            for old, new in pairs:
                v = v.replace(old, new)
            return v.strip()
        steps.append(replace)
    if spec.get("replace_regex"):
        rules = [(re.compile(pattern), new) for pattern, new in spec["replace_regex"]]

        def replace_regex(v):
            for rx, new in rules:
                v = rx.sub(new, v)
            return v.strip()
        steps.append(replace_regex)
    if spec.get("regex"):
        rx = re.compile(spec["regex"])

        def regex(v):
            m = rx.search(v)
            if not m:
                return ""
            return (m.group(1) if rx.groups else m.group(0)).strip()
        steps.append(regex)
    if spec.get("insert"):
        at, text = spec["insert"]["at"], spec["insert"]["text"]
        steps.append(lambda v: v[:at] + text + v[at:] if len(v) > at else v)
    if spec.get("template"):
        template = spec["template"]
        steps.append(lambda v: template.replace("{0}", v))
    if "map" in spec:
        table = {str(k): str(v) for k, v in spec["map"].items()}
        if spec.get("map_strict"):
            known = ", ".join(sorted(table))

            def strict(v):
                if v not in table:
                    raise TransformError("map", f"{v!r} is not a value the map names (it names {known})")
                return table[v]
            steps.append(strict)
        else:
            steps.append(lambda v: table.get(v, v))
    if spec.get("zfill"):
        width = spec["zfill"]
        steps.append(lambda v: v.zfill(width))
    if spec.get("upper"):
        steps.append(str.upper)
    if spec.get("lower"):
        steps.append(str.lower)
    if spec.get("case") == "first":  # the first letter upper-cased, the rest kept: "вИЧ-инфекция" stays "ВИЧ-..."
        steps.append(lambda v: v[:1].upper() + v[1:])
    elif spec.get("case"):  # Python's: capitalize lowers the rest ("ВИЧ" -> "Вич"), title capitalizes each word
        steps.append(getattr(str, spec["case"]))
    if spec.get("prefix"):
        prefix = spec["prefix"]
        steps.append(lambda v: prefix + v)
    return steps


def check(spec: dict) -> str | None:
    """What is wrong with the spec's transform keys, if anything (the key and why)."""
    if "replace" in spec and not (isinstance(spec["replace"], dict)
                                  and all(isinstance(v, str) for v in spec["replace"].values())):
        return "replace must be a table of \"text\" = \"replacement\""
    if "replace_regex" in spec:
        rules = spec["replace_regex"]
        pairs = isinstance(rules, list) and all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in rules)
        if not pairs:
            return "replace_regex must be a list of [\"pattern\", \"replacement\"] pairs"
        for pattern, new in rules:
            try:
                re.compile(pattern).sub(new, "")
            except (re.error, IndexError) as exc:
                return f"replace_regex {pattern!r} -> {new!r} is not a valid regular expression replacement: {exc}"
    if "insert" in spec:
        insert = spec["insert"]
        if not (isinstance(insert, dict) and set(insert) == {"at", "text"} and isinstance(insert["at"], int)
                and not isinstance(insert["at"], bool) and insert["at"] >= 1 and isinstance(insert["text"], str)):
            return ("insert must be { at = <characters before it, from 1>, text = \"...\" }, "
                    "e.g. { at = 3, text = \".\" }")
    if "case" in spec and spec["case"] not in CASES:
        return f"case must be one of {', '.join(CASES)} (got {spec['case']!r})"
    if spec.get("map_strict") and "map" not in spec:
        return "map_strict needs a map"
    if "compose" in spec and not compose_columns(spec["compose"]):
        return f"compose {spec['compose']!r} names no column: write the columns in braces, e.g. \"{{CODE}}.{{SUB}}\""
    return None
