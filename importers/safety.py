"""Safe parsing of untrusted files: XML without entities, DTDs or network; xlsx with a size cap.

Every national file is untrusted input. XML is parsed by lxml with entity
resolution, DTD loading, network access and huge trees turned off, and a
document whose DOCTYPE declares entities (XXE, billion laughs, quadratic
blowup) is refused before parsing: the prolog is read by the XML grammar, so
the usual `<!DOCTYPE ClaML SYSTEM "ClaML.dtd">` passes whatever text follows. An xlsx is a zip: its members are
decompressed once, counting bytes, and refused when the total passes
NSI_XLSX_MAX_UNCOMPRESSED_MB (a zip bomb), whatever sizes the zip declares.
"""

from __future__ import annotations

import mmap
import re
import zipfile
import zlib
from typing import Iterator

from lxml import etree

from registry import config
from registry.errors import ImportRejected, Problem
from importers.source import CONTAINERS, Source

ENTITIES_REFUSED = ("the XML document declares entities in its DOCTYPE; entity declarations are refused (they allow "
                    "external-entity (XXE) and billion-laughs attacks)")
NAME = re.compile(rb"[^\s\[\]<>\"'%]+")
SPACE = re.compile(rb"[ \t\r\n]*")
QUOTED = re.compile(rb"\"[^\"]*\"|'[^']*'")
PE_REFERENCE = re.compile(rb"%[^\s;%]*;?")
# One markup declaration of an internal subset, read to its '>' past quoted literals (which may hold '>' or ']>').
DECLARATION = re.compile(rb"<!(ELEMENT|ATTLIST|NOTATION|ENTITY)\b(?:[^\"'>]|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)


def _reject(source: Source, message: str, kind: str = "unsafe") -> ImportRejected:
    return ImportRejected([Problem(message, file=source.name, kind=kind)])


class _Prolog:
    """A reader of an XML document's prolog (XML declaration, comments, PIs, DOCTYPE) over the file's bytes.

    It follows the grammar of XML 1.0 §2.8 (`doctypedecl ::= '<!DOCTYPE' S Name (S ExternalID)? S?
    ('[' intSubset ']' S?)? '>'`) instead of searching the bytes for `]>`: a label holding `[` or `]>`
    further on is text, and a `]>` inside a comment or a quoted literal of the subset does not end it.
    """

    def __init__(self, source: Source, data):
        self.source, self.data, self.pos = source, data, 0

    def line(self, pos: int | None = None) -> int:
        return self.data[:self.pos if pos is None else pos].count(b"\n") + 1  # only on the way to an error

    def fail(self, message: str, at: int | None = None, truncated: bool = False) -> ImportRejected:
        what = "not well-formed XML (truncated or damaged?)" if truncated else "not well-formed XML"
        return ImportRejected([Problem(f"{what}: {message}", file=self.source.name, row=self.line(at),
                                       kind="syntax")])

    def at(self, text: bytes) -> bool:
        return self.data[self.pos:self.pos + len(text)] == text

    def at_keyword(self, keyword: bytes) -> bool:
        return self.data[self.pos:self.pos + len(keyword)].upper() == keyword

    def skip_space(self) -> bool:
        """Skip white space; whether there was any."""
        end = SPACE.match(self.data, self.pos).end()
        moved, self.pos = end > self.pos, end
        return moved

    def skip_past(self, end: bytes, what: str) -> None:
        start = self.pos
        found = self.data.find(end, self.pos)
        if found < 0:
            raise self.fail(f"{what} that starts on line {self.line(start)} is never closed", at=start, truncated=True)
        self.pos = found + len(end)

    def check(self) -> None:
        """Read the prolog up to the root element; refuse entity declarations and malformed DOCTYPEs."""
        if self.at(b"\xef\xbb\xbf"):
            self.pos = 3
        while True:
            self.skip_space()
            if self.at(b"<?"):
                self.skip_past(b"?>", "a processing instruction")
            elif self.at(b"<!--"):
                self.skip_past(b"-->", "a comment")
            elif self.at_keyword(b"<!DOCTYPE"):
                self.doctype()
            else:
                return

    def doctype(self) -> None:
        start = self.pos
        self.pos += len(b"<!DOCTYPE")
        name = NAME.match(self.data, self.pos) if self.skip_space() else None
        if name is None:
            raise self.fail("the DOCTYPE declaration has no document type name", at=start)
        self.pos = name.end()
        spaced = self.skip_space()
        for keyword, identifiers in ((b"SYSTEM", ("system",)), (b"PUBLIC", ("public", "system"))):
            if spaced and self.at_keyword(keyword):
                self.pos += len(keyword)
                for identifier in identifiers:
                    literal = QUOTED.match(self.data, self.pos) if self.skip_space() else None
                    if literal is None:
                        raise self.fail(f"the DOCTYPE declaration's {keyword.decode()} has no quoted {identifier} "
                                        f"identifier", at=start)
                    self.pos = literal.end()
                self.skip_space()
        if self.at(b"["):
            self.pos += 1
            self.internal_subset(start)
            self.skip_space()
        if not self.at(b">"):
            if self.pos >= len(self.data):
                raise self.fail("the file ends inside its DOCTYPE declaration", at=start, truncated=True)
            raise self.fail(f"unexpected {self.data[self.pos:self.pos + 20].decode('utf-8', 'replace')!r} in the "
                            f"DOCTYPE declaration", at=self.pos)
        self.pos += 1

    def internal_subset(self, start: int) -> None:
        """Read the `[...]` subset declaration by declaration; an entity declaration or reference is refused."""
        while True:
            self.skip_space()
            if self.pos >= len(self.data):
                raise self.fail("the internal DTD subset of the DOCTYPE declaration is never closed", at=start,
                                truncated=True)
            if self.at(b"]"):
                self.pos += 1
                return
            if self.at(b"<!--"):
                self.skip_past(b"-->", "a comment")
            elif self.at(b"<?"):
                self.skip_past(b"?>", "a processing instruction")
            elif self.at(b"%"):
                ref = PE_REFERENCE.match(self.data, self.pos).group().decode("utf-8", "replace")
                raise _reject(self.source, f"the XML document's DOCTYPE refers to the parameter entity {ref} "
                                           f"(it would pull in declarations from elsewhere); refused")
            else:
                declaration = DECLARATION.match(self.data, self.pos)
                if declaration is None:
                    seen = self.data[self.pos:self.pos + 20].decode("utf-8", "replace")
                    if self.data.find(b">", self.pos) < 0:
                        raise self.fail("the internal DTD subset of the DOCTYPE declaration is never closed",
                                        at=start, truncated=True)
                    if self.at(b"<") and not self.at(b"<!") and NAME.match(self.data, self.pos + 1):  # a start tag
                        raise self.fail(f"the internal DTD subset of the DOCTYPE declaration is never closed: "
                                        f"']>' is missing before {seen!r} on line {self.line()}", at=start)
                    raise self.fail(f"unexpected {seen!r} in the internal DTD subset", at=self.pos)
                if declaration.group(1).upper() == b"ENTITY":
                    raise _reject(self.source, ENTITIES_REFUSED)
                self.pos = declaration.end()


def check_xml_prolog(source: Source) -> None:
    """Refuse XML whose DOCTYPE declares entities or is malformed, or whose start is not XML at all.

    The prolog is read from a memory map of the file, so a DOCTYPE behind a
    comment of any length is still read before the parser sees the document.
    """
    start = source.head(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"<"):
        raise _reject(source, "not an XML document: it does not start with '<' (binary or text file?)",
                      kind="syntax")
    with open(source.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        _Prolog(source, data).check()


def iterparse(source: Source, tags=None, events=("end",)) -> Iterator[tuple[str, etree._Element]]:
    """lxml iterparse with every dangerous feature off; syntax errors become ImportRejected with the line."""
    check_xml_prolog(source)
    kwargs = dict(events=events, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                  dtd_validation=False, remove_comments=True, remove_pis=True)
    if tags is not None:
        kwargs["tag"] = tags
    etree.clear_error_log()  # iterparse's log outlives a parse: an earlier file's errors would show up as this one's
    try:
        checked = False
        for event, elem in etree.iterparse(str(source.path), **kwargs):
            if not checked:  # the DOCTYPE may lie past the prolog scan (behind a long comment): ask the parser
                checked = True
                dtd = elem.getroottree().docinfo.internalDTD
                if dtd is not None and any(True for _ in dtd.entities()):
                    raise _reject(source, ENTITIES_REFUSED)
            if isinstance(elem, etree._Entity):
                raise _reject(source, f"the XML document uses an entity reference (&{elem.name};); refused")
            yield event, elem
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        # lxml appends ", line 22, column 23" to libxml2's message; the line is the problem's row already
        msg = re.sub(r", line \d+, column (\d+)$", r" (column \1)", exc.msg or str(exc))
        # An entity the document never declares (`&nbsp;`) makes the parser give up later, with a message
        # about the end of the data; its log holds the cause.
        undefined = next((e for e in exc.error_log if e.filename == str(source.path)
                          and e.message.startswith("Entity '") and e.message.endswith("not defined")), None)
        if undefined is not None:
            msg, line = (f"{undefined.message} (HTML entities such as &nbsp; are not XML: write the character "
                         f"itself, or &#160;)"), undefined.line
        if "entity" in msg.lower() and ("amplification" in msg.lower() or "loop" in msg.lower()):
            raise _reject(source, f"the XML document expands entities excessively (billion laughs?): {msg}") from None
        raise ImportRejected([Problem(f"not well-formed XML (truncated or damaged?): {msg}", file=source.name,
                                      row=line, kind="syntax")]) from None


def check_xlsx(source: Source, max_mb: int | None = None) -> None:
    """Refuse an xlsx that is not a readable zip, lacks a workbook, or decompresses beyond the cap."""
    cap = (max_mb if max_mb is not None else config.get("NSI_XLSX_MAX_UNCOMPRESSED_MB")) * 1024 * 1024
    try:
        with zipfile.ZipFile(source.path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                if source.container() == "ods":
                    raise _not_xlsx(source, "ods")
                raise _reject(source, "not an xlsx workbook: the zip has no xl/workbook.xml", kind="syntax")
            declared = sum(i.file_size for i in infos)
            if declared > cap:
                raise _reject(source, f"the xlsx declares {declared / 2**20:,.0f} MiB uncompressed, more than "
                                      f"NSI_XLSX_MAX_UNCOMPRESSED_MB={cap // 2**20} (zip bomb?); refused")
            total = 0
            for info in infos:
                with zf.open(info) as member:
                    while True:
                        chunk = member.read(1 << 20)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > cap:
                            raise _reject(source, f"the xlsx decompresses to more than "
                                                  f"NSI_XLSX_MAX_UNCOMPRESSED_MB={cap // 2**20} MiB (zip bomb?); "
                                                  f"refused")
    except ImportRejected:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        if source.container() == "xls":
            raise _not_xlsx(source, "xls") from None
        head = source.head(4096)
        if not head.startswith(b"PK") and _is_text(head):
            raise _reject(source, "not an xlsx file: it holds text, not a zip (a CSV or text file named .xlsx? "
                                  "import it with a csv profile)", kind="syntax") from None
        raise _reject(source, f"not a readable xlsx file (truncated or damaged zip): {exc}", kind="syntax") from None


def _not_xlsx(source: Source, kind: str) -> ImportRejected:
    """The refusal of another spreadsheet format given as xlsx: what it is and how to make an xlsx of it."""
    how = "Excel: File, Save As, Excel Workbook" if kind == "xls" else "LibreOffice Calc: File, Save As, Excel 2007-365"
    return _reject(source, f"the file is {CONTAINERS[kind]}, not an xlsx workbook: save it as .xlsx ({how})",
                   kind="wrong_format")


def _is_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 text (allowing a character cut at the end)."""
    try:
        head.decode("utf-8")
        return b"\x00" not in head
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and b"\x00" not in head
