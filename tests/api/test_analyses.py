"""Report analysis through the API on every backend: drafts private to their member, decisions, publication, knowledge."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from api.conftest import Api, assert_error
from helpers import TLP2, Member
from pacte.analysis.review import knowledge_cache
from pacte.api.analyses import AnalysisSettings
from pacte.policy import Role
from pacte.store.base import ObjectQuery
from pacte.store.events import EventQuery

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ATTACK = DATA / "attack-enterprise.json"
APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
APT29 = "intrusion-set--899ce53f-13a0-479b-a0e4-67d46e241542"

REPORT = """# Phishing wave against ministries

APT28 used the domain evil-domain[.]com and the address 45.77.12.9 in a phishing campaign (T1566.001).
The attackers exploited CVE-2023-1234 on exposed servers. The group targeted France.
"""


@pytest.fixture
def api_ner_off(api: Api) -> Api:
    """The API fixture with named-entity recognition off (fast) and default operator settings otherwise."""
    api.client.app.state.analysis = AnalysisSettings(ner=False)  # type: ignore[attr-defined]
    return api


def upload(api: Api, member: Member, text: str = REPORT, name: str = "report.md", media: str = "text/markdown",
           role: Role = Role.ANALYST, **data: str) -> httpx.Response:
    """Upload a report file as a multipart form."""
    return api.client.post("/api/v1/analyses", files={"file": (name, text.encode(), media)}, data=data,
                           headers=member.auth(role))


def created(api: Api, member: Member, text: str = REPORT) -> dict[str, Any]:
    """Upload a report and return the draft, asserting it was created."""
    resp = upload(api, member, text)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def item_of(draft: dict[str, Any], kind: str, value: str | None = None) -> dict[str, Any]:
    """Return the one item of a kind (and value) in a draft."""
    found = [i for i in draft["items"] if i["kind"] == kind and (value is None or i["value"] == value)]
    assert len(found) == 1, [(i["kind"], i["value"]) for i in draft["items"]]
    return dict(found[0])


def decide(api: Api, member: Member, aid: str, *decisions: dict[str, Any]) -> httpx.Response:
    """PATCH item decisions."""
    return api.client.patch(f"/api/v1/analyses/{aid}/items", json={"items": list(decisions)},
                            headers=member.auth())


def publish(api: Api, member: Member, aid: str, collection: str, tlp: str) -> httpx.Response:
    """Publish a draft."""
    return api.client.post(f"/api/v1/analyses/{aid}/publish", json={"collection": collection, "tlp": tlp},
                           headers=member.auth())


def readable(api: Api, member: Member, obj_id: str) -> bool:
    """Tell whether a member reads an object through the API."""
    resp = api.get(member, f"/objects/{obj_id}")
    assert resp.status_code in (200, 404), resp.text
    return resp.status_code == 200


def test_upload_makes_a_private_draft_with_items_evidence_and_a_valid_bundle(api_ner_off: Api) -> None:
    api = api_ner_off
    draft = created(api, api.alpha)
    assert draft["status"] == "draft" and draft["lang"] == "en" and draft["source"] == "file:report.md"
    assert draft["title"] == "Phishing wave against ministries"
    kinds = {(i["kind"], i["value"]) for i in draft["items"]}
    assert {("threat_actor", "APT28"), ("domain", "evil-domain.com"), ("ipv4", "45.77.12.9"),
            ("cve", "CVE-2023-1234"), ("attack_technique", "T1566.001")} <= kinds
    text = draft["text"]
    for n, item in enumerate(draft["items"]):
        assert item["index"] == n and item["decision"] == "undecided" and item["accepted"] is None
        assert 0 <= item["confidence"] <= 100
        for ev in item["evidence"]:
            assert 0 <= ev["start"] < ev["end"] <= len(text) and ev["snippet"]
    ip = item_of(draft, "ipv4")
    assert text[ip["evidence"][0]["start"]:ip["evidence"][0]["end"]] == "45.77.12.9"
    domain = item_of(draft, "domain")
    assert text[domain["evidence"][0]["start"]:domain["evidence"][0]["end"]] == "evil-domain[.]com"
    assert draft["decisions"] == {"accepted": 0, "rejected": 0, "undecided": len(draft["items"])}
    assert validate_instance(draft["bundle"], ValidationOptions(strict=True)).errors == []
    # read back whole, and listed for the member only; nothing is shared before publication
    again = api.client.get(f"/api/v1/analyses/{draft['id']}", headers=api.alpha.auth())
    assert again.status_code == 200 and again.json() == draft
    listed = api.client.get("/api/v1/analyses", headers=api.alpha.auth()).json()
    assert [a["id"] for a in listed["analyses"]] == [draft["id"]] and "bundle" not in listed["analyses"][0]
    assert api.client.get("/api/v1/analyses", headers=api.bravo.auth()).json() == {"more": False, "analyses": []}
    assert api.everything() == set()


def test_pasted_text_raw_html_and_bad_inputs(api_ner_off: Api) -> None:
    api = api_ner_off
    pasted = api.client.post("/api/v1/analyses", json={"text": REPORT, "lang": "en"}, headers=api.alpha.auth())
    assert pasted.status_code == 201 and pasted.json()["source"] == "text"
    html = ("<html><head><title>Sofacy note</title></head><body><nav>Home | News</nav><article><p>"
            "The actor contacted bad-host[.]net from 45.77.12.9.</p></article></body></html>")
    raw = api.client.post("/api/v1/analyses?filename=note.html", content=html.encode(),
                          headers={**api.alpha.auth(), "Content-Type": "text/html"})
    assert raw.status_code == 201, raw.text
    assert {i["value"] for i in raw.json()["items"]} >= {"bad-host.net", "45.77.12.9"}
    assert "Home | News" not in raw.json()["text"]
    french = api.client.post("/api/v1/analyses?lang=FR", files={"text": (None, REPORT)}, headers=api.alpha.auth())
    assert french.status_code == 201 and french.json()["lang"] == "fr" and french.json()["source"] == "text"
    assert_error(api.client.post("/api/v1/analyses", content=b"x", headers={**api.alpha.auth(),
                                                                             "Content-Type": "image/png"}), 415)
    err = assert_error(api.client.post("/api/v1/analyses", json={"lang": "en"}, headers=api.alpha.auth()), 400)
    assert err["details"][0]["field"] == "body.text"
    err = assert_error(api.client.post("/api/v1/analyses", json={"text": "x", "colour": 1}, headers=api.alpha.auth()),
                       400)
    assert err["details"][0]["field"] == "body.colour"
    err = assert_error(api.client.post("/api/v1/analyses", files={"lang": (None, "en")}, headers=api.alpha.auth()),
                       400)
    assert err["details"][0]["field"] == "file"
    assert_error(api.client.post("/api/v1/analyses", content=b"{", headers={**api.alpha.auth(),
                                                                             "Content-Type": "application/json"}),
                 400, "invalid_json")


def test_size_limit_and_url_fetching_off_by_default(api_ner_off: Api) -> None:
    api = api_ner_off
    err = assert_error(api.client.post("/api/v1/analyses", json={"url": "https://example.org/report.html"},
                                       headers=api.alpha.auth()), 403, "forbidden")
    assert err["details"][0]["field"] == "body.url"
    api.client.app.state.analysis = AnalysisSettings(ner=False, max_bytes=2000)  # type: ignore[attr-defined]
    assert_error(upload(api, api.alpha, REPORT * 30), 413, "too_large")
    assert_error(api.client.post("/api/v1/analyses", json={"text": REPORT * 30}, headers=api.alpha.auth()), 413)
    assert upload(api, api.alpha).status_code == 201
    assert len(api.hub.store.analyses(api.alpha.org.org_id)) == 1


@pytest.fixture
def report_server() -> Iterator[str]:
    """A local HTTP server answering every GET with the report as Markdown."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = REPORT.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/markdown")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/report.md"
    server.shutdown()
    server.server_close()


