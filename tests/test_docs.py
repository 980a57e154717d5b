"""Documentation keeps up with the code: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import click

from cli import cli
from registry.config import SETTINGS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def command_names(group: click.Group, prefix: str = "nsi") -> list[str]:
    """Every command path under a click group, e.g. `nsi catalog create`."""
    names = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names += command_names(command, path)
        else:
            names.append(path)
    return names


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in SETTINGS if f"`{name}`" not in text]
    assert missing == [], f"settings missing from docs/configuration.md: {missing}"


def test_every_cli_command_is_documented():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [name for name in command_names(cli) if f"`{name}" not in text]
    assert missing == [], f"commands missing from docs/cli.md: {missing}"


def test_command_names_walks_nested_groups():
    names = command_names(cli)
    assert "nsi catalog create" in names and "nsi db upgrade" in names and "nsi import" in names
