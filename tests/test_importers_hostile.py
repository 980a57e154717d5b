"""Hostile files, property-based: for every importer format in `importers.formats.FORMATS`, random and mutated
files (from a valid seed: truncated, bytes overwritten, NUL and odd bytes inserted, huge lines, deep nesting, parts
cut or doubled; for xlsx also a damaged member inside a sound zip, and zip bombs) never crash the import: it succeeds, or only the
registry's own error type escapes, naming the file (an import rejection names file, row and field of each
problem); and a refused import leaves the store exactly as it was (no draft, no staged rows, no catalog).

Bounded and deterministic for CI: a fixed number of examples per format, `derandomize=True`, no example database.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from importers import run_import
from importers.formats import FORMATS
from registry.errors import ImportRejected, NsiError
from registry.models import CatalogCreate

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "catalogs" / "samples"
DATA = Path(__file__).resolve().parent / "data" / "importers"
EXAMPLES_PER_FORMAT = 40

FIXED_WIDTH_PROFILE = '''[profile]
format = "fixed-width"
[catalog]
title = "Fixed"
language = "ru"
[read]
encoding = "cp866"
header_lines = 1
[read.layout]
CODE = { start = 1, width = 6 }
PARENT = { start = 7, width = 6 }
NAME = { start = 13, end = 42 }
[fields]
code = "CODE"
display = "NAME"
parents = "PARENT"
'''
JSON_PROFILE = '''[profile]
format = "json"
[catalog]
title = "J"
language = "en"
[read]
record_path = "data.items"
[fields]
code = "id"
display = "name"
parents = "parent"
'''
ICD10CM_XML = b"""<?xml version="1.0"?><ICD10CM.tabular><introduction><title>x</title></introduction>
<chapter><name>1</name><desc>Certain infectious diseases (A00-B99)</desc>
 <section id="A00-A09"><desc>Intestinal infectious diseases (A00-A09)</desc>
  <diag><name>A00</name><desc>Cholera</desc>
   <diag><name>A00.0</name><desc>Cholera due to Vibrio cholerae 01</desc>
    <inclusionTerm><note>Classical cholera</note></inclusionTerm></diag></diag></section>
