"""Native API routes: who am I, members, groups, collections, tokens, objects."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pacte.api.findings import grading_param
from pacte.edge.auth import hub_of, principal, require_admin
from pacte.edge.bodies import objects_of, parse_json, read_body
from pacte.edge.params import json_response as _json
from pacte.edge.params import time_key
from pacte.errors import Detail, InvalidInput, NotFound, UnsupportedMediaType
from pacte.hub import Hub, Principal
from pacte.hub.members import group_view, new_token
from pacte.hub.positions import ReaderPositions, Surface
from pacte.hub.sharing import ShareReport
from pacte.policy import CollectionKind, Role
from pacte.stix import timestamps
from pacte.store.base import Collection, ObjectQuery, StoredObject

router = APIRouter(prefix="/api/v1")
Caller = Annotated[Principal, Depends(principal)]




def _collection_view(request: Request, p: Principal, c: Collection) -> dict[str, Any]:
    hub = hub_of(request)
    return {"id": c.uuid, "name": c.name, "title": c.title, "kind": c.kind.value,
            "description": c.description, "default_tlp": c.default_tlp,
            "can_read": True, "can_write": hub.can_write(p, c)}


@router.get("/whoami", summary="The calling organisation, token and collections")
def whoami(request: Request, p: Caller) -> Response:
    """Return the caller's organisation, role and readable collections."""
    hub = hub_of(request)
    return _json({
        "organisation": {"name": p.org.name, "country": p.org.country, "identity": p.org.identity_id},
        "token": {"id": p.token.token_id, "role": p.role.value, "label": p.token.label},
        "collections": [_collection_view(request, p, c) for c in hub.collections_for(p.org)],
    })


@router.get("/organisations", summary="Member organisations of the hub")
def organisations(request: Request, p: Caller) -> Response:
    """Return every member organisation (name, country, STIX identity)."""
    orgs = hub_of(request).store.list_orgs()
    return _json({"organisations": [{"name": o.name, "country": o.country, "identity": o.identity_id}
                                    for o in orgs]})


@router.get("/groups", summary="Sharing groups the caller belongs to")
def groups(request: Request, p: Caller) -> Response:
    """Return the sharing groups of the caller's organisation, with their members."""
    hub = hub_of(request)
    mine = [c for c in hub.collections_for(p.org) if c.kind is CollectionKind.GROUP]
    return _json({"groups": [group_view(hub.store, c) for c in mine]})


@router.get("/collections", summary="Collections the caller reads")
def collections(request: Request, p: Caller) -> Response:
    """Return the caller's collections with can_read/can_write."""
    hub = hub_of(request)
    return _json({"collections": [_collection_view(request, p, c) for c in hub.collections_for(p.org)]})


class TokenRequest(BaseModel):
    """A request for a new token of the caller's organisation."""

    role: Role = Role.READER
    label: str | None = Field(default=None, max_length=200)


@router.get("/tokens", summary="Tokens of the caller's organisation (admin)")
def list_tokens(request: Request, p: Caller) -> Response:
    """Return the organisation's tokens (never their secrets)."""
    require_admin(p)
    tokens = hub_of(request).store.list_tokens(p.org.org_id)
    return _json({"tokens": [{"id": t.token_id, "role": t.role.value, "label": t.label, "created": t.created,
                              "revoked": t.revoked} for t in tokens]})


@router.post("/tokens", status_code=201, summary="Create a token for the caller's organisation (admin)")
def create_token(request: Request, p: Caller, body: TokenRequest) -> Response:
    """Create a token; its secret is in this response only."""
    require_admin(p)
    hub = hub_of(request)
    token, secret = new_token(hub.store, hub.ids, hub.clock, p.org, body.role, body.label)
    return _json({"id": token.token_id, "role": token.role.value, "label": token.label, "secret": secret}, 201)


@router.delete("/tokens/{token_id}", summary="Revoke a token of the caller's organisation (admin)")
def revoke_token(request: Request, p: Caller, token_id: str) -> Response:
    """Revoke a token; it stops working on the very next request."""
    require_admin(p)
    hub = hub_of(request)
    if not hub.store.revoke_token(token_id, timestamps.format_dt(hub.clock.now()), p.org.org_id):
        raise NotFound(f"no active token {token_id!r}")
    return _json({"id": token_id, "revoked": True})


@router.post("/collections/{collection}/objects", summary="Share a STIX 2.1 bundle into a collection",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"type": "object", "properties": {"type": {"const": "bundle"}, "id": {"type": "string"},
                                                             "objects": {"type": "array"}}}}}}})
