"""CSV by columns against the row path on generated files (hypothesis): whatever the file, the same outcome.

Each example is a CSV written byte by byte from generated rows: a delimiter
among `,` `;` tab, values quoted or not (quotes doubled, delimiters, line
breaks and lone CRs inside quotes), stray quotes, invisible and format
characters, Unicode white space around values, blank, short and long lines,
duplicate codes, status values, a BOM, CRLF or no final newline. It is imported
with the columnar path forced at a small block size and with it off (the helpers
of tests.test_importers_columnar); the outcomes must be equal.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from registry import config

from tests.test_importers_columnar import HEADER, blocks, both_ways, profile  # noqa: F401 (a fixture)

ODD = ["\u200b", "\ufeff", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\xa0", "\u3000", "\u2003", "\x1c", "\x1f",
       "\t", " ", "\u0301", "A\u0308", "\u00c4", "é", "ß", "ﬁ", "\\", "/", "%s", "{}", "\x7f", "\U0001f600", "\x07"]
WORDS = ["", " ", "C1", "C2", "c1", "007", "0012", "1e5", "-0", "NaN", "null", "NA", "None", "true", "1.50",
         "active", "inactive", "deprecated", "retired", " active ", "Active", "x" * 300]
value = st.one_of(st.sampled_from(WORDS),
                  st.lists(st.one_of(st.sampled_from(ODD + WORDS), st.characters(codec="utf-8"),
                                     st.sampled_from(['"', ",", ";", "\n", "\r", "\r\n"])),
                           max_size=6).map("".join))
# Values polars should take (no control character, quotes whole): white space and invisible characters around
SPACES = ["", " ", "\xa0", "\u3000", "\u2003", "\u200b", "\ufeff", "\u2028", "\x85", "\u180e", "\u202f", "  "]
mild = st.tuples(st.sampled_from(SPACES), st.sampled_from(WORDS + [o for o in ODD if o.isprintable()]),
                 st.sampled_from(SPACES)).map("".join)
row = st.lists(value, min_size=0, max_size=9)
counter = itertools.count()


@st.composite
def csv_files(draw):
    """(bytes, delimiter, has status) of a CSV file with the test's header and generated rows."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    status = draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n", "\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from(["minimal", "all", "random", "raw"]))
    extra = draw(st.sampled_from(["", "", ",", ',"a,b"']))  # a blank or quoted name (a repeated one is refused)
    width = (7 if status else 6) + bool(extra)
    # How messy the file is: 0 plain values with white space and invisible characters around them (blocks taken
    # whole), 1 a few generated rows and values among them, 2 mostly generated ones
    messy = draw(st.sampled_from([0, 0, 1, 1, 2]))
    lines = []
    for k, cells in enumerate(draw(st.lists(row, min_size=1, max_size=40))):
        if messy == 2 and draw(st.integers(0, 3)) or messy == 1 and not draw(st.integers(0, 19)):
            pass  # generated as it is: any width, any value
        else:
            plain = [f"C{k}"] + [f"v{k} {i}" for i in range(1, width)]
            if status:
                plain[6] = draw(st.sampled_from(["active", "", "retired"]))
            cells = [(cells[i] if i < len(cells) and messy and not draw(st.integers(0, 19)) else
                      draw(mild) if i > 1 and not draw(st.integers(0, 4)) else value) for i, value in enumerate(plain)]
        out = []
        for cell in cells:
            must = any(ch in cell for ch in (delimiter, '"', "\n", "\r"))
            quote = {"minimal": must, "all": True, "random": draw(st.booleans()) or must, "raw": False}[quoting]
            out.append('"' + cell.replace('"', '""') + '"' if quote else cell)
        lines.append(delimiter.join(out))
    header = (HEADER.replace("\n", ",status\n") if status else HEADER).replace("\n", extra + "\n")
    text = header.replace(",", delimiter).replace("\n", newline) + newline.join(lines)
    if lines and draw(st.booleans()):
        text += newline
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data, delimiter, status


@settings(max_examples=config.get("NSI_FUZZ_EXAMPLES"), deadline=None, suppress_health_check=list(HealthCheck))
@given(case=csv_files(), block_bytes=st.sampled_from([16, 64, 256, 4096]))
def test_generated_files_import_alike_by_columns_and_by_rows(store, tmp_path, monkeypatch, blocks, case,
                                                                     block_bytes):
    data, delimiter, status = case
    n = next(counter)
    path = tmp_path / f"fuzz{n}.csv"
    path.write_bytes(data)
    prof = profile(delimiter, status=status, encoding="auto")
    before = len(blocks)
    by_rows, by_columns = both_ways(store, monkeypatch, path, prof, f"f{n}", block_bytes)
    assert by_columns == by_rows, data
    TAKEN.append(len(blocks) > before)


TAKEN: list[bool] = []  # whether each example had blocks staged whole (printed by -s)


def teardown_module():
    print(f"columnar fuzz: {sum(TAKEN)} of {len(TAKEN)} examples staged blocks")


# Differences the generated files found (each failed before its fix)
FOUND = {
    # polars drops a byte order mark that starts its input: a row starting with U+FEFF lost it at a block's start
    "feff-at-block-start": HEADER + "\ufeffC1,N,a,b,c,d\nC2,N,a,b,c,d\n",
    # a block with an empty code goes row by row, and there a line of delimiters and white space was a row
    "blank-line-in-odd-block": HEADER + "C1,N,a,b,c,d\n , ,\u3000, , , \n,,,,,\nC2,N,a,b,c,d\n,N,a,b,c,d\n",
    # a header ended by a lone CR: the csv module's row 2 started after it, the columnar path's after the next LF
    "header-ended-by-cr": HEADER.replace("\n", "\r") + "C1,N,a,b,c,d\nC2,N,a,b,c,d\n",
}


@pytest.mark.parametrize("name", list(FOUND))
@pytest.mark.parametrize("block_bytes", [16, 4096])
def test_found_differences_stay_fixed(store, tmp_path, monkeypatch, name, block_bytes):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(FOUND[name].encode("utf-8"))
    by_rows, by_columns = both_ways(store, monkeypatch, path, profile(), name, block_bytes)
    assert by_columns == by_rows


@pytest.mark.parametrize("delimiter", ["§", "¦", "|", " "])
def test_a_delimiter_of_any_one_character_imports_alike(store, tmp_path, monkeypatch, delimiter):
    """polars takes a one-byte separator only: a profile's `§` (two bytes in UTF-8) crashed the columnar path."""
    path = tmp_path / "delimited.csv"
    text = HEADER + "".join(f"C{i},N{i},a,b,c,d\n" for i in range(40)) + 'C99,"x,y",a,b,c,d\n'
    path.write_bytes(text.replace(",", delimiter).encode("utf-8"))
    by_rows, by_columns = both_ways(store, monkeypatch, path, profile(delimiter), f"d{ord(delimiter)}", 64)
    assert by_columns == by_rows and by_rows[0] == "staged"
