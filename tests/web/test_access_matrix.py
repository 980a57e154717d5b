"""Access control of every write route of the API × every kind of caller: no token, a wrong or malformed one, a
revoked one, and each role. The routes come from the app's url_map and the roles each needs from the view's
declaration (`registry.web.common.needs`) and `registry.auth.PERMISSIONS`, so a new write route without a
declared role, or without a working example below, fails here.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mapping_fixtures import make_map_set
from registry import auth
from registry.models import ApiToken
from registry.models.catalog import utcnow
from registry.web import create_app

ROLES = ("reader", "importer", "reviewer", "admin")
MS = "/api/v1/mapsets/local-icd"
V = "/api/v1/catalogs/icd10/versions"


def _approve_l01(client, admin):
    r = client.post(f"{MS}/mappings/L01/decision", json={"decision": "approve", "revision": 1}, headers=admin)
    assert r.status_code == 200, r.get_json()


def _worksheet(client, admin) -> dict:
    sheet = client.get(f"{MS}/worksheet.xlsx", headers=admin).data
    return {"data": {"file": (io.BytesIO(sheet), "review.xlsx")}, "content_type": "multipart/form-data"}


# endpoint: (URL, request keyword arguments or a function of (client, admin headers) giving them, success status)
EXAMPLES = {
    "catalogs.create_catalog": ("/api/v1/catalogs", {"json": {"slug": "new", "title": "New"}}, 201),
    "versions.publish": (f"{V}/2.28/publish", {"json": {"release_notes": "Notes"}}, 200),
    "versions.discard": (f"{V}/2.28/discard", {}, 200),
    "versions.retire": (f"{V}/2.27/retire", {}, 200),
    "imports.upload": ("/api/v1/catalogs/icd10/imports", {
        "data": {"file": (io.BytesIO(b'{"code": "X1", "display": "X"}\n'), "x.jsonl"), "version": "9"},
        "content_type": "multipart/form-data"}, 202),
    "mapsets.create_map_set": ("/api/v1/mapsets", {"json": {"slug": "m2", "source": "local@1", "target": "icd10"}},
                               201),
    "mapsets.suggest": (f"{MS}/suggest", {"json": {"limit": 3}}, 200),
    "mapsets.decide": (f"{MS}/mappings/L01/decision", {"json": {"decision": "reject", "revision": 1}}, 200),
    "mapsets.bulk": (f"{MS}/decisions", {"json": {"decision": "reject",
                                                  "items": [{"source_code": "L01", "revision": 1}]}}, 200),
    "mapsets.upload_worksheet": (f"{MS}/worksheet", _worksheet, 200),
    "mapsets.publish": (f"{MS}/versions", {"json": {"label": "v1"}}, 201),
}
PREPARE = {"mapsets.publish": _approve_l01}


def write_routes(app) -> dict[str, str]:
    """{endpoint: token action} of every API route that writes (POSTs marked read-only excluded)."""
    routes = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/v1/") or not rule.methods & {"POST", "PUT", "PATCH", "DELETE"} \
                or getattr(view, "nsi_read_only", False):
            continue
        action = getattr(view, "nsi_action", None)
        assert action in auth.PERMISSIONS, f"{rule.rule} declares no token action (registry.web.common.needs)"
        routes[rule.endpoint] = action
    return routes


def make_client(store):
    """An app on `store` with catalogs, map set local-icd, a draft icd10 2.28 and one token per role."""
    make_map_set(store)
    store.stage_draft("icd10", "2.28", [{"code": "A00.9", "display": "Cholera"}])
    client = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False,
                         "NSI_RUN_JOBS": False}).test_client()
    headers = {role: {"Authorization": f"Bearer {auth.create_token(store, role, role)[1]}"} for role in ROLES}
    return client, headers


def request_kwargs(endpoint, client, admin) -> dict:
    url, kwargs, _ = EXAMPLES[endpoint]
    return dict(kwargs(client, admin) if callable(kwargs) else kwargs)


def fresh(kwargs: dict) -> dict:
    """The request arguments with upload files rewound (a BytesIO is consumed by each request)."""
    data = kwargs.get("data")
    if isinstance(data, dict):
        kwargs = {**kwargs, "data": {k: (io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v
                                     for k, v in data.items()}}
    return kwargs


def test_every_write_route_has_a_declared_role_and_an_example(sqlite_store):
    client, _ = make_client(sqlite_store)
    routes = write_routes(client.application)
    assert len(routes) >= 11
    assert sorted(routes) == sorted(EXAMPLES)


def test_callers_without_a_valid_token_or_the_right_role_change_nothing(store):
    """No token, a malformed or wrong one, a revoked one (deleted, or marked revoked), an expired one (each role):
    401; a role that may not: 403."""
    client, headers = make_client(store)
    deleted = auth.create_token(store, "gone", "admin")[1]
    auth.revoke_token(store, "gone")
    marked = auth.create_token(store, "marked", "admin")[1]
    with store.engine.begin() as conn:
        conn.execute(sa.update(ApiToken.__table__).where(ApiToken.__table__.c.name == "marked")
                     .values(revoked_at=sa.func.now()))
    lapsing = {role: auth.create_token(store, f"old {role}", role, timedelta(days=90))[1] for role in ROLES}
    expired = {f"expired {role}": {"Authorization": f"Bearer {secret}"} for role, secret in lapsing.items()}
    with store.engine.begin() as conn:
        conn.execute(sa.update(ApiToken.__table__).where(ApiToken.__table__.c.name.startswith("old "))
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    unauthorised = {"none": {}, "wrong": {"Authorization": "Bearer nsi_" + "x" * 43},
                    "malformed": {"Authorization": "Basic cm9vdDpyb290"}, "empty": {"Authorization": "Bearer "},
                    "revoked": {"Authorization": f"Bearer {deleted}"},
                    "marked revoked": {"Authorization": f"Bearer {marked}"},
                    **expired}
    before = client.get("/api/v1/catalogs", headers=headers["admin"]).get_json()
    checked = 0
    for endpoint, action in write_routes(client.application).items():
        url, _, _ = EXAMPLES[endpoint]
        kwargs = request_kwargs(endpoint, client, headers["admin"])
        for who, header in unauthorised.items():
            r = client.post(url, headers=header, **fresh(kwargs))
            assert r.status_code == 401, (endpoint, who, r.status_code)
            assert r.headers["WWW-Authenticate"].startswith("Bearer"), (endpoint, who)
            assert r.get_json()["error"]["code"] == "unauthorized"
            if who.startswith("expired"):
                assert "expired at" in r.get_json()["error"]["message"], (endpoint, who)
            checked += 1
        for role in ROLES:
            if role not in auth.PERMISSIONS[action]:
                r = client.post(url, headers=headers[role], **fresh(kwargs))
                assert r.status_code == 403, (endpoint, role, r.status_code)
                assert r.get_json()["error"]["code"] == "forbidden"
                checked += 1
    assert checked >= 11 * 10 + 11
    assert client.get("/api/v1/catalogs", headers=headers["admin"]).get_json() == before
    assert client.get(f"{MS}/mappings/L01", headers=headers["admin"]).get_json()["revision"] == 1


ALLOWED = [(endpoint, role) for endpoint in EXAMPLES for role in ROLES
           if role in auth.PERMISSIONS[{"catalogs": "create_catalog", "versions": "publish", "imports": "import",
                                        "mapsets": "review"}[endpoint.split(".")[0]]]]


@pytest.mark.parametrize("endpoint, role", ALLOWED)
def test_each_role_that_may_write_succeeds(sqlite_store, endpoint, role):
    client, headers = make_client(sqlite_store)
    assert write_routes(client.application)[endpoint] in {a for a, roles in auth.PERMISSIONS.items() if role in roles}
    if endpoint in PREPARE:
        PREPARE[endpoint](client, headers["admin"])
    url, _, status = EXAMPLES[endpoint]
    r = client.post(url, headers=headers[role], **fresh(request_kwargs(endpoint, client, headers["admin"])))
    assert r.status_code == status, (endpoint, role, r.get_json())


def test_tokens_are_stored_hashed_and_looked_up_by_hash(sqlite_store):
    """The secret is compared as its sha256 through an indexed equality on the hash, never as text: how long the
    lookup takes tells nothing about how much of a guessed secret is right."""
    _, secret = auth.create_token(sqlite_store, "loader", "importer")
    with sqlite_store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(ApiToken.__table__))]
    assert rows[0]["token_hash"] == auth.hash_secret(secret)
    assert not any(secret in str(value) for row in rows for value in row.values())
    assert rows[0]["prefix"] == secret[:12] and len(secret) > 40
    indexed = {tuple(c.name for c in ix.columns) for ix in ApiToken.__table__.indexes}
    unique = {tuple(c.name for c in u.columns) for u in ApiToken.__table__.constraints if isinstance(u, sa.UniqueConstraint)}
    assert ("token_hash",) in indexed | unique or ApiToken.__table__.c.token_hash.unique


def test_tokens_never_reach_the_logs(sqlite_store, caplog, monkeypatch):
    client, headers = make_client(sqlite_store)
    caplog.set_level(logging.DEBUG)
    secrets = [h["Authorization"].split()[1] for h in headers.values()]
    client.post("/api/v1/catalogs", json={"slug": "x", "title": "X"}, headers=headers["admin"])
    client.post("/api/v1/catalogs", json={"slug": "y", "title": "Y"}, headers=headers["reader"])
    client.post("/api/v1/catalogs", json={"slug": "z"}, headers={"Authorization": "Bearer nsi_wrong" + secrets[0]})
    monkeypatch.setattr("registry.web.catalogs.passport", lambda slug: 1 / 0)  # an unexpected error is logged
    client.application.testing = False
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.get("/api/v1/catalogs/icd10", headers=headers["admin"])
    assert r.status_code == 500 and "ZeroDivisionError" in caplog.text
    assert not any(secret in caplog.text for secret in secrets)
    assert not any(secret[4:] in caplog.text for secret in secrets)


def test_an_expired_token_is_refused_on_reads_and_writes_with_when_it_expired(sqlite_store):
    """Expiry is checked on every request, reads too (when NSI_READS_NEED_TOKEN closes them): a clear 401 that
    says the token expired and when, where a mistyped token gets 'not valid'; a token still in its lifetime works."""
    make_map_set(sqlite_store)
    client = create_app({"TESTING": True, "NSI_STORE": sqlite_store, "NSI_RECOVER_JOBS": False,
                         "NSI_RUN_JOBS": False, "NSI_READS_NEED_TOKEN": True}).test_client()
    secret = auth.create_token(sqlite_store, "quarterly", "admin", timedelta(days=90))[1]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/catalogs", headers=bearer).status_code == 200
    when = utcnow() - timedelta(minutes=5)
    with sqlite_store.engine.begin() as conn:
        conn.execute(sa.update(ApiToken.__table__).values(expires_at=when))
    expired_at = when.isoformat(timespec="seconds")
    for method, url in (("get", "/api/v1/catalogs"), ("post", "/api/v1/catalogs")):
        r = getattr(client, method)(url, headers=bearer, json={"slug": "x", "title": "X"})
        assert r.status_code == 401
        assert r.get_json()["error"] == {
            "code": "unauthorized", "details": {"expired_at": expired_at},
            "message": f"the API token 'quarterly' expired at {expired_at}; ask an administrator for a new one "
                       f"(nsi token create)"}