def test_url_fetching_when_the_operator_allows_it(api_ner_off: Api, report_server: str) -> None:
    api = api_ner_off
    api.client.app.state.analysis = AnalysisSettings(ner=False, fetch=True)  # type: ignore[attr-defined]
    refused = assert_error(api.client.post("/api/v1/analyses", json={"url": report_server}, headers=api.alpha.auth()),
                           403)
    assert "127.0.0.1" in refused["message"]  # loopback is refused unless private addresses are allowed too
    api.client.app.state.analysis = AnalysisSettings(ner=False, fetch=True, fetch_private=True)  # type: ignore[attr-defined]
    resp = api.client.post("/api/v1/analyses", json={"url": report_server}, headers=api.alpha.auth())
    assert resp.status_code == 201, resp.text
    assert resp.json()["source"] == report_server
    assert item_of(resp.json(), "ipv4")["value"] == "45.77.12.9"


def test_another_member_gets_the_same_404_as_for_a_missing_id(api_ner_off: Api) -> None:
    api = api_ner_off
    aid = created(api, api.alpha)["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    calls = [
        lambda m, i: api.client.get(f"/api/v1/analyses/{i}", headers=m.auth()),
        lambda m, i: decide(api, m, i, {"index": 0, "decision": "accepted"}),
        lambda m, i: publish(api, m, i, "AB", "amber"),
        lambda m, i: api.client.delete(f"/api/v1/analyses/{i}", headers=m.auth()),
    ]
    for call in calls:
        hidden, absent = call(api.bravo, aid), call(api.alpha, missing)
        assert_error(hidden, 404, "not_found")
        assert hidden.content == absent.content
        assert aid not in hidden.text
    assert api.hub.store.analysis(aid, api.alpha.org.org_id) is not None
    assert api.hub.store.analysis(aid, api.bravo.org.org_id) is None
    draft = api.client.get(f"/api/v1/analyses/{aid}", headers=api.alpha.auth()).json()
    assert draft["status"] == "draft" and draft["decisions"]["accepted"] == 0


