"""Generic JSON (importers/formats/json.py): records from a list, an object or a path; nested field paths; streaming."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from importers import run_import
from importers.findings import Findings
from importers.formats.json import read_records
from importers.profile import ProfileError, load_profile
from importers.source import Source
from registry.errors import ImportRejected


def profile(tmp_path, read: str, fields: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(f'[profile]\nformat = "json"\n[catalog]\ntitle = "J"\nlanguage = "en"\n[read]\n{read}'
                    f'[fields]\n{fields}', encoding="utf-8")
    return str(path)


def entries(store, slug="j", version="1"):
    return {e["code"]: e for e in store.iter_entries(slug, version)}


FIELDS = '''code = "code"
display = "names[lang=en].text"
parents = "parent.code"
designations = [{ path = "names[lang=ru].text", language = "ru" }, { path = "synonyms", language = "en" }]
[fields.attributes]
chapter = "meta.chapter"
tags = { path = "tags", join = ", " }
first_tag = "tags[0]"
weight = { path = "weight", type = "number" }
'''

RECORDS = [
    {"code": "A00", "names": [{"lang": "en", "text": "Cholera"}, {"lang": "ru", "text": "Холера"}],
     "synonyms": ["Asiatic cholera", "Epidemic cholera"], "meta": {"chapter": 1}, "tags": ["a", "b"],
     "weight": 1.5},
    {"code": "A00.0", "parent": {"code": "A00"}, "names": [{"lang": "en", "text": "Classical cholera"}],
     "meta": {"chapter": 1}, "weight": 2},
]


def test_records_from_a_path_with_nested_field_paths_and_arrays(sqlite_store, tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"meta": {"version": "2024"}, "data": {"items": RECORDS}}), encoding="utf-8")
    run_import(sqlite_store, f, catalog="j", version="1", profile=profile(tmp_path, 'record_path = "data.items"\n',
                                                                          FIELDS))
    e = entries(sqlite_store)
    assert e["A00"]["display"] == "Cholera" and e["A00"]["parents"] == []
    assert e["A00"]["designations"] == [{"language": "ru", "use": "synonym", "text": "Холера"},
                                        {"language": "en", "use": "synonym", "text": "Asiatic cholera"},
                                        {"language": "en", "use": "synonym", "text": "Epidemic cholera"}]
    assert e["A00"]["attributes"] == {"chapter": "1", "first_tag": "a", "tags": "a, b", "weight": 1.5}
    assert e["A00.0"]["parents"] == ["A00"] and e["A00.0"]["attributes"] == {"chapter": "1", "weight": 2}


def test_records_from_a_top_level_list_and_from_an_objects_values(sqlite_store, tmp_path):
    f = tmp_path / "list.json"
    f.write_text(json.dumps(RECORDS), encoding="utf-8")
    run_import(sqlite_store, f, catalog="j", version="1", profile=profile(tmp_path, "", FIELDS))
    assert sorted(entries(sqlite_store)) == ["A00", "A00.0"]
    keyed = tmp_path / "keyed.json"
    keyed.write_bytes(b"\xef\xbb\xbf" + json.dumps(
        {"A00": {"name": "Cholera", "children": ["A00.0"]}, "A00.0": {"name": "Classical cholera"}}).encode())
    run_import(sqlite_store, keyed, catalog="k", version="1", profile=profile(
        tmp_path, 'key_field = "id"\n', 'code = "id"\ndisplay = "name"\n[fields.attributes]\nchildren = "children"\n'))
    e = entries(sqlite_store, "k")
    assert (e["A00"]["display"], e["A00"]["attributes"]) == ("Cholera", {"children": "A00.0"})
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"M": "Male", "F": "Female"}), encoding="utf-8")
    run_import(sqlite_store, plain, catalog="g", version="1", profile=profile(tmp_path, "", 'code = "key"\n'
                                                                                          'display = "value"\n'))
    assert {c: x["display"] for c, x in entries(sqlite_store, "g").items()} == {"M": "Male", "F": "Female"}


def test_a_nested_value_or_several_codes_are_errors_with_record_and_path(sqlite_store, tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps([{"code": ["A00", "A01"], "name": "x", "meta": {"chapter": 1}},
                             {"code": "B00", "name": "y", "meta": {"chapter": 2}}]), encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="j", version="1", profile=profile(
            tmp_path, "", 'code = "code"\ndisplay = "name"\n[fields.attributes]\nmeta = "meta"\n'))
    assert [str(p) for p in caught.value.problems] == [
        f"{f}, record 1, column meta: the path 'meta' holds an object or a list of lists, not a value: name a field "
        f"inside it (e.g. meta.code or meta[0])",
        f"{f}, record 1, column code: the code path 'code' matches 2 elements in this record, not one: make it "
        f"select one (a predicate such as [lang=ru], or [0] for the first)",
        f"{f}, record 2, column meta: the path 'meta' holds an object or a list of lists, not a value: name a field "
        f"inside it (e.g. meta.code or meta[0])"]
    assert not sqlite_store.has_catalog("j")


@pytest.mark.parametrize("text, message", [
    ('{"items": [{"code": "A"}, {"code": ', "not valid JSON after record 1"),
    ('{"items": 3}', "no list or object of records at 'items' ([read].record_path)"),
    ('{"items": ["A"]}', "record 1 is a string, not an object"),
])
def test_broken_or_misshapen_json_is_refused(sqlite_store, tmp_path, text, message):
    f = tmp_path / "d.json"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="j", version="1",
                   profile=profile(tmp_path, 'record_path = "items"\n', 'code = "code"\n'))
    assert message in str(caught.value.problems[0])


@pytest.mark.parametrize("read, fields, message", [
    ("", 'code = "names[lang=ru.text"\n', "[fields].code: 'names[lang=ru.text' is not a JSON path this importer reads"),
    ("record_path = 3\n", 'code = "c"\n', "[read].record_path must be a string (got 3)"),
    ("records = ['x']\n", 'code = "c"\n', "[read].records is a key of format xml, not json: it does nothing here"),
    ("delimiter = ';'\n", 'code = "c"\n', "[read].delimiter is a key of format fnsi, csv, not json"),
])
def test_json_profile_mistakes_are_refused_when_loaded(tmp_path, read, fields, message):
    with pytest.raises(ProfileError) as err:
        load_profile(profile(tmp_path, read, fields))
    assert message in err.value.message


def test_a_large_json_file_is_read_with_flat_memory(tmp_path):
    f = tmp_path / "big.json"
    with open(f, "w", encoding="utf-8") as out:
        out.write('{"data": [')
        for i in range(40_000):
            out.write(("," if i else "") + json.dumps({"code": f"C{i:06d}", "name": "x" * 200, "tags": ["a", "b"]}))
        out.write("]}")
    size = f.stat().st_size
    prof = load_profile(profile(tmp_path, 'record_path = "data"\n', 'code = "code"\ndisplay = "name"\n'))
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_records(Source.from_path(f), prof, Findings(str(f))).rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 40_000 and size > 8_000_000
    assert peak < 2_000_000, f"peak {peak} bytes for a {size}-byte file"


def test_json_lines_are_read_a_line_at_a_time_with_blank_lines_skipped(sqlite_store, tmp_path):
    f = tmp_path / "l.jsonl"
    f.write_bytes(b'\xef\xbb\xbf{"code": "A", "name": "Alpha"}\n\n{"code": "B", "name": "Beta", "up": "A"}\r\n'
                  b'  \n{"code": "C", "name": "Gamma", "up": "B"}')  # a BOM, CRLF, a blank line, no final newline
    p = profile(tmp_path, "lines = true\n", 'code = "code"\ndisplay = "name"\nparents = "up"\n')
    run_import(sqlite_store, f, catalog="j", version="1", profile=p)
    assert {c: (e["display"], e["parents"]) for c, e in entries(sqlite_store).items()} == {
        "A": ("Alpha", []), "B": ("Beta", ["A"]), "C": ("Gamma", ["B"])}


@pytest.mark.parametrize("content, message", [
    (b'{"code": "A", "name": "a"}\n\n["B"]\n', "line 3: the line holds a list, not an object"),
    # (past the first 64 KiB, which decide the encoding: a bad byte there is a bad line)
    (b"".join(b'{"code": "A%d", "name": "a"}\n' % i for i in range(3000)) + b'{"code": "B", "name": \xd0}\n',
     "line 3001: not valid UTF-8: byte 0xd0 at column 23"),
    (b'{"code": "A", "name": "a"}\n{"code": "B" "name": "b"}\n',
     "line 2: not valid JSON at column 14: Expecting ',' delimiter"),
    (b'{"code": "A", "x": ' + b"[" * 150 + b"]" * 150 + b"}\n",
     "line 1: the JSON is nested more than 100 levels deep; refused"),
    (b'{"code": "A", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
     "line 1: the JSON is nested more than 100 levels deep; refused"),
])
def test_a_bad_json_line_is_refused_naming_the_line(sqlite_store, tmp_path, content, message):
    f = tmp_path / "l.jsonl"
    f.write_bytes(content)
    p = profile(tmp_path, "lines = true\n", 'code = "code"\ndisplay = { path = "name", optional = true }\n')
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="j", version="1", profile=p)
    assert [str(x) for x in caught.value.problems] == [f"{f}, {message}"]
    assert not sqlite_store.has_catalog("j")


def test_lines_with_a_record_path_is_refused_with_the_profile_line(tmp_path):
    p = profile(tmp_path, 'lines = true\nrecord_path = "data"\n', 'code = "code"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile(p)
    assert caught.value.message == (f"profile {p}, line 7: [read].lines = true reads one record per line: "
                                    f"record_path and key_field do nothing with it")


@pytest.mark.parametrize("read, warnings", [
    ('encoding = "cp1251"\n', []),
    ("", ["{f} is not UTF-8 (the file is not valid utf-8: byte 0xcc at offset 31 cannot be decoded (declare the "
          "right encoding, e.g. cp1251, in the profile)); it was read as cp1251 (Cyrillic Windows encoding)"]),
])
def test_json_in_cp1251_is_read_as_declared_or_detected(sqlite_store, tmp_path, read, warnings):
    f = tmp_path / "c.json"
    f.write_bytes('{"version": 5, "codes": {"M": "Мужской", "F": "Женский"}}'.encode("cp1251"))
    p = profile(tmp_path, read + 'record_path = "codes"\n', 'code = "key"\ndisplay = "value"\n')
    report = run_import(sqlite_store, f, catalog="j", version="1", profile=p)
    assert [w.message for w in report.warnings] == [w.format(f=f) for w in warnings]
    assert {c: e["display"] for c, e in entries(sqlite_store).items()} == {"M": "Мужской", "F": "Женский"}
    assert list(tmp_path.iterdir()) != [] and not any(p.suffix == ".json" and p != f for p in tmp_path.iterdir())


def test_json_that_is_not_valid_says_why_in_words(sqlite_store, tmp_path):
    f = tmp_path / "b.json"
    f.write_text('{"codes": {"M": 1, }}', encoding="utf-8")
    p = profile(tmp_path, 'record_path = "codes"\n', 'code = "key"\ndisplay = "value"\n')
    with pytest.raises(ImportRejected) as caught:
        run_import(sqlite_store, f, catalog="j", version="1", profile=p)
    assert [str(x) for x in caught.value.problems] == [
        f"{f}: not valid JSON after the start: parse error: invalid object key (must be a string)\n"
        f"                    {{\"codes\": {{\"M\": 1, }}}}\n"
        f"                     (right here) ------^"]


def _true_depth(value) -> int:
    """The nesting depth of a parsed JSON value: 0 for a scalar, 1 for a flat list or object."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return 1 + max((_true_depth(c) for c in children), default=0) if isinstance(value, (dict, list)) else 0


def _nest(depth: int, text: str):
    value = {"code": "A", "name": text}
    for level in range(depth - 1):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("text", ['plain', '[[[[{{{{', ']]]]}}}}', 'a "quoted" [x]', 'back\\slash ]', '\\"[\\\\',
                                  '{"not": ["json"]}' * 30, 'ь[]ü' * 40])
@pytest.mark.parametrize("depth", [99, 100, 101])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64 * 1024])
def test_the_depth_check_counts_only_brackets_outside_strings_across_any_chunk_boundary(tmp_path, text, depth,
                                                                                         chunk):
    """The check runs on the bytes as ijson reads them, so brackets, quotes and backslashes inside strings, and
    strings, escapes and multi-byte characters cut by a chunk boundary, must not move the count."""
    from importers.formats.json import MAX_DEPTH, _open
    value = _nest(depth, text)
    assert _true_depth(value) == depth
    path = tmp_path / "d.json"
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    with _open(Source.from_path(path)) as f:
        read = lambda: [None for _ in iter(lambda: f.read(chunk), b"")]  # noqa: E731
        if depth > MAX_DEPTH:
            with pytest.raises(ImportRejected, match="nested more than 100 levels deep"):
                read()
        else:
            read()
            assert f.depth == 0 and not f.in_string
