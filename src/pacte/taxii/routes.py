"""TAXII 2.1 endpoints: discovery, the ``pacte`` API root, status, collections, manifest, objects, versions.

Collections are the hub's sharing channels as the caller sees them: ``community``, each
sharing group of the caller's organisation, and its private collection. A collection the
caller cannot read does not exist for it (404, same body as an unknown id).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pacte.edge.auth import hub_of, principal
from pacte.edge.bodies import objects_of, parse_json, read_body
from pacte.errors import Detail, Forbidden, InvalidInput, NotFound, UnprocessableEntity
from pacte.hub import Hub, Principal
from pacte.hub.positions import ReaderPositions, Surface
from pacte.store.base import Collection
from pacte.taxii import envelope as render
from pacte.taxii.filters import Filters, parse_filters
from pacte.taxii.reads import read_page, readable
from pacte.taxii.status import StatusRecorder, all_invalid, load_status

API_ROOT = "pacte"
ROOT = f"/taxii2/{API_ROOT}"
router = APIRouter(tags=["TAXII 2.1"])


def _caller(request: Request) -> tuple[Hub, Principal]:
    render.check_accept(request.headers.get("accept"))
    return hub_of(request), principal(request)


def _params(request: Request) -> dict[str, str]:
    params = request.query_params
    for key in params:
        if len(params.getlist(key)) > 1:
            raise InvalidInput(f"parameter {key} given more than once",
                               [Detail(reason="give each parameter once, with comma-separated values", field=key)])
    return dict(params)


def _cursors(hub: Hub, p: Principal) -> ReaderPositions:
    return hub.positions_of(Surface.TAXII, p.org)


def _filters(hub: Hub, p: Principal, request: Request,
             allowed: tuple[str, ...] = ("id", "type", "version", "spec_version"),
             default_version: str = "last") -> Filters:
    return parse_filters(_params(request), _cursors(hub, p), default_limit=hub.settings.default_page,
                         max_limit=hub.settings.max_page, allowed=allowed, default_version=default_version)


def _collection(hub: Hub, p: Principal, collection_id: str) -> Collection:
    return hub.collection_for(p.org, collection_id)


@router.get("/taxii2/", summary="TAXII server discovery")
def discovery(request: Request) -> Response:
    """Return the discovery resource: the one API root of this hub."""
    hub, _ = _caller(request)
    base = (hub.settings.public_url or "").rstrip("/")
    root = f"{base}{ROOT}/"
    return render.taxii({"title": "Pacte", "description": "Threat-intelligence sharing hub (TAXII 2.1)",
                         "default": root, "api_roots": [root]})


@router.get(f"{ROOT}/", summary="TAXII API root")
def api_root(request: Request) -> Response:
    """Return the API root resource."""
    hub, _ = _caller(request)
    return render.taxii({"title": "Pacte", "description": "The sharing channels of this hub",
                         "versions": [render.TAXII_MEDIA_TYPE], "max_content_length": hub.settings.max_body_bytes})


@router.get(f"{ROOT}/status/{{status_id}}/", summary="Status of a POST")
@router.get(f"{ROOT}/status/{{status_id}}", include_in_schema=False)
def status(request: Request, status_id: str) -> Response:
    """Return a status resource posted by the caller's organisation."""
    hub, p = _caller(request)
    return Response(load_status(hub, p.org, status_id), media_type=render.TAXII_MEDIA_TYPE)


@router.get(f"{ROOT}/collections/", summary="Collections the caller reads")
def collections(request: Request) -> Response:
    """Return the caller's collections (community, its groups, its private one)."""
    hub, p = _caller(request)
    colls = [render.collection_resource(c, hub.can_write(p, c)) for c in hub.collections_for(p.org)]
    return render.taxii({"collections": colls} if colls else {})


@router.get(f"{ROOT}/collections/{{collection_id}}/", summary="One collection")
def collection(request: Request, collection_id: str) -> Response:
    """Return one collection resource."""
    hub, p = _caller(request)
    coll = _collection(hub, p, collection_id)
    return render.taxii(render.collection_resource(coll, hub.can_write(p, coll)))


@router.get(f"{ROOT}/collections/{{collection_id}}/manifest/", summary="Manifest of a collection")
def manifest(request: Request, collection_id: str) -> Response:
    """Return one page of manifest records, in added order."""
    hub, p = _caller(request)
    coll = _collection(hub, p, collection_id)
    page = read_page(hub, p.org.org_id, coll.cid, _filters(hub, p, request))
    return render.manifest(page.items, page.more, _cursors(hub, p))


