"""Running the HTTP server."""

from __future__ import annotations

import uvicorn

from pacte.api.app import create_app
from pacte.hub import Hub


def run_server(hub: Hub, host: str, port: int) -> None:
    """Serve the hub's ASGI app with uvicorn until interrupted."""
    uvicorn.run(create_app(hub), host=host, port=port, log_level="info", access_log=False,
                proxy_headers=False, server_header=False,
                timeout_graceful_shutdown=5)  # open live streams must not hold a shutdown forever
