"""An input file as the importers see it: name, bytes on disk, sha256 and decoded text.

Decoding never guesses silently: UTF-8 (with or without BOM) is tried first,
cp1251 only when a profile says so or when detection is asked for; a file
that does not decode is refused with the byte offset of the first bad byte.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from registry.errors import ImportRejected, Problem


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

    def check_decodes(self, encoding: str) -> str:
        """Verify the whole file decodes in `encoding`; return the Python codec name to read it with.

        UTF-8 with a BOM is read as utf-8-sig. A decoding error names the byte offset.
        """
        codec = codecs.lookup(encoding).name
        if codec == "utf-8" and self.head(3) == codecs.BOM_UTF8:
            codec = "utf-8-sig"
        decoder = codecs.getincrementaldecoder(codec)()
        offset = 0
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start
                    raise ImportRejected([Problem(
                        f"the file is not valid {encoding}: byte 0x{chunk[exc.start]:02x} at offset {bad} "
                        f"cannot be decoded (declare the right encoding, e.g. cp1251, in the profile)",
                        file=self.name, kind="encoding")]) from None
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ImportRejected([Problem(f"the file is not valid {encoding}: it ends inside a character "
                                              f"(truncated?) at offset {offset}", file=self.name,
                                              kind="encoding")]) from None
        return codec

    def load_json(self):
        """The whole file parsed as JSON (encoding detected); invalid JSON is refused with the reason."""
        import json
        codec, _ = self.detect_encoding("utf-8")
        try:
            with open(self.path, encoding=codec) as f:
                return json.load(f)
        except ValueError as exc:
            raise ImportRejected([Problem(f"not valid JSON: {exc}", file=self.name, kind="syntax")]) from None
        except RecursionError:
            raise ImportRejected([Problem("the JSON is nested too deeply to read", file=self.name,
                                          kind="syntax")]) from None

    def detect_encoding(self, declared: str | None = "auto") -> tuple[str, str | None]:
        """The codec to read the file with, and a warning when it had to be guessed.

        `declared` is a profile's encoding or "auto": a BOM decides, then UTF-8 if
        the whole file is valid UTF-8, then cp1251 if the file is not UTF-8 and
        reads as mostly Cyrillic text. Anything else is refused with the offset
        of the first byte that is not UTF-8.
        """
        if declared and declared != "auto":
            return self.check_decodes(declared), None
        head = self.head(65536)
        if head.startswith(codecs.BOM_UTF8):
            return self.check_decodes("utf-8"), None
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return self.check_decodes("utf-16"), None
        try:
            return self.check_decodes("utf-8"), None
        except ImportRejected as utf8_error:
            try:
                self.check_decodes("cp1251")
            except ImportRejected:
                raise utf8_error from None
            sample = head.decode("cp1251", errors="replace")
            non_ascii = [ch for ch in sample if ord(ch) > 127]
            cyrillic = sum(1 for ch in non_ascii if "\u0400" <= ch <= "\u04ff" or ch in "№«»–—")
            if non_ascii and cyrillic / len(non_ascii) >= 0.9:
                return "cp1251", (f"{self.name} is not UTF-8 ({utf8_error.problems[0].message}); "
                                  f"it was read as cp1251 (Cyrillic Windows encoding)")
            raise utf8_error from None

    def text(self, encoding: str = "utf-8") -> io.TextIOWrapper:
        """The file opened as text after checking that it decodes; newline handling left to csv."""
        codec = self.check_decodes(encoding)
        return open(self.path, encoding=codec, newline="")

    def text_lines(self, encoding: str = "utf-8") -> Iterator[str]:
        """The decoded lines of the file, without line ends."""
        with self.text(encoding) as f:
            for line in f:
                yield line.rstrip("\r\n")