async def post_bundle(
    request: Request, collection: str,
    reliability: Annotated[str | None, Query(description="Admiralty source reliability A-F of objects that set"
                                            " none (with credibility; default: the member's grading)")] = None,
    credibility: Annotated[str | None, Query(description="Admiralty information credibility 1-6")] = None,
    handling: Annotated[str | None, Query(description="handling code, e.g. 1-5 of 5x5x5")] = None,
) -> Response:
    """Share the objects of a bundle; reply with success or failure per object."""
    hub = hub_of(request)
    body = await read_body(request, hub.settings.max_body_bytes)
    # everything after reading the body runs off the event loop: live streams keep flowing
    coll, report = await run_in_threadpool(_share_body, request, hub, collection, body,
                                           (reliability, credibility, handling))
    results = [o.as_dict() for o in report.outcomes]
    summary = {"collection": coll.name, "success_count": report.successes, "failure_count": report.failures,
               "results": results}
    if report.failures and not report.successes:
        failed = [o for o in report.outcomes if not o.ok]
        refused = all(o.code == "policy_refused" for o in failed)
        status = 403 if refused else 400
        codes = {o.code for o in failed}
        details = [Detail(reason=o.reason or "", field=o.field, object_id=o.id).as_dict() for o in failed]
        error = {"status": status, "code": codes.pop() if len(codes) == 1 else "invalid_input",
                 "message": "no object was stored", "details": details}
        return _json({"error": error, **summary}, status)
    if report.grading is not None:  # the grading new versions carry where an object sets none (docs/extension.md)
        g = report.grading
        summary["grading"] = {"reliability": g.reliability, "credibility": g.credibility, "handling": g.handling}
    return _json(summary, 207 if report.failures else 200)


_BUNDLE_TYPES = ("application/json", "application/stix+json")


def _check_bundle_type(header: str | None) -> None:
    """Refuse a body declared as anything but JSON (415); a body without Content-Type is read as JSON."""
    if header is None:
        return
    media, _, params = header.partition(";")
    version = params.replace(" ", "").lower().partition("version=")[2].split(";")[0]
    if media.strip().lower() not in _BUNDLE_TYPES or version not in ("", "2.1"):
        raise UnsupportedMediaType(f"cannot read a bundle of type {header[:100]!r}", [Detail(
            reason="application/json or application/stix+json;version=2.1", field="Content-Type")])


def _share_body(request: Request, hub: Hub, collection: str, body: bytes,
                graded: tuple[str | None, str | None, str | None]) -> tuple[Collection, ShareReport]:
    p = principal(request)
    _check_bundle_type(request.headers.get("content-type"))
    coll = hub.collection_for(p.org, collection)
    grading = grading_param(*graded)
    objects = objects_of(parse_json(body, hub.settings.max_depth), hub.settings.max_depth)
    return coll, hub.share(p, coll, objects, grading=grading)


def _seq(cursors: ReaderPositions, value: str | None) -> int:
    """Return the position a cursor of this reader seals (0 when absent); 400 for anything else."""
    if not value:
        return 0
    seq = cursors.open(value)
    if seq is None:
        raise InvalidInput("invalid cursor", [Detail(reason="use the 'next' value of a previous page",
                                                     field="cursor")])
    return seq




def _page(items: list[StoredObject], more: bool, extra: dict[str, Any], cursors: ReaderPositions | None) -> Response:
    nxt = {"next": cursors.seal(items[-1].seq)} if cursors is not None and more and items else {}
    head = orjson.dumps({"more": more, **nxt, **extra})
    body = head[:-1] + b',"objects":[' + ",".join(i.doc for i in items).encode() + b"]}"
    return Response(body, media_type="application/json")


@router.get("/objects", summary="List the objects the caller may read")
def list_objects(
    request: Request, p: Caller,
    type: Annotated[list[str] | None, Query(description="STIX type; repeat for several")] = None,
    producer: Annotated[str | None, Query(description="organisation name of the producer")] = None,
    collection: Annotated[str | None, Query(description="collection id or name")] = None,
    modified_from: str | None = None, modified_to: str | None = None,
    versions: Literal["last", "first", "all"] = "last",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Response:
    """Return one page of readable objects, in added order, with filters."""
    hub = hub_of(request)
    producer_id = hub.producer_filter(producer)
    coll = hub.collection_for(p.org, collection).cid if collection else None
    cursors = hub.positions_of(Surface.OBJECTS, p.org)
    q = ObjectQuery(reader=p.org.org_id, collection=coll, types=type or [], producer=producer_id,
                    modified_from=time_key(modified_from, "modified_from"), modified_to=time_key(modified_to, "modified_to"),
                    versions=versions, after_seq=_seq(cursors, cursor), limit=min(limit, hub.settings.max_page))
    page = hub.query(q)
    hub.ledger.record(p.org.org_id, "api", page.items)
    return _page(hub.scored(p.org, page.items), page.more, {}, cursors)


@router.get("/objects/{object_id}", summary="Get one object by id")
def get_object(request: Request, p: Caller, object_id: str,
               versions: Literal["last", "first", "all"] = "last", with_refs: bool = False) -> Response:
    """Return the readable versions of an object, optionally with the readable objects it refers to."""
    hub = hub_of(request)
    items = hub.scored(p.org, hub.get_object(p.org, object_id, versions))
    hub.ledger.record(p.org.org_id, "api", items)
    extra: dict[str, Any] = {}
    if with_refs:
        refs = hub.scored(p.org, hub.referenced(p.org, [i.doc for i in items]))
        hub.ledger.record(p.org.org_id, "api", [r for r in refs if r.id != object_id])
        extra_body = ",".join(r.doc for r in refs if r.id != object_id).encode()
        body = b'{"objects":[' + ",".join(i.doc for i in items).encode() + b'],"references":[' + extra_body + b"]}"
        return Response(body, media_type="application/json")
    return _page(items, False, extra, None)
