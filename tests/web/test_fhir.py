"""The FHIR wing on stored catalogs: metadata, CodeSystem read/search, $lookup, $validate-code, $expand, errors.

The `loaded` fixture publishes an ICD-10 excerpt (`icd10`, OID 1.2.643.5.1.13.13.11.1005) in versions
2023 and 2024; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

BASE = "http://localhost/fhir"
CS = f"{BASE}/CodeSystem/icd10"
OID = "urn:oid:1.2.643.5.1.13.13.11.1005"
FHIR_JSON = "application/fhir+json"


def fhir(response, status=200):
    """The FHIR JSON body of a response, after checking its status and media type."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    return json.loads(response.get_data(as_text=True))


def named(parameters: dict, name: str) -> list:
    """The parameters called `name` of a Parameters resource."""
    return [p for p in parameters["parameter"] if p["name"] == name]


def value(parameters: dict, name: str):
    """The value[x] of the one parameter called `name`."""
    [p] = named(parameters, name)
    return next(v for k, v in p.items() if k.startswith("value") or k == "resource")


def post_parameters(client, path: str, *params: dict):
    return client.post(path, data=json.dumps({"resourceType": "Parameters", "parameter": list(params)}),
                       content_type=FHIR_JSON)


def test_metadata_describes_the_terminology_service(client, loaded):
    cap = fhir(client.get("/fhir/metadata"))
    assert cap["resourceType"] == "CapabilityStatement" and cap["kind"] == "instance"
    assert cap["fhirVersion"] == "4.0.1" and cap["software"]["name"] == "NSI Registry"
    ops = {r["type"]: [o["name"] for o in r["operation"]] for r in cap["rest"][0]["resource"]}
    assert ops == {"CodeSystem": ["lookup", "validate-code"],
                   "ValueSet": ["expand", "validate-code", "batch-validate-code"], "ConceptMap": ["translate"]}
    terms = fhir(client.get("/fhir/metadata?mode=terminology"))
    assert terms["resourceType"] == "TerminologyCapabilities"
    assert terms["codeSystem"] == [{"uri": CS, "version": [{"code": "2023", "isDefault": False},
                                                          {"code": "2024", "isDefault": True}]}]
    assert terms["translation"] == {"needsMap": False}  # $translate without a url tries every map
    fhir(client.get("/fhir/metadata?mode=bogus"), 400)


def test_every_fhir_route_is_declared_in_the_capability_statement_and_nothing_more(client):
    """Walks the app's url_map under /fhir: each operation route is an operation of its resource type (or of
    the server), each `/{type}` and `/{type}/<id>` a search-type and read interaction, and the statement
    declares nothing that is not served. A new route left out of the statement fails here."""
    rest = fhir(client.get("/fhir/metadata"))["rest"][0]
    resources = {r["type"]: r for r in rest["resource"]}
    declared = {(kind, o["name"]) for kind, r in resources.items() for o in r["operation"]}
    declared |= {(kind, i["code"]) for kind, r in resources.items() for i in r["interaction"]}
    declared |= {("server", o["name"]) for o in rest["operation"]}
    served = set()
    for rule in client.application.url_map.iter_rules():
        if not rule.rule.startswith("/fhir/") or rule.endpoint == "fhir.unknown" or rule.rule == "/fhir/metadata":
            continue  # the catch-all answers 404 for anything else; /metadata is the statement itself
        kind, *rest_of_path = rule.rule.removeprefix("/fhir/").split("/")
        if kind.startswith("$"):
            served.add(("server", kind[1:]))
        elif rest_of_path in ([], ["<rid>"]):
            served.add((kind, "search-type" if not rest_of_path else "read"))
        else:
            assert rest_of_path[-1].startswith("$") and rest_of_path[:-1] in ([], ["<rid>"]), rule.rule
            served.add((kind, rest_of_path[-1][1:]))
    assert served == declared