</chapter></ICD10CM.tabular>"""
CODESYSTEM = {"resourceType": "CodeSystem", "title": "Units", "language": "en", "concept": [
    {"code": "mass", "display": "Mass", "concept": [
        {"code": "kg", "display": "kilogram", "designation": [{"language": "ru", "value": "килограмм"}],
         "property": [{"code": "factor", "valueDecimal": 1.0}]}]}]}

# A ValueSet and a ConceptMap register a resource instead of staging entries; the map joins catalog t to itself,
# published first by the test (the version label comes from run_import, so the resources carry none).
VALUESET = {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/units", "name": "Units",
            "status": "active", "compose": {"include": [
                {"system": "http://example.org/fhir/CodeSystem/units", "concept": [{"code": "kg"}, {"code": "g"}]},
                {"system": "http://example.org/fhir/CodeSystem/units",
                 "filter": [{"property": "concept", "op": "is-a", "value": "mass"}]}]}}
CONCEPTMAP = {"resourceType": "ConceptMap", "url": "http://example.org/fhir/ConceptMap/t-self", "name": "TSelf",
              "status": "active", "group": [{
                  "source": "http://example.org/fhir/CodeSystem/t", "target": "http://example.org/fhir/CodeSystem/t",
                  "element": [{"code": "A00", "target": [{"code": "A01", "equivalence": "wider"}]},
                              {"code": "A01", "target": [{"code": "A00", "equivalence": "narrower"}]}]}]}
REGISTERED = {"fhir-valueset", "fhir-conceptmap"}


def workbook() -> bytes:
    """The ATC sample as the atc-who-xlsx profile reads it (sheet ATC, header in row 1)."""
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.title = "ATC"
    for line in (SAMPLES / "atc-who.csv").read_text(encoding="utf-8").splitlines()[:15]:
        sheet.append(next(iter(__import__("csv").reader([line]))))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def seeds(tmp_path: Path) -> dict[str, list[tuple[bytes, str, dict]]]:
    """{format: [(valid file content, file suffix, run_import options)]}: one or more valid files of each format."""
    (tmp_path / "fixed.toml").write_text(FIXED_WIDTH_PROFILE, encoding="utf-8")
    (tmp_path / "json.toml").write_text(JSON_PROFILE, encoding="utf-8")
    fixed = "\n".join(["CODE  PARENTNAME", "H001        Городская больница №1",
                       "H002  H001  Филиал на Ленина"]).encode("cp866")
    items = {"data": {"items": [{"id": "A", "name": "Alpha"}, {"id": "A1", "name": "Alpha one", "parent": "A"}]}}
    return {
        "csv": [((SAMPLES / "atc-who.csv").read_bytes(), ".csv", {"profile": "atc-who"}),
                (b"code,display\nA00,Cholera\nA01,Typhoid\n", ".csv", {"format": "csv"})],
        "fnsi": [((SAMPLES / "icd10-ru-fnsi-2.27.csv").read_bytes()[:1500].rsplit(b"\n", 1)[0] + b"\n", ".csv",
                  {"profile": "icd10-ru-fnsi"}),
                 ((DATA / "fnsi_current.json").read_bytes(), ".json", {"profile": "icd10-ru-fnsi"})],
        "claml": [((SAMPLES / "icd10-who-claml.xml").read_bytes(), ".xml", {"format": "claml"}),
                  ((DATA / "claml_doctype.xml").read_bytes(), ".xml", {"format": "claml"})],
        "xml": [(ICD10CM_XML, ".xml", {"profile": "icd10-cm-tabular"})],
        "fhir-codesystem": [(json.dumps(CODESYSTEM, ensure_ascii=False).encode(), ".json",
                             {"format": "fhir-codesystem"})],
        "fhir-valueset": [(json.dumps(VALUESET).encode(), ".json", {"format": "fhir-valueset"})],
        "fhir-conceptmap": [(json.dumps(CONCEPTMAP).encode(), ".json", {"format": "fhir-conceptmap"})],
        "jsonl": [(b'{"code": "A00", "display": "Cholera"}\n{"code": "A00.1", "display": "El Tor", '
                   b'"parents": ["A00"]}\n', ".jsonl", {"format": "jsonl"})],
        "json": [(json.dumps(items).encode(), ".json", {"profile": str(tmp_path / "json.toml")})],
        "fixed-width": [(fixed + b"\n", ".txt", {"profile": str(tmp_path / "fixed.toml")})],
        "xlsx": [(workbook(), ".xlsx", {"profile": "atc-who-xlsx"})],
    }


NESTED = [b"[" * 100_000, b'{"a":' * 50_000, b"<a>" * 50_000, b'{"code": "A", "x": ' + b"[" * 100_000 + b"\n",
          b"<?xml version='1.0'?>" + b"<a>" * 20_000]
ODD_BYTES = [b"\x00", b"\xff\xfe", b"\xc3\x28", b"\r", b"\n\n", b'"', b";", b",", b"<", b"]]>", b"&amp;", b"&#0;",
             b"\xef\xbb\xbf", b"\x1b[31m", b"=cmd|' /C calc'!A0", b"\\", b"\t"]


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """Files made from `seed` by one hostile change, or random and deeply nested ones."""
    at = st.integers(0, len(seed))
    return st.one_of(
        at.map(lambda i: seed[:i]),  # cut off
        st.tuples(at, st.binary(min_size=1, max_size=16)).map(lambda t: seed[:t[0]] + t[1] + seed[t[0] + len(t[1]):]),
        st.tuples(at, st.sampled_from(ODD_BYTES)).map(lambda t: seed[:t[0]] + t[1] + seed[t[0]:]),
        at.map(lambda i: seed[:i] + b"\x00" * 3 + seed[i:]),
        at.map(lambda i: seed[:i] + b"A" * 300_000 + seed[i:]),  # a huge line, cell or attribute
        st.tuples(at, at).map(lambda t: seed[:min(t)] + seed[max(t):]),  # a part cut out
        st.tuples(at, at).map(lambda t: seed[:max(t)] + seed[min(t):]),  # a part doubled
        st.tuples(at, st.sampled_from(NESTED)).map(lambda t: seed[:t[0]] + t[1] + seed[t[0]:]),
        st.sampled_from(NESTED),
        st.binary(max_size=600),
    )


XLSX_CAP_MB = 2  # NSI_XLSX_MAX_UNCOMPRESSED_MB while the xlsx examples run, so that a small zip bomb is one


def mutated_workbook(seed: bytes) -> st.SearchStrategy[bytes]:
    """A sound zip with one member damaged (its XML mutated, or a huge or deeply nested member), a zip bomb (a
    member of zeros decompressing past the cap, kilobytes compressed), or the zip itself mutated."""
    with zipfile.ZipFile(io.BytesIO(seed)) as z:
        members = {name: z.read(name) for name in z.namelist()}

    def rebuilt(name_and_content):
        name, content = name_and_content
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for member, data in members.items():
                z.writestr(member, content if member == name else data)
        return out.getvalue()

    inner = st.sampled_from(sorted(members)).flatmap(
        lambda name: st.tuples(st.just(name), mutated(members[name])))
    bomb = st.tuples(st.sampled_from(sorted(members)), st.integers(XLSX_CAP_MB + 1, 4 * XLSX_CAP_MB)).map(
        lambda t: (t[0], b"0" * (t[1] << 20)))
    return st.one_of(inner.map(rebuilt), bomb.map(rebuilt), mutated(seed))


def snapshot(store) -> dict:
    """Row counts of every table of the store (a new table an import writes to is covered too)."""
    tables = [t for t in sa.inspect(store.engine).get_table_names() if t != "alembic_version"]
    with store.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}


def test_every_format_has_a_seed(tmp_path):
    missing = sorted(set(FORMATS) - set(seeds(tmp_path)))
    assert missing == [], f"formats without a valid seed file in seeds() here: {', '.join(missing)}"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_hostile_files_never_crash_an_import_nor_leave_anything_behind(sqlite_store, tmp_path, monkeypatch, fmt):
    store = sqlite_store
    monkeypatch.setenv("NSI_XLSX_MAX_UNCOMPRESSED_MB", str(XLSX_CAP_MB))
    store.create_catalog(CatalogCreate(slug="t", title="T"))
    cases = seeds(tmp_path)[fmt]
    labels = itertools.count()
    if fmt == "fhir-conceptmap":
        base = tmp_path / "base.csv"
        base.write_bytes(b"code,display\nA00,Cholera\nA01,Typhoid\n")
        run_import(store, base, catalog="t", version="base", format="csv", publish=True)
    for content, suffix, options in cases:  # each seed is valid: the mutations start from a file that imports
        seed = tmp_path / f"seed{suffix}"
        seed.write_bytes(content)
        report = run_import(store, seed, catalog="t", version=f"seed{next(labels)}", **options)
        assert report.status == "published" if fmt in REGISTERED else report.entries > 0, (fmt, options)
    outcomes = {"imported": 0, "refused": 0, "zip bombs": 0}

    @settings(max_examples=EXAMPLES_PER_FORMAT, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.data())
    def imports_cleanly(data):
        content, suffix, options = data.draw(st.sampled_from(cases))
        hostile = data.draw(mutated_workbook(content) if fmt == "xlsx" else mutated(content))
        label = f"h{next(labels)}"
        path = tmp_path / f"hostile-{label}{suffix}"
        path.write_bytes(hostile)
        before = snapshot(store)
        try:
            run_import(store, path, catalog="t", version=label, **options)
        except NsiError as exc:
            outcomes["refused"] += 1
            outcomes["zip bombs"] += "zip bomb?" in exc.message
            assert snapshot(store) == before, (fmt, label, exc.message)
            if isinstance(exc, ImportRejected):
                assert exc.problems and all(p.file == path.name or p.file == str(path) for p in exc.problems), \
                    [p.to_dict() for p in exc.problems]
            else:
                assert path.name in exc.message, exc.message
        else:
            outcomes["imported"] += 1
            if label in {v.label for v in store.list_versions("t")}:  # not when the file was imported before
                store.discard("t", label)
        finally:
            path.unlink()

    imports_cleanly()
    assert outcomes["refused"] > 0, outcomes  # the mutations did reach the error paths
    assert fmt != "xlsx" or outcomes["zip bombs"] > 0, outcomes


def test_deep_nesting_in_a_json_file_is_refused_at_the_limit_not_read(sqlite_store, tmp_path):
    """100 kB of `[` once made the streaming JSON reader keep the path of every open level (gigabytes: the worker
    was killed). It is refused when the 101st level opens, naming the file."""
    (tmp_path / "json.toml").write_text(JSON_PROFILE, encoding="utf-8")
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"data": {"items": [' + b"[" * 100_000)
    with pytest.raises(ImportRejected) as refused:
        run_import(sqlite_store, path, catalog="deep", version="1", profile=str(tmp_path / "json.toml"))
    assert str(refused.value) == f"import rejected: {path}: the JSON is nested more than 100 levels deep; refused"
    assert not sqlite_store.has_catalog("deep")
