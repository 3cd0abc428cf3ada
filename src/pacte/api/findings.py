"""Native API routes of correlation, value search, sightings and grading defaults."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from pacte.correlate.links import Filters
from pacte.edge.auth import hub_of, principal, require_admin
from pacte.edge.params import json_response as _json
from pacte.edge.params import time_key
from pacte.errors import Detail, InvalidInput
from pacte.hub import Principal
from pacte.hub.findings import seen_span
from pacte.stix.extension import DEFAULT_GRADING, ExtensionInvalid, Grading

router = APIRouter(prefix="/api/v1")
Caller = Annotated[Principal, Depends(principal)]
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (hidden looks the same)",
                                                      "content": _ERROR}}






@router.get("/objects/{object_id}/correlations", summary="Objects the caller may read that correlate with one",
            responses=_NOT_FOUND)
def correlations(request: Request, p: Caller, object_id: str) -> Response:
    """Return the readable objects sharing a value with this one (or a linked value), with why each matched."""
    links = hub_of(request).correlations(p.org, object_id)
    return _json({"id": object_id, "count": len(links.items),
                  "correlations": [{"id": x.id, "type": x.type, "matches": [m.as_dict() for m in x.matches]}
                                   for x in links.items],
                  "noisy": [n.as_dict() for n in links.noisy]})


@router.get("/objects/{object_id}/sightings", summary="Sighting counts of an object, as the caller may count them",
            responses=_NOT_FOUND)
def sightings(request: Request, p: Caller, object_id: str) -> Response:
    """Return how often the object was sighted or reported false positive, in what the caller may read."""
    tally = hub_of(request).tally(p.org, object_id)
    return _json({"id": object_id, **tally.sightings(), **seen_span(tally)})


@router.get("/search", summary="Objects holding a value, or a value linked to it",
            responses=_NOT_FOUND)
def search(
    request: Request, p: Caller,
    value: Annotated[str, Query(min_length=1, max_length=2048, description="an IP address or network, domain,"
                                " URL, e-mail address or file hash (defanged forms accepted)")],
    type: Annotated[list[str] | None, Query(description="STIX type; repeat for several")] = None,
    producer: Annotated[str | None, Query(description="organisation name of the producer")] = None,
    collection: Annotated[str | None, Query(description="collection id or name")] = None,
    seen_after: Annotated[str | None, Query(description="shared where the caller sees it at or after")] = None,
    seen_before: Annotated[str | None, Query(description="shared where the caller sees it before")] = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Return readable objects holding the value or a correlated one, each with why it matched and its score."""
    hub = hub_of(request)
    producer_id = hub.producer_filter(producer)
    coll = hub.collection_for(p.org, collection).cid if collection else None
    filters = Filters(tuple(type or ()), producer_id, coll, time_key(seen_after, "seen_after"),
                      time_key(seen_before, "seen_before"))
    hits, links = hub.search(p.org, value, filters, min_score, max_score)
    hub.ledger.record(p.org.org_id, "api", [h.obj for h in hits[:limit]])
    return _json({"value": value, "count": len(hits), "more": len(hits) > limit,
                  "results": [h.as_dict() for h in hits[:limit]], "noisy": [n.as_dict() for n in links.noisy]})


def grading_param(reliability: str | None, credibility: str | None, handling: str | None) -> Grading | None:
    """Return the grading a share request sets with ``reliability``, ``credibility`` and ``handling`` (None: none)."""
    if reliability is None and credibility is None and handling is None:
        return None
    if reliability is None or credibility is None:
        missing = "reliability" if reliability is None else "credibility"
        raise InvalidInput("incomplete grading", [Detail(reason="required with the rest of the grading", field=missing)])
    try:
        return Grading(reliability, int(credibility) if credibility.isdigit() else -1, handling)
    except ExtensionInvalid as exc:
        raise InvalidInput("invalid grading", [Detail(reason=exc.reason, field=exc.field.rpartition(".")[2])]) from None


class GradingBody(BaseModel):
    """A member's default grading: Admiralty source reliability and information credibility, and handling."""

    reliability: Literal["A", "B", "C", "D", "E", "F"]
    credibility: int = Field(ge=1, le=6)
    handling: str | None = Field(default=None, max_length=16)


def _grading_view(g: Grading, own: bool) -> dict[str, Any]:
    return {"reliability": g.reliability, "credibility": g.credibility, "handling": g.handling, "set": own}


@router.get("/grading", summary="The grading the caller's shares carry by default")
def get_grading(request: Request, p: Caller) -> Response:
    """Return the member's default grading (the hub's, F6, until an admin sets one)."""
    row = hub_of(request).store.org_grading(p.org.org_id)
    return _json(_grading_view(Grading(*row) if row else DEFAULT_GRADING, row is not None))


@router.put("/grading", summary="Set the grading the caller's shares carry by default (admin)",
            responses={403: {"description": "Forbidden (an admin token is required)", "content": _ERROR}})
def put_grading(request: Request, p: Caller, body: GradingBody) -> Response:
    """Set the member's default grading, applied to objects shared without grading of their own."""
    require_admin(p)
    try:
        grading = Grading(body.reliability, body.credibility, body.handling)
    except ExtensionInvalid as exc:
        raise InvalidInput("invalid grading", [Detail(reason=exc.reason, field=exc.field.rpartition(".")[2])]) from None
    hub_of(request).store.set_org_grading(p.org.org_id, grading.reliability, grading.credibility, grading.handling)
    return _json(_grading_view(grading, True))
