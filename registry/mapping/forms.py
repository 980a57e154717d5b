"""Dosage forms as evidence for an ATC code: eye drops belong under S01, tablets under a code given by mouth.

One INN often has several ATC codes that differ by where it acts (dexamethasone:
A01AC02 mouth, D07AB19 skin, H02AB02 systemic, S01BA01 eye); their names are
identical, so the name alone cannot choose. The product's dosage form can: the
first rule whose pattern its (Russian or English) text holds names the ATC
groups a code should start with and the WHO routes of administration (`adm_r`
of the ATC/DDD index: O oral, P parenteral, R rectal, N nasal, V vaginal, TD,
SL, Inhal.*) it should list. Rules are read from the WHO ATC/DDD guidelines'
anatomical groups (S01 ophthalmologicals, S02 otologicals, R01 nasal
preparations, G01 gynaecological anti-infectives, D dermatologicals, A01
stomatological preparations, R03 drugs for obstructive airway diseases).
"""

from __future__ import annotations

import re

GROUP_BONUS = 6.0
ROUTE_BONUS = 4.0

# (pattern, ATC group prefixes, routes); the first rule that matches wins, so sites come before general forms.
RULES: list[tuple[re.Pattern, tuple[str, ...], tuple[str, ...]]] = [
    (re.compile(p, re.I), tuple(groups.split()), tuple(routes.split()))
    for p, groups, routes in [
        (r"глазн|eye|ophthalm", "S01 S03", ""),
        (r"ушн|\bear\b|otic", "S02 S03", ""),
        (r"назальн|в нос|интраназ|nasal", "R01", "N"),
        (r"вагинальн|vaginal", "G01 G02 G03", "V"),
        (r"ректальн|rectal", "", "R"),
        (r"ингаляц|inhal", "R03", "Inhal.solution Inhal.powder Inhal.aerosol"),
        (r"полости рта|для рассасывания|стоматолог|oromucosal|lozenge", "A01 R02", "SL"),
        (r"трансдермальн|transdermal", "", "TD"),
        (r"подъязычн|сублингвальн|sublingual", "", "SL"),
        (r"инъекц|инфузи|внутривенн|внутримышечн|подкожн|лиофилиз|inject|infusion", "", "P"),
        (r"таблет|капсул|драже|сироп|для приема внутрь|жевательн|tablet|capsul|syrup|oral", "", "O"),
        (r"наружного применения|мазь|крем|линимент|гель|пластыр|cream|ointment|cutaneous", "D M02", ""),
    ]
]


def form_rule(form_text: str | None) -> tuple[tuple[str, ...], tuple[str, ...], str] | None:
    """(ATC group prefixes, routes, the words that matched) for a dosage form text, or None when no rule fits."""
    if not form_text:
        return None
    for pattern, groups, routes in RULES:
        found = pattern.search(form_text)
        if found:
            return groups, routes, found.group(0)
    return None


def form_bonus(rule, code: str, routes_of_code: str | None) -> tuple[float, str | None]:
    """The score bonus a dosage form rule gives one target code, with its reason (or (0, None))."""
    if rule is None:
        return 0.0, None
    groups, routes, words = rule
    if groups and code.upper().startswith(groups):
        return GROUP_BONUS, f'form "{words}" fits {code[:3]}'
    if routes and routes_of_code:
        listed = {r.strip() for r in routes_of_code.split("|")}
        if listed & set(routes):
            return ROUTE_BONUS, f'form "{words}" fits route {"/".join(sorted(listed & set(routes)))}'
    return 0.0, None
