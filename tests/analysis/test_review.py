"""Publication of a reviewed draft, without a database: what is kept, dropped, renamed, marked and attributed."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import TLP2
from pacte.analysis import analyse
from pacte.analysis.review import Choice, build_publication, parse_tlp, resolve_choices
from pacte.analysis.stix import PACTE_IDENTITY_ID, WALLET_EXTENSION_ID
from pacte.errors import InvalidInput, UnprocessableEntity
from pacte.stix.markings import Tlp

ME = "identity--6a1e9b3c-1d2f-4e5a-8b7c-9d0e1f2a3b4c"
KNOWN = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
TEXT = ("APT28 used the domain evil-domain[.]com and the address 45.77.12.9 (T1566.001). "
        "They paid the Bitcoin wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.")


def _draft(known: bool = False) -> dict[str, Any]:
    from pacte.analysis.knowledge import Knowledge

    kb = Knowledge.from_objects([{"type": "intrusion-set", "id": KNOWN, "name": "APT28"}]) if known else None
    return analyse(TEXT, ner=False, knowledge=kb).as_dict()


def _index(draft: dict[str, Any], kind: str) -> int:
    return next(n for n, i in enumerate(draft["items"]) if i["kind"] == kind)


def _by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in bundle["objects"]:
        out.setdefault(obj["type"], []).append(obj)
    return out


def test_only_accepted_items_and_relationships_with_both_ends_are_kept() -> None:
    draft = _draft()
    decisions: list[bool | None] = [None] * len(draft["items"])
    decisions[_index(draft, "ipv4")] = True
    decisions[_index(draft, "threat_actor")] = False
    rels = [o for o in draft["bundle"]["objects"] if o["type"] == "relationship"]
    assert rels, "the text states relationships to the actor"
    pub = build_publication(draft, decisions, ME, Tlp.AMBER, "bundle--7d7cbf2e-2a43-4b1c-9c0a-0c8e1f5e9a11")
    kinds = _by_type(pub.bundle)
    assert sorted(kinds) == ["indicator", "ipv4-addr", "report"]
    assert {r["id"] for r in rels} <= set(pub.dropped)
    report = kinds["report"][0]
    assert set(report["object_refs"]) == {kinds["indicator"][0]["id"], kinds["ipv4-addr"][0]["id"]}
    assert all(o["object_marking_refs"] == [TLP2["amber"]] for o in pub.bundle["objects"])
    assert "created_by_ref" not in kinds["ipv4-addr"][0]  # SCOs carry no creator
    assert kinds["indicator"][0]["created_by_ref"] == ME and report["created_by_ref"] == ME
    assert pub.bundle["id"] == "bundle--7d7cbf2e-2a43-4b1c-9c0a-0c8e1f5e9a11"


def test_known_objects_are_referenced_and_ids_are_scoped_to_the_member() -> None:
    draft = _draft(known=True)
    actor = draft["items"][_index(draft, "threat_actor")]
    assert actor["known"] and actor["stix_id"] == KNOWN
    decisions: list[bool | None] = [True] * len(draft["items"])
    pub = build_publication(draft, decisions, ME, Tlp.GREEN, "bundle--7d7cbf2e-2a43-4b1c-9c0a-0c8e1f5e9a12")
    assert pub.referenced == [KNOWN]
    assert KNOWN not in {o["id"] for o in pub.bundle["objects"]}
    report = _by_type(pub.bundle)["report"][0]
    assert KNOWN in report["object_refs"]
    for rel in _by_type(pub.bundle).get("relationship", []):
        ends = {rel["source_ref"], rel["target_ref"]}
        assert ends <= set(report["object_refs"]) | {KNOWN}
    other = build_publication(draft, decisions, "identity--0f5d9c1e-7a3b-4c2d-8e9f-1a2b3c4d5e6f", Tlp.GREEN, "b")
    fixed = ("ipv4-addr", "domain-name", "cryptocurrency-wallet")  # SCOs: ids from their value, the same for all
    mine = {o["id"] for o in pub.bundle["objects"] if o["type"] not in fixed}
    theirs = {o["id"] for o in other.bundle["objects"]}
    assert mine & theirs == {PACTE_IDENTITY_ID, WALLET_EXTENSION_ID}
    assert all(v in {o["id"] for o in pub.bundle["objects"]} for v in pub.renamed.values())


def test_wallet_support_objects_travel_only_with_an_accepted_wallet() -> None:
    draft = _draft()
    decisions: list[bool | None] = [None] * len(draft["items"])
    decisions[_index(draft, "ipv4")] = True
    without = {o["id"] for o in build_publication(draft, decisions, ME, Tlp.CLEAR, "b").bundle["objects"]}
    assert PACTE_IDENTITY_ID not in without and WALLET_EXTENSION_ID not in without
    decisions[_index(draft, "crypto_wallet")] = True
    pub = build_publication(draft, decisions, ME, Tlp.CLEAR, "b")
    support = [o for o in pub.bundle["objects"] if o["id"] in (PACTE_IDENTITY_ID, WALLET_EXTENSION_ID)]
    assert len(support) == 2 and all("object_marking_refs" not in o for o in support)


def test_nothing_accepted_is_unprocessable() -> None:
    draft = _draft()
    with pytest.raises(UnprocessableEntity) as exc:
        build_publication(draft, [False] * len(draft["items"]), ME, Tlp.AMBER, "b")
    assert exc.value.details[0].field == "items"


def test_choices_by_index_and_id_and_their_errors() -> None:
    items = [{"stix_id": "indicator--a", "detail": {"sco_id": "ipv4-addr--a"}}, {"stix_id": None, "detail": {}}]
    assert resolve_choices(items, [Choice(True, index=1), Choice(False, stix_id="ipv4-addr--a")]) == {1: True, 0: False}
    with pytest.raises(InvalidInput) as exc:
        resolve_choices(items, [Choice(True, index=2), Choice(None, stix_id="x"), Choice(True)])
    assert [d.field for d in exc.value.details] == ["body.items.0.index", "body.items.1.stix_id", "body.items.2"]


@pytest.mark.parametrize(("name", "level"), [("clear", Tlp.CLEAR), ("TLP:AMBER+STRICT", Tlp.AMBER_STRICT),
                                             ("red", Tlp.RED)])
def test_tlp_names(name: str, level: Tlp) -> None:
    assert parse_tlp(name) is level


def test_unknown_tlp_names_the_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_tlp("white")
    assert exc.value.details[0].field == "body.tlp"
