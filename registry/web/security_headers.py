"""Security headers on every response, the session cookie's Secure flag, and trusting a reverse proxy.

Every response says `X-Content-Type-Options: nosniff`, may not be framed
(`Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY`)
and sends no referrer to other sites. API responses (JSON, CSV, files) get
`default-src 'none'`: nothing in them may run. HTML pages may run only their own
inline scripts, marked with this request's nonce (`<script nonce="{{ csp_nonce() }}">`),
and post forms only to this site. Review pages are never stored by a cache
(`no-store`): they show what a signed-in reviewer may see.

With NSI_TRUSTED_PROXIES = n, the client address, scheme, host and prefix come
from the `X-Forwarded-*` headers the last n proxies set (werkzeug's ProxyFix),
so a request that reached the proxy over HTTPS is `https` here and the session
cookie gets the Secure flag, as it always does with NSI_HTTPS.
"""

from __future__ import annotations

import secrets

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_POLICY = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
REFERRER_POLICY = "same-origin"


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, Secure when NSI_HTTPS is set or this request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def csp_nonce() -> str:
    """This request's script nonce (a new random one per response), for the inline scripts of a page."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def add_security_headers(response):
    """Set the headers above on `response` (an after-request hook, so error pages get them too)."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = PAGE_POLICY.format(nonce=csp_nonce())
    else:
        headers["Content-Security-Policy"] = API_POLICY
    if request.blueprint == "review" or request.path == "/review" or request.path.startswith("/review/"):
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Trust NSI_TRUSTED_PROXIES proxies, make the session cookie Secure over HTTPS and add the headers."""
    proxies = int(app.config.get("NSI_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies)
    app.session_interface = SessionCookies()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(add_security_headers)
