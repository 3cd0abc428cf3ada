"""Webhooks: signed, retried, logged deliveries of the event log to a member's URL.

Each webhook has its own asyncio task and its own HTTP client with timeouts, so a slow or dead
receiver only delays itself. Events are posted one by one, in log order, from a durable cursor;
a failed delivery is retried with exponential backoff (the same delivery id each time), and
before every attempt the event is read again through the policy-filtered log query and the
registering token is re-checked, so a change of authorisation bites at the next attempt.
Redirects are never followed (a 3xx is a failed attempt), and each attempt connects to the
address its URL was resolved to and checked against (no DNS rebinding). With several server processes a
lease in the ``webhooks`` row lets exactly one of them deliver a given webhook.

The event id a receiver gets (``event`` in the body, ``X-Pacte-Event``) is the member's opaque
stream id of the event (:mod:`pacte.hub.positions`; the same on every retry of a delivery, and
usable as ``Last-Event-ID`` by the member's tokens), and the delivery id is a keyed digest: neither
tells how many events of other members the log holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from pacte import __version__
from pacte.errors import Detail, InvalidInput
from pacte.hub.positions import Positions, Surface
from pacte.stix.timestamps import format_dt
from pacte.store.events import Delivery, EventRow, Webhook
from pacte.stream.broker import Broker
from pacte.stream.encode import event_json, readable_references
from pacte.stream.filters import Filters

log = logging.getLogger("pacte.webhooks")

SIGNATURE_HEADER = "X-Pacte-Signature"
TIMESTAMP_HEADER = "X-Pacte-Timestamp"
DELIVERY_HEADER = "X-Pacte-Delivery"
EVENT_HEADER = "X-Pacte-Event"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value: HMAC-SHA256 of ``<timestamp>.<body>`` with the webhook secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance: float = 300.0) -> bool:
    """Return True if a received delivery is authentic and recent (what a receiver should run)."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Return how long to wait before retrying after failed attempt number ``attempt`` (1, 2, ...)."""
    return float(min(base * 2 ** (attempt - 1), cap))


def delivery_id(positions: Positions, webhook_uuid: str, eid: int) -> str:
    """Return the delivery id of an event to a webhook: the same on every retry and process, opaque to members."""
    digest = positions.delivery_digest(f"{webhook_uuid}:{eid}".encode())
    return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: the checked address, with the Host header and TLS name of the URL."""

    url: str  # the URL with its host replaced by the address that was checked
    host_header: str
    sni_hostname: str | None  # for https: the name the certificate must match


def _invalid(reason: str, message: str = "invalid webhook URL") -> InvalidInput:
    return InvalidInput(message, [Detail(reason=reason, field="url")])


def lookup(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Return the addresses a host name resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def resolve_target(url: str, allow_private: bool) -> Target:
    """Resolve a webhook URL once and pin it: raise InvalidInput unless every address is allowed.

    The delivery then connects to the address checked here, so a name that resolves to a public
    address at check time and to a private one a moment later (DNS rebinding) cannot reach the
    hub's own network.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise _invalid("credentials in the URL are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _invalid("the port is not a number from 0 to 65535") from None
    try:
        addrs = lookup(parts.hostname, port)
    except OSError:
        raise _invalid(parts.hostname, "webhook host does not resolve") from None
    if not addrs:
        raise _invalid(parts.hostname, "webhook host does not resolve")
    if not allow_private:
        for addr in addrs:
            if not addr.is_global:
                raise _invalid(f"{addr} is not a public address", "webhook URL points to a private address")
    addr = addrs[0]
    host = f"[{addr}]" if addr.version == 6 else str(addr)
    netloc = f"{host}:{parts.port}" if parts.port else host
    host_header = parts.netloc.rpartition("@")[2]
    return Target(urlunsplit(parts._replace(netloc=netloc)), host_header,
                  parts.hostname if parts.scheme == "https" else None)


def check_url(url: str, allow_private: bool) -> None:
    """Raise InvalidInput unless the URL is http(s) to a public address (or private ones are allowed)."""
    resolve_target(url, allow_private)


