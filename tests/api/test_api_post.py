"""Posting bundles: per-object results and the 200 / 207 / 400 / 403 / 404 / 413 replies, store checked after."""

from __future__ import annotations

from typing import Any

from api.conftest import Api, assert_error
from helpers import MITRE_IDENTITY, TLP2, bundle, sdo
from pacte.policy import Role


def result(obj: dict[str, Any], ok: bool = True, index: int = 0) -> dict[str, Any]:
    return {"index": index, "id": obj["id"], "version": obj["modified"], "status": "success" if ok else "failure"}


def test_all_accepted_is_200_with_a_result_per_object(api: Api) -> None:
    a = sdo("threat-actor", "apt-a", 1)
    b = sdo("indicator", "ioc-b", 2, markings=[TLP2["amber"]])
    resp = api.post(api.alpha, "community", bundle(a, b))
    assert resp.status_code == 200
    assert resp.json() == {"collection": "community", "success_count": 2, "failure_count": 0,
                           "results": [result(a), result(b, index=1)]}  # no grading set: none applied
    assert api.stored(api.charlie) == {(a["id"], "2025-01-01T00:00:01.000000000Z"),
                                       (b["id"], "2025-01-01T00:00:02.000000000Z")}
    # posting the same bundle again is idempotent: success, nothing new stored
    again = api.post(api.alpha, "community", bundle(a, b))
    assert again.status_code == 200 and again.json()["success_count"] == 2
    assert len(api.stored(api.charlie)) == 2


def test_collection_by_uuid_and_empty_bundle(api: Api) -> None:
    resp = api.post(api.alpha, api.group.uuid, bundle(sdo("malware", "m")))
    assert resp.status_code == 200 and resp.json()["collection"] == "AB"
    empty = api.post(api.alpha, "AB", bundle())
    assert empty.status_code == 200
    assert empty.json() == {"collection": "AB", "success_count": 0, "failure_count": 0, "results": []}


def test_mixed_batch_is_207_and_stores_exactly_the_valid_objects(api: Api) -> None:
    good1 = sdo("threat-actor", "good1", 1)
    bad_id = {**sdo("threat-actor", "bad", 1), "id": "threat-actor--not-a-uuid"}
    red = sdo("threat-actor", "red", 1, markings=[TLP2["red"]])
    good2 = sdo("attack-pattern", "good2", 1, created_by=MITRE_IDENTITY)
    resp = api.post(api.alpha, "community", bundle(good1, bad_id, red, good2))
    assert resp.status_code == 207
    body = resp.json()
    assert "error" not in body
    assert (body["success_count"], body["failure_count"]) == (2, 2)
    assert [r["status"] for r in body["results"]] == ["success", "failure", "failure", "success"]
    assert body["results"][1] == {"index": 1, "id": "threat-actor--not-a-uuid", "version": None, "status": "failure",
                                  "code": "invalid_stix", "field": "id", "reason": body["results"][1]["reason"]}
    assert "uuid" in body["results"][1]["reason"].lower()
    assert body["results"][2]["code"] == "policy_refused" and body["results"][2]["field"] == "object_marking_refs"
    assert {i for i, _ in api.everything()} == {good1["id"], good2["id"]}


def test_all_invalid_is_400_and_all_refused_is_403(api: Api) -> None:
    bad = {**sdo("threat-actor", "bad"), "spec_version": "2.0"}
    resp = api.post(api.alpha, "community", bundle(bad))
    err = assert_error(resp, 400, "invalid_stix")
    assert err["details"] == [{"id": bad["id"], "field": "spec_version", "reason": err["details"][0]["reason"]}]
    assert resp.json()["results"][0]["status"] == "failure"
    red = sdo("threat-actor", "red", markings=[TLP2["red"]])
    strict = sdo("threat-actor", "strict", markings=[TLP2["amber+strict"]])
    refused = api.post(api.alpha, "community", bundle(red, strict))
    err = assert_error(refused, 403, "policy_refused")
    assert [d["id"] for d in err["details"]] == [red["id"], strict["id"]]
    assert all(d["field"] == "object_marking_refs" and "TLP:" in d["reason"] for d in err["details"])
    assert refused.json()["failure_count"] == 2
    # both kinds at once: 400 with a generic code, every failure detailed
    both = api.post(api.alpha, "community", bundle(bad, red))
    err = assert_error(both, 400, "invalid_input")
    assert len(err["details"]) == 2
    assert api.everything() == set()


def test_reader_token_cannot_post(api: Api) -> None:
    resp = api.post(api.alpha, "community", bundle(sdo("threat-actor", "x")), Role.READER)
    err = assert_error(resp, 403, "forbidden")
    assert "analyst" in err["message"]
    assert api.everything() == set()


def test_posting_into_a_collection_one_does_not_belong_to_is_not_found(api: Api) -> None:
    hidden = api.post(api.charlie, "AB", bundle(sdo("threat-actor", "x")))
    missing = api.post(api.charlie, "AC", bundle(sdo("threat-actor", "x")))
    assert_error(hidden, 404, "not_found")
    assert_error(missing, 404, "not_found")
    assert hidden.content.replace(b"AB", b"AC") == missing.content
    assert_error(api.post(api.charlie, "private:Alpha", bundle(sdo("threat-actor", "x"))), 404, "not_found")
    assert api.everything() == set()


def test_body_over_the_size_limit_is_413(api: Api) -> None:
    limit = api.hub.settings.max_body_bytes
    big = sdo("threat-actor", "big", description="x" * limit)
    resp = api.post(api.alpha, "community", bundle(big))
    err = assert_error(resp, 413, "too_large")
    assert str(limit) in err["message"]
    assert api.everything() == set()
    # just under the limit is accepted
    small = sdo("threat-actor", "small", description="x" * (limit - 1000))
    assert api.post(api.alpha, "community", bundle(small)).status_code == 200


def test_spoofed_provenance_is_403_naming_object_and_field(api: Api) -> None:
    spoof = sdo("threat-actor", "spoof", created_by=api.bravo.org.identity_id)
    resp = api.post(api.alpha, "community", bundle(spoof))
    err = assert_error(resp, 403, "policy_refused")
    assert err["details"][0]["id"] == spoof["id"] and err["details"][0]["field"] == "created_by_ref"
    assert "member" in err["details"][0]["reason"]
    # a version of another member's object is Bravo's own line: the same reply as for a new object
    v1 = sdo("malware", "owned", 1)
    assert api.post(api.alpha, "community", bundle(v1)).status_code == 200
    line = api.post(api.bravo, "AB", bundle(sdo("malware", "owned", 2)))
    fresh = api.post(api.bravo, "AB", bundle(sdo("malware", "unowned", 2)))
    assert line.status_code == fresh.status_code == 200
    assert line.json()["results"][0].keys() == fresh.json()["results"][0].keys()
