"""Release feeds: versions published across all catalogs, newest first, as JSON and Atom."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, request, url_for

from registry import publishing
from registry.errors import BadRequest
from registry.web.common import API, arg_int, json_response, revalidated, store

bp = Blueprint("feed", __name__, url_prefix=API)
ATOM = "http://www.w3.org/2005/Atom"


def _since() -> datetime | None:
    raw = request.args.get("since")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"since must be an ISO 8601 time such as 2024-01-31T00:00:00Z, got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _releases():
    items = publishing.releases(store(), since=_since(), limit=arg_int("limit", 100, 1, 1000))
    for item in items:
        item["url"] = url_for("versions.get_version", slug=item["catalog"], version=item["version"], _external=True)
    return items


@bp.get("/feed")
def feed_json():
    """Published versions newer than `since` (ISO 8601), newest first."""
    return revalidated(json_response({"items": _releases()}))


@bp.get("/feed.atom")
def feed_atom():
    """The same releases as an Atom feed, for feed readers and simple pollers."""
    items = _releases()
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "NSI Registry releases"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = url_for("feed.feed_atom", _external=True)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=url_for("feed.feed_atom", _external=True))
    updated = items[0]["published_at"] if items else datetime(2000, 1, 1, tzinfo=timezone.utc)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{item['catalog_title']} {item['version']}"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = item["url"]
        ET.SubElement(entry, f"{{{ATOM}}}link", href=item["url"])
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = item["published_at"].isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = (
            f"{item['catalog']} {item['version']}: {item['entry_count']} entries, {item['added_count']} added, "
            f"{item['changed_count']} changed, {item['removed_count']} removed"
            + (f" since {item['previous_version']}" if item["previous_version"] else "")
            + (f". {item['release_notes']}" if item["release_notes"] else ""))
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return revalidated(Response(body, mimetype="application/atom+xml"))