def test_each_declared_search_parameter_is_accepted_and_no_other(client, loaded):
    rest = fhir(client.get("/fhir/metadata"))["rest"][0]
    for resource in rest["resource"]:
        for search_param in resource["searchParam"]:
            fhir(client.get(f"/fhir/{resource['type']}", query_string={search_param["name"]: "x"}))
        refused = fhir(client.get(f"/fhir/{resource['type']}", query_string={"publisher": "x"}), 400)
        assert "unknown search parameter(s): publisher" in refused["issue"][0]["details"]["text"]


def test_codesystem_read_streams_every_concept_with_oid_alias(client, loaded):
    response = client.get("/fhir/CodeSystem/icd10")
    assert response.is_streamed
    cs = fhir(response)
    assert (cs["id"], cs["url"], cs["version"], cs["status"], cs["content"]) == \
        ("icd10", CS, "2024", "active", "complete")
    assert cs["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": OID}]
    assert cs["hierarchyMeaning"] == "is-a" and cs["caseSensitive"] is True and cs["count"] == 9
    assert cs["valueSet"] == f"{BASE}/ValueSet/icd10"
    codes = [c["code"] for c in cs["concept"]]
    assert codes == ["A00", "A00-A09", "A00.0", "A00.1", "A01", "A01.0", "A01.1", "A02", "A03"]
    a00 = cs["concept"][0]
    assert a00["display"] == "Холера"
    assert a00["designation"] == [{"language": "en", "use": {"system": a00["designation"][0]["use"]["system"],
                                                             "code": "translation"}, "value": "Cholera"}]
    assert a00["property"] == [{"code": "parent", "valueCode": "A00-A09"}]
    a02 = next(c for c in cs["concept"] if c["code"] == "A02")
    assert {"code": "status", "valueCode": "retired"} in a02["property"]
    old = fhir(client.get("/fhir/CodeSystem/icd10--2023"))
    assert old["version"] == "2023" and "A00.9" in [c["code"] for c in old["concept"]]


def test_codesystem_search_by_url_alias_version_and_name(client, loaded):
    both = fhir(client.get(f"/fhir/CodeSystem?url={OID}"))
    assert both["type"] == "searchset" and both["total"] == 2
    assert [e["resource"]["version"] for e in both["entry"]] == ["2023", "2024"]
    assert all("concept" not in e["resource"] for e in both["entry"])
    one = fhir(client.get(f"/fhir/CodeSystem?url={CS}&version=2023"))
    assert [e["fullUrl"] for e in one["entry"]] == [f"{BASE}/CodeSystem/icd10--2023"]
    assert fhir(client.get("/fhir/CodeSystem?name=icd"))["total"] == 2
    assert fhir(client.get("/fhir/CodeSystem?status=retired"))["total"] == 0
    assert fhir(client.get("/fhir/CodeSystem?url=http://other/cs"))["total"] == 0
    outcome = fhir(client.get("/fhir/CodeSystem?colour=red"), 400)
    assert "colour" in outcome["issue"][0]["details"]["text"]


def test_lookup_by_get_and_post_with_the_oid(client, loaded):
    result = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={OID}&code=A00"))
    assert value(result, "display") == "Холера" and value(result, "version") == "2024"
    assert value(result, "system") == CS and value(result, "abstract") is False
    [own, designation] = named(result, "designation")  # the display in the catalog's language, then the others
    assert own["part"][0] == {"name": "language", "valueCode": "ru"} and own["part"][-1]["valueString"] == "Холера"
    assert {"name": "language", "valueCode": "en"} in designation["part"]
    assert {"name": "value", "valueString": "Cholera"} in designation["part"]
    props = [(p["part"][0]["valueCode"], p["part"][-1]) for p in named(result, "property")]
    assert ("parent", {"name": "value", "valueCode": "A00-A09"}) in props
    assert [v["valueCode"] for c, v in props if c == "child"] == ["A00.0", "A00.1"]
    assert ("inactive", {"name": "value", "valueBoolean": False}) in props
    posted = fhir(post_parameters(client, "/fhir/CodeSystem/$lookup",
                                  {"name": "coding", "valueCoding": {"system": CS, "code": "A02", "version": "2023"}},
                                  {"name": "property", "valueCode": "inactive"}))
    assert value(posted, "version") == "2023"
    assert [p["part"] for p in named(posted, "property")] == [[{"name": "code", "valueCode": "inactive"},
                                                               {"name": "value", "valueBoolean": True}]]


