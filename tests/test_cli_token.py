"""`nsi token create|list|revoke` through click's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cli import cli
from registry import auth
from registry.errors import Unauthorized
from registry.models import ApiToken
from registry.models.catalog import utcnow


def test_token_create_list_revoke(store, runner):
    result = runner.invoke(cli, ["token", "create", "--name", "loader", "--role", "importer"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert re.fullmatch(r"nsi_[A-Za-z0-9_-]{43}", secret)
    assert result.stderr == ("Created token loader with role importer. Keep the secret above: it is not stored and "
                             "cannot be shown again.\n")
    assert auth.authenticate(store, secret).role == "importer"

    listed = runner.invoke(cli, ["token", "list"])
    assert listed.exit_code == 0
    name, role, prefix, created, used, expiry = listed.stdout.rstrip("\n").split("\t")
    assert (name, role, prefix, used, expiry) == ("loader", "importer", secret[:12] + "...", "never used",
                                                  "never expires")
    assert created.startswith("created 20")
    assert secret not in listed.stdout

    again = runner.invoke(cli, ["token", "create", "--name", "loader", "--role", "admin"])
    assert again.exit_code == 1
    assert again.stderr == "Error: a token named 'loader' exists already (revoke it first)\n"

    revoked = runner.invoke(cli, ["token", "revoke", "loader"])
    assert (revoked.exit_code, revoked.stdout) == (0, "Revoked token loader\n")
    assert runner.invoke(cli, ["token", "list"]).stdout == (
        "No tokens yet. Create one with: nsi token create --name NAME --role importer\n")
    missing = runner.invoke(cli, ["token", "revoke", "loader"])
    assert (missing.exit_code, missing.stderr) == (1, "Error: no token named 'loader'\n")


def test_token_role_must_be_known(sqlite_store, runner):
    result = runner.invoke(cli, ["token", "create", "--name", "x", "--role", "root"])
    assert result.exit_code == 2
    assert "Invalid value for '--role': 'root' is not one of 'reader', 'importer', 'reviewer', 'admin'." \
        in result.stderr


def test_a_token_may_be_given_a_lifetime_shown_in_the_list(store, runner, monkeypatch):
    """`--expires-in 90d` stores when the token stops working; the list says `expires ...`, then `expired ...`
    once it has passed, and requests with it are refused; NSI_TOKEN_EXPIRES_IN is the default lifetime."""
    before = utcnow()
    result = runner.invoke(cli, ["token", "create", "--name", "quarterly", "--role", "reader", "--expires-in", "90d"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    expires_at = auth.authenticate(store, secret).expires_at
    assert before + timedelta(days=90) <= expires_at <= utcnow() + timedelta(days=90)
    when = expires_at.isoformat(timespec="seconds")
    assert result.stderr == (f"Created token quarterly with role reader, working until {when}. Keep the secret above: "
                             f"it is not stored and cannot be shown again.\n")
    assert runner.invoke(cli, ["token", "list"]).stdout.rstrip("\n").split("\t")[-1] == f"expires {when}"

    with store.engine.begin() as conn:
        conn.execute(ApiToken.__table__.update().values(expires_at=utcnow() - timedelta(days=1)))
    past = (utcnow() - timedelta(days=1)).isoformat(timespec="seconds")[:13]  # to the hour: the seconds moved on
    listed = runner.invoke(cli, ["token", "list"]).stdout.rstrip("\n").split("\t")[-1]
    assert listed.startswith(f"expired {past}")
    with pytest.raises(Unauthorized, match="the API token 'quarterly' expired at"):
        auth.authenticate(store, secret)

    monkeypatch.setenv("NSI_TOKEN_EXPIRES_IN", "12h")
    made = runner.invoke(cli, ["token", "create", "--name", "shift", "--role", "reader"])
    assert made.exit_code == 0, made.output
    lifetime = auth.authenticate(store, made.stdout.strip()).expires_at - utcnow()
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)
    forever = runner.invoke(cli, ["token", "create", "--name", "robot", "--role", "reader", "--expires-in", "never"])
    assert auth.authenticate(store, forever.stdout.strip()).expires_at is None


@pytest.mark.parametrize("lifetime", ["90", "0d", "-1d", "3y", "1.5d", "999999d"])
def test_a_token_lifetime_must_be_a_number_with_a_unit(sqlite_store, runner, lifetime):
    result = runner.invoke(cli, ["token", "create", "--name", "x", "--role", "reader", "--expires-in", lifetime])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: a token lifetime is a number with m, h, d or w (minutes, hours, days, weeks), "
                             f"such as 90d, or never; not {lifetime!r}\n")
    assert auth.list_tokens(sqlite_store) == []
