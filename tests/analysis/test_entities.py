"""Entities: the knowledge matcher, naming patterns, the gazetteer, dates and NER."""

from __future__ import annotations

import pytest

from pacte.analysis.dates import find_dates
from pacte.analysis.entities import find_entities
from pacte.analysis.knowledge import Knowledge
from pacte.analysis.ner import load_model
from pacte.analysis.places import find_places


def test_known_names_and_aliases_link_to_hub_objects(small_knowledge: Knowledge) -> None:
    text = "Fancy Bear, also tracked as APT28, deployed CHOPSTICK and Mimikatz."
    found = {(m.surface, m.entity.stix_id) for m in small_knowledge.match(text)}
    assert ("Fancy Bear", "intrusion-set--11111111-1111-4111-8111-111111111111") in found
    assert ("APT28", "intrusion-set--11111111-1111-4111-8111-111111111111") in found
    assert ("CHOPSTICK", "malware--22222222-2222-4222-8222-222222222222") in found
    assert ("Mimikatz", "tool--44444444-4444-4444-8444-444444444444") in found


def test_matches_are_whole_words_only(small_knowledge: Knowledge) -> None:
    assert small_knowledge.match("The APT28x sample and preSofacy build") == []


def test_ambiguous_single_word_names_need_context(small_knowledge: Knowledge) -> None:
    assert small_knowledge.match("There was silence in the room. Silence fell.") == []
    hits = small_knowledge.match("The Silence malware was used against banks.")
    assert [m.entity.name for m in hits] == ["Silence"]


def test_revoked_objects_are_not_matched(small_knowledge: Knowledge) -> None:
    assert small_knowledge.match("An Old malware family") == []


def test_technique_ids_resolve_to_hub_attack_patterns(small_knowledge: Knowledge) -> None:
    assert small_knowledge.technique_id("T1566") == "attack-pattern--55555555-5555-4555-8555-555555555555"
    assert small_knowledge.technique_id("T9999") is None


def test_attack_knowledge_from_the_shared_bundle(attack_knowledge: Knowledge) -> None:
    hits = attack_knowledge.match("MuddyWater, also known as TA450, used PowerSploit.")
    names = {m.entity.name for m in hits}
    assert "MuddyWater" in names
    assert attack_knowledge.technique_id("T1574.002") is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Attacks from North Korea", "KP"),
        ("Des pirates basés en Russie", "RU"),
        ("Objetivos en Alemania", "DE"),
        ("Angriffe aus China", "CN"),
        ("Хакеры из России атаковали Украину", "RU"),
        ("Хакеры из России атаковали Украину", "UA"),
        ("هجمات من إيران", "IR"),
        ("هجمات على الشرق الأوسط وبروسيا", "western-asia"),
    ],
)
def test_gazetteer_places_in_six_languages(text: str, code: str) -> None:
    assert code in {p.place.code for p in find_places(text)}


def test_gazetteer_is_case_sensitive_for_common_words() -> None:
    assert find_places("we ate turkey in chile sauce") == []


def test_dates_and_periods() -> None:
    values = {d.value for d in find_dates(
        "On 2024-10-28, then 5 mars 2024, October 3, 2023, late May 2026, 12 декабря 2023, Q3 2024, "
        "15 de marzo de 2024 and 3. Juli 2023.")}
    assert {"2024-10-28", "2024-03-05", "2023-10-03", "2026-05", "2023-12-12", "2024-Q3", "2024-03-15",
            "2023-07-03"} <= values


def test_impossible_dates_are_ignored() -> None:
    assert find_dates("on 2024-02-30") == []


def test_codename_patterns_find_actors_the_hub_does_not_know() -> None:
    ents = find_entities("Fighting Ursa and UNC4841 exploited the gateway.", lang="en", knowledge=None, ner=False)
    assert {e.name for e in ents if e.kind == "threat_actor"} == {"Fighting Ursa", "UNC4841"}


def test_alias_in_parentheses_takes_the_kind_of_its_name() -> None:
    ents = find_entities("Bling Libra (ShinyHunters) stole data.", lang="en", knowledge=None, ner=False)
    assert {e.name for e in ents if e.kind == "threat_actor"} == {"Bling Libra", "ShinyHunters"}


def test_malware_named_by_its_cue_word() -> None:
    ents = find_entities("Operators deployed the LockBit ransomware and DarkGate loader.", lang="en",
                         knowledge=None, ner=False)
    assert {"LockBit", "DarkGate"} <= {e.name for e in ents if e.kind == "malware"}


def test_blocked_spans_are_never_entities(small_knowledge: Knowledge) -> None:
    text = "APT28 at hxxp://apt28[.]top"
    ents = find_entities(text, lang="en", knowledge=small_knowledge, blocked=[(9, len(text))], ner=False)
    assert [(e.start, e.end) for e in ents] == [(0, 5)]


