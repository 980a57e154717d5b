"""Finding code systems and value sets by canonical URL: request-supplied resources first, then the store.

Each published (or retired) catalog version is one CodeSystem at
`{base}/CodeSystem/{slug}`; a catalog with an OID also answers to `urn:oid:<OID>`.
Its implicit all-codes value set is `{base}/ValueSet/{slug}`. Resources given as
`tx-resource` in a request are used for that request only.
"""

from __future__ import annotations

from importers.fhir import slug_of
from registry.errors import NotFound
from registry.store.reads import LATEST
from registry.web.fhir.conceptmaps import SuppliedConceptMap, stored_concept_map, stored_concept_maps
from registry.web.fhir.concepts import CodeSystemSource, ResourceCodeSystem, StoredCodeSystem
from registry.web.fhir.outcome import FhirError, bad_request, not_found
from registry.web.fhir.versions import UnknownVersion, VersionRules, is_pattern, matches, newest

READABLE_STATUSES = ("published", "retired")
VERSION_SEPARATOR = "--"  # as in CodeSystem ids: `slug--label` names one version
STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"


def standing(resource: dict | None, kind: str) -> str | None:
    """What a user of a resource should be warned of: its standards status (`deprecated`, `withdrawn`), or for a
    code system `draft` or `experimental`; None for nothing."""
    if not resource:
        return None
    status = next((e.get("valueCode") for e in resource.get("extension", []) if e.get("url") == STANDARDS_STATUS),
                  None)
    if status in ("deprecated", "withdrawn"):
        return status
    if kind == "CodeSystem" and resource.get("status") == "draft":
        return "draft"
    if kind == "CodeSystem" and resource.get("experimental") is True:
        return "experimental"
    return None


def split_canonical(url: str, version: str | None = None) -> tuple[str, str | None]:
    """`url|version` split into its parts; an explicit `version` wins."""
    if url and "|" in url:
        url, _, embedded = url.partition("|")
        version = version or embedded or None
    return url, version


def stored_value_set(row, latest: bool) -> dict:
    """A stored ValueSet resource with its logical id: the resource's own id (else a slug of its url) for the
    newest version of its url, `id--version` for every version."""
    base = row.resource.get("id") or slug_of(row.url, row.name) or str(row.id)
    rid = base if latest or not row.version else f"{base}{VERSION_SEPARATOR}{row.version}"
    return {"resourceType": "ValueSet", "id": rid, **{k: v for k, v in row.resource.items()
                                                       if k not in ("resourceType", "id")}}


def stored_value_set_ids(resource: dict, latest: bool) -> set[str]:
    """The logical ids a stored ValueSet version answers to (`id--version` always, `id` when newest)."""
    base = resource["id"].partition(VERSION_SEPARATOR)[0]
    ids = {f"{base}{VERSION_SEPARATOR}{resource.get('version')}"} if resource.get("version") else set()
    return ids | ({base} if latest else set())


