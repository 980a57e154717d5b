"""FNSI: exports of the Russian federal NSI register (nsi.rosminzdrav.ru).

FNSI dictionaries come as `;`-separated CSV with a header (`ID;REC_CODE;...`),
as older header-less `,` CSV, or as JSON (`{"records": [...]}` or a list of
row objects). Rows link to their parent by `ID`/`ID_PARENT`; this module maps
those identifiers to codes. With a profile (e.g. `icd10-ru-fnsi`) the
profile names the columns; without one, the usual FNSI column names are used.

ICD-10 chapters and blocks have an empty, roman-numeral or range code that
changes between FNSI versions. With `group_codes = "icd10-range"` every
chapter and block gets its code range (`A00-A09`, `A00-B99`) as code: from the
code column, from a range at the end of the name (the range is then dropped
from the display), or, for a roman numeral, from the span of its
descendants. The same chapter thus has the same code in every version and
versions diff cleanly.
"""

from __future__ import annotations

from typing import Iterator

from registry.errors import ImportRejected, Problem
from importers.findings import Findings
from importers.profile import Profile, validate
from importers.mapper import Mapper
from importers.hierarchy import finish as finish_hierarchy
from importers.source import Source
from importers.table import read_json_rows

CODE_COLUMNS = ["CODE", "MKB_CODE", "S_CODE", "ID"]
NAME_COLUMNS = ["NAME", "MKB_NAME", "S_NAME", "FULL_NAME", "NAME_FULL", "SHORT_NAME"]


def default_profile(header: list[str]) -> Profile:
    """A profile for an FNSI file read without one: usual code/name columns, ID/ID_PARENT links, rest as attributes."""
    upper = {h.upper(): h for h in header}
    code = next((upper[c] for c in CODE_COLUMNS if c in upper), None)
    name = next((upper[c] for c in NAME_COLUMNS if c in upper), None)
    fields: dict = {"code": code or (header[0] if header else "ID")}
    if name:
        fields["display"] = name
    used = {fields["code"], name, upper.get("ID"), upper.get("ID_PARENT")}
    fields["attributes"] = {h.lower(): h for h in header if h and h not in used}
    data = {"profile": {"name": "fnsi (default)", "format": "fnsi"}, "fields": fields}
    if "ID" in upper and "ID_PARENT" in upper:
        data["hierarchy"] = {"id": upper["ID"], "parent_id": upper["ID_PARENT"]}
    return validate(data, "fnsi (default)")


def read_table(source: Source, profile: Profile | None, findings: Findings):
    """The FNSI file as a Table: JSON when it starts with '{' or '[', CSV (`;` or `,`, sniffed) otherwise."""
    from importers.formats.csv import read_csv
    start = source.head(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":  # read as CSV, an XML export gives a wrong header or a wrong-shape error per line
        raise ImportRejected([Problem("the file is XML (it starts with '<'), but format fnsi reads FNSI's CSV and "
                                      "JSON exports: export the dictionary as CSV or JSON, or import the XML with a "
                                      "profile of format xml", file=source.name, kind="wrong_format")])
    if start in (b"{", b"["):
        return read_json_rows(source, findings, (profile.read.get("columns") if profile else None))
    if profile is not None and "delimiter" not in profile.read:
        profile.read["delimiter"] = "auto"
    return read_csv(source, profile, findings, default_delimiter="auto")


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """Yield the entries of an FNSI export (see the module docstring)."""
    table = read_table(source, profile, findings)
    if profile is None:
        profile = default_profile(table.header)
    mapper = Mapper(profile, table.header, findings, sheet=table.sheet, header_row=table.header_row,
                    language=language)
    entries = (e for e in (mapper.entry(cells, row) for row, cells, _ in table.rows) if e is not None)
    if not findings.errors and not table.header:
        findings.error(Problem("the file has no columns", file=source.name, kind="empty"))
    return finish_hierarchy(entries, profile, findings, language)


READS = "FNSI CSV or JSON"
READ_KEYS = {"delimiter", "quotechar", "header", "header_row", "columns", "fill_down"}


def sniff(source: Source) -> bool:
    """A JSON file (by name or first byte): FNSI's JSON export is the JSON a profile-less import meets most."""
    return source.path.suffix.lower() == ".json" or source.starts_with(b"{", b"[")
