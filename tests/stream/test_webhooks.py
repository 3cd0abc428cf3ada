"""Webhooks against a local receiver on 127.0.0.1: signature, retries with backoff, no redirects, isolation."""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from helpers import TLP2, sdo
from pacte.stream.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff_seconds,
    sign,
    verify,
)

from .conftest import World

_OLD_NS = uuid.UUID("0b6f2d47-5c3e-4f0e-9a55-70616374655f")  # delivery ids were uuid5(this, "<hook>:<event>")


@dataclass
class Hit:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A local HTTP receiver whose behaviour depends on the path."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)  # /slow answers once set

    def on(self, path: str) -> list[Hit]:
        """Return the hits on one path."""
        return [h for h in self.hits if h.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Serve /ok, /flaky (500 a few times), /redirect (302 to /target), /slow (hangs until released)."""
    rec = Receiver(fail_first={"/flaky": 2})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
            status = 200
            if self.path == "/slow":
                rec.release.wait(30)
            elif self.path == "/redirect":
                status = 302
            elif rec.fail_first.get(self.path, 0) > 0:
                rec.fail_first[self.path] -= 1
                status = 500
            self.send_response(status)
            if status == 302:
                self.send_header("Location", rec.url + "/target")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield rec
    rec.release.set()
    server.shutdown()


def _register(w: World, url: str, **filters: Any) -> dict[str, Any]:
    resp = httpx.post(w.url + "/api/v1/webhooks", json={"url": url, **filters},
                      headers={"Authorization": f"Bearer {w.tokens['beta-admin']}"})
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


def _wait(pred: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return bool(pred())


def test_signed_delivery_retried_with_backoff(world: World, receiver: Receiver) -> None:
    w = world
    hook = _register(w, receiver.url + "/flaky", types=["indicator"])
    obj = sdo("indicator", "wh-1", markings=[TLP2["green"]])
    w.hub.share_as(w.orgs["alpha"], w.hub.community, [sdo("malware", "filtered-out", markings=[TLP2["green"]]), obj])
    assert _wait(lambda: len(receiver.on("/flaky")) >= 3)
    hits = receiver.on("/flaky")[:3]
    assert len({h.headers[DELIVERY_HEADER.lower()] for h in hits}) == 1  # one delivery id across retries
    for h in hits:
        assert verify(hook["secret"], h.headers[TIMESTAMP_HEADER.lower()], h.body, h.headers[SIGNATURE_HEADER.lower()])
        assert not verify("whsec_wrong", h.headers[TIMESTAMP_HEADER.lower()], h.body,
                          h.headers[SIGNATURE_HEADER.lower()])
    body = orjson.loads(hits[0].body)
    assert body["object"]["id"] == obj["id"] and body["kind"] == "object"
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # waited at least the backoff: 0.05 s, then 0.1 s
    def log() -> list[dict[str, Any]]:
        resp = httpx.get(f"{w.url}/api/v1/webhooks/{hook['id']}/deliveries",
                         headers={"Authorization": f"Bearer {w.tokens['beta']}"})  # any token of the member
        entries: list[dict[str, Any]] = resp.json()["deliveries"]
        return entries

    assert _wait(lambda: len(log()) >= 3)  # the attempt is logged once its answer came back
    assert [d["outcome"] for d in reversed(log())] == ["retrying", "retrying", "delivered"]
    assert [d["http_status"] for d in reversed(log())] == [500, 500, 200]
    # the event id is Beta's opaque stream id: the same on every retry, in the body and the header
    event_ids = {h.headers[EVENT_HEADER.lower()] for h in hits} | {orjson.loads(h.body)["event"] for h in hits}
    assert len(event_ids) == 1
    event_id = event_ids.pop()
    eid = w.position("beta", event_id)
    assert w.hub.store._one("SELECT kind FROM events WHERE eid = ?", (eid,))[0] == "object"  # type: ignore[attr-defined]
    assert {w.position("beta", d["event"]) for d in log()} == {eid}  # the log seals it afresh for Beta
    assert hits[0].headers[DELIVERY_HEADER.lower()] != str(uuid.uuid5(_OLD_NS, f"{hook['id']}:{eid}"))
    with pytest.raises(AssertionError):
        w.position("gamma", event_id)  # not Gamma's
    other = httpx.get(f"{w.url}/api/v1/webhooks/{hook['id']}/deliveries",
                      headers={"Authorization": f"Bearer {w.tokens['gamma']}"})
    assert other.status_code == 404  # another member never sees this log


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(n, 1.0, 300.0) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", b"{}") == "sha256=" + expected


def test_redirects_are_never_followed(world: World, receiver: Receiver) -> None:
    w = world
    hook = _register(w, receiver.url + "/redirect")
    w.hub.share_as(w.orgs["alpha"], w.hub.community, [sdo("indicator", "wh-r", markings=[TLP2["green"]])])
    assert _wait(lambda: len(receiver.on("/redirect")) >= 2)
    time.sleep(0.2)
    assert receiver.on("/target") == []
    log = httpx.get(f"{w.url}/api/v1/webhooks/{hook['id']}/deliveries",
                    headers={"Authorization": f"Bearer {w.tokens['beta-admin']}"}).json()["deliveries"]
    assert log[-1]["http_status"] == 302 and "not followed" in log[-1]["error"]


def test_slow_receiver_does_not_delay_others(world: World, receiver: Receiver) -> None:
    w = world
    _register(w, receiver.url + "/slow")
    _register(w, receiver.url + "/ok")
    sent = [sdo("indicator", f"wh-s{i}", markings=[TLP2["green"]]) for i in range(3)]
    for obj in sent:
        w.hub.share_as(w.orgs["alpha"], w.hub.community, [obj])
    assert _wait(lambda: len(receiver.on("/ok")) >= 3, 10)
    assert [orjson.loads(h.body)["object"]["id"] for h in receiver.on("/ok")] == [o["id"] for o in sent]
    slow = receiver.on("/slow")
    assert slow, "the hanging receiver was tried"
    assert len({h.headers[DELIVERY_HEADER.lower()] for h in slow}) == 1  # still stuck on its first event
    api = httpx.get(w.url + "/api/v1/organisations", headers={"Authorization": f"Bearer {w.tokens['beta']}"})
    assert api.status_code == 200  # and the hub answers as usual
    receiver.release.set()
    assert _wait(lambda: len({h.headers[DELIVERY_HEADER.lower()] for h in receiver.on("/slow")}) == 3, 15)


def test_policy_and_revocation_apply_to_webhooks(world: World, receiver: Receiver) -> None:
    w = world
    assert w.group is not None
    hook = _register(w, receiver.url + "/ok")
    w.hub.share_as(w.orgs["alpha"], w.group, [sdo("malware", "wh-red", markings=[TLP2["red"]])])
    visible = sdo("indicator", "wh-vis", markings=[TLP2["green"]])
    w.hub.share_as(w.orgs["alpha"], w.hub.community, [visible])
    assert _wait(lambda: len(receiver.on("/ok")) >= 1)
    time.sleep(0.2)
    assert [orjson.loads(h.body)["object"]["id"] for h in receiver.on("/ok")] == [visible["id"]]
    resp = httpx.delete(f"{w.url}/api/v1/tokens/{w.token_ids['beta-admin']}",
                        headers={"Authorization": f"Bearer {w.tokens['beta-admin']}"})
    assert resp.status_code == 200
    w.hub.share_as(w.orgs["alpha"], w.hub.community, [sdo("indicator", "wh-after", markings=[TLP2["green"]])])
    time.sleep(0.8)
    assert len(receiver.on("/ok")) == 1  # the registering token was revoked: nothing more is delivered
    assert w.hub.store.webhook_by_uuid(hook["id"], w.orgs["beta"].org_id) is not None


def test_registration_needs_admin_and_a_public_url(world: World) -> None:
    w = world
    resp = httpx.post(w.url + "/api/v1/webhooks", json={"url": "http://example.org/hook"},
                      headers={"Authorization": f"Bearer {w.tokens['beta']}"})
    assert resp.status_code == 403
    resp = httpx.post(w.url + "/api/v1/webhooks", json={"url": "ftp://example.org/hook"},
                      headers={"Authorization": f"Bearer {w.tokens['beta-admin']}"})
    assert resp.status_code == 400


def test_private_addresses_are_refused_unless_allowed() -> None:
    from pacte.errors import InvalidInput
    from pacte.stream.webhooks import check_url

    for url in ("http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://169.254.169.254/"):
        with pytest.raises(InvalidInput):
            check_url(url, allow_private=False)
        check_url(url, allow_private=True)
    with pytest.raises(InvalidInput):
        check_url("http://user:pw@example.org/hook", allow_private=True)


def test_target_is_pinned_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from pacte.stream import webhooks

    answers = {"hook.example": "93.184.216.34", "v6.example": "2606:2800:220:1::1", "inside.example": "10.0.0.7"}

    def fake(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address(answers[host])]

    monkeypatch.setattr(webhooks, "lookup", fake)
    t = webhooks.resolve_target("https://hook.example:8443/in?x=1", allow_private=False)
    assert (t.url, t.host_header, t.sni_hostname) == ("https://93.184.216.34:8443/in?x=1", "hook.example:8443",
                                                      "hook.example")
    t = webhooks.resolve_target("http://v6.example/in", allow_private=False)
    assert (t.url, t.host_header, t.sni_hostname) == ("http://[2606:2800:220:1::1]/in", "v6.example", None)
    with pytest.raises(webhooks.InvalidInput) as exc:
        webhooks.resolve_target("http://inside.example/in", allow_private=False)
    assert "10.0.0.7 is not a public address" in str(exc.value)
    with pytest.raises(webhooks.InvalidInput):
        webhooks.resolve_target("http://hook.example:99999/in", allow_private=False)


def test_delivery_connects_to_the_address_resolved_for_it(world: World, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A name only Pacte's own resolution knows: the delivery can only arrive if it used that address."""
    from pacte.stream import webhooks

    real = webhooks.lookup
    port = int(receiver.url.rsplit(":", 1)[1])

    def fake(host: str, port: int) -> list[Any]:
        return real("127.0.0.1" if host == "rebind.invalid" else host, port)

    monkeypatch.setattr(webhooks, "lookup", fake)  # the rest of the process cannot resolve rebind.invalid
    w = world
    _register(w, f"http://rebind.invalid:{port}/ok", types=["indicator"])
    w.hub.share_as(w.orgs["alpha"], w.hub.community, [sdo("indicator", "pinned", markings=[TLP2["green"]])])
    assert _wait(lambda: receiver.on("/ok"))
    assert receiver.on("/ok")[0].headers["host"] == f"rebind.invalid:{port}"
