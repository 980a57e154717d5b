"""An input file as the importers see it: name, bytes on disk, sha256 and decoded text.

Decoding never guesses silently: UTF-8 (with or without BOM) is tried first,
cp1251 only when a profile says so or when detection is asked for; a file
that does not decode is refused with the byte offset of the first bad byte.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from registry.errors import ImportRejected, Problem

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Microsoft's compound files: .xls, .doc of Office 97-2003
# What `Source.container` finds, in the words of an error message.
CONTAINERS = {"xlsx": "an Excel workbook (.xlsx)", "xls": "an old Excel 97-2003 workbook (.xls, an OLE2 compound file)",
              "ods": "an OpenDocument spreadsheet (.ods)", "zip": "a zip archive"}


@dataclass
class Source:
    """One file to import. `name` is what reports show (the path as the user gave it)."""

    path: Path
    name: str

    @classmethod
    def from_path(cls, path: str | Path) -> "Source":
        """A Source for a file on disk; missing or empty files are refused here."""
        p = Path(path)
        if not p.is_file():
            raise ImportRejected([Problem(f"no such file: {path}", file=str(path), kind="missing_file")])
        if p.stat().st_size == 0:
            raise ImportRejected([Problem("the file is empty", file=str(path), kind="empty")])
        return cls(p, str(path))

    def sha256(self) -> str:
        """The sha256 of the file's bytes (the same file twice gives no new version)."""
        h = hashlib.sha256()
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    def head(self, n: int = 4096) -> bytes:
        """The first bytes, for sniffing formats and encodings."""
        with open(self.path, "rb") as f:
            return f.read(n)

    def starts_with(self, *prefixes: bytes) -> bool:
        """Whether the file's first bytes, after a BOM and white space, are one of `prefixes` (format sniffing)."""
        return self.head(2048).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(prefixes)

    def container(self) -> str | None:
        """The binary container the file is, if any: "xlsx", "ods", "zip" or "xls" (OLE2); None for other files.

        Text readers call such a file "not valid UTF-8"; knowing it is a spreadsheet
        lets the error say so. The zip's member names decide; a zip cut off before its
        central directory is judged by the name of its first member.
        """
        head = self.head(512)
        if head.startswith(OLE2_SIGNATURE):
            return "xls"
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return None
        try:
            with zipfile.ZipFile(self.path) as zf:
                names = zf.namelist()
            xlsx = "xl/workbook.xml" in names
        except (zipfile.BadZipFile, OSError, ValueError):
            name_length = int.from_bytes(head[26:28], "little")
            names = [head[30:30 + name_length].decode("cp437", "replace")]
            xlsx = names[0].startswith(("xl/", "[Content_Types].xml", "docProps/", "_rels/"))
        if xlsx:
            return "xlsx"
        return "ods" if names[:1] == ["mimetype"] else "zip"  # ODF puts its uncompressed mimetype first

    def check_decodes(self, encoding: str) -> str:
        """Verify the whole file decodes in `encoding`; return the Python codec name to read it with.

        UTF-8 with a BOM is read as utf-8-sig. A decoding error names the byte offset;
        so does a NUL byte in a single-byte or UTF-8 file (UTF-16 without a BOM, or binary).
        """
        codec, problem, _ = self._decode_scan(encoding)
        if problem is not None:
            raise ImportRejected([problem])
        return codec

    def _decode_scan(self, encoding: str) -> tuple[str, Problem | None, bool]:
        """(codec, the first decoding problem or None, whether another encoding might read the file).

        Another encoding is worth trying only when the file fails at a byte with no
        valid non-ASCII text before it; damaged or cut-off UTF-8 and NUL bytes are final.
        """
        codec = codecs.lookup(encoding).name
        if codec == "utf-8" and self.head(3) == codecs.BOM_UTF8:
            codec = "utf-8-sig"
        wide = codec.startswith(("utf-16", "utf-32"))
        decoder = codecs.getincrementaldecoder(codec)()
        offset, seen_non_ascii = 0, False

        def problem(message: str) -> Problem:
            return Problem(message, file=self.name, kind="encoding")
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    # exc.object is what the codec saw: the chunk without a BOM, or after bytes held from the last one.
                    seen = exc.object[:exc.start]
                    at = offset + len(chunk) - len(exc.object) + exc.start
                    damaged = codec.startswith("utf-8") and (seen_non_ascii or not seen.isascii())
                    hint = ("the text before it is valid UTF-8: is the file damaged?" if damaged
                            else "declare the right encoding, e.g. cp1251, in the profile")
                    return codec, problem(f"the file is not valid {encoding}: byte 0x{exc.object[exc.start]:02x} at "
                                          f"offset {at} cannot be decoded ({hint})"), not damaged
                if not wide and (nul := chunk.find(b"\x00")) >= 0:
                    return codec, problem(_nul_message(chunk, offset + nul)), False
                seen_non_ascii = seen_non_ascii or not text.isascii()
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return codec, problem(f"the file is not valid {encoding}: it ends inside a character "
                                      f"(truncated?) at offset {offset}"), False
        return codec, None, False

    def load_json(self):
        """The whole file parsed as JSON (encoding detected); invalid JSON is refused with the reason."""
        codec, _ = self.detect_encoding("utf-8")
        with open(self.path, encoding=codec) as f:
            value, reason = parse_json(f.read())
        if reason:
            raise ImportRejected([Problem(reason, file=self.name, kind="syntax")])
        return value

    def detect_encoding(self, declared: str | None = "auto") -> tuple[str, str | None]:
        """The codec to read the file with, and a warning when it had to be guessed.

        `declared` is a profile's encoding or "auto": a BOM decides, then UTF-8 if
        the whole file is valid UTF-8, then cp1251 if the file is not UTF-8 and
        reads as mostly Cyrillic text. Anything else is refused with the offset
        of the first byte that is not UTF-8.
        """
        if declared and declared != "auto":
            if not codecs.lookup(declared).name.startswith(("utf-8", "utf-16", "utf-32")):
                self._refuse_utf8_read_as(declared)
            return self.check_decodes(declared), None
        head = self.head(65536)
        if head.startswith(codecs.BOM_UTF8):
            return self.check_decodes("utf-8"), None
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return self.check_decodes("utf-16"), None
        codec, utf8_problem, try_other = self._decode_scan("utf-8")
        if utf8_problem is None:
            return codec, None
        if not try_other or self._decode_scan("cp1251")[1] is not None:
            raise ImportRejected([utf8_problem])
        verdict = cp1251_verdict(head.decode("cp1251", errors="replace"))
        if verdict is None:
            return "cp1251", (f"{self.name} is not UTF-8 ({utf8_problem.message}); "
                              f"it was read as cp1251 (Cyrillic Windows encoding)")
        raise ImportRejected([Problem(
            f"the file is not valid UTF-8 and does not read as Cyrillic cp1251 either ({verdict}): "
            f"declare its encoding in a profile ([read].encoding)", file=self.name, kind="encoding")])

    def _refuse_utf8_read_as(self, declared: str) -> None:
        """Refuse a UTF-8 file (BOM, or valid UTF-8 with non-ASCII text) declared in a single-byte encoding.

        Any byte string decodes in cp1251, so the file would be read without an error and every
        non-ASCII letter garbled (`Альфа` as `РђР»СЊС„Р°`); a cp1251 text with Cyrillic is never valid UTF-8.
        """
        def refuse(why: str):
            raise ImportRejected([Problem(f"{why}, but the profile declares {declared}: read so, every non-ASCII "
                                          f"character would be garbled; declare encoding = \"utf-8\" or \"auto\"",
                                          file=self.name, kind="encoding")])
        if self.head(3) == codecs.BOM_UTF8:
            refuse("the file starts with a UTF-8 byte order mark")
        offset = 0
        first = None
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                if not chunk.isascii():
                    first = offset + next(i for i, b in enumerate(chunk) if b >= 0x80)
                    break
                offset += len(chunk)
        if first is not None and self._decode_scan("utf-8")[1] is None:
            refuse(f"the file is valid UTF-8 with non-ASCII text (from offset {first})")

    def text(self, encoding: str = "utf-8") -> io.TextIOWrapper:
        """The file opened as text after checking that it decodes; newline handling left to csv."""
        codec = self.check_decodes(encoding)
        return open(self.path, encoding=codec, newline="")

    def text_lines(self, encoding: str = "utf-8") -> Iterator[str]:
        """The decoded lines of the file, without line ends."""
        with self.text(encoding) as f:
            for line in f:
                yield line.rstrip("\r\n")


