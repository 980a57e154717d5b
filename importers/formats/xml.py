"""XML records: the profile names the record elements and the paths of each field inside a record."""

from __future__ import annotations

import re
from typing import Iterator

from lxml import etree

from registry.errors import ImportRejected, Problem
from importers.findings import Findings
from importers.mapper import map_table
from importers.profile import Profile
from importers.source import Source
from importers.table import Table


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text_of(elem) -> str:
    return " ".join("".join(elem.itertext()).split())


# A step is a name: `..` and `.` are XPath (the parent, the record itself), not children called so.
NAME = r"[A-Za-z_][\w.:-]*"
SIMPLE_PATH = re.compile(rf"name\(\)|@{NAME}|{NAME}(/{NAME})*(/@{NAME})?")


def _path_getter(path: str, namespaces: dict):
    """A function (element, its children by tag) → the value of a path on a record element.

    The result is None when the path matches nothing, a text for one match
    (an element's text with white space collapsed, an attribute, a text node)
    and a list of texts for several: the mapper tells a missing value from an
    empty one, and one match from several. Simple paths ('name()', '@attr',
    'child', 'a/b', 'a/b/@attr') are looked up among the record's children;
    anything else is XPath 1.0 evaluated on the record element: predicates
    (`field[@name='title']`), `text()`, axes (`ancestor::chapter/@id`) and
    absolute paths (`/doc/header/@version`, over what the file has read so far).
    """
    if not SIMPLE_PATH.fullmatch(path):
        return _xpath_getter(path, namespaces)
    if path == "name()":
        return lambda elem, children: _local(elem.tag)
    if path.startswith("@"):
        name = path[1:]
        return lambda elem, children: elem.get(name)
    attr = None
    if "/@" in path:
        path, attr = path.rsplit("/@", 1)

    def clark(step):
        if ":" in step:
            prefix, local = step.split(":", 1)
            return f"{{{namespaces.get(prefix, prefix)}}}{local}"
        return step
    steps = [clark(s) for s in path.split("/") if s]
    first, rest = steps[0], steps[1:]

    def get(elem, children):
        nodes = children.get(first, ())
        for step in rest:
            nodes = [c for n in nodes for c in n if c.tag == step]
        if attr:
            values = [n.get(attr) for n in nodes]
            values = [v for v in values if v is not None]
        else:
            values = [_text_of(n) for n in nodes]
        if not values:
            return None
        return values[0] if len(values) == 1 else values
    return get


def _xpath_getter(path: str, namespaces: dict):
    """The getter of a path that is XPath beyond the simple forms (checked when the profile was loaded)."""
    compiled = etree.XPath(path, namespaces=namespaces)

    def text(node) -> str:
        if isinstance(node, etree._Element):
            return _text_of(node)
        if isinstance(node, float):
            return str(int(node)) if node.is_integer() else repr(node)
        return " ".join(str(node).split())

    def get(elem, children):
        result = compiled(elem)
        if isinstance(result, list):
            if not result:
                return None
            return text(result[0]) if len(result) == 1 else [text(r) for r in result]
        if isinstance(result, bool):
            return "true" if result else "false"
        return text(result)
    return get


def read_xml(source: Source, profile: Profile, findings: Findings) -> Table:
    """Stream the record elements of an XML file; each record's cells are the profile's paths evaluated on it.

    A record nested in another record knows the enclosing one (for the
    parent link). Finished records are removed from the tree, so memory stays
    bounded by the depth of nesting, not the size of the file.
    """
    from importers.safety import iterparse
    read = profile.read
    namespaces = read.get("namespaces") or {}
    record_tags = set(read["records"])
    paths = profile.referenced_columns()
    getters = [_path_getter(p, namespaces) for p in paths]
    wanted = [namespaces.get(t.split(":", 1)[0], "") and f"{{{namespaces[t.split(':', 1)[0]]}}}{t.split(':', 1)[1]}"
              if ":" in t else t for t in record_tags]

    def is_record(elem) -> bool:
        return _local(elem.tag) in record_tags or elem.tag in record_tags

    def cells_of(elem):
        children: dict = {}
        for child in elem:
            children.setdefault(child.tag, []).append(child)
        return [g(elem, children) for g in getters]

    def rows():
        partial: dict = {}
        found = False
        for _, elem in iterparse(source, tags=wanted, events=("end",)):
            found = True
            enclosing = next((a for a in elem.iterancestors() if is_record(a)), None)
            parent_cells = None
            if enclosing is not None:
                key = id(enclosing)
                parent_cells = partial.get(key)
                if parent_cells is None:
                    parent_cells = partial[key] = cells_of(enclosing)
            partial.pop(id(elem), None)
            yield elem.sourceline, cells_of(elem), parent_cells
            parent = elem.getparent()
            elem.clear()
            if parent is not None:
                parent.remove(elem)
        if not found:
            _no_records(source, profile, wanted)
    return Table(paths, rows(), header_row=None, known_columns=False, paths=True)


