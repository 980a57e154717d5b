"""Typed attribute cells (integer, number, boolean, date) read so that nothing changes on the way.

An integer is read exactly, never through a float; a value a reader could take
two ways (`1,000`), or one JSON cannot hold (NaN), is refused with the reason.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

TRUE_VALUES = ("true", "yes", "y", "t", "1", "да", "д")
FALSE_VALUES = ("false", "no", "n", "f", "0", "нет", "н")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y")


class ValueProblem(ValueError):
    """A cell value that does not fit its spec (wrong type); the mapper turns it into a Problem."""


_INTEGER = re.compile(r"[+-]?\d+")
_ZERO_FRACTION = re.compile(r"([+-]?\d+)[.,](0+)")
_DIGIT_GROUPS = str.maketrans("", "", " \u00a0\u202f")  # spaces between digit groups (`1 000`, `1 000`)


def _integer(value: str) -> int:
    """An integer cell read exactly (`12`, `1 000`, `12.0` from a spreadsheet), never through a float."""
    text = value.translate(_DIGIT_GROUPS)
    if _INTEGER.fullmatch(text):
        return int(text)
    zeros = _ZERO_FRACTION.fullmatch(text)
    if zeros and len(zeros.group(2)) == 3:
        raise ValueProblem(f"{value!r} is ambiguous: the integer {zeros.group(1)} written with decimals, or "
                           f"{zeros.group(1)}000 with a thousands separator? Write it without separators")
    if zeros:
        return int(zeros.group(1))
    raise ValueProblem(f"{value!r} is not an integer")


def _number(value: str) -> int | float:
    """A number cell, with `,` or `.` as the decimal separator; an integer stays exact, NaN and infinity are refused."""
    text = value.translate(_DIGIT_GROUPS)
    if _INTEGER.fullmatch(text):
        return int(text)
    if "," in text and "." in text:
        raise ValueProblem(f"{value!r} is not a number (both ',' and '.': which one is the decimal separator?)")
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise ValueProblem(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueProblem(f"{value!r} is not a finite number")
    return number


def convert(value: str, kind: str, spec: dict):
    """A cell text converted to the attribute type of the spec; ValueProblem when it does not fit.

    A spreadsheet's own date and boolean cells arrive as ISO dates and `true`/`false` (see
    `tabular.cell_text`); they are taken as they are whatever `date_format` or `true_values` say,
    as those describe how the file writes such values as text.
    """
    if kind == "string" or value == "":
        return value
    if kind == "integer":
        return _integer(value)
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        low = value.lower()
        if low in [v.lower() for v in spec.get("true_values", TRUE_VALUES)]:
            return True
        if low in [v.lower() for v in spec.get("false_values", FALSE_VALUES)]:
            return False
        if low in ("true", "false"):
            return low == "true"
        raise ValueProblem(f"{value!r} is not a yes/no value")
    if kind == "date":
        formats = [spec["date_format"]] if spec.get("date_format") else DATE_FORMATS
        for fmt in (*formats, "%Y-%m-%d"):
            try:
                return datetime.strptime(value, fmt).date().isoformat()
            except ValueError:
                continue
        raise ValueProblem(f"{value!r} is not a date ({' or '.join(formats)})")
    raise ValueProblem(f"unknown type {kind}")


