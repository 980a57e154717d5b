"""What every `nsi` command shares: the error-translating group, the store, JSON output, import progress."""

from __future__ import annotations

import json
import sys
import time

import click

from registry.errors import ImportRejected, NsiError

EXIT_INTERRUPTED = 130  # the shell's convention for a process ended by SIGINT (128 + 2)


class NsiGroup(click.Group):
    """A click group that turns registry errors into one clear stderr line and exit code.

    Ctrl-C (KeyboardInterrupt) ends with one `Interrupted` line and exit 130 instead of click's bare
    "Aborted!"; commands that write (`nsi import`, `nsi publish`) catch it first and say what state
    they left.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ImportRejected as exc:
            click.echo(f"Error: {exc.message}", err=True)
            for problem in exc.problems[1:exc.max_listed]:
                click.echo(f"  {problem}", err=True)
            if exc.total > exc.max_listed:
                click.echo(f"  ... {exc.total - exc.max_listed} more", err=True)
            click.echo("Nothing was stored.", err=True)
            ctx.exit(exc.exit_code)
        except NsiError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def open_store():
    """The store from the environment (NSI_DATA_DIR / NSI_DATABASE_URL), checked to be initialised."""
    from registry.store import Store
    return Store.open()


def echo_json(data) -> None:
    """Print data as indented JSON (dates as ISO text)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class Progress:
    """Import progress on stderr: a live line on a terminal, plain lines every 50k rows otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.last_plain = 0

    def __call__(self, rows: int) -> None:
        rate = rows / max(time.perf_counter() - self.started, 1e-6)
        if self.tty:
            click.echo(f"\r{self.label}: {rows:,} rows, {rate:,.0f} rows/s", err=True, nl=False)
        elif rows - self.last_plain >= 50000:
            self.last_plain = rows
            click.echo(f"{self.label}: {rows:,} rows, {rate:,.0f} rows/s", err=True)

    def done(self) -> None:
        if self.tty:
            click.echo("", err=True)


class CountProgress:
    """Progress of a job of known size on stderr: `done/total things, rate/s, ETA` on a terminal (one live
    line, at most ten updates a second); nothing when stderr is not a terminal."""

    def __init__(self, label: str, things: str):
        self.label, self.things = label, things
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.shown = 0.0
        self.any = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if not self.tty or (now - self.shown < 0.1 and done < total):
            return
        self.shown, self.any = now, True
        rate = done / max(now - self.started, 1e-6)
        eta = (total - done) / rate if rate else 0
        click.echo(f"\r{self.label}: {done:,}/{total:,} {self.things}, {rate:,.0f}/s, ETA {eta:,.0f} s ",
                   err=True, nl=False)

    def done(self) -> None:
        if self.any:
            click.echo("", err=True)
