"""The match index of one published catalog version: a derived cache, rebuilt when missing.

Each designation of each entry (the display, synonyms, inclusions...) becomes one numbered document
(`docs` of `entries.json`): its text, its lemmas, the cross-script keys of its words (`normalise.analyse`),
its quantities and qualifiers, for word hits and for the reranker. Each distinct word of the catalog (the
`vocabulary`) is one more document after them, so that a misspelt, inflected or transliterated query word
finds, by its character 3-grams, the catalog words sharing most of its letters. `entries.json` also holds
each entry (code, display, attributes, parent) and the document frequency of every key.

`entries.json` is the whole index: queries read the postings of the two fields (`keys` and `grams`) from
tables built in memory from its documents on first use (`postings.py`). Up to FORMAT 23 the build also
wrote them into whoosh's files, of which nothing read more than the document count (without them a build
takes 2.1-4.4 times less CPU and the index is 11-57 % smaller; reading them back from whoosh's files would
cost 4-14 times the CPU of building the tables: docs/matching.md). The file is a head line (format, rules fingerprint, the body's length and CRC-32)
and the body: a truncated, overwritten or half-written body is told from a whole one before it is parsed,
and the index rebuilt.

The folder is `<data dir>/cache/match/<slug>/<seq>-<checksum[:12]>`: a new
published version has a new checksum, so an index is never stale after a
publish. The fingerprint of the normalisation rules (data files and code
version) is recorded too; an index built with other rules is rebuilt.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from itertools import chain
from pathlib import Path

import numpy

from registry.errors import InvalidState
from registry.matching.analysis import (DATA_PACKAGE, Analysis, analyse, basic_fold, hand_written_tables,
                                       load_morphology, rules)
from registry.matching.code_tree import parent_rows
from registry.matching.fields import DEFAULT_TARGETS, field_names, targets_key
from registry.matching.overlap import KeySide, key_side
from registry.matching.index_file import INDEX_FILE, read_head, read_index_file, write_index_file
from registry.matching.postings import grams_of, inverted
from registry.matching.weights import FUZZY_MIN_LEN, FUZZY_WORD, LENGTH_B

FORMAT = 24  # 24: entries.json alone, with a checked head; 23 and before also wrote whoosh files
_BRACKETED = re.compile(r"\s*(\[[^\]]*\]|\([^)]*\))")
POSTINGS_CACHE = 50_000
# Names kept analysed, candidate lists and base scores kept per index: a local group's name is asked for as a
# query, then for each of its members as their context (`context.py`). Each memo is emptied when full.
NAME_CACHE = 4096
_NONE: list[int] = []  # the postings of a term no document holds (shared: callers must not change it)
TIE = 1e-9  # per key: below any real difference of scores, above float noise, so ties go to the shorter name


def rules_fingerprint() -> str:
    """A hash of the index format and of every normalisation data file."""
    h = hashlib.sha256(f"format {FORMAT} hand-written {hand_written_tables()}".encode())
    for path in sorted(resources.files(DATA_PACKAGE).iterdir(), key=lambda p: p.name):
        if path.name.endswith(".tsv"):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def index_dir(store, slug: str, version: str, targets=None) -> tuple[Path, object]:
    """The cache folder of a published version's index searching the `targets` fields, and the resolved version.

    The default fields (display and designations) have the folder `<seq>-<checksum[:12]>`; another
    declaration gets its own folder beside it (`...-t<hash>`), so map sets searching other fields of one
    target version never rebuild each other's index.
    """
    ref = store.resolve(slug, version)
    if ref.is_draft or not ref.checksum:
        raise InvalidState(f"{slug} {ref.label} is a draft: publish it before matching against it")
    key = targets_key(targets)
    return store.cache_dir("match", slug) / (f"{ref.seq}-{ref.checksum[:12]}" + (f"-t{key}" if key else "")), ref


@dataclass
class BuildReport:
    """What a build did: where, how many entries and designations, how long, how big."""

    path: Path
    catalog: str
    version: str
    entries: int
    designations: int
    seconds: float
    bytes: int

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {**self.__dict__, "path": str(self.path)}


def strip_asides(text: str) -> str:
    """The text without its bracketed asides (`Occupant [any] of ...` → `Occupant of ...`)."""
    return " ".join(_BRACKETED.sub(" ", text).split())


def _designations(entry: dict, targets=DEFAULT_TARGETS) -> list[tuple[str, str]]:
    """(use, text) of an entry's names in the declared target fields (`fields.py`; by default the display
    first, then each designation with another text, exclusions left out), each text once."""
    seen, out = set(), []
    for field in targets:
        for use, text in field_names(entry, field):
            if text.casefold() not in seen:
                seen.add(text.casefold())
                out.append((use, text))
    for use, text in list(out):
        # Bracketed asides ([Chagas], (I41.2*)) are often left out by other editions of a name.
        short = strip_asides(text)
        if short and short.casefold() not in seen:
            seen.add(short.casefold())
            out.append((use, short))
        # An aside that is a known abbreviation (`Острый миелобластный лейкоз [ОМЛ]`) names the entry too, by
        # its expansion (`острый миелоидный лейкоз`), which other editions may use instead.
        for aside in _BRACKETED.findall(text):
            expansion = rules().abbreviations.get(basic_fold(aside.strip()[1:-1].strip()))
            if expansion and expansion.casefold() not in seen:
                seen.add(expansion.casefold())
                out.append(("abbreviation", expansion))
    return out


def build_from_entries(path: Path, entries, language: str, label: str = "", catalog: str = "",
                       targets=None) -> BuildReport:
    """Build an index of `entries` (canonical dicts) into the folder `path`, replacing what is there.

    `targets` are the fields whose names are searched (`fields.py`; default display and designations).
    Written into a temporary sibling folder and renamed into place, so readers never see half an index.
    """
    started = time.perf_counter()
    path = Path(path)
    tmp = path.parent / f".build-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        codes, displays, attributes, docs, df = [], [], [], [], {}
        entries = list(entries)
        targets = tuple(targets or DEFAULT_TARGETS)
        parents = parent_rows(entries)
        for row, entry in enumerate(entries):
            codes.append(entry["code"])
            displays.append(entry["display"])
            attributes.append(entry.get("attributes") or {})
            names = _designations(entry, targets)
            parent = entries[parents[row]]["display"] if row in parents and "display" in targets else None
            if parent and parent.casefold() not in entry["display"].casefold():
                # The parent's name with the child's, as other editions often spell a child out.
                names.append(("under parent", f"{parent} : {entry['display']}"))
            own_qualifiers = frozenset()
            for position, (use, text) in enumerate(names):
                a = analyse(text, language)
                unique = set(a.keys)
                for key in unique:
                    df[key] = df.get(key, 0) + 1
                if position == 0:  # the display, when it is searched
                    own_qualifiers = a.qualifiers
                # A parent's qualifiers (`Other X : X, unspecified`) are not the child's.
                qualifiers = own_qualifiers if use == "under parent" else a.qualifiers
                docs.append([row, use, text, a.lemma_text, a.key_text, sorted(a.quantities), sorted(qualifiers)])
        # One vocabulary document per distinct word, after the designations: its 3-grams lead a
        # misspelt or transliterated query word to the catalog words that look like it (`postings.inverted`).
        vocabulary = [k for k in df if len(k) >= FUZZY_MIN_LEN and not k[0].isdigit()]
        meta = {"catalog": catalog, "version": label, "language": language, "targets": list(targets),
                "codes": codes, "displays": displays, "attributes": attributes, "docs": docs, "df": df,
                "vocabulary": vocabulary, "parents": [parents.get(row, -1) for row in range(len(codes))]}
        write_index_file(tmp / INDEX_FILE, meta, FORMAT, rules_fingerprint())
        if path.exists():
            old = path.parent / f".old-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, path)
        except OSError:  # another process put an equal index there first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in path.iterdir())
    return BuildReport(path, catalog, label, len(codes), len(docs), time.perf_counter() - started, size)


def build_index(store, slug: str, version: str = "latest", targets=None) -> BuildReport:
    """(Re)build the index of a published version searching the `targets` fields (default display and
    designations) from the store; used by `nsi index rebuild` and on first use."""
    path, ref = index_dir(store, slug, version, targets)
    language = store.get_catalog(slug).language or "en"
    return build_from_entries(path, store.iter_entries(slug, ref.label), language, ref.label, slug, targets)


class MatchIndex:
    """An opened index: the reranking data of every designation, and its postings (built in memory from
    them on first use)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        meta = read_index_file(self.path / INDEX_FILE, FORMAT)  # InvalidState if damaged
        self.catalog, self.version, self.language = meta["catalog"], meta["version"], meta["language"]
        self.codes, self.displays, self.attributes = meta["codes"], meta["displays"], meta["attributes"]
        self.docs = meta["docs"]
        for d in self.docs:
            d[6] = frozenset(d[6])  # the qualifiers, compared as sets for every candidate of every query
        self.parents: list[int] = meta["parents"]  # row of each entry's parent by code, -1 for none
        self.vocabulary = meta["vocabulary"]
        n = self.doc_count = len(self.docs) or 1
        self.df: dict[str, int] = meta["df"]
        self.idf = {k: math.log((n + 1) / (c + 0.5)) for k, c in self.df.items()}
        self.max_idf = math.log((n + 1) / 0.5)
        self.by_key_text: dict[str, list[int]] = {}
        lengths = []
        self._display_docs: dict[int, int] = {}  # row -> its first designation that is the display
        for i, d in enumerate(self.docs):
            self.by_key_text.setdefault(d[4], []).append(i)
            lengths.append(len(set(d[4].split())))
            if d[1] == "display" and d[0] not in self._display_docs:
                self._display_docs[d[0]] = i
        self.lengths = lengths  # distinct keys of each designation
        mean = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.length_factor = [1.0 / (1 - LENGTH_B + LENGTH_B * size / mean) for size in lengths]
        # The same as arrays, for `find_candidates`: the damping and the tie-break of each designation.
        self._damping = numpy.array(self.length_factor, dtype=numpy.float64)
        self._tie = TIE * numpy.array(lengths, dtype=numpy.float64)
        self._inverted: dict[str, dict[str, list[int]]] = {}  # field -> term -> document numbers (`postings`)
        self._key_postings: dict[str, numpy.ndarray] = {}
        self._sides: dict[int, KeySide] = {}
        self._children: dict[int, list[int]] | None = None
        self.groups: dict[str, list[int]] = {}  # local group name -> doc ids of its likely target children
        self.context_bonuses: dict[tuple, dict[int, tuple]] = {}  # local ancestry -> parent row -> bonus
        self.context_shares: dict[str, dict[int, float]] = {}  # local group name -> row -> share (`context.py`)
        self._analysed: dict[str, Analysis] = {}
        self._key_sets: dict[str, frozenset[str]] = {}
        self._display_keys: dict[int, frozenset[str]] = {}  # row -> its display's keys
        self._candidates: dict[tuple[tuple[str, ...], int], list[int]] = {}
        self._similar: dict[tuple[str, int], list[tuple[str, float]]] = {}
        # reading (keys, qualifiers) -> {doc id: (base score, parts of its reason)}, see `rerank`
        self.base_scores: dict[tuple, dict[int, tuple]] = {}
        self.agreements: dict[tuple, dict[int, tuple]] = {}  # a term's attributes -> {row: agreement}
        load_morphology()  # on opening, not in the first Russian query's time

    def children_docs(self, row: int) -> list[int]:
        """Designation numbers of the entries whose parent is `row` (the map is built on first use)."""
        if self._children is None:
            by_row: dict[int, list[int]] = {}
            for doc_id, d in enumerate(self.docs):
                by_row.setdefault(d[0], []).append(doc_id)
            children: dict[int, list[int]] = {}
            for child, parent in enumerate(self.parents):
                if parent >= 0:
                    children.setdefault(parent, []).extend(by_row.get(child, ()))
            self._children = children
        return self._children.get(row, [])

    def analysed(self, name: str) -> Analysis:
        """`analyse(name)` in the index's language, kept: a local group's name is also its members' context.

        The result is shared: callers must not change it.
        """
        found = self._analysed.get(name)
        if found is None:
            if len(self._analysed) >= NAME_CACHE:
                self._analysed.clear()
            found = self._analysed[name] = analyse(name, self.language)
        return found

    def key_set(self, name: str) -> frozenset[str]:
        """The distinct keys of a name (kept: parents recur across the queries of one group)."""
        found = self._key_sets.get(name)
        if found is None:
            if len(self._key_sets) >= NAME_CACHE:
                self._key_sets.clear()
            found = self._key_sets[name] = frozenset(self.analysed(name).keys)
        return found

    def display_keys(self, row: int) -> frozenset[str]:
        """`key_set(displays[row])`, read from the row's display designation when it has one (its keys were
        analysed from that very text when the index was built) instead of analysing the name again: the group
        context compares the displays of the candidates' parents, most of them met once in a list."""
        found = self._display_keys.get(row)
        if found is None:
            doc = self._display_docs.get(row)
            display = self.displays[row]
            if doc is not None and self.docs[doc][2] == display:
                found = frozenset(self.docs[doc][4].split())
            else:
                found = self.key_set(display)
            self._display_keys[row] = found
        return found

    @staticmethod
    def is_current(path: Path) -> bool:
        """Whether an index of this FORMAT built with the current rules is at `path`, by its file's head
        line alone (an index from before FORMAT 24 has none: it is stale). Whether its body is whole is
        checked when it is opened (`read_index_file`)."""
        head = read_head(Path(path) / INDEX_FILE)
        return bool(head) and head.get("format") == FORMAT and head.get("rules") == rules_fingerprint()

    def postings(self, field_name: str, text: str) -> list[int]:
        """Document numbers holding `text` in `field_name` (`keys` or `grams`), in ascending order.

        Read from tables built in memory on the field's first use (`postings.inverted`; `test_matching_index.py`
        checks them against a scan of the documents): one pass over the names or the vocabulary (0.005-0.03 s
        for the benchmark catalogs), where reading them term by term from files in Python cost tens of µs a
        term, of which a query reads two to six, most for the first time in a list of a thousand names.
        """
        table = self._inverted.get(field_name)
        if table is None:
            table = self._inverted[field_name] = inverted(field_name, self.docs, self.vocabulary)
        return table.get(text, _NONE)

    def key_postings(self, key: str) -> numpy.ndarray:
        """The designation numbers holding `key`, as an array (made once and then kept)."""
        ids = self._key_postings.get(key)
        if ids is None:
            if len(self._key_postings) >= POSTINGS_CACHE:
                self._key_postings.clear()
            ids = self._key_postings[key] = numpy.array(self.postings("keys", key), dtype=numpy.intp)
        return ids

    def key_side(self, doc_id: int) -> KeySide:
        """The prepared keys of designation `doc_id` for reranking, worked out once and then kept."""
        side = self._sides.get(doc_id)
        if side is None:
            side = self._sides[doc_id] = key_side(tuple(self.docs[doc_id][4].split()), self.idf, self.max_idf)
        return side

    def key_sides(self, doc_ids: list[int]) -> list[KeySide]:
        """`key_side` of each of `doc_ids`, in one call (a query's pending candidates)."""
        kept = self._sides
        found = list(map(kept.get, doc_ids))
        if None in found:
            found = [side or self.key_side(d) for side, d in zip(found, doc_ids)]
        return found

    def similar_words(self, word: str, limit: int = 8) -> list[tuple[str, float]]:
        """Catalog words that look like `word` (not in the catalog): [(word, similarity 0-1)], best first.

        The word's 3-grams are looked up among the vocabulary documents; the
        words sharing most grams are checked with rapidfuzz's ratio. Kept per word: the words a catalog
        lacks (a Russian word against English names) recur from one name to the next.
        The list is shared: callers must not change it.
        """
        memo = (word, limit)
        found = self._similar.get(memo)
        if found is None:
            if len(self._similar) >= NAME_CACHE:
                self._similar.clear()
            found = self._similar[memo] = self._similar_words(word, limit)
        return found

    def _similar_words(self, word: str, limit: int) -> list[tuple[str, float]]:
        """`similar_words`, worked out."""
        from rapidfuzz import fuzz
        postings = self.postings
        # How many of the word's grams each vocabulary word shares, counted in C (the grams' order: as a loop)
        counts = Counter(chain.from_iterable(postings("grams", gram) for gram in set(grams_of([word]))))
        first = len(self.docs)
        vocabulary = self.vocabulary
        out = []
        # Of words sharing as many grams, those nearest in length, then by the word itself: the choice must
        # not follow the order of sets and dicts, which changes from one process to the next. Only words with
        # at least the count of the last one taken are ranked by the full key.
        wanted = limit * 3
        least = sorted(counts.values(), reverse=True)[:wanted][-1] if counts else 0  # in C: `nlargest` loops in Python
        close = sorted((d for d, n in counts.items() if n >= least), reverse=True, key=lambda d: (
            counts[d], -abs(len(vocabulary[d - first]) - len(word)), vocabulary[d - first]))
        for docnum in close[:wanted]:
            other = vocabulary[docnum - first]
            sim = fuzz.ratio(word, other) / 100
            if sim >= FUZZY_WORD:
                out.append((other, sim))
        return sorted(out, key=lambda x: -x[1])[:limit]

    def candidates(self, keys: list[str], limit: int = 60) -> list[int]:
        """`find_candidates`, kept for the last few thousand key lists (a group's name is looked up twice).

        The list is shared: callers must not change it.
        """
        memo = (tuple(keys), limit)
        found = self._candidates.get(memo)
        if found is None:
            if len(self._candidates) >= NAME_CACHE:
                self._candidates.clear()
            found = self._candidates[memo] = self.find_candidates(keys, limit)
        return found

    def find_candidates(self, keys: list[str], limit: int = 60) -> list[int]:
        """Designation numbers of the best hits for these keys in the index's postings, best first.

        Terms: the query's words that occur in the catalog (words in more than a
        fifth of the designations only when nothing rarer is there), and, for a
        word that does not occur (misspelt, inflected, transliterated), the
        catalog words that look like it (`similar_words`). Each designation
        collects the IDF of the terms it holds, damped by its length. The postings come from `postings`
        (tables in memory): scoring them through whoosh's query matchers costs ten times
        more in Python.
        """
        unique = list(dict.fromkeys(keys))
        if not unique:
            return []
        common = max(50, self.doc_count // 5)
        known = [k for k in unique if k in self.df]
        rare = [k for k in known if self.df[k] <= common]
        terms = [(k, 1.0) for k in (rare or known)]
        for key in unique:
            if key not in self.df and len(key) >= FUZZY_MIN_LEN and not key[0].isdigit():
                terms += self.similar_words(key, 4)
        postings, weights = [], []
        for text, similarity in terms:
            weight = similarity * self.idf.get(text, 0.0)
            if weight > 0:
                postings.append(self.key_postings(text))
                weights.append(weight)
        exact = self.by_key_text.get(" ".join(keys), [])
        if len(postings) == 1:  # half the names of a list: each designation met once, in ascending order
            docs, sums = postings[0], weights[0]
        else:
            docs, sums = _weight_sums(postings, weights)
        if not len(docs):
            return list(exact)
        # Longer names collect more of a query's words by chance: their sum is damped by their length
        # (as in BM25), and of equal sums the shorter name comes first.
        ranking = sums * self._damping[docs] - self._tie[docs]
        best = docs[numpy.argsort(-ranking, kind="stable")[:limit]].tolist()
        return exact + [d for d in best if d not in exact]

    def close(self) -> None:
        """Release the index (nothing is held open: its file is read whole when it is opened)."""


def _weight_sums(postings: list[numpy.ndarray], weights: list[float]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The designations of several terms' postings in the order first met, and each one's sum of the weights of
    the terms it holds, added in the terms' order (so that equal scores keep that order in a stable sort).

    With one term this is its postings (ascending, each once) and its weight (`0.0 + w` is `w`):
    `find_candidates` takes that shortcut, and `test_matching_speed.py` compares the two.
    """
    if not postings:
        return numpy.zeros(0, dtype=numpy.intp), numpy.zeros(0)
    held = numpy.concatenate(postings)
    docs, first, slot = numpy.unique(held, return_index=True, return_inverse=True)
    sums = numpy.bincount(slot, weights=numpy.repeat(weights, [len(p) for p in postings]))
    met = numpy.argsort(first, kind="stable")
    return docs[met], sums[met]


def open_index(store, slug: str, version: str = "latest", targets=None) -> MatchIndex:
    """The index of a published version searching the `targets` fields, built first when missing, built with
    other rules, or damaged.

    The index is a derived cache: a file of it that is truncated, missing or overwritten must not
    stop matching until someone runs `nsi index rebuild`, so a failure to open it rebuilds it once.
    """
    path, ref = index_dir(store, slug, version, targets)
    if not MatchIndex.is_current(path):
        build_index(store, slug, ref.label, targets)
    try:
        return MatchIndex(path)
    except Exception:  # any damage: a body that is cut short or not its CRC-32, a missing file, bad JSON
        build_index(store, slug, ref.label, targets)
        return MatchIndex(path)
