"""Every scoring weight of the matcher, in one place (docs/matching.md, *What the score means*, explains them).

Retrieval (`index.py`), reranking (`rerank.py`) and the group context (`context.py`) read them from here.
"""

# Retrieval: how many designations go on to reranking, and how much a designation's length damps its
# retrieval score (BM25's b): 0 = not at all. Without it, the many long names of a chapter that hold every
# query word crowd the short exact one out (`Occupant [any] of three-wheeled motor vehicle injured in ...`).
RETRIEVE = 60
LENGTH_B = 0.3

# Base score: 60 × weighted word overlap + 0.25 × token_sort_ratio + 0.15 × token_set_ratio, capped below
# 100 (100 is kept for the same words after normalisation).
WORD_OVERLAP = 60
TOKEN_SORT = 0.25
TOKEN_SET = 0.15
INEXACT_MAX = 99.0
# Near-identical words (rapidfuzz ratio ≥ 80, five letters or more) count by their similarity.
FUZZY_WORD = 0.80
FUZZY_MIN_LEN = 5
# A dose on one side when the other has none weighs this share of that side's mean word.
QUANTITY_ALONE = 0.25
# Qualifiers (`other`, `unspecified`, ...): added for each both names have, taken for each only one has.
QUALIFIER_SAME = 2.0
QUALIFIER_DIFFERENT = 6.0

# Agreement: the local code, doses, attributes.
SAME_CODE = 10
SAME_QUANTITIES = 2
DIFFERENT_QUANTITIES = 15
SAME_ATTRIBUTE = 3
DIFFERENT_ATTRIBUTE = 8

# Categories: a category is lifted above two or more subdivisions scoring at least this.
LIFT_MIN = 85.0

# Group context (`context.py`): points for a parent named exactly like the local group (less for a partial
# match, half for each generation above), how many candidates it reorders, how many generations it
# compares, and how many target entries the local group's name is taken to be (their children join).
# The local group's name is looked up among the first GROUP_POOL of its RETRIEVE retrieved designations (the
# same retrieval as a query of that name, so each is done once). Against all 60, 25 gives the same ATC ru -> en
# held-out figures with and without the tables and no development row fewer (20 loses two), at half the cost;
# so do two target groups instead of three (GROUP_MATCHES), whose members the queries then score fewer of.
CONTEXT_WEIGHT = 8.0
CONTEXT_POOL = 20
CONTEXT_DEPTH = 3
GROUP_MATCHES = 2
GROUP_POOL = 25
