"""Review pages for the working group: server-rendered HTML forms, a little JavaScript for keyboard shortcuts.

Reviewers sign in with their API token. The signed (not encrypted) session
cookie keeps only the token's name and a check value derived from its stored
hash, never the secret; every request checks them against the database, so
revoking the token signs the reviewer out. The cookie is HTTP-only, SameSite=Lax,
and Secure when NSI_HTTPS says the app is served over HTTPS. Every form carries a
CSRF token bound to the session; a failed check shows the error page. The pages
call the same Python API as the REST endpoints (registry.mapping, the store),
so the audit trail, the four-eyes rule and revision conflicts behave the same.
UI strings live in registry/web/i18n/{en,ru}.json; the language comes from a
switch (remembered in the session) or the browser's Accept-Language.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request, session,
                   url_for)

from registry import auth, mapping
from registry.errors import BadRequest, NsiError, NotFound, Unauthorized
from registry.web.mapsets import MAX_OFFSET, QUEUE_FILTER
from registry.web.params import Int, Text, query

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")
I18N = Path(__file__).resolve().parent / "i18n"
LANGUAGES = ("en", "ru")
QUEUE_PAGE = 50


@lru_cache(maxsize=None)
def strings(language: str) -> dict:
    """The UI strings of one language."""
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))


def secret_key(app) -> str:
    """NSI_SECRET_KEY, or a random key kept in NSI_DATA_DIR/secret_key (created on first use)."""
    configured = app.config.get("NSI_SECRET_KEY")
    if configured:
        return configured
    path = app.extensions["nsi_store"].data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@bp.record_once
def _setup(state):
    app = state.app
    if not app.secret_key:
        app.secret_key = secret_key(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("NSI_HTTPS"))


def language() -> str:
    """The page language: the switch (session), else the browser's preference, else English."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def store():
    return current_app.extensions["nsi_store"]


@bp.app_template_global()
def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_template_filter("score")
def format_score(value) -> str:
    """A matcher score as people write it: 97, 96.5, or a dash when there is none."""
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


