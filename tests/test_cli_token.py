"""`nsi token create|list|revoke` through click's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from cli import cli
from registry import auth


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
    name, role, prefix, created, used = listed.stdout.rstrip("\n").split("\t")
    assert (name, role, prefix, used) == ("loader", "importer", secret[:12] + "...", "never used")
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