def test_reader_role_is_refused_everywhere(api_ner_off: Api) -> None:
    api = api_ner_off
    aid = created(api, api.alpha)["id"]
    assert_error(upload(api, api.alpha, role=Role.READER), 403, "forbidden")
    reader = api.alpha.auth(Role.READER)
    assert_error(api.client.get("/api/v1/analyses", headers=reader), 403, "forbidden")
    assert_error(api.client.get(f"/api/v1/analyses/{aid}", headers=reader), 403, "forbidden")
    assert_error(api.client.post(f"/api/v1/analyses/{aid}/publish", json={"collection": "AB", "tlp": "amber"},
                                 headers=reader), 403, "forbidden")
    assert_error(api.client.get("/api/v1/analyses"), 401, "unauthenticated")
    assert len(api.hub.store.analyses(api.alpha.org.org_id)) == 1
    admin = api.client.get("/api/v1/analyses", headers=api.alpha.auth(Role.ADMIN))
    assert admin.status_code == 200 and len(admin.json()["analyses"]) == 1


def test_accept_and_reject_by_index_and_stix_id(api_ner_off: Api) -> None:
    api = api_ner_off
    draft = created(api, api.alpha)
    aid = draft["id"]
    ip, cve = item_of(draft, "ipv4"), item_of(draft, "cve")
    resp = decide(api, api.alpha, aid, {"index": ip["index"], "decision": "accepted"},
                  {"stix_id": cve["stix_id"], "decision": "rejected"},
                  {"stix_id": item_of(draft, "domain")["detail"]["sco_id"], "decision": "accepted"})
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert items[ip["index"]]["decision"] == "accepted" and items[ip["index"]]["accepted"] is True
    assert items[cve["index"]]["decision"] == "rejected" and items[cve["index"]]["accepted"] is False
    assert items[item_of(draft, "domain")["index"]]["decision"] == "accepted"
    assert resp.json()["decisions"] == {"accepted": 2, "rejected": 1, "undecided": len(items) - 3}
    back = decide(api, api.alpha, aid, {"index": cve["index"], "decision": "undecided"})
    assert back.json()["items"][cve["index"]]["decision"] == "undecided"
    # errors name the field path; nothing changes
    err = assert_error(decide(api, api.alpha, aid, {"index": 0, "decision": "accepted"},
                              {"index": 999, "decision": "rejected"}), 400, "invalid_input")
    assert err["details"] == [{"field": "body.items.1.index", "reason": err["details"][0]["reason"]}]
    err = assert_error(decide(api, api.alpha, aid, {"stix_id": "indicator--nope", "decision": "rejected"}), 400)
    assert err["details"][0]["field"] == "body.items.0.stix_id"
    err = assert_error(decide(api, api.alpha, aid, {"index": 1, "stix_id": cve["stix_id"], "decision": "rejected"}),
                       400)
    assert err["details"][0]["field"].startswith("body.items.0")
    err = assert_error(decide(api, api.alpha, aid, {"index": 1, "decision": "maybe"}), 400)
    assert err["details"][0]["field"] == "body.items.0.decision"
    after = api.client.get(f"/api/v1/analyses/{aid}", headers=api.alpha.auth()).json()
    assert after["decisions"] == {"accepted": 2, "rejected": 0, "undecided": len(items) - 2}


