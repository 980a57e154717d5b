"""Versions and their entries: metadata, pages, one code, full downloads; publish, discard, retire."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, stream_with_context, url_for

from registry import exports, publishing
from registry.entries import STATUSES
from registry.search import index as search_index
from registry.store.reads import LATEST
from registry.web.common import (API, cached, current_token, etag_for, json_response, needs,
                                 resolve_for_read, revalidated, store)
from registry.web.bodies import body
from registry.web.params import Int, OneOf, Text, query
from registry.web.request_models import ReleaseNotes
from registry.web import response_models as R
from registry.web.responses import BINARY, TEXT, responds

bp = Blueprint("versions", __name__, url_prefix=API + "/catalogs/<slug>/versions")

PREFILL_BYTES_PER_ENTRY = 1500  # a generous estimate of one rendered lookup, to stay within the cache
DOWNLOAD_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _can_see_drafts() -> bool:
    token = current_token()
    return token is not None and token.role in ("importer", "reviewer", "admin")


def version_json(slug: str, label: str, meta=None) -> dict:
    """A version's metadata with links; `meta` is its VersionPublic when already read."""
    data = (meta or store().get_version(slug, label)).model_dump(mode="json")
    data["links"] = {"self": url_for("versions.get_version", slug=slug, version=label),
                     "entries": url_for("versions.list_entries", slug=slug, version=label),
                     "download": url_for("versions.download", slug=slug, version=label, format="jsonl")}
    return data


@bp.get("")
@responds(R.VersionList, etag=True)
def list_versions(slug: str):
    """Every published and retired version of a catalog by sequence (drafts too for importer/reviewer/admin)."""
    drafts = _can_see_drafts()
    items = [v.model_dump(mode="json") for v in store().list_versions(slug) if drafts or v.status != "draft"]
    return revalidated(json_response({"catalog": slug, "items": items}), per_token=True)


@bp.get("/<version>")
@responds(R.Version, etag=True)
def get_version(slug: str, version: str):
    """One version's metadata: checksum, counts, release notes; `latest` is the newest published.

    The metadata shows the status, which retiring changes, so it is read afresh
    on every request (one indexed row), named in the ETag and the response-cache
    key, and served with the short, must-revalidate max-age.
    """
    ref = resolve_for_read(slug, version)
    meta = store().get_version(slug, ref.label)
    state = f"version|{meta.status}|{meta.retired_at.isoformat() if meta.retired_at else ''}"
    return cached([ref], True, state, lambda: json_response(version_json(slug, ref.label, meta)))


@bp.get("/<version>/entries")
@responds(R.EntryPage, etag=True)
@query(limit=Int(1, 1000, default=100), cursor=Text(), status=OneOf(STATUSES), parent=Text(), q=Text())
def list_entries(slug: str, version: str, args: dict):
    """One page of entries in code order; filters status, parent and q; `next` continues in the same version.

    `version` in the answer names the version the page is from (what `latest` resolved to).
    """
    ref = resolve_for_read(slug, version)

    def build():
        page = store().page_entries(slug, ref.label, **args)
        page["catalog"] = slug
        if page["next_cursor"]:
            same = {k: v for k, v in args.items() if k != "cursor" and v is not None}
            # The concrete label, not `latest`: a publish during a sync must not switch versions half-way.
            page["next"] = url_for("versions.list_entries", slug=slug, version=ref.label,
                                   cursor=page["next_cursor"], **same)
        return json_response(page)

    return cached([ref], version == LATEST, "entries?" + request.query_string.decode("latin-1"), build)