def test_lookup_errors_are_operation_outcomes(client, loaded):
    unknown = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={CS}&code=Z99"), 404)
    assert unknown["issue"][0]["details"]["coding"][0]["code"] == "invalid-code"
    no_system = fhir(client.get("/fhir/CodeSystem/$lookup?system=http://nowhere/cs&code=A00"), 404)
    assert no_system["issue"][0]["code"] == "not-found"
    fhir(client.get(f"/fhir/CodeSystem/$lookup?system={CS}"), 400)
    bad_version = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={CS}&code=A00&version=1999"), 404)
    assert "Valid versions: 2023 or 2024" in bad_version["issue"][0]["details"]["text"]


def test_codesystem_validate_code(client, loaded):
    good = fhir(client.get(f"/fhir/CodeSystem/$validate-code?url={OID}&code=A01&display=Тиф и паратиф"))
    assert value(good, "result") is True and value(good, "system") == CS and not named(good, "issues")
    wrong = fhir(client.get(f"/fhir/CodeSystem/$validate-code?url={CS}&code=A01&display=Typhus"))
    assert value(wrong, "result") is False
    [issue] = value(wrong, "issues")["issue"]
    assert (issue["severity"], issue["code"], issue["expression"]) == ("error", "invalid", ["display"])
    assert issue["details"]["coding"] == [{"system": "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type",
                                           "code": "invalid-display"}]
    assert value(wrong, "message") == issue["details"]["text"]
    unknown = fhir(post_parameters(client, "/fhir/CodeSystem/$validate-code",
                                   {"name": "coding", "valueCoding": {"system": CS, "code": "Z99"}}))
    [issue] = value(unknown, "issues")["issue"]
    assert value(unknown, "result") is False and issue["expression"] == ["Coding.code"]
    assert issue["details"]["coding"][0]["code"] == "invalid-code"
    inactive = fhir(client.get(f"/fhir/CodeSystem/$validate-code?url={CS}&code=A02"))
    assert value(inactive, "result") is True and value(inactive, "inactive") is True
    assert value(inactive, "issues")["issue"][0]["severity"] == "warning"
    version = fhir(client.get(f"/fhir/CodeSystem/$validate-code?url={CS}&code=A00&version=1999"))
    assert value(version, "result") is False
    assert value(version, "issues")["issue"][0]["details"]["coding"][0]["code"] == "not-found"


def test_expand_the_implicit_value_set_in_pages(client, loaded):
    page = fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10&offset=2&count=3"))
    assert page["url"] == f"{BASE}/ValueSet/icd10" and page["version"] == "2024"
    expansion = page["expansion"]
    assert expansion["total"] == 9 and expansion["offset"] == 2
    assert [c["code"] for c in expansion["contains"]] == ["A00.0", "A00.1", "A01"]
    assert {"name": "used-codesystem", "valueUri": f"{CS}|2024"} in expansion["parameter"]
    assert {"name": "count", "valueInteger": 3} in expansion["parameter"]
    active = fhir(post_parameters(client, "/fhir/ValueSet/$expand",
                                  {"name": "url", "valueUri": f"{BASE}/ValueSet/icd10"},
                                  {"name": "activeOnly", "valueBoolean": True}))["expansion"]
    assert active["total"] == 8 and "A02" not in [c["code"] for c in active["contains"]]
    text = fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10&filter=холера"))["expansion"]
    assert [c["code"] for c in text["contains"]] == ["A00", "A00.0", "A00.1"]
    old = fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10|2023&count=0"))["expansion"]
    assert old["total"] == 9 and "contains" not in old
    fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/nothing"), 404)
    fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10&count=-1"), 400)