def test_publish_into_a_group_at_amber_keeps_the_accepted_items_only(api_ner_off: Api) -> None:
    api = api_ner_off
    draft = created(api, api.alpha)
    aid = draft["id"]
    actor, ip, domain, cve = (item_of(draft, k) for k in ("threat_actor", "ipv4", "domain", "cve"))
    decide(api, api.alpha, aid, *({"index": i["index"], "decision": "accepted"} for i in (ip, domain, cve)),
           {"index": actor["index"], "decision": "rejected"})
    head = api.hub.store.event_head()
    resp = publish(api, api.alpha, aid, "AB", "amber")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    bundle = body["bundle"]
    assert body["status"] == "published" and body["published"]["collection"] == "AB"
    assert body["published"]["tlp"] == "TLP:AMBER" and body["published"]["bundle_id"] == bundle["id"]
    result = validate_instance(bundle, ValidationOptions(strict=True))
    assert result.errors == [], [str(e) for e in result.errors]
    objects = {o["id"]: o for o in bundle["objects"]}
    types = sorted(o["type"] for o in objects.values())
    assert types == sorted(["report", "indicator", "indicator", "ipv4-addr", "domain-name", "vulnerability"])
    renamed = body["published"]["result"]["renamed"]
    # the rejected actor and the undecided technique are gone, with the relationships that pointed at the actor
    assert actor["stix_id"] not in objects and renamed.get(actor["stix_id"]) not in objects
    assert not any(o["type"] in ("relationship", "attack-pattern", "intrusion-set") for o in objects.values())
    report = next(o for o in objects.values() if o["type"] == "report")
    assert set(report["object_refs"]) == set(objects) - {report["id"]}
    for obj in objects.values():
        assert obj["object_marking_refs"] == [TLP2["amber"]]
        if obj["type"] not in ("ipv4-addr", "domain-name"):
            assert obj["created_by_ref"] == api.alpha.org.identity_id
            assert obj["id"] == renamed[next(k for k, v in renamed.items() if v == obj["id"])]
    # readable by the group's members, not by others; stored once, through the write path and the event log
    for obj_id in objects:
        assert readable(api, api.alpha, obj_id) and readable(api, api.bravo, obj_id)
        assert not readable(api, api.charlie, obj_id)
    assert {i for i, _ in api.everything()} == set(objects)
    events = api.hub.store.stream_events(EventQuery(reader=api.bravo.org.org_id, after=head,
                                                    upto=api.hub.store.event_head()))
    assert {e.object_id for e in events if e.kind == "object"} == set(objects)
    assert {e.collection_name for e in events} == {"AB"}
    # a published analysis is final
    assert_error(publish(api, api.alpha, aid, "AB", "amber"), 409, "conflict")
    assert_error(decide(api, api.alpha, aid, {"index": 0, "decision": "accepted"}), 409, "conflict")
    assert_error(api.client.delete(f"/api/v1/analyses/{aid}", headers=api.alpha.auth()), 409, "conflict")
    listed = api.client.get("/api/v1/analyses?status=published", headers=api.alpha.auth()).json()["analyses"]
    assert [a["id"] for a in listed] == [aid]


