"""The formats an import reads: one module each, registered in FORMATS.

Every format module has
- `read(source, profile, findings, language) -> Iterator[dict]`: canonical entries, each with its `_pos`;
- `READS`: what it reads, in words for messages ("CSV text");
- `sniff(source) -> bool`: whether a file given without --format or profile looks like this format;
- optionally `NEEDS_PROFILE`: the message when a sniffed file of this format comes without a profile;
- optionally `catalog_defaults(source) -> dict`: the catalog a file of this format describes itself as
  (with `slug` and `version` when the file names them, so --catalog and --version may be left out);
- optionally `register(store, source, *, catalog, version, publish, dry_run, created_by) -> Report`: for a
  resource that is not a catalog's entries (a FHIR ValueSet or ConceptMap), registers it instead of `read`;
- optionally `FIELDS_REQUIRED`: a profile of this format must have [fields] with a code;
- optionally `READ_KEYS` (the [read] keys only this format takes), `check_read(read) -> str | None`
  (what is wrong with a profile's [read] table for this format) and `check_path(path) -> str | None`
  (what is wrong with a field's column or path), used when a profile is loaded; the xml format's
  `check_xpath(path, namespaces)` also takes the profile's namespace prefixes;
- optionally `check_sheets(sheets, read)`: what is wrong with a profile's `[[sheets]]` (xlsx only).

A new format is one module here and one line in FORMATS. The order of FORMATS
is the order `guess_format` tries them in (the more specific sniff first).
"""

from __future__ import annotations

from types import ModuleType

from registry.errors import BadRequest
from importers.formats import (claml, csv, fhir_codesystem, fhir_conceptmap, fhir_valueset, fixed_width, fnsi, json,
                               jsonl, xlsx, xml)
from importers.source import Source

FORMATS: dict[str, ModuleType] = {
    "jsonl": jsonl,
    "claml": claml,
    "xml": xml,
    "fhir-valueset": fhir_valueset,
    "fhir-conceptmap": fhir_conceptmap,
    "fhir-codesystem": fhir_codesystem,
    "fnsi": fnsi,
    "xlsx": xlsx,
    "csv": csv,
    "fixed-width": fixed_width,
    "json": json,
}


def guess_format(source: Source) -> str:
    """The format of a file given without --format or profile, from its name and first bytes (JSON lines if none)."""
    for name, module in FORMATS.items():
        if module.sniff(source):
            needs = getattr(module, "NEEDS_PROFILE", None)
            if needs:
                raise BadRequest(f"{source.name}: {needs}")
            return name
    return "jsonl"


def catalog_defaults(source: Source, fmt: str) -> dict:
    """The catalog a file describes itself as (ClaML title, FHIR CodeSystem name), or {} for formats that do not."""
    describe = getattr(FORMATS[fmt], "catalog_defaults", None)
    return describe(source) if describe else {}
