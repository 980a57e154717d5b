"""The versioned catalog store: the Python API that the CLI and the web app call.

    store = Store.open()                       # from NSI_DATA_DIR / NSI_DATABASE_URL
    store.create_catalog(CatalogCreate(slug="icd10", title="ICD-10", kind="classification"))
    report = store.stage_draft("icd10", "2024", entries, source_name="icd10.jsonl")
    store.publish("icd10", "2024")
    store.diff("icd10", "2023", "2024")

Drafts are staged, checked and diffed before publishing; publishing is one
transaction guarded by the catalog's head sequence (design §2).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from registry import config, db
from registry.errors import ConfigError
from registry.store.changes import ChangeWatch
from registry.store.catalogs import CatalogsMixin
from registry.store.diff import DiffMixin
from registry.store.drafts import DraftsMixin
from registry.store.fhir import FhirMixin
from registry.store.reads import ReadsMixin
from registry.store.thread_reads import ThreadReads


class Store(CatalogsMixin, DraftsMixin, ReadsMixin, DiffMixin, FhirMixin):
    """One registry database plus its data directory (for derived caches)."""

    def __init__(self, engine: Engine, data_dir: Path | str):
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.changes: ChangeWatch | None = None
        self.thread_reads = ThreadReads(engine)  # the lookup's per-thread read-only connections
        self._latest_refs: dict = {}  # slug -> (change token, VersionRef of `latest`)
        self._passports: tuple | None = None  # (change token, every catalog's passport)

    def watch_changes(self) -> ChangeWatch:
        """Keep `latest` and the catalog passports in memory until the database changes (for serving processes).

        Without it (the CLI, one-off scripts) every read asks the database; see registry.store.changes.
        """
        if self.changes is None:
            self.changes = ChangeWatch(self.engine)
        return self.changes

    def change_token(self):
        """The change watch's token (None when not watching or not known: then nothing may be kept)."""
        return self.changes.token() if self.changes is not None else None

    @classmethod
    def open(cls, environ: dict | None = None, check: bool = True) -> "Store":
        """The store configured by the environment; with `check`, fails clearly if the schema is not current."""
        engine = db.make_engine(config.database_url(environ))
        store = cls(engine, config.data_dir(environ))
        if check:
            db.check_schema(engine)
        return store

    @classmethod
    def init(cls, environ: dict | None = None) -> "Store":
        """Create the data directory and the database (or upgrade it), then open it."""
        data_dir = db.make_dir(config.data_dir(environ), "the data directory (NSI_DATA_DIR)")
        engine = db.make_engine(config.database_url(environ))
        db.upgrade(engine)
        return cls(engine, data_dir)

    def cache_dir(self, *parts: str) -> Path:
        """A directory for derived caches (search and match indexes) under the data dir."""
        path = self.data_dir.joinpath("cache", *parts)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder belongs, a read-only data directory
            raise ConfigError(f"cannot create the cache folder {path}: {exc.strerror}; the data directory "
                              f"(NSI_DATA_DIR) must be writable, and everything under its cache folder can be "
                              f"deleted safely") from None
        return path


__all__ = ["Store"]
