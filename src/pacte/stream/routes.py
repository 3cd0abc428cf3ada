"""HTTP surface of immediate sharing: ``GET /api/v1/stream`` (SSE) and ``/api/v1/webhooks``."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pacte.edge.auth import hub_of, principal, require_admin
from pacte.edge.params import json_response as _json
from pacte.errors import Conflict, Detail, InvalidInput, NotFound
from pacte.hub import Principal
from pacte.hub.positions import ReaderPositions, Surface
from pacte.stix.timestamps import format_dt
from pacte.store.base import Store
from pacte.stream.broker import Broker, Subscription
from pacte.stream.filters import Filters, resolve
from pacte.stream.settings import StreamSettings
from pacte.stream.webhooks import WebhookManager, check_url

Caller = Annotated[Principal, Depends(principal)]


class _Running:
    """The broker and webhook manager of one application, started on first need."""

    def __init__(self) -> None:
        self.broker: Broker | None = None
        self.webhooks: WebhookManager | None = None
        self.lock = asyncio.Lock()


def _running(app: FastAPI) -> _Running:
    state: _Running | None = getattr(app.state, "stream", None)
    if state is None:
        state = _Running()
        app.state.stream = state
    return state


def stream_settings(app: FastAPI) -> StreamSettings:
    """Return the app's stream settings (``app.state.stream_settings``, else the environment)."""
    found: StreamSettings | None = getattr(app.state, "stream_settings", None)
    if found is None:
        found = StreamSettings.from_env()
        app.state.stream_settings = found
    return found


async def start(app: FastAPI) -> tuple[Broker, WebhookManager]:
    """Start the broker and the webhook deliveries of an app (idempotent)."""
    state = _running(app)
    async with state.lock:
        if state.broker is None or state.webhooks is None:
            broker = Broker(app.state.hub, stream_settings(app))
            await broker.start()
            webhooks = WebhookManager(broker)
            await webhooks.start()
            state.broker, state.webhooks = broker, webhooks
        return state.broker, state.webhooks


async def stop(app: FastAPI) -> None:
    """Stop the broker and webhook deliveries of an app."""
    state = _running(app)
    async with state.lock:
        if state.webhooks is not None:
            await state.webhooks.stop()
        if state.broker is not None:
            await state.broker.stop()
        state.broker = state.webhooks = None


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start push channels with the server and close every stream when it stops."""
    await start(app)
    try:
        yield
    finally:
        await stop(app)


router = APIRouter(prefix="/api/v1", lifespan=lifespan, tags=["stream"])


def _last_id(ids: ReaderPositions, header: str | None, query: str | None) -> int | None:
    """Return the position a Last-Event-ID names: None if absent, 0 for ``0`` (the start), else what it seals.

    An id this hub did not give this reader on the stream (another member's, altered, or a
    number) is refused (400): ids are opaque, and only the reader's own resume.
    """
    raw = query if query is not None else header
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    position = 0 if raw == "0" else ids.open(raw)
    if position is None:
        raise InvalidInput("invalid Last-Event-ID", [Detail(reason="an event id received from this stream",
                                                           field="Last-Event-ID")])
    return position


def _position(hub_store: Store, last: int | None) -> int:
    """Return where a new stream starts: after ``last``, or at the head of the log.

    The refusals name no position of the log: those count events of every member.
    """
    head = hub_store.event_head()
    if last is None:
        return head
    horizon = hub_store.event_horizon()
    if last < horizon or last > head:
        why = ("events after this id were pruned by retention" if last < horizon
               else "this id is ahead of this hub's log (was the database restored?)")
        raise Conflict("cannot resume: re-synchronise through the objects API, then stream without Last-Event-ID",
                       [Detail(reason=f"resync_required: {why}", field="Last-Event-ID")])
    return last


class EventStreamResponse(Response):
    """A ``text/event-stream`` response fed by a subscription: one ``send`` per send window, no task per chunk."""

    media_type = "text/event-stream"

    def __init__(self, broker: Broker, sub: Subscription) -> None:
        self.broker, self.sub = broker, sub
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stream until the server closes it or the client goes away.

        Before it asks for events, the connection sends an empty body: the ASGI server (uvicorn)
        returns from it only once its transport accepts writes again. So when the broker admits
        the connection to a send window, the events are handed to the transport by a ``send``
        that does not suspend — inside the window (see :mod:`pacte.stream.broker`). A client
        whose socket stays full for ``send_timeout_seconds`` is dropped.
        """
        broker, sub = self.broker, self.sub
        sub.task = asyncio.current_task()
        watcher = asyncio.create_task(self._watch(receive))
        loop = asyncio.get_running_loop()
        probe = {"type": "http.response.body", "body": b"", "more_body": True}
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"retry: 2000\n: pacte stream\n\n", "more_body": True})
            while True:
                sub.writable_since = loop.time()
                await send(probe)  # returns at once unless the client stopped reading
                sub.writable_since = 0.0
                body, end = await broker.next_body(sub)
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                broker.written(sub)
                if end:
                    break
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away
        except asyncio.CancelledError:
            if not sub.dropped:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the broker dropped a client that stopped reading: end quietly
        finally:
            watcher.cancel()
            broker.unsubscribe(sub)

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.sub.close()
        self.broker.unsubscribe(self.sub)


