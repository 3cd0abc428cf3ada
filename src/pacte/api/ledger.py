"""Native API routes of the reciprocity ledger (``pacte.ledger``), and the flushing of recorded reads.

The router's lifespan starts the hub's read recorder flushing to the store every few seconds
(``pacte.ledger.record``) and flushes what is left when the server stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pacte.edge.auth import hub_of, principal, require_admin
from pacte.hub import Hub, Principal
from pacte.ledger.periods import resolve
from pacte.ledger.report import ledger
from pacte.stix import timestamps

Caller = Annotated[Principal, Depends(principal)]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Flush the recorded reads in the background while the server runs, and once more when it stops."""
    hub: Hub = app.state.hub
    hub.ledger.start(hub.store)
    try:
        yield
    finally:
        await run_in_threadpool(hub.ledger.stop, hub.store)


router = APIRouter(prefix="/api/v1", lifespan=lifespan, tags=["ledger"])


@router.get("/ledger", summary="The caller's reciprocity ledger: what it gives and gets, per period")
def get_ledger(request: Request, p: Caller, period: Literal["day", "week", "month"] = "month",
               since: str | None = None, until: str | None = None) -> Response:
    """Return the member's own figures per period and the community's aggregates it may see.

    ``since`` and ``until`` are days (``YYYY-MM-DD``, UTC, both included; default the current month).
    Community figures cover only what the caller may read, or reads of its own objects; a figure over
    fewer than ``k`` members that did not opt in is ``null`` (see ``pacte.ledger.report``).
    """
    hub = hub_of(request)
    start, end = resolve(hub.clock.now().date(), since, until)
    hub.ledger.flush(hub.store)  # this process's counts of the last seconds too (one small write, if any)
    return Response(orjson.dumps(ledger(hub.store, p.org.org_id, period, start, end)),
                    media_type="application/json")


class OptIn(BaseModel):
    """Whether the caller's organisation shows its own figures to the other members."""

    opt_in: bool


@router.put("/ledger/opt-in", summary="Show (or stop showing) the organisation's figures to others (admin)")
def put_opt_in(request: Request, p: Caller, body: OptIn) -> Response:
    """Set whether other members see this organisation's figures by name in their ledgers."""
    require_admin(p)
    hub = hub_of(request)
    hub.store.set_ledger_opt_in(p.org.org_id, body.opt_in, timestamps.format_dt(hub.clock.now()))
    return Response(orjson.dumps({"opt_in": body.opt_in}), media_type="application/json")
