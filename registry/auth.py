"""API tokens: create, list, revoke and check them, and decide what each role may do (design §7).

Tokens are random secrets shown once; the database keeps only their sha256.
This module knows nothing about HTTP: the web layer reads the `Authorization:
Bearer` header and calls `authenticate` and `require`. Review-page sign-ins are
server-side sessions (`open_session`, `session_user`, `end_session`): the
browser holds a random id, the database its hash, so a session ends for every
copy of its cookie when the reviewer signs out, the token is revoked, or it expires.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from registry import db
from registry.errors import AlreadyExists, BadRequest, Forbidden, NotFound, Unauthorized
from registry.models.auth import ROLES, ApiToken, ReviewSession, TokenPublic
from registry.models.catalog import utcnow

TOKEN_PREFIX = "nsi_"

# What each action needs. `admin` may do everything.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "read": ("reader", "importer", "reviewer", "admin"),
    "read_drafts": ("importer", "reviewer", "admin"),
    "create_catalog": ("importer", "admin"),
    "import": ("importer", "admin"),
    "publish": ("importer", "admin"),
    "review": ("reviewer", "admin"),
}


def hash_secret(secret: str) -> str:
    """The stored form of a token secret (sha256 hex; secrets are random, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


LIFETIME_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_lifetime(text: str | None) -> timedelta | None:
    """A token lifetime as `nsi token create --expires-in` and NSI_TOKEN_EXPIRES_IN write it: `90d`, `12h`,
    `30m`, `8w`; None for `never` or nothing. BadRequest for anything else, naming what is accepted."""
    text = (text or "").strip().lower()
    if text in ("", "never"):
        return None
    found = re.fullmatch(r"([1-9][0-9]{0,4})\s*([mhdw])", text)
    if not found:
        raise BadRequest(f"a token lifetime is a number with m, h, d or w (minutes, hours, days, weeks), such as "
                         f"90d, or never; not {text!r}")
    return timedelta(**{LIFETIME_UNITS[found[2]]: int(found[1])})


def create_token(store, name: str, role: str, expires_in: timedelta | None = None) -> tuple[TokenPublic, str]:
    """Create a token for `name` with `role`, working for `expires_in` from now (for ever with None);
    return its public record and the secret (shown only now)."""
    name = (name or "").strip()
    if not name:
        raise BadRequest("a token needs a name")
    if role not in ROLES:
        raise BadRequest(f"role {role!r} is not one of {', '.join(ROLES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    table = ApiToken.__table__
    now = utcnow()
    expires_at = now + expires_in if expires_in is not None else None
    with db.write_transaction(store.engine) as conn:
        if conn.execute(sa.select(table.c.id).where(table.c.name == name)).first():
            raise AlreadyExists(f"a token named {name!r} exists already (revoke it first)")
        conn.execute(table.insert().values(name=name, token_hash=hash_secret(secret), prefix=secret[:12], role=role,
                                           created_at=now, expires_at=expires_at))
    return TokenPublic(name=name, prefix=secret[:12], role=role, created_at=now, expires_at=expires_at), secret


def list_tokens(store) -> list[TokenPublic]:
    """Every token (revoked ones too, marked so), by name; never the secrets."""
    with Session(store.engine) as session:
        return [TokenPublic.model_validate(t) for t in session.exec(select(ApiToken).order_by(ApiToken.name))]


def revoke_token(store, name: str) -> None:
    """Delete the token `name`, so its secret, and every review session opened with it, stop working at once."""
    table, sessions = ApiToken.__table__, ReviewSession.__table__
    with db.write_transaction(store.engine) as conn:
        conn.execute(sessions.delete().where(sessions.c.token_id.in_(
            sa.select(table.c.id).where(table.c.name == name))))
        if conn.execute(table.delete().where(table.c.name == name)).rowcount != 1:
            raise NotFound(f"no token named {name!r}")


def authenticate(store, secret: str | None) -> TokenPublic | None:
    """The token whose secret this is, or None without a secret; Unauthorized for a wrong one."""
    if not secret:
        return None
    table = ApiToken.__table__
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.token_hash == hash_secret(secret))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the API token is not valid (revoked or mistyped)")
    _check_not_expired(row)
    return TokenPublic(name=row.name, prefix=row.prefix, role=row.role, created_at=row.created_at,
                       last_used_at=row.last_used_at, expires_at=row.expires_at)


def _check_not_expired(row) -> None:
    """Unauthorized, saying when, for a token row past its `expires_at`."""
    if row.expires_at is not None and _aware(row.expires_at) <= utcnow():
        expired = _aware(row.expires_at).isoformat(timespec="seconds")
        raise Unauthorized(f"the API token {row.name!r} expired at {expired}; ask an administrator for a new one "
                           f"(nsi token create)", {"expired_at": expired})


def open_session(store, secret: str, *, pending: tuple[str, str] | None = None) -> str:
    """Sign in to the review pages with a token secret: a new server-side session; return its random id.

    The id goes into the browser's cookie; the database keeps only its sha256, the
    token it was opened with and its times. `pending` is (page path, comment): a
    comment typed before the previous session ended, kept for that page's form.
    Unauthorized for a wrong or revoked secret.
    """
    token = authenticate(store, secret)
    if token is None:
        raise Unauthorized("sign in with an API token")
    session_id = secrets.token_urlsafe(32)
    tokens, sessions = ApiToken.__table__, ReviewSession.__table__
    now = utcnow()
    with db.write_transaction(store.engine) as conn:
        token_id = conn.execute(sa.select(tokens.c.id).where(tokens.c.token_hash == hash_secret(secret))).scalar()
        conn.execute(sessions.insert().values(
            id_hash=hash_secret(session_id), token_id=token_id, created_at=now, last_seen_at=now,
            pending_for=pending[0] if pending else None, pending_comment=pending[1] if pending else None))
    return session_id


def session_user(store, session_id: str | None, *, idle_seconds: int, max_seconds: int) -> TokenPublic | None:
    """The token behind a review session, read afresh; None without a session id.

    Unauthorized when the session was ended (signed out, its token revoked) or
    has expired: unused for `idle_seconds`, opened more than `max_seconds`
    ago, or its token has expired; an expired session is deleted. Each use
    moves its idle clock on (written at most once a minute, so page views rarely write).
    """
    if not session_id:
        return None
    tokens, sessions = ApiToken.__table__, ReviewSession.__table__
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(sessions.c.id.label("session_row"), sessions.c.created_at.label("opened_at"),
                                     sessions.c.last_seen_at, tokens.c.name, tokens.c.prefix, tokens.c.role,
                                     tokens.c.created_at, tokens.c.last_used_at, tokens.c.revoked_at,
                                     tokens.c.expires_at)
                           .join(tokens, tokens.c.id == sessions.c.token_id)
                           .where(sessions.c.id_hash == hash_secret(session_id))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("this session has ended (signed out, or its token was revoked); sign in again")
    now = utcnow()
    idle = (now - _aware(row.last_seen_at)).total_seconds()
    token_expired = row.expires_at is not None and _aware(row.expires_at) <= now
    if idle > idle_seconds or (now - _aware(row.opened_at)).total_seconds() > max_seconds or token_expired:
        end_session(store, session_id)
        raise Unauthorized("this session has expired; sign in again")
    if idle > min(60, idle_seconds / 10):
        with db.write_transaction(store.engine) as conn:
            conn.execute(sessions.update().where(sessions.c.id == row.session_row).values(last_seen_at=now))
    return TokenPublic(name=row.name, prefix=row.prefix, role=row.role, created_at=row.created_at,
                       last_used_at=row.last_used_at, expires_at=row.expires_at)


def take_pending_comment(store, session_id: str, page: str) -> str | None:
    """The comment kept for `page` when this session was opened, handed over once (then forgotten)."""
    sessions = ReviewSession.__table__
    where = (sessions.c.id_hash == hash_secret(session_id), sessions.c.pending_for == page)
    with store.engine.connect() as conn:  # nearly always nothing: page views need not take the write lock
        if conn.execute(sa.select(sessions.c.id).where(*where)).first() is None:
            return None
    with db.write_transaction(store.engine) as conn:
        comment = conn.execute(sa.select(sessions.c.pending_comment).where(*where)).scalar()
        conn.execute(sessions.update().where(*where).values(pending_for=None, pending_comment=None))
    return comment


def end_session(store, session_id: str) -> None:
    """End a review session now (sign-out): its id stops working, wherever the cookie was copied to."""
    sessions = ReviewSession.__table__
    with db.write_transaction(store.engine) as conn:
        conn.execute(sessions.delete().where(sessions.c.id_hash == hash_secret(session_id)))


def purge_sessions(store, *, idle_seconds: int, max_seconds: int) -> int:
    """Delete every expired review session (they no longer work anyway); return how many."""
    sessions = ReviewSession.__table__
    now = utcnow()
    with db.write_transaction(store.engine) as conn:
        return conn.execute(sessions.delete().where(sa.or_(
            sessions.c.last_seen_at < now - timedelta(seconds=idle_seconds),
            sessions.c.created_at < now - timedelta(seconds=max_seconds)))).rowcount


def _aware(value: datetime) -> datetime:
    """A stored time as UTC (SQLite gives it back without its time zone)."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def require(token: TokenPublic | None, action: str) -> TokenPublic:
    """Check that `token` may do `action`: Unauthorized without a token, Forbidden for the wrong role."""
    if token is None:
        raise Unauthorized(f"this operation needs an API token (Authorization: Bearer ...) "
                           f"with role {' or '.join(PERMISSIONS[action])}")
    if token.role not in PERMISSIONS[action]:
        raise Forbidden(f"token {token.name!r} has role {token.role}; this operation needs "
                        f"{' or '.join(PERMISSIONS[action])}")
    return token


def mark_used(store, name: str) -> None:
    """Record when a token was last used (for `nsi token list`)."""
    table = ApiToken.__table__
    with db.write_transaction(store.engine) as conn:
        conn.execute(table.update().where(table.c.name == name).values(last_used_at=utcnow()))