@bp.app_template_filter("field_value")
def format_field_value(value) -> str:
    """An entry field as a reader wants it: text as is, lists and objects as compact JSON, a dash for empty."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@bp.context_processor
def _context():
    lang = language()
    text = strings(lang)
    return {"t": lambda key, **kw: text.get(key, strings("en").get(key, key)).format(**kw), "lang": lang,
            "user": g.get("user"), "languages": LANGUAGES}


def ui_text(key: str) -> str:
    """One UI string in the page language (English when the language lacks it)."""
    return strings(language()).get(key) or strings("en")[key]


@bp.before_request
def _guard():
    g.user = None
    if "token" in session:  # a session from before only the token's name was kept: sign in again
        session.pop("token")
    try:
        g.user = auth.authenticate_session(store(), session.get("reviewer"))
    except Unauthorized:
        session.pop("reviewer", None)
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        if not sent or not secrets.compare_digest(sent.encode(), session.get("csrf", "").encode()):
            return render_template("review/error.html", error=BadRequest(ui_text("csrf_failed"))), 400
    if g.user is None and request.endpoint not in ("review.login", "review.set_language"):
        return redirect(url_for("review.login", next=request.full_path))


def need(action: str):
    """The signed-in reviewer, checked to allow `action` (Forbidden otherwise)."""
    return auth.require(g.user, action)


@bp.errorhandler(NsiError)
def _error(exc: NsiError):
    return render_template("review/error.html", error=exc), exc.http_status


@bp.route("/login", methods=["GET", "POST"])
@query(next=Text(default=""))
def login(args: dict):
    """Sign in with an API token."""
    error = None
    if request.method == "POST":
        secret = request.form.get("token", "").strip()
        try:
            user = auth.authenticate(store(), secret) if secret else None
        except Unauthorized:
            user = None
        if user is None:
            error = "login_failed"
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session (and CSRF token) for the signed-in user
            session["reviewer"] = auth.session_proof(store(), secret)
            session["lang"] = lang
            target = args["next"]
            return redirect(target if target.startswith("/review") else url_for("review.home"))
    return render_template("review/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    """Sign out: forget the token."""
    session.clear()
    return redirect(url_for("review.login"))


@bp.post("/language")
def set_language():
    """Switch the page language."""
    lang = request.form.get("lang")
    session["lang"] = lang if lang in LANGUAGES else None
    back = request.form.get("next") or ""
    return redirect(back if back.startswith("/review") else url_for("review.home"))


@bp.get("/")
def home():
    """Catalogs and map sets."""
    s = store()
    return render_template("review/home.html", catalogs=[s.catalog_public(c.slug) for c in s.list_catalogs()],
                           mapsets=mapping.list_map_sets(s))


@bp.get("/catalogs/<slug>")
@query(version=Text(), q=Text(default=""))
def catalog(slug, args: dict):
    """A catalog: its versions and an entry search in one version."""
    s = store()
    passport = s.catalog_public(slug)
    versions = [v for v in s.list_versions(slug) if v.status != "draft" or need("read_drafts")]
    version = args["version"] or passport.latest_version or (versions[-1].label if versions else None)
    q = args["q"].strip()
    page = s.page_entries(slug, version, limit=50, q=q or None) if version else {"items": [], "next_cursor": None}
    return render_template("review/catalog.html", catalog=passport, versions=versions, version=version, q=q,
                           entries=page["items"], more=bool(page["next_cursor"]))


@bp.get("/catalogs/<slug>/<version>/entries/<code>")
def entry(slug, version, code):
    """One entry with its ancestors and children."""
    s = store()
    item = s.lookup(slug, code, version)
    ancestors, seen = [], {code}
    parent = item["parents"][0] if item["parents"] else None
    while parent and parent not in seen and len(ancestors) < 20:
        seen.add(parent)
        try:
            p = s.lookup(slug, parent, version)
        except NotFound:
            break
        ancestors.insert(0, p)
        parent = p["parents"][0] if p["parents"] else None
    return render_template("review/entry.html", slug=slug, version=s.resolve(slug, version).label, entry=item,
                           ancestors=ancestors, children=s.children(slug, code, version))


@bp.get("/catalogs/<slug>/diff")
@query(**{"from": Text(), "to": Text()})
def diff(slug, args: dict):
    """What changed between two versions."""
    s = store()
    versions = [v.label for v in s.list_versions(slug) if v.status != "draft"]
    old = args["from"] or (versions[-2] if len(versions) > 1 else None)
    new = args["to"] or (versions[-1] if versions else None)
    result = s.diff(slug, old, new) if old and new else None
    return render_template("review/diff.html", slug=slug, versions=versions, old=old, new=new, diff=result)


@bp.get("/mapsets/<slug>")
@query(**QUEUE_FILTER, offset=Int(0, MAX_OFFSET, default=0))
def dashboard(slug, args: dict):
    """Progress per status and the filterable queue."""
    need("read_drafts")
    ms = mapping.get_map_set(store(), slug)
    offset = args.pop("offset")
    filters = {**args, "q": (args["q"] or "").strip() or None}
    page = mapping.list_mappings(store(), slug, limit=QUEUE_PAGE, offset=offset, **filters)
    total = sum(ms.counts.values())
    return render_template("review/dashboard.html", ms=ms, filters=filters, items=page["items"],
                           total=page["total"], offset=offset, page_size=QUEUE_PAGE, all_count=total,
                           versions=mapping.list_map_set_versions(store(), slug),
                           pager_args={k: v for k, v in filters.items() if v is not None})


def _target_search(ms, q: str) -> list[dict]:
    if not q:
        return []
    page = store().page_entries(ms.target_catalog, ms.target_version, limit=20, q=q)
    return page["items"]


@bp.get("/mapsets/<slug>/m/<code>")
@query(search=Text(default=""))
def review_item(slug, code, args: dict, error=None, status=200):
    """The review screen of one source entry."""
    need("read_drafts")
    s = store()
    ms = mapping.get_map_set(s, slug)
    item = mapping.get_mapping(s, slug, code)
    try:
        source = s.lookup(ms.source_catalog, code, ms.source_version)
    except NotFound:
        source = None
    search = args["search"].strip()
    nxt = mapping.next_mapping(s, slug, code)
    return render_template("review/review.html", ms=ms, m=item, source=source, search=search,
                           found=_target_search(ms, search), next_item=nxt, error=error,
                           can_decide=g.user.role in auth.PERMISSIONS["review"]), status


@bp.post("/mapsets/<slug>/m/<code>")
def decide(slug, code):
    """Apply the decision of the review form, then go to the next item (or back, on an error)."""
    user = need("review")
    form = request.form
    decision = form.get("decision", "")
    target = form.get("target_code") or None
    if decision == "approve" and target is None and form.get("candidate"):
        target = form.get("candidate")
    try:
        revision = int(form.get("revision", ""))
    except ValueError:
        revision = None
    try:
        result = mapping.decide(store(), slug, code, decision, actor=user.name, revision=revision,
                                relationship=form.get("relationship") or None, target_code=target,
                                comment=form.get("comment", "").strip() or None)
    except NsiError as exc:  # stale revision, four-eyes rule, unknown code: show it with the current state
        return review_item(slug, code, error=exc, status=exc.http_status)
    flash(("saved", result.source_code, result.status))
    if decision == "comment" or form.get("stay"):
        return redirect(url_for("review.review_item", slug=slug, code=code))
    nxt = mapping.next_mapping(store(), slug, code)
    if nxt is None:
        return redirect(url_for("review.dashboard", slug=slug))
    return redirect(url_for("review.review_item", slug=slug, code=nxt.source_code))


@bp.get("/mapsets/<slug>/m/<code>/history")
def history(slug, code):
    """Every change of one mapping: who, when, what before and after, and why."""
    need("read_drafts")
    ms = mapping.get_map_set(store(), slug)
    return render_template("review/history.html", ms=ms, m=mapping.get_mapping(store(), slug, code),
                           events=mapping.mapping_history(store(), slug, code))
