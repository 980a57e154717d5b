"""CSV rows by columns (polars): blocks of a file's rows built as whole columns, for the compiled row builder's layout.

Issue 20 item 9: per-row Python cannot import a CSV near the floor (the
bench's hand-written per-row lower bound alone is 2.5x). For a profile whose
records all go to the compiled row builder (`Mapper.direct()`,
importers.compiled) and a plain UTF-8 CSV with its header on the first line,
the file is read in blocks of whole lines by polars (every column as text),
the cells are stripped and the canonical line and attributes JSON are built
as string expressions, the content hash is one sha256 per row, and the block
goes to the store whole (`EncodedBlock`; registry.store.staging checks its
codes as sets and inserts it binding only the columns that vary).

The staged rows are byte for byte the row builder's, and the problems the
same, because nothing polars might read otherwise than the csv module, and
nothing the row builder would decline, is taken by columns: a block with a
quoted line break, a blank, short or long line, a quote not wrapping a whole
value, NUL, a lone CR or a U+FEFF at its start is read by the csv module (the rest of the file, if
the block holds a quote, since quoting state crosses blocks), and a block
with an empty code, a status outside the canonical ones or a control
character goes row by row through the row builder. The store takes a block
row by row too when any of its codes is a duplicate, not printable or not
NFC, the catalog has a field schema, or errors were found already (empty
displays are warned of row by row, and the block is still staged whole).

polars is imported only when a file takes this path; its threads are limited
(POLARS_MAX_THREADS, unless set) as one import is one stream of blocks, and
its allocator is asked to give freed memory back at once (the 1M-row import
must stay under 300 MB).
"""

from __future__ import annotations

import functools
import io
import os
import re
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Callable, Iterator

from registry.entries import STATUSES, EncodedBlock

BLOCK_BYTES = 1 << 20  # about 10k rows of a typical register: bounded memory, few polars calls
# Smaller files are read row by row: importing polars (0.08 s CPU) costs more than it saves below ~20k rows
MIN_BYTES = 1 << 21
# What str.strip() strips (Unicode white space as Python sees it; polars' default differs in \x1c-\x1f).
WHITESPACE = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
CONTROLS = bytes(b for b in range(32) if b not in b"\r\n")  # bytes JSON escapes (a line end is no value's here)