@bp.get("/<version>/entries/<path:code>")
@responds(R.EntryDetail, etag=True)
def get_entry(slug: str, version: str, code: str):
    """One entry with its parents and children."""
    app = current_app._get_current_object()  # the lookup every consuming system calls: one look-up through the context
    ref = resolve_for_read(slug, version, app)
    files = app.extensions.get("nsi_lookup_files")  # NSI_LOOKUP_FILES: latest versions' answers in files
    file = files.file_for(ref) if files is not None and not ref.is_draft else None

    def build():
        if ref.is_draft:
            entry = publishing.entry_detail(store(), ref, code)
            return json_response({"catalog": slug, "version": ref.label, **entry})
        if file is not None:
            return Response(file.answer(ref, code), content_type="application/json")
        prefill_lookups(ref, app.extensions.get("nsi_response_cache"))
        return Response(publishing.entry_detail_json(app.extensions["nsi_store"], ref, code),
                        content_type="application/json")

    # A lookup file answers as fast as the response cache would: its answers are neither kept nor prefilled there.
    return cached([ref], version == LATEST, "entry:" + code, build, keep=file is None, app=app)


def prefill_lookups(ref, memory) -> None:
    """Put the lookup response of every entry of a published version into the response cache, once per worker.

    Systems validate record by record, with codes spread over the whole version;
    rendering the version in one pass (about a second for 15k entries) makes every
    later lookup a memory hit. Skipped for drafts and for versions that would take
    more than half of the cache. `memory`: the app's response cache (None when it has none).
    """
    if memory is None or ref.is_draft:
        return
    key = (ref.catalog, f"{ref.seq}-{ref.checksum}")
    if key in memory.prefilled:
        return
    s = store()
    entry_count = s.get_version(ref.catalog, ref.label).entry_count
    if entry_count * PREFILL_BYTES_PER_ENTRY > memory.max_bytes // 2:
        memory.prefilled.add(key)
        return
    with memory.prefill_lock:
        if key in memory.prefilled:
            return
        for entry in publishing.iter_entry_details(s, ref):
            response = json_response({"catalog": ref.catalog, "version": ref.label, **entry})
            memory.put(etag_for([ref], "entry:" + entry["code"]), response.get_data(), response.content_type)
        memory.prefilled.add(key)


@bp.get("/<version>/download")
@responds(content={kind.split(";")[0]: BINARY if name == "xlsx" else TEXT
                   for name, kind in DOWNLOAD_TYPES.items()}, etag=True)
@query(format=OneOf(tuple(DOWNLOAD_TYPES), default="jsonl"))
def download(slug: str, version: str, args: dict):
    """The whole version, streamed in code order: format=jsonl (default), csv or xlsx."""
    ref = resolve_for_read(slug, version)
    fmt = args["format"]
    filename = f"{slug}-{ref.label}.{fmt}"

    def build():
        s = store()
        if fmt == "jsonl":
            body = exports.iter_jsonl(s.iter_lines(slug, ref.label))
        elif fmt == "csv":
            body = exports.iter_csv(s.iter_entries(slug, ref.label))
        else:
            body = _file_chunks(*publishing.xlsx_file(s, ref))
        response = Response(stream_with_context(body), content_type=DOWNLOAD_TYPES[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    return cached([ref], version == LATEST, "download:" + fmt, build, keep=False)


def _file_chunks(path, temporary: bool, size: int = 1 << 16):
    try:
        with open(path, "rb") as f:
            yield from iter(lambda: f.read(size), b"")
    finally:
        if temporary:
            path.unlink(missing_ok=True)


@bp.post("/<version>/publish")
@responds(R.Version)
@needs("publish")
@body(ReleaseNotes, optional=True)
def publish(slug: str, version: str, body: ReleaseNotes):
    """Publish a draft as the catalog's next version (importer or admin); the body, if any, gives release notes."""
    store().publish(slug, version, by=current_token().name, release_notes=body.release_notes)
    search_index.indexer(store()).wake()  # its search index is built in the background, not on a query
    return json_response(version_json(slug, version))


@bp.post("/<version>/discard")
@responds(R.Discarded)
@needs("publish")
def discard(slug: str, version: str):
    """Delete a draft (importer or admin)."""
    store().discard(slug, version)
    return json_response({"catalog": slug, "version": version, "status": "discarded"})


@bp.post("/<version>/retire")
@responds(R.Version)
@needs("publish")
def retire(slug: str, version: str):
    """Retire a published version: still readable by label, no longer `latest` (importer or admin)."""
    store().retire(slug, version, by=current_token().name)
    return json_response(version_json(slug, version))
