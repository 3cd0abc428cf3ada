"""The ledger's rules, one test each: own figures in full, others only in aggregates of at least k or opted in."""

from __future__ import annotations

import io
from typing import Any

import pytest

from helpers import sdo, sighting
from ledger.conftest import World
from pacte.cli.transfer import export_bundle
from pacte.ledger.report import K
from pacte.policy import Role
from pacte.stix.markings import TLP2_IDS, Tlp


def test_contributions_count_per_level_and_audience(world: World) -> None:
    world.share("Alpha", "community", sdo("attack-pattern", "a1"),
                sdo("attack-pattern", "a2", markings=[TLP2_IDS[Tlp.CLEAR]]))
    world.share("Alpha", "AB", sdo("attack-pattern", "a3"))
    world.share("Alpha", "private:Alpha", sdo("attack-pattern", "a4", markings=[TLP2_IDS[Tlp.RED]]))
    world.share("Alpha", "AB", sdo("attack-pattern", "a1"))  # a second share of a1: one object, two shares
    got = world.own()["contributed"]
    assert got == {"objects": 4, "shares": 5,
                   "by_tlp": {"TLP:AMBER": 2, "TLP:CLEAR": 1, "TLP:GREEN": 1, "TLP:RED": 1},
                   "by_audience": {"community": 2, "group": 2, "private": 1}}
    assert world.own("Bravo")["contributed"]["objects"] == 0


def test_consumption_is_recorded_per_channel_and_flushed(world: World) -> None:
    world.share("Bravo", "community", *(sdo("attack-pattern", f"b{i}") for i in range(3)))
    world.share("Alpha", "community", sdo("attack-pattern", "mine"))
    world.get("Alpha", "/objects", type="attack-pattern")  # 4: three of Bravo's, one of its own
    world.get("Alpha", f"/objects/{sdo('attack-pattern', 'b0')['id']}")
    world.taxii("Alpha", "community", **{"match[type]": "attack-pattern"})
    assert world.hub.ledger.pending(), "reads are counted in memory first"
    assert export_bundle(world.hub, world["Alpha"].org, ("attack-pattern",), False, io.BytesIO()) == 4
    assert not world.hub.ledger.pending(), "an export flushes what it counted"
    got = world.own()["consumed"]
    assert got == {"objects": 13, "of_others": 10,
                   "by_channel": {"api": 5, "taxii": 4, "stream": 0, "webhook": 0, "export": 4}}
    assert world.own("Bravo")["consumed"]["objects"] == 0


def test_reads_of_a_members_objects_are_withheld_below_k_other_members(world: World) -> None:
    world.share("Alpha", "community", sdo("attack-pattern", "read-me"))
    obj_id = sdo("attack-pattern", "read-me")["id"]
    readers = ["Bravo", "Charlie", "Delta"]
    for i, who in enumerate(readers, start=1):
        world.get(who, f"/objects/{obj_id}")
        read_by = world.own()["value"]["read_by"]
        assert read_by == (None if i < K else {"members": i, "reads": i}), i


def test_an_opted_in_member_is_named_and_counted_apart(world: World) -> None:
    world.share("Alpha", "community", sdo("attack-pattern", "read-me"))
    obj_id = sdo("attack-pattern", "read-me")["id"]
    world.get("Bravo", f"/objects/{obj_id}")
    world.get("Bravo", f"/objects/{obj_id}")
    assert world.community()["opted_in"] == []
    world.opt_in("Bravo")
    community = world.community()
    assert community["opted_in"] == [{"name": "Bravo", "contributed": {"objects": 0, "by_tlp": {}, "by_audience": {}},
                                      "sightings_given": {"sightings": 0, "seen": 0, "false_positive": 0},
                                      "read_yours": 2, "correlated_with_yours": 0}]
    assert world.own()["value"]["read_by"] == {"members": 1, "reads": 2}  # no non-opted member behind it
    world.get("Charlie", f"/objects/{obj_id}")
    assert world.own()["value"]["read_by"] is None  # one non-opted reader: Bravo's figure would isolate it
    world.get("Delta", f"/objects/{obj_id}")
    world.get("Echo", f"/objects/{obj_id}")
    assert world.own()["value"]["read_by"] == {"members": 4, "reads": 5}
    world.opt_in("Bravo", False)
    assert world.community()["opted_in"] == []


def test_objects_of_others_holding_the_members_values_count_as_correlated(world: World) -> None:
    def ip(value: str) -> dict[str, Any]:
        return {"type": "ipv4-addr", "spec_version": "2.1", "id": sdo("ipv4-addr", value)["id"], "value": value}

    world.share("Alpha", "community", ip("45.33.10.1"), ip("45.33.10.2"),
                sdo("indicator", "mine", pattern="[domain-name:value = 'c2.badcorp.biz']"))
    world.share("Bravo", "community", sdo("indicator", "b", pattern="[ipv4-addr:value = '45.33.10.1']"))
    world.share("Charlie", "community", sdo("indicator", "c", pattern="[domain-name:value = 'c2.badcorp.biz']"))
    world.share("Delta", "community", sdo("indicator", "d", pattern="[ipv4-addr:value = '45.33.10.2']"),
                sdo("indicator", "d-other", pattern="[ipv4-addr:value = '45.33.10.99']"))
    assert world.own()["value"]["correlated_by"] == {"members": 3, "objects": 3}
    world.share("Echo", "CDE", sdo("indicator", "e", pattern="[ipv4-addr:value = '45.33.10.1']"))  # hidden from Alpha
    world.share("Bravo", "community", sdo("indicator", "benign", pattern="[ipv4-addr:value = '8.8.8.8']"))
    world.share("Alpha", "community", ip("8.8.8.8"))
    assert world.own()["value"]["correlated_by"] == {"members": 3, "objects": 3}
    world.opt_in("Delta")
    assert world.own()["value"]["correlated_by"] is None  # two non-opted members behind it: withheld
    (delta,) = world.community()["opted_in"]
    assert delta["correlated_with_yours"] == 1