def polars():
    """The polars module, imported with one thread and an allocator that returns freed pages at once."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:false,dirty_decay_ms:0,muzzy_decay_ms:0")
    import polars as pl
    return pl


def compile_block_builder(indexes: list[int], has_status: bool, names: tuple[str, ...], file: str | None,
                          sheet: str | None, columns: dict | None) -> Callable:
    """A function (polars frame of a block's cells, first line, controls, quotes) -> EncodedBlock or None.

    The same layout as `importers.compiled.compile_row_builder` (cell indexes
    of code, display, status if `has_status`, and the attributes `names` in
    sorted order): the block holds, column by column, what the row builder
    puts in each row's `stored` tuple. A frame with a row the row builder
    would decline or write otherwise (an empty code, a status outside the
    canonical ones, a control character, which JSON writes as an escape) gets
    None, and its rows go through the row builder one by one. `controls`
    False says the block's bytes hold no control character, `quotes` False that
    no cell holds a quote or backslash (JSON escapes neither then).
    """
    pl = polars()

    def text(k):
        return pl.col(f"f{k}")

    def expressions(escape: bool):
        """The status, attributes JSON (with and without empty values) and canonical line expressions; without
        `escape` for cells known to hold no quote or backslash."""

        def enc(expr):  # json.encoder.encode_basestring for text without control characters
            if escape:
                expr = expr.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
            return pl.concat_str([pl.lit('"'), expr, pl.lit('"')])

        status = (pl.when(text(2) == "").then(pl.lit("active")).otherwise(text(2))) if has_status else pl.lit("active")
        first_attribute = 3 if has_status else 2
        pieces = [pl.when(text(first_attribute + k) != "").then(pl.concat_str([pl.lit(encode_basestring(n) + ":"),
                                                                                 enc(text(first_attribute + k))]))
                  for k, n in enumerate(names)]
        attributes = pl.concat_str([pl.lit("{"), pl.concat_str(pieces, separator=",", ignore_nulls=True),
                                    pl.lit("}")]) if names else pl.lit("{}")
        # The same for a block without empty attribute values (the commonest case): one concatenation, cheaper
        parts = [pl.lit("{")]
        for k, n in enumerate(names):
            parts += [pl.lit(("," if k else "") + encode_basestring(n) + ":"), enc(text(first_attribute + k))]
        filled = pl.concat_str(parts + [pl.lit("}")]) if names else pl.lit("{}")
        no_empty = pl.all_horizontal([text(first_attribute + k) != "" for k in range(len(names))]).all() if names \
            else pl.lit(True)
        unusual = [text(0) == ""]  # control characters are looked for in the line, which holds every value
        if has_status:
            unusual.append(~pl.col("status").is_in(list(STATUSES)))
        line = pl.concat_str([pl.lit('{"code":'), enc(text(0)), pl.lit(',"display":'), enc(text(1)),
                              pl.lit(',"designations":[],"parents":[],"status":"'), pl.col("status"),
                              pl.lit('","attributes":'), pl.col("attributes"), pl.lit("}")])
        return status, attributes, filled, no_empty, unusual, line

    plain, escaped = expressions(False), expressions(True)

    def build(frame, first_row: int, controls: bool = True, quotes: bool = True):
        status, attributes, filled, no_empty, unusual, line = escaped if quotes else plain
        names_in = frame.columns
        cells = frame.select([pl.col(names_in[i]).fill_null("").str.strip_chars(WHITESPACE).alias(f"f{k}")
                              for k, i in enumerate(indexes)])
        full = cells.select(no_empty).item()
        cells = cells.with_columns(status.alias("status"), (filled if full else attributes).alias("attributes"))
        if cells.select(pl.any_horizontal(unusual).any()).item():
            return None
        lines = cells.select(line).to_series()
        if controls and lines.str.contains(r"[\x00-\x1f]").any():
            return None
        hashes = [sha256(b).hexdigest()[:32] for b in lines.cast(pl.Binary).to_list()]
        del lines
        return EncodedBlock(cells["f0"].to_list(), hashes, cells["f1"].to_list(),
                            cells["status"].to_list() if has_status else None, cells["attributes"].to_list(),
                            first_row, file, sheet, columns)
    return build


def block_records(path, offset: int, first_row: int, delimiter: str, width: int, build_block: Callable,
                  text_records: Callable[[Iterator[str], int], Iterator[tuple]]) -> Iterator:
    """The records of a CSV file from byte `offset` (the start of line `first_row`): EncodedBlocks, or
    (row, cells, None) as the row path reads them.

    `build_block(frame, first_row, controls, quotes)` makes a block of a frame (None: its
    rows go one by one); `text_records(lines, row_before)` reads text with the
    csv module, the first line being row `row_before + 1`.
    """
    pl = polars()
    with open(path, "rb") as f:
        f.seek(offset)
        line, pending = first_row, b""
        while True:
            more = f.read(BLOCK_BYTES)
            data = pending + more
            if not data:
                return
            cut = _record_end(data) if more else len(data)
            if cut <= 0:  # a quoted value longer than a block: the csv module reads on
                yield from _rest(path, offset, line, text_records)
                return
            chunk, pending = data[:cut], data[cut:]
            del data, more
            lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            frame = _frame(pl, chunk, delimiter, width, lines)
            if frame is None:
                if b'"' in chunk:  # quoting may continue past the block: the rest goes by the csv module
                    yield from _rest(path, offset, line, text_records)
                    return
                yield from text_records(io.StringIO(chunk.decode("utf-8"), newline=""), line - 1)
                # the csv module ends a line at a lone CR too (a block taken by polars has none)
                lines += chunk.count(b"\r") - chunk.count(b"\r\n") - chunk.endswith(b"\r")
            else:
                block = build_block(frame, line, len(chunk.translate(None, CONTROLS)) < len(chunk),
                                    b"\\" in chunk or b'""' in chunk)  # a quote in a value is doubled
                if block is not None:
                    del frame  # not kept while the store takes the block
                    yield block
                    del block
                else:
                    for k, cells in enumerate(frame.fill_null("").rows()):
                        if "".join(cells).strip():  # a line of delimiters and white space is no row (csv._is_blank)
                            yield line + k, list(cells), None
                    del frame
            offset += len(chunk)
            line += lines


def _record_end(data: bytes) -> int:
    """The end of the last line of `data` outside quotes (an even number of quotes before it); 0 if none."""
    cut = data.rfind(b"\n") + 1
    quotes = data.count(b'"', 0, cut)  # counted once and then taken off line by line: a long walk back stays linear
    while cut > 0 and quotes % 2:
        before = data.rfind(b"\n", 0, cut - 1) + 1
        quotes -= data.count(b'"', before, cut)
        cut = before
    return cut


def _frame(pl, chunk: bytes, delimiter: str, width: int, lines: int):
    """The block's cells as a polars frame (a column per header column), or None if polars may read it otherwise.

    polars refuses a line with more values than the header and fills a short
    or blank one with nulls, so once every quote is known to wrap a whole value
    (the csv module and polars then split lines alike), the block has only
    whole rows exactly when its delimiters outside quotes are `width - 1` per line.
    """
    if (b"\x00" in chunk or b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n") or width < 2
            or chunk.startswith(b"\xef\xbb\xbf")):  # polars drops a byte order mark that starts the block
        return None
    try:
        frame = pl.read_csv(chunk, has_header=False, separator=delimiter, quote_char='"',
                            schema={f"c{i}": pl.String for i in range(width)})
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return None
    if frame.height != lines:  # a quoted line break, or polars dropped a line
        return None
    sep = delimiter.encode("utf-8")
    outside = chunk.count(sep)
    if b'"' in chunk:
        well_quoted, at = _well_quoted(sep), chunk.find(b'"')
        while at >= 0:  # each line holding a quote
            end = chunk.find(b"\n", at)
            end = len(chunk) if end < 0 else end
            line = chunk[chunk.rfind(b"\n", 0, at) + 1:end]
            if well_quoted.fullmatch(line) is None:
                return None  # polars takes some quotes the csv module refuses (`"a "b""`) or reads otherwise
            outside -= sum(value.count(sep) for value in _QUOTED.findall(line))
            at = chunk.find(b'"', end)
    return frame if outside == lines * (width - 1) else None


_QUOTED = re.compile(rb'"(?:[^"]|"")*"')


@functools.lru_cache(maxsize=8)
def _well_quoted(sep: bytes) -> re.Pattern:
    """A line whose values are each quoted whole (quotes doubled) or hold no quote (`sep` between values)."""
    d = re.escape(sep)
    value = b'(?:"(?:[^"]|"")*"|(?:(?!' + d + b')[^"\r\n])*)'
    return re.compile(value + b"(?:" + d + value + b")*\r?")


def _rest(path, offset: int, line: int, text_records) -> Iterator[tuple]:
    """Everything from byte `offset` (the start of line `line`) on, read by the csv module."""
    with open(path, encoding="utf-8", newline="") as f:
        f.seek(offset)
        yield from text_records(f, line - 1)