@router.get("/stream", summary="Live event stream (Server-Sent Events) of what the caller may read")
async def stream(
    request: Request, p: Caller,
    type: Annotated[list[str] | None, Query(description="STIX type; repeat or comma-separate")] = None,
    producer: Annotated[str | None, Query(description="organisation name of the producer")] = None,
    collection: Annotated[str | None, Query(description="collection id or name")] = None,
    tlp: Annotated[list[str] | None, Query(description="TLP level(s): clear, green, amber, amber+strict, red")] = None,
    label: Annotated[list[str] | None, Query(description="STIX label; repeat or comma-separate")] = None,
    refs: Annotated[bool, Query(description="include the readable objects each object refers to")] = False,
    last_event_id: Annotated[str | None, Query(description="resume after this event id (as Last-Event-ID)")] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Stream object and membership events the caller may read, from now or after Last-Event-ID."""
    hub = hub_of(request)
    broker, _ = await start(request.app)
    filters = await run_in_threadpool(resolve, hub, p.org, type, producer, collection, tlp, label, refs)
    last = _last_id(hub.positions_of(Surface.STREAM, p.org), last_event_id_header, last_event_id)
    cursor = await run_in_threadpool(_position, hub.store, last)
    sub = broker.subscribe(p.org.org_id, p.token.token_id, filters, cursor)
    return EventStreamResponse(broker, sub)


# webhooks --------------------------------------------------------------------------------

class WebhookRequest(BaseModel):
    """A webhook registration: where to post, and which events."""

    url: str = Field(max_length=2000)
    types: list[str] = Field(default_factory=list, max_length=50)
    producer: str | None = None
    collection: str | None = None
    tlp: list[str] = Field(default_factory=list, max_length=10)
    labels: list[str] = Field(default_factory=list, max_length=50)
    refs: bool = False




def _view(hook: Any) -> dict[str, Any]:
    return {"id": hook.uuid, "url": hook.url, "filters": orjson.loads(hook.filters), "created": hook.created,
            "disabled": hook.disabled}


@router.post("/webhooks", status_code=201, summary="Register a webhook for the caller's organisation (admin)")
async def create_webhook(request: Request, p: Caller, body: WebhookRequest) -> Response:
    """Register a webhook; its signing secret is in this response only."""
    require_admin(p)
    hub = hub_of(request)
    settings = stream_settings(request.app)
    await run_in_threadpool(check_url, body.url, settings.webhook_allow_private)
    filters = await run_in_threadpool(resolve, hub, p.org, body.types, body.producer, body.collection,
                                      body.tlp, body.labels, body.refs)
    stored = {**filters.as_json(), "names": {"producer": body.producer, "collection": body.collection}}
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = await run_in_threadpool(hub.store.add_webhook, str(hub.ids.uuid4()), p.org.org_id, p.token.token_id,
                                   body.url, secret, orjson.dumps(stored).decode(), format_dt(hub.clock.now()))
    _, manager = await start(request.app)
    manager.ensure(hook.wid)
    return _json({**_view(hook), "secret": secret}, 201)


@router.get("/webhooks", summary="Webhooks of the caller's organisation (admin)")
def list_webhooks(request: Request, p: Caller) -> Response:
    """Return the organisation's webhooks (never their secrets)."""
    require_admin(p)
    return _json({"webhooks": [_view(h) for h in hub_of(request).store.webhooks(p.org.org_id)]})


@router.delete("/webhooks/{webhook_id}", summary="Delete a webhook of the caller's organisation (admin)")
def delete_webhook(request: Request, p: Caller, webhook_id: str) -> Response:
    """Stop and forget a webhook; its delivery log is kept."""
    require_admin(p)
    store = hub_of(request).store
    hook = store.webhook_by_uuid(webhook_id, p.org.org_id)
    if hook is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    store.delete_webhook(hook.wid)
    return _json({"id": webhook_id, "deleted": True})


@router.get("/webhooks/{webhook_id}/deliveries", summary="Delivery log of a webhook of the caller's organisation")
def webhook_deliveries(request: Request, p: Caller, webhook_id: str,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    """Return the latest delivery attempts of a webhook, newest first."""
    hub = hub_of(request)
    hook = hub.store.webhook_by_uuid(webhook_id, p.org.org_id)
    if hook is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    ids = hub.positions_of(Surface.STREAM, p.org)
    return _json({"id": webhook_id, "deliveries": [
        {"delivery": d.delivery_id, "event": ids.seal(d.eid), "attempt": d.attempt, "time": d.time, "outcome": d.outcome,
         "http_status": d.http_status, "error": d.error, "ms": d.ms} for d in hub.store.deliveries(hook.wid, limit)]})


__all__ = ["Filters", "router", "start", "stop", "stream_settings"]