def test_valueset_validate_code_and_read(client, loaded):
    vs = f"{BASE}/ValueSet/icd10"
    good = fhir(client.get(f"/fhir/ValueSet/$validate-code?url={vs}&system={OID}&code=A00.1"))
    assert value(good, "result") is True and value(good, "version") == "2024"
    other = fhir(client.get(f"/fhir/ValueSet/$validate-code?url={vs}&system=http://other/cs&code=A00"))
    assert value(other, "result") is False
    kinds = sorted(i["details"]["coding"][0]["code"] for i in value(other, "issues")["issue"])
    assert kinds == ["not-found", "not-in-vs"]
    read = fhir(client.get("/fhir/ValueSet/icd10"))
    assert read["compose"] == {"include": [{"system": CS, "version": "2024"}]}
    search = fhir(client.get(f"/fhir/ValueSet?url={vs}"))
    assert search["total"] == 2


def test_errors_under_fhir_are_never_html(client, loaded):
    for response, status in ((client.get("/fhir/Patient/1"), 404), (client.put("/fhir/CodeSystem/icd10"), 404),
                             (client.post("/fhir/ValueSet/$expand", data="{not json"), 400),
                             (client.post("/fhir/ValueSet/$expand", data='{"resourceType": "Bundle"}'), 400),
                             (client.get("/fhir/CodeSystem/nothing"), 404),
                             (client.get("/fhir/CodeSystem/icd10--1999"), 404)):
        outcome = fhir(response, status)
        assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"


def test_reads_need_a_token_when_configured(store, loaded, tokens, bearer):
    from registry.web import create_app
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_READS_NEED_TOKEN": True}).test_client()
    denied = fhir(post_parameters(client, "/fhir/CodeSystem/$lookup", {"name": "system", "valueUri": CS},
                                  {"name": "code", "valueCode": "A00"}), 401)
    assert denied["issue"][0]["code"] == "login"
    fhir(client.get(f"/fhir/CodeSystem/$lookup?system={CS}&code=A00", headers=bearer(tokens["reader"])))
    unknown = fhir(client.post("/fhir/Patient", data="{}"), 401)
    assert unknown["issue"][0]["code"] == "login"
    fhir(client.post("/fhir/Patient", data="{}", headers=bearer(tokens["reader"])), 404)


def test_validate_code_checks_the_display_in_the_requested_language(client, loaded):
    """A00 is 'Холера' (ru, the catalog's language) with an English designation 'Cholera'."""
    url = f"/fhir/CodeSystem/$validate-code?url={CS}&code=A00"
    english = fhir(client.get(f"{url}&display=Cholera&displayLanguage=en"))
    assert value(english, "result") is True and value(english, "display") == "Cholera"
    russian_asked_english = fhir(client.get(f"{url}&display=Холера", headers={"Accept-Language": "en"}))
    assert value(russian_asked_english, "result") is False
    assert value(russian_asked_english, "message") == (
        f"Wrong Display Name 'Холера' for {CS}#A00. Valid display is 'Cholera' (en) (for the language(s) 'en')")
    none_in_german = fhir(client.get(f"{url}&display=Холера&displayLanguage=de"))
    assert value(none_in_german, "result") is True and value(none_in_german, "display") == "Холера"
    [info] = value(none_in_german, "issues")["issue"]
    assert info["severity"] == "information" and "for language(s) 'de'" in info["details"]["text"]
    wrong_in_german = fhir(client.get(f"{url}&display=Cholera&displayLanguage=de"))
    assert value(wrong_in_german, "result") is False
    assert value(wrong_in_german, "message").endswith(
        "There are no valid display names found for language(s) 'de'. Default display is 'Холера'")
    unasked = fhir(client.get(f"{url}&display=Cholera"))
    assert value(unasked, "result") is True and value(unasked, "display") == "Холера"


