"""The served OpenAPI description: credentials, the error shapes, and the bodies every route answers.

Most routes return raw ``Response`` objects (the JSON is assembled from stored bytes), so FastAPI
cannot infer their bodies: they are declared here, per operation, with the errors each may answer
(FastAPI's default 422 is dropped: invalid parameters are rendered as 400 by ``api/errors.py``).
TAXII routes answer ``application/taxii+json;version=2.1``, their errors in TAXII's error shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pacte.api.errors import TAXII_MEDIA_TYPE, TAXII_PREFIX

__all__ = ["SCHEMAS", "PacteAPI", "describe"]

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def _list(name: str, key: str) -> Schema:
    return _obj({key: {"type": "array", "items": _ref(name)}})


_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_NSTR: Schema = {"type": ["string", "null"]}
_STRS: Schema = {"type": "array", "items": _STR}

SCHEMAS: dict[str, Schema] = {
    "ErrorDetail": {**_obj({"reason": _STR}, {"field": _STR, "id": _STR}), "additionalProperties": False},
    "Error": _obj({"error": {**_obj({"status": _INT, "code": _STR, "message": _STR,
                                     "details": {"type": "array", "items": _ref("ErrorDetail")}}),
                             "additionalProperties": False}}),
    "TaxiiError": _obj({"title": _STR}, {"http_status": _STR, "error_code": _STR, "description": _STR,
                                         "details": {"type": "object"}}),
    "StixObject": _obj({"type": _STR, "id": _STR}),
    "Organisation": _obj({"name": _STR, "country": _NSTR, "identity": _STR}),
    "Collection": _obj({"id": _STR, "name": _STR, "title": _STR,
                        "kind": {"enum": ["community", "group", "private"]}, "description": _NSTR,
                        "default_tlp": _INT, "can_read": _BOOL, "can_write": _BOOL}),
    "Whoami": _obj({"organisation": _ref("Organisation"),
                    "token": _obj({"id": _STR, "role": _STR, "label": _NSTR}),
                    "collections": {"type": "array", "items": _ref("Collection")}}),
    "Organisations": _list("Organisation", "organisations"),
    "Group": _obj({"id": _STR, "name": _STR, "description": _NSTR, "default_tlp": _INT, "members": _STRS}),
    "Groups": _list("Group", "groups"),
    "Collections": _list("Collection", "collections"),
    "Token": _obj({"id": _STR, "role": _STR, "label": _NSTR, "created": _STR, "revoked": _NSTR}),
    "Tokens": _list("Token", "tokens"),
    "TokenCreated": _obj({"id": _STR, "role": _STR, "label": _NSTR, "secret": _STR}),
    "TokenRevoked": _obj({"id": _STR, "revoked": {"const": True}}),
    "Outcome": _obj({"index": _INT, "id": _NSTR, "version": _NSTR, "status": {"enum": ["success", "failure"]}},
                    {"reason": _NSTR, "field": _NSTR, "code": _NSTR}),
    "ShareSummary": _obj({"collection": _STR, "success_count": _INT, "failure_count": _INT,
                          "results": {"type": "array", "items": _ref("Outcome")}},
                         {"grading": _obj({"reliability": _STR, "credibility": _INT, "handling": _NSTR})}),
    "ShareRefused": {"allOf": [_ref("Error"), {"type": "object", "properties": {
        "collection": _STR, "success_count": _INT, "failure_count": _INT,
        "results": {"type": "array", "items": _ref("Outcome")}}}]},
    "ObjectPage": _obj({"more": _BOOL, "objects": {"type": "array", "items": _ref("StixObject")}},
                       {"next": _STR}),
    "ObjectWithReferences": {"anyOf": [_ref("ObjectPage"), _obj({
        "objects": {"type": "array", "items": _ref("StixObject")},
        "references": {"type": "array", "items": _ref("StixObject")}})]},
    "AnalysisSummary": _obj({"id": _STR, "status": {"enum": ["draft", "published", "discarded"]}, "title": _NSTR,
                             "lang": _NSTR, "source": _NSTR, "created": _STR, "updated": _STR, "item_count": _INT,
                             "decisions": {"type": "object"}, "published": {"type": ["object", "null"]}}),
    "Analysis": {"allOf": [_ref("AnalysisSummary"), _obj({"items": {"type": "array"}}, {"bundle": {}})]},
    "Analyses": _obj({"more": _BOOL, "analyses": {"type": "array", "items": _ref("AnalysisSummary")}},
                     {"next": _STR}),
    "Webhook": _obj({"id": _STR, "url": _STR, "filters": {"type": "object"}, "created": _STR,
                     "disabled": {"type": ["boolean", "integer", "string", "null"]}}),
    "WebhookCreated": {"allOf": [_ref("Webhook"), _obj({"secret": _STR})]},
    "Webhooks": _list("Webhook", "webhooks"),
    "WebhookDeleted": _obj({"id": _STR, "deleted": {"const": True}}),
    "Deliveries": _obj({"id": _STR, "deliveries": {"type": "array", "items": _obj({
        "delivery": _STR, "event": _STR, "attempt": _INT, "time": _STR, "outcome": _STR})}}),
    # TAXII 2.1 resources (OASIS TAXII 2.1, section 4 and 5)
    "Discovery": _obj({"title": _STR}, {"description": _STR, "default": _STR, "api_roots": _STRS}),
    "ApiRoot": _obj({"title": _STR, "versions": _STRS, "max_content_length": _INT}, {"description": _STR}),
    "TaxiiCollection": _obj({"id": _STR, "title": _STR, "can_read": _BOOL, "can_write": _BOOL},
                            {"alias": _STR, "description": _STR, "media_types": _STRS}),
    "TaxiiCollections": {"type": "object", "properties": {
        "collections": {"type": "array", "items": _ref("TaxiiCollection")}}},
    "Envelope": {"type": "object", "properties": {"more": _BOOL, "next": _STR,
                                                  "objects": {"type": "array", "items": _ref("StixObject")}}},
    "Manifest": {"type": "object", "properties": {"more": _BOOL, "next": _STR, "objects": {
        "type": "array", "items": _obj({"id": _STR, "date_added": _STR, "version": _STR}, {"media_type": _STR})}}},
    "Versions": {"type": "object", "properties": {"more": _BOOL, "next": _STR, "versions": _STRS}},
    "Empty": {"type": "object", "maxProperties": 0},
    "Status": _obj({"id": _STR, "status": {"enum": ["complete", "pending"]}, "total_count": _INT,
                    "success_count": _INT, "failure_count": _INT, "pending_count": _INT},
                   {"request_timestamp": _STR, "successes": {"type": "array"}, "failures": {"type": "array"},
                    "pendings": {"type": "array"}}),
}

# (method, path) -> (success status -> schema name, extra error statuses beyond 401); a schema name of None
# is a body that is not JSON (the event stream).
Op = tuple[dict[int, str | None], tuple[int, ...]]
_A, _T, _AN, _W = "/api/v1", "/taxii2/pacte", "/api/v1/analyses/{analysis_id}", "/api/v1/webhooks"
_COLL = f"{_T}/collections/{{collection_id}}"
OPERATIONS: dict[tuple[str, str], Op] = {
    ("get", f"{_A}/whoami"): ({200: "Whoami"}, ()),
    ("get", f"{_A}/organisations"): ({200: "Organisations"}, ()),
    ("get", f"{_A}/groups"): ({200: "Groups"}, ()),
    ("get", f"{_A}/collections"): ({200: "Collections"}, ()),
    ("get", f"{_A}/tokens"): ({200: "Tokens"}, (403,)),
    ("post", f"{_A}/tokens"): ({201: "TokenCreated"}, (400, 403)),
    ("delete", f"{_A}/tokens/{{token_id}}"): ({200: "TokenRevoked"}, (403, 404)),
    ("post", f"{_A}/collections/{{collection}}/objects"): ({200: "ShareSummary", 207: "ShareSummary"},
                                                          (400, 403, 404, 413, 415)),
    ("get", f"{_A}/objects"): ({200: "ObjectPage"}, (400, 404)),
    ("get", f"{_A}/objects/{{object_id}}"): ({200: "ObjectWithReferences"}, (400, 404)),
    ("post", f"{_A}/analyses"): ({201: "Analysis"}, (400, 403, 413, 415, 422, 429)),
    ("get", f"{_A}/analyses"): ({200: "Analyses"}, (400, 403)),
    ("get", _AN): ({200: "Analysis"}, (403, 404)),
    ("delete", _AN): ({200: "AnalysisSummary"}, (403, 404, 409)),
    ("patch", f"{_AN}/items"): ({200: "Analysis"}, (400, 403, 404, 409)),
    ("post", f"{_AN}/publish"): ({200: "Analysis", 207: "Analysis"}, (400, 403, 404, 409, 422)),
    ("get", f"{_A}/stream"): ({200: None}, (400, 404, 409)),
    ("get", _W): ({200: "Webhooks"}, (403,)),
    ("post", _W): ({201: "WebhookCreated"}, (400, 403, 404)),
    ("delete", f"{_W}/{{webhook_id}}"): ({200: "WebhookDeleted"}, (403, 404)),
    ("get", f"{_W}/{{webhook_id}}/deliveries"): ({200: "Deliveries"}, (400, 404)),
    ("get", "/taxii2/"): ({200: "Discovery"}, (406,)),
    ("get", f"{_T}/"): ({200: "ApiRoot"}, (406,)),
    ("get", f"{_T}/status/{{status_id}}/"): ({200: "Status"}, (404, 406)),
    ("get", f"{_T}/collections/"): ({200: "TaxiiCollections"}, (406,)),
    ("get", f"{_COLL}/"): ({200: "TaxiiCollection"}, (404, 406)),
    ("get", f"{_COLL}/manifest/"): ({200: "Manifest"}, (400, 404, 406)),
    ("get", f"{_COLL}/objects/"): ({200: "Envelope"}, (400, 404, 406)),
    ("post", f"{_COLL}/objects/"): ({202: "Status"}, (400, 403, 404, 406, 413, 415, 422)),
    ("get", f"{_COLL}/objects/{{object_id}}/"): ({200: "Envelope"}, (400, 404, 406)),
    ("delete", f"{_COLL}/objects/{{object_id}}/"): ({200: "Empty"}, (400, 403, 404, 406)),
    ("get", f"{_COLL}/objects/{{object_id}}/versions/"): ({200: "Versions"}, (400, 404, 406)),
}

# OpenAPI links: how a response names what the next request may address (stateful testing, clients).
LINKS: dict[tuple[str, str, int], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", f"{_A}/tokens", 201): {"RevokeToken": ("delete", f"{_A}/tokens/{{token_id}}",
                                                    {"token_id": "$response.body#/id"})},
    ("post", _W, 201): {
        "DeleteWebhook": ("delete", f"{_W}/{{webhook_id}}", {"webhook_id": "$response.body#/id"}),
        "WebhookDeliveries": ("get", f"{_W}/{{webhook_id}}/deliveries", {"webhook_id": "$response.body#/id"})},
    ("post", f"{_A}/analyses", 201): {
        "GetAnalysis": ("get", _AN, {"analysis_id": "$response.body#/id"}),
        "DecideItems": ("patch", f"{_AN}/items", {"analysis_id": "$response.body#/id"}),
        "PublishAnalysis": ("post", f"{_AN}/publish", {"analysis_id": "$response.body#/id"}),
        "DiscardAnalysis": ("delete", _AN, {"analysis_id": "$response.body#/id"})},
    ("post", f"{_A}/collections/{{collection}}/objects", 200): {
        "GetSharedObject": ("get", f"{_A}/objects/{{object_id}}", {"object_id": "$response.body#/results/0/id"})},
    ("post", f"{_COLL}/objects/", 202): {
        "GetStatus": ("get", f"{_T}/status/{{status_id}}/", {"status_id": "$response.body#/id"}),
        "GetAddedObject": ("get", f"{_COLL}/objects/{{object_id}}/", {
            "collection_id": "$request.path.collection_id", "object_id": "$response.body#/successes/0/id"}),
        "GetAddedVersions": ("get", f"{_COLL}/objects/{{object_id}}/versions/", {
            "collection_id": "$request.path.collection_id", "object_id": "$response.body#/successes/0/id"}),
        "DeleteAddedObject": ("delete", f"{_COLL}/objects/{{object_id}}/", {
            "collection_id": "$request.path.collection_id", "object_id": "$response.body#/successes/0/id"})},
    ("get", f"{_T}/collections/", 200): {
        name: ("get", f"{_COLL}/{tail}", {"collection_id": "$response.body#/collections/0/id"})
        for name, tail in (("GetCollection", ""), ("GetManifest", "manifest/"), ("GetObjects", "objects/"))},
}

# TAXII 2.1 query parameters (section 3.4) read from the query string by the TAXII routes, per operation.
_PAGING = ("added_after", "limit", "next")
_TAXII_QUERY: dict[tuple[str, str], tuple[str, ...]] = {
    ("get", f"{_COLL}/manifest/"): (*_PAGING, "match[id]", "match[type]", "match[version]", "match[spec_version]"),
    ("get", f"{_COLL}/objects/"): (*_PAGING, "match[id]", "match[type]", "match[version]", "match[spec_version]"),
    ("get", f"{_COLL}/objects/{{object_id}}/"): (*_PAGING, "match[version]", "match[spec_version]"),
    ("delete", f"{_COLL}/objects/{{object_id}}/"): ("match[version]", "match[spec_version]"),
    ("get", f"{_COLL}/objects/{{object_id}}/versions/"): (*_PAGING, "match[spec_version]"),
}


def _query_parameter(name: str) -> dict[str, Any]:
    schema: Schema = {"type": "integer", "minimum": 1} if name == "limit" else _STR
    return {"name": name, "in": "query", "required": False, "schema": schema}


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 207: "Some objects refused (per-object results)",
            400: "Invalid input (field path and reason in the details)", 401: "Missing or invalid credentials",
            403: "Forbidden (role, membership or the sharing policy)", 404: "Not found (hidden looks the same)",
            406: "Accept does not admit TAXII 2.1", 409: "Conflict", 413: "Body over the size limit",
            415: "Unsupported Content-Type", 422: "Unprocessable", 429: "Too many concurrent requests"}


def _responses(path: str, successes: dict[int, str | None], errors: tuple[int, ...]) -> dict[str, Any]:
    taxii = path.startswith(TAXII_PREFIX)
    media = TAXII_MEDIA_TYPE if taxii else JSON
    out: dict[str, Any] = {}
    for status, name in successes.items():
        if name is None:
            content = {"text/event-stream": {"schema": {"type": "string"}}}
        else:
            content = {media: {"schema": _ref(name)}}
        out[str(status)] = {"description": _REASONS[status], "content": content}
    for status in sorted({401, *errors}):
        name = "TaxiiError" if taxii else ("ShareRefused" if path.endswith("/{collection}/objects")
                                           and status in (400, 403) else "Error")
        out[str(status)] = {"description": _REASONS[status], "content": {media: {"schema": _ref(name)}}}
    return out


def _not_null(parameter: dict[str, Any]) -> None:
    """Drop ``null`` from an optional parameter's schema: a query string or header is never JSON null."""
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
        (kept,) = [o for o in options if o != {"type": "null"}]
        parameter["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **kept}


def describe(app: FastAPI) -> dict[str, Any]:
    """Return the OpenAPI description of the app: security schemes, declared bodies and errors, links."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(SCHEMAS)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "a token secret (pacte token create)"},
        "basic": {"type": "http", "scheme": "basic",
                  "description": "for TAXII clients: any user name, the token secret as password"},
    }
    doc["security"] = [{"bearer": []}, {"basic": []}]
    ids = {(method, path): op["operationId"] for path, item in doc["paths"].items()
           for method, op in item.items() if "operationId" in op}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for parameter in op.get("parameters", []):
                _not_null(parameter)
            spec = OPERATIONS.get((method, path))
            if spec is None:  # a route not declared here: FastAPI's success, our errors
                op["responses"].pop("422", None)
                op["responses"].update(_responses(path, {}, (400,)))
                continue
            successes, errors = spec
            op["responses"] = _responses(path, successes, errors)
            for status in successes:
                links = LINKS.get((method, path, status))
                if links:
                    op["responses"][str(status)]["links"] = {
                        name: {"operationId": ids[(m, p)], "parameters": params}
                        for name, (m, p, params) in links.items()}
            if (method, path) in _TAXII_QUERY:
                op.setdefault("parameters", []).extend(_query_parameter(n) for n in _TAXII_QUERY[(method, path)])
            if path.startswith(TAXII_PREFIX) and method == "post":
                op["requestBody"] = {"required": True, "content": {TAXII_MEDIA_TYPE: {"schema": _ref("Envelope")}}}
    return doc


class PacteAPI(FastAPI):
    """FastAPI whose OpenAPI description is :func:`describe`'s (computed once)."""

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI description served at ``openapi_url``."""
        if self.openapi_schema is None:
            self.openapi_schema = describe(self)
        return self.openapi_schema
