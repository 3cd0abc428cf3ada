"""An acknowledged write survives kill -9 of the server (real process, real socket)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from tests.conftest import drop_store, make_store

from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role
from pacte.store import open_store
from pacte.store.base import ObjectQuery


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _indicators(n: int) -> list[dict[str, object]]:
    return [{
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": "2024-05-01T00:00:00.000Z", "modified": "2024-05-01T00:00:00.000Z", "pattern_type": "stix",
        "pattern": f"[ipv4-addr:value = '198.51.100.{i % 250}']", "valid_from": "2024-05-01T00:00:00Z",
    } for i in range(n)]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_acknowledged_write_survives_kill9(backend: str, tmp_path: Path) -> None:
    store = make_store(backend, tmp_path)
    url = getattr(store, "path", None) if backend == "sqlite" else None
    if backend == "postgres":
        from pacte.store.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        url = os.environ.get("PACTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test") + f"?schema={store.schema}"
    assert url is not None
    hub = Hub(store, Settings(db_url=url))
    org = m.add_org(hub.store, hub.ids, hub.clock, "Durable", None)
    _, secret = m.new_token(hub.store, hub.ids, hub.clock, org, Role.ANALYST, None)
    port = _port()
    server = subprocess.Popen([sys.executable, "-m", "pacte.cli.main", "serve", "--port", str(port)],
                              env={**os.environ, "PACTE_DB": url}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    acked: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    client.get("/api/v1/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            for _ in range(5):
                objs = _indicators(200)
                bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs}
                r = client.post("/api/v1/collections/community/objects", json=bundle,
                                headers={"Authorization": f"Bearer {secret}"})
                assert r.status_code == 200, r.text
                acked += [o["id"] for o in objs]  # type: ignore[misc]
        server.send_signal(signal.SIGKILL)  # right after the last acknowledgement
        server.wait(10)
    finally:
        if server.poll() is None:
            server.kill()
    hub.close()
    check = open_store(url)  # a fresh process-level view of the same database
    try:
        reader = check.org_by_name("Durable")
        assert reader is not None
        found = check.count(ObjectQuery(reader=reader.org_id, types=["indicator"]))
        assert found == len(acked) == 1000
    finally:
        drop_store(check)