@pytest.mark.parametrize(
    ("lang", "text", "kind", "name"),
    [
        ("en", "Guillaume Poupard said the Ministry of Defence in London had been warned by Microsoft.",
         "person", "Guillaume Poupard"),
        ("en", "Guillaume Poupard said the Ministry of Defence in London had been warned by Microsoft.",
         "organization", "Microsoft"),
        ("fr", "Selon l'Agence nationale de la sécurité des systèmes d'information, Jean Dupont a été visé.",
         "person", "Jean Dupont"),
        ("ru", "Об этом сообщил руководитель отдела Иван Петров в интервью газете «Коммерсантъ».",
         "person", "Иван Петров"),
    ],
)
def test_ner_finds_persons_and_organisations(lang: str, text: str, kind: str, name: str) -> None:
    if load_model(lang) is None:
        pytest.skip(f"no spaCy model installed for {lang}")
    ents = find_entities(text, lang=lang, knowledge=None, ner=True)
    assert name in {e.name for e in ents if e.kind == kind}


def test_ordinary_word_in_other_case_is_not_a_known_name() -> None:
    kb = Knowledge.from_objects([
        {"type": "malware", "id": "malware--77777777-7777-4777-8777-777777777777", "name": "STOP", "is_family": True},
    ])
    assert kb.match("The task runs until a stop is requested by the malware operator.") == []
    assert [m.surface for m in kb.match("Victims of the STOP ransomware paid in bitcoin.")] == ["STOP"]


def test_bare_acronyms_are_not_ner_organisations() -> None:
    if load_model("en") is None:
        pytest.skip("no spaCy model installed for en")
    ents = find_entities("The analyst exported the PDF and the TLP label to the GPU cluster run by Microsoft.",
                         lang="en", knowledge=None, ner=True)
    assert not {"PDF", "TLP", "GPU"} & {e.name for e in ents}


def test_names_in_cyrillic_and_arabic_script_match_with_case_endings_and_clitics() -> None:
    kb = Knowledge.from_objects([
        {"type": "intrusion-set", "id": "intrusion-set--88888888-8888-4888-8888-888888888888",
         "name": "Lazarus Group", "aliases": ["Лазарус", "لازاروس"]},
    ])
    assert [m.surface for m in kb.match("Атаку приписали группировке Лазаруса из КНДР.")] == ["Лазаруса"]
    assert [m.surface for m in kb.match("وقالت الشركة ولازاروس نفذت الهجوم")] == ["لازاروس"]
    assert kb.match("Лазарусовский стиль") == []


def test_hyphenated_compounds_match_but_numbered_variants_do_not(small_knowledge: Knowledge) -> None:
    assert [m.surface for m in small_knowledge.match("APT28-linked servers")] == ["APT28"]
    assert small_knowledge.match("APT28-2 cluster") == []


def test_hub_identities_and_locations_link_to_their_objects() -> None:
    kb = Knowledge.from_objects([
        {"type": "identity", "id": "identity--99999999-9999-4999-8999-999999999999", "name": "CERT-Nordland",
         "identity_class": "organization"},
        {"type": "identity", "id": "identity--99999999-9999-4999-8999-999999999998", "name": "Jane Analyst",
         "identity_class": "individual"},
        {"type": "location", "id": "location--99999999-9999-4999-8999-999999999997", "name": "Nordland",
         "country": "NO"},
    ])
    ents = find_entities("CERT-Nordland and Jane Analyst warned banks in Nordland.", lang="en", knowledge=kb,
                         ner=False)
    linked = {(e.kind, e.stix_id) for e in ents}
    assert ("organization", "identity--99999999-9999-4999-8999-999999999999") in linked
    assert ("person", "identity--99999999-9999-4999-8999-999999999998") in linked
    assert ("location", "location--99999999-9999-4999-8999-999999999997") in linked


def test_vendor_cluster_codenames_and_regions() -> None:
    ents = find_entities("TGR-UNK-0044 and APT-C-36 target South America.", lang="en", knowledge=None, ner=False)
    assert {"TGR-UNK-0044", "APT-C-36"} <= {e.name for e in ents if e.kind == "threat_actor"}
    assert ("location", "south-america") in {(e.kind, e.code) for e in ents}


def test_countries_and_regions_written_in_capitals_are_places_but_not_cities() -> None:
    text = "INFECTION ACTIVITY FROM BRAZIL-TARGETED MALSPAM IN EUROPE, NICE WORK"
    assert [p.place.name for p in find_places(text)] == ["Brazil", "Europe"]


def test_hacker_collectives_found_as_organisations_are_threat_actors() -> None:
    from pacte.analysis.entities import is_hacker_collective

    assert is_hacker_collective("Russian Cyber Army Team") and is_hacker_collective("Nordic Hacktivists")
    assert not is_hacker_collective("Hacking Team") and not is_hacker_collective("Cyber Security Agency")
    assert not is_hacker_collective("North Korean Hackers")


def test_anchored_actor_and_statement_patterns_match_as_finditer() -> None:
    from pacte.analysis.entities import _ACTOR_CODENAME, _STATED_MALWARE, actor_codenames, stated_malware

    text = ("APT 41 and UNC4736, with Grey Panda and McAfee Panda; TGR-STA-0001 ran DEV-0537.\n"
            "QuillHarp is a new backdoor, and\nMossDrop  was the loader. APT-C-36 as well.")
    assert [m.span() for m in actor_codenames(text)] == [m.span() for m in _ACTOR_CODENAME.finditer(text)]
    assert [m.span() for m in stated_malware(text)] == [m.span() for m in _STATED_MALWARE.finditer(text)]
    assert stated_malware(text)[0].group(0).startswith("QuillHarp")
