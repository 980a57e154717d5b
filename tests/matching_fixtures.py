"""Small catalogs and match indexes shared by the matching tests (`tests/test_matching*.py`)."""

from __future__ import annotations

from contextlib import contextmanager

from registry.matching.index import MatchIndex, build_from_entries
from registry.models import CatalogCreate

DRUGS = [
    {"code": "P250", "display": "Paracetamol tablets 250 mg", "attributes": {"form": "tablet"}},
    {"code": "P500", "display": "Paracetamol tablets 500 mg", "attributes": {"form": "tablet"}},
    {"code": "PS500", "display": "Paracetamol syrup 500 mg", "attributes": {"form": "syrup"}},
    {"code": "C1", "display": "Clotrimazole cream 1%",
     "designations": [{"language": "en", "use": "synonym", "text": "Canesten"}]},
    {"code": "N9", "display": "Sodium chloride solution 0.9%"},
]
# One ATC substance under three groups all named `Antibiotics`, whose own parents tell them apart.
ATC_NYSTATIN = [{"code": "A07", "display": "Antidiarrheals, intestinal antiinflammatory/antiinfective agents"},
                {"code": "A07AA", "display": "Antibiotics"},
                {"code": "A07AA02", "display": "nystatin"},
                {"code": "D01", "display": "Antifungals for dermatological use"},
                {"code": "D01AA", "display": "Antibiotics"},
                {"code": "D01AA01", "display": "nystatin"},
                {"code": "G01AA", "display": "Antibiotics"},
                {"code": "G01AA01", "display": "nystatin"}]


def publish(store, slug, entries, language="en", label="1"):
    """Create catalog `slug` and publish `entries` as its version `label`: a target to match against."""
    store.create_catalog(CatalogCreate(slug=slug, title=slug, kind="drug", language=language))
    store.stage_draft(slug, label, entries, source_name="test")
    store.publish(slug, label)


@contextmanager
def small_index(tmp_path, entries, language="en"):
    """A match index of `entries` built under tmp_path, closed when the block ends."""
    index = MatchIndex(build_from_entries(tmp_path / "ix", entries, language, "1", "t").path)
    try:
        yield index
    finally:
        index.close()
