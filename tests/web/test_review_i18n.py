"""The review pages in Russian: every string a reviewer sees is translated, server errors and matcher reasons too."""

from __future__ import annotations

import html
import re
import string
from pathlib import Path

import pytest

from mapping_fixtures import make_map_set
from registry import auth
from registry.entries import DESIGNATION_USES, FIELDS, STATUSES as ENTRY_STATUSES
from registry.mapping import create_map_set, decide, suggest
from registry.mapping.decisions import DECISIONS
from registry.matching import match
from registry.matching.normalise import QUALIFIER_CLASSES
from registry.models import CatalogCreate, MapSetCreate
from registry.models.auth import ROLES
from registry.models.catalog import VERSION_STATUSES
from registry.models.mapping import RELATIONSHIPS, STATUSES
from registry.web import create_app
from registry.web.review_i18n import ERRORS, GENERAL_ERRORS, error_text, reason_text, strings

TEMPLATES = Path(__file__).resolve().parents[2] / "registry" / "web" / "templates" / "review"
# Every action the audit trail records, the decisions, and the system actors (registry/mapping).
ACTIONS = ("suggest", "approve", "propose", "reject", "comment", "assign", "create-map-set", "publish")
TERMS = {"status": (*STATUSES, "not-mappable"), "rel": RELATIONSHIPS, "role": ROLES, "action": ACTIONS,
         "decision": DECISIONS, "entry_status": ENTRY_STATUSES, "version_status": VERSION_STATUSES,
         "use": (*DESIGNATION_USES, "display"), "field": FIELDS, "qualifier": (*QUALIFIER_CLASSES, "none"),
         "actor": ("matcher", "system")}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_translation_key_exists_in_both_languages():
    en, ru = strings("en"), strings("ru")
    assert sorted(set(en) ^ set(ru)) == []
    assert [k for k in en if placeholders(en[k]) != placeholders(ru[k])] == []
    assert [k for k, v in ru.items() if not v.strip()] == []
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'\bt\("([\w-]+)"(?!\s*\+)', template.read_text(encoding="utf-8")))
    used |= {f"{kind}_{value}" for kind, values in TERMS.items() for value in values}
    used |= {key for _, key, _ in ERRORS} | set(GENERAL_ERRORS.values()) | {"err_other", "csrf_failed", "saved",
                                                                          "unchanged", "login_failed"}
    assert sorted(used - set(en)) == []


# English that must never reach a Russian page: the UI strings (their fixed words), the registry's error and
# reason wording, and the English names of statuses, roles, actions and relationships.
def english_fragments() -> list[str]:
    en, ru = strings("en"), strings("ru")
    fragments = set()
    for key, value in en.items():
        if value == ru[key]:
            continue
        for literal, *_ in string.Formatter().parse(value):
            fragments |= {part.strip() for part in re.split(r"[(){}\"':;,.]", literal) if len(part.strip()) >= 7}
    for kind, values in TERMS.items():
        if kind != "use":
            fragments |= {v for v in values if len(v) >= 5}
    return sorted(fragments)


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_in(page: str) -> list[str]:
    text = visible_text(page)
    return [f for f in english_fragments() if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]


