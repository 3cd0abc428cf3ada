"""Repairs of organisation spans and types (one test per rule)."""

from __future__ import annotations

import pytest

from pacte.analysis.entities import find_entities
from pacte.analysis.knowledge import Knowledge
from pacte.analysis.ner import NamedEntity, load_model
from pacte.analysis.orgrules import (
    cut_at_separator,
    division_end,
    is_camel_case_product,
    is_capitals_word,
    is_cut_name,
    is_described_product,
    is_event_name,
    is_headline_phrase,
    is_ordinary_term,
    is_product_mention,
    is_product_name,
    is_technical_name,
    is_unlikely_person,
    merge_nationality,
    names_a_variant,
    repair_named_entities,
    split_possessive,
)


def _ne(text: str, part: str, kind: str) -> NamedEntity:
    start = text.index(part)
    return NamedEntity(start, start + len(part), part, kind)


def test_merge_nationality_before_a_public_body() -> None:
    text = "Polish Ministry of Foreign Affairs and the French Embassy"
    ents = [_ne(text, "Polish", "nationality"), _ne(text, "Ministry of Foreign Affairs", "organization")]
    assert [(e.text, e.kind) for e in merge_nationality(text, ents)] == [
        ("Polish Ministry of Foreign Affairs", "organization")]
    text = "Czech Republic Ministry of Defence"
    ents = [_ne(text, "Czech Republic", "location"), _ne(text, "Ministry of Defence", "organization")]
    assert [e.text for e in merge_nationality(text, ents)] == ["Czech Republic Ministry of Defence"]


def test_merge_nationality_leaves_other_organisations_alone() -> None:
    text = "Polish Acme Corp"
    ents = [_ne(text, "Polish", "nationality"), _ne(text, "Acme Corp", "organization")]
    assert [e.text for e in merge_nationality(text, ents)] == ["Polish", "Acme Corp"]


def test_split_possessive_into_company_and_team() -> None:
    text = "Recorded Future's Insikt Group"
    parts = split_possessive(NamedEntity(0, len(text), text, "organization"))
    assert [(p.text, text[p.start : p.end]) for p in parts] == [
        ("Recorded Future", "Recorded Future"), ("Insikt Group", "Insikt Group")]
    text = "Acme's Windows"
    assert [p.text for p in split_possessive(NamedEntity(0, len(text), text, "organization"))] == ["Acme"]


def test_product_names_and_camel_case_tokens_are_not_organisations() -> None:
    assert is_product_name("FortiClient EMS") and is_product_name("MSI Installer")
    assert not is_product_name("Ministry of Defence")
    assert is_camel_case_product("ClickFix") and is_camel_case_product("SpringShell")
    assert not is_camel_case_product("CrowdStrike")  # a listed company
    assert not is_camel_case_product("Acme")


@pytest.mark.parametrize(
    ("text", "name", "product"),
    [("Customized MSI installer for Atera Agent", "Atera", True),
     ("|SHA1 |ESET Detection name", "ESET", True),
     ("PE32 executable (GUI) Intel 80386, for MS Windows", "Intel", True),
     ("=== MITRE ATT&CK matrix", "MITRE", True),
     ("Oracle PeopleSoft servers", "Oracle", False),
     ("Kaspersky 2023 annual report", "Kaspersky", False)],
)
def test_maker_name_used_for_a_product(text: str, name: str, product: bool) -> None:
    assert is_product_mention(text, text.index(name) + len(name)) is product


def test_division_after_a_listed_name() -> None:
    text = "Unit 42 Managed Services spotted it"
    assert text[: division_end(text, len("Unit 42"))] == "Unit 42 Managed Services"
    text = "Microsoft Group said"
    assert division_end(text, len("Microsoft")) == len("Microsoft")


def test_ner_names_the_hub_knows_as_malware_are_dropped() -> None:
    text = "a DLL for Meterpreter by Acme Corp"
    ents = [_ne(text, "Meterpreter", "person"), _ne(text, "Acme Corp", "organization")]
    kept = repair_named_entities(text, ents, lambda name: name == "Meterpreter")
    assert [e.text for e in kept] == ["Acme Corp"]


def test_listed_names_win_over_longer_model_spans_and_headlines_match() -> None:
    if load_model("en") is None:
        pytest.skip("no spaCy model installed for en")
    text = ("FORTINET EXPLOITATION LEADS TO COMPROMISE\n\n"
            "BMW Automobile Purchase-Related:\n--> Downloaded archive with a lure about a car.\n"
            "This highlights activity reported by Recorded Future's Insikt Group in January.\n")
    ents = find_entities(text, lang="en", knowledge=None, ner=True)
    orgs = {(e.name, e.surface) for e in ents if e.kind == "organization"}
    assert ("BMW", "BMW") in orgs and ("Fortinet", "FORTINET") in orgs
    assert ("Recorded Future", "Insikt Group") in orgs
    assert not any("Automobile" in name for name, _ in orgs)


