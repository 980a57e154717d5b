"""`nsi demo`: an embedded store with the bundled sample catalogs, published and ready to serve.

The samples (catalogs/samples) are imported by `importers.samples.load_demo`,
through the same pipeline as `nsi import`. Running the demo again on the same
data directory imports only what is missing.
"""

from __future__ import annotations

from urllib.parse import quote

from registry.errors import ConfigError, NotFound
from registry.store import Store

DEMO_MAP_SET = "drugs-kz-to-atc"
DEMO_REVIEWER = "demo-reviewer"
# Product rows are matched through their INN (their trade name only when the INN finds nothing), and their
# dosage form chooses among an INN's ATC codes; group and INN rows have no `inn` attribute and use the display.
DEMO_MATCH = {"names": [{"field": "attributes.inn", "weight": 1.0}, {"field": "display", "weight": 0.9}],
              "combine": "first", "form": "attributes.dosage_form", "floor": 30}


def prepare_demo(environ: dict | None = None) -> tuple[Store, bool]:
    """Initialise (or upgrade) the store and import and publish the samples that are not there yet.

    Returns the store and whether anything was loaded now (False on a re-run).
    """
    store = Store.init(environ)
    try:
        from importers.samples import load_demo
    except ImportError as exc:
        raise ConfigError(f"the bundled samples cannot be loaded: {exc}") from None
    reports = load_demo(store)
    return store, any(r.status == "published" for r in reports)


def prepare_review_demo(store: Store) -> str | None:
    """A demo map set (Kazakhstan formulary, Russian, to WHO ATC, English) with the matcher's suggestions,
    and a reviewer token, so the review pages can be tried at once.

    Returns the token's secret when it was created now (it is shown only once), else None.
    """
    from registry.auth import create_token, list_tokens
    from registry.mapping import create_map_set, get_map_set, suggest
    from registry.models import MapSetCreate
    try:
        get_map_set(store, DEMO_MAP_SET)
    except NotFound:
        create_map_set(store, MapSetCreate(
            slug=DEMO_MAP_SET, title="Kazakhstan formulary → WHO ATC (demo)", source="drugs-kz-knf@latest",
            target="atc-who@latest", owner="Demo working group",
            description="Russian group and INN names of the formulary matched to the English ATC index",
            match=DEMO_MATCH),
            actor="demo")
        suggest(store, DEMO_MAP_SET, actor="matcher")
    if any(t.name == DEMO_REVIEWER for t in list_tokens(store)):
        return None
    _, secret = create_token(store, DEMO_REVIEWER, "reviewer")
    return secret


def curl_examples(base: str, store: Store) -> list[str]:
    """A few curl commands that work against the demo server, with a real catalog and code."""
    lines = [f"curl -s {base}/api/v1/catalogs"]
    for catalog in store.list_catalogs():
        if not catalog.head_seq:
            continue
        page = store.page_entries(catalog.slug, limit=1)
        if not page["items"]:
            continue
        code = page["items"][0]["code"]
        label = page["version"]
        lines += [f"curl -s {base}/api/v1/catalogs/{catalog.slug}",
                  f"curl -s {base}/api/v1/catalogs/{catalog.slug}/versions/{label}/entries/{code}",
                  f"curl -s '{base}/api/v1/catalogs/{catalog.slug}/versions/latest/download?format=csv'",
                  f"curl -s '{base}/api/v1/search?q={quote(page['items'][0]['display'].split()[0])}'"]
        break
    lines.append(f"open {base}/api/v1/docs for the API reference")
    return lines
