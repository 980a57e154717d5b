"""`python -m registry.cli ARGS` runs `nsi ARGS`."""

from registry.cli import main

main()
