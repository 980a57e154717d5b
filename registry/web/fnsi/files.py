"""A version as a file in the register's layout: /api/dataFiles lists the archive names, /api/dataFiles/{name} streams one.

An archive `<identifier>_<version>_<format>.zip` holds one file
`<identifier>_<version>.<format>`: JSON `{"records": [{column: value}]}` (empty
cells left out, as the register does), CSV with `;` and a header row, or XML
(`<records><record><COLUMN>value</COLUMN>...`). The zip is written while it is
sent, row by row, so memory stays flat for any size.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

from flask import Response, jsonify, request, stream_with_context

from registry.exports import escape_formula
from registry.web.common import cached, store
from registry.web.fnsi import FnsiError, bp
from registry.web.fnsi.layout import columns_of, find_catalog, identifier_of, pick_version, record

FORMATS = ("json", "xml", "csv")
NAME = re.compile(r"^(?P<stem>.+)_(?P<format>json|xml|csv)\.zip$")
XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def archive_name(identifier: str, version: str, fmt: str) -> str:
    """The register's archive name: `<oid>_<version>_<format>.zip`."""
    return f"{identifier}_{version}_{fmt}.zip"


@bp.get("/api/dataFiles")
def list_files():
    """The names of the archives of one version in one format (JSON by default): a JSON list, empty if there is none.

    The register answers an empty list for a file it has not built; here that
    is a dictionary or version that does not exist.
    """
    fmt = request.args.get("format", "JSON").lower()
    if fmt not in FORMATS:
        raise FnsiError(f"format {request.args.get('format')!r} is not one of JSON, XML, CSV", "nsi.bad_request", 400)
    try:
        catalog = find_catalog(store(), request.args.get("identifier"))
        version = pick_version(store(), catalog, request.args.get("version"))
    except FnsiError as exc:
        if exc.status != 200:
            raise
        return jsonify([])
    return jsonify([archive_name(identifier_of(catalog), version.label, fmt)])


def _resolve(name: str):
    """(catalog, version, format) of an archive name, or the register's error (with 404)."""
    match = NAME.match(name)
    if match:
        stem = match.group("stem")
        for catalog in store().list_catalogs():
            for ident in {catalog.oid, catalog.slug} - {None}:
                if stem.startswith(ident + "_"):
                    label = stem[len(ident) + 1:]
                    try:
                        return catalog, pick_version(store(), catalog, label), match.group("format")
                    except FnsiError:
                        pass
    raise FnsiError(f"no file {name}", "nsi.not_found", 404)


@bp.get("/api/dataFiles/<path:name>")
def download(name: str):
    """The archive `name`, streamed; published versions never change, so it gets an ETag and long caching."""
    catalog, version, fmt = _resolve(name)
    ref = store().resolve(catalog.slug, version.label)
    member = f"{identifier_of(catalog)}_{version.label}.{fmt}"
    columns = columns_of(catalog)

    def build():
        records = (record(columns, e) for e in store().iter_entries(catalog.slug, version.label))
        body = {"json": _json, "csv": _csv, "xml": _xml}[fmt]([c.name for c in columns], records)
        response = Response(stream_with_context(iter_zip(member, body)), mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    return cached([ref], False, f"fnsi-file:{name}", build, keep=False)


def _json(names: list[str], records: Iterable[dict]) -> Iterator[bytes]:
    yield b'{"records": ['
    for n, rec in enumerate(records):
        yield (b",\n" if n else b"\n") + json.dumps(rec, ensure_ascii=False).encode("utf-8")
    yield b"\n]}\n"


def _csv(names: list[str], records: Iterable[dict]) -> Iterator[bytes]:
    """`;`-separated, header first; text a spreadsheet would run as a formula is escaped (design §7)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(names)
    for n, rec in enumerate(records, 1):
        writer.writerow([escape_formula(rec.get(c, "")) for c in names])
        if n % 1000 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def _xml(names: list[str], records: Iterable[dict]) -> Iterator[bytes]:
    tags = {c: c if XML_NAME.match(c) else "field" for c in names}
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<records>\n'
    for rec in records:
        cells = "".join(f"<{tags[c]}>{escape(rec[c])}</{tags[c]}>" if tags[c] == c else
                        f'<field name="{escape(c, {chr(34): "&quot;"})}">{escape(rec[c])}</field>'
                        for c in names if c in rec)
        yield f"<record>{cells}</record>\n".encode("utf-8")
    yield b"</records>\n"


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream that keeps what zipfile writes until it is taken."""

    def __init__(self):
        super().__init__()
        self.chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks, self.size = [], 0
        return out


def iter_zip(member: str, pieces: Iterable[bytes], chunk: int = 256 * 1024) -> Iterator[bytes]:
    """A zip holding one file `member` made of `pieces`, yielded as it is compressed (zipfile streams to a pipe)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(member, "w", force_zip64=True) as out:
            for piece in pieces:
                out.write(piece)
                if sink.size >= chunk:
                    yield sink.take()
    yield sink.take()