@pytest.fixture
def ru(sqlite_store):
    """A Russian-speaking reviewer's client, with a map set decided in every way and a catalog with history."""
    store = sqlite_store
    make_map_set(store, matcher=match)
    uses = ("synonym", "inclusion", "fully-specified")
    store.stage_draft("icd10", "2.28", [{"code": "A00.9", "display": "Холера неуточненная", "status": "inactive",
                                         "designations": [{"language": "ru", "use": u, "text": f"Холера, вариант {i}"}
                                                          for i, u in enumerate(uses)]},
                                        {"code": "A01.0", "display": "Брюшной тиф", "parents": ["A00.9"]}])
    create_map_set(store, MapSetCreate(slug="four", source="local@1", target="icd10@2.27", four_eyes=True),
                   actor="admin")
    suggest(store, "four", matcher=match)
    decide(store, "local-icd", "L01", "approve", actor="anna", revision=1, comment="ok")
    decide(store, "local-icd", "L02", "reject", actor="anna", revision=1)
    decide(store, "local-icd", "L03", "remap", actor="anna", revision=1, target_code="A01.2", relationship="broader")
    decide(store, "local-icd", "L03", "propose", actor="anna", revision=2, relationship="narrower")
    decide(store, "local-icd", "L04", "assign", actor="anna", revision=1, reviewer="boris")
    decide(store, "local-icd", "L04", "comment", actor="anna", revision=2, comment="ask the lab")
    decide(store, "four", "L01", "approve", actor="anna", revision=1)
    secrets = {role: auth.create_token(store, name, role)[1]
               for role, name in (("reviewer", "anna"), ("reader", "rita"), ("importer", "igor"))}
    app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False})
    clients = {}
    for role, secret in secrets.items():
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").get_data(as_text=True))[1]
        assert client.post("/review/login", data={"token": secret, "csrf": csrf}).status_code == 302
        clients[role] = client
    decide(store, "local-icd", "L05", "not-mappable", actor="anna", revision=1)
    return clients


PAGES = ["/review/", "/review/login", "/review/catalogs/icd10", "/review/catalogs/icd10?version=2.28",
         "/review/catalogs/local",
         "/review/catalogs/icd10/2.28/entries/A00.9", "/review/catalogs/icd10/2.28/entries/A01.0",
         "/review/catalogs/icd10/diff?from=2.27&to=2.28", "/review/mapsets/local-icd",
         "/review/mapsets/local-icd?status=not-mappable", "/review/mapsets/four",
         *[f"/review/mapsets/local-icd/m/L0{i}" for i in range(1, 6)],
         *[f"/review/mapsets/local-icd/m/L0{i}/history" for i in range(1, 6)],
         "/review/mapsets/local-icd/m/L03?search=Паратиф"]


def test_every_review_page_in_russian_shows_no_english(ru):
    """Issue 16, item 19: statuses, roles, actions, relationships and reasons were shown in English."""
    client = ru["reviewer"]
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, path
        assert english_in(r.get_data(as_text=True)) == [], path
    page = visible_text(client.get("/review/mapsets/local-icd/m/L05/history").get_data(as_text=True))
    assert "автоподбор" in page and "нет соответствия" in page
    page = visible_text(client.get("/review/mapsets/local-icd/m/L03").get_data(as_text=True))
    assert "название «Паратиф A»: те же слова после нормализации" in page
    page = visible_text(client.get("/review/mapsets/local-icd/m/L03/history").get_data(as_text=True))
    assert "anna предложение" in " ".join(page.split()) and "целевой уже" in page
    assert "anna (эксперт)" in " ".join(page.split())
    page = visible_text(client.get("/review/catalogs/icd10/2.28/entries/A00.9").get_data(as_text=True))
    assert "синоним (ru)" in page and "полное название (ru)" in page and "не действует" in page


def revision_of(client, path) -> str:
    return re.search(r'name="revision" value="(\d+)"', client.get(path).get_data(as_text=True))[1]


