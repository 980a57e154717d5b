"""Table models (SQLModel) and their Create/Public schemas, one module per area.

`from registry.models import X` loads only the module that defines X: building a SQLModel class costs
several milliseconds, and a command such as `nsi match` needs the catalog tables only (the alembic
migrations own the schema, so nothing needs every table registered on `SQLModel.metadata`).
"""

from __future__ import annotations

import importlib

_MODULE_OF = {
    **dict.fromkeys(("Catalog", "CatalogCreate", "CatalogPublic", "CatalogVersion", "Entry", "VersionPublic",
                     "staged_table"), "catalog"),
    **dict.fromkeys(("ApiToken", "ReviewSession", "SignInFailure", "TokenPublic"), "auth"),
    "ImportJob": "jobs",
    **dict.fromkeys(("MapSet", "MapSetCreate", "MapSetPublic", "MapSetVersion", "Mapping", "MappingEvent",
                     "MappingPublic", "PublishedMapping"), "mapping"),
    **dict.fromkeys(("CodeFold", "FhirResource"), "fhir"),
    "SearchIndexState": "search",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    """The model `name`, importing its module on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
