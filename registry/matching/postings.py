"""The postings of a match index's two fields, built in memory from `entries.json` when queries need them.

`keys` holds the distinct keys of each designation (document numbers 0 to n-1, in the order of
`entries.json`'s `docs`); `grams` the distinct character 3-grams of each vocabulary word (the documents
after them). The index file holds the documents only: `inverted` builds a field's postings from them in one
pass (0.02-0.1 s for the benchmark catalogs, 0.4 s for 100k entries), several times less than reading stored
postings back from whoosh's files (docs/matching.md), and the documents stay the one truth they come from.
"""

from __future__ import annotations

GRAM = 3


def grams_of(keys: list[str]) -> list[str]:
    """Character 3-grams of each key padded with `_`, so word starts and ends count."""
    out = []
    for key in keys:
        if len(key) < 3 or key.isdigit():
            continue
        padded = f"_{key}_"
        out.extend(padded[i:i + GRAM] for i in range(len(padded) - GRAM + 1))
    return out


def inverted(field_name: str, docs: list, vocabulary: list[str]) -> dict[str, list[int]]:
    """{term: document numbers, ascending} of one field (`keys` or `grams`) of an index's documents: the
    distinct keys of each designation (`docs`, numbered from 0), then the distinct 3-grams of each vocabulary
    word (numbered on from `len(docs)`)."""
    table: dict[str, list[int]] = {}
    if field_name == "keys":
        for doc_id, d in enumerate(docs):
            for key in set(d[4].split()):
                table.setdefault(key, []).append(doc_id)
    elif field_name == "grams":
        first = len(docs)
        for i, word in enumerate(vocabulary):
            for gram in set(grams_of([word])):
                table.setdefault(gram, []).append(first + i)
    else:
        raise ValueError(f"the match index has no field {field_name!r}")
    return table