def _no_records(source: Source, profile: Profile, wanted: list[str]) -> None:
    """Refuse a file in which no element is a record, naming the profile line and the elements the file has.

    The usual cause is a namespace: `records = ["item"]` for `<ns2:item>` (an element in a namespace is not the
    unprefixed name), or a URI in [read].namespaces that differs from the file's by a character.
    """
    from importers.safety import iterparse
    from importers.toml_lines import profile_place
    seen: dict[str, None] = {}
    for _, elem in iterparse(source, events=("start",)):
        seen.setdefault(elem.tag if isinstance(elem.tag, str) else "", None)
        if len(seen) > 200:
            break
    names = [t for t in seen if t]
    local = {t.split(":", 1)[-1] if ":" in t and not t.startswith("{") else _local(t) for t in wanted}
    near = [t for t in names if _local(t) in local]
    if near:
        prefix = next((r.split(":", 1)[0] for r in profile.read["records"] if ":" in r), "x")
        uri = near[0][1:].split("}")[0] if near[0].startswith("{") else ""
        hint = (f"the file has {', '.join(near)}: write the record with a prefix whose URI in [read].namespaces is "
                f"the file's, character for character (records = [\"{prefix}:{_local(near[0])}\"], "
                f"namespaces = {{ {prefix} = \"{uri}\" }})")
    else:
        import difflib
        shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
        close = difflib.get_close_matches(next(iter(local)), [_local(t) for t in names], n=1)
        hint = f"the file's elements are {shown}" + (f" ({close[0]}, a misspelling?)" if close else "")
    raise ImportRejected([Problem(
        f"{profile_place(profile.path, profile.name, '[read].records')}: [read].records "
        f"({', '.join(profile.read['records'])}) names no element of the file: {hint}",
        file=source.name, kind="no_records")])


READS = "XML"
FIELDS_REQUIRED = True
READ_KEYS = {"records", "namespaces"}


def check_read(read: dict) -> str | None:
    """What is wrong with a profile's [read] table for XML, if anything."""
    if not read.get("records"):
        return "format xml needs [read].records: the element names that are records"
    return None
NEEDS_PROFILE = "XML other than ClaML needs a profile (--profile); see docs/importers.md"


def check_xpath(path: str, namespaces: dict) -> str | None:
    """What is wrong with a field's path (XPath 1.0 on the record element, or absolute, with the declared
    prefixes), or None; checked when the profile is loaded."""
    if path == "name()":
        return None
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", path)
    for prefix in re.findall(r"(?<![\w:.-])([A-Za-z_][\w.-]*):(?![:])", unquoted):
        if prefix not in namespaces and prefix != "xml":  # xml: (xml:lang) is bound in every XML document
            return f"{path!r} uses the prefix {prefix}:, which [read].namespaces does not declare"
    try:
        etree.XPath(path, namespaces=namespaces)
    except etree.XPathError as exc:
        return (f"{path!r} is not an XPath this importer can evaluate ({exc}): write a path relative to the record "
                f"element such as name, a/b, @id, a/@id, field[@name='title'], text() or /root/header/@version, "
                f"with the prefixes of [read].namespaces")
    return None


def sniff(source: Source) -> bool:
    """A file named .xml or starting with '<'."""
    return source.path.suffix.lower() == ".xml" or source.starts_with(b"<")


def read(source: Source, profile: Profile | None, findings: Findings, language: str | None) -> Iterator[dict]:
    """The entries of the profile's record elements."""
    return map_table(read_xml(source, profile, findings), profile, findings, language)
