"""Every route the application serves, against an authorisation table: deny by default, proven per role.

How to extend (the web UI, any new route): add one entry to ``TABLE`` keyed by (METHOD, path template
exactly as the app declares it) giving the outcome for each role with ``row(...)``. If its path has a
parameter that ``World.params`` does not fill, fill it there from a resource the owner made. If the route
writes, add to ``WRITES`` how to build its request (body, fresh resources) and how to read what it changes.
A served route without an entry fails ``test_every_served_route_has_an_entry`` (deny by default), and an
entry for a route no longer served fails too; every route × role cell below is requested and checked.
A mount (say static files of a UI) has no methods: ``served_routes`` refuses it until it learns to list
the paths under it.

Roles: ``anonymous`` (no credential), ``garbage`` (``Bearer`` of something that is no token), ``revoked``
(the owner's revoked admin token) — these three are one column of the table, "unauthenticated" —
then ``reader``, ``analyst`` and ``admin`` tokens of the owning member, and ``other``: an admin token of
another member acting on the owner's resources (its private collection and object, its analysis, webhook,
token and TAXII status). ``HIDDEN`` means: 404, byte for byte the answer to the same request on ids that do
not exist (after putting the real ids in place of the made-up ones the body echoes).

Besides the status: a write that is refused changes nothing (read back from the store), an allowed one
changes what it says, a caller other than the owner never sees an owner-only id in an answer, and an owner
reading a resource gets that resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import APIRouter, FastAPI

from conftest import BACKENDS, drop_store, make_store
from helpers import Member, add_member, sdo
from pacte.api.analyses import AnalysisSettings
from pacte.api.app import create_app
from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub.members import new_token
from pacte.policy import Role
from pacte.store.base import ObjectQuery
from pacte.stream.settings import StreamSettings
from stream.live import LiveServer

try:  # FastAPI >= 0.16x keeps included routers as objects; this flattens them
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI lists flat routes
    iter_route_contexts = None


class Hidden:
    """The outcome "looks exactly like a missing resource"."""

    def __repr__(self) -> str:
        return "HIDDEN"


HIDDEN = Hidden()
Outcome = int | Hidden
UNAUTHENTICATED = ("anonymous", "garbage", "revoked")
OWNER = ("reader", "analyst", "admin")
ROLES = (*UNAUTHENTICATED, *OWNER, "other")


def row(unauthenticated: Outcome, reader: Outcome, analyst: Outcome, admin: Outcome, other: Outcome
        ) -> dict[str, Outcome]:
    """Return the outcome per role (the three unauthenticated roles share one)."""
    return {**dict.fromkeys(UNAUTHENTICATED, unauthenticated), "reader": reader, "analyst": analyst,
            "admin": admin, "other": other}


PUBLIC = row(200, 200, 200, 200, 200)  # no credential needed, nothing of a member in it
ANY_TOKEN = row(401, 200, 200, 200, 200)  # every valid token; the answer is the caller's own view
OWNED = row(401, 200, 200, 200, HIDDEN)  # a resource of the owner that every role of the owner reads
ANALYST_OWNED = row(401, 403, 200, 200, HIDDEN)  # an analysis of the owner: analyst or admin
ADMIN_OWNED = row(401, 403, 403, 200, HIDDEN)  # a token or webhook of the owner: admin only


def admin_only(status: int) -> dict[str, Outcome]:
    """Admin tokens only; another member's admin acts on its own organisation."""
    return row(401, 403, 403, status, status)