def test_stated_malware_name() -> None:
    text = "Deep Instinct has reported DarkBeatC2 is the latest attack framework used by this threat actor."
    ents = find_entities(text, lang="en", knowledge=None, ner=False)
    assert ("malware", "DarkBeatC2") in {(e.kind, e.name) for e in ents}
    assert ("organization", "Deep Instinct") in {(e.kind, e.name) for e in ents}


def test_found_organisations_and_places_link_to_the_hub_objects() -> None:
    kb = Knowledge.from_objects([
        {"type": "identity", "id": "identity--99999999-9999-4999-8999-999999999990", "name": "Recorded Future",
         "identity_class": "organization"},
        {"type": "location", "id": "location--99999999-9999-4999-8999-999999999991", "country": "PL"},
    ])
    ents = find_entities("Insikt Group saw targets in Poland.", lang="en", knowledge=kb, ner=False)
    linked = {(e.kind, e.stix_id) for e in ents}
    assert ("organization", "identity--99999999-9999-4999-8999-999999999990") in linked
    assert ("location", "location--99999999-9999-4999-8999-999999999991") in linked
    assert kb.lookup("recorded future", ("identity",)) is not None
    assert not kb.is_known_name("Recorded Future")


def test_ordinary_words_in_a_title_case_headline_are_no_name() -> None:
    text = "# Group Claiming to Be Lazarus Sends Paper Letters via Postal Service\n\nThe Postal Service said."
    headline = _ne(text, "Postal Service", "organization")
    assert is_headline_phrase(text, headline)
    start = text.rindex("Postal Service")
    assert not is_headline_phrase(text, NamedEntity(start, start + 14, "Postal Service", "organization"))
    assert not is_headline_phrase("Qintara Labs Reports New Malware Family Today",
                                  NamedEntity(0, 12, "Qintara Labs", "organization"))


def test_a_line_that_is_only_a_name_is_no_headline() -> None:
    text = "Polish Ministry of Foreign Affairs-Related:\n--> URL"
    assert not is_headline_phrase(text, _ne(text, "Polish Ministry of Foreign Affairs", "organization"))


def test_company_named_alias_of_a_known_family_is_the_company() -> None:
    kb = Knowledge.from_objects([
        {"type": "intrusion-set", "id": "intrusion-set--99999999-9999-4999-8999-999999999992", "name": "APT3",
         "aliases": ["UPS"]},
        {"type": "malware", "id": "malware--99999999-9999-4999-8999-999999999993", "name": "Proton",
         "is_family": True},
    ])
    ents = find_entities("A fake UPS delivery notice dropped the Proton backdoor.", lang="en", knowledge=kb,
                         ner=False)
    kinds = {(e.kind, e.name) for e in ents}
    assert ("organization", "UPS") in kinds and ("malware", "Proton") in kinds
    assert not any(e.kind == "threat_actor" for e in ents)


def test_organisation_name_inside_a_place_name_is_the_place() -> None:
    ents = find_entities("Targets in the United Arab Emirates and Emirates airline staff.", lang="en",
                         knowledge=None, ner=False)
    assert ("location", "United Arab Emirates") in {(e.kind, e.surface) for e in ents}
    assert [e.start for e in ents if e.kind == "organization"] == [ents[-1].start]


def test_us_is_the_united_states_except_in_a_line_of_capitals() -> None:
    from pacte.analysis.places import find_places

    assert [p.place.code for p in find_places("Victims in the US and UK.")] == ["US", "GB"]
    assert find_places("PLEASE CONTACT US AT ONCE") == []


@pytest.mark.parametrize(
    ("name", "term"),
    [("Remote Desktop Protocol", True), ("Tags", True), ("Personal Identifiable Information", True),
     ("Atomic Red Team", False), ("Postal Service", False), ("Deep Instinct", False),
     ("Agence nationale de la sécurité", False), ("U.S. Justice Department", False), ("161st Training Center", False)],
)
def test_ordinary_terms_are_not_organisations(name: str, term: bool) -> None:
    assert is_ordinary_term(name) is term


def test_product_name_with_a_version_or_an_identifier() -> None:
    assert is_product_name("Windows Server 2019") and is_product_name("Cybersecurity Advisory AA24-207A")
    assert is_product_name("NetScaler Gateway") and not is_product_name("Unit 42")


def test_ampersand_variant_of_a_listed_name() -> None:
    from pacte.analysis.organizations import find_organizations

    assert [m.name for m in find_organizations("the Cybersecurity & Infrastructure Security Agency")] == ["CISA"]


def test_cut_names_and_single_organisation_nouns_are_dropped() -> None:
    assert is_cut_name("Cyber Army of") and is_cut_name("Smith &") and not is_cut_name("Bank of England")
    assert is_ordinary_term("Software") and not is_ordinary_term("Interpol")


