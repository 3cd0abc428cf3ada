"""Correlation, value search, sightings, grading and scores over the native API, on every backend.

Alpha and Bravo share group AB; Charlie is alone. Every rule is checked from the reader's side: what it
may read correlates, is found and is counted; what it may not read changes nothing in its answers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from api.conftest import Api, assert_error
from helpers import TLP2, Member, bundle, sdo, sid, sighting
from pacte.policy import Role
from pacte.stix.extension import EXTENSION_ID
from pacte.store.base import ObjectQuery


def sco(kind: str, value: str, **extra: Any) -> dict[str, Any]:
    """Return a cyber-observable of a type holding ``value`` (its id derived from the value)."""
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": sid(kind, value), **extra}
    if kind != "file":
        obj["value"] = value
    return obj


def indicator(name: str, pattern: str, **extra: Any) -> dict[str, Any]:
    """Return an indicator with a STIX pattern."""
    return sdo("indicator", name, pattern=pattern, **extra)


def share(api: Api, member: Member, collection: str, *objects: dict[str, Any]) -> None:
    """Share objects and insist they were all stored."""
    resp = api.post(member, collection, bundle(*objects, name=objects[0]["id"]))
    assert resp.status_code == 200, resp.text
    assert resp.json()["failure_count"] == 0, resp.text


def correlated(api: Api, member: Member, obj_id: str) -> dict[str, list[str]]:
    """Return {correlated id: sorted reasons} of an object, as a member reads them."""
    resp = api.get(member, f"/objects/{obj_id}/correlations")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == len(body["correlations"])
    return {c["id"]: sorted(m["reason"] for m in c["matches"]) for c in body["correlations"]}


def test_the_same_address_correlates_across_members(api: Api) -> None:
    ip = sco("ipv4-addr", "45.33.10.7")
    ind = indicator("c2", "[ipv4-addr:value = '45.33.10.7'] OR [domain-name:value = 'c2.badnet.xyz']")
    share(api, api.alpha, "community", ip)
    share(api, api.bravo, "community", ind)
    assert correlated(api, api.charlie, ip["id"]) == {ind["id"]: ["same-value"]}
    assert correlated(api, api.charlie, ind["id"]) == {ip["id"]: ["same-value"]}


def test_a_hidden_object_never_correlates_and_the_answer_is_unchanged(api: Api) -> None:
    ip = sco("ipv4-addr", "45.33.10.8")
    share(api, api.charlie, "community", ip)
    before = api.get(api.charlie, f"/objects/{ip['id']}/correlations").content
    hidden = indicator("secret", "[ipv4-addr:value = '45.33.10.8']")
    share(api, api.alpha, "AB", hidden)
    assert api.get(api.charlie, f"/objects/{ip['id']}/correlations").content == before
    assert correlated(api, api.bravo, ip["id"]) == {hidden["id"]: ["same-value"]}
    # and a hidden object's own correlations look exactly like a missing object's
    missing = sdo("indicator", "never-shared")["id"]
    a = api.get(api.charlie, f"/objects/{hidden['id']}/correlations")
    b = api.get(api.charlie, f"/objects/{missing}/correlations")
    assert a.status_code == b.status_code == 404
    assert a.content.replace(hidden["id"].encode(), b"X") == b.content.replace(missing.encode(), b"X")


def test_networks_domains_urls_and_hashes_correlate_with_reasons(api: Api) -> None:
    net = indicator("net", "[ipv4-addr:value ISSUBSET '91.200.12.0/24']")
    inside = sco("ipv4-addr", "91.200.12.77")
    dom = sco("domain-name", "evil.badcorp.biz")
    sub = sco("domain-name", "cdn.evil.badcorp.biz")
    url = sco("url", "https://CDN.evil.badcorp.biz:443/payload.bin#frag")
    sha = "a" * 64
    f = {"type": "file", "spec_version": "2.1", "id": sid("file", "payload"), "hashes": {"SHA-256": sha, "MD5": "b" * 32}}
    by_md5 = indicator("md5", f"[file:hashes.MD5 = '{'B' * 32}']")
    share(api, api.alpha, "community", net, dom, f)
    share(api, api.bravo, "community", inside, sub, url, by_md5)
    assert correlated(api, api.charlie, inside["id"]) == {net["id"]: ["inside-range"]}
    assert set(correlated(api, api.charlie, net["id"])) == {inside["id"]}
    dom_links = correlated(api, api.charlie, dom["id"])
    assert set(dom_links) == {sub["id"], url["id"]}
    assert set(correlated(api, api.charlie, url["id"])) == {dom["id"], sub["id"]}
    assert correlated(api, api.charlie, f["id"]) == {by_md5["id"]: ["same-hash"]}


def test_negated_and_unequal_comparisons_do_not_correlate(api: Api) -> None:
    ip = sco("ipv4-addr", "77.88.99.1")
    share(api, api.alpha, "community", sco("ipv4-addr", "45.33.10.99"))
    neg = indicator("neg", "[ipv4-addr:value != '45.33.10.99']")
    nots = indicator("not", "[ipv4-addr:value NOT = '45.33.10.99']")
    share(api, api.bravo, "community", neg, nots, ip)
    assert correlated(api, api.charlie, neg["id"]) == {}
    assert correlated(api, api.charlie, nots["id"]) == {}


def test_benign_values_are_never_correlated(api: Api) -> None:
    a = sco("ipv4-addr", "8.8.8.8")
    b = indicator("dns", "[ipv4-addr:value = '8.8.8.8']")
    c = sco("ipv4-addr", "10.1.2.3")
    d = indicator("lan", "[ipv4-addr:value = '10.1.2.3']")
    share(api, api.alpha, "community", a, c)
    share(api, api.bravo, "community", b, d)
    assert correlated(api, api.charlie, a["id"]) == {}
    assert correlated(api, api.charlie, c["id"]) == {}
    # a search for a benign value still lists the objects holding exactly it, and nothing linked to it
    found = api.get(api.charlie, "/search", value="8.8.8.8").json()["results"]
    assert sorted(r["id"] for r in found) == sorted([a["id"], b["id"]])
    assert api.get(api.charlie, "/search", value="8.8.8.0/24").json()["results"] == []


def test_a_value_over_the_limit_is_noisy_and_not_expanded(api: Api) -> None:
    api.hub.settings = dataclasses.replace(api.hub.settings, correlation_limit=3)
    inds = [indicator(f"n{i}", "[domain-name:value = 'noisy.badcorp.biz']") for i in range(5)]
    share(api, api.alpha, "community", *inds)
    resp = api.get(api.charlie, f"/objects/{inds[0]['id']}/correlations").json()
    assert resp["correlations"] == []
    assert resp["noisy"] == [{"value": "noisy.badcorp.biz", "reason": "same-value", "more_than": 3}]
    # counted on what the reader may read: Bravo's hidden copies do not make it noisy for Charlie
    api.hub.settings = dataclasses.replace(api.hub.settings, correlation_limit=10)
    share(api, api.bravo, "AB", *[indicator(f"h{i}", "[domain-name:value = 'noisy.badcorp.biz']")
                                  for i in range(10)])
    charlie = api.get(api.charlie, f"/objects/{inds[0]['id']}/correlations").json()
    assert charlie["noisy"] == [] and charlie["count"] == 4
    assert api.get(api.alpha, f"/objects/{inds[0]['id']}/correlations").json()["noisy"]


def test_search_finds_values_and_linked_values_with_filters(api: Api) -> None:
    ip = sco("ipv4-addr", "45.33.10.50")
    net = indicator("net50", "[ipv4-addr:value ISSUBSET '45.33.10.0/26']")
    hidden = indicator("hid50", "[ipv4-addr:value = '45.33.10.50']")
    share(api, api.alpha, "community", ip)
    share(api, api.bravo, "community", net)
    share(api, api.bravo, "AB", hidden)
    body = api.get(api.charlie, "/search", value="45.33.10[.]50").json()
    found = {r["id"]: [m["reason"] for m in r["matches"]] for r in body["results"]}
    assert found == {ip["id"]: ["same-value"], net["id"]: ["inside-range"]}
    assert {r["id"] for r in api.get(api.alpha, "/search", value="45.33.10.50").json()["results"]} == {
        ip["id"], net["id"], hidden["id"]}
    typed = api.get(api.charlie, "/search", value="45.33.10.50", type="indicator").json()
    assert [r["id"] for r in typed["results"]] == [net["id"]]
    by_producer = api.get(api.charlie, "/search", value="45.33.10.50", producer="Alpha").json()
    assert [r["id"] for r in by_producer["results"]] == [ip["id"]]
    in_group = api.get(api.alpha, "/search", value="45.33.10.50", collection="AB").json()
    assert [r["id"] for r in in_group["results"]] == [hidden["id"]]
    later = api.get(api.charlie, "/search", value="45.33.10.50", seen_after="2100-01-01T00:00:00Z").json()
    assert later["results"] == []
    hit = next(r for r in body["results"] if r["id"] == net["id"])
    assert hit["object"]["id"] == net["id"] and isinstance(hit["score"], int) and hit["first_seen"]


def test_search_refuses_what_is_not_a_value(api: Api) -> None:
    err = assert_error(api.get(api.charlie, "/search", value="not a value at all!"), 400)
    assert err["details"][0]["field"] == "value"


def test_ungraded_until_a_member_sets_its_own_grading(api: Api) -> None:
    a = sdo("malware", "graded-a")
    resp = api.post(api.alpha, "community", bundle(a))
    assert "grading" not in resp.json()  # nothing was added to the object, and the reply says nothing was
    got = api.get(api.charlie, f"/objects/{a['id']}").json()["objects"][0]
    assert got == a  # ungraded: served as sent, which the extension defines as F6
    assert api.get(api.alpha, "/grading").json() == {"reliability": "F", "credibility": 6, "handling": None,
                                                     "set": False}
    put = api.client.put("/api/v1/grading", json={"reliability": "B", "credibility": 2},
                         headers=api.alpha.auth(Role.ADMIN))
    assert put.status_code == 200, put.text
    assert api.client.put("/api/v1/grading", json={"reliability": "B", "credibility": 2},
                          headers=api.alpha.auth(Role.ANALYST)).status_code == 403
    assert_error(api.client.put("/api/v1/grading", json={"reliability": "Z", "credibility": 2},
                                headers=api.alpha.auth(Role.ADMIN)), 400)
    b = sdo("malware", "graded-b")
    assert api.post(api.alpha, "community", bundle(b, name="b")).json()["grading"] == {
        "reliability": "B", "credibility": 2, "handling": None}
    own = sdo("malware", "graded-own", extensions={EXTENSION_ID: {"extension_type": "property-extension",
                                                                    "reliability": "A", "credibility": 1}})
    share(api, api.alpha, "community", own)
    ext_b = api.get(api.charlie, f"/objects/{b['id']}").json()["objects"][0]["extensions"][EXTENSION_ID]
    assert (ext_b["reliability"], ext_b["credibility"]) == ("B", 2)
    got_own = api.get(api.charlie, f"/objects/{own['id']}").json()["objects"][0]
    assert got_own == own  # an object graded by its sharer is kept exactly as sent
    bad = sdo("malware", "graded-bad", extensions={EXTENSION_ID: {"extension_type": "property-extension",
                                                                    "reliability": "A", "credibility": 9}})
    resp = api.post(api.alpha, "community", bundle(bad))
    assert resp.status_code == 400
    assert resp.json()["results"][0]["field"] == f"extensions.{EXTENSION_ID}.credibility"


def test_sighting_counts_follow_what_each_reader_may_read(api: Api) -> None:
    ind = indicator("sighted", "[domain-name:value = 'sighted.badcorp.biz']")
    share(api, api.alpha, "community", ind)
    share(api, api.bravo, "community", sighting("s1", ind["id"], count=3))
    share(api, api.bravo, "AB", sighting("s2", ind["id"], kind="false-positive"))
    share(api, api.charlie, f"private:{api.charlie.name}", sighting("s3", ind["id"], anonymous=True, count=5))
    alpha = api.get(api.alpha, f"/objects/{ind['id']}/sightings").json()
    assert (alpha["seen"], alpha["false_positive"], alpha["sighters"]) == (3, 1, 1)
    assert alpha["anonymous"] == {"seen": 5, "false_positive": 0}  # Alpha produced it: told how often, not by whom
    charlie = api.get(api.charlie, f"/objects/{ind['id']}/sightings").json()
    assert (charlie["seen"], charlie["false_positive"], charlie["sighters"]) == (8, 0, 2)
    assert "anonymous" not in charlie
    bravo = api.get(api.bravo, f"/objects/{ind['id']}/sightings").json()
    assert (bravo["seen"], bravo["false_positive"]) == (3, 1) and "anonymous" not in bravo


def test_an_anonymous_sighting_stays_in_the_private_collection(api: Api) -> None:
    ind = indicator("anon-target", "[domain-name:value = 'anon.badcorp.biz']")
    share(api, api.alpha, "community", ind)
    resp = api.post(api.bravo, "community", bundle(sighting("a1", ind["id"], anonymous=True)))
    assert resp.status_code == 403
    assert resp.json()["results"][0]["code"] == "policy_refused"
    named = sighting("a2", ind["id"], anonymous=True, created_by_ref=api.bravo.org.identity_id)
    resp = api.post(api.bravo, f"private:{api.bravo.name}", bundle(named))
    assert resp.status_code == 403 and resp.json()["results"][0]["field"] == "created_by_ref"


def test_indicator_scores_rise_with_independent_sources_and_fall_with_false_positives(api: Api) -> None:
    ind = indicator("scored", "[domain-name:value = 'scored.badcorp.biz']", confidence=80)
    share(api, api.alpha, "community", ind)

    def score(member: Member) -> int:
        obj = api.get(member, f"/objects/{ind['id']}").json()["objects"][0]
        value = obj["extensions"][EXTENSION_ID]["score"]
        taxii = api.client.get(f"/taxii2/pacte/collections/{api.hub.community.uuid}/objects/{ind['id']}/",
                               headers={**member.auth(Role.READER), "Accept": "application/taxii+json;version=2.1"})
        assert orjson.loads(taxii.content)["objects"][0]["extensions"][EXTENSION_ID]["score"] == value
        return int(value)

    alone = score(api.charlie)
    share(api, api.bravo, "community", sighting("seen-by-bravo", ind["id"]))
    corroborated = score(api.charlie)
    assert corroborated > alone
    share(api, api.bravo, "AB", sighting("fp-hidden", ind["id"], kind="false-positive"))
    assert score(api.charlie) == corroborated  # a false positive Charlie may not read changes nothing for it
    assert score(api.alpha) < corroborated
    low = api.get(api.charlie, "/search", value="scored.badcorp.biz", min_score=corroborated + 1).json()
    assert low["results"] == []
    high = api.get(api.charlie, "/search", value="scored.badcorp.biz", min_score=corroborated).json()
    assert [r["id"] for r in high["results"]] == [ind["id"]]


def test_marked_objects_keep_their_marking_and_gain_only_the_extension(api: Api) -> None:
    a = sdo("malware", "amber-graded", markings=[TLP2["amber"]])
    share(api, api.alpha, "AB", a)
    got = api.get(api.bravo, f"/objects/{a['id']}").json()["objects"][0]
    assert {k: v for k, v in got.items() if k != "extensions"} == a


def test_a_share_request_grades_the_objects_that_set_none(api: Api) -> None:
    a = sdo("malware", "request-graded")
    resp = api.client.post("/api/v1/collections/community/objects", params={"reliability": "C", "credibility": "3",
                                                                          "handling": "H2"},
                           content=orjson.dumps(bundle(a)), headers={**api.alpha.auth(), "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["grading"] == {"reliability": "C", "credibility": 3, "handling": "H2"}  # the reply says so
    ext = api.get(api.bravo, f"/objects/{a['id']}").json()["objects"][0]["extensions"][EXTENSION_ID]
    assert (ext["reliability"], ext["credibility"], ext["handling"]) == ("C", 3, "H2")
    for params, field in (({"reliability": "C"}, "credibility"), ({"reliability": "Q", "credibility": "3"},
                                                                  "reliability")):
        bad = api.client.post("/api/v1/collections/community/objects", params=params,
                              content=orjson.dumps(bundle(sdo("malware", "never"))),
                              headers={**api.alpha.auth(), "Content-Type": "application/json"})
        assert assert_error(bad, 400)["details"][0]["field"] == field
    assert api.get(api.bravo, f"/objects/{sdo('malware', 'never')['id']}").status_code == 404


def test_what_the_hub_serves_can_be_sent_back_unchanged(api: Api) -> None:
    ind = indicator("round-trip", "[domain-name:value = 'round.badcorp.biz']")
    share(api, api.alpha, "community", ind)
    served = api.get(api.alpha, f"/objects/{ind['id']}").json()["objects"][0]
    assert isinstance(served["extensions"][EXTENSION_ID]["score"], int)
    again = api.post(api.alpha, "community", bundle(served, name="again"))
    assert again.status_code == 200 and again.json()["failure_count"] == 0, again.text  # one version, not a conflict
    versions = api.get(api.alpha, f"/objects/{ind['id']}", versions="all").json()["objects"]
    assert len(versions) == 1 and "score" in versions[0]["extensions"][EXTENSION_ID]
    stored = api.hub.store.query(ObjectQuery(reader=api.alpha.org.org_id, ids=[ind["id"]])).items[0].doc
    assert '"score"' not in stored  # the hub's score is never stored: each reader gets its own
    relayed = api.post(api.bravo, "community", bundle(served, name="relay"))
    assert relayed.status_code == 200 and relayed.json()["failure_count"] == 0


def test_a_member_default_handling_fills_what_an_object_leaves_out(api: Api) -> None:
    put = api.client.put("/api/v1/grading", json={"reliability": "B", "credibility": 2, "handling": "P"},
                         headers=api.alpha.auth(Role.ADMIN))
    assert put.status_code == 200, put.text
    own = sdo("malware", "own-no-handling", extensions={EXTENSION_ID: {"extension_type": "property-extension",
                                                                         "reliability": "A", "credibility": 1}})
    share(api, api.alpha, "community", own)
    ext = api.get(api.bravo, f"/objects/{own['id']}").json()["objects"][0]["extensions"][EXTENSION_ID]
    assert (ext["reliability"], ext["credibility"], ext["handling"]) == ("A", 1, "P")