T = "/taxii2/pacte"
TABLE: dict[tuple[str, str], dict[str, Outcome]] = {
    # OpenAPI and its docs page are public (they describe the API, hold no member data)
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("HEAD", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/docs"): PUBLIC,
    ("HEAD", "/api/v1/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,  # FastAPI's Swagger UI helper page (static HTML)
    ("HEAD", "/docs/oauth2-redirect"): PUBLIC,
    # native API
    ("GET", "/api/v1/whoami"): ANY_TOKEN,
    ("GET", "/api/v1/organisations"): ANY_TOKEN,
    ("GET", "/api/v1/groups"): ANY_TOKEN,
    ("GET", "/api/v1/collections"): ANY_TOKEN,
    ("GET", "/api/v1/tokens"): admin_only(200),
    ("POST", "/api/v1/tokens"): admin_only(201),
    ("DELETE", "/api/v1/tokens/{token_id}"): ADMIN_OWNED,
    ("POST", "/api/v1/collections/{collection}/objects"): row(401, 403, 200, 200, HIDDEN),
    ("GET", "/api/v1/objects"): ANY_TOKEN,
    ("GET", "/api/v1/objects/{object_id}"): OWNED,
    # report analysis
    ("POST", "/api/v1/analyses"): row(401, 403, 201, 201, 201),
    ("GET", "/api/v1/analyses"): row(401, 403, 200, 200, 200),
    ("GET", "/api/v1/analyses/{analysis_id}"): ANALYST_OWNED,
    ("PATCH", "/api/v1/analyses/{analysis_id}/items"): ANALYST_OWNED,
    ("POST", "/api/v1/analyses/{analysis_id}/publish"): ANALYST_OWNED,
    ("DELETE", "/api/v1/analyses/{analysis_id}"): ANALYST_OWNED,
    # TAXII 2.1
    ("GET", "/taxii2/"): ANY_TOKEN,
    ("GET", f"{T}/"): ANY_TOKEN,
    ("GET", f"{T}/status/{{status_id}}"): OWNED,
    ("GET", f"{T}/status/{{status_id}}/"): OWNED,
    ("GET", f"{T}/collections/"): ANY_TOKEN,
    ("GET", f"{T}/collections/{{collection_id}}/"): OWNED,
    ("GET", f"{T}/collections/{{collection_id}}/manifest/"): OWNED,
    ("GET", f"{T}/collections/{{collection_id}}/objects/"): OWNED,
    ("POST", f"{T}/collections/{{collection_id}}/objects/"): row(401, 403, 202, 202, HIDDEN),
    ("GET", f"{T}/collections/{{collection_id}}/objects/{{object_id}}/"): OWNED,
    ("DELETE", f"{T}/collections/{{collection_id}}/objects/{{object_id}}/"): row(401, 403, 200, 200, HIDDEN),
    ("GET", f"{T}/collections/{{collection_id}}/objects/{{object_id}}/versions/"): OWNED,
    # live stream and webhooks
    ("GET", "/api/v1/stream"): ANY_TOKEN,
    ("POST", "/api/v1/webhooks"): admin_only(201),
    ("GET", "/api/v1/webhooks"): admin_only(200),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ADMIN_OWNED,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): OWNED,  # any token of the member reads the log
    # reciprocity ledger: each member's own view; the opt-in is the caller's organisation's, admin only
    ("GET", "/api/v1/ledger"): ANY_TOKEN,
    ("PUT", "/api/v1/ledger/opt-in"): admin_only(200),
    # correlation, search, sightings and grading: read paths over what the caller may read; the grading is its own
    ("GET", "/api/v1/objects/{object_id}/correlations"): OWNED,
    ("GET", "/api/v1/objects/{object_id}/sightings"): OWNED,
    ("GET", "/api/v1/search"): ANY_TOKEN,
    ("GET", "/api/v1/grading"): ANY_TOKEN,
    ("PUT", "/api/v1/grading"): admin_only(200),
}

TAXII_JSON = "application/taxii+json;version=2.1"
REPORT = "APT28 used 45.77.12.9 against evil-domain.com in a phishing wave."  # sent with lang=en
HOOK_URL = "http://127.0.0.1:9/matrix"  # never called: the hook's type filter matches nothing shared here
HOOK_TYPES = ["x-matrix-nothing"]


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Return (method, path template) for every method of every route the app serves, hidden ones included."""
    routes = list(iter_route_contexts(app.routes)) if iter_route_contexts is not None else list(app.routes)
    served: set[tuple[str, str]] = set()
    for route in routes:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None)
        assert path is not None and methods, f"a route of an unknown kind: {route!r}"  # mounts, websockets...
        served.update((method, path) for method in methods)
    return served


# the world: one app per backend, served on a loopback port, an owner with resources and another member

@dataclass
class World:
    """The app, its server, the owner (with one resource of each kind) and another member."""

    hub: Hub
    app: FastAPI
    client: httpx.Client
    owner: Member
    other: Member
    revoked: str
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> the owner's resource
    counter: int = 0

    def auth(self, role: str) -> dict[str, str]:
        """Return the Authorization header of a role (none for anonymous)."""
        if role == "anonymous":
            return {}
        if role == "garbage":
            return {"Authorization": "Bearer this-is-no-token"}
        if role == "revoked":
            return {"Authorization": f"Bearer {self.revoked}"}
        if role == "other":
            return self.other.auth(Role.ADMIN)
        return self.owner.auth(Role(role))

    def fresh(self, kind: str) -> str:
        """Return a name no other cell uses."""
        self.counter += 1
        return f"{kind}-{self.counter}"

    def share_private(self) -> str:
        """Share a new object into the owner's private collection; return its id."""
        obj = sdo("attack-pattern", self.fresh("private"))
        resp = self.client.post(f"/api/v1/collections/{self.params['collection']}/objects",
                                content=orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                                      "objects": [obj]}),
                                headers={**self.owner.auth(Role.ANALYST), "Content-Type": "application/json"})
        assert resp.status_code == 200, resp.text
        return str(obj["id"])

    def draft(self, accept_first: bool = False) -> str:
        """Analyse a short report as the owner; return the draft's id."""
        resp = self.client.post("/api/v1/analyses", json={"text": REPORT, "lang": "en"},
                                headers=self.owner.auth(Role.ANALYST))
        assert resp.status_code == 201, resp.text
        aid = str(resp.json()["id"])
        assert resp.json()["items"], "the report yields no item"
        if accept_first:
            done = self.client.patch(f"/api/v1/analyses/{aid}/items", json={"items": [
                {"index": 0, "decision": "accepted"}]}, headers=self.owner.auth(Role.ANALYST))
            assert done.status_code == 200, done.text
        return aid

    def exists_anywhere(self, obj_id: str) -> bool:
        """Tell whether the owner or the other member reads some version of an object."""
        return any(self.hub.store.query(ObjectQuery(reader=m.org.org_id, ids=[obj_id], versions="all",
                                                    limit=1)).items for m in (self.owner, self.other))

    def markers(self) -> set[str]:
        """Return strings only the owner may ever be shown (its ids and its private collection's name)."""
        kinds = ("collection", "object_id", "analysis_id", "webhook_id", "status_id")
        found = {self.params[k] for k in kinds}
        found |= {t.token_id for t in self.hub.store.list_tokens(self.owner.org.org_id)}
        found |= {a.uuid for a in self.hub.store.analyses(self.owner.org.org_id, None, 1000)}
        found |= {h.uuid for h in self.hub.store.webhooks(self.owner.org.org_id)}
        return found | {f"private:{self.owner.name}"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An owner with a private object, a draft analysis, a webhook and a TAXII status; another member."""
    store = make_store(str(request.param), tmp_path_factory.mktemp("matrix"))
    hub = Hub(store, Settings(max_body_bytes=1024 * 1024, max_depth=16))
    owner, other = add_member(hub, "Owner", "FR"), add_member(hub, "Other", "DE")
    _, revoked = new_token(hub.store, hub.ids, hub.clock, owner.org, Role.ADMIN, "revoked")
    app = create_app(hub)
    app.state.analysis = AnalysisSettings(ner=False, cpu_seconds=0, wall_seconds=0)  # in process: fast
    app.state.stream_settings = StreamSettings(heartbeat_seconds=0.5, poll_seconds=0.2,
                                               webhook_allow_private=True)
    try:
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10.0) as client:
            w = World(hub, app, client, owner, other, revoked)
            gone = client.get("/api/v1/tokens", headers=owner.auth(Role.ADMIN)).json()["tokens"]
            tid = next(t["id"] for t in gone if t["label"] == "revoked")
            assert client.delete(f"/api/v1/tokens/{tid}", headers=owner.auth(Role.ADMIN)).status_code == 200
            w.params["collection"] = w.params["collection_id"] = owner.private(hub).uuid
            w.params["object_id"] = w.share_private()
            w.params["analysis_id"] = w.draft()
            hook = client.post("/api/v1/webhooks", json={"url": HOOK_URL, "types": HOOK_TYPES},
                               headers=owner.auth(Role.ADMIN))
            assert hook.status_code == 201, hook.text
            w.params["webhook_id"] = hook.json()["id"]
            status = client.post(f"{T}/collections/{w.params['collection_id']}/objects/",
                                 content=orjson.dumps({"objects": [sdo("attack-pattern", "status-source")]}),
                                 headers={**owner.auth(Role.ANALYST), "Content-Type": TAXII_JSON,
                                          "Accept": TAXII_JSON})
            assert status.status_code == 202, status.text
            w.params["status_id"] = status.json()["id"]
            w.params["token_id"] = owner.token_ids[Role.READER]
            yield w
    finally:
        drop_store(store)


# requests: what each cell sends, and for writes what it changes

@dataclass
class Request:
    """One request of a cell, and how to read back what it may change."""

    params: dict[str, str]
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    effect: Callable[[], Any] | None = None  # state the write changes (owner's side), read before and after


def _fake(name: str) -> str:
    """Return a made-up value of the shape of a path parameter."""
    if name == "object_id":
        return f"attack-pattern--{uuid.uuid4()}"
    if name == "token_id":
        return "tok_" + uuid.uuid4().hex[-16:]
    return str(uuid.uuid4())


def _token(w: World, role: str) -> Request:
    token, _ = new_token(w.hub.store, w.hub.ids, w.hub.clock, w.owner.org, Role.READER, w.fresh("token"))

    def revoked() -> bool:
        tokens = w.hub.store.list_tokens(w.owner.org.org_id)
        return any(t.revoked for t in tokens if t.token_id == token.token_id)

    return Request({**w.params, "token_id": token.token_id}, effect=revoked)


def _bundle(w: World, role: str) -> Request:
    obj = sdo("attack-pattern", w.fresh(f"native-{role}"))
    return Request(w.params, content=orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                                   "objects": [obj]}),
                   headers={"Content-Type": "application/json"}, effect=lambda: w.exists_anywhere(obj["id"]))


def _envelope(w: World, role: str) -> Request:
    obj = sdo("attack-pattern", w.fresh(f"taxii-{role}"))
    return Request(w.params, content=orjson.dumps({"objects": [obj]}), headers={"Content-Type": TAXII_JSON},
                   effect=lambda: w.exists_anywhere(obj["id"]))


def _taxii_delete(w: World, role: str) -> Request:
    obj_id = w.share_private()
    cid = w.owner.private(w.hub).cid

    def in_collection() -> bool:
        return bool(w.hub.store.query(ObjectQuery(reader=w.owner.org.org_id, collection=cid, ids=[obj_id],
                                                  versions="all", limit=1)).items)

    return Request({**w.params, "object_id": obj_id}, effect=in_collection)


def _new_token(w: World, role: str) -> Request:
    return Request(w.params, json={"role": "reader", "label": w.fresh("new")},
                   effect=lambda: len(w.hub.store.list_tokens(w.owner.org.org_id)))


def _new_analysis(w: World, role: str) -> Request:
    return Request(w.params, json={"text": REPORT, "lang": "en"},
                   effect=lambda: len(w.hub.store.analyses(w.owner.org.org_id, None, 1000)))


def _decide(w: World, role: str) -> Request:
    aid = w.params["analysis_id"]

    def decisions() -> list[bool | None]:
        rec = w.hub.store.analysis(aid, w.owner.org.org_id)
        assert rec is not None
        return list(rec.decisions)

    flip = "rejected" if decisions()[0] is True else "accepted"
    return Request(w.params, json={"items": [{"index": 0, "decision": flip}]}, effect=decisions)


def _status_of(w: World, aid: str) -> Callable[[], str]:
    def status() -> str:
        rec = w.hub.store.analysis(aid, w.owner.org.org_id)
        assert rec is not None
        return rec.status

    return status


def _publish(w: World, role: str) -> Request:
    aid = w.draft(accept_first=True)
    return Request({**w.params, "analysis_id": aid}, json={"collection": "community", "tlp": "clear"},
                   effect=_status_of(w, aid))


def _discard(w: World, role: str) -> Request:
    aid = w.draft()
    return Request({**w.params, "analysis_id": aid}, effect=_status_of(w, aid))


def _new_hook(w: World, role: str) -> Request:
    return Request(w.params, json={"url": HOOK_URL, "types": HOOK_TYPES},
                   effect=lambda: len(w.hub.store.webhooks(w.owner.org.org_id)))


def _hook(w: World, role: str) -> Request:
    hook = w.hub.store.add_webhook(str(uuid.uuid4()), w.owner.org.org_id, w.owner.token_ids[Role.ADMIN],
                                   HOOK_URL, "whsec_matrix", orjson.dumps({"types": HOOK_TYPES}).decode(),
                                   "2026-01-01T00:00:00Z")
    return Request({**w.params, "webhook_id": hook.uuid},
                   effect=lambda: w.hub.store.webhook_by_uuid(hook.uuid, w.owner.org.org_id) is not None)


def _opt_in(w: World, role: str) -> Request:
    def opted() -> bool:
        return w.owner.org.org_id in w.hub.store.ledger_opt_ins()

    return Request(w.params, json={"opt_in": not opted()}, effect=opted)


def _grading(w: World, role: str) -> Request:
    def current() -> tuple[str, int, str | None] | None:
        return w.hub.store.org_grading(w.owner.org.org_id)

    reliability = "B" if current() is None or current()[0] != "B" else "C"  # type: ignore[index]
    return Request(w.params, json={"reliability": reliability, "credibility": 2}, effect=current)


WRITES: dict[tuple[str, str], Callable[[World, str], Request]] = {
    ("POST", "/api/v1/tokens"): _new_token,
    ("DELETE", "/api/v1/tokens/{token_id}"): _token,
    ("POST", "/api/v1/collections/{collection}/objects"): _bundle,
    ("POST", "/api/v1/analyses"): _new_analysis,
    ("PATCH", "/api/v1/analyses/{analysis_id}/items"): _decide,
    ("POST", "/api/v1/analyses/{analysis_id}/publish"): _publish,
    ("DELETE", "/api/v1/analyses/{analysis_id}"): _discard,
    ("POST", f"{T}/collections/{{collection_id}}/objects/"): _envelope,
    ("DELETE", f"{T}/collections/{{collection_id}}/objects/{{object_id}}/"): _taxii_delete,
    ("POST", "/api/v1/webhooks"): _new_hook,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): _hook,
    ("PUT", "/api/v1/ledger/opt-in"): _opt_in,
    ("PUT", "/api/v1/grading"): _grading,
}


def _path(template: str, params: dict[str, str]) -> str:
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value for a parameter of {template} (add it to World.params)"
    return path


# query strings a route needs to answer at all (the search needs something to search for)
QUERIES: dict[tuple[str, str], dict[str, str]] = {("GET", "/api/v1/search"): {"value": "45.77.12.9"}}


def _send(w: World, method: str, template: str, role: str, req: Request) -> httpx.Response:
    headers = {**req.headers, **w.auth(role)}
    if template.startswith("/taxii2/"):
        headers.setdefault("Accept", TAXII_JSON)
    path = _path(template, req.params)
    if template == "/api/v1/stream":  # an endless SSE body: look at the head, then hang up
        with w.client.stream(method, path, headers=headers, timeout=5.0) as resp:
            if resp.status_code == 200:
                assert resp.headers["content-type"].startswith("text/event-stream")
                return httpx.Response(200, headers=resp.headers, content=b"")
            return httpx.Response(resp.status_code, headers=resp.headers, content=resp.read())
    return w.client.request(method, path, headers=headers, json=req.json, content=req.content,
                            params=QUERIES.get((method, template)))


# the checks

def test_every_served_route_has_an_entry(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    served = served_routes(create_app(Hub(store)))
    store.close()
    missing = sorted(served - set(TABLE))
    assert not missing, f"served routes without an authorisation entry (deny by default): {missing}"
    stale = sorted(set(TABLE) - served)
    assert not stale, f"authorisation entries for routes the app does not serve: {stale}"
    assert all(set(outcomes) == set(ROLES) for outcomes in TABLE.values())
    assert set(WRITES) <= set(TABLE)
    writes = {key for key in TABLE if key[0] in ("POST", "PUT", "PATCH", "DELETE")}
    assert writes == set(WRITES), f"write routes without a builder and effect: {sorted(writes - set(WRITES))}"


def test_a_route_added_later_is_denied_by_default(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    app = create_app(Hub(store))
    store.close()
    ui = APIRouter(prefix="/ui")

    @ui.get("/pages/{name}", include_in_schema=False)
    def page(name: str) -> dict[str, str]:
        return {"page": name}

    app.include_router(ui)
    assert served_routes(app) - set(TABLE) == {("GET", "/ui/pages/{name}")}


def test_the_owner_is_shown_every_marker_so_the_leak_check_can_fail(world: World) -> None:
    seen = b""
    for path in ("/api/v1/tokens", "/api/v1/webhooks", "/api/v1/analyses", "/api/v1/collections",
                 f"/api/v1/objects?collection={world.params['collection']}",
                 f"{T}/status/{world.params['status_id']}/"):
        resp = world.client.get(path, headers={**world.owner.auth(Role.ADMIN), "Accept": "*/*"})
        assert resp.status_code == 200, resp.text
        seen += resp.content
    markers = world.markers()
    assert len(markers) >= 10
    assert sorted(m for m in markers if m.encode() not in seen) == []


CELLS = [(method, path, role) for (method, path) in TABLE for role in ROLES]


@pytest.mark.parametrize(("method", "template", "role"), CELLS, ids=[f"{m} {p} {r}" for m, p, r in CELLS])
def test_cell(world: World, method: str, template: str, role: str) -> None:
    expected = TABLE[(method, template)][role]
    build = WRITES.get((method, template))
    req = build(world, role) if build is not None else Request(dict(world.params))
    before = req.effect() if req.effect is not None else None
    resp = _send(world, method, template, role, req)
    if isinstance(expected, Hidden):
        fakes = {name: _fake(name) for name in req.params if "{" + name + "}" in template}
        assert fakes, f"{template} has no resource to hide"
        missing = _send(world, method, template, role, Request({**req.params, **fakes}, req.json, req.content,
                                                               req.headers))
        body = missing.content
        for name, fake in fakes.items():
            body = body.replace(fake.encode(), req.params[name].encode())
        assert (resp.status_code, resp.content) == (404, body), resp.text
        assert (missing.status_code, missing.headers["content-type"]) == (404, resp.headers["content-type"])
    else:
        assert resp.status_code == expected, resp.text
    if expected == 401:
        assert resp.headers.get("www-authenticate"), "a 401 says how to authenticate"
    if req.effect is not None:
        changed = req.effect() != before
        assert changed == (role in OWNER and 200 <= resp.status_code < 300), (
            f"{role} {method} {template}: {resp.status_code}, state {'changed' if changed else 'unchanged'}")
    if role not in OWNER:  # nothing only the owner may see, beyond the ids this request itself named
        named = {req.params[n] for n in req.params if "{" + n + "}" in template}
        leaked = sorted(m for m in world.markers() - named if m.encode() in resp.content)
        assert not leaked, f"{role} was shown the owner's {leaked}"
    elif method == "GET" and resp.status_code == 200 and "{" in template:  # the owner gets what it named
        last = template.rsplit("{", 1)[1].split("}", 1)[0]
        if template.endswith(("/manifest/", "/objects/")):
            last = "object_id"  # a listing of the owner's private collection lists its private object
        if template.endswith("/versions/"):  # the versions of the owner's object, not its id
            assert resp.json()["versions"], "no version of the owner's object"
        else:
            assert req.params[last].encode() in resp.content, f"{last} missing from the answer"
