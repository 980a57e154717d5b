"""Ctrl-C during a command that writes: say exactly what state the store was left in, then exit 130.

Every write is one transaction, so an interrupt leaves either nothing or a whole step (a staged
draft, a published version). Which one depends on where the signal landed, even inside a commit,
so the state is read back afresh rather than guessed from where the exception came from.
"""

from __future__ import annotations

import signal
from typing import NoReturn

import click

from registry.cli.common import EXIT_INTERRUPTED, open_store


def caused_by_interrupt(exc: BaseException) -> bool:
    """True for a KeyboardInterrupt, or an error raised while one was being handled (a cleanup that failed)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def version_state(slug: str, label: str) -> str:
    """One sentence on what the store holds for version `label` of catalog `slug`, with the command to go on."""
    from registry.errors import NotFound
    store = open_store()
    try:
        if not store.has_catalog(slug):
            return f"nothing was stored (there is no catalog {slug})"
        try:
            version = store.get_version(slug, label)
        except NotFound:
            return f"nothing was stored (catalog {slug} has no version {label})"
    finally:
        store.engine.dispose()
    if version.status == "draft":
        return (f"draft {label} of {slug} is staged but not published: publish it with "
                f"`nsi publish {slug} {label}` or discard it with `nsi discard {slug} {label}`")
    return f"version {label} of {slug} is {version.status} (sequence {version.seq})"


def report_interrupted(slug: str, label: str, store=None) -> NoReturn:
    """Print `Interrupted: <state of slug label>` on stderr and exit 130; a second Ctrl-C is ignored meanwhile."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if store is not None:
        try:
            store.engine.dispose()  # return the interrupted connection (SQLite: release its lock) before reading
        except Exception:  # an interrupted connection may be half closed; the fresh read below is what counts
            pass
    click.echo("", err=True)
    try:
        state = version_state(slug, label)
    except Exception as exc:
        state = f"the state of {slug} {label} could not be read ({exc}); see `nsi versions {slug}`"
    click.echo(f"Interrupted: {state}.", err=True)
    raise click.exceptions.Exit(EXIT_INTERRUPTED)
