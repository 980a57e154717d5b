"""Every setting of the registry, declared once with its default and help text.

Settings come from environment variables (and, for the web app, from the
`config` mapping given to `create_app`). `docs/configuration.md` documents each
one; a test fails when a setting here is missing there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Setting:
    """One setting: environment variable name, default, type converter and help."""

    name: str
    default: Any
    help: str
    convert: Callable[[str], Any] = str


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("NSI_DATA_DIR", "./nsi-data",
            "Directory for the embedded SQLite database and derived caches (search and match indexes, uploads)."),
    Setting("NSI_DATABASE_URL", None,
            "SQLAlchemy database URL. Default: SQLite file `nsi.db` in NSI_DATA_DIR. "
            "Production: `postgresql+psycopg://user@host:5432/db`."),
    Setting("NSI_CATALOGS_DIR", None,
            "A directory of your own import profiles (`*.toml`), added to the shipped ones (the `catalogs/` folder of "
            "the project, in an installed wheel the package data `registry/catalogs/`); a profile there with a "
            "shipped profile's name replaces that one."),
    Setting("NSI_READS_NEED_TOKEN", False,
            "When true, reads of the API also need a token (any role, including `reader`).", _bool),
    Setting("NSI_SECRET_KEY", None,
            "Secret for signing review-page session cookies. Default: a random key kept in NSI_DATA_DIR/secret_key."),
    Setting("NSI_HTTPS", False,
            "When true, the web app is served over HTTPS (directly or behind a TLS-terminating proxy): "
            "review-page session cookies get the Secure flag, so browsers never send them over plain HTTP.", _bool),
    Setting("NSI_TRUSTED_PROXIES", 0,
            "How many reverse proxies in front of the registry to believe: the client address, scheme, host and "
            "prefix are then taken from the X-Forwarded-For/-Proto/-Host/-Prefix headers they set, so a request "
            "that reached a TLS-terminating proxy over HTTPS counts as HTTPS (Secure session cookie). "
            "0 (default): no forwarded header is believed; never set it higher than the proxies really there.", int),
    Setting("NSI_TOKEN_EXPIRES_IN", None,
            "How long a new API token works when `nsi token create` is given no `--expires-in`: `90d`, `12h`, "
            "`30m`, `8w` or `never`. Default: never. A request with an expired token gets 401 saying when it "
            "expired, and the review-page sessions opened with it end."),
    Setting("NSI_SIGN_IN_FAILURES", 10,
            "Failed review-page sign-ins an address may make within NSI_SIGN_IN_WINDOW_MINUTES; further tries get 429 "
            "(with Retry-After) until the oldest failure leaves the window. Counted in the database, so every worker "
            "and instance shares one count; 0 turns the limit off.", int),
    Setting("NSI_SIGN_IN_WINDOW_MINUTES", 15,
            "The window, in minutes, in which NSI_SIGN_IN_FAILURES failed sign-ins are counted.", int),
    Setting("NSI_SESSION_IDLE_MINUTES", 240,
            "A review-page session not used for this many minutes ends; the reviewer signs in again "
            "(a comment being typed is kept for its form).", int),
    Setting("NSI_SESSION_MAX_HOURS", 12,
            "A review-page session ends this many hours after sign-in, however busy it is.", int),
    Setting("NSI_JOB_STALE_SECONDS", 300,
            "An import job whose worker has not reported for this many seconds is taken as cut off (its server "
            "died): it is queued again when its upload is still on this host, failed otherwise; jobs of live "
            "servers, on any node, are left alone.", int),
    Setting("NSI_LOG_FORMAT", "text",
            "Format of the server's log lines on stderr: `text` (for a terminal) or `json` (one object a line: time, "
            "level, logger, message, request_id and, for the access log, method, path, status, bytes, duration_ms)."),
    Setting("NSI_ACCESS_LOG", False,
            "When true, the server logs every request once (method, path, status, size, duration, request id); "
            "`nsi serve --access-log` turns it on.", _bool),
    Setting("NSI_JOB_POLL_SECONDS", 5,
            "How often each `nsi serve` worker process looks for queued import jobs (re-queued after a crash, or left "
            "by a stopped instance) and for cut-off ones, and for versions not yet in the search index (published by "
            "the CLI or another node), in seconds; 0 turns the poller off (search indexes are then built at start-up "
            "and after publishes through the API only).", float),
    Setting("NSI_MAX_UPLOAD_MB", 512,
            "Largest accepted import upload through the API, in MiB.", int),
    Setting("NSI_XLSX_MAX_UNCOMPRESSED_MB", 2048,
            "Largest total decompressed size of an xlsx file, in MiB; larger files are refused as possible zip bombs.",
            int),
    Setting("NSI_CACHE_MAX_AGE", 86400,
            "Cache-Control max-age, in seconds, for responses about a published version addressed by its label.",
            int),
    Setting("NSI_LATEST_MAX_AGE", 60,
            "Cache-Control max-age, in seconds, for responses reached through the `latest` alias.", int),
    Setting("NSI_RESPONSE_CACHE_MB", 64,
            "Memory, in MiB per server worker, for keeping rendered API responses about published versions "
            "(they never change); 0 turns the cache off.", int),
    Setting("NSI_LOOKUP_FILES", True,
            "Answer lookups of each catalog's latest version from a memory-mapped file of this instance "
            "(`NSI_DATA_DIR/cache/lookup`, about 0.5 KB per entry, written after each publish by the search builder "
            "process, removed when the version is no longer latest): no SQL per lookup. Older versions and drafts, "
            "and a version whose file is not written yet, are answered by SQL, with the same bytes. "
            "False: SQL only, and no files written.", _bool),
    Setting("NSI_FHIR_BASE_URL", None,
            "Canonical base of the FHIR wing's URLs: a catalog is the CodeSystem `{base}/CodeSystem/{slug}`. "
            "Default: this server's own `/fhir` address. Set it once and keep it: clients store these URLs."),
    Setting("NSI_TEST_DATABASE_URL", None,
            "Tests only: a PostgreSQL URL; store tests then run on PostgreSQL as well as SQLite, "
            "each in its own schema. Without it they are skipped with a reason."),
    Setting("NSI_TEST_REQUIRE_POSTGRES", False,
            "Tests only: when true, PostgreSQL tests fail instead of skipping if PostgreSQL is not reachable "
            "(set by CI).", _bool),
    Setting("NSI_BROWSER_REQUIRED", False,
            "Tests only: when true, the browser tests fail instead of skipping if Debian's chromium is not "
            "installed (set by CI).", _bool),
    Setting("NSI_NGINX_REQUIRED", False,
            "Tests only: when true, the slow-client test fails instead of skipping if Debian's nginx is not "
            "installed (set by CI).", _bool),
    Setting("NSI_FUZZ_EXAMPLES", 120,
            "Tests only: how many generated CSV files the columnar import's differential test tries (more for a "
            "longer hunt, e.g. 5000).", int),
    Setting("NSI_UPDATE_DOC_SCREENSHOTS", False,
            "Tests only: when true, the browser tests also write the review guide's screenshots into docs/img/.",
            _bool),
    Setting("NSI_TRACE_DIR", None,
            "Benchmarks only: set by `bench/load.py --trace` for the servers it starts; each gunicorn worker then "
            "appends every request's timed stages to a file of its own in this folder (bench/serve_trace.py)."),
]}


def get(name: str, environ: dict | None = None) -> Any:
    """The value of a declared setting, from the environment or its default."""
    setting = SETTINGS[name]
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None or raw == "":
        return setting.default
    return setting.convert(raw)


def data_dir(environ: dict | None = None) -> Path:
    """The data directory as an absolute path (not created here)."""
    return Path(get("NSI_DATA_DIR", environ)).expanduser().resolve()


def database_url(environ: dict | None = None) -> str:
    """The database URL: NSI_DATABASE_URL, or SQLite in the data directory."""
    url = get("NSI_DATABASE_URL", environ)
    if url:
        return url
    return f"sqlite:///{data_dir(environ) / 'nsi.db'}"


def catalogs_dir(environ: dict | None = None) -> Path:
    """Where import profiles (`*.toml`) and the bundled samples live.

    NSI_CATALOGS_DIR when set; else the copy an installed wheel ships as package data
    (`registry/catalogs/`); else the `catalogs/` folder of a checkout (also used by an editable install).
    """
    configured = get("NSI_CATALOGS_DIR", environ)
    if configured:
        return Path(configured).expanduser().resolve()
    package = Path(__file__).resolve().parent
    shipped = package / "catalogs"
    return shipped if shipped.is_dir() else package.parent / "catalogs"
