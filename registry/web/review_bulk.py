"""Bulk decisions from the review queue page: the rows a reviewer ticked, or every mapping the queue's filter
matches, approved with their top candidate, rejected or marked not mappable, after one confirmation.

The decisions go through `registry.mapping.bulk_decide`, like the REST API's: all or nothing, the four-eyes
rule kept (approvals by whoever proposed become refusals), one audit row per mapping.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from registry import mapping
from registry.errors import BadRequest, NsiError
from registry.web.params import query
from registry.web.review import (DASHBOARD_FILTER, _queue_filters, bp, dashboard, need, queue_args, status_of,
                                 store)

BULK_DECISIONS = ("approve", "reject", "not-mappable")


def picked_items(values: list[str]) -> list[dict]:
    """The ticked rows, each `CODE:REVISION` (the revision the reviewer saw), as bulk_decide items."""
    items = []
    for value in values:
        code, sep, revision = value.rpartition(":")
        if not sep or not code or not revision.isdigit():
            raise BadRequest(f"a ticked row must be CODE:REVISION, not {value!r}")
        items.append({"source_code": code, "revision": int(revision)})
    return items


@bp.post("/mapsets/<slug>/bulk")
@query(**DASHBOARD_FILTER)
def bulk(slug, args: dict):
    """Apply one decision to the ticked rows (or, with `all`, to every mapping the queue filter matches)."""
    user = need("review")
    form = request.form
    decision = form.get("decision", "")
    try:
        if decision not in BULK_DECISIONS:
            raise BadRequest(f"a bulk decision is one of {', '.join(BULK_DECISIONS)}, not {decision!r}")
        if form.get("all") == "1":
            filters = {k: v for k, v in _queue_filters(args).items() if k != "sort"}
            results = mapping.bulk_decide(store(), slug, decision, actor=user.name, filters=filters)
        else:
            items = picked_items(form.getlist("pick"))
            if not items:
                raise BadRequest("tick the rows to decide, or all that match the filter")
            results = mapping.bulk_decide(store(), slug, decision, actor=user.name, items=items)
    except NsiError as exc:  # stale rows, the four-eyes rule, a row without a candidate: nothing was decided
        return dashboard(slug, error=exc, status=exc.http_status)
    if results:
        flash(("bulk_saved", len(results), status_of(results[0])))
    return redirect(url_for("review.dashboard", slug=slug, **queue_args(args)))