def test_validate_codeable_concept_accepts_any_coding_and_active_only_rejects_inactive(client, loaded):
    vs = f"{BASE}/ValueSet/icd10"
    concept = {"coding": [{"system": "http://example.org/other", "code": "x"}, {"system": CS, "code": "A01"}]}
    out = fhir(post_parameters(client, "/fhir/ValueSet/$validate-code", {"name": "url", "valueUri": vs},
                               {"name": "codeableConcept", "valueCodeableConcept": concept}))
    assert value(out, "code") == "A01" and value(out, "system") == CS
    unknown, outside = value(out, "issues")["issue"]  # the other coding is reported, the A01 coding is chosen
    assert (unknown["severity"], unknown["expression"]) == ("error", ["CodeableConcept.coding[0].system"])
    assert (outside["severity"], outside["expression"]) == ("information", ["CodeableConcept.coding[0].code"])
    assert value(out, "result") is False  # an unknown system is an error, as in the HL7 reference
    inactive = fhir(client.get(f"/fhir/ValueSet/$validate-code?url={vs}&system={CS}&code=A02&activeOnly=true"))
    assert value(inactive, "result") is False and value(inactive, "inactive") is True
    texts = [i["details"]["text"] for i in value(inactive, "issues")["issue"]]
    assert "The concept 'A02' is valid but is not active" in texts
    assert any(t.startswith("The provided code") for t in texts)
    guessed = fhir(client.get(f"/fhir/ValueSet/$validate-code?url={vs}&code=Q99&inferSystem=true"))
    assert value(guessed, "result") is False and not named(guessed, "system")
    assert "could not be determined for the code 'Q99'" in value(guessed, "message")


def test_expand_with_exclude_nested_false_gives_the_hierarchy(client, loaded):
    url = f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10"
    tree = fhir(client.get(f"{url}&excludeNested=false"))["expansion"]
    flat = fhir(client.get(url))["expansion"]
    assert tree["total"] == flat["total"] == 9 and len(flat["contains"]) == 9

    def codes(items):
        return [(i["code"], codes(i.get("contains", []))) for i in items]
    assert codes(tree["contains"]) == [("A00-A09", [  # A01.1 has two parents: it goes under the first, A01
        ("A00", [("A00.0", []), ("A00.1", [])]), ("A01", [("A01.0", []), ("A01.1", [])]), ("A02", []),
        ("A03", [])])]
    paged = fhir(client.get(f"{url}&excludeNested=false&count=3"))["expansion"]
    assert [i["code"] for i in paged["contains"]] == ["A00", "A00-A09", "A00.0"]  # a page stays flat, by code


def test_expand_property_puts_the_asked_properties_in_the_expansion(client, loaded):
    out = fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10&property=status"))["expansion"]
    status = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"
    carried = {i["code"]: [[p.get("valueCode") for p in e["extension"]] for e in i.get("extension", [])
                           if e["url"] == status] for i in out["contains"]}
    assert carried["A02"] == [["status", "retired"]]  # once, though an inactive concept's status shows anyway
    assert carried["A01"] == []
    [declared] = out["extension"]
    assert [p.get("valueCode") or p.get("valueUri") for p in declared["extension"]] == \
        ["status", "http://hl7.org/fhir/concept-properties#status"]
    assert "property" not in [p["name"] for p in out.get("parameter", [])]


def test_expand_pages_deep_into_a_stored_catalog(client, store):
    """The page at a high offset is read by the database, and is the same as slicing the whole list."""
    from registry.models import CatalogCreate
    store.create_catalog(CatalogCreate(slug="big", title="big", kind="classification"))
    store.stage_draft("big", "1", [{"code": f"C{i:05d}", "display": f"Concept {i}"} for i in range(3000)])
    store.publish("big", "1")
    url = f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/big"
    page = fhir(client.get(f"{url}&offset=2990&count=20"))["expansion"]
    assert page["total"] == 3000 and page["offset"] == 2990
    assert [c["code"] for c in page["contains"]] == [f"C{i:05d}" for i in range(2990, 3000)]
    whole = fhir(client.get(f"{url}&count=3000"))["expansion"]["contains"]
    assert fhir(client.get(f"{url}&offset=1234&count=5"))["expansion"]["contains"] == whole[1234:1239]