@pytest.mark.parametrize(
    ("name", "unlikely"),
    [("Win32", True), ("WeTransfer", True), ("Rana Intelligence Computing", True), ("Transfer", True),
     ("Putin", False), ("Alex Starov", False), ("Bitcoin", True), ("Tox", True)],
)
def test_unlikely_persons(name: str, unlikely: bool) -> None:
    text = f"{name} said the transfer of files went on. Alex Starov and Putin were not named."
    assert is_unlikely_person(text, name) is unlikely


def test_technical_terms_events_and_separators_are_no_organisations() -> None:
    text = ("key-exchange X25519 server-signature RSA-PSS (2048 bits) with ESMTPS id 4Jz.\n"
            "It beacons to C2 IP addresses. They imitate the Global Makers' Conference site.\n"
            "The blog post by Grey Owl Labs -- Hunting the owl is online.\n")
    ents = [_ne(text, "RSA-PSS", "organization"), _ne(text, "ESMTPS", "organization"),
            _ne(text, "C2 IP", "organization"), _ne(text, "Global Makers' Conference", "organization"),
            _ne(text, "Grey Owl Labs -- Hunting", "organization")]
    assert [e.text for e in repair_named_entities(text, ents)] == ["Grey Owl Labs"]
    assert is_technical_name("RSA-PSS") and is_event_name("Global Makers' Conference")
    assert not is_event_name("World Economic Forum")
    assert cut_at_separator(ents[-1]).text == "Grey Owl Labs"


def test_name_before_a_lower_case_product_noun_is_the_product() -> None:
    text = "files used to run the Quokka chat client for Windows; Quokka Labs wrote it."
    assert is_described_product(text, text.index("Quokka") + 6)
    assert not is_described_product(text, text.index("Labs") + 4)
    assert repair_named_entities(text, [_ne(text, "Quokka", "organization")]) == []


def test_listed_ordinary_word_in_a_line_of_capitals_is_the_word() -> None:
    text = "3 RECENT SAMPLES (READ SHA256 HASH - FILE NAME - FIRST SEEN DATE):\nFIRST published a guide."
    first = text.index("FIRST")
    assert is_capitals_word(text, first, first + 5)
    second = text.index("FIRST", first + 1)
    assert not is_capitals_word(text, second, second + 5)


def test_persons_followed_by_variant_or_made_of_lower_case_words_are_unlikely() -> None:
    text = "=== Harmful Patch variant 2\nA harmful patch arrived."
    assert names_a_variant(text, text.index(" variant"))
    assert is_unlikely_person(text, "Harmful Patch")
    assert repair_named_entities(text, [_ne(text, "Harmful Patch", "person")]) == []
    assert not is_unlikely_person("Will Smith spoke; you will see.", "Will Smith")


def test_unclosed_bracket_and_list_comma_end_a_span() -> None:
    text = "via Distributed Component Object Model (DCOM and Quillsoft, Brightnode; Northwind, Inc. too"
    open_bracket = _ne(text, "Distributed Component Object Model (DCOM", "organization")
    assert cut_at_separator(open_bracket).text == "Distributed Component Object Model"
    assert cut_at_separator(_ne(text, "Quillsoft, Brightnode", "organization")).text == "Quillsoft"
    assert cut_at_separator(_ne(text, "Northwind, Inc.", "organization")).text == "Northwind, Inc."


def test_kind_words_and_things_are_no_organisations_or_persons() -> None:
    text = "the Golang sample, an Android Trojan and a Bitcoin Wallet; the Kerch Strait Incident; Winter Games 2018"
    ents = [_ne(text, "Golang", "organization"), _ne(text, "Android Trojan", "person"),
            _ne(text, "Bitcoin Wallet", "person"), _ne(text, "Kerch Strait Incident", "organization"),
            _ne(text, "Winter Games 2018", "organization")]
    assert repair_named_entities(text, ents) == []
    assert not is_unlikely_person("Marion Quell spoke.", "Marion Quell")


def test_platform_features_are_no_organisations() -> None:
    text = "via Windows Management Instrumentation Command and Windows and Office macros; Quillsoft Corp"
    ents = [_ne(text, "Windows Management Instrumentation Command", "organization"),
            _ne(text, "Windows and Office", "organization"), _ne(text, "Quillsoft Corp", "organization")]
    assert [e.text for e in repair_named_entities(text, ents)] == ["Quillsoft Corp"]


def test_model_span_cut_at_a_title_colon() -> None:
    text = "= Quill with Marble Works: Grey Heron's Toolkit -- Indicators\n"
    cut = cut_at_separator(_ne(text, "Marble Works: Grey Heron", "organization"))
    assert cut.text == "Marble Works"
