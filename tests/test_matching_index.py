"""The match index (`registry/matching/index.py`, `index_file.py`, `postings.py`): built on first use, rebuilt when
damaged or stale, its retrieval, and what it keeps between queries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.errors import InvalidState
from registry.matching import build_index, match
from registry.matching.index import MatchIndex, build_from_entries, index_dir

from matching_fixtures import ATC_NYSTATIN, DRUGS, publish, small_index


def test_index_is_built_on_first_use_and_new_versions_get_their_own(store):
    publish(store, "drugs", DRUGS)
    path, _ = index_dir(store, "drugs", "1")
    assert not path.exists()
    match(["paracetamol"], target=("drugs", "latest"), store=store)
    assert (path / "entries.json").is_file()
    store.stage_draft("drugs", "2", DRUGS + [{"code": "I200", "display": "Ibuprofen tablets 200 mg"}],
                      source_name="test")
    store.publish("drugs", "2")
    result = match(["ibuprofen 200 mg"], target=("drugs", "latest"), limit=1, store=store)
    assert result[0]["candidates"][0]["code"] == "I200"
    new_path, _ = index_dir(store, "drugs", "2")
    assert new_path != path and new_path.is_dir()
    report = build_index(store, "drugs", "2")
    assert (report.entries, report.designations) == (6, 7)


DAMAGES = ["truncate entries.json", "delete entries.json", "zero the body", "a changed dose in the body",
           "a head that is not JSON", "no head line"]


def damage_index_file(meta: Path, damage: str) -> None:
    """Damage an index file one way; each leaves a file whose body, if believed, would answer wrongly or fail."""
    raw = meta.read_bytes()
    head, body = raw.split(b"\n", 1)
    if damage == "truncate entries.json":
        meta.write_bytes(raw[:300])
    elif damage == "delete entries.json":
        meta.unlink()
    elif damage == "zero the body":
        meta.write_bytes(head + b"\n" + b"\0" * len(body))
    elif damage == "a changed dose in the body":  # still valid JSON of the same length: only the CRC-32 tells
        changed = body.replace(b"Paracetamol tablets 500 mg", b"Paracetamol tablets 900 mg", 1)
        assert changed != body and json.loads(changed)
        meta.write_bytes(head + b"\n" + changed)
    elif damage == "a head that is not JSON":
        meta.write_bytes(b"{" + head[:-2] + b"\n" + body)
    else:
        meta.write_bytes(body)


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_index_is_rebuilt_on_next_use(store, damage):
    import registry.matching as matching
    from registry.matching.index import FORMAT, read_index_file
    publish(store, "drugs", DRUGS)
    path, _ = index_dir(store, "drugs", "1")
    matching._OPEN.clear()
    match(["paracetamol 500 mg"], target="drugs", store=store)
    matching._OPEN.pop(str(path)).close()  # a new process: nothing open yet
    meta = path / "entries.json"
    damage_index_file(meta, damage)
    with pytest.raises((InvalidState, OSError)):
        MatchIndex(path)
    (result,) = match(["paracetamol 500 mg"], target="drugs", limit=1, store=store)
    assert (result["candidates"][0]["code"], result["candidates"][0]["display"]) == (
        "P500", "Paracetamol tablets 500 mg")
    assert "Paracetamol tablets 500 mg" in read_index_file(meta, FORMAT)["displays"]  # whole again
    assert [f.name for f in path.iterdir()] == ["entries.json"]


def test_an_index_of_an_older_format_is_stale_and_rebuilt(store):
    # An index from before FORMAT 24 (entries.json a single JSON object, next to whoosh's files) is stale although
    # its rules and entries are the same: it is rebuilt on next use, and the whoosh files go with the old folder.
    import registry.matching as matching
    from registry.matching.index import FORMAT, read_index_file, rules_fingerprint
    publish(store, "drugs", DRUGS)
    path, _ = index_dir(store, "drugs", "1")
    matching._OPEN.clear()
    match(["paracetamol 500 mg"], target="drugs", store=store)
    matching._OPEN.pop(str(path)).close()
    meta = path / "entries.json"
    body = read_index_file(meta, FORMAT)
    body["displays"] = ["an old display"] * len(body["displays"])
    meta.write_text(json.dumps({"format": 23, "rules": rules_fingerprint(), **body}), encoding="utf-8")
    for name in ("_MAIN_1.toc", "MAIN_abcdef.seg"):
        (path / name).write_bytes(b"whoosh")
    assert not MatchIndex.is_current(path)
    (result,) = match(["paracetamol 500 mg"], target="drugs", limit=1, store=store)
    assert result["candidates"][0]["display"] == "Paracetamol tablets 500 mg"
    assert MatchIndex.is_current(path) and sorted(f.name for f in path.iterdir()) == ["entries.json"]


def test_an_index_built_with_other_rules_is_not_current(tmp_path):
    from registry.matching.index import FORMAT
    path = build_from_entries(tmp_path / "ix", DRUGS, "en").path
    assert MatchIndex.is_current(path)
    meta = path / "entries.json"
    head, body = meta.read_bytes().split(b"\n", 1)
    assert json.loads(head)["format"] == FORMAT
    meta.write_bytes(head.replace(b'"rules": "', b'"rules": "0') + b"\n" + body)
    assert not MatchIndex.is_current(path)
    assert not MatchIndex.is_current(tmp_path / "nothing here")


def test_retrieval_finds_a_short_name_among_many_long_ones_holding_the_same_words(tmp_path):
    from registry.matching import Term, match_term
    vehicles = ["car", "bus", "van", "truck", "tram", "cart", "cycle", "train"]
    siblings = [{"code": f"V{i:02d}.{j}", "display": f"Car occupant injured in collision with {v} {w} : "
                                                     f"driver injured in nontraffic accident"}
                for i, v in enumerate(vehicles) for j, w in enumerate(["wheel", "frame", "door", "roof", "seat",
                                                                       "axle", "lamp", "horn", "mirror"])]
    assert len(siblings) > 60  # more than the candidate step keeps
    target = {"code": "V99.3", "display": "Car occupant [any] injured in unspecified nontraffic accident"}
    with small_index(tmp_path, siblings + [target], "en") as index:
        ranked = match_term(index, Term("Car occupant person injured in unspecified nontraffic accident"))
        assert ranked[0]["code"] == "V99.3"


def test_an_abbreviation_in_brackets_names_the_entry_by_its_expansion(tmp_path):
    from registry.matching import Term, match_term
    icd = [{"code": "C92", "display": "Миелоидный лейкоз [миелолейкоз]"},
           {"code": "C92.0", "display": "Острый миелобластный лейкоз [ОМЛ]"},
           {"code": "C92.7", "display": "Другой миелоидный лейкоз"}]
    with small_index(tmp_path, icd, "ru") as index:
        best = match_term(index, Term("Острый миелоидный лейкоз"), 1)[0]
        assert best["code"] == "C92.0" and best["score"] == 100
        assert best["reason"].startswith('abbreviation "острый миелоидный лейкоз"')
        # an aside that is no abbreviation adds nothing
        assert sum(d[0] == 0 for d in index.docs) == 2  # C92: the display and the display without its aside


def test_similar_words_do_not_depend_on_the_process_hash_seed(tmp_path):
    import os
    import subprocess
    import sys
    # Six one-letter variants of a word the catalog lacks; four share as many of its 3-grams, each a
    # different set of them. Which variant is proposed must not follow the order of sets and dicts.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from registry.matching.index import MatchIndex, build_from_entries\n"
        "from registry.matching.normalise import analyse\n"
        "query = 'zolbarimuk'\n"
        "words = [query[:i] + 'q' + query[i + 1:] for i in range(2, 8)]\n"
        "entries = [{'code': str(i), 'display': w} for i, w in enumerate(words)]\n"
        "ix = MatchIndex(build_from_entries(Path(sys.argv[1]), entries, 'en', '1', 't').path)\n"
        "print(ix.similar_words(analyse(query, 'en').keys[0], 1))\n"
        "ix.close()\n")
    answers = set()
    for seed in ("0", "1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"ix{seed}")], env=env,
                              capture_output=True, text=True, check=True)
        answers.add(done.stdout.strip())
    # The nearest in length among the variants sharing most grams, then the greatest word: always the same one.
    assert answers == {"[('solkarimuk', 0.9)]"}


def test_what_an_index_keeps_between_queries_changes_no_answer(tmp_path):
    # A group's name is analysed, looked up and scored once as a query and once as its members' context
    # (`MatchIndex.analysed`, `candidates`, `base_scores`): in whichever order they come, each answer is the
    # one a fresh index gives to that query alone.
    from registry.matching import Term, match_term
    terms = [Term("Антибиотики"),
             Term("Нистатин", None, {"parent": ["Антибиотики", "Противогрибковые препараты"]}),
             Term("Противогрибковые препараты для лечения заболеваний кожи"),
             Term("Нистатин"), Term("Нистатин (антибиотики)", None, {"parent": "Антибиотики"})]
    alone = []
    for i, term in enumerate(terms):
        with small_index(tmp_path / f"alone{i}", ATC_NYSTATIN, "en") as index:
            alone.append(match_term(index, term, 5))
    assert all(alone) and alone[1][0]["code"] != alone[3][0]["code"]  # the context did change an answer
    for order in (terms, terms[::-1], terms[1:] + terms[:1]):
        with small_index(tmp_path / f"order{terms.index(order[0])}", ATC_NYSTATIN, "en") as index:
            answers = {id(term): match_term(index, term, 5) for term in order}
            assert index.base_scores  # scores were kept, and reused by the later queries
            assert index.context_bonuses  # so were the bonuses of the local ancestries
        assert [answers[id(term)] for term in terms] == alone


def test_the_postings_are_those_of_a_scan_of_the_analysed_names(tmp_path):
    # `MatchIndex.postings` answers from tables built from the index's documents on first use: for every term of
    # both fields, the documents found by scanning every name analysed afresh (every vocabulary word's 3-grams),
    # in ascending order, and no other term; the document frequencies written at build agree with them.
    from registry.matching.index import grams_of
    from registry.matching.normalise import analyse
    from registry.matching.weights import FUZZY_MIN_LEN
    entries = ATC_NYSTATIN + DRUGS + [{"code": "X1", "display": "Paracetamol 500 mg tablets (oral)"},
                                      {"code": "X2", "display": "Острый миелобластный лейкоз [ОМЛ]"}]
    with small_index(tmp_path, entries, "ru") as index:
        keys = [set(analyse(d[2], "ru").keys) for d in index.docs]
        assert keys == [set(d[4].split()) for d in index.docs]
        first = len(index.docs)
        assert index.vocabulary == [k for k in index.df if len(k) >= FUZZY_MIN_LEN and not k[0].isdigit()]
        grams = [set(grams_of([word])) for word in index.vocabulary]
        for field, terms, scan in (
                ("keys", set().union(*keys), lambda t: [i for i, held in enumerate(keys) if t in held]),
                ("grams", set().union(*grams), lambda t: [first + i for i, held in enumerate(grams) if t in held])):
            assert len(terms) > 20, field
            for term in terms:
                assert index.postings(field, term) == scan(term), term
            assert sorted(index._inverted[field]) == sorted(terms)
            assert index.postings(field, "no-such-term") == []
        assert {k: len(index.postings("keys", k)) for k in index.df} == index.df
        assert sorted(index.df) == sorted(set().union(*keys))
        key = sorted(index.df)[0]
        assert index.key_postings(key).tolist() == index.postings("keys", key)
        # the keys of a row's display, read from its display designation, are those of analysing the display
        for row, display in enumerate(index.displays):
            assert index.display_keys(row) == frozenset(index.analysed(display).keys), display


def test_similar_words_are_kept_per_index_and_equal_to_a_fresh_lookup(tmp_path):
    # A word the catalog lacks recurs from name to name: its close words are looked up once per index.
    entries = [{"code": "1", "display": "paracetamol"}, {"code": "2", "display": "paramethasone"},
               {"code": "3", "display": "parecoxib"}]
    with small_index(tmp_path, entries, "en") as index:
        (word,), (catalog_word,) = index.analysed("paracetamoll").keys, index.analysed("paracetamol").keys
        first = index.similar_words(word, 4)
        assert first == index._similar_words(word, 4)
        assert first[0][0] == catalog_word
        assert index.similar_words(word, 4) is first  # kept, not worked out again
        assert index.similar_words(word, 1) == first[:1]  # another limit, another entry


def test_opening_an_index_loads_the_russian_morphology(tmp_path):
    # pymorphy3's dictionary takes a tenth of a second to load: on opening, not inside the first Russian query.
    from registry.matching.analysis.words import _morph
    _morph.cache_clear()
    with small_index(tmp_path, [{"code": "1", "display": "nystatin"}], "en"):
        assert _morph.cache_info().currsize == 1


def test_retrieval_sums_and_ties_are_those_of_a_plain_dict_and_sort(tmp_path):
    # find_candidates adds each designation's term weights with numpy and sorts stably: the same sums and the
    # same order as adding them in a dict in the order met and sorting it, ties (equal names) included.
    import heapq
    entries = [{"code": str(i), "display": name} for i, name in enumerate(
        ["renal failure", "failure renal", "renal colic", "acute renal failure", "heart failure", "renal",
         "renal failure", "chronic renal failure unspecified", "colic", "renal cyst", "gamma", "delta"])]
    with small_index(tmp_path, entries, "en") as index:
        # `delta gamma`: two names of equal score, the later one met first
        for query in ("renal failure", "acute renal colic", "failure", "renal cyst colic heart", "renall failur",
                      "delta gamma"):
            keys = index.analysed(query).keys
            found = index.find_candidates(keys, 4)
            unique = list(dict.fromkeys(keys))
            terms = [(k, 1.0) for k in unique if k in index.df]
            terms += [t for k in unique if k not in index.df and len(k) >= 5 for t in index.similar_words(k, 4)]
            scores: dict[int, float] = {}
            for text, similarity in terms:
                for doc in index.postings("keys", text):
                    scores[doc] = scores.get(doc, 0.0) + similarity * index.idf.get(text, 0.0)
            exact = index.by_key_text.get(" ".join(keys), [])
            best = heapq.nlargest(4, scores, key=lambda d: scores[d] * index.length_factor[d] - 1e-9 * index.lengths[d])
            assert found == exact + [d for d in best if d not in exact], query
