"""The one import pipeline shared by `nsi import`, `nsi demo` and API uploads.

read (a format module yields records with their position) → map (a profile,
or the format itself, makes canonical entries) → validate and stage (the
store's bulk path: duplicates, empty codes, unknown parents, attribute types)
→ report. Mapping problems (missing columns, wrong types, unknown parent
identifiers) and the store's own problems are reported together; any error
rejects the import and nothing is stored, not even a catalog created for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from registry.errors import BadRequest, ImportRejected, NotFound, NsiError, Problem, Report
from importers.findings import Findings
from importers.formats import FORMATS, catalog_defaults as described_catalog, guess_format
from importers.profile import Profile, load_profile
from importers.side_files import identity as side_identity, join_side_files, side_sources
from importers.source import CONTAINERS, Source

def refuse_containers(source: Source, fmt: str, profile: Profile | None) -> None:
    """Refuse a spreadsheet or zip given to a text format, saying what it is and what to do.

    Read as text, a workbook fails at its first compressed byte with "not valid
    UTF-8 ... declare cp1251", which sends the operator after the wrong cause.
    """
    kind = source.container()
    if kind is None:
        return
    reads = (f"profile {profile.name} reads {profile.format} files" if profile
             else f"format {fmt} reads {FORMATS[fmt].READS}")
    if kind == "zip":
        todo = "unpack it and import the file inside"
    else:
        suggested = _xlsx_profiles_for(profile.catalog.get("slug")) if profile else []
        todo = ("import it with a profile of format xlsx "
                + (f"({', '.join(suggested)})" if suggested else "(--profile, see docs/importers.md)"))
        if kind != "xlsx":
            todo = "save it as .xlsx and " + todo
        if fmt in ("csv", "fnsi"):
            todo += ", or save the sheet as CSV (UTF-8) and import that"
    raise ImportRejected([Problem(f"the file is {CONTAINERS[kind]}, not text: {reads}; {todo}", file=source.name,
                                  kind="wrong_format")])


def _xlsx_profiles_for(slug: str | None) -> list[str]:
    """The shipped xlsx profiles meant for catalog `slug` (to suggest one for a workbook)."""
    from importers.profile import available_profiles
    if not slug:
        return []
    found = []
    for name in available_profiles():
        try:
            candidate = load_profile(name)
        except BadRequest:
            continue
        if candidate.format == "xlsx" and candidate.catalog.get("slug") == slug:
            found.append(name)
    return found


def catalog_defaults(source: Source, fmt: str, profile: Profile | None) -> dict:
    """What a missing catalog is created with: the profile's [catalog] table, or what the file says about itself."""
    if profile is not None and profile.catalog.get("title"):
        return dict(profile.catalog)
    return described_catalog(source, fmt)


def source_identity(source: Source, profile: Profile | None) -> str:
    """The sha256 that tells whether this source was imported before: the file's, or for one named sheet of a
    workbook, that of the file's sha256 and the sheet name (each sheet of one workbook is a source of its own)."""
    digest = source.sha256()
    sheet = profile.read.get("sheet") if profile is not None and profile.format == "xlsx" else None
    if not sheet:
        return digest
    return hashlib.sha256(f"{digest}\nsheet {sheet}".encode("utf-8")).hexdigest()


def _new_catalog(slug: str, defaults: dict):
    """The catalog an import creates, checked now (a bad title or kind is refused before reading the file)."""
    from registry.models import CatalogCreate
    from registry.store.catalogs import new_catalog
    try:
        data = CatalogCreate(
            slug=slug, title=defaults["title"], kind=defaults.get("kind", "other"), owner=defaults.get("owner"),
            oid=defaults.get("oid"), language=defaults.get("language", "ru"), description=defaults.get("description"),
            field_schema=defaults.get("field_schema") or {})
    except ValueError as exc:  # pydantic's ValidationError
        raise BadRequest(f"cannot create catalog {slug}: {exc}") from None
    return new_catalog(data)


class _Staging:
    """Entries on their way to the store, and whether reading the file broke off before its end."""

    def __init__(self, entries, findings: Findings):
        self.entries, self.findings = entries, findings
        self.cut_short = False

    def __iter__(self):
        """Pass entries through, collecting the problem that stopped reading (the store asks `findings` after)."""
        findings = self.findings
        try:
            yield from self.entries
        except ImportRejected as exc:
            # Reading stopped here (not well-formed XML, a CSV quote never closed, ...): only the rows before
            # this point reach the store.
            self.cut_short = exc.problems is not findings.errors  # not the mapping's own raise_if_errors
            known = {id(p) for p in findings.errors}
            for p in exc.problems:
                if id(p) not in known:
                    findings.error(p)


def _without_consequences(problems: list[Problem], total: int) -> tuple[list[Problem], int]:
    """The store's problems less the unknown parents, and the count less them, for a file read only in part.

    A parent the file names later was never read, so "unknown parent" follows
    from the error that stopped the reading, and would bury it. The store lists
    unknown parents last, after every row's own errors: once one is listed, every
    error it counted but did not list is one too.
    """
    kept = [p for p in problems if p.kind != "unknown_parent"]
    if len(kept) < len(problems):
        return kept, len(kept)
    return kept, total


