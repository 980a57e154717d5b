"""CSV by columns (importers.columnar) stages what the row path stages, byte for byte, and reports the same problems.

Every file is imported twice into one store, once with the columnar path
forced (any file size, small blocks so that block edges fall everywhere) and
once with it off; the staged tables (in insertion order), checksums, counts,
warnings and refusals must be equal. The tests also check that the columnar
path was taken (blocks reached the store), so they fail if it never runs.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from importers import columnar, run_import
from importers.profile import load_profile, validate
from registry.errors import ImportRejected
import registry.store.staging as staging

ROOT = Path(__file__).resolve().parent.parent

HEADER = "code,name,address,city,state,zip\n"


def profile(delimiter=",", status=False, encoding="utf-8"):
    """A plain-column profile (the compiled row builder's layout), attributes listed out of name order."""
    fields = {"code": "code", "display": "name",
              "attributes": {"zip": "zip", "address": "address", "city": "city", "state": "state"}}
    if status:
        fields["status"] = "status"
    return validate({"profile": {"name": "plain", "format": "csv"},
                     "catalog": {"title": "Plain", "kind": "other", "language": "en"},
                     "read": {"delimiter": delimiter, "encoding": encoding}, "fields": fields}, "test")


def awkward_rows(n: int, seed: int, controls: bool = True) -> list[list[str]]:
    """Rows with what the columnar path must take, or hand back, exactly as the row path does."""
    rnd = random.Random(seed)
    odd = ["", " ", "  padded  ", "a, with comma", 'say "hi"', "back\\slash", "Ärztehaus", "naïve", "\u00a0nbsp\u00a0",
           "em\u2003space", "100%", "%s", "{json}", "ц" * 30]
    escaped = ["tab\tinside", "x\x1cy", "bell\x07"]  # JSON escapes them: such a block goes row by row
    rows = []
    for i in range(n):
        row = [f"C{i:05d}", f"Name {i}", f"{i} Main St", "Springfield", "IL", f"{60000 + i}"]
        if rnd.random() < 0.3:
            k = rnd.randrange(1, 6)
            row[k] = rnd.choice(odd)
        if rnd.random() < 0.01:  # no attribute at all
            row[2:] = ["", " ", "", "\u3000"]
        if controls and rnd.random() < 0.002:
            row[rnd.randrange(1, 6)] = rnd.choice(escaped)
        rows.append(row)
    return rows


def write(path: Path, rows, delimiter=",", header=HEADER, newline="\n", quote_all=False) -> Path:
    import csv
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(header.replace(",", delimiter).replace("\n", newline))
        w = csv.writer(f, delimiter=delimiter, lineterminator=newline,
                       quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerows(rows)
    return path


def plain(n=5):
    return [[f"C{i}", f"Name {i}", f"{i} Main", "Town", "ST", f"{10000 + i}"] for i in range(n)]


def raw(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def files(tmp: Path) -> list[tuple[Path, object]]:
    """(file, profile) pairs: generated awkward files, hand-made malformed ones."""
    p, out = profile(), []
    out.append((write(tmp / "awkward.csv", awkward_rows(3000, 1)), p))
    out.append((write(tmp / "awkward-crlf.csv", awkward_rows(800, 2), newline="\r\n"), p))
    out.append((write(tmp / "quoted-all.csv", awkward_rows(800, 3), quote_all=True), p))
    out.append((write(tmp / "semicolon.csv", awkward_rows(800, 4), delimiter=";"), profile(";")))
    out.append((write(tmp / "tabs.tsv", [[c.replace("\t", " ") for c in r] for r in awkward_rows(800, 5)],
                      delimiter="\t"), profile("\t")))
    bom = tmp / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + write(tmp / "nobom.csv", plain(300)).read_bytes())
    out.append((bom, profile(encoding="auto")))
    rows = plain(400)
    rows[150][1] = "two\nlines"  # a quoted line break
    out.append((write(tmp / "linebreak.csv", rows), p))
    rows = plain(400)
    rows[200][0] = rows[20][0]  # a duplicate code
    out.append((write(tmp / "duplicate.csv", rows), p))
    rows = plain(400)
    rows[300][0] = "A\u0308x"  # not NFC
    rows[310][0] = "bad\u200bcode"  # not printable
    rows[320][1] = ""  # no display
    rows[330][0] = " "  # empty code
    out.append((write(tmp / "codes.csv", rows), p))
    lines = [",".join(r) for r in plain(400)]
    lines[100] = "C100,short,row"
    lines[200] = "C200,long,row,a,b,c,d"
    lines[250] = "C250,trailing empty,a,b,c,d,,"
    lines[300] = ""
    lines[301] = "   "
    lines[350] = 'C350,"quote" not whole,a,b,c,d'
    out.append((raw(tmp / "shapes.csv", HEADER + "\n".join(lines) + "\n"), p))
    lines = [",".join(r) for r in plain(400)]
    lines[120] = 'C120,a "quote" inside,a,b,c,d'
    out.append((raw(tmp / "inner-quote.csv", HEADER + "\n".join(lines) + "\n"), p))
    lines = [",".join(r) for r in plain(400)]
    lines[380] = 'C380,"never closed,a,b,c,d'
    out.append((raw(tmp / "unclosed.csv", HEADER + "\n".join(lines) + "\n"), p))
    lines = [",".join(r) for r in plain(300)]
    lines[40] = "C40,nul\x00here,a,b,c,d"
    out.append((raw(tmp / "nul.csv", HEADER + "\n".join(lines) + "\n"), p))
    lines = [",".join(r) for r in plain(300)]
    lines[250] = lines[260]  # a problem after the lone CR names its row as the csv module counts lines
    out.append((raw(tmp / "lone-cr.csv", HEADER + "\n".join(lines[:100]) + "\r" + "\n".join(lines[100:])), p))
    out.append((raw(tmp / "lone-cr-end.csv", HEADER + "\n".join(lines) + "\r"), p))
    out.append((raw(tmp / "no-final-newline.csv", HEADER + "\n".join(",".join(r) for r in plain(300))), p))
    rows = [r + [s] for r, s in zip(plain(600), ["", "active", "inactive", " deprecated ", "retired", "active"] * 100)]
    out.append((write(tmp / "status.csv", rows, header=HEADER.replace("\n", ",status\n")), profile(status=True)))
    rows = [r + ["active"] for r in plain(600)]
    out.append((write(tmp / "status-clean.csv", rows, header=HEADER.replace("\n", ",status\n")),
                profile(status=True)))
    rows = plain(300)
    rows[5][1] = "x" * 5000  # a value longer than a block
    out.append((write(tmp / "long-value.csv", rows), p))
    return out


def outcome(store, path: Path, prof, slug: str):
    """What importing `path` gave: the refusal, or the staged rows in insertion order with checksum and warnings."""
    from registry.models.catalog import Catalog, CatalogVersion, staged_table
    def said(problems):  # the catalog's name aside (a warning names it)
        return [(p.message.replace(slug, "<catalog>"), p.file, p.row, p.column, p.code, p.kind) for p in problems]
    try:
        report = run_import(store, path, catalog=slug, version="1", profile=prof)
    except ImportRejected as exc:
        return "refused", exc.total, said(exc.problems), said(exc.warnings)
    C, V = Catalog.__table__, CatalogVersion.__table__
    with store.engine.connect() as conn:
        vid = conn.execute(sa.select(V.c.id).join(C, C.c.id == V.c.catalog_id).where(C.c.slug == slug)).scalar_one()
        table = staged_table(vid).name
        order = "rowid" if conn.dialect.name == "sqlite" else "ctid"
        rows = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")]
    return "staged", report.checksum, report.entries, rows, said(report.warnings)


@pytest.fixture
def blocks(monkeypatch):
    """Counts the blocks the store takes whole."""
    seen = []
    insert = staging.insert_block

    def counting(conn, table, block):
        seen.append(len(block))
        return insert(conn, table, block)
    monkeypatch.setattr(staging, "insert_block", counting)
    return seen


def both_ways(store, monkeypatch, path, prof, name, block_bytes):
    monkeypatch.setattr(columnar, "MIN_BYTES", 1 << 62)
    by_rows = outcome(store, path, prof, f"rows-{name}")
    monkeypatch.setattr(columnar, "MIN_BYTES", 0)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", block_bytes)
    by_columns = outcome(store, path, prof, f"cols-{name}")
    return by_rows, by_columns


@pytest.mark.parametrize("block_bytes", [64, 4096, 1 << 20])
def test_columnar_stages_what_the_row_path_stages(store, tmp_path, monkeypatch, blocks, block_bytes):
    taken = {}
    for k, (path, prof) in enumerate(files(tmp_path)):
        before = len(blocks)
        by_rows, by_columns = both_ways(store, monkeypatch, path, prof, str(k), block_bytes)
        assert by_columns == by_rows, path.name
        taken[path.name] = len(blocks) - before
    # The columnar path really ran: plain files go (mostly) by blocks, whatever the block size
    # (a block holding one row with a control character goes row by row: a 1 MB block is the whole file here)
    names = ["bom.csv", "status-clean.csv", "no-final-newline.csv"]
    if block_bytes < 1 << 20:
        names += ["awkward.csv", "awkward-crlf.csv", "quoted-all.csv", "semicolon.csv", "tabs.tsv"]
    for name in names:
        assert taken[name] > 0, (name, taken)


def test_a_large_plain_file_goes_by_blocks_and_equals_the_row_path(store, tmp_path, monkeypatch, blocks):
    path = write(tmp_path / "big.csv", awkward_rows(30000, 7, controls=False))
    by_rows, by_columns = both_ways(store, monkeypatch, path, profile(), "big", columnar.BLOCK_BYTES)
    assert by_columns == by_rows
    assert by_columns[0] == "staged" and by_columns[2] == 30000
    assert sum(blocks) > 20000  # most rows staged in blocks (a block with an odd row goes row by row)


SAMPLES = [("atc-who", "atc-who.csv"), ("drugs-kz-knf", "drugs-kz-knf.csv"), ("facilities-cms", "facilities-cms.csv"),
           ("icd10-ru-fnsi", "icd10-ru-fnsi-2.27.csv")]


def test_shipped_samples_and_test_files_import_the_same(store, tmp_path, monkeypatch):
    """Profiles that are not plain columns never take the columnar path; their imports are unchanged."""
    cases = [(ROOT / "catalogs" / "samples" / f, load_profile(name)) for name, f in SAMPLES]
    cases.append((ROOT / "tests" / "data" / "importers" / "hospitals.csv",
                  load_profile(ROOT / "tests" / "data" / "importers" / "hospitals.toml")))
    for bad in ("duplicate_codes.csv", "unknown_parent.csv", "wrong_header.csv", "parent_cycle.csv"):
        copy = tmp_path / bad
        shutil.copy(ROOT / "tests" / "data" / "bad" / bad, copy)
        cases.append((copy, profile(encoding="auto")))
    for k, (path, prof) in enumerate(cases):
        by_rows, by_columns = both_ways(store, monkeypatch, path, prof, f"s{k}", 4096)
        assert by_columns == by_rows, path.name


def test_side_files_never_get_blocks(sqlite_store, tmp_path, monkeypatch):
    """Only staging takes blocks: a reader whose entries go elsewhere (a side file) gets entries."""
    from importers.findings import Findings
    from importers.formats import FORMATS
    from importers.source import Source
    from registry.entries import EncodedBlock
    monkeypatch.setattr(columnar, "MIN_BYTES", 0)
    path = write(tmp_path / "plain.csv", plain(50))
    for takes in (False, True):
        findings = Findings(path.name)
        findings.takes_blocks = takes
        got = list(FORMATS["csv"].read(Source.from_path(path), profile(), findings, "en"))
        assert any(e.__class__ is EncodedBlock for e in got) == takes
