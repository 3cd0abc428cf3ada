"""The organisation lists: hand-written and generated from MISP galaxy clusters, and how they match."""

from __future__ import annotations

import json
from pathlib import Path

from pacte.analysis.organizations import find_organizations, is_listed_organization, misp_organization_rows


def _names(text: str) -> list[tuple[str, str]]:
    return [(m.surface, m.name) for m in find_organizations(text)]


def test_lists_are_broad() -> None:
    for name in ("CERT Polska", "JPCERT/CC", "Australian Cyber Security Centre", "Dragos", "NSO Group",
                 "Samsung", "Federal Office for Information Security", "Binance", "Reuters"):
        assert is_listed_organization(name), name


def test_research_team_is_an_alias_of_its_company() -> None:
    assert ("Insikt Group", "Recorded Future") in _names("according to Insikt Group researchers")
    assert ("Talos", "Cisco Talos") in _names("Talos published a report")


def test_names_in_capitals_match_in_headlines_but_short_or_ordinary_words_do_not() -> None:
    assert ("CROWDSTRIKE", "CrowdStrike") in _names("CROWDSTRIKE REPORTS NEW INTRUSIONS")
    assert _names("THE ORACLE SPOKE") == [("Oracle", "Oracle")] or _names("THE ORACLE SPOKE") == []
    assert _names("crowdstrike in lower case is a typo, not a headline") == []


def test_whole_words_only() -> None:
    assert _names("BMWs and Ciscoes") == []
    assert ("BMW", "BMW") in _names("a BMW Automobile Purchase lure")


def test_misp_rows_drop_ordinary_words_short_acronyms_and_qualifiers(tmp_path: Path) -> None:
    cluster = {"values": [
        {"value": "Area", "meta": {}},
        {"value": "National Intelligence Service (Albania)", "meta": {"synonyms": ["SHISH"]}},
        {"value": "Wiz Blog", "meta": {}},  # "Wiz" alone is an ordinary word
        {"value": "mSpy", "meta": {}},
        {"value": "NSO group", "meta": {"synonyms": ["Q-Cyber", "VLA"]}},
    ]}
    (tmp_path / "producer.json").write_text(json.dumps(cluster), encoding="utf-8")
    rows = misp_organization_rows(tmp_path)
    assert rows == ["vendor\tNational Intelligence Service|SHISH", "vendor\tNSO group"]


def test_misp_rows_leave_out_names_of_malware_and_actors(tmp_path: Path) -> None:
    (tmp_path / "surveillance-vendor.json").write_text(json.dumps({"values": [
        {"value": "FinFisher", "meta": {}}, {"value": "Intellexa", "meta": {}}]}), encoding="utf-8")
    (tmp_path / "malpedia.json").write_text(json.dumps({"values": [
        {"value": "win.finfisher", "meta": {"synonyms": ["FinFisher"]}}]}), encoding="utf-8")
    assert misp_organization_rows(tmp_path) == ["surveillance\tIntellexa"]
