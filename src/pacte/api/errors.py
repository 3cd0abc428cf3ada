"""The one place where errors become HTTP responses: TAXII's error body on TAXII routes, ours elsewhere."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from pacte.errors import (
    Detail,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PacteError,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
)

log = logging.getLogger("pacte.api")

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
TAXII_PREFIX = "/taxii2"

_BY_STATUS: dict[int, type[PacteError]] = {
    400: InvalidInput, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed, 406: NotAcceptable,
    413: TooLarge, 415: UnsupportedMediaType, 429: TooManyRequests,
}


def taxii_body(exc: PacteError) -> dict[str, object]:
    """Return the TAXII 2.1 error message for an error."""
    body: dict[str, object] = {"title": exc.message, "http_status": str(exc.status), "error_code": exc.code}
    if exc.details:
        body["description"] = "; ".join(str(d.reason if not d.field else f"{d.field}: {d.reason}")
                                        for d in exc.details[:20])
        body["details"] = {"problems": [d.as_dict() for d in exc.details]}
    return body


def render(request: Request, exc: PacteError) -> Response:
    """Return the HTTP response for an error, in the shape of the route family."""
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="pacte", Basic realm="pacte"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(max(1, exc.retry_after))
    if request.url.path.startswith(TAXII_PREFIX):
        return Response(orjson.dumps(taxii_body(exc)), status_code=exc.status, headers=headers,
                        media_type=TAXII_MEDIA_TYPE)
    return Response(orjson.dumps(exc.as_dict()), status_code=exc.status, headers=headers,
                    media_type="application/json")


def install(app: FastAPI) -> None:
    """Register the handlers that route every error through :func:`render`."""

    @app.exception_handler(PacteError)
    async def _pacte(request: Request, exc: PacteError) -> Response:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [Detail(reason=str(e.get("msg")), field=".".join(str(p) for p in e.get("loc", ())))
                   for e in exc.errors()]
        return render(request, InvalidInput("invalid request parameters", details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        cls = _BY_STATUS.get(exc.status_code)
        if cls is None:
            err = PacteError(str(exc.detail))
            err.status = exc.status_code
            return render(request, err)
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        response = render(request, cls(message))
        if exc.headers:
            response.headers.update(exc.headers)  # e.g. Allow on 405
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return render(request, PacteError("internal error"))
