"""The `nsi` command line: a thin layer over the registry's Python API, one module per command group.

Every command parses its options, calls `registry` or `importers`, and prints the result. User
mistakes end with one `Error: ...` line on stderr and exit 1 (click's own usage errors: exit 2),
never a traceback; Ctrl-C ends with exit 130. The console script `nsi` runs `main`; the `cli.py` at
the top of a checkout is a thin entry to the same group.
"""

from __future__ import annotations

import click

from registry.cli import admin, catalogs, imports, mapping, operations, serving, versions
from registry.cli.common import NsiGroup


@click.group(cls=NsiGroup)
@click.version_option(package_name="nsi-registry")
def cli():
    """NSI Registry: versioned reference catalogs, code mapping and publishing."""


for _module in (admin, catalogs, imports, versions, serving, mapping, operations):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main():
    """Entry point of the `nsi` console script."""
    cli(prog_name="nsi")
