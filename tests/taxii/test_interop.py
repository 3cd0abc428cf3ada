"""Interop over a real socket: uvicorn serving the hub, driven by taxii2-client and stix2's TAXII store.

Everything the server returns for ATT&CK objects must pass ``stix2-validator`` with no error.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import uvicorn
from stix2 import Filter, TAXIICollectionSink, TAXIICollectionSource
from stix2validator import ValidationOptions, validate_instance
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from helpers import as_served
from pacte.api.app import create_app
from pacte.hub import Hub
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_org, new_token
from pacte.policy import Role

from .world import attack_subset, indicator, stix_id

VALIDATION = ValidationOptions(version="2.1")


class Bearer(requests.auth.AuthBase):
    """``Authorization: Bearer`` for requests."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(hub: Hub) -> Iterator[tuple[str, str, str]]:
    """Serve the hub on 127.0.0.1; yield (base URL, analyst token, reader token of another member)."""
    org = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    other = add_org(hub.store, hub.ids, hub.clock, "Beta", "DE")
    token = new_token(hub.store, RandomIds(), hub.clock, org, Role.ANALYST, None)[1]
    reader = new_token(hub.store, RandomIds(), hub.clock, other, Role.READER, None)[1]
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", token, reader
    server.should_exit = True
    thread.join(timeout=10)


def _collection(base: str, token: str, alias: str) -> Collection:
    server = Server(f"{base}/taxii2/", user="anything", password=token)
    api: ApiRoot = server.default
    assert api.url == f"{base}/taxii2/pacte/" and "application/taxii+json;version=2.1" in api.versions
    found = [c for c in api.collections if c.alias == alias]
    assert len(found) == 1
    return found[0]


def _assert_valid(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        result = validate_instance(obj, VALIDATION)
        assert result.is_valid, (obj["id"], [str(e) for e in result.errors])


def test_taxii2client_round_trip_of_attack(served: tuple[str, str, str]) -> None:
    base, token, _ = served
    data = attack_subset(300)
    coll = _collection(base, token, "private:Alpha")
    assert coll.can_read and coll.can_write
    status = coll.add_objects({"objects": data}, wait_for_completion=True, poll_interval=0.05)
    assert (status.status, status.success_count, status.failure_count) == ("complete", len(data), 0)
    again = coll.add_objects({"objects": data[:10]})  # an exact duplicate is a success
    assert again.success_count == 10

    objects: list[dict[str, Any]] = []
    pages = 0
    for envelope in as_pages(coll.get_objects, per_request=64):
        objects.extend(envelope.get("objects", []))
        pages += 1
    assert pages == -(-len(data) // 64)
    assert {o["id"] for o in objects} == {o["id"] for o in data}
    assert {o["id"]: o for o in objects} == {o["id"]: as_served(o) for o in data}  # the same content, graded
    _assert_valid(objects)

    manifest = [r for page in as_pages(coll.get_manifest, per_request=100) for r in page.get("objects", [])]
    assert [r["id"] for r in manifest] == [o["id"] for o in objects]

    kind = next(o["type"] for o in data if o["type"] == "intrusion-set")
    typed = coll.get_objects(type=kind)["objects"]
    assert typed and {o["id"] for o in typed} == {o["id"] for o in data if o["type"] == kind}
    _assert_valid(typed)
    one = data[7]
    got = coll.get_object(one["id"])["objects"]
    assert got == [as_served(one)]
    _assert_valid(got)
    assert coll.get_objects(id=one["id"])["objects"] == [as_served(one)]
    versions = coll.object_versions(one["id"])["versions"]
    assert versions == [one.get("modified", one["created"])]
    api = ApiRoot(f"{base}/taxii2/pacte/", auth=Bearer(token))
    assert api.get_status(status.id).success_count == len(data)

    coll.delete_object(one["id"])
    with pytest.raises(requests.HTTPError) as err:
        coll.get_object(one["id"])
    assert err.value.response.status_code == 404


def test_stix2_taxii_store(served: tuple[str, str, str]) -> None:
    base, token, _ = served
    data = attack_subset(120)
    coll = _collection(base, token, "community")
    sink = TAXIICollectionSink(coll, allow_custom=True)
    sink.add([o for o in data if o["type"] != "marking-definition"])
    source = TAXIICollectionSource(coll, items_per_page=50)
    kind = "attack-pattern"
    found = source.query([Filter("type", "=", kind)])
    expected = {o["id"] for o in data if o["type"] == kind}
    assert expected and {o.id for o in found} == expected
    probe = next(o for o in data if o["type"] == kind)
    obj = source.get(probe["id"])
    assert obj is not None and obj.id == probe["id"] and obj.name == probe["name"]
    _assert_valid([dict(o) for o in [probe]])


def test_real_socket_errors(served: tuple[str, str, str]) -> None:
    base, token, reader = served
    r = requests.get(f"{base}/taxii2/pacte/collections/", headers={"Accept": "application/taxii+json;version=2.1"})
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
    assert r.headers["Content-Type"] == "application/taxii+json;version=2.1"
    coll = _collection(base, reader, "community")
    assert not coll.can_write
    with pytest.raises(TAXIIServiceException):  # taxii2-client refuses before sending
        coll.add_objects({"objects": [indicator(1)]})
    writer = _collection(base, token, "community")
    writer.add_objects({"objects": [indicator(1)]})
    ids = [o["id"] for page in as_pages(coll.get_objects, per_request=10, type="indicator")
           for o in page.get("objects", [])]
    assert ids == [stix_id("indicator", 1)]


def test_stix2_taxii_store_after_a_member_posted_a_broken_pattern(served: tuple[str, str, str]) -> None:
    """A broken pattern once stored made every reader's stix2 query raise; it is now refused alone."""
    base, token, reader = served
    writer = _collection(base, token, "community")
    broken = indicator(2, pattern="[ipv4-addr:value = '198.51.100.2'")
    hashed = indicator(3, pattern="[file:hashes.MD5 = 'not-a-hash']")
    status = writer.add_objects({"objects": [broken, indicator(1), hashed]}, wait_for_completion=True,
                                poll_interval=0.05)
    assert (status.success_count, status.failure_count) == (1, 2)
    assert {f["id"] for f in status.failures} == {broken["id"], hashed["id"]}
    source = TAXIICollectionSource(_collection(base, reader, "community"), items_per_page=50)
    found = source.query([Filter("type", "=", "indicator")])
    assert [o.id for o in found] == [stix_id("indicator", 1)]