class Terminology:
    """The code systems and value sets one request can see."""

    def __init__(self, store, base_url: str, tx_resources: list[dict] | None = None,
                 rules: VersionRules | None = None):
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.rules = rules or VersionRules()
        self.cautions: list[tuple[str, str, str]] = []  # (standing, resource type, url|version) of what was read
        self.supplements: list[ResourceCodeSystem] = []  # the supplements this request uses
        self.code_systems: list[ResourceCodeSystem] = []
        self.value_sets: list[dict] = []
        self.concept_maps: list[SuppliedConceptMap] = []
        for resource in tx_resources or []:
            if not isinstance(resource, dict):
                raise bad_request("a tx-resource parameter must hold a resource", "tx-resource")
            kind = resource.get("resourceType")
            if kind == "CodeSystem":
                self.code_systems.append(ResourceCodeSystem(resource))
            elif kind == "ValueSet":
                self.value_sets.append(resource)
            elif kind == "ConceptMap":
                self.concept_maps.append(SuppliedConceptMap(resource))

    # -- code systems -------------------------------------------------------------------------------------------

    def find_code_system(self, url: str, version: str | None = None) -> CodeSystemSource | None:
        """The code system `url` (at `version`, else its newest), or None when unknown.

        A known system without the asked version raises 404 naming the versions there are.
        """
        url, version = split_canonical(url, version)
        supplied = [cs for cs in self.code_systems if cs.answers_to(url)]
        if supplied:
            match = [cs for cs in supplied if version is None or matches(version, cs.version)]
            if match:
                best = newest([cs.version for cs in match])
                return self._supplemented(next(cs for cs in match if cs.version == best))
            raise UnknownVersion(url, version, [cs.version or "" for cs in supplied])
        catalog = self.catalog_for(url)
        if catalog is None:
            return None
        if is_pattern(version):
            labels = [v.label for v in self.store.list_versions(catalog.slug) if v.status in READABLE_STATUSES]
            version = newest([label for label in labels if matches(version, label)]) or version
        return self._supplemented(self.stored(catalog, version))

    def _supplemented(self, cs: CodeSystemSource) -> CodeSystemSource:
        cs.supplements = self.supplements_of(cs) if self.supplements else ()
        return cs

    def include_code_system(self, url: str, declared: str | None = None) -> CodeSystemSource:
        """The code system version a ValueSet include of `url` (with its `version`, if any) reads, under the
        request's version rules: force, else the declared version, else check or default, else the newest.

        A version refused by `check-system-version` is a 400 `version-error`; an unknown one a 404.
        """
        version, source = self.rules.include_version(url, declared)
        if source in ("force", "check", "default"):
            self.rules.note(source, url)
        try:
            cs = self.code_system(url, version)
        except UnknownVersion as exc:
            raise FhirError(404, "not-found", exc.text("so the value set cannot be expanded"), "not-found") from None
        self.check_version(url, cs.version)
        self.cite("CodeSystem", cs.versioned_url, getattr(cs, "resource", None))
        return cs

    def cite(self, kind: str, canonical: str, resource: dict | None) -> None:
        """Note a code system or value set an operation read, to warn when it is deprecated, withdrawn, draft or
        experimental."""
        found = standing(resource, kind)
        if found and (found, kind, canonical) not in self.cautions:
            self.cautions.append((found, kind, canonical))

    def check_version(self, url: str, version: str | None) -> None:
        """400 `version-error` when `check-system-version` requires another version of `url`."""
        pattern = self.rules.check.get(url)
        if pattern and not matches(pattern, version):
            raise FhirError(400, "exception", f"The version '{version}' is not allowed for system '{url}': "
                            f"required to be '{pattern}' by a version-check parameter", "version-error")

    def code_system(self, url: str | None, version: str | None = None) -> CodeSystemSource:
        """The code system `url`, or 404 `not-found`."""
        if not url:
            raise bad_request("a code system URL is needed (parameter system or url)", "system")
        found = self.find_code_system(url, version)
        if found is None:
            raise not_found(f"A definition for CodeSystem '{split_canonical(url)[0]}' could not be found")
        return found

    def catalog_for(self, url: str):
        """The catalog whose canonical URL or `urn:oid:` alias is `url`, or None."""
        prefix = f"{self.base_url}/CodeSystem/"
        if url.startswith(prefix):
            slug = url[len(prefix):]
            try:
                return self.store.get_catalog(slug)
            except NotFound:
                return None
        if url.startswith("urn:oid:"):  # an imported `urn:oid:` url is usually the catalog's OID too
            oid = url[len("urn:oid:"):]
            found = next((c for c in self.store.list_catalogs() if c.oid == oid), None)
            if found:
                return found
        imported = self.store.catalog_of_code_system(url)
        return self.store.get_catalog(imported) if imported else None

    def stored(self, catalog, version: str | None) -> StoredCodeSystem:
        """A catalog version as a code system; drafts and unknown versions are 404."""
        url = f"{self.base_url}/CodeSystem/{catalog.slug}"
        try:
            meta = self.store.get_version(catalog.slug, version or LATEST)
        except NotFound:
            meta = None
        if meta is None or meta.status not in READABLE_STATUSES:
            labels = [v.label for v in self.store.list_versions(catalog.slug) if v.status in READABLE_STATUSES]
            if version is None:
                raise not_found(f"CodeSystem '{url}' has no published version yet")
            raise UnknownVersion(url, version, labels)
        return StoredCodeSystem(self.store, catalog, meta, self.base_url)

    def stored_code_systems(self, catalog_filter=None):
        """Every readable catalog version as a StoredCodeSystem (newest last per catalog), streamed."""
        for catalog in self.store.list_catalogs():
            if catalog_filter and not catalog_filter(catalog):
                continue
            for meta in self.store.list_versions(catalog.slug):
                if meta.status in READABLE_STATUSES:
                    yield StoredCodeSystem(self.store, catalog, meta, self.base_url)

    # -- value sets ---------------------------------------------------------------------------------------------

    def find_value_set(self, url: str, version: str | None = None) -> dict | None:
        """The ValueSet resource `url` (supplied, stored, or a catalog's implicit all-codes value set), or None."""
        url, version = split_canonical(url, version)
        supplied = [vs for vs in self.value_sets if vs.get("url") == url
                    and (version is None or vs.get("version") == version)]
        if supplied:
            return sorted(supplied, key=lambda vs: vs.get("version") or "")[-1]
        stored = self.store.value_sets(url)
        if stored:
            match = [row for row in stored if version is None or row.version == version]
            if not match:
                raise not_found(f"A definition for the value Set '{url}|{version}' could not be found. "
                                f"Valid versions: {', '.join(row.version for row in stored)}")
            return stored_value_set(match[-1], latest=match[-1] is stored[-1])
        prefix = f"{self.base_url}/ValueSet/"
        if url.startswith(prefix):
            try:
                catalog = self.store.get_catalog(url[len(prefix):])
            except NotFound:
                return None
            return self.implicit_value_set(self.stored(catalog, version))
        return None

    def stored_value_sets(self) -> list[dict]:
        """Every stored ValueSet version as its resource (with its logical id), by url, oldest version first."""
        rows = self.store.value_sets()
        newest = {row.url: row for row in rows}
        return [stored_value_set(row, latest=newest[row.url] is row) for row in rows]

    def value_set(self, url: str | None, version: str | None = None) -> dict:
        """The ValueSet `url`, or 404 `not-found`."""
        if not url:
            raise bad_request("a value set is needed (parameter url or valueSet)", "url")
        found = self.find_value_set(url, version)
        if found is None:
            url, version = split_canonical(url, version)
            shown = f"{url}|{version}" if version else url
            raise not_found(f"A definition for the value Set '{shown}' could not be found")
        return found

    def implicit_value_set(self, cs: StoredCodeSystem) -> dict:
        """The all-codes value set of a stored code system version (CodeSystem.valueSet)."""
        return {"resourceType": "ValueSet", "id": cs.slug, "url": cs.value_set_url, "version": cs.version,
                "name": cs.name, "title": cs.title, "status": cs.status,
                "compose": {"include": [{"system": cs.url, "version": cs.version}]}}

    # -- concept maps -------------------------------------------------------------------------------------------

    def find_concept_maps(self, url: str, version: str | None = None) -> list:
        """The concept maps with canonical `url` (at `version`, else the newest stored one): supplied, then stored."""
        url, version = split_canonical(url, version)
        supplied = [cm for cm in self.concept_maps if cm.url == url and (version is None or cm.version == version)]
        if supplied:
            return supplied
        prefix = f"{self.base_url}/ConceptMap/"
        slug = self.store.map_set_of_concept_map(url) or (url[len(prefix):] if url.startswith(prefix) else None)
        found = stored_concept_map(self.store, self.base_url, slug, version) if slug else None
        return [found] if found else []

    def all_concept_maps(self, newest_only: bool = True) -> list:
        """The supplied concept maps and the stored ones (each map set's newest version, or every version)."""
        stored = [cm for cm in stored_concept_maps(self.store, self.base_url) if cm.is_latest or not newest_only]
        return [*self.concept_maps, *stored]

    def catalog_slug(self, system: str | None) -> str | None:
        """The slug of the catalog a system URL (canonical or urn:oid:) names, or None."""
        catalog = self.catalog_for(system) if system else None
        return catalog.slug if catalog else None

    # -- supplements -------------------------------------------------------------------------------------------

    def require_supplements(self, canonicals: list[str]) -> None:
        """Use the CodeSystem supplements named (`url` or `url|version`, by `useSupplement` or a value set's
        `valueset-supplement`): their designations and properties join the concepts of the code system they
        supplement for this request. One not supplied as `tx-resource` is a 404 `not-found`.
        """
        for canonical in canonicals:
            url, version = split_canonical(str(canonical))
            found = [cs for cs in self.code_systems if cs.url == url and (version is None or cs.version == version)
                     and cs.content == "supplement"]
            if not found:
                raise not_found(f"Required supplement not found: {canonical}")
            if found[-1] not in self.supplements:
                self.supplements.append(found[-1])

    def supplements_of(self, cs: CodeSystemSource) -> tuple:
        """The supplements in use that supplement `cs` (their `supplements` is its url, or url|version)."""
        return tuple(sup for sup in self.supplements
                     if split_canonical(sup.resource.get("supplements") or "")[0] in (cs.url, *cs.aliases)
                     and split_canonical(sup.resource.get("supplements") or "")[1] in (None, cs.version))
