"""API tokens (design §7): stored as a hash, each with one role.

The secret is shown once when the token is created; only its sha256 is kept,
so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models.catalog import UtcDateTime, utcnow

ROLES = ("reader", "importer", "reviewer", "admin")


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True}, description="Who or what uses it")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, description="sha256 of the secret")
    prefix: str = Field(max_length=16, description="First characters of the secret, to recognise it in lists")
    role: str = Field(max_length=20, description="reader, importer, reviewer or admin")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    last_used_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime())
    revoked_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime())
    expires_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime(),
                                           description="When the token stops working; never when empty")


class TokenPublic(SQLModel):
    """A token as `nsi token list` shows it: never the secret or its hash."""

    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None


class ReviewSession(SQLModel, table=True):
    """A signed-in review-page session: the cookie holds a random id, the database only its sha256.

    Deleting the row ends the session at once (sign-out, revoking its token);
    it also ends after NSI_SESSION_IDLE_MINUTES without use and NSI_SESSION_MAX_HOURS after sign-in.
    """

    __tablename__ = "review_session"
    id: Optional[int] = Field(default=None, primary_key=True)
    id_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, description="sha256 of the session id")
    token_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("api_token.id", ondelete="CASCADE"),
                                              nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    pending_for: Optional[str] = Field(default=None, max_length=500,
                                       description="The page whose form a kept comment belongs to")
    pending_comment: Optional[str] = Field(default=None, sa_type=sa.Text,
                                           description="A comment typed before the previous session ended")


class SignInFailure(SQLModel, table=True):
    """One failed review-page sign-in: the client address and when (see registry.sign_in_throttle).

    One row per failure (an insert, never a read-modify-write), so failures from every worker and instance
    count; rows older than NSI_SIGN_IN_WINDOW_MINUTES are pruned as new failures come in.
    """

    __tablename__ = "sign_in_failure"
    __table_args__ = (sa.Index("ix_sign_in_failure_address_failed_at", "address", "failed_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    address: str = Field(max_length=100, description="The client address the failure came from")
    failed_at: datetime = Field(sa_type=UtcDateTime(), index=True)
