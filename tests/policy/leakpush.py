"""Leak-oracle adapters for the push and bulk read paths: what each path hands one reader, as a multiset.

Entry points of the leak machine, each ``fn(hub, client, org_name, token, ...)`` (``client`` is
accepted for the common signature and not used: the push paths need a real socket, so each hub
gets one app served by uvicorn on 127.0.0.1, :func:`harness_for`, which the caller stops with
:func:`close_harness(hub) <close_harness>` before dropping the store). Each returns a
:class:`Seen`: a ``Counter[VersionSeen]`` (duplicates visible) with ``VersionSeen`` =
``(id lower-cased, "modified" or "", sha256 hex of orjson.dumps(obj, option=OPT_SORT_KEYS))``.
Two members' identical copies of an object are two versions (two lines, two rows): the same
VersionSeen counted twice by the stream, the webhooks and an all-versions export (measured:
a relayed object posted by Alpha then Bravo is 2 on Charlie's replay and webhook, 1 in its
latest-versions export, which keeps the owner's line).

``export_seen(hub, client, org_name, token=None, *, types=(), all_versions=False, via_cli=True)``
    ``pacte export --as-org NAME [--type T]... [--all-versions]`` run through click's CliRunner
    (the command opens its own store on the same database), or with ``via_cli=False``
    :func:`pacte.cli.transfer.export_bundle` (what the command calls) on ``hub``. It is
    ``Hub.export``: every object the member may read, members' identities included; by default
    ``versions="last"``: per object id the owner's line if the reader sees any of it, else every
    line it sees, and the latest readable version of each line (``policy.preferred``); with
    ``all_versions`` every readable version. ``count``: the number it printed.

``stream_replay_seen(hub, client, org_name, token, *, last_event_id="0", timeout=10, refs=False, **filters)``
    ``GET /api/v1/stream`` from ``Last-Event-ID`` (``"0"``: the start of the log), read until
    caught up with the log head taken at the call, then closed; ``last_id`` resumes it. Filters:
    ``type``, ``producer``, ``collection``, ``tlp``, ``label``. Object events come in log order,
    **each version at most once** and *every* version (not the last per line): a version is
    delivered, at the first object event of it that qualifies, iff now (evaluated at delivery)
    the reader may read it (``policy.visible``) and may read it through the share that event
    logged: the reader made that share, or the share still exists in a live collection that
    grants the version to the reader (audience and TLP) and the reader was already in that
    audience when the event was logged (no later ``member-added`` of the reader to it: joining a
    group does not replay its past; export does show it). ``references`` (``refs=True``): per
    object event, the latest readable version (``last`` selection) of each other id named in a
    top-level ``*_ref``/``*_refs`` property. ``membership``: membership events by kind (only the
    member concerned gets them). Raises TimeoutError if not caught up within ``timeout``.

``stream_live_seen(hub, client, org_name, token, *, restart=False)``
    A stream opened at the log head on this token's first call (which returns an empty Seen);
    every later call syncs and returns all it delivered since it opened (cumulative), with the
    replay's selection evaluated at each delivery (so a version delivered before a narrowing
    change stays counted).

``webhook_seen(hub, client, org_name, token, *, restart=False)``
    The same for a webhook (admin token) registered on the first call to a local receiver; it
    starts after the log head at registration. Each delivery is evaluated when it is made.
    ``count``: the deliveries the hub's log (``GET /webhooks/{id}/deliveries``) calls delivered.

``analysis_link_ids(hub, client, org_name, token, text=None) -> set[str]``
    ``POST /api/v1/analyses`` (analyst or admin token; NER off, run inline in the server): the
    ids of the draft's items marked ``known``, i.e. objects of the member's knowledge
    (``Hub.export`` of ``review.KNOWLEDGE_TYPES``, latest versions, cached per member by log
    head) whose ``name`` or ``aliases``/``x_mitre_aliases`` the text names, under the pipeline's
    matching rules (``pacte.analysis.knowledge``: single words may need a threat cue). ``text=None`` uses
    :func:`names_text`, which names every object of the hub, whoever may read it: the result
    must be a subset of what the member reads (and contains the members' identities).

Synchronisation is exact, not a sleep: the adapter watches this process's broker until the
stream's subscription handed its connection everything up to the head (then reads until it has
received the last event so handed), or until the webhook's cursor reached the head.
Revoked or unknown tokens: the stream and webhook registration answer 401 (``status``,
``error`` = ``unauthenticated``, nothing seen); an open stream whose token is revoked is closed
by the server (``error`` = ``unauthenticated``); a webhook whose token is revoked is disabled
(``error`` = the reason). A stream cut by the network has ``error`` ``disconnected: <exception>``
(what it saw is then partial). The harness-level pieces (:class:`PushHarness`, :class:`LiveStream`,
:class:`WebhookSession`, :func:`export_run`, :func:`stream_replay`, :func:`analysis_run`) serve
tests that drive one harness themselves (tests/policy/test_leakpush.py).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
from click.testing import CliRunner

from hookreceiver import HookReceiver
from pacte.api.analyses import AnalysisSettings
from pacte.api.app import create_app
from pacte.cli import main as cli_main
from pacte.cli.hubctx import hub_from
from pacte.cli.transfer import export_bundle
from pacte.errors import PacteError
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.hub.positions import Surface
from pacte.stream.broker import Broker, Subscription
from pacte.stream.settings import StreamSettings
from pacte.stream.webhooks import WebhookManager
from stream.live import LiveServer, parse_sse

EXTENSION = "extension-definition--b04de1b4-9772-4973-97ae-2b7fc0efeea4"  # Pacte's (docs/extension.md)
VersionSeen = tuple[str, str, str]  # (id lower-cased, "modified" or "", sha256 of sorted-key orjson)

# Short heartbeats and polls so that syncing is quick; retention 0: nothing is pruned under a test.
PUSH_SETTINGS = StreamSettings(retention_seconds=0.0, heartbeat_seconds=0.1, poll_seconds=0.05,
                               webhook_backoff_seconds=0.05, webhook_timeout_seconds=2.0,
                               webhook_reload_seconds=0.2, webhook_allow_private=True, send_timeout_seconds=5.0)


def version_seen(obj: Any) -> VersionSeen:
    """Return the (id, modified, content hash) key of one delivered STIX object."""
    body = (obj.get("extensions") or {}).get(EXTENSION) if isinstance(obj, dict) else None
    if isinstance(body, dict) and "score" in body:  # exports score indicators per reader: the content is the rest
        rest = {k: v for k, v in body.items() if k != "score"}
        exts = {k: v for k, v in obj["extensions"].items() if k != EXTENSION}
        if rest != {"extension_type": "property-extension"}:  # else: an ungraded indicator, its body held the score
            exts[EXTENSION] = rest
        obj = {k: v for k, v in obj.items() if k != "extensions"} | ({"extensions": exts} if exts else {})
    digest = hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return str(obj["id"]).lower(), str(obj.get("modified", "")), digest


class Seen(Counter[VersionSeen]):
    """A Counter of the versions a path delivered, with what else the path told.

    ``status``: the HTTP status (streams, webhook registration) or the exit code (CLI export);
    ``error``: the error code (``unauthenticated``...), of a refusal or of the server's closing
    ``event: error``; ``count``: the number the export printed, or the webhook deliveries its
    log records as delivered; ``last_id``: the stream's last
    event id (resume with it); ``references`` and ``membership``: the stream's referenced objects
    (``refs=True``) and membership events by kind. Equality is the Counter's: these are not compared.
    """

    status: int | None = None
    error: str | None = None
    count: int | None = None
    last_id: str | None = None
    references: Counter[VersionSeen]
    membership: Counter[str]

    def __init__(self, objects: Iterable[Any] = ()) -> None:
        super().__init__(version_seen(o) for o in objects)
        self.references = Counter()
        self.membership = Counter()


def seen_of(objects: Iterable[Any]) -> Seen:
    """Return the Seen (Counter of VersionSeen) of some STIX objects."""
    return Seen(objects)


# export -------------------------------------------------------------------------------------------------------------

def db_url_of(hub: Hub) -> str:
    """Return the database URL of a hub's store (what ``--db`` takes): SQLite path or PostgreSQL URL with schema."""
    path = getattr(hub.store, "path", None)
    if isinstance(path, str):
        return path
    schema = getattr(hub.store, "schema", None)
    base = os.environ.get("PACTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}schema={schema}" if schema else base


def export_run(hub: Hub, org_name: str, *, types: tuple[str, ...] = (), all_versions: bool = False,
               via_cli: bool = True, db_url: str | None = None) -> Seen:
    """Run ``pacte export --as-org`` (CLI, or the function it calls) and return what it gave, with its count."""
    with tempfile.TemporaryDirectory(prefix="leakpush-") as tmp:
        out = Path(tmp) / "export.json"
        count: int | None = None
        if via_cli:
            args = ["export", "--db", db_url or db_url_of(hub), "--as-org", org_name, "--out", str(out)]
            args += [a for t in types for a in ("--type", t)]
            if all_versions:
                args.append("--all-versions")
            opened: list[Hub] = []  # the command leaves its store open (its process ends): close it here
            real = hub_from

            def tracking(db: str | None, **overrides: object) -> Hub:
                opened.append(real(db, **overrides))
                return opened[-1]

            with mock.patch.object(cli_main, "hub_from", tracking):
                result = CliRunner().invoke(cli_main.cli, args, catch_exceptions=False)
            for other in opened:
                other.close()
            code, stderr = result.exit_code, result.stderr
            if code == 0:
                words = stderr.split()
                count = int(words[words.index("exported") + 1])
        else:
            org = m.require_org(hub.store, org_name)
            with out.open("wb") as fh:
                count = export_bundle(hub, org, types, all_versions, fh)
            code, stderr = 0, ""
        seen = Seen(orjson.loads(out.read_bytes())["objects"] if code == 0 else ())
    seen.status, seen.count = code, count
    seen.error = (stderr.strip() or "failed") if code else None
    return seen


# the served hub -----------------------------------------------------------------------------------------------------

class PushHarness:
    """The hub's app served by uvicorn on 127.0.0.1 (stream, webhooks, analyses), and a webhook receiver."""

    def __init__(self, hub: Hub, settings: StreamSettings = PUSH_SETTINGS) -> None:
        self.hub = hub
        self.app = create_app(hub)
        self.app.state.stream_settings = settings
        self.app.state.analysis = AnalysisSettings(ner=False, cpu_seconds=0, wall_seconds=0)  # inline, no NER
        self.settings = settings
        self.server = LiveServer(self.app)
        self.receiver = HookReceiver()
        self.client = httpx.Client(base_url=self.server.url, timeout=30.0)
        # one client for every stream (making one costs tens of ms); reads wait at most 20 heartbeats
        self.stream_client = httpx.Client(base_url=self.server.url, timeout=httpx.Timeout(
            10.0, read=max(5.0, settings.heartbeat_seconds * 20)), limits=httpx.Limits(max_keepalive_connections=4))
        self._paths = itertools.count(1)

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return self.server.url

    @property
    def broker(self) -> Broker:
        """Return the running broker of the served app."""
        broker = self.app.state.stream.broker
        assert broker is not None
        return broker  # type: ignore[no-any-return]

    @property
    def webhooks(self) -> WebhookManager:
        """Return the running webhook manager of the served app."""
        manager = self.app.state.stream.webhooks
        assert manager is not None
        return manager  # type: ignore[no-any-return]

    def __enter__(self) -> PushHarness:
        self.receiver.start()
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.stream_client.close()
        self.server.__exit__(*exc)
        self.receiver.stop()

    def hook_path(self) -> str:
        """Return a fresh receiver path for one webhook."""
        return f"/hook/{next(self._paths)}"


def _error_code(body: bytes) -> str | None:
    try:
        return str(orjson.loads(body)["error"]["code"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


# the stream ---------------------------------------------------------------------------------------------------------

class LiveStream:
    """One SSE stream of a reader, read in a thread; ``sync`` waits until it delivered everything up to now."""

    def __init__(self, h: PushHarness, token: str, *, last_event_id: str | None = None, refs: bool = False,
                 **filters: Any) -> None:
        self.h = h
        self.token = token
        self.start_id = last_event_id
        self.params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        if refs:
            self.params["refs"] = "true"
        self.status: int | None = None
        self.error: str | None = None  # error code: HTTP refusal, or the server's closing ``event: error``
        self.last_id: str | None = last_event_id
        self.objects: list[Any] = []
        self.references: list[Any] = []
        self.membership: Counter[str] = Counter()
        self._org_id: int | None = None
        self._token_id: str | None = None
        self._eid = 0  # the position the last received block id seals
        self._sub: Subscription | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.ended = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> LiveStream:
        """Connect; return once the server answered (and, on 200, the subscription is registered)."""
        before = set(self.h.broker.subs)
        # A lower bound of where the stream starts: "0" the start, a resume id what it seals (set
        # in ``_run``), none the head when the server subscribes it, which is at least this one.
        # Never the subscription's ``last`` read after the answer: by then the broker may have
        # handed the connection events this client has not parsed yet (a replay then looked
        # caught up and was cut short; seen twice in the leak machine under load).
        start = self.h.hub.store.event_head() if self.start_id is None else 0
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the stream did not answer")
        if self.status == 200 and self._token_id is not None:
            mine = [s for s in set(self.h.broker.subs) - before if s.token_id == self._token_id]
            if len(mine) != 1:
                raise RuntimeError(f"cannot tell this stream's subscription among {len(mine)}")
            self._sub = mine[0]
            with self._lock:
                self._eid = max(self._eid, start)
        return self

    def _run(self, ready: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.start_id is not None:
            headers["Last-Event-ID"] = self.start_id
        try:
            with self.h.stream_client.stream("GET", "/api/v1/stream", params=self.params, headers=headers) as resp:
                self.status = resp.status_code
                if resp.status_code != 200:
                    self.error = _error_code(resp.read())
                    return
                principal = self.h.hub.authenticate(self.token)
                self._org_id, self._token_id = principal.org.org_id, principal.token.token_id
                if self.start_id not in (None, "0"):
                    self._eid = self.h.hub.positions.open(Surface.STREAM, self._org_id, str(self.start_id)) or 0
                ready.set()
                for last, ev in parse_sse(resp.iter_lines()):
                    with self._lock:
                        if ev is not None and ev.event == "error":
                            self.error = str(ev.data.get("code"))
                        elif ev is not None and ev.event == "object":
                            self.objects.append(ev.data["object"])
                            self.references.extend(ev.data.get("references") or ())
                        elif ev is not None:
                            self.membership[ev.event] += 1
                        if last is not None and last != self.last_id:
                            self.last_id = last
                            if self._org_id is not None:
                                pos = self.h.hub.positions.open(Surface.STREAM, self._org_id, last)
                                if pos is not None:
                                    self._eid = max(self._eid, pos)
                    if self._stop.is_set():
                        return
        except PacteError as exc:  # the token was revoked between the answer and this check
            self.error = exc.code
        except httpx.HTTPError as exc:  # refused at connect, or cut mid-stream (then what was seen is partial)
            if self.status is None or not self._stop.is_set():
                self.error = f"disconnected: {type(exc).__name__}"
        finally:
            ready.set()
            self.ended.set()

    def _target(self, head: int) -> int | None:
        """Return the last event handed to the connection if everything up to ``head`` was; else None.

        The subscription is read on the broker's event loop, the only thread that changes it, so
        its fields are one consistent state (``sent`` and ``last`` are assigned one after the other).
        """
        sub, loop = self._sub, self.h.broker._loop
        if sub is None or loop is None or loop.is_closed():
            return None
        state: Future[tuple[bool, int, int, bool, int, int]] = Future()

        def read() -> None:
            state.set_result((sub.closed, sub.sent, sub.idle_cursor, bool(sub.pending), sub.cursor, sub.last))

        loop.call_soon_threadsafe(read)
        closed, sent, idle_cursor, pending, cursor, last = state.result(timeout=5.0)
        if closed:
            return -1  # the server ends the stream: wait for the client to read its end
        handed = sent >= head or (idle_cursor >= head and not pending and cursor >= head)
        return last if handed else None

    def sync(self, timeout: float = 10.0) -> LiveStream:
        """Wait until the client received everything the stream delivers up to the current log head."""
        head = self.h.hub.store.event_head()
        deadline = time.monotonic() + timeout
        while True:
            if self.ended.is_set() or self.status != 200:
                return self
            target = self._target(head)
            if target is not None:
                with self._lock:
                    if target >= 0 and self._eid >= target:
                        return self
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream did not catch up with event head {head} in {timeout} s")
            time.sleep(0.005)

    def seen(self) -> Seen:
        """Return the objects delivered so far (each object event's ``object``), references, membership events."""
        with self._lock:
            out = Seen(self.objects)
            out.references = Counter(version_seen(o) for o in self.references)
            out.membership = Counter(self.membership)
            out.status, out.error, out.last_id = self.status, self.error, self.last_id
        return out

    def poll(self, timeout: float = 10.0) -> Seen:
        """Sync, then return what was delivered so far."""
        return self.sync(timeout).seen()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the stream: the server ends it (as at shutdown), and the reader thread with it."""
        self._stop.set()
        loop, sub = self.h.broker._loop, self._sub
        if loop is not None and sub is not None and not loop.is_closed():
            loop.call_soon_threadsafe(sub.close)
        if self._thread is not None:
            self._thread.join(timeout)


def stream_replay(h: PushHarness, token: str, *, last_event_id: str = "0", timeout: float = 10.0,
                  refs: bool = False, **filters: Any) -> Seen:
    """Open the stream from ``last_event_id`` ("0": the start), read until caught up with the head, close."""
    s = LiveStream(h, token, last_event_id=last_event_id, refs=refs, **filters).start(timeout)
    try:
        s.sync(timeout)
    finally:
        s.stop()
    return s.seen()


def open_stream(h: PushHarness, token: str, **filters: Any) -> LiveStream:
    """Return a started stream positioned at now: write, then ``poll()``, then ``stop()``."""
    return LiveStream(h, token, **filters).start()


# webhooks -----------------------------------------------------------------------------------------------------------

class WebhookSession:
    """A webhook of the member whose admin token registers it, delivered to the harness's receiver."""

    def __init__(self, h: PushHarness, admin_token: str, **filters: Any) -> None:
        self.h = h
        self.token = admin_token
        self.filters = filters
        self.path = h.hook_path()
        self.status: int | None = None
        self.error: str | None = None
        self.uuid: str | None = None
        self._wid: int | None = None

    def start(self) -> WebhookSession:
        """Register the webhook (it starts after the current head of the log)."""
        resp = self.h.client.post("/api/v1/webhooks", json={"url": self.h.receiver.url + self.path, **self.filters},
                                  headers={"Authorization": f"Bearer {self.token}"})
        self.status = resp.status_code
        if resp.status_code != 201:
            self.error = _error_code(resp.content)
            return self
        self.uuid = str(resp.json()["id"])
        org = self.h.hub.authenticate(self.token).org
        hook = self.h.hub.store.webhook_by_uuid(self.uuid, org.org_id)
        assert hook is not None
        self._wid = hook.wid
        return self

    @property
    def disabled(self) -> str | None:
        """Return why the webhook was disabled (its token revoked), or None."""
        if self._wid is None:
            return None
        hook = self.h.hub.store.webhook(self._wid)
        return "deleted" if hook is None else hook.disabled

    def sync(self, timeout: float = 10.0) -> WebhookSession:
        """Wait until every event up to the current head was delivered (or the webhook stopped)."""
        if self._wid is None:
            return self
        head = self.h.hub.store.event_head()
        deadline = time.monotonic() + timeout
        while True:
            hook = self.h.hub.store.webhook(self._wid)
            if hook is None or hook.disabled:
                return self
            if max(hook.cursor, self.h.webhooks._scanned.get(self._wid, 0)) >= head:
                return self
            if time.monotonic() > deadline:
                raise TimeoutError(f"the webhook did not catch up with event head {head} in {timeout} s")
            time.sleep(0.005)

    def bodies(self) -> list[Any]:
        """Return the JSON bodies received so far."""
        return [orjson.loads(b) for b in self.h.receiver.on(self.path)]

    def seen(self) -> Seen:
        """Return the objects the deliveries carried so far (and membership events by kind)."""
        bodies = self.bodies()
        out = Seen(b["object"] for b in bodies if b.get("kind") == "object" and "object" in b)
        out.references = Counter(version_seen(r) for b in bodies for r in b.get("references") or ())
        out.membership = Counter(str(b.get("kind")) for b in bodies if b.get("kind") != "object")
        out.status, out.error, out.count = self.status, self.error or self.disabled, self.delivered()
        return out

    def delivered(self) -> int | None:
        """Return how many deliveries the hub's log (``GET .../deliveries``) says succeeded; None if refused."""
        if self.uuid is None:
            return None
        resp = self.h.client.get(f"/api/v1/webhooks/{self.uuid}/deliveries", params={"limit": 1000},
                                 headers={"Authorization": f"Bearer {self.token}"})
        if resp.status_code != 200:
            return None
        return sum(1 for d in resp.json()["deliveries"] if d["outcome"] == "delivered")

    def poll(self, timeout: float = 10.0) -> Seen:
        """Sync, then return what the deliveries carried so far."""
        return self.sync(timeout).seen()

    def stop(self) -> None:
        """Delete the webhook (if it is still there)."""
        if self.uuid is not None:
            self.h.client.delete(f"/api/v1/webhooks/{self.uuid}", headers={"Authorization": f"Bearer {self.token}"})


def open_webhook(h: PushHarness, admin_token: str, **filters: Any) -> WebhookSession:
    """Return a registered webhook session: write, then ``poll()`` for what it carried, then ``stop()``."""
    return WebhookSession(h, admin_token, **filters).start()


# analysis -----------------------------------------------------------------------------------------------------------

@dataclass
class AnalysisResult:
    """What an analysis linked: the known ids, the HTTP status and error code."""

    linked: set[str]
    status: int
    error: str | None
    draft: dict[str, Any] | None


def analysis_run(h: PushHarness, analyst_token: str, text: str, lang: str = "en") -> AnalysisResult:
    """Analyse a text through ``POST /api/v1/analyses`` as a member and return the ids it linked."""
    resp = h.client.post("/api/v1/analyses", json={"text": text, "lang": lang},
                         headers={"Authorization": f"Bearer {analyst_token}"})
    if resp.status_code != 201:
        return AnalysisResult(set(), resp.status_code, _error_code(resp.content), None)
    draft = resp.json()
    linked = {str(i["stix_id"]).lower() for i in draft["items"] if i.get("known") and i.get("stix_id")}
    return AnalysisResult(linked, resp.status_code, None, draft)


def names_text(hub: Hub) -> str:
    """Return a text naming every object of the knowledge types in the hub, whoever may read it (all versions)."""
    from pacte.analysis.knowledge import MATCHED_TYPES

    names: set[str] = set()
    for org in hub.store.list_orgs():
        for stored in hub.export(org, MATCHED_TYPES, "all"):
            obj = orjson.loads(stored.doc)
            found = [obj.get("name"), *(obj.get("aliases") or ()), *(obj.get("x_mitre_aliases") or ())]
            names.update(n for n in found if isinstance(n, str) and n.strip() and "\n" not in n)
    return "".join(f"The report names {n}, a threat actor using malware.\n" for n in sorted(names)) or "Nothing.\n"


# the leak machine's entry points: (hub, client, org_name, token) ---------------------------------------------------

_harnesses: dict[int, PushHarness] = {}
_sessions: dict[tuple[int, str, str], LiveStream | WebhookSession] = {}


MAX_OPEN = 4  # a caller that forgets close_harness leaves at most this many servers running


def harness_for(hub: Hub) -> PushHarness:
    """Return the hub's served app, started on first use; stop it with :func:`close_harness` before the store goes."""
    h = _harnesses.get(id(hub))
    if h is None or h.hub is not hub:
        while len(_harnesses) >= MAX_OPEN:  # the oldest first (dicts keep insertion order)
            with contextlib.suppress(Exception):
                close_harness(next(iter(_harnesses.values())).hub)
        h = _harnesses[id(hub)] = PushHarness(hub).__enter__()
    return h


def close_harness(hub: Hub) -> None:
    """Stop the hub's open streams and webhooks (:func:`stream_live_seen`, :func:`webhook_seen`) and its server."""
    h = _harnesses.pop(id(hub), None)
    for key in [k for k in _sessions if k[0] == id(hub)]:
        session = _sessions.pop(key)
        with contextlib.suppress(Exception):
            session.stop()
    if h is not None:
        h.__exit__(None, None, None)


@atexit.register
def _close_all() -> None:
    for h in list(_harnesses.values()):
        close_harness(h.hub)


def _reader(hub: Hub, org_name: str, token: str) -> None:
    """Raise ValueError if a live token is not one of this organisation's (a revoked one is let through)."""
    try:
        principal = hub.authenticate(token)
    except PacteError:
        return
    if principal.org.name != org_name:
        raise ValueError(f"the token given for {org_name!r} is {principal.org.name!r}'s")


def export_seen(hub: Hub, client: Any, org_name: str, token: str | None = None, *, types: tuple[str, ...] = (),
                all_versions: bool = False, via_cli: bool = True, db_url: str | None = None) -> Seen:
    """Return what ``pacte export --as-org org_name`` gives (latest versions, or all); ``count``: what it printed."""
    del client, token
    return export_run(hub, org_name, types=types, all_versions=all_versions, via_cli=via_cli, db_url=db_url)


def stream_replay_seen(hub: Hub, client: Any, org_name: str, token: str, *, last_event_id: str = "0",
                       timeout: float = 10.0, refs: bool = False, **filters: Any) -> Seen:
    """Return what the stream delivers from ``last_event_id`` ("0": the start) until caught up; ``.last_id`` resumes."""
    del client
    _reader(hub, org_name, token)
    return stream_replay(harness_for(hub), token, last_event_id=last_event_id, timeout=timeout, refs=refs, **filters)


def _session(hub: Hub, kind: str, token: str, restart: bool) -> LiveStream | WebhookSession:
    """Return the open stream or webhook of a token, opening it at the log head on first use (or restart)."""
    key = (id(hub), kind, token)
    session = _sessions.get(key)
    if restart and session is not None:
        session.stop()
        session = None
    if session is None:
        h = harness_for(hub)
        session = _sessions[key] = open_stream(h, token) if kind == "stream" else open_webhook(h, token)
    return session


def stream_live_seen(hub: Hub, client: Any, org_name: str, token: str, *, restart: bool = False,
                     timeout: float = 10.0) -> Seen:
    """Return all a stream opened at this token's first call (or ``restart``) delivered since, synced to the head."""
    del client
    _reader(hub, org_name, token)
    return _session(hub, "stream", token, restart).poll(timeout)


def webhook_seen(hub: Hub, client: Any, org_name: str, token: str, *, restart: bool = False,
                 timeout: float = 10.0) -> Seen:
    """Return all a webhook registered at this admin token's first call (or ``restart``) carried, synced to the head."""
    del client
    _reader(hub, org_name, token)
    return _session(hub, "webhook", token, restart).poll(timeout)


def analysis_link_ids(hub: Hub, client: Any, org_name: str, token: str, text: str | None = None) -> set[str]:
    """Return the ids the analysis of ``text`` (default: :func:`names_text`) links to; nothing if refused."""
    del client
    _reader(hub, org_name, token)
    return analysis_run(harness_for(hub), token, names_text(hub) if text is None else text).linked
