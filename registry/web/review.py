"""Review pages for the working group: server-rendered HTML forms, a little JavaScript for keyboard shortcuts.

Reviewers sign in with their API token. The signed (not encrypted) session
cookie keeps only a random session id (registry.auth keeps its hash on the
server), never the token or its name; every request checks it against the
database, so signing out, revoking the token or expiry (NSI_SESSION_IDLE_MINUTES,
NSI_SESSION_MAX_HOURS) ends the session for every copy of the cookie. The cookie
is HTTP-only, SameSite=Lax, and Secure when NSI_HTTPS says the app is served over
HTTPS. Every form carries a CSRF token bound to the session; a failed check shows
the error page and never writes the cookie, so a cross-site post (which arrives
without it) cannot replace the reviewer's session. A comment being typed survives
a conflict, a refused form and a session that ended meanwhile. The pages
call the same Python API as the REST endpoints (registry.mapping, the store),
so the audit trail, the four-eyes rule and revision conflicts behave the same.
UI strings live in registry/web/i18n/{en,ru}.json; the language comes from a
switch (remembered in the session) or the browser's Accept-Language.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from werkzeug.exceptions import HTTPException

from registry import auth, mapping
from registry.errors import BadRequest, NsiError, NotFound, Unauthorized
from registry.sign_in_throttle import SignInThrottle
from registry.web import review_i18n
from registry.web.mapsets import MAX_OFFSET, QUEUE_FILTER
from registry.web.params import Int, OneOf, Text, query
from registry.web.review_i18n import LANGUAGES, strings

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")
QUEUE_PAGE = 50


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
    app.extensions["nsi_sign_in_throttle"] = SignInThrottle(app.extensions["nsi_store"],
                                                            int(app.config["NSI_SIGN_IN_FAILURES"]),
                                                            int(app.config["NSI_SIGN_IN_WINDOW_MINUTES"]) * 60)


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
    """The session's CSRF token, created on first use (never while answering a refused form)."""
    if "csrf" not in session and not g.get("csrf_refused"):
        session["csrf"] = secrets.token_urlsafe(32)
    return session.get("csrf", "")


@bp.app_template_global()
def status_of(m) -> str:
    """A mapping's (or an audit state's) status as reviewers name it: an approval that no target fits is
    `not-mappable`."""
    state = m if isinstance(m, dict) else {"status": m.status, "relationship": m.relationship}
    if state.get("status") == "approved" and state.get("relationship") == "not-mappable":
        return "not-mappable"
    return state.get("status")


def lifetimes() -> dict:
    """The session lifetimes of the settings, as `auth.session_user` takes them."""
    return {"idle_seconds": int(current_app.config["NSI_SESSION_IDLE_MINUTES"]) * 60,
            "max_seconds": int(current_app.config["NSI_SESSION_MAX_HOURS"]) * 3600}


@bp.app_template_filter("score")
def format_score(value) -> str:
    """A matcher score as people write it: 97, 96.5, or a dash when there is none."""
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


@bp.app_template_filter("thousands")
def format_thousands(value: int) -> str:
    """A count with thousands grouped as the page's language writes them (7,395 in English, 7 395 in Russian)."""
    text = f"{value:,}"
    return text.replace(",", "\u202f") if language() == "ru" else text


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
    return {"t": lambda key, **kw: review_i18n.text(lang, key, **kw), "lang": lang, "user": g.get("user"),
            "languages": LANGUAGES, "term": lambda kind, value: review_i18n.term(lang, kind, value),
            "error_text": lambda exc: review_i18n.error_text(lang, exc.message, exc.http_status),
            "problem_text": lambda message: review_i18n.error_text(lang, message, 400),
            "column_text": lambda header: review_i18n.worksheet_column(lang, header),
            "reason_text": lambda reason: review_i18n.reason_text(lang, reason),
            "fields_text": lambda fields: ", ".join(review_i18n.field_text(lang, f) for f in fields),
            "diff_value": lambda field, value: _diff_value(lang, field, value)}


