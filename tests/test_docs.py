"""Documentation keeps up with the code: every setting and every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click

from cli import cli
from registry.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ENV_READ = re.compile(r"""(?:environ(?:\.get)?\(|environ\[|getenv\()\s*["'](NSI_[A-Z0-9_]+)|export (NSI_[A-Z0-9_]+)""")


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


def test_every_environment_variable_read_is_a_declared_setting():
    # A variable read straight from the environment (or exported by CI) bypasses SETTINGS, and so the docs test above.
    files = [ROOT / "cli.py", ROOT / ".ci" / "run"]
    for folder in ("registry", "importers", "tests", "bench"):
        files += sorted((ROOT / folder).rglob("*.py"))
    read = {name for f in files for m in ENV_READ.finditer(f.read_text(encoding="utf-8")) for name in m.groups() if name}
    assert "NSI_TEST_DATABASE_URL" in read  # the pattern does find reads
    assert sorted(read - set(SETTINGS)) == []


def test_every_cli_command_is_documented():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [name for name in command_names(cli) if f"`{name}" not in text]
    assert missing == [], f"commands missing from docs/cli.md: {missing}"


def test_command_names_walks_nested_groups():
    names = command_names(cli)
    assert "nsi catalog create" in names and "nsi db upgrade" in names and "nsi import" in names


def documented_exit_statuses() -> dict[int, str]:
    """The `## Exit status` table of docs/cli.md: status -> what the doc says is printed."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    table = text.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    return {int(cells[0]): cells[2] for cells in rows}


def test_cli_md_states_the_exit_statuses_the_cli_gives(runner, sqlite_store, monkeypatch):
    statuses = documented_exit_statuses()
    assert sorted(statuses) == [0, 1, 2, 130]
    ok = runner.invoke(cli, ["catalog", "list"])
    assert (ok.exit_code, ok.stderr) == (0, "")
    mistake = runner.invoke(cli, ["catalog", "show", "nope"])  # a user mistake: one Error line, no traceback
    assert (mistake.exit_code, mistake.stderr) == (1, "Error: no catalog 'nope'\n")
    assert "`Error: ...`" in statuses[1]
    for usage in (["catalog", "show"], ["catalog", "list", "--nope"], ["export", "x", "1", "--format", "pdf"]):
        wrong = runner.invoke(cli, usage)  # click's usage errors
        assert wrong.exit_code == 2, usage
        assert wrong.stderr.startswith("Usage: ") and "\nError: " in wrong.stderr and "Traceback" not in wrong.stderr
    assert "`Usage: ...`" in statuses[2] and "`Error: ...`" in statuses[2]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("registry.store.Store.list_catalogs", interrupted)
    stopped = runner.invoke(cli, ["catalog", "list"])
    assert (stopped.exit_code, stopped.stderr) == (130, "\nInterrupted.\n")
    assert "`Interrupted.`" in statuses[130] and "`Interrupted: ...`" in statuses[130]  # the latter: tested in
    # tests/test_cli_interrupt.py


def test_every_import_format_is_documented_and_named_by_the_cli():
    from importers.formats import FORMATS
    from registry.cli.imports import import_
    table = (DOCS / "importers.md").read_text(encoding="utf-8")
    assert [name for name in FORMATS if f"| `{name}` |" not in table] == []
    help_text = next(p.help for p in import_.params if p.name == "fmt")
    assert [name for name in FORMATS if name not in help_text.replace(",", " ").replace("(", " ").replace(")", " ").split()] == []


def _shot_names(source: str) -> tuple[set[str], set[str]]:
    """The screenshots a test module takes (`shoot(page, "NAME"...)`) and those it names as the guides' (DOC_SHOTS)."""
    import ast
    taken = set(re.findall(r'\bshoot\(page, "([^"]+\.png)"', source))
    declared = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOC_SHOTS" for t in node.targets):
            declared |= set(ast.literal_eval(node.value))
    return taken, declared


def test_every_image_of_the_guides_exists_and_is_taken_by_a_browser_test():
    taken, declared = set(), set()
    for module in (ROOT / "tests").glob("test_*.py"):
        t, d = _shot_names(module.read_text(encoding="utf-8"))
        taken |= t
        declared |= d
    assert taken and declared
    for guide, russian in (("review-guide.md", False), ("review-guide.ru.md", True)):
        images = re.findall(r"!\[[^\]]*\]\(img/([^)]+)\)", (DOCS / guide).read_text(encoding="utf-8"))
        assert images, guide
        for name in images:
            assert (DOCS / "img" / name).is_file(), f"{guide} shows img/{name}, which is not in docs/img"
            assert name in taken and name in declared, f"{guide} shows img/{name}, which no browser test takes"
            # the Russian guide shows the pages in Russian, taken with the browser asking for Russian
            assert name.endswith(".ru.png") == russian, f"{guide} shows img/{name}"
