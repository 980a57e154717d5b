"""What the review pages say, in the reader's language: UI strings, terms, server errors and matcher reasons.

UI strings live in registry/web/i18n/{en,ru}.json. The registry below the web
layer speaks English: its error messages and the matcher's reasons are
sentences built from a few fixed patterns. They are translated here, at display
time, by tables of those patterns (`ERRORS`, `REASON_*`), so matching and the
store stay untouched and the REST API keeps its English. An error no pattern
knows is shown, in a language other than English, as the general sentence of
its HTTP status rather than in English; a test renders every page and error in
Russian and fails when English leaks.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

I18N = Path(__file__).resolve().parent / "i18n"
LANGUAGES = ("en", "ru")


@lru_cache(maxsize=None)
def strings(language: str) -> dict:
    """The UI strings of one language."""
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))


def text(language: str, key: str, **values) -> str:
    """One UI string in `language` (English when the language lacks it), filled in with `values`."""
    template = strings(language).get(key) or strings("en").get(key) or key
    return template.format(**values)


def term(language: str, kind: str, value) -> str:
    """A fixed word of the registry (a status, role, action, relationship, ...) in `language`.

    `kind` is the key prefix (`status`, `role`, `action`, `rel`, `entry_status`, `version_status`, `use`,
    `field`, `decision`, `actor`, `qualifier`); a value without a translation (a catalog's own designation
    use, a person's name) is shown as it is.
    """
    if value is None:
        return ""
    key = f"{kind}_{value}"
    return strings(language).get(key) or strings("en").get(key) or str(value)


def field_text(language: str, field: str) -> str:
    """A declared field of a map set (`display`, `designations:ru`, `attributes.inn`) in `language`."""
    if field.startswith("attributes."):
        return text(language, "attribute_named", name=field.partition(".")[2])
    name, _, lang = field.partition(":")
    return term(language, "field", name) + (f" ({lang})" if lang else "")


def _terms(language: str, kind: str, joined: str) -> str:
    """Several terms joined by `or` (`reviewer or admin`), each translated."""
    return f" {text(language, 'word_or')} ".join(term(language, kind, v) for v in joined.split(" or "))


# Server error messages: (pattern of the English message, UI key, how to translate each named group).
# A group without a kind is data (a code, a name, a number) and is shown as it is.
ERRORS: list[tuple[re.Pattern, str, dict]] = [(re.compile(p), key, kinds) for p, key, kinds in [
    (r"mapping (?P<code>.+) was changed \(revision (?P<current>\d+), your decision was made on revision "
     r"(?P<yours>\d+)\); review it again", "err_stale_revision", {}),
    (r"mapping (?P<code>.+) was changed by someone else meanwhile", "err_changed_meanwhile", {}),
    (r"four-eyes rule: (?P<actor>.+) proposed mapping (?P<code>.+) and cannot also approve it; "
     r"another reviewer must", "err_four_eyes", {}),
    (r"mapping (?P<code>.+) has no target code to (?P<decision>[\w-]+); give one", "err_no_target",
     {"decision": "decision"}),
    (r"target code (?P<code>'.*'|\".*\") is not in (?P<catalog>\S+) version (?P<version>.+)", "err_target_unknown",
     {}),
    (r"target code (?P<code>'.*'|\".*\") is (?P<status>\w+) in (?P<catalog>\S+) version (?P<version>.+)",
     "err_target_status", {"status": "entry_status"}),
    (r"a comment decision needs the comment text", "err_comment_needs_text", {}),
    (r"remap needs the new target code", "err_remap_needs_target", {}),
    (r"relationship not-mappable takes no target code", "err_not_mappable_target", {}),
    (r"decision (?P<value>'.*'|\".*\") is not one of .*", "err_bad_decision", {}),
    (r"relationship (?P<value>'.*'|\".*\") is not one of .*", "err_bad_relationship", {}),
    (r"a decision must carry the revision of the mapping it was made on", "err_no_revision", {}),
    (r"the revision must be an integer .*", "err_no_revision", {}),
    (r"token (?P<name>'.*'|\".*\") has role (?P<role>\w+); this operation needs (?P<roles>.+)", "err_wrong_role",
     {"role": "role", "roles": "roles"}),
    (r"this operation needs an API token .*", "err_no_token", {}),
    (r"no map set (?P<slug>'.*'|\".*\")", "err_no_map_set", {}),
    (r"map set (?P<slug>\S+) has no mapping (?P<code>'.*'|\".*\")", "err_no_mapping", {}),
    (r"no catalog (?P<slug>'.*'|\".*\")", "err_no_catalog", {}),
    (r"catalog (?P<slug>\S+) has no published version yet", "err_no_published_version", {}),
    (r"catalog (?P<slug>\S+) has no version (?P<version>'.*'|\".*\")", "err_no_version", {}),
    (r"code (?P<code>'.*'|\".*\") is not in (?P<slug>\S+) version (?P<version>.+)", "err_no_code", {}),
    (r"malformed cursor .*", "err_bad_cursor", {}),
    (r"status (?P<value>'.*'|\".*\") is not one of .*", "err_bad_status", {}),
    # Rows of an uploaded worksheet, as registry/mapping/excel.py words them.
    (r"the cell holds the formula (?P<formula>.+) but no value computed from it; type the value itself, or open "
     r"and save the file in Excel", "err_ws_formula", {}),
    (r"the source code is empty", "err_ws_no_source", {}),
    (r"the hidden revision cell is empty or changed; export the worksheet again", "err_ws_revision", {}),
    # Query parameters, as registry/web/params.py words them.
    (r"status must be (?:a comma-separated list of )?one of .* \(got (?P<value>'.*'|\".*\")\)", "err_bad_status", {}),
    (r"(?P<name>\w+) must be an integer, got (?P<value>.+)", "err_param_integer", {}),
    (r"(?P<name>\w+) must be between (?P<low>\S+) and (?P<high>\S+)", "err_param_range", {}),
    (r"(?P<name>\w+) must be a (?:finite )?number, got (?P<value>.+)", "err_param_number", {}),
    (r"(?P<name>\w+) must be (?:a comma-separated list of )?one of .* \(got (?P<value>'.*'|\".*\")\)",
     "err_param_choice", {}),
    (r"(?P<name>\w+) must be an ISO 8601 time .*, got (?P<value>.+)", "err_param_time", {}),
    (r"(?:query parameter|the URL segment) (?P<name>'.*'|\".*\") holds the control character (?P<char>U\+[0-9A-F]+), "
     r"which no value may hold", "err_param_control", {}),
    (r"(?:query parameter|the URL segment) (?P<name>'.*'|\".*\") is (?P<length>[\d,]+) characters long; "
     r"at most (?P<most>[\d,]+)", "err_param_length", {}),
]]
GENERAL_ERRORS = {400: "err_400", 401: "err_401", 403: "err_403", 404: "err_404", 405: "err_405",
                  409: "err_409"}


def error_text(language: str, message: str, status: int) -> str:
    """A server error message in `language`: English as the registry wrote it, otherwise by the ERRORS table."""
    if language == "en" or message in strings(language).values():  # English, or a UI string already
        return message
    for pattern, key, kinds in ERRORS:
        found = pattern.fullmatch(message)
        if found:
            values = {}
            for name, value in found.groupdict().items():
                kind = kinds.get(name)
                if kind == "roles":
                    values[name] = _terms(language, "role", value)
                else:
                    values[name] = term(language, kind, value) if kind else value
            return text(language, key, **values)
    return text(language, GENERAL_ERRORS.get(status, "err_other"))


# The matcher's reasons (registry/matching/rerank.py): `USE "TEXT": HOW; NOTE; NOTE`.
REASON = re.compile(r'(?P<use>\S+) "(?P<text>.*)": (?P<how>same words after normalisation(?:, in another order)?'
                    r'|words \d+%, fuzzy \d+(?:, qualifiers \S+ vs \S+)?)(?P<notes>(?:; .*)?)', re.S)
REASON_HOW = re.compile(r"words (?P<words>\d+)%, fuzzy (?P<fuzzy>\d+)"
                        r"(?:, qualifiers (?P<ours>\S+) vs (?P<theirs>\S+))?")
REASON_NOTES: list[tuple[re.Pattern, str]] = [(re.compile(p), key) for p, key in [
    (r"same code", "reason_same_code"),
    (r'form "(?P<words>.+)" fits route (?P<routes>\S+)', "reason_form_route"),
    (r'form "(?P<words>.+)" fits (?P<group>\S+)', "reason_form_group"),
    (r"different amounts \((?P<ours>.*) vs (?P<theirs>.*)\)", "reason_different_amounts"),
    (r"different (?P<name>.+?) \((?P<ours>.*) vs (?P<theirs>.*)\)", "reason_different_attribute"),
    (r"lifted above its subdivisions (?P<codes>.+), as the name has no qualifier", "reason_lifted"),
    (r"same (?P<what>.+)", "reason_same"),
]]


def _qualifiers(language: str, joined: str) -> str:
    return "/".join(term(language, "qualifier", q) for q in joined.split("/"))


def reason_text(language: str, reason: str | None) -> str:
    """A matcher's reason in `language` (as it is in English, or when it is not the matcher's own wording)."""
    if not reason or language == "en":
        return reason or ""
    found = REASON.fullmatch(reason)
    if not found:
        return reason
    how = found["how"]
    if how.startswith("same words"):
        how = text(language, "reason_same_words_reordered" if how.endswith("order") else "reason_same_words")
    else:
        parts = REASON_HOW.fullmatch(how)
        how = text(language, "reason_words_fuzzy", words=parts["words"], fuzzy=parts["fuzzy"])
        if parts["ours"]:
            how += text(language, "reason_qualifiers", ours=_qualifiers(language, parts["ours"]),
                        theirs=_qualifiers(language, parts["theirs"]))
    out = text(language, "reason_head", use=term(language, "use", found["use"]), text=found["text"], how=how)
    for note in found["notes"].split("; ")[1:]:
        for pattern, key in REASON_NOTES:
            matched = pattern.fullmatch(note)
            if matched:
                note = text(language, key, **matched.groupdict())
                break
        out += "; " + note
    return out


def worksheet_column(language: str, header: str | None) -> str:
    """A review worksheet's column, named as the file has it; in another language also by its translation."""
    from registry.mapping.excel import HEADERS
    key = next((k for k, v in HEADERS.items() if v == header), None)
    return text(language, f"ws_column_{key}") if key else (header or "—")
