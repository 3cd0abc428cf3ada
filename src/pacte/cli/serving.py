"""Running the HTTP server."""

from __future__ import annotations

import ctypes
import gc
import platform
import sys

import uvicorn

from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.store.sqlite import SQLiteStore

M_ARENA_MAX = -8  # glibc's mallopt parameter: the most malloc arenas the process may create
SERVE_ARENAS = 2


def cap_malloc_arenas(arenas: int = SERVE_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads started from now on; return whether the cap was set."""
    # glibc gives threads their own arenas, up to 8 per core, and each keeps the memory freed in it:
    # with the ~40 threads of the server's thread pool, 60-70 MiB of freed heap stayed resident in
    # the SQLite load test and kept growing; with 2 arenas, 10-15 MiB (bench/load.py --diagnose).
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


def run_server(hub: Hub, host: str, port: int) -> None:
    """Serve the hub's ASGI app with uvicorn until interrupted."""
    cap_malloc_arenas()  # before the app, its thread pool and the stream's threads start
    if isinstance(hub.store, SQLiteStore):
        hub.store.bound_cache()
    app = create_app(hub)
    # The app's long-lived objects (modules, schema, caches) are frozen out of the cycle
    # collector, and its young generation is larger: a request parses thousands of acyclic
    # JSON containers, each of which used to trigger collections (measured: ~3.5% less server
    # CPU per ingested object, /tmp gc A/B of 20k ATT&CK objects through TAXII).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False,
                proxy_headers=False, server_header=False,
                timeout_graceful_shutdown=5)  # open live streams must not hold a shutdown forever
