"""The application factory: one ASGI app serving the native API (and TAXII, when mounted)."""

from __future__ import annotations

from fastapi import FastAPI

from pacte import __version__
from pacte.api import errors
from pacte.api.analyses import router as analyses_router
from pacte.api.findings import router as findings_router
from pacte.api.ledger import router as ledger_router
from pacte.api.openapi import PacteAPI
from pacte.api.routes import router
from pacte.hub import Hub
from pacte.stream.routes import router as stream_router
from pacte.taxii import router as taxii_router


def create_app(hub: Hub) -> FastAPI:
    """Return the ASGI application serving this hub."""
    app = PacteAPI(title="Pacte", version=__version__,
                   description="Threat-intelligence sharing hub: native JSON API. TAXII 2.1 is served at /taxii2/.",
                   openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None)
    app.state.hub = hub
    errors.install(app)
    app.include_router(router)
    app.include_router(analyses_router)
    app.include_router(findings_router)
    app.include_router(ledger_router)
    app.include_router(taxii_router)
    app.include_router(stream_router)
    return app
