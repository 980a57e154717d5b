"""Safe parsing of untrusted files: XML without entities, DTDs or network; xlsx with a size cap.

Every national file is untrusted input. XML is parsed by lxml with entity
resolution, DTD loading, network access and huge trees turned off, and a
document whose DOCTYPE declares entities (XXE, billion laughs, quadratic
blowup) is refused before parsing. An xlsx is a zip: its members are
decompressed once, counting bytes, and refused when the total passes
NSI_XLSX_MAX_UNCOMPRESSED_MB (a zip bomb), whatever sizes the zip declares.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from typing import Iterator

from lxml import etree

from registry import config
from registry.errors import ImportRejected, Problem
from importers.source import Source

DOCTYPE_RE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
ENTITY_RE = re.compile(rb"<!ENTITY\b", re.IGNORECASE)
PROLOG_SCAN = 1 << 20


def _reject(source: Source, message: str, kind: str = "unsafe") -> ImportRejected:
    return ImportRejected([Problem(message, file=source.name, kind=kind)])


def check_xml_prolog(source: Source) -> None:
    """Refuse XML whose DOCTYPE declares entities or whose start is not XML at all."""
    head = source.head(PROLOG_SCAN)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"<"):
        raise _reject(source, "not an XML document: it does not start with '<' (binary or text file?)",
                      kind="syntax")
    doctype = DOCTYPE_RE.search(head)
    if doctype is None:
        return
    # The internal subset runs to the first "]>" after the DOCTYPE; entities there are refused.
    subset_end = head.find(b"]>", doctype.start())
    subset = head[doctype.start(): subset_end if subset_end >= 0 else len(head)]
    if ENTITY_RE.search(subset):
        raise _reject(source, "the XML document declares entities in its DOCTYPE; entity declarations are refused "
                              "(they allow external-entity (XXE) and billion-laughs attacks)")
    if b"SYSTEM" in subset and b"[" in subset:
        raise _reject(source, "the XML document has an internal DTD subset with external references; refused")


def iterparse(source: Source, tags=None, events=("end",)) -> Iterator[tuple[str, etree._Element]]:
    """lxml iterparse with every dangerous feature off; syntax errors become ImportRejected with the line."""
    check_xml_prolog(source)
    kwargs = dict(events=events, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                  dtd_validation=False, remove_comments=True, remove_pis=True)
    if tags is not None:
        kwargs["tag"] = tags
    try:
        checked = False
        for event, elem in etree.iterparse(str(source.path), **kwargs):
            if not checked:  # the DOCTYPE may lie past the prolog scan (behind a long comment): ask the parser
                checked = True
                dtd = elem.getroottree().docinfo.internalDTD
                if dtd is not None and any(True for _ in dtd.entities()):
                    raise _reject(source, "the XML document declares entities in its DOCTYPE; entity declarations "
                                          "are refused (they allow external-entity (XXE) and billion-laughs attacks)")
            if isinstance(elem, etree._Entity):
                raise _reject(source, f"the XML document uses an entity reference (&{elem.name};); refused")
            yield event, elem
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        msg = exc.msg or str(exc)
        # An entity the document never declares (`&nbsp;`) makes the parser give up later, with a message
        # about the end of the data; its log holds the cause.
        undefined = next((e for e in exc.error_log if e.message.startswith("Entity '")
                          and e.message.endswith("not defined")), None)
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
        head = source.head(4096)
        if not head.startswith(b"PK") and _is_text(head):
            raise _reject(source, "not an xlsx file: it holds text, not a zip (a CSV or text file named .xlsx? "
                                  "import it with a csv profile)", kind="syntax") from None
        raise _reject(source, f"not a readable xlsx file (truncated or damaged zip): {exc}", kind="syntax") from None


def _is_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 text (allowing a character cut at the end)."""
    try:
        head.decode("utf-8")
        return b"\x00" not in head
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and b"\x00" not in head
