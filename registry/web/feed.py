"""Release feeds: versions published across all catalogs, newest first, as JSON and Atom."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, url_for

from registry import publishing
from registry.web.common import API, json_response, revalidated, store
from registry.web.params import Int, Time, query
from registry.web import response_models as R
from registry.web.responses import TEXT, responds

bp = Blueprint("feed", __name__, url_prefix=API)
ATOM = "http://www.w3.org/2005/Atom"


FEED_PARAMS = {"since": Time(), "limit": Int(1, 1000, default=100)}


def _releases(args: dict):
    items = publishing.releases(store(), since=args["since"], limit=args["limit"])
    for item in items:
        item["url"] = url_for("versions.get_version", slug=item["catalog"], version=item["version"], _external=True)
    return items


@bp.get("/feed")
@responds(R.Feed, etag=True)
@query(**FEED_PARAMS)
def feed_json(args: dict):
    """Published versions newer than `since` (ISO 8601), newest first."""
    return revalidated(json_response({"items": _releases(args)}))


@bp.get("/feed.atom")
@responds(content={"application/atom+xml": TEXT}, etag=True)
@query(**FEED_PARAMS)
def feed_atom(args: dict):
    """The same releases as an Atom feed, for feed readers and simple pollers."""
    items = _releases(args)
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