def test_publish_red_into_community_is_refused_and_nothing_is_stored(api_ner_off: Api) -> None:
    api = api_ner_off
    draft = created(api, api.alpha)
    aid = draft["id"]
    decide(api, api.alpha, aid, *({"index": i["index"], "decision": "accepted"} for i in draft["items"]))
    err = assert_error(publish(api, api.alpha, aid, "community", "red"), 403, "policy_refused")
    assert "TLP:RED" in err["message"] and err["details"][0]["field"] == "body.tlp"
    assert api.everything() == set()
    assert api.client.get(f"/api/v1/analyses/{aid}", headers=api.alpha.auth()).json()["status"] == "draft"
    # other refusals: a collection the member does not read, an unknown TLP, nothing accepted
    err = assert_error(publish(api, api.charlie, created(api, api.charlie)["id"], "AB", "amber"), 404, "not_found")
    assert err["details"][0]["field"] == "body.collection"
    assert assert_error(publish(api, api.alpha, aid, "AB", "white"), 400)["details"][0]["field"] == "body.tlp"
    empty = created(api, api.bravo)["id"]
    assert assert_error(publish(api, api.bravo, empty, "AB", "green"), 422)["details"][0]["field"] == "items"
    # the same draft goes into the group at TLP:RED
    ok = publish(api, api.alpha, aid, "AB", "red")
    assert ok.status_code == 200, ok.text
    report = next(o for o in ok.json()["bundle"]["objects"] if o["type"] == "report")
    assert readable(api, api.bravo, report["id"]) and not readable(api, api.charlie, report["id"])


def test_list_pages_newest_first(api_ner_off: Api) -> None:
    api = api_ner_off
    ids = [api.client.post("/api/v1/analyses", json={"text": f"{REPORT} Note {n}."}, headers=api.alpha.auth()).json()["id"]
           for n in range(3)]
    first = api.client.get("/api/v1/analyses?limit=2", headers=api.alpha.auth()).json()
    assert [a["id"] for a in first["analyses"]] == ids[:0:-1] and first["more"] and first["next"] == ids[1]
    rest = api.client.get(f"/api/v1/analyses?limit=2&after={first['next']}", headers=api.alpha.auth()).json()
    assert [a["id"] for a in rest["analyses"]] == ids[:1] and not rest["more"] and "next" not in rest
    err = assert_error(api.client.get(f"/api/v1/analyses?after={ids[0]}", headers=api.bravo.auth()), 400)
    assert err["details"][0]["field"] == "after"


def test_discard(api_ner_off: Api) -> None:
    api = api_ner_off
    aid = created(api, api.alpha)["id"]
    resp = api.client.delete(f"/api/v1/analyses/{aid}", headers=api.alpha.auth())
    assert resp.status_code == 200 and resp.json()["status"] == "discarded"
    again = api.client.delete(f"/api/v1/analyses/{aid}", headers=api.alpha.auth())
    assert again.status_code == 200 and again.json()["status"] == "discarded"
    assert_error(publish(api, api.alpha, aid, "AB", "amber"), 409, "conflict")
    assert api.client.get("/api/v1/analyses?status=draft", headers=api.alpha.auth()).json()["analyses"] == []
    assert api.everything() == set()


@cache
def _attack_subset() -> list[dict[str, Any]]:
    """Return ATT&CK's MITRE identity, its marking and four intrusion sets (read once per test process)."""
    objects = orjson.loads(ATTACK.read_bytes())["objects"]
    wanted = {APT28, APT29, "intrusion-set--381fcf73-60f6-4ab2-9991-6af3cbc35192",
              "intrusion-set--7a19ecb1-3c65-4de3-a230-993516aed6a6"}
    return [o for o in objects if o["id"] in wanted or (o["type"] in ("marking-definition", "identity")
            and "spec_version" in o)]


