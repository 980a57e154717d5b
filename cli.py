"""Run `nsi` from a checkout without installing it: `python cli.py ARGS`.

The commands live in the package (`registry/cli/`, one module per command group); the console
script and the wheel use `registry.cli:main`. `from cli import cli` keeps working for tests and scripts.
"""

from registry.cli import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":
    main()