def _diff_value(lang: str, field: str, value) -> str:
    """A changed entry field as the diff page shows it: statuses and designation uses in the page language."""
    if field == "status" and value:
        return review_i18n.term(lang, "entry_status", value)
    if field == "designations" and value:
        return "; ".join(f"{review_i18n.term(lang, 'use', d.get('use'))} ({d.get('language') or '—'}): {d.get('text')}"
                         for d in value)
    return format_field_value(value)


def ui_text(key: str) -> str:
    """One UI string in the page language (English when the language lacks it)."""
    return strings(language()).get(key) or strings("en")[key]


@bp.before_request
def _guard():
    g.user = None
    for stale in ("token", "reviewer"):  # cookies of older versions: sign in again
        session.pop(stale, None)
    try:
        g.user = auth.session_user(store(), session.get("sid"), **lifetimes())
    except Unauthorized:
        session.pop("sid", None)
    typed = request.form.get("comment", "").strip() if request.endpoint == "review.decide" else ""
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        if not sent or not secrets.compare_digest(sent.encode(), session.get("csrf", "").encode()):
            g.csrf_refused = True
            error = BadRequest(ui_text("csrf_failed"))
            if g.user is not None and request.endpoint == "review.decide":
                return review_item(**request.view_args, error=error, status=400, comment=typed)
            return render_template("review/error.html", error=error), 400
    if g.user is None and request.endpoint not in ("review.login", "review.set_language"):
        if typed:  # the session ended while the reviewer typed: sign in again, comment kept
            return render_template("review/login.html", error="session_ended_comment_kept",
                                   next_url=request.path, pending_comment=typed), 401
        return redirect(url_for("review.login", next=request.full_path))


@bp.after_request
def _no_cookie_for_refused_forms(response):
    """A refused form leaves the session cookie as it was: a cross-site post must not replace it."""
    if g.get("csrf_refused"):
        session.modified = False
    return response


def need(action: str):
    """The signed-in reviewer, checked to allow `action` (Forbidden otherwise)."""
    return auth.require(g.user, action)


@bp.errorhandler(NsiError)
def _error(exc: NsiError):
    return render_template("review/error.html", error=exc), exc.http_status


def http_error_page(exc: HTTPException):
    """An HTTP error under /review (an unknown page, a wrong method) as the review pages' own error page.

    Routing failed before the blueprint was chosen, so its context is added here.
    """
    g.setdefault("user", None)
    error = NsiError(exc.description or exc.name)
    error.http_status = exc.code or 500
    return render_template("review/error.html", error=error, **_context()), error.http_status