@router.get(f"{ROOT}/collections/{{collection_id}}/objects/", summary="Objects of a collection")
def get_objects(request: Request, collection_id: str) -> Response:
    """Return one page of objects, in added order."""
    hub, p = _caller(request)
    coll = _collection(hub, p, collection_id)
    page = read_page(hub, p.org.org_id, coll.cid, _filters(hub, p, request))
    hub.ledger.record(p.org.org_id, "taxii", page.items)
    return render.envelope(hub.scored(p.org, page.items), page.more, _cursors(hub, p))


def _writable(request: Request, collection_id: str) -> tuple[Hub, Principal, Collection]:
    hub, p = _caller(request)
    render.check_content_type(request.headers.get("content-type"))
    coll = _collection(hub, p, collection_id)
    if not hub.can_write(p, coll):
        raise Forbidden(f"this token cannot add objects to collection {coll.name!r}"
                        + ("" if p.role.may_write else f" (its role is {p.role.value})"))
    return hub, p, coll


@router.post(f"{ROOT}/collections/{{collection_id}}/objects/", status_code=202, summary="Add objects")
async def add_objects(request: Request, collection_id: str) -> Response:
    """Share the objects of an envelope; reply 202 with a complete status resource."""
    hub, p, coll = await run_in_threadpool(_writable, request, collection_id)  # DB lookups off the event loop
    body = await read_body(request, hub.settings.max_body_bytes)
    objects = objects_of(parse_json(body, hub.settings.max_depth), hub.settings.max_depth, envelope=True)
    recorder = StatusRecorder(hub, p.org)
    report = await run_in_threadpool(hub.share, p, coll, objects, recorder)  # status stored in the same commit
    if all_invalid(report):
        raise UnprocessableEntity("no object of the envelope could be processed as STIX 2.1", [
            Detail(reason=o.reason or "invalid", field=o.field, object_id=o.id) for o in report.outcomes])
    return Response(recorder.doc, status_code=202, media_type=render.TAXII_MEDIA_TYPE)


def _object_filters(hub: Hub, p: Principal, request: Request, default_version: str) -> Filters:
    return _filters(hub, p, request, allowed=("version", "spec_version"), default_version=default_version)


@router.get(f"{ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", summary="One object")
def get_object(request: Request, collection_id: str, object_id: str) -> Response:
    """Return the versions of one object selected by the filters (latest by default)."""
    hub, p = _caller(request)
    coll = _collection(hub, p, collection_id)
    page = read_page(hub, p.org.org_id, coll.cid, _object_filters(hub, p, request, "last"), ids=[object_id])
    if not page.items and not readable(hub, p.org.org_id, coll.cid, object_id):
        raise NotFound(f"no object {object_id!r} in this collection")
    hub.ledger.record(p.org.org_id, "taxii", page.items)
    return render.envelope(hub.scored(p.org, page.items), page.more, _cursors(hub, p))


@router.delete(f"{ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", summary="Delete an object")
def delete_object(request: Request, collection_id: str, object_id: str) -> Response:
    """Remove the caller's organisation's shares of the selected versions (all by default)."""
    object_id = object_id.lower()  # ids are filed lower-cased: UUID hex is case-insensitive
    hub, p = _caller(request)
    coll = _collection(hub, p, collection_id)
    f = _object_filters(hub, p, request, "all")
    f.limit = 10_000
    page = read_page(hub, p.org.org_id, coll.cid, f, ids=[object_id])
    if not page.items:
        if readable(hub, p.org.org_id, coll.cid, object_id):
            return render.taxii({})  # readable, but no version matched the filters: nothing to do
        raise NotFound(f"no object {object_id!r} in this collection")
    if not hub.can_write(p, coll):
        raise Forbidden(f"this token cannot delete from collection {coll.name!r}")
    removed = hub.store.remove_shares(coll.cid, p.org.org_id, object_id, sorted({i.vkey for i in page.items}))
    if not removed:
        raise Forbidden("your organisation may delete only what it shared into this collection")
    return render.taxii({})


@router.get(f"{ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/", summary="Versions of an object")
def get_versions(request: Request, collection_id: str, object_id: str) -> Response:
    """Return the versions of one object, in added order."""
    hub, p = _caller(request)
    coll = _collection(hub, p, collection_id)
    f = _filters(hub, p, request, allowed=("spec_version",), default_version="all")
    if request.query_params.get("limit") is None:
        f.limit = hub.settings.max_page  # a versions list is small: answer it whole by default
    page = read_page(hub, p.org.org_id, coll.cid, f, ids=[object_id])
    if not page.items and not readable(hub, p.org.org_id, coll.cid, object_id):
        raise NotFound(f"no object {object_id!r} in this collection")
    return render.versions(page.items, page.more, _cursors(hub, p))
