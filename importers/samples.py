"""The bundled sample catalogs (`catalogs/samples`), loaded by `nsi demo` through the normal import pipeline.

`catalogs/samples/demo.toml` lists the imports in order; each one names a
catalog, a version label, a file (relative to the manifest) and either a
profile or a format (then `title`, `kind`, `language`, `owner`, `oid` give
the catalog's passport when it must be created). Every sample file was
written by hand for the project; none is copied from a national source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from registry import config
from registry.errors import BadRequest, Report

IMPORT_KEYS = {"catalog", "version", "file", "profile", "format", "title", "kind", "language", "owner", "oid",
               "description", "notes"}


def manifest_path() -> Path:
    """Where the demo manifest lives: `samples/demo.toml` of the shipped catalogs folder.

    The shipped one even when NSI_CATALOGS_DIR names an operator's own profiles, which add to the shipped
    ones rather than replace the samples.
    """
    return config.catalogs_dir({}) / "samples" / "demo.toml"


def read_manifest(path: Path | None = None) -> list[dict]:
    """The checked list of imports of a demo manifest, in order."""
    path = path or manifest_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadRequest(f"no demo manifest at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadRequest(f"demo manifest {path} is not valid TOML: {exc}") from None
    imports = data.get("import")
    if not isinstance(imports, list) or not imports:
        raise BadRequest(f"demo manifest {path} has no [[import]] tables")
    for i, item in enumerate(imports, 1):
        unknown = set(item) - IMPORT_KEYS
        if unknown:
            raise BadRequest(f"demo manifest {path}, import #{i}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("catalog", "version", "file"):
            if not item.get(key):
                raise BadRequest(f"demo manifest {path}, import #{i}: {key} is missing")
        if not item.get("profile") and not item.get("format"):
            raise BadRequest(f"demo manifest {path}, import #{i}: give a profile or a format")
        item["path"] = path.parent / item["file"]
    return imports


def load_demo(store, progress: Callable[[int], None] | None = None, manifest: Path | None = None) -> list[Report]:
    """Import and publish every sample of the demo manifest; versions already present are skipped.

    Returns one Report per manifest entry, in order (status `published`, or
    `unchanged` for a version that was already there), so `nsi demo` can be
    run again on the same data directory.
    """
    from importers.pipeline import run_import
    from registry.models import CatalogCreate
    reports = []
    for item in read_manifest(manifest):
        slug, label = item["catalog"], item["version"]
        if store.has_catalog(slug):
            if any(v.label == label for v in store.list_versions(slug)):
                reports.append(Report(catalog=slug, version=label, source=item["file"], status="unchanged",
                                      message=f"{slug} {label} is already loaded"))
                continue
        elif item.get("title"):
            store.create_catalog(CatalogCreate(slug=slug, title=item["title"], kind=item.get("kind", "other"),
                                               language=item.get("language", "ru"), owner=item.get("owner"),
                                               oid=item.get("oid"), description=item.get("description")))
        reports.append(run_import(store, item["path"], catalog=slug, version=label, format=item.get("format"),
                                  profile=item.get("profile"), publish=True, release_notes=item.get("notes"),
                                  created_by="demo", progress=progress))
    return reports