def _nul_message(chunk: bytes, offset: int) -> str:
    """Why a NUL byte is refused: UTF-16 without a BOM (NUL every other byte) or a binary file."""
    sample = chunk[:4096]
    if len(sample) >= 4 and (sample[1::2].count(0) > len(sample) // 4 or sample[0::2].count(0) > len(sample) // 4):
        order = "le" if sample[1::2].count(0) >= sample[0::2].count(0) else "be"
        return (f"the file holds NUL bytes at offset {offset}: it looks like UTF-16 without a byte-order mark; "
                f"save it as UTF-8 or declare encoding = \"utf-16-{order}\" in the profile")
    return f"the file holds a NUL byte at offset {offset}: text files must not contain NUL (binary or damaged file?)"


_WORD = re.compile(r"[^\W\d_]+")


def cp1251_verdict(sample: str) -> str | None:
    """None when text decoded as cp1251 reads as Cyrillic; otherwise why not.

    Latin-1 and cp1252 bytes decode as cp1251 too (é is й, ü is ь), so the
    letters alone prove nothing: real Cyrillic text has whole Cyrillic words,
    while Western text read as cp1251 has Cyrillic letters stuck inside Latin words.
    """
    non_ascii = [ch for ch in sample if ord(ch) > 127]
    cyrillic = sum(1 for ch in non_ascii if "\u0400" <= ch <= "\u04ff" or ch in "№«»–—")
    if not non_ascii or cyrillic / len(non_ascii) < 0.9:
        return "most of its non-ASCII characters are not Cyrillic letters"
    words = [w for w in _WORD.findall(sample) if not w.isascii()]
    mixed = [w for w in words if any("a" <= ch.lower() <= "z" for ch in w)]
    if words and len(mixed) / len(words) > 0.2:
        return f"Latin letters and Cyrillic ones mixed inside words, e.g. '{mixed[0]}'"
    return None


def parse_json(text: str) -> tuple[object, str | None]:
    """(value, None) for valid JSON, else (None, why not) — every JSON reader words its errors alike.

    Nesting deeper than the decoder's recursion (`[[[[...]]]]`) is a reason too,
    not a RecursionError traceback.
    """
    import json

    def not_a_number(name: str):
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=not_a_number), None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if "\n" in text.rstrip() else f"column {exc.colno}"
        # Some of json's messages end in "at" already ("Unterminated string starting at").
        return None, f"not valid JSON: {exc.msg}{'' if exc.msg.endswith(' at') else ' at'} {where}"
    except ValueError as exc:  # NaN or Infinity, which Python's json reads but JSON does not have
        return None, f"not valid JSON: {exc}"
    except RecursionError:  # json's decoder recurses once per nesting level
        return None, "the JSON is nested too deeply to read"
