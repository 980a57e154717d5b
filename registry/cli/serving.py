"""`nsi serve` and `nsi demo`: the web app (REST API, review pages, landing page) under gunicorn."""

from __future__ import annotations

import click


def _workers(n: int) -> str:
    return f"{n} worker" if n == 1 else f"{n} workers"


def _serve_options(f):
    for option in reversed([
            click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on"),
            click.option("--port", default=8000, show_default=True, type=int, help="TCP port"),
            click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                         help="Gunicorn worker processes (they share the database)"),
            click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
                         help="Threads serving requests in each worker"),
            click.option("--access-log", is_flag=True, help="Log every request to stderr")]):
        f = option(f)
    return f


def _check_port(host: str, port: int) -> None:
    """A clear error, before anything is built or recovered, when the address is taken or cannot be served."""
    from registry.web.server import PortInUse, UnusableAddress, check_port_free
    try:
        check_port_free(host, port)
    except PortInUse as exc:
        raise click.ClickException(f"{exc.strerror}; stop it or choose another --port") from None
    except UnusableAddress as exc:
        raise click.ClickException(exc.strerror) from None


def _url_host(host: str, port: int) -> str:
    """`host:port` as a URL writes it (an IPv6 address in brackets)."""
    from registry.web.server import listen_address
    return listen_address(host, port)[2]


def _configure_logs():
    """The registry's log format (NSI_LOG_FORMAT) from the start, so start-up messages use it too."""
    from registry import config, logs
    logs.configure(config.get("NSI_LOG_FORMAT"))


@click.command()
@_serve_options
def serve(host, port, workers, threads, access_log):
    """Serve the REST API with gunicorn (production mode)."""
    from registry.web import create_app
    from registry.web.server import serve as run
    _check_port(host, port)
    _configure_logs()  # before the app is built: its start-up recovery logs
    app = create_app()
    click.echo(f"Serving the NSI Registry on http://{_url_host(host, port)}/ (API at /api/v1, {_workers(workers)})",
               err=True)
    run(app, host=host, port=port, workers=workers, threads=threads, access_log=access_log)


@click.command()
@_serve_options
def demo(host, port, workers, threads, access_log):
    """Load the bundled sample catalogs into the data directory (once) and serve them."""
    from registry import config
    from registry.demo import DEMO_MAP_SET, DEMO_REVIEWER, curl_examples, prepare_demo, prepare_review_demo
    from registry.web import create_app
    from registry.web.server import serve as run
    _check_port(host, port)
    store, loaded = prepare_demo()
    where = store.engine.url.render_as_string(hide_password=True)
    click.echo(("Loaded the sample catalogs into " if loaded else "Using the catalogs already in ") + where
               + f" (data directory {config.data_dir()})", err=True)
    for c in store.list_catalogs():
        p = store.catalog_public(c.slug)
        click.echo(f"  {p.slug}\t{p.title}\tlatest {p.latest_version} ({p.latest_entry_count} entries)", err=True)
    reviewer_secret = prepare_review_demo(store)
    store.engine.dispose()
    _configure_logs()  # before the app is built: its start-up recovery logs
    app = create_app()
    base = f"http://{_url_host(host, port)}"
    click.echo(f"Serving on {base}/ (start page; the API is at {base}/api/v1, {_workers(workers)}). Try:", err=True)
    for line in curl_examples(base, app.extensions["nsi_store"]):
        click.echo(f"  {line}", err=True)
    click.echo(f"Review pages: {base}/review/mapsets/{DEMO_MAP_SET}", err=True)
    if reviewer_secret:
        click.echo(f"  sign in with the reviewer token {reviewer_secret} (shown only now)", err=True)
    else:
        click.echo(f"  the token {DEMO_REVIEWER} was shown on the first run; make another with "
                   f"`nsi token create --name NAME --role reviewer`", err=True)
    run(app, host=host, port=port, workers=workers, threads=threads, access_log=access_log)


COMMANDS = [serve, demo]