def csrf_of(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/review/").get_data(as_text=True))[1]


def test_every_server_error_in_russian_is_translated(ru):
    """Each error a reviewer can meet, in Russian by its own sentence (not the general one, never English)."""
    reviewer, reader, importer = ru["reviewer"], ru["reader"], ru["importer"]
    csrf = csrf_of(reviewer)
    item = "/review/mapsets/local-icd/m/"

    def post(code, client=reviewer, **form):
        data = {"csrf": csrf_of(client), "revision": revision_of(reviewer, item + code), **form}
        return client.post(item + code, data={k: v for k, v in data.items() if v is not None})

    cases = [
        ("err_stale_revision", post("L01", decision="reject", revision="1")),
        ("err_four_eyes", reviewer.post("/review/mapsets/four/m/L01", data={
            "csrf": csrf, "revision": revision_of(reviewer, "/review/mapsets/four/m/L01"), "decision": "approve"})),
        ("err_no_target", post("L05", decision="approve", relationship="equivalent")),
        ("err_target_unknown", post("L02", decision="approve", candidate="NOPE")),
        ("err_target_status", post("L02", decision="approve", candidate="Z99")),
        ("err_comment_needs_text", post("L02", decision="comment", comment="")),
        ("err_bad_decision", post("L02", decision="maybe")),
        ("err_bad_relationship", post("L02", decision="approve", relationship="similar")),
        ("err_no_revision", post("L02", decision="reject", revision="")),
        ("err_wrong_role", reader.get("/review/mapsets/local-icd")),
        ("err_wrong_role", post("L02", client=importer, decision="reject")),
        ("err_no_map_set", reviewer.get("/review/mapsets/nope")),
        ("err_no_mapping", reviewer.get(item + "L99")),
        ("err_no_catalog", reviewer.get("/review/catalogs/nope")),
        ("err_no_version", reviewer.get("/review/catalogs/icd10?version=9")),
        ("err_no_code", reviewer.get("/review/catalogs/icd10/2.27/entries/X99")),
        ("err_no_version", reviewer.get("/review/catalogs/icd10/diff?from=2.27&to=9")),
        ("csrf_failed", reviewer.post(item + "L02", data={"csrf": "old", "decision": "reject"})),
        ("err_404", reviewer.get("/review/no-such-page")),
        ("err_bad_status", reviewer.get("/review/mapsets/local-icd?status=bogus")),
        ("err_param_integer", reviewer.get("/review/mapsets/local-icd?offset=abc")),
        ("err_param_range", reviewer.get("/review/mapsets/local-icd?offset=-1")),
        ("err_param_number", reviewer.get("/review/mapsets/local-icd?min_score=high")),
        ("err_param_control", reviewer.get("/review/mapsets/local-icd?q=a%00b")),
        ("err_405", reviewer.post("/review/mapsets/local-icd/m/L02/history", data={"csrf": csrf})),
    ]
    ru_text = strings("ru")
    for key, r in cases:
        assert 400 <= r.status_code < 500, key
        page = r.get_data(as_text=True)
        alert = " ".join(visible_text(re.search(r'<div class="error" role="alert"[^>]*>(.*?)</div>', page, re.S)[1])
                         .split())
        fixed = [part for part, *_ in string.Formatter().parse(ru_text[key]) if part.strip()]
        assert all(part.strip() in alert for part in fixed), (key, alert)
        assert english_in(page) == [], (key, alert)


def test_an_error_the_table_does_not_know_is_shown_in_general_words_not_in_english():
    assert error_text("ru", "offset must be a whole number, got 'abc'", 400) == strings("ru")["err_400"]
    assert error_text("ru", "something unforeseen", 500) == strings("ru")["err_other"]
    message = "offset must be a whole number, got 'abc'"
    assert error_text("en", message, 400) == message


def test_matcher_reasons_are_translated_from_the_matchers_own_wording(sqlite_store):
    """Every kind of reason the matcher gives (registry/matching/rerank.py), made by the matcher, in Russian."""
    store = sqlite_store
    store.create_catalog(CatalogCreate(slug="drugs", title="drugs", kind="drug"))
    store.stage_draft("drugs", "1", [
        {"code": "D1", "display": "Парацетамол таблетки 500 мг", "attributes": {"atc": "N02BE01"}},
        {"code": "D2", "display": "Парацетамол таблетки 250 мг", "attributes": {"atc": "N02BE02"}},
        {"code": "D3", "display": "Таблетки парацетамол", "designations": [
            {"language": "ru", "use": "synonym", "text": "Парацетамола таблетки"}]},
        {"code": "J20", "display": "Острый бронхит"},
        {"code": "K80", "display": "Желчнокаменная болезнь неуточненная"}])
    store.publish("drugs", "1")
    terms = [{"code": "D1", "name": "Парацетамол таблетки 500 мг", "attributes": {"atc": "N02BE01"}},
             {"code": "X", "name": "Парацетамол таблетки 500 мг", "attributes": {"atc": "N02BE09"}},
             {"code": "Y", "name": "парацетамол таблетки"},
             {"code": "W", "name": "Бронхит острый"},
             {"code": "Z", "name": "Другая желчнокаменная болезнь"}]
    reasons = [c["reason"] for result in match(terms, target=("drugs", "1"), store=store, limit=5)
               for c in result["candidates"]]
    from registry.matching.rerank import Scored, _lift_subdivided_categories

    class Index:  # the two things the lifting rule reads of an index
        parents = [-1, 0, 0]
        codes = ["I84", "I84.8", "I84.9"]
    best = {0: Scored(0, 80.0, 'display "Геморрой": words 80%, fuzzy 90', frozenset(), 80.0),
            1: Scored(1, 90.0, "x", frozenset({"other"}), 90.0),
            2: Scored(2, 91.0, "y", frozenset({"unspecified"}), 91.0)}
    _lift_subdivided_categories(Index(), best, lambda scored: scored)  # reasons here are worded already
    reasons.append(best[0].reason)
    joined = "\n".join(reasons)
    for phrase in ("synonym \"", "same words after normalisation", "in another order", "fuzzy", "qualifiers",
                   "same code",
                   "different amounts", "different atc", "same atc", "same 500mg", "lifted above"):
        assert phrase in joined, phrase  # the data exercises every kind of reason
    english = ("same", "different", "words", "fuzzy", "qualifiers", "lifted", "display", "synonym", "none",
               "other", "unspecified", "vs", "amounts")
    for reason in reasons:
        translated = reason_text("ru", reason)
        assert [w for w in english if re.search(rf"\b{w}\b", translated)] == [], (reason, translated)
        assert reason_text("en", reason) == reason
    assert reason_text("ru", best[0].reason) == ("название «Геморрой»: слова 80%, нечёткое сходство 90; "
                                                 "поднят над подрубриками I84.8, I84.9: в названии нет уточнения")


def test_a_refused_worksheet_is_reported_in_russian(ru, tmp_path):
    """The worksheet report page (uploaded from the map set page) names each refused row's problem in Russian."""
    import io

    from openpyxl import load_workbook
    client = ru["reviewer"]
    sheet = client.get("/review/mapsets/local-icd/worksheet.xlsx")
    assert sheet.status_code == 200
    wb = load_workbook(io.BytesIO(sheet.data))
    ws = wb["Review"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in ("Source code", "Decision", "Other target code")}
    rows = {ws.cell(r, col["Source code"]).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["L02"], col["Decision"]).value = "maybe"  # not a decision
    ws.cell(rows["L03"], col["Decision"]).value = "remap"
    ws.cell(rows["L03"], col["Other target code"]).value = "NOPE"  # not in the target
    ws.cell(rows["L04"], col["Decision"]).value = "=CONCAT(\"app\", \"rove\")"  # a formula Excel never computed
    buffer = io.BytesIO()
    wb.save(buffer)
    r = client.post("/review/mapsets/local-icd/worksheet", content_type="multipart/form-data",
                    data={"csrf": csrf_of(client), "worksheet": (io.BytesIO(buffer.getvalue()), "sheet.xlsx")})
    assert r.status_code == 422  # ImportRejected: the file was read, its rows refused
    page = r.get_data(as_text=True)
    problems = [" ".join(visible_text(cell).split())
                for cell in re.findall(r"<tr><td>.*?</td><td>.*?</td><td>.*?</td><td>(.*?)</td></tr>", page, re.S)]
    ru_text = strings("ru")
    assert len(problems) == 3, problems
    assert problems[0].startswith(ru_text["err_bad_decision"].split("{")[0].strip()) and "maybe" in problems[0]
    assert "NOPE" in problems[1] and problems[1].startswith(ru_text["err_target_unknown"].split("{")[0].strip())
    assert problems[2].startswith(ru_text["err_ws_formula"].split("{")[0].strip()) and "CONCAT" in problems[2]
    assert english_in(page) == []