@bp.route("/login", methods=["GET", "POST"])
@query(next=Text(default=""))
def login(args: dict):
    """Sign in with an API token (429 for an address with too many failed tries, see sign_in_throttle)."""
    error = None
    if request.method == "POST":
        throttle, address = current_app.extensions["nsi_sign_in_throttle"], request.remote_addr or "unknown"
        wait = throttle.wait_seconds(address)
        if wait:
            page = render_template("review/login.html", error="sign_in_throttled",
                                   error_args={"minutes": -(-wait // 60)}, next_url=args["next"] or None,
                                   pending_comment=request.form.get("pending_comment"))
            return page, 429, {"Retry-After": str(wait)}
        secret = request.form.get("token", "").strip()
        try:
            user = auth.authenticate(store(), secret) if secret else None
        except Unauthorized:
            user = None
        if user is None:
            throttle.failed(address)
            error = "login_failed"
        else:
            throttle.succeeded(address)
            lang = session.get("lang")
            target = args["next"].rstrip("?")
            target = target if target.startswith("/review") else url_for("review.home")
            comment = request.form.get("pending_comment", "").strip()
            session.clear()  # a fresh session (and CSRF token) for the signed-in user
            session["sid"] = auth.open_session(store(), secret,
                                               pending=(urlsplit(target).path, comment) if comment else None)
            session["lang"] = lang
            auth.purge_sessions(store(), **lifetimes())
            return redirect(target)
    return render_template("review/login.html", error=error, next_url=args["next"] or None,
                           pending_comment=request.form.get("pending_comment")), 401 if error else 200


@bp.post("/logout")
def logout():
    """Sign out: end the session on the server (every copy of the cookie stops working) and forget it here."""
    if session.get("sid"):
        auth.end_session(store(), session["sid"])
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
    return render_template("review/entry.html", slug=slug, version=s.resolve(slug, version).label, entry=item,
                           ancestors=ancestors_of(s, slug, version, item), children=s.children(slug, code, version))


def ancestors_of(s, slug: str, version: str, item: dict) -> list[dict]:
    """The entry's chain of first parents, root first (at most 20, stopping at a missing parent or a cycle)."""
    ancestors, seen = [], {item["code"]}
    parent = item["parents"][0] if item["parents"] else None
    while parent and parent not in seen and len(ancestors) < 20:
        seen.add(parent)
        try:
            p = s.lookup(slug, parent, version)
        except NotFound:
            break
        ancestors.insert(0, p)
        parent = p["parents"][0] if p["parents"] else None
    return ancestors


def _facts(s, slug: str, version: str, codes) -> dict[str, dict]:
    """{code: {"entry", "path"}} for target codes a reviewer weighs: the entry (attributes) and its hierarchy."""
    out = {}
    for code in dict.fromkeys(c for c in codes if c):
        try:
            found = s.lookup(slug, code, version)
        except NotFound:
            continue
        out[code] = {"entry": found, "path": ancestors_of(s, slug, version, found)}
    return out


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


# The dashboard's status filter also offers "not-mappable": reviewers count "no target fits" apart from approvals.
# A queue is that filter plus the reviewer's own ones and a sort; it travels with every link and form of the
# review pages, so Next, Previous and a decision keep the coder in the queue they were working through.
DASHBOARD_FILTER = {**QUEUE_FILTER, "status": OneOf(QUEUE_FILTER["status"].choices + ("not-mappable",)),
                    "candidates": OneOf(("none", "some")), "decided": OneOf(("me", "others")),
                    "sort": OneOf(mapping.SORTS)}
TODO = "candidate,proposed"


def _queue_filters(args: dict, todo: bool = False) -> dict:
    """The store's queue filter for the checked queue parameters (not-mappable is approved + its flag; decided
    by me / by others is the signed-in reviewer's name). With `todo`, no status means the to-do queue
    (candidates and proposals), where the review screen's Next goes by default."""
    args = {k: args.get(k) for k in DASHBOARD_FILTER}
    decided = args.pop("decided")
    out = {**args, "q": (args["q"] or "").strip() or None, "not_mappable": None,
           "decided_by": g.user.name if decided == "me" else None,
           "decided_by_others": g.user.name if decided == "others" else None}
    if out["status"] in ("approved", "not-mappable"):
        out["not_mappable"] = out["status"] == "not-mappable"
        out["status"] = "approved"
    if todo and not out["status"] and not decided:
        out["status"] = TODO
    return out


def queue_args(args: dict) -> dict:
    """The queue parameters that are set (the default sort by code left out), as they go into a link."""
    return {k: args[k] for k in DASHBOARD_FILTER if args.get(k) not in (None, "") and (k, args[k]) != ("sort", "code")}


@bp.get("/mapsets/<slug>")
@query(**DASHBOARD_FILTER, offset=Int(0, MAX_OFFSET, default=0), page=Int(1, MAX_OFFSET, default=None))
def dashboard(slug, args: dict, error=None, status=200):
    """Progress per status and the filterable, sortable, paged queue (with `error`, a refused bulk decision)."""
    need("read_drafts")
    ms = mapping.get_map_set(store(), slug)
    offset = args.pop("offset")
    number = args.pop("page")
    if number is not None:
        offset = (number - 1) * QUEUE_PAGE
    filters = _queue_filters(args)
    page = mapping.list_mappings(store(), slug, limit=QUEUE_PAGE, offset=offset, **filters)
    total = sum(ms.counts.values())
    tiles = {**ms.counts, "approved": ms.counts["approved"] - ms.not_mappable, "not-mappable": ms.not_mappable}
    pages = max(1, -(-page["total"] // QUEUE_PAGE))
    return render_template("review/dashboard.html", ms=ms, tiles=tiles, filters=args, items=page["items"],
                           total=page["total"], offset=offset, page_size=QUEUE_PAGE, all_count=total,
                           current_page=offset // QUEUE_PAGE + 1, pages=pages, page_links=_page_links(
                               offset // QUEUE_PAGE + 1, pages),
                           versions=mapping.list_map_set_versions(store(), slug), pager_args=queue_args(args),
                           error=error, can_decide=g.user.role in auth.PERMISSIONS["review"]), status


def _page_links(current: int, pages: int) -> list[int | None]:
    """Page numbers to show: the first, the last and two either side of the current; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def _target_search(ms, q: str) -> list[dict]:
    """Target entries for the reviewer's search: code prefix, words of names, then the matcher across languages."""
    from registry.mapping.target_search import search_targets
    return search_targets(store(), ms.target_catalog, ms.target_version, q, targets=ms.match["targets"])


@bp.get("/mapsets/<slug>/m/<code>")
@query(**DASHBOARD_FILTER, search=Text(default=""))
def review_item(slug, code, args: dict, error=None, status=200, comment=None):
    """The review screen of one source entry; `comment` puts back what the reviewer typed (after a refusal).

    Previous and Next move within the queue the reviewer came from (its filter and sort ride in the URL)."""
    need("read_drafts")
    restored = False
    if comment is None and request.method == "GET":  # typed before the previous session ended?
        comment = auth.take_pending_comment(store(), session["sid"], request.path)
        restored = comment is not None
    s = store()
    ms = mapping.get_map_set(s, slug)
    item = mapping.get_mapping(s, slug, code)
    try:
        source = s.lookup(ms.source_catalog, code, ms.source_version)
    except NotFound:
        source = None
    search = args.pop("search").strip()
    where = mapping.queue_position(s, slug, code, **_queue_filters(args, todo=True))
    source_path = ancestors_of(s, ms.source_catalog, ms.source_version, source) if source else []
    targets = _facts(s, ms.target_catalog, ms.target_version, [c["code"] for c in item.candidates] + [item.target_code])
    return render_template("review/review.html", ms=ms, m=item, source=source, search=search,
                           source_path=source_path, targets=targets,
                           found=_target_search(ms, search), where=where, queue=queue_args(args), error=error,
                           comment=comment or "", restored=restored,
                           can_decide=g.user.role in auth.PERMISSIONS["review"]), status


@bp.post("/mapsets/<slug>/m/<code>")
@query(**DASHBOARD_FILTER)
def decide(slug, code, args: dict):
    """Apply the decision of the review form, then go to the next item of the reviewer's queue (or back, on an
    error). The next item is found before the decision, which may take this one out of the queue."""
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
    where = mapping.queue_position(store(), slug, code, **_queue_filters(args, todo=True))
    try:
        result = mapping.decide(store(), slug, code, decision, actor=user.name, revision=revision,
                                relationship=form.get("relationship") or None, target_code=target,
                                comment=form.get("comment", "").strip() or None)
    except NsiError as exc:  # stale revision, four-eyes rule, unknown code: show it with the current state
        return review_item(slug, code, error=exc, status=exc.http_status, comment=form.get("comment", ""))
    flash(("unchanged" if result.revision == revision else "saved", result.source_code, status_of(result)))
    queue = queue_args(args)
    if decision == "comment" or form.get("stay"):
        return redirect(url_for("review.review_item", slug=slug, code=code, **queue))
    if where["next"] is None or where["next"] == code:
        return redirect(url_for("review.dashboard", slug=slug, **queue))
    return redirect(url_for("review.review_item", slug=slug, code=where["next"], **queue))


@bp.get("/mapsets/<slug>/m/<code>/history")
def history(slug, code):
    """Every change of one mapping: who, when, what before and after, and why."""
    need("read_drafts")
    ms = mapping.get_map_set(store(), slug)
    return render_template("review/history.html", ms=ms, m=mapping.get_mapping(store(), slug, code),
                           events=mapping.mapping_history(store(), slug, code))


from registry.web import review_bulk, review_worksheet  # noqa: E402,F401  (their routes join this blueprint)