class WebhookManager:
    """Runs one delivery task per live webhook of the hub."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.store = broker.store
        self.settings = broker.settings
        self.owner = uuid.uuid4().hex  # this process, for leases
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._reload: asyncio.Task[None] | None = None
        self._lease_until: dict[int, int] = {}  # ms; renewed in the database only past half its life
        self._scanned: dict[int, int] = {}  # cursor past events the webhook may not receive, not yet stored
        self._stored_at: dict[int, float] = {}
        # Versions each webhook delivered (in this process): the log's "first share" rule is evaluated
        # at delivery, so after a narrowing change hid the share a version was delivered through, a
        # later share of it would qualify again; this keeps each version once per webhook (checked
        # only for events flagged ``again``: a version's first event cannot repeat it).
        self._sent_vids: dict[int, set[int]] = {}

    async def start(self) -> None:
        """Start delivering every live webhook, and pick up new ones periodically."""
        await self.reload()
        self._reload = asyncio.create_task(self._reload_forever(), name="pacte-webhooks-reload")

    async def stop(self) -> None:
        """Stop every delivery task."""
        tasks = [*self.tasks.values(), *([self._reload] if self._reload else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self.tasks.clear()

    async def reload(self) -> None:
        """Start tasks for webhooks not yet served by this process."""
        for wh in await self.broker.db(self.store.webhooks):
            if wh.disabled is None:
                self.ensure(wh.wid)

    def ensure(self, wid: int) -> None:
        """Make sure a delivery task runs for this webhook."""
        task = self.tasks.get(wid)
        if task is None or task.done():
            self.tasks[wid] = asyncio.create_task(self._run(wid), name=f"pacte-webhook-{wid}")

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.webhook_reload_seconds)
            with contextlib.suppress(Exception):
                await self.reload()

    async def _run(self, wid: int) -> None:
        s = self.settings
        timeout = httpx.Timeout(s.webhook_timeout_seconds, connect=min(5.0, s.webhook_timeout_seconds))
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                     headers={"User-Agent": f"Pacte-Webhook/{__version__}"}) as client:
            while True:
                try:
                    if not await self._step(client, wid):
                        return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhook %s: delivery step failed", wid)
                    await asyncio.sleep(s.poll_seconds)

    async def _lease(self, wid: int) -> bool:
        now = int(time.time() * 1000)
        span = int(self.settings.webhook_lease_seconds * 1000)
        if self._lease_until.get(wid, 0) - now > span // 2:
            return True  # held, and far from expiry: no write on the hub's serialised write path
        held = bool(await self.broker.db(self.store.lease_webhook, wid, self.owner, now, now + span))
        self._lease_until[wid] = now + span if held else 0
        return held

    async def _next(self, wh: Webhook, after: int,
                    upto: int) -> tuple[EventRow | None, dict[str, str] | None] | None:
        """Return the next deliverable event in (after, upto] and its readable references (if asked for).

        None if the token was revoked; (None, None) if there is no such event.
        """
        if wh.token_id not in await self.broker.db(self.store.active_tokens, [wh.token_id]):
            await self.broker.db(self.store.disable_webhook, wh.wid, "the registering token was revoked")
            return None
        filters = Filters.from_json(orjson.loads(wh.filters))
        rows: list[EventRow] = await self.broker.db(self.store.stream_events,
                                                    filters.query(wh.org_id, after, upto, 1))
        if not rows:
            return None, None
        refs = await self.broker.db(readable_references, self.store, wh.org_id, rows) if filters.refs else None
        return rows[0], refs

    async def _step(self, client: httpx.AsyncClient, wid: int) -> bool:
        """Deliver the next event (with its retries); return False when the webhook is gone."""
        wh: Webhook | None = await self.broker.db(self.store.webhook, wid)
        if wh is None or wh.disabled:
            return False
        if not await self._lease(wid):
            await asyncio.sleep(self.settings.webhook_lease_seconds / 3)
            return True
        head: int = await self.broker.db(self.store.event_head)
        cursor = max(wh.cursor, self._scanned.get(wid, 0))
        epoch = self.broker.epoch  # before reading: a narrowing change after this is re-checked
        found = await self._next(wh, cursor, head)
        if found is None:
            return False
        row, refs = found
        if row is not None and row.again and row.vid is not None and row.vid in self._sent_vids.get(wid, ()):
            self._scanned[wid] = row.eid  # a version this webhook already delivered: not again
            return True
        if row is None:
            if head > cursor:  # nothing for this webhook up to head; store that now and then, not per event
                self._scanned[wid] = head
                if time.monotonic() - self._stored_at.get(wid, 0.0) > 10.0:
                    await self.broker.db(self.store.advance_webhook, wid, head, self.owner)
                    self._stored_at[wid] = time.monotonic()
            await self.broker.changed(self.settings.poll_seconds * 4)
            return True
        if await self._deliver(client, wh, row, refs, epoch):
            self._scanned[wid] = row.eid
        return True

    async def _deliver(self, client: httpx.AsyncClient, wh: Webhook, row: EventRow, refs: dict[str, str] | None,
                       epoch: int) -> bool:
        """Deliver one event with its retries; return True once the webhook is done with it.

        Before every attempt after a narrowing change (``epoch``, bumped by the committing thread)
        and before every retry, the event is read again through the policy-filtered log query and
        the token re-checked: what the change forbids is not posted.
        """
        s = self.settings
        positions = self.broker.hub.positions
        did = delivery_id(positions, wh.uuid, row.eid)
        event_id = positions.seal(Surface.STREAM, wh.org_id, row.eid)
        body = event_json(row, event_id, refs)
        attempt = 0
        while True:
            if attempt:
                await asyncio.sleep(backoff_seconds(attempt, s.webhook_backoff_seconds, s.webhook_backoff_max_seconds))
                if not await self._lease(wh.wid):
                    return False  # another process took over; it resumes from the durable cursor
            if attempt or self.broker.epoch != epoch:
                epoch = self.broker.epoch
                found = await self._next(wh, row.eid - 1, row.eid)
                if found is None:
                    return False
                again, refs = found
                if again is None:
                    await self.broker.db(self.store.log_delivery, wh.wid, Delivery(
                        did, row.eid, attempt, format_dt(_now()), "withdrawn", None,
                        "no longer deliverable under the sharing policy", 0))
                    break
                body = event_json(again, event_id, refs)
            attempt += 1
            status, error, ms = await self._post(client, wh, event_id, did, body)
            ok = status is not None and 200 <= status < 300
            last = ok or attempt >= s.webhook_max_attempts
            outcome = "delivered" if ok else ("failed" if last else "retrying")
            await self.broker.db(self.store.log_delivery, wh.wid, Delivery(
                did, row.eid, attempt, format_dt(_now()), outcome, status, error, ms))
            if ok and row.vid is not None:
                self._sent_vids.setdefault(wh.wid, set()).add(row.vid)
                self.broker.hub.ledger.add(wh.org_id, "webhook", {row.producer: 1} if row.producer else {})
            if last:
                break
        return bool(await self.broker.db(self.store.advance_webhook, wh.wid, row.eid, self.owner))

    async def _post(self, client: httpx.AsyncClient, wh: Webhook, event_id: str, did: str,
                    body: bytes) -> tuple[int | None, str | None, int]:
        try:  # resolved and checked for every attempt; the connection goes to the address checked
            target = await asyncio.to_thread(resolve_target, wh.url, self.settings.webhook_allow_private)
        except InvalidInput as exc:
            return None, f"refused: {exc}"[:300], 0
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "Host": target.host_header, DELIVERY_HEADER: did,
                   EVENT_HEADER: event_id, TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(wh.secret, ts, body)}
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        start = time.monotonic()
        try:
            async with client.stream("POST", target.url, content=body, headers=headers,
                                     extensions=extensions) as resp:
                status = resp.status_code  # the body is never read: a receiver cannot make us buffer
            error = f"redirect to {resp.headers.get('location', '?')} not followed" if 300 <= status < 400 else None
            if status >= 400:
                error = f"HTTP {status}"
            return status, error, int((time.monotonic() - start) * 1000)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300], int((time.monotonic() - start) * 1000)


def _now() -> datetime:
    return datetime.now(UTC)
