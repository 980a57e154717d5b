"""Pass 2 and 3: abbreviations expanded, and numbers joined with their unit into one token in a base unit."""

from __future__ import annotations

import re
from decimal import Decimal

from registry.matching.analysis.tables import rules

def expand_abbreviations(text: str) -> str:
    """Folded text with every known abbreviation replaced by its expansion."""
    r = rules()
    if r.abbreviation_re is None:
        return text
    return r.abbreviation_re.sub(lambda m: r.abbreviations[m.group(0)], text)


def quantity_number(match: re.Match) -> Decimal:
    """The number of a `quantity_re` match, thousands separators read (see NUMBER)."""
    if match.group("spaced"):
        number = match.group("spaced").replace(" ", "").replace(",", ".")
    elif match.group("comma"):
        number = match.group("comma").replace(",", "")
    else:
        number = match.group("plain").replace(",", ".")
    return Decimal(number)


def format_number(number: Decimal) -> str:
    """A number written without exponent, trailing zeros or a trailing dot (`1.500` → `1.5`, `1E+3` → `1000`)."""
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# Units compared in a base unit: mass in mg, volume in ml, amount of substance in mmol.
UNIT_FACTORS: dict[str, tuple[str, Decimal]] = {
    "mg": ("mg", Decimal(1)), "g": ("mg", Decimal(1000)), "kg": ("mg", Decimal(1_000_000)),
    "mcg": ("mg", Decimal("0.001")), "ng": ("mg", Decimal("0.000001")),
    "ml": ("ml", Decimal(1)), "l": ("ml", Decimal(1000)), "mcl": ("ml", Decimal("0.001")),
    "mmol": ("mmol", Decimal(1)), "mol": ("mmol", Decimal(1000)),
}


def to_base_unit(number: Decimal, unit: str) -> tuple[Decimal, str]:
    """A quantity in its base unit: (0.5, "g") → (500, "mg"), (500, "mcg/ml") → (0.5, "mg/ml").

    A concentration converts its numerator only, in the denominator's unit; units without a
    factor (`%`, `iu`, `mmol/l`'s litre) are kept as they are.
    """
    numerator, slash, denominator = unit.partition("/")
    base, factor = UNIT_FACTORS.get(numerator, (numerator, Decimal(1)))
    return number * factor, base + slash + denominator


def _quantity(match: re.Match) -> str:
    unit = rules().units[match.group("unit")]
    if match.group("per"):
        per_number = match.group("per_number")
        per = format_number(Decimal(per_number.replace(",", "."))) if per_number else "1"
        per = "" if per == "1" else per  # `мг/1 мл` is `мг/мл`
        unit = f"{unit}/{per}{rules().units[match.group('per')]}"
    number, unit = to_base_unit(quantity_number(match), unit)
    return f" {format_number(number)}{unit} "