def test_an_unknown_supplement_is_a_404(client, loaded):
    out = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={CS}&code=A00&useSupplement=http://example.org/s"), 404)
    assert out["issue"][0]["details"]["text"] == "Required supplement not found: http://example.org/s"
    wrong_display = fhir(client.get(f"/fhir/CodeSystem/$validate-code?url={CS}&code=A00&display=Typhus"))
    assert value(wrong_display, "message") == (f"Wrong Display Name 'Typhus' for {CS}#A00. Valid display is one of 2 "
                                               f"choices: 'Холера' (ru) or 'Cholera' (en) (for the language(s) '--')")


def test_lookup_and_expand_answer_the_display_in_the_requested_language(client, loaded):
    """A00 'Холера' has an English designation 'Cholera'; A01 has none. The catalog's language is ru."""
    english = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={OID}&code=A00&displayLanguage=en"))
    assert value(english, "display") == "Cholera"
    [aside] = named(english, "designation")  # the English one is the display now; the Russian display steps aside
    assert aside["part"] == [{"name": "language", "valueCode": "ru"},
                             {"name": "use", "valueCoding": {
                                 "system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
                                 "code": "preferredForLanguage", "display": "Preferred For Language"}},
                             {"name": "value", "valueString": "Холера"}]
    by_header = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={OID}&code=A00",
                                headers={"Accept-Language": "en-GB, ru; q=0.5"}))
    assert value(by_header, "display") == "Cholera"
    assert value(fhir(client.get(f"/fhir/CodeSystem/$lookup?system={OID}&code=A01&displayLanguage=en")),
                 "display") == "Тиф и паратиф"  # none in English: the display stays

    def displays(language: str) -> dict:
        expansion = fhir(post_parameters(client, "/fhir/ValueSet/$expand",
                                         {"name": "url", "valueUri": f"{BASE}/ValueSet/icd10"},
                                         {"name": "displayLanguage", "valueCode": language}))["expansion"]
        assert {"name": "displayLanguage", "valueCode": language} in expansion["parameter"]
        return {c["code"]: c.get("display") for c in expansion["contains"]}
    soft = displays("en")
    assert (soft["A00"], soft["A01.0"], soft["A01"]) == ("Cholera", "Typhoid fever", "Тиф и паратиф")
    strict = displays("en, *; q=0")  # no other language will do: a concept without English has no display
    assert (strict["A00"], strict["A01"]) == ("Cholera", None)
    assert displays("ru")["A00"] == "Холера"
    bad = fhir(client.get(f"/fhir/CodeSystem/$lookup?system={OID}&code=A00&displayLanguage=-"), 400)
    assert bad["issue"][0]["details"]["text"] == "Invalid displayLanguage: '-'"
    assert bad["issue"][0]["details"]["coding"][0]["code"] == "invalid-display"


def test_a_regex_filter_that_runs_too_long_is_refused_not_left_running(client, monkeypatch):
    from registry.web.fhir import expansion
    monkeypatch.setattr(expansion, "REGEX_SECONDS", 0.05)
    system = "http://example.org/CodeSystem/slow"
    code_system = {"resourceType": "CodeSystem", "url": system, "status": "active", "content": "complete",
                   "concept": [{"code": "a" * 3000 + "b"}, {"code": "ab"}]}
    value_set = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/slow", "status": "active",
                 "compose": {"include": [{"system": system,
                                          "filter": [{"property": "code", "op": "regex", "value": "(.*a){20}"}]}]}}
    outcome = fhir(post_parameters(client, "/fhir/ValueSet/$expand", {"name": "valueSet", "resource": value_set},
                                   {"name": "tx-resource", "resource": code_system}), 422)
    assert outcome["issue"][0]["code"] == "too-costly"
    assert outcome["issue"][0]["details"]["text"].startswith("The regex filter '(.*a){20}' took too long")


