"""docs/fhir.md keeps up with the FHIR wing: every route has a section, and every example is a real answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "fhir.md"
VOLATILE = ("date", "timestamp", "identifier")
EXAMPLE = re.compile(r"```http\n(?P<request>.*?)\n```\n(?:```json(?: status=(?P<status>\d+))?\n(?P<response>.*?)\n```)?",
                     re.S)


def fhir_routes(app) -> list[str]:
    """`METHOD /fhir/path` of every FHIR route but the catch-all that answers unknown paths."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/fhir/") or rule.endpoint == "fhir.unknown":
            continue
        path = re.sub(r"<(?:\w+:)?rid>", "{id}", rule.rule)
        out += [f"{method} {path}" for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def test_every_fhir_route_is_documented(sqlite_store):
    from registry.web import create_app
    routes = fhir_routes(create_app({"TESTING": True, "NSI_STORE": sqlite_store}))
    assert len(routes) == 21
    text = DOCS.read_text(encoding="utf-8")
    assert [r for r in routes if f"### `{r}`" not in text] == []


def _steady(node):
    """The JSON with the values that change on every run blanked out."""
    if isinstance(node, dict):
        return {k: ("…" if k in VOLATILE and isinstance(v, str) else _steady(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_steady(v) for v in node]
    return node


EXAMPLES = [m.groupdict() for m in EXAMPLE.finditer(DOCS.read_text(encoding="utf-8"))]


def test_docs_have_examples():
    assert len(EXAMPLES) >= 10
    assert sum(1 for e in EXAMPLES if e["response"]) >= 9


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["request"].splitlines()[0] for e in EXAMPLES])
def test_documented_example_is_a_real_answer(client, loaded, example):
    first, _, rest = example["request"].partition("\n")
    method, path = first.split(" ", 1)
    if method == "GET":
        response = client.get(path)
    else:
        body = rest.partition("\n\n")[2]
        response = client.post(path, data=body, content_type="application/fhir+json")
    assert response.mimetype == "application/fhir+json"
    assert response.status_code == int(example["status"] or 200), response.get_data(as_text=True)
    if example["response"]:
        assert _steady(json.loads(response.get_data(as_text=True))) == _steady(json.loads(example["response"]))
