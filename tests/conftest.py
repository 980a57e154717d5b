"""Shared fixtures: a fresh store on SQLite and on PostgreSQL, a CLI runner, real-data paths.

PostgreSQL runs when NSI_TEST_DATABASE_URL is set; each test gets its own
schema, dropped afterwards. Without the URL those tests skip with the reason,
unless NSI_TEST_REQUIRE_POSTGRES is set (as on CI), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry import config

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    """Skip `realdata` tests when ../shared/data is absent."""
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real data not found at {SHARED_DATA}")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


def postgres_url() -> str:
    """The PostgreSQL URL for tests, or skip (fail on CI) with a clear reason."""
    url = os.environ.get("NSI_TEST_DATABASE_URL")
    required = config.get("NSI_TEST_REQUIRE_POSTGRES")
    if not url:
        if required:
            pytest.fail("NSI_TEST_REQUIRE_POSTGRES is set but NSI_TEST_DATABASE_URL is not")
        pytest.skip("PostgreSQL tests need NSI_TEST_DATABASE_URL, e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return url


class PgSchema:
    """A throw-away PostgreSQL schema for one test."""

    def __init__(self, url: str):
        import sqlalchemy as sa
        self.url = url
        self.name = "t_" + uuid.uuid4().hex[:12]
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        except Exception as exc:  # unreachable server
            if config.get("NSI_TEST_REQUIRE_POSTGRES"):
                pytest.fail(f"PostgreSQL at {url} is not reachable: {exc}")
            pytest.skip(f"PostgreSQL at {url} is not reachable: {exc}")

    def drop(self):
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        self.admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_env(request, tmp_path, monkeypatch):
    """Environment for a fresh, initialised database of each kind: sets NSI_DATA_DIR and NSI_DATABASE_URL.

    Yields a dict of the variables, so subprocesses can be given the same database.
    """
    data_dir = tmp_path / "data"
    env = {"NSI_DATA_DIR": str(data_dir)}
    schema = None
    if request.param == "sqlite":
        env["NSI_DATABASE_URL"] = f"sqlite:///{data_dir / 'nsi.db'}"
    else:
        schema = PgSchema(postgres_url())
        sep = "&" if "?" in schema.url else "?"
        env["NSI_DATABASE_URL"] = f"{schema.url}{sep}options=-csearch_path%3D{schema.name}"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from registry.store import Store
    store = Store.init()
    store.engine.dispose()
    yield env
    if schema:
        schema.drop()


@pytest.fixture
def store(db_env):
    """A Store on a fresh database, SQLite and PostgreSQL in turn."""
    from registry.store import Store
    s = Store.open()
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    """A Store on a fresh SQLite database only (for tests that are not about the database)."""
    from registry.store import Store
    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NSI_DATABASE_URL", raising=False)
    s = Store.init()
    yield s
    s.engine.dispose()


@pytest.fixture
def runner():
    """A click CliRunner that keeps stderr apart from stdout."""
    return CliRunner()


@pytest.fixture
def shared_data():
    """Path to ../shared/data (real public reference data); tests using it are marked realdata."""
    return SHARED_DATA


@pytest.fixture
def app(store):
    """The web app (Flask tutorial style) on the `store` fixture's database, SQLite and PostgreSQL in turn."""
    from registry import jobs
    from registry.web import create_app
    from registry.search import index as search_index
    application = create_app({"TESTING": True, "NSI_STORE": store})
    yield application
    jobs.wait_for_jobs()
    search_index.indexer(store).wait_idle()


@pytest.fixture
def client(app):
    """A test client of `app`."""
    return app.test_client()
