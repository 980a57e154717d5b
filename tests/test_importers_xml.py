"""XML records by profile (importers/formats/xml.py)."""

from __future__ import annotations

from importers import run_import


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