def test_known_entities_link_to_existing_hub_objects_and_are_not_duplicated(api_ner_off: Api) -> None:
    if not ATTACK.exists():
        pytest.skip(f"{ATTACK} is not present")
    api = api_ner_off
    text = "Fancy Bear and APT29 reused the server 45.77.12.9 in 2024, according to the national CERT."
    before = created(api, api.alpha, text)  # the hub holds no ATT&CK yet: new intrusion sets
    assert not item_of(before, "threat_actor", "Fancy Bear")["known"]
    report = api.hub.share_as(api.charlie.org, api.hub.community, _attack_subset())
    assert report.failures == 0
    draft = created(api, api.alpha, text)  # the store changed: the member's knowledge is rebuilt
    fancy, cozy = item_of(draft, "threat_actor", "APT28"), item_of(draft, "threat_actor", "APT29")
    assert (fancy["known"], fancy["stix_id"]) == (True, APT28) and "Fancy Bear" in fancy["surfaces"]
    assert (cozy["known"], cozy["stix_id"]) == (True, APT29)
    assert not any(o["type"] == "intrusion-set" for o in draft["bundle"]["objects"])
    builds = knowledge_cache(api.hub).builds
    assert item_of(created(api, api.alpha, text), "threat_actor", "APT28")["known"]
    assert knowledge_cache(api.hub).builds == builds  # nothing changed in the store: the cached knowledge served
    decide(api, api.alpha, draft["id"], *({"index": i["index"], "decision": "accepted"} for i in draft["items"]))
    resp = publish(api, api.alpha, draft["id"], "AB", "green")
    assert resp.status_code == 200, resp.text
    result = resp.json()["published"]["result"]
    assert sorted(result["referenced"]) == sorted([APT28, APT29])
    assert APT28 not in result["posted"] and APT29 not in result["posted"]
    objects = resp.json()["bundle"]["objects"]
    published_report = next(o for o in objects if o["type"] == "report")
    assert {APT28, APT29} <= set(published_report["object_refs"])
    assert validate_instance(resp.json()["bundle"]).errors == []
    sets = api.hub.store.query(ObjectQuery(reader=api.bravo.org.org_id, types=["intrusion-set"], limit=100)).items
    assert sorted(s.id for s in sets) == sorted(o["id"] for o in _attack_subset() if o["type"] == "intrusion-set")
    stored = api.hub.store.query(ObjectQuery(reader=api.alpha.org.org_id, ids=[APT28], versions="all")).items
    assert len(stored) == 1 and orjson.loads(stored[0].doc)["created_by_ref"] != api.alpha.org.identity_id


def test_knowledge_is_only_what_the_member_reads(api_ner_off: Api) -> None:
    api = api_ner_off
    secret = {"type": "intrusion-set", "spec_version": "2.1", "id": "intrusion-set--0b6d4a5e-2f0c-4d8e-9a57-3e1f5c9d7b21",
              "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
              "name": "Quartz Lynx", "aliases": ["Quartz Lynx", "QLX-77"]}
    assert api.hub.share_as(api.charlie.org, api.charlie.private(api.hub), [secret]).failures == 0
    text = "The threat actor QLX-77 (Quartz Lynx) sent lures from 45.77.12.9 to the ministry."
    mine = created(api, api.charlie, text)
    assert item_of(mine, "threat_actor", "Quartz Lynx")["stix_id"] == secret["id"]
    theirs = created(api, api.alpha, text)
    assert all(i["stix_id"] != secret["id"] for i in theirs["items"])
    assert secret["id"] not in orjson.dumps(theirs).decode()