def test_community_contributions_need_k_members_and_every_cell_k(world: World) -> None:
    world.share("Bravo", "community", sdo("attack-pattern", "b1"), sdo("attack-pattern", "b2",
                                                                     markings=[TLP2_IDS[Tlp.CLEAR]]))
    world.share("Charlie", "community", sdo("attack-pattern", "c1"))
    assert world.community()["others"]["contributed"] is None
    world.share("Delta", "community", sdo("attack-pattern", "d1"))
    world.share("Charlie", "CDE", sdo("attack-pattern", "hidden-from-alpha"))
    got = world.community()["others"]["contributed"]
    assert got is not None and (got["members"], got["objects"]) == (3, 4)  # members' identities do not count
    assert got["by_tlp"] is None  # TLP:CLEAR holds one member's object: the breakdown is withheld
    assert set(got["by_audience"]) == {"community"}  # CDE's share is not Alpha's to see
    world.share("Charlie", "community", sdo("attack-pattern", "c2", markings=[TLP2_IDS[Tlp.CLEAR]]))
    world.share("Delta", "community", sdo("attack-pattern", "d2", markings=[TLP2_IDS[Tlp.CLEAR]]))
    got = world.community()["others"]["contributed"]
    assert got["by_tlp"]["TLP:CLEAR"] == 3


def test_sightings_given_back_and_received(world: World) -> None:
    target = sdo("indicator", "watched")
    world.share("Alpha", "community", target)
    world.share("Bravo", "community", sighting("s1", target["id"], count=3))
    world.share("Bravo", "community", sighting("s1", target["id"], count=4, version=1))  # a recount: counts once
    world.share("Charlie", "private:Charlie", sighting("s2", target["id"], count=5, anonymous=True))
    world.share("Delta", "CDE", sighting("s3", target["id"], count=7))  # Alpha may not read it: not counted
    bravo = world.own("Bravo")["sightings_given"]
    assert bravo == {"sightings": 1, "seen": 4, "false_positive": 0, "anonymous": 0, "of_others": 1}
    value = world.own()["value"]
    assert value["sighted_by"] is None  # Bravo alone, not opted in
    assert value["anonymous"] == {"seen": 5, "false_positive": 0}
    world.opt_in("Bravo")
    assert world.own()["value"]["sighted_by"] == {"members": 1, "sightings": 1, "seen": 4, "false_positive": 0}
    bravo_seen = world.community()["opted_in"][0]
    assert bravo_seen["sightings_given"] == {"sightings": 1, "seen": 4, "false_positive": 0}
    assert bravo_seen["contributed"]["objects"] == 2  # both versions of its sighting were shown to Alpha
    assert world.own("Charlie")["value"]["anonymous"] == {"seen": 0, "false_positive": 0}


def test_periods_split_the_range(world: World) -> None:
    world.share("Alpha", "community", sdo("attack-pattern", "p1"))
    data = world.ledger(period="day", since="2026-01-14", until="2026-01-16")
    days = [(p["period"], p["contributed"]["objects"]) for p in data["member"]["periods"]]
    assert days == [("2026-01-14", 0), ("2026-01-15", 1), ("2026-01-16", 0)]
    weeks = world.ledger(period="week", since="2026-01-01", until="2026-01-31")["member"]["periods"]
    assert [(p["period"], p["from"], p["to"]) for p in weeks][:2] == [
        ("2026-W01", "2026-01-01", "2026-01-04"), ("2026-W02", "2026-01-05", "2026-01-11")]
    month = world.ledger()
    assert (month["since"], month["until"], month["period"]) == ("2026-01-01", "2026-01-31", "month")
    assert month["member"]["periods"][0]["contributed"]["objects"] == 1


@pytest.mark.parametrize("params", [{"since": "2026-02-01", "until": "2026-01-01"}, {"since": "nope"},
                                    {"since": "2024-01-01", "until": "2026-01-01"}, {"period": "year"}])
def test_bad_ranges_are_refused(world: World, params: dict[str, str]) -> None:
    resp = world.client.get("/api/v1/ledger", params=params, headers=world["Alpha"].auth(Role.READER))
    assert resp.status_code in (400, 422), resp.text


@pytest.mark.parametrize("role", [Role.READER, Role.ANALYST])
def test_only_an_admin_sets_the_opt_in(world: World, role: Role) -> None:
    resp = world.client.put("/api/v1/ledger/opt-in", json={"opt_in": True}, headers=world["Bravo"].auth(role))
    assert resp.status_code == 403
    assert world.hub.store.ledger_opt_ins() == set()
    world.opt_in("Bravo")
    assert world.hub.store.ledger_opt_ins() == {world["Bravo"].org.org_id}
