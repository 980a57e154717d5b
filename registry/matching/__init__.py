"""Matching local names to the entries of a shared catalog version (design §4).

    from registry.matching import match
    results = match([{"code": "L1", "name": "Парацетамол"}], target=("atc", "2026"))  # store from NSI_DATA_DIR
    results[0]["candidates"][0]   # {"rank": 1, "code": "N02BE01", "display": "paracetamol", "score": 100.0,
                                  #  "reason": 'display "paracetamol": same words after normalisation'}

Terms and results are plain JSON-ready dicts, so the CLI and the REST API call
the same function. Retrieval uses the match index of the target version
(`index.py`, built on first use); the candidates are scored by `rerank.py`.
"""

from __future__ import annotations

import numbers
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from registry.errors import BadRequest
from registry.matching.context import apply_context, context_of, group_docs
from registry.matching.fields import check_targets
from registry.matching.index import MatchIndex, build_index, index_dir, open_index, strip_asides
from registry.matching.analysis import only_stop_words
from registry.matching.rerank import reason_of, rerank as rank_candidates
from registry.matching.weights import CONTEXT_POOL, RETRIEVE

MAX_LIMIT = 50
# The longest local name taken from a list file or an API request: longer than any catalog's names, short enough
# that one request cannot hold a worker for minutes (a name's cost grows with its words). Names from the registry
# itself (`--source`, map set suggestions) are not limited.
MAX_NAME = 1000


def name_too_long(name: str) -> str | None:
    """Why a local name from outside (a list file, an API request) is refused for its length, or None."""
    if len(name) > MAX_NAME:
        return f"the name is {len(name)} characters long; at most {MAX_NAME} are matched"
    return None


@dataclass
class Term:
    """One local entry to match: a name, with an optional local code and attributes."""

    name: str
    code: str | None = None
    attributes: dict = field(default_factory=dict)

    @classmethod
    def of(cls, value, position: int | None = None) -> "Term":
        """A Term from a Term, a dict with `name` (and `code`, `attributes`) or a plain string."""
        if isinstance(value, Term):
            return value
        where = f"term {position}" if position is not None else "a term"
        if isinstance(value, str):
            if not value.strip():
                raise BadRequest(f"{where} has no name")
            return cls(value)
        if not isinstance(value, dict):
            raise BadRequest(f"{where} must be an object with a name, not {type(value).__name__}")
        name = value.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest(f"{where} has no name")
        attributes = value.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise BadRequest(f"{where}: attributes must be an object")
        code = value.get("code")
        # bool is an int to Python, but `true` is no code: it is a mistake in the caller's JSON or sheet.
        if code is not None and (isinstance(code, bool) or not isinstance(code, (str, int))):
            raise BadRequest(f"{where}: code must be text or a whole number, not {type(code).__name__}")
        return cls(name, None if code in (None, "") else str(code), attributes)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"code": self.code, "name": self.name, "attributes": self.attributes}


def parse_target(target) -> tuple[str, str]:
    """(slug, version) from `("slug", "version")`, `"slug@version"` or `"slug"` (= latest)."""
    if isinstance(target, (tuple, list)) and len(target) == 2:
        slug, version = target
    elif isinstance(target, str) and target.strip():
        slug, _, version = target.strip().partition("@")
    else:
        raise BadRequest(f"target must be SLUG or SLUG@VERSION, not {target!r}")
    if not slug:
        raise BadRequest(f"target must be SLUG or SLUG@VERSION, not {target!r}")
    return slug, version or "latest"


_OPEN: "OrderedDict[str, MatchIndex]" = OrderedDict()
_KEEP_OPEN = 4


def get_index(store, slug: str, version: str = "latest", targets=None) -> MatchIndex:
    """The opened index of a published version searching the `targets` fields (default display and
    designations; `fields.py`), kept open for the process (a few at a time)."""
    path, _ref = index_dir(store, slug, version, targets)
    key = str(path)
    if key in _OPEN and MatchIndex.is_current(path):
        _OPEN.move_to_end(key)  # already open: no need to read its reranking data again
        return _OPEN[key]
    if key in _OPEN:
        _OPEN.pop(key).close()
    index = open_index(store, slug, version, targets)
    _OPEN[key] = index
    while len(_OPEN) > _KEEP_OPEN:
        _OPEN.popitem(last=False)[1].close()
    return index


def match_term(index: MatchIndex, term: Term, limit: int = 5) -> list[dict]:
    """The ranked candidates for one term in an opened index: [{rank, code, display, score, reason}].

    A name of function words only (`of the`, `и`) gets none: any name holding them would score a
    misleading `fuzzy 100` on it.
    """
    query = index.analysed(term.name)
    if not query.keys or only_stop_words(query, index.language):
        return []
    doc_ids = index.candidates(query.keys, RETRIEVE)
    readings = [query]
    short = strip_asides(term.name)
    if short != term.name and short:
        readings.append(index.analysed(short))
    context, attributes = context_of(term.attributes)
    if context:
        doc_ids = list(dict.fromkeys(doc_ids + group_docs(index, context[0], rank_candidates)))
        ranked = apply_context(index, rank_candidates(index, readings, doc_ids, term.code, attributes,
                                                      max(limit, CONTEXT_POOL), word=False), context, limit)
    else:
        ranked = rank_candidates(index, readings, doc_ids, term.code, attributes, limit)
    return [{"rank": i, "code": index.codes[s.row], "display": index.displays[s.row], "score": s.score,
             "reason": reason_of(s)} for i, s in enumerate(ranked, 1)]