def test_expand_follows_the_request_version_rules(client, loaded):
    """system-version, force-system-version and check-system-version choose or refuse a catalog version."""
    def expand(*params):
        return client.post("/fhir/ValueSet/$expand", data=json.dumps({"resourceType": "Parameters", "parameter": [
            {"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "active",
                                              "compose": {"include": [{"system": CS}]}}}, *params]}),
            content_type=FHIR_JSON)
    newest = fhir(expand())["expansion"]
    assert {"name": "used-codesystem", "valueUri": f"{CS}|2024"} in newest["parameter"]
    by_default = fhir(expand({"name": "system-version", "valueCanonical": f"{CS}|2023"}))["expansion"]
    assert {"name": "used-codesystem", "valueUri": f"{CS}|2023"} in by_default["parameter"]
    assert {"name": "system-version", "valueUri": f"{CS}|2023"} in by_default["parameter"]
    pinned = fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10|2024"
                             f"&force-system-version={CS}|2023"))["expansion"]
    assert {"name": "used-codesystem", "valueUri": f"{CS}|2023"} in pinned["parameter"]
    assert {"name": "force-system-version", "valueUri": f"{CS}|2023"} in pinned["parameter"]
    checked = fhir(expand({"name": "check-system-version", "valueCanonical": f"{CS}|2023"}))["expansion"]
    assert {"name": "used-codesystem", "valueUri": f"{CS}|2023"} in checked["parameter"]  # a default as well
    refused = fhir(client.get(f"/fhir/ValueSet/$expand?url={BASE}/ValueSet/icd10|2024"
                              f"&check-system-version={CS}|2023"), 400)
    assert refused["issue"][0]["details"]["text"] == (f"The version '2024' is not allowed for system '{CS}': "
                                                      "required to be '2023' by a version-check parameter")
    unknown = fhir(expand({"name": "force-system-version", "valueCanonical": f"{CS}|1999"}), 404)
    assert unknown["issue"][0]["details"]["text"] == (
        f"A definition for CodeSystem '{CS}' version '1999' could not be found, so the value set cannot be expanded."
        " Valid versions: 2023 or 2024")


def test_validate_code_compares_the_coding_version_with_the_value_set_include(client, loaded):
    def validate(include_version, coding_version):
        include = {"system": CS, **({"version": include_version} if include_version else {})}
        coding = {"system": CS, "code": "A00", **({"version": coding_version} if coding_version else {})}
        return fhir(post_parameters(client, "/fhir/ValueSet/$validate-code",
                                    {"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "active",
                                                                      "url": "http://example.org/vs",
                                                                      "compose": {"include": [include]}}},
                                    {"name": "coding", "valueCoding": coding}))
    same = validate("2023", None)
    assert value(same, "result") is True and value(same, "version") == "2023"
    other = validate("2024", "2023")
    assert value(other, "result") is False and value(other, "version") == "2024"
    assert value(other, "message") == (f"The code system '{CS}' version '2024' in the ValueSet include is different "
                                       "to the one in the value ('2023')")
    assert value(validate(None, "2023"), "result") is True  # a versionless include takes any known version
    unknown = validate(None, "1999")
    assert value(unknown, "result") is False and value(unknown, "x-caused-by-unknown-system") == f"{CS}|1999"
    assert value(unknown, "message") == (f"A definition for CodeSystem '{CS}' version '1999' could not be found, so "
                                         "the code cannot be validated. Valid versions: 2023 or 2024")