def run_import(store, path: str | Path, *, catalog: str | None = None, version: str | None = None,
               format: str | None = None,
               profile: str | Profile | None = None, publish: bool = False, dry_run: bool = False,
               release_notes: str | None = None, created_by: str | None = None,
               progress: Callable[[int], None] | None = None, source_name: str | None = None,
               with_files: dict[str, str] | None = None) -> Report:
    """Import one file as draft `version` of `catalog` (optionally publishing it) and return the report.

    A FHIR resource names its own catalog and version when they are not given;
    a resource that is not a catalog (a ValueSet, a ConceptMap) is registered by
    its format's `register` instead of staged as entries.

    `profile` is a profile name (a file in catalogs/), a path, or a loaded Profile;
    `format` overrides the profile's format. If the catalog does not exist, it is
    created from the profile's [catalog] defaults (or the file's own metadata for
    ClaML and FHIR). `with_files` gives the side files of the profile's [[with]]
    tables by name (importers.side_files); the files together are one version. Errors raise ImportRejected with every problem located;
    nothing is stored then.
    """
    prof = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    source = Source.from_path(path)
    if source_name:
        source.name = source_name
    fmt = format or (prof.format if prof else None) or guess_format(source)
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
    if prof is None and getattr(FORMATS[fmt], "NEEDS_PROFILE", None):
        raise BadRequest(f"format {fmt} needs a profile (--profile) naming its columns; see docs/importers.md")
    if prof is not None and format and format != prof.format:
        raise BadRequest(f"profile {prof.name} is written for {prof.format} files, not {format}: its [read] and "
                         f"[fields] tables name what a {prof.format} file holds; leave out --format, or use a "
                         f"profile for {format} (see docs/importers.md)")
    if fmt != "xlsx":
        refuse_containers(source, fmt, prof)
    module = FORMATS[fmt]
    if hasattr(module, "register"):
        try:
            return module.register(store, source, catalog=catalog, version=version, publish=publish,
                                   dry_run=dry_run, created_by=created_by)
        except NsiError as exc:  # the store's own refusals (a stored version, a conflict) name the file too
            if isinstance(exc, ImportRejected) or source.name in exc.message:
                raise
            raise type(exc)(f"{source.name}: {exc.message}", exc.details) from None
    described = described_catalog(source, fmt) if prof is None else {}
    catalog = catalog or described.get("slug")
    version = version or described.get("version")
    for value, option, field in ((catalog, "--catalog", "url or name"), (version, "--version", "version")):
        if not value:
            said = f"; the resource has no {field} to take it from" if "slug" in described else ""
            raise BadRequest(f"{source.name}: give {option}{said}")
    header = described.get("fhir_header")
    owner = store.catalog_of_code_system(header["url"]) if header else None
    if owner and owner != catalog:
        raise BadRequest(f"{source.name}: CodeSystem {header['url']} is catalog {owner} already: import it with "
                         f"--catalog {owner}")
    if with_files and (prof is None or not prof.side_files):
        raise BadRequest(f"--with needs a profile that declares side files ([[with]] tables); "
                         f"{'profile ' + prof.name if prof else 'no profile'} declares none")
    sides = side_sources(prof, Path(path), with_files) if prof is not None and prof.side_files else []
    create = None
    if not store.has_catalog(catalog):
        defaults = described or catalog_defaults(source, fmt, prof)
        if not defaults.get("title"):
            raise NotFound(f"no catalog {catalog!r}: create it first (`nsi catalog create {catalog} --title ...`) "
                           f"or import with a profile that has [catalog] defaults")
        create = _new_catalog(catalog, defaults)
    language = create.language if create is not None else store.get_catalog(catalog).language
    findings = Findings(source.name)
    meant_for = prof.catalog.get("slug") if prof is not None else None
    if meant_for and meant_for != catalog:
        findings.warn(Problem(f"profile {prof.name} is meant for catalog {meant_for}, and this file goes into "
                              f"{catalog}: is that the right profile?", file=source.name, kind="other_catalog"))
    findings.takes_blocks = True  # the entries go to stage_draft below, which stages blocks of rows whole
    entries = FORMATS[fmt].read(source, prof, findings, language)
    if sides:
        entries = join_side_files(entries, sides, findings, language)
    staging = _Staging(entries, findings)
    try:
        identity = side_identity(source_identity(source, prof), sides)
        if dry_run and create is None:
            # A dry run checks the file in full even when it was imported before: it is how a changed profile is
            # tried on the same file. It says what a real import would do.
            same = next((v for v in reversed(store.list_versions(catalog)) if v.source_sha256 == identity
                         and v.status in ("draft", "published")), None)
            if same is not None:
                findings.warn(Problem(f"this file was imported before as version {same.label} (same sha256): "
                                      f"checked in full, but an import would create no new version (retire "
                                      f"{same.label} first to import it again)", file=source.name, kind="same_source"))
                identity = None
        report = store.stage_draft(catalog, version, staging, source_name=Path(source.name).name, source_sha256=identity,
                                   release_notes=release_notes, created_by=created_by, dry_run=dry_run,
                                   progress=progress, file=source.name, create_catalog=create,
                                   upstream_errors=lambda: bool(findings.errors))
    except ImportRejected as exc:
        own, own_total = exc.problems, exc.total
        if findings.errors:
            if staging.cut_short:
                own, own_total = _without_consequences(own, own_total)
            raise ImportRejected(findings.errors + own, findings.warnings + exc.warnings,
                                 total=findings.error_count + own_total) from None
        raise
    report.warnings = findings.warnings + report.warnings
    if header and report.status == "staged":
        store.keep_code_system_header(catalog, version, header)
    if publish and report.status == "staged":
        store.publish(catalog, version, by=created_by)
        report.status = "published"
    return report
