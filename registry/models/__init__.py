"""Table models (SQLModel) and their Create/Public schemas, one module per area.

Importing this package registers every table on `SQLModel.metadata`, which the
alembic migrations mirror.
"""

from registry.models.catalog import (  # noqa: F401
    Catalog, CatalogCreate, CatalogPublic, CatalogVersion, Entry, VersionPublic, staged_table,
)
from registry.models.auth import ApiToken, ReviewSession, SignInFailure, TokenPublic  # noqa: F401
from registry.models.jobs import ImportJob  # noqa: F401
from registry.models.mapping import (  # noqa: F401
    MapSet, MapSetCreate, MapSetPublic, MapSetVersion, Mapping, MappingEvent, MappingPublic, PublishedMapping,
)
from registry.models.fhir import CodeFold, FhirResource  # noqa: F401
from registry.models.search import SearchIndexState  # noqa: F401