def test_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/analyses"])
    assert set(paths["/api/v1/analyses/{analysis_id}"]) == {"get", "delete"}
    assert "patch" in paths["/api/v1/analyses/{analysis_id}/items"]
    assert "post" in paths["/api/v1/analyses/{analysis_id}/publish"]
    upload_body = paths["/api/v1/analyses"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json", "application/pdf"} <= set(upload_body)


def test_pdf_upload_keeps_binary_bytes_intact(api_ner_off: Api) -> None:
    from analysis.test_inputs import _pdf_with_text

    api = api_ner_off
    pdf = _pdf_with_text("Beacon traffic went to 45.77.12.9 and bad-host[.]net during the intrusion.")
    resp = api.client.post("/api/v1/analyses", files={"file": ("note.pdf", pdf, "application/pdf")},
                           headers=api.alpha.auth())
    assert resp.status_code == 201, resp.text
    assert {i["value"] for i in resp.json()["items"]} >= {"45.77.12.9", "bad-host.net"}
    assert resp.json()["source"] == "file:note.pdf"


def test_a_draft_being_published_cannot_change(api_ner_off: Api) -> None:
    api = api_ner_off
    aid = created(api, api.alpha)["id"]
    now = api.hub.now_key()
    assert api.hub.store.claim_analysis(aid, api.alpha.org.org_id, "other-process", now, "9999-12-31T00:00:00Z")
    for resp in (publish(api, api.alpha, aid, "AB", "amber"), decide(api, api.alpha, aid, {"index": 0,
                                                                                          "decision": "accepted"}),
                 api.client.delete(f"/api/v1/analyses/{aid}", headers=api.alpha.auth())):
        assert "being published" in assert_error(resp, 409, "conflict")["details"][0]["reason"]
    api.hub.store.release_analysis(aid, api.alpha.org.org_id, "other-process")
    assert decide(api, api.alpha, aid, {"index": 0, "decision": "accepted"}).status_code == 200


def _accept_all_and_publish(api: Api, member: Member, text: str, collection: str, tlp: str) -> httpx.Response:
    draft = created(api, member, text)
    decide(api, member, draft["id"], *({"index": i["index"], "decision": "accepted"} for i in draft["items"]))
    return publish(api, member, draft["id"], collection, tlp)


def test_existing_objects_are_referenced_not_reposted(api_ner_off: Api) -> None:
    api = api_ner_off
    text = "Beacons went to 45.77.12.9 and to bad-host[.]net over HTTPS."
    first = _accept_all_and_publish(api, api.alpha, text, "community", "green")
    assert first.status_code == 200, first.text
    scos = {o["id"] for o in first.json()["bundle"]["objects"] if o["type"] in ("ipv4-addr", "domain-name")}
    assert len(scos) == 2 and scos <= set(first.json()["published"]["result"]["posted"])
    second = _accept_all_and_publish(api, api.bravo, text, "AB", "amber")
    assert second.status_code == 200, second.text
    result = second.json()["published"]["result"]
    assert scos <= {o["id"] for o in second.json()["bundle"]["objects"]}  # in the bundle, by id
    assert not scos & set(result["posted"]) and result["failure_count"] == 0  # but not posted again
    versions = api.hub.store.query(ObjectQuery(reader=api.bravo.org.org_id, ids=sorted(scos), versions="all")).items
    assert len(versions) == 2
    # the two members' reports of the same text do not collide: ids are scoped to the member
    reports = [next(o["id"] for o in r.json()["bundle"]["objects"] if o["type"] == "report") for r in (first, second)]
    assert reports[0] != reports[1] and all(readable(api, api.bravo, r) for r in reports)


def test_objects_the_write_path_refuses_are_reported_per_object(api_ner_off: Api) -> None:
    """A wallet report: objects the hub refuses (if any) are listed with a 207, the others are stored."""
    api = api_ner_off
    text = "The ransom was paid to the Bitcoin wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq from 45.77.12.9."
    resp = _accept_all_and_publish(api, api.alpha, text, "AB", "amber")
    assert resp.status_code in (200, 207), resp.text
    result = resp.json()["published"]["result"]
    assert resp.status_code == (207 if result["failure_count"] else 200)
    assert resp.json()["status"] == "published"
    refused = {f["id"] for f in result["failures"]}
    assert all(i.startswith(("cryptocurrency-wallet--", "identity--", "extension-definition--")) for i in refused)
    for failure in result["failures"]:
        assert failure["status"] == "failure" and failure["reason"] and failure["code"]
    stored = set(result["posted"]) - refused
    assert any(i.startswith("report--") for i in stored)
    assert all(readable(api, api.bravo, i) and not readable(api, api.charlie, i) for i in stored)


# cost bounds -------------------------------------------------------------------------------------------------------


def _bounded(api: Api, **limits: Any) -> AnalysisSettings:
    """Set the app's analysis settings (NER off) with the given bounds and return them."""
    settings = AnalysisSettings(ner=False, **limits)
    api.client.app.state.analysis = settings  # type: ignore[attr-defined]
    return settings


def test_the_bounds_are_documented_with_their_defaults() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    s = AnalysisSettings()
    for var, value in [("PAGES", s.max_pages), ("DECOMPRESSED_BYTES", s.max_decompressed_bytes),
                       ("TEXT_BYTES", s.max_text_bytes), ("CONCURRENT", s.max_concurrent),
                       ("CONCURRENT_PER_MEMBER", s.max_concurrent_per_member)]:
        assert f"| `PACTE_ANALYSIS_MAX_{var}` | {value} |" in readme
    assert f"| `PACTE_ANALYSIS_CPU_SECONDS` | {s.cpu_seconds:g} |" in readme
    assert f"| `PACTE_ANALYSIS_WALL_SECONDS` | {s.wall_seconds:g} |" in readme


def test_the_bounds_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACTE_ANALYSIS_MAX_PAGES", "7")
    monkeypatch.setenv("PACTE_ANALYSIS_CPU_SECONDS", "2.5")
    monkeypatch.setenv("PACTE_ANALYSIS_MAX_CONCURRENT_PER_MEMBER", "3")
    s = AnalysisSettings.from_env()
    assert (s.max_pages, s.cpu_seconds, s.max_concurrent_per_member) == (7, 2.5, 3)
    assert s.in_worker and not AnalysisSettings(cpu_seconds=0, wall_seconds=0).in_worker


def test_too_many_pages_is_413_naming_the_limit(api: Api) -> None:
    from analysis.test_limits import LINE, make_pdf

    _bounded(api, max_pages=2)
    resp = api.client.post("/api/v1/analyses", files={"file": ("r.pdf", make_pdf(3, LINE), "application/pdf")},
                           headers=api.alpha.auth())
    error = assert_error(resp, 413, "too_large")
    assert "limit of 2 pages" in error["message"]
    assert error["details"] == [{"reason": "3 pages; at most 2", "field": "PACTE_ANALYSIS_MAX_PAGES"}]


def test_too_much_text_is_413_naming_the_limit(api: Api) -> None:
    _bounded(api, max_text_bytes=100)
    error = assert_error(api.client.post("/api/v1/analyses", json={"text": "APT28 used 45.77.12.9. " * 10},
                                         headers=api.alpha.auth()), 413, "too_large")
    assert "limit of 100 bytes" in error["message"] and error["details"][0]["field"] == "PACTE_ANALYSIS_MAX_TEXT_BYTES"
    assert api.client.post("/api/v1/analyses", json={"text": "APT28 used 45.77.12.9."},
                           headers=api.alpha.auth()).status_code == 201


def test_over_the_wall_budget_is_422_within_the_bound(api: Api) -> None:
    from analysis.test_limits import BOMB

    _bounded(api, wall_seconds=0.5)
    start = time.monotonic()
    resp = api.client.post("/api/v1/analyses", files={"file": ("r.pdf", BOMB, "application/pdf")},
                           headers=api.alpha.auth())
    assert time.monotonic() - start < 0.5 + 3
    error = assert_error(resp, 422, "unprocessable")
    assert "limit of 0.5 seconds" in error["message"] and error["details"][0]["field"] == "PACTE_ANALYSIS_WALL_SECONDS"
    assert not api.hub.store.analyses(api.alpha.org.org_id, None, 10, None)  # nothing stored
    _bounded(api)
    assert upload(api, api.alpha).status_code == 201  # the next analysis gets a fresh worker


def test_concurrent_analyses_are_bounded_per_member_and_per_hub(api: Api) -> None:
    from pacte.api.analyses import admission

    settings = _bounded(api, max_concurrent=2, max_concurrent_per_member=1)
    gate = admission(SimpleNamespace(app=api.client.app), settings)  # type: ignore[arg-type]
    with gate.admit(api.alpha.org.org_id):  # an analysis of Alpha's is running
        resp = upload(api, api.alpha)
        error = assert_error(resp, 429, "too_many_requests")
        assert resp.headers["Retry-After"] == "5"
        assert error["details"][0]["field"] == "PACTE_ANALYSIS_MAX_CONCURRENT_PER_MEMBER"
        assert "the limit is 1" in error["message"]
        assert upload(api, api.bravo).status_code == 201  # another member is not held back
        with gate.admit(api.bravo.org.org_id):  # the hub's two slots are taken
            error = assert_error(upload(api, api.charlie), 429, "too_many_requests")
            assert error["details"][0]["field"] == "PACTE_ANALYSIS_MAX_CONCURRENT"
    assert upload(api, api.alpha).status_code == 201  # slots are given back


def test_two_requests_of_one_member_at_once_one_is_refused(api: Api) -> None:
    """Two real requests at once from one member with one slot: exactly one runs, the other is told to retry."""
    from analysis.test_limits import SLOW_HTML

    _bounded(api, max_concurrent_per_member=1, cpu_seconds=1)
    results: list[int] = []

    def post() -> None:
        results.append(api.client.post("/api/v1/analyses", files={"file": ("r.html", SLOW_HTML.encode(),
                                                                           "text/html")},
                                       headers=api.alpha.auth()).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [422, 429]  # one ran (and hit the CPU bound), one was refused at once
