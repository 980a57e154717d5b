"""Full-text search over the displays and designations of published versions (whoosh).

Each published version gets its own index under the data dir's cache, in a
folder named by the version's sequence and checksum: a publish creates a new
sequence, so a search through `latest` can never hit a stale index. A missing
index is built on first use (into a temporary folder, then renamed, so two
server workers never see half an index). Cyrillic words are stemmed with the
Russian Snowball stemmer and Latin words with the English one, so `холерой`
finds `Холера`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from whoosh import index
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.lang import stemmer_for_language
from whoosh.qparser import MultifieldParser, OrGroup

from registry.errors import BadRequest, NotFound
from registry.store.reads import LATEST

MAX_LIMIT = 100


class MixedLanguageStemFilter(Filter):
    """Stems each token with the stemmer of its script: Russian for Cyrillic, English for Latin."""

    def __init__(self):
        self._ru = None
        self._en = None

    def __eq__(self, other):
        return isinstance(other, MixedLanguageStemFilter)

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self._ru = self._en = None

    def __call__(self, tokens):
        if self._ru is None:
            self._ru, self._en = stemmer_for_language("ru"), stemmer_for_language("en")
        for t in tokens:
            if not t.stopped:
                text = t.text.replace("ё", "е")
                t.text = self._ru(text) if any("\u0400" <= ch <= "\u04ff" for ch in text) else self._en(text)
            yield t


def analyzer():
    """Words and codes, lowercased, stemmed by script."""
    return RegexTokenizer(r"\w+(\.\w+)*") | LowercaseFilter() | MixedLanguageStemFilter()


def schema() -> Schema:
    """Index fields: the code (exact), the display and all designations (stemmed)."""
    return Schema(code=ID(stored=True, unique=True), display=TEXT(analyzer=analyzer(), stored=True, field_boost=2.0),
                  designations=TEXT(analyzer=analyzer()), status=STORED)


def index_dir(store, ref) -> Path:
    """The folder of the index of a published version: keyed by its sequence and checksum."""
    return store.data_dir / "cache" / "search" / ref.catalog / f"{ref.seq}-{(ref.checksum or 'none')[:16]}"


def ensure_index(store, ref) -> Path:
    """The index folder of version `ref`, building it first when missing."""
    folder = index_dir(store, ref)
    if folder.is_dir() and index.exists_in(str(folder)):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".build-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        ix = index.create_in(str(tmp), schema())
        writer = ix.writer(limitmb=128)
        for entry in store.iter_entries(ref.catalog, ref.label):
            writer.add_document(code=entry["code"], display=entry["display"], status=entry["status"],
                                designations=" \n".join(d["text"] for d in entry["designations"]))
        writer.commit()
        try:
            os.rename(tmp, folder)
        except OSError:  # another worker finished first: use its index
            if not index.exists_in(str(folder)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def search(store, q: str, *, catalog: str | None = None, version: str | None = None, limit: int = 20) -> dict:
    """Entries whose display or designations match the words of `q`, best first.

    Without `catalog`, every catalog's latest published version is searched and
    the hits merged by score. `version` needs `catalog`. Drafts are not searched.
    """
    q = (q or "").strip()
    if not q:
        raise BadRequest("search needs a query: q=...")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if version and not catalog:
        raise BadRequest("version needs catalog")
    if catalog:
        refs = [store.resolve(catalog, version or LATEST)]
        if refs[0].is_draft:
            raise BadRequest(f"version {refs[0].label} of {catalog} is a draft; only published versions are searched")
    else:
        refs = []
        for c in store.list_catalogs():
            try:
                refs.append(store.resolve(c.slug, LATEST))
            except NotFound:
                continue  # no published version (never published, or every version retired): nothing to search
    hits = []
    for ref in refs:
        ix = index.open_dir(str(ensure_index(store, ref)))
        with ix.searcher() as searcher:
            parser = MultifieldParser(["code", "display", "designations"], ix.schema, group=OrGroup)
            query = parser.parse(q)
            for hit in searcher.search(query, limit=limit):
                hits.append({"catalog": ref.catalog, "version": ref.label, "code": hit["code"],
                             "display": hit["display"], "status": hit["status"], "score": round(hit.score, 4)})
    hits.sort(key=lambda h: -h["score"])
    return {"query": q, "items": hits[:limit]}
