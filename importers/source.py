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

    def text(self, encoding: str = "utf-8") -> io.TextIOWrapper:
        """The file opened as text after checking that it decodes; newline handling left to csv."""
        codec = self.check_decodes(encoding)
        return open(self.path, encoding=codec, newline="")

    def text_lines(self, encoding: str = "utf-8") -> Iterator[str]:
        """The decoded lines of the file, without line ends."""
        with self.text(encoding) as f:
            for line in f:
                yield line.rstrip("\r\n")
