"""API tokens: create, list, revoke and check them, and decide what each role may do (design §7).

Tokens are random secrets shown once; the database keeps only their sha256.
This module knows nothing about HTTP: the web layer reads the `Authorization:
Bearer` header and calls `authenticate` and `require`.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlmodel import Session, select

from registry import db
from registry.errors import AlreadyExists, BadRequest, Forbidden, NotFound, Unauthorized
from registry.models.auth import ROLES, ApiToken, TokenPublic
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


def create_token(store, name: str, role: str) -> tuple[TokenPublic, str]:
    """Create a token for `name` with `role`; return its public record and the secret (shown only now)."""
    name = (name or "").strip()
    if not name:
        raise BadRequest("a token needs a name")
    if role not in ROLES:
        raise BadRequest(f"role {role!r} is not one of {', '.join(ROLES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    table = ApiToken.__table__
    now = utcnow()
    with db.write_transaction(store.engine) as conn:
        if conn.execute(sa.select(table.c.id).where(table.c.name == name)).first():
            raise AlreadyExists(f"a token named {name!r} exists already (revoke it first)")
        conn.execute(table.insert().values(name=name, token_hash=hash_secret(secret), prefix=secret[:12], role=role,
                                           created_at=now))
    return TokenPublic(name=name, prefix=secret[:12], role=role, created_at=now), secret


def list_tokens(store) -> list[TokenPublic]:
    """Every token (revoked ones too, marked so), by name; never the secrets."""
    with Session(store.engine) as session:
        return [TokenPublic.model_validate(t) for t in session.exec(select(ApiToken).order_by(ApiToken.name))]


def revoke_token(store, name: str) -> None:
    """Delete the token `name`, so its secret stops working at once."""
    table = ApiToken.__table__
    with db.write_transaction(store.engine) as conn:
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
    return TokenPublic(name=row.name, prefix=row.prefix, role=row.role, created_at=row.created_at,
                       last_used_at=row.last_used_at)


def session_proof(store, secret: str) -> dict:
    """What a web session keeps instead of a token's secret: the token's name and a check value.

    The check is derived from the stored hash (never the secret), so a leaked
    session cookie does not reveal a token that works on the API, and a token
    revoked, or re-created under the same name, no longer matches it.
    Unauthorized for a wrong secret.
    """
    token = authenticate(store, secret)
    if token is None:
        raise Unauthorized("sign in with an API token")
    return {"name": token.name, "check": _session_check(hash_secret(secret))}


def authenticate_session(store, proof: dict | None) -> TokenPublic | None:
    """The token a session's `session_proof` stands for, read afresh; Unauthorized once it is revoked or replaced."""
    if not proof:
        return None
    table = ApiToken.__table__
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.name == proof.get("name"))).first()
    if row is None or row.revoked_at is not None or not secrets.compare_digest(
            _session_check(row.token_hash), str(proof.get("check", ""))):
        raise Unauthorized("the API token of this session was revoked; sign in again")
    return TokenPublic(name=row.name, prefix=row.prefix, role=row.role, created_at=row.created_at,
                       last_used_at=row.last_used_at)


def _session_check(token_hash: str) -> str:
    return hashlib.sha256(("nsi-session|" + token_hash).encode("utf-8")).hexdigest()


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
