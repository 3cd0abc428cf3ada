"""Two real ``pacte serve`` processes on one PostgreSQL database: each delivers every event to its subscribers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import drop_store, pg_url_or_skip
from helpers import TLP2, bundle, sdo
from pacte.hub import Hub
from pacte.hub.auth import hash_secret
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_org, new_token
from pacte.hub.positions import Surface
from pacte.policy import Role
from pacte.store import open_store

from .live import Collector, free_port

PACTE = str(Path(sys.executable).with_name("pacte"))


@pytest.fixture
def pg_world(tmp_path: Path) -> Iterator[tuple[Hub, dict[str, str], list[str]]]:
    """A PostgreSQL hub (fresh schema) with Alpha (analyst) and Beta (reader, admin), served by two processes."""
    url = pg_url_or_skip()
    hub = Hub(open_store(url))
    ids = RandomIds()
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    beta = add_org(hub.store, hub.ids, hub.clock, "Beta", "DE")
    tokens = {"alpha": new_token(hub.store, ids, hub.clock, alpha, Role.ANALYST, None)[1],
              "beta": new_token(hub.store, ids, hub.clock, beta, Role.READER, None)[1],
              "beta-admin": new_token(hub.store, ids, hub.clock, beta, Role.ADMIN, None)[1]}
    env = {**os.environ, "PACTE_STREAM_POLL_SECONDS": "30", "PACTE_STREAM_WEBHOOK_ALLOW_PRIVATE": "1",
           "PACTE_STREAM_WEBHOOK_RELOAD_SECONDS": "0.2", "PACTE_STREAM_HEARTBEAT_SECONDS": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(2):
            port = free_port()
            with (tmp_path / f"serve-{i}.log").open("wb") as log:
                procs.append(subprocess.Popen([PACTE, "serve", "--db", url, "--port", str(port)], env=env,
                                              stdout=log, stderr=log))
            urls.append(f"http://127.0.0.1:{port}")
        for i, base in enumerate(urls):
            deadline = time.monotonic() + 60  # generous: the suite may run beside other heavy jobs
            while True:
                assert procs[i].poll() is None, (tmp_path / f"serve-{i}.log").read_text()
                try:
                    if httpx.get(base + "/api/v1/whoami", headers={"Authorization": f"Bearer {tokens['beta']}"},
                                 timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "server process did not start"
                time.sleep(0.1)
        yield hub, tokens, urls
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
        drop_store(hub.store)


def _post(base: str, token: str, *objs: dict[str, Any]) -> None:
    resp = httpx.post(base + "/api/v1/collections/community/objects", json=bundle(*objs, name=str(objs[0]["id"])),
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text


@pytest.mark.postgres
def test_each_process_delivers_every_event(pg_world: tuple[Hub, dict[str, str], list[str]]) -> None:
    _, tokens, urls = pg_world
    streams = [Collector(u, tokens["beta"]).start() for u in urls]
    sent: list[str] = []
    for i, base in enumerate(urls * 2):
        obj = sdo("indicator", f"pp-{i}", markings=[TLP2["green"]])
        start = time.monotonic()
        _post(base, tokens["alpha"], obj)
        sent.append(obj["id"])
        for c in streams:  # the poll fallback is 30 s: arriving within 5 s means NOTIFY woke both processes
            assert c.wait_id(obj["id"], 5), f"not delivered by {c.url}"
        assert time.monotonic() - start < 5
    for c in streams:
        assert c.ids() == sent


@pytest.mark.postgres
def test_webhook_delivered_once_across_processes(pg_world: tuple[Hub, dict[str, str], list[str]]) -> None:
    _, tokens, urls = pg_world
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append(self.headers["X-Pacte-Delivery"])
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        resp = httpx.post(urls[0] + "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{server.server_address[1]}/"},
                          headers={"Authorization": f"Bearer {tokens['beta-admin']}"})
        assert resp.status_code == 201, resp.text
        time.sleep(0.5)  # the other process picks the webhook up too; only the lease holder delivers
        for i, base in enumerate(urls * 3):
            _post(base, tokens["alpha"], sdo("indicator", f"wp-{i}", markings=[TLP2["green"]]))
        deadline = time.monotonic() + 10
        while len(got) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(got) == 6 and len(set(got)) == 6
    finally:
        server.shutdown()


def _admin_revoke(base: str, admin: str, token_id: str) -> None:
    resp = httpx.delete(f"{base}/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert resp.status_code == 200, resp.text


@pytest.mark.postgres
def test_revocation_through_one_process_bites_on_the_other(pg_world: tuple[Hub, dict[str, str], list[str]]) -> None:
    hub, tokens, urls = pg_world
    a, b = urls
    beta = hub.store.token_by_hash(hash_secret(tokens["beta"]))
    assert beta is not None
    on_b = Collector(b, tokens["beta"]).start()
    stop = threading.Event()
    published: list[str] = []

    def publish() -> None:  # a steady flow through A, so that B always has something read and queued
        n = 0
        while not stop.is_set():
            obj = sdo("indicator", f"flow-{n}", markings=[TLP2["green"]])
            _post(a, tokens["alpha"], obj)
            published.append(obj["id"])
            n += 1

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        assert on_b.wait_for(lambda c: len(c.ids()) >= 5, 20)
        _admin_revoke(a, tokens["beta-admin"], beta[0].token_id)  # acknowledged by A once this returns
        revoked_at = hub.store.event_head()  # every event after this one committed after the acknowledgement
        after = sdo("indicator", "after-revocation", markings=[TLP2["green"]])
        _post(a, tokens["alpha"], after)
        assert on_b.ended.wait(10), "B must close the stream of a token revoked through A"
    finally:
        stop.set()
        thread.join(10)
    assert after["id"] not in on_b.ids()
    rows = hub.store._all("SELECT eid FROM events WHERE kind = 'token-revoked'")  # type: ignore[attr-defined]
    reader = hub.store.org_by_name("Beta")
    assert reader is not None
    # ids are sealed by the serving processes under the key in the database: this process opens them too
    delivered = [hub.positions.open(Surface.STREAM, reader.org_id, e.id or "") for e in on_b.events
                 if e.event == "object"]
    assert None not in delivered
    assert delivered and max(d or 0 for d in delivered) < int(rows[0][0]) <= revoked_at  # nothing read after the change
    assert on_b.events[-1].event == "error" and on_b.events[-1].data["code"] == "unauthenticated"