def test_a_draft_code_system_or_a_withdrawn_value_set_is_named_in_the_answer(client):
    system = "http://example.org/CodeSystem/draft"
    code_system = {"resourceType": "CodeSystem", "url": system, "version": "1", "status": "draft",
                   "content": "complete", "concept": [{"code": "a", "display": "A"}]}
    value_set = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/old", "version": "2",
                 "status": "active", "compose": {"include": [{"system": system}]},
                 "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                                "valueCode": "withdrawn"}]}
    supplied = [{"name": "tx-resource", "resource": code_system}, {"name": "valueSet", "resource": value_set}]
    expansion = fhir(post_parameters(client, "/fhir/ValueSet/$expand", *supplied))["expansion"]
    assert {"name": "warning-draft", "valueUri": f"{system}|1"} in expansion["parameter"]
    assert {"name": "warning-withdrawn", "valueUri": "http://example.org/ValueSet/old|2"} in expansion["parameter"]
    checked = fhir(post_parameters(client, "/fhir/ValueSet/$validate-code", *supplied,
                                   {"name": "coding", "valueCoding": {"system": system, "code": "a"}}))
    assert value(checked, "result") is True and not named(checked, "message")
    assert sorted(i["details"]["text"] for i in value(checked, "issues")["issue"]) == [
        f"Reference to draft CodeSystem {system}|1",
        "Reference to withdrawn ValueSet http://example.org/ValueSet/old|2"]


def test_a_supplement_adds_designations_to_a_stored_catalog_for_the_request_that_uses_it(client, loaded):
    supplement = {"resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/icd10-de", "version": "1",
                  "status": "active", "content": "supplement", "supplements": OID,
                  "concept": [{"code": "A00", "designation": [{"language": "de", "value": "Cholera (de)"}]}]}
    asked = [{"name": "system", "valueUri": OID}, {"name": "code", "valueCode": "A00"},
             {"name": "tx-resource", "resource": supplement}]
    plain = fhir(post_parameters(client, "/fhir/CodeSystem/$lookup", *asked))
    assert "Cholera (de)" not in json.dumps(plain, ensure_ascii=False) and not named(plain, "used-supplement")
    used = fhir(post_parameters(client, "/fhir/CodeSystem/$lookup", *asked,
                                {"name": "useSupplement", "valueCanonical": "http://example.org/CodeSystem/icd10-de"}))
    assert value(used, "used-supplement") == "http://example.org/CodeSystem/icd10-de|1"
    german = [d["part"] for d in named(used, "designation") if {"name": "language", "valueCode": "de"} in d["part"]]
    assert german == [[{"name": "language", "valueCode": "de"},
                       {"name": "source", "valueCanonical": "http://example.org/CodeSystem/icd10-de|1"},
                       {"name": "value", "valueString": "Cholera (de)"}]]


def test_abstract_codes_can_be_refused_and_a_fragment_leaves_unknown_codes_undecided(client):
    system = "http://example.org/CodeSystem/parts"
    code_system = {"resourceType": "CodeSystem", "url": system, "version": "1", "status": "active",
                   "content": "fragment", "concept": [{"code": "group", "display": "Group", "property": [
                       {"code": "notSelectable", "valueBoolean": True}]}]}
    value_set = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/parts", "status": "active",
                 "compose": {"include": [{"system": system}]}}
    supplied = [{"name": "tx-resource", "resource": code_system}, {"name": "valueSet", "resource": value_set}]

    def validate(code, *more):
        return fhir(post_parameters(client, "/fhir/ValueSet/$validate-code", *supplied, *more,
                                    {"name": "coding", "valueCoding": {"system": system, "code": code}}))
    assert value(validate("group"), "result") is True
    refused = validate("group", {"name": "abstract", "valueBoolean": False})
    assert value(refused, "result") is False
    assert f"Code '{system}#group' is abstract, and not allowed in this context" in value(refused, "message")
    elsewhere = validate("other")  # may be in another fragment: a warning, not a failure
    assert value(elsewhere, "result") is True
    [warning] = value(elsewhere, "issues")["issue"]
    assert warning["severity"] == "warning" and "labeled as a fragment" in warning["details"]["text"]
