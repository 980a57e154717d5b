"""XML records by profile (importers/formats/xml.py)."""

from __future__ import annotations

import pytest

from importers import run_import
from registry.errors import ImportRejected


def entries_of(store, slug, version="latest"):
    return {e["code"]: e for e in store.iter_entries(slug, version)}


def test_xml_profile_with_variants_and_enclosing_parents(sqlite_store, tmp_path):
    xml = tmp_path / "cm.xml"
    xml.write_text("""<?xml version="1.0"?><ICD10CM.tabular><introduction><title>x</title></introduction>
<chapter><name>1</name><desc>Certain infectious diseases (A00-B99)</desc>
 <section id="A00-A09"><desc>Intestinal infectious diseases (A00-A09)</desc>
  <diag><name>A00</name><desc>Cholera</desc>
   <diag><name>A00.0</name><desc>Cholera due to Vibrio cholerae 01</desc>
    <inclusionTerm><note>Classical cholera</note></inclusionTerm><excludes1><note>carrier (Z22.1)</note></excludes1>
   </diag></diag></section>
 <section id="A15"><desc>Tuberculosis</desc><diag><name>A15</name><desc>Respiratory tuberculosis</desc></diag></section>
</chapter></ICD10CM.tabular>""", encoding="utf-8")
    run_import(sqlite_store, xml, catalog="icd10-cm", version="1", profile="icd10-cm-tabular")
    e = entries_of(sqlite_store, "icd10-cm", "1")
    assert sorted(e) == ["A00", "A00-A09", "A00-B99", "A00.0", "A15", "A15-A15"]
    assert e["A00.0"]["designations"] == [{"language": "en", "use": "inclusion", "text": "Classical cholera"},
                                          {"language": "en", "use": "exclusion", "text": "carrier (Z22.1)"}]
    assert e["A00.0"]["parents"] == ["A00"] and e["A00"]["parents"] == ["A00-A09"]
    assert e["A15"]["parents"] == ["A15-A15"] and e["A15-A15"]["parents"] == ["A00-B99"]
    assert e["A00-B99"]["attributes"] == {"chapter": "1", "kind": "chapter"}


FIELDS_XML = """<?xml version="1.0"?>
<export version="2024-06">
  <header><source>Ministry</source></header>
  <record id="A01">
    <field name="code">A01</field>
    <field name="title" lang="en">Typhoid fever</field>
    <field name="title" lang="ru">Брюшной тиф</field>
    <note>first <b>note</b></note>
  </record>
  <record id="A02">
    <field name="code">A02</field>
    <field name="title" lang="en">Other salmonella infections</field>
    <note>second</note>
  </record>
</export>
"""


def xml_profile(tmp_path, fields: str, extra: str = "") -> str:
    path = tmp_path / "p.toml"
    path.write_text('[profile]\nformat = "xml"\n[catalog]\ntitle = "X"\nlanguage = "en"\n'
                    f'[read]\nrecords = ["record"]\n{extra}[fields]\n{fields}', encoding="utf-8")
    return str(path)


def test_xml_paths_with_predicates_text_and_absolute_paths(sqlite_store, tmp_path):
    f = tmp_path / "fields.xml"
    f.write_text(FIELDS_XML, encoding="utf-8")
    profile = xml_profile(tmp_path, '''code = "field[@name='code']"
display = "field[@name='title'][@lang='en']"
designations = [{ path = "field[@name='title'][@lang='ru']", language = "ru" }]
[fields.attributes]
release = "/export/@version"
source = "/export/header/source"
note = "note/text()"
id = "@id"
''')
    run_import(sqlite_store, f, catalog="x", version="1", profile=profile)
    e = entries_of(sqlite_store, "x", "1")
    assert e["A01"]["display"] == "Typhoid fever"
    assert e["A01"]["designations"] == [{"language": "ru", "use": "synonym", "text": "Брюшной тиф"}]
    assert e["A01"]["attributes"] == {"id": "A01", "note": "first", "release": "2024-06", "source": "Ministry"}
    assert e["A02"]["attributes"]["note"] == "second" and e["A02"]["designations"] == []
    titles = xml_profile(tmp_path, 'code = "@id"\ndisplay = "note"\n[fields.attributes]\n'
                                   'titles = "field[@name=\'title\']"\n')
    again = tmp_path / "again.xml"
    again.write_text(FIELDS_XML.replace("second", "second "), encoding="utf-8")  # another file: not "unchanged"
    run_import(sqlite_store, again, catalog="x", version="2", profile=titles)
    assert entries_of(sqlite_store, "x", "2")["A01"]["attributes"] == {"titles": "Typhoid fever | Брюшной тиф"}
    assert entries_of(sqlite_store, "x", "2")["A01"]["display"] == "first note"


def test_a_code_or_display_path_matching_several_elements_or_none_is_an_error(sqlite_store, tmp_path):
    f = tmp_path / "fields.xml"
    f.write_text(FIELDS_XML, encoding="utf-8")
    profile = xml_profile(tmp_path, '''code = "field[@name='code']"
display = "field[@name='title']"
[fields.attributes]
kind = { path = "field[@name='kind']", optional = true }
''')
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="x", version="1", profile=profile)
    assert [str(p) for p in caught.value.problems] == [
        f"{f}, row 4, column field[@name='title']: the display path \"field[@name='title']\" matches 2 elements in "
        f"this record, not one: make it select one (a predicate such as [@lang='ru'], or [1] for the first)"]
    assert not sqlite_store.has_catalog("x")
    profile = xml_profile(tmp_path, '''code = "field[@name='code']"
display = "field[@name='title'][@lang='ru']"
''')
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="x", version="1", profile=profile)
    assert [str(p) for p in caught.value.problems] == [
        f"{f}, row 10, column field[@name='title'][@lang='ru']: the display path \"field[@name='title'][@lang='ru']\" "
        f"matches nothing in this record (declare it optional = true, or give a default, if records may lack it)"]
    optional = xml_profile(tmp_path, '''code = "field[@name='code']"
display = { path = "field[@name='title'][@lang='ru']", optional = true }
''')
    assert run_import(sqlite_store, f, catalog="x", version="1", profile=optional).entries == 2