def iter_matches(index: MatchIndex, terms: Iterable, limit: int = 5) -> Iterator[dict]:
    """For each term, {"term": {...}, "candidates": [...]}, streamed in input order."""
    for i, value in enumerate(terms, 1):
        term = Term.of(value, i)
        yield {"term": term.to_dict(), "candidates": match_term(index, term, limit)}


def check_limit(limit) -> int:
    """The limit as an int between 1 and MAX_LIMIT, or BadRequest (`2.7`, `True` and `"3"` are no limit)."""
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
        raise BadRequest(f"limit must be a whole number, not {limit!r}")
    limit = int(limit)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _is_store(value) -> bool:
    return hasattr(value, "resolve") and hasattr(value, "cache_dir") and hasattr(value, "iter_entries")


def default_store():
    """The store the environment configures (NSI_DATA_DIR / NSI_DATABASE_URL), opened as the CLI opens it.

    Opened afresh on each call, not kept in the module: a changed setting, or a test's own data
    directory, is always the one used. `match()` closes the one it opens.
    """
    from registry.store import Store
    return Store.open()


def match(terms, target=None, limit: int = 5, *, progress: Callable[[int], None] | None = None,
          store=None, target_fields=None) -> list[dict]:
    """Match local terms against a published catalog version; ranked candidates per term.

        match(terms, target=(slug, version), limit=5)   # the store of NSI_DATA_DIR / NSI_DATABASE_URL
        match(terms, target="slug@version", store=store)

    `terms` are dicts `{"name": ..., "code": ..., "attributes": {...}}` (or Term
    objects or plain names); `target` is `(slug, version)` or `"slug@version"`;
    `limit` is 1-50; `progress(done)` is called after each term. `target_fields` are the fields of the
    target entries searched (`display`, `designations`, `designations:LANG`, `attributes.NAME`; default display
    and designations), as a map set declares them.
    Without a store, the one the environment configures is opened, as the CLI does.
    Returns one `{"term", "candidates"}` dict per term, in input order, where each
    candidate is `{"rank", "code", "display", "score" (0-100), "reason"}`.
    The target's index is built on first use.
    """
    if _is_store(terms):
        raise TypeError("match() takes the terms first; pass the store as store=")
    if isinstance(terms, (str, bytes, dict)) or not isinstance(terms, Iterable):
        raise BadRequest(f"terms must be a list of names or of objects with a name, not {type(terms).__name__}")
    if target is None:
        raise BadRequest("give the target catalog version: match(terms, target=(slug, version))")
    limit = check_limit(limit)
    slug, version = parse_target(target)
    if target_fields is not None:
        target_fields = check_targets(target_fields)
    own = store is None
    if own:
        store = default_store()
    try:
        index = get_index(store, slug, version, target_fields)
        results = []
        for result in iter_matches(index, terms, limit):
            results.append(result)
            if progress:
                progress(len(results))
        return results
    finally:
        if own:
            store.engine.dispose()


def match_to_csv(store, target, output, *, input_path=None, source=None, limit: int = 5,
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Match a local list file (`input_path`, CSV/XLSX) or a catalog version in the registry (`source`,
    "slug@version") against `target`, and write the candidates CSV `output` (files.OUTPUT_COLUMNS).

    `progress(done, total)` is called after each term. Returns a summary:
    {"terms", "candidates", "target", "version", "seconds", "output", "warnings"} (warnings: local codes
    that several rows hold).
    """
    from registry.matching import files
    started = time.perf_counter()
    limit = check_limit(limit)
    if (input_path is None) == (source is None):
        raise BadRequest("give either an input file or a source catalog version, not both or neither")
    slug, version = parse_target(target)
    index_dir(store, slug, version)  # an unknown or draft target is refused first
    files.check_output(output, input_path)
    warnings: list[str] = []
    if input_path is not None:  # read and checked before the index is built: a bad list fails at once
        terms = files.read_terms(input_path)
        warnings = files.duplicate_codes(terms)
    else:
        source_slug, source_version = parse_target(source)
        terms = list(files.source_terms(store, source_slug, source_version))
    index = get_index(store, slug, version)
    total = len(terms)

    def results():
        for done, result in enumerate(iter_matches(index, terms, limit), 1):
            if progress:
                progress(done, total)
            yield result

    count = files.write_candidates(output, results())
    return {"terms": total, "candidates": count, "target": slug, "version": index.version,
            "seconds": round(time.perf_counter() - started, 2), "output": str(output), "warnings": warnings}


__all__ = ["match_to_csv", "Term", "match", "match_term", "iter_matches", "get_index", "build_index", "parse_target",
           "MatchIndex", "default_store"]
